"""Bad input and failures answer JSON and never write a traceback to the service's log: a lone
surrogate in text (400 invalid_text; it used to reach the tokenizer and fail with a TypeError,
275 traceback lines a request), and an engine failing unexpectedly (500 internal, one line naming
the exception's type). A service of its own (embeddings and OCR), whose Tesseract fails on demand."""
import json
from pathlib import Path
from typing import Iterator

import pytest
import requests
import yaml

from tests import services
from tests.perception import image_material as im


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> Iterator[services.Service]:
    folder = tmp_path_factory.mktemp("perception-bad-input")
    failing = folder / "fail-now"
    tesseract = folder / "tesseract"  # the real one, until `failing` exists: then it fails reading
    tesseract.write_text(f'#!/bin/sh\nif [ "$1" = stdin ] && [ -e "{failing}" ]; then exit 3; fi\n'
                         'exec tesseract "$@"\n')
    tesseract.chmod(0o755)
    config = yaml.safe_load((services.ROOT / "perception" / "config.yml").read_text())
    ocr = config["tasks"]["ocr"]
    config["tasks"] = {"embed": config["tasks"]["embed"],
                       "ocr": {**ocr, "options": {**ocr["options"], "binary": str(tesseract)}}}
    path = folder / "config.yml"
    path.write_text(yaml.safe_dump(config))
    server = services.start_perception("perception-bad-input", config=path)
    server.url = server.health_url.rsplit("/health", 1)[0]
    server.failing = failing
    yield server
    server.stop()


def post_json(url: str, route: str, text: str) -> requests.Response:
    # json.dumps writes the lone surrogate as the escape \ud800: valid JSON, invalid Unicode
    return requests.post(f"{url}{route}", data=text.encode("ascii"),
                         headers={"content-type": "application/json"}, timeout=30)


def test_a_lone_surrogate_is_refused_as_invalid_text(service):
    for route, body in [("/v1/embed", {"texts": ["where is my order \ud800"]}),
                        ("/v1/embed", {"texts": ["fine", "\udfff\ud800"]}),
                        ("/v1/synthesize", {"text": "hello \ud800 there"})]:
        response = post_json(service.url, route, json.dumps(body))
        assert response.status_code == 400, (route, response.text)
        assert response.json()["error"]["code"] == "invalid_text", response.text
    good = post_json(service.url, "/v1/embed", json.dumps({"texts": ["where is my order \u00e9"]}))
    assert good.status_code == 200 and good.json()["dim"] == 384
    assert "Traceback" not in service.log_path.read_text(errors="replace")


def test_an_unexpected_failure_is_a_json_500_and_one_log_line(service):
    picture = im.big_screenshot(size=(900, 400), font_px=40)
    assert im.post(service.url, "/v1/ocr", picture).status_code == 200
    service.failing.touch()
    try:
        response = im.post(service.url, "/v1/ocr", picture)
    finally:
        service.failing.unlink()
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "internal",
                                         "message": "the perception service failed on this request"}}
    assert im.post(service.url, "/v1/ocr", picture).status_code == 200  # and it goes on
    log = service.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "Exception in ASGI application" not in log
    assert [line for line in log.splitlines() if "unexpected" in line][-1].endswith(
        "unexpected RuntimeError on /v1/ocr"), log[-2000:]
