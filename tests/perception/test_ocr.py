"""POST /v1/ocr over real HTTP with Tesseract: Chromium screenshots, a Pillow-drawn invoice, the
same pictures "photographed", and files that must be refused without harming the service."""
import math

import pytest

from tests.perception import image_material as im


def ocr(url, path, **fields):
    response = im.post(url, "/v1/ocr", path.read_bytes(), path.name, **fields)
    assert response.status_code == 200, response.text
    return response.json()


def assert_lines_are_well_formed(body):
    assert body["lines"], "no lines"
    assert body["text"] == "\n".join(line["text"] for line in body["lines"])
    assert 0.0 <= body["confidence"] <= 1.0
    for line in body["lines"]:
        box = line["box"]
        assert set(box) == {"x", "y", "width", "height"}
        assert box["width"] > 0 and box["height"] > 0
        assert 0 <= box["x"] and box["x"] + box["width"] <= body["width"]
        assert 0 <= box["y"] and box["y"] + box["height"] <= body["height"]
        assert 0.0 <= line["confidence"] <= 1.0
        assert line["text"].strip()


def test_chromium_screenshot_gives_the_error_code_and_amounts_exactly(perception_url, material, want):
    body = ocr(perception_url, material / "error_page.png")
    assert (body["width"], body["height"], body["format"]) == (1280, 800, "png")
    assert body["engine"] == "tesseract"
    assert want["error_code"] in body["text"]
    for amount in want["error_amounts"]:
        assert amount in body["text"]
    assert want["error_title"] in body["text"]  # "Payment declined (BW-1001)", from the pack
    assert body["confidence"] > 0.8
    assert_lines_are_well_formed(body)


def test_boxes_are_in_the_original_image_coordinates(perception_url, material, want):
    body = ocr(perception_url, material / "error_page.png")
    [line] = [line for line in body["lines"] if want["error_code"] in line["text"]]
    box = line["box"]  # the alert's title: inside the red box that the page draws at (200..1080, 165..272)
    assert 200 <= box["x"] and box["x"] + box["width"] <= 1080
    assert 165 <= box["y"] and box["y"] + box["height"] <= 272
    assert 15 <= box["height"] <= 40  # a 24 px bold title, not the upscaled working copy


def test_dark_mode_screenshot_is_read_like_the_light_one(perception_url, material, want):
    body = ocr(perception_url, material / "error_page_dark.png")
    assert want["error_code"] in body["text"]
    assert want["order_total"] in body["text"]
    assert_lines_are_well_formed(body)


def photographed_point(x, y, angle=4.0, scale=0.6, size=(1280, 800)):
    """Where a point of the screenshot lands in error_photo.jpg (PIL rotate, expand, then resize)."""
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    width, height = size
    dx, dy = x - width / 2, y - height / 2
    centre_x, centre_y = (width * cos + height * sin) / 2, (width * sin + height * cos) / 2
    return (centre_x + cos * dx + sin * dy) * scale, (centre_y - sin * dx + cos * dy) * scale


def test_photographed_screenshot_still_gives_the_code(perception_url, material, want):
    """Rotated 4 degrees, blurred, scaled to 60 % and saved as JPEG quality 40: deskew and upscaling."""
    body = ocr(perception_url, material / "error_photo.jpg")
    assert body["format"] == "jpeg"
    assert want["error_code"] in body["text"]
    assert want["order_total"] in body["text"]
    assert_lines_are_well_formed(body)
    [line] = [line for line in body["lines"] if want["error_code"] in line["text"]]
    box = line["box"]  # mapped back through the deskew and the upscaling to this photo's pixels
    expected_x, expected_y = photographed_point(423, 204)  # centre of the alert title in the screenshot
    assert abs(box["x"] + box["width"] / 2 - expected_x) < 15
    assert abs(box["y"] + box["height"] / 2 - expected_y) < 15


@pytest.mark.parametrize("name", ["error_page.jpg", "error_page.webp"])
def test_jpeg_and_webp_screenshots_work(perception_url, material, want, name):
    body = ocr(perception_url, material / name)
    assert body["format"] == im.format_of(name)
    assert want["error_code"] in body["text"]
    assert want["order_total"] in body["text"]


def test_invoice_gives_order_number_items_and_amounts_exactly(perception_url, material, want):
    body = ocr(perception_url, material / "invoice.png")
    assert want["invoice_order"] in body["text"]
    assert want["invoice_number"] in body["text"]
    for amount in want["invoice_amounts"]:
        assert amount in body["text"]
    assert "Nova Chromebook 13" in body["text"]
    assert_lines_are_well_formed(body)


def test_photographed_invoice_gives_order_number_and_total(perception_url, material, want):
    body = ocr(perception_url, material / "invoice_photo.jpg")
    assert want["invoice_order"] in body["text"]
    assert want["invoice_amounts"][-1] in body["text"]
    assert_lines_are_well_formed(body)


def test_phone_screenshot_and_dark_chat(perception_url, material, want):
    assert want["mobile_code"] in ocr(perception_url, material / "mobile_error.png")["text"]
    chat = ocr(perception_url, material / "chat_dark.png")["text"]
    for code in want["chat_codes"]:
        assert code in chat


@pytest.mark.parametrize("name", ["blank.png", "tiny.png", "coffee.png"])
def test_pictures_without_text_give_no_text(perception_url, material, name):
    body = ocr(perception_url, material / name)
    assert body["text"] == "" and body["lines"] == []
    assert body["confidence"] == 0.0


def test_missing_tesseract_stops_start_up_naming_the_debian_packages(tmp_path):
    result = im.start_up_error(tmp_path, "ocr", binary="/nonexistent/tesseract")
    assert result.returncode != 0
    assert "tesseract-ocr" in result.stderr and "tesseract-ocr-eng" in result.stderr
