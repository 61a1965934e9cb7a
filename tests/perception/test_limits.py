"""Limits and overload over real HTTP: body caps while streaming, format checks, the bounded
queue (429 + Retry-After), timeouts (503), batching, /metrics. A small service with only the
embedding engine and tight limits keeps these fast; /health stays green after each abuse."""
import re
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests
import yaml

from tests import services
from tests.perception.image_material import png_chunk

LIMIT = 200_000


def write_config(tmp_path_factory, name, queue):
    config = yaml.safe_load((services.ROOT / "perception" / "config.yml").read_text())
    config["tasks"] = {"embed": {**config["tasks"]["embed"], "queue": queue}}
    config["limits"]["audio"]["max_bytes"] = LIMIT
    config["limits"]["image"]["max_bytes"] = LIMIT
    config["server"]["max_request_bytes"] = 300_000
    path = tmp_path_factory.mktemp(name) / "config.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    queue = {"max_concurrent": 1, "max_waiting": 1, "timeout_s": 60, "batch_max_items": 64, "batch_wait_ms": 20}
    service = services.start_perception("perception-small", config=write_config(tmp_path_factory, "small", queue))
    yield service.health_url.rsplit("/health", 1)[0]
    service.stop()


def healthy(url):
    return requests.get(f"{url}/health", timeout=5).json()["status"] == "ok"


def png_bytes():
    """A valid 4 x 4 grey PNG."""
    raw = b"".join(b"\x00" + b"\x80\x80\x80" * 4 for _ in range(4))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def test_upload_declaring_more_than_the_limit_is_refused_before_reading(small):
    response = requests.post(f"{small}/v1/transcribe", files={"file": ("a.wav", b"\0" * (LIMIT + 1))}, timeout=10)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert healthy(small)


def test_chunked_upload_is_cut_off_at_the_limit(small):
    sent = []

    def body():  # no Content-Length: the limit must hold while the body streams in
        boundary = b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n"
        yield boundary
        for _ in range(100):
            sent.append(1)
            yield b"\0" * 10_000

    response = requests.post(f"{small}/v1/ocr", data=body(), timeout=10,
                             headers={"content-type": "multipart/form-data; boundary=xyz"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert healthy(small)


@pytest.mark.parametrize("kwargs, status, code", [
    ({"data": b"RIFF....WAVEfmt ", "headers": {"content-type": "audio/wav"}}, 415, "not_multipart"),
    ({"files": {"other": ("a.wav", b"RIFF")}}, 422, "missing_file"),
    ({"files": {"file": ("a.wav", b"")}}, 400, "empty_file"),
    ({"files": {"file": ("a.wav", b"hello, I am text, not audio", "audio/wav")}}, 415, "unsupported_format"),
    ({"files": {"file": ("a.wav", png_bytes(), "audio/wav")}}, 415, "unsupported_format"),  # an image is not audio
    ({"data": b"--nope\r\ngarbage", "headers": {"content-type": "multipart/form-data; boundary=xyz"}}, 400, "malformed_multipart"),
])
def test_bad_uploads_get_a_clear_4xx(small, kwargs, status, code):
    response = requests.post(f"{small}/v1/transcribe", timeout=10, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert healthy(small)


def test_a_task_left_out_of_the_config_answers_503(small):
    response = requests.post(f"{small}/v1/ocr", files={"file": ("a.png", png_bytes())}, timeout=10)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "engine_not_loaded"


def test_unknown_routes_answer_json(small):
    response = requests.get(f"{small}/v2/nothing", timeout=5)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_burst_beyond_the_queue_gets_429_with_retry_after_and_the_rest_succeed(small):
    texts = [f"my router number {i} keeps dropping the connection every evening" for i in range(256)]

    def post(_):
        return requests.post(f"{small}/v1/embed", json={"texts": texts}, timeout=60)

    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(post, range(12)))
    statuses = sorted(r.status_code for r in responses)
    assert 429 in statuses and 200 in statuses, statuses
    assert set(statuses) <= {200, 429}
    for response in responses:
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) >= 1
            assert response.json()["error"]["code"] == "busy"
        else:
            assert np.asarray(response.json()["embeddings"]).shape == (256, 384)
    assert healthy(small)
    metrics = requests.get(f"{small}/metrics", timeout=5).text
    rejected = re.search(r'perception_engine_rejected_total\{engine="minilm",task="embed"\} (\d+)', metrics)
    assert rejected and int(rejected.group(1)) >= statuses.count(429)


def test_concurrent_small_requests_are_batched_with_identical_results(small):
    sentences = [f"where is parcel number {i}" for i in range(8)]
    alone = [requests.post(f"{small}/v1/embed", json={"texts": [s]}, timeout=30).json()["embeddings"][0]
             for s in sentences]
    before = requests.get(f"{small}/metrics", timeout=5).text

    def post(sentence):
        return requests.post(f"{small}/v1/embed", json={"texts": [sentence]}, timeout=30)

    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(post, sentences))
    for response, vector in zip(together, alone):
        if response.status_code == 200:  # 429 is allowed by the tiny queue; batched answers must match
            assert np.allclose(response.json()["embeddings"][0], vector, atol=1e-5)
    after = requests.get(f"{small}/metrics", timeout=5).text

    def counter(text, name):
        return float(re.search(name + r'\{engine="minilm",task="embed"\} ([0-9.e+]+)', text).group(1))

    answered = sum(r.status_code == 200 for r in together)
    batches = counter(after, "perception_engine_batches_total") - counter(before, "perception_engine_batches_total")
    assert answered >= 2
    assert batches < answered  # several requests shared a forward call


def test_metrics_are_prometheus_text(small):
    requests.post(f"{small}/v1/embed", json={"texts": ["hello"]}, timeout=30)
    response = requests.get(f"{small}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert re.search(r'perception_http_requests_total\{path="/v1/embed",status="200"\} [1-9]', text)
    assert 'perception_engine_queue_depth{engine="minilm",task="embed"}' in text
    assert re.search(r'perception_engine_latency_seconds_count\{engine="minilm",task="embed"\} [1-9]', text)
    assert 'perception_engine_latency_seconds_bucket{engine="minilm",le="+Inf",task="embed"}' in text
    assert 'perception_engine_loaded{engine="minilm",task="embed"} 1.0' in text


def test_a_request_over_its_time_budget_gets_503(tmp_path_factory):
    queue = {"max_concurrent": 1, "max_waiting": 4, "timeout_s": 0.001}
    service = services.start_perception("perception-timeout", config=write_config(tmp_path_factory, "timeout", queue))
    try:
        url = service.health_url.rsplit("/health", 1)[0]
        response = requests.post(f"{url}/v1/embed", json={"texts": ["a sentence"] * 200}, timeout=30)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "timeout"
        assert healthy(url)
    finally:
        service.stop()
