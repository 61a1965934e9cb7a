"""Pictures at the pixel cap (6300 x 6300 = 39.7 MP) over real HTTP: analysed on a reduced copy
(limits.image.work_pixels), the text still read, sizes and boxes in the upload's own pixels; a
large JPEG is decoded reduced and its EXIF orientation applied."""
import pytest

from tests.perception import image_material as im


@pytest.mark.parametrize("route", ["/v1/ocr", "/v1/image/analyze"])
def test_a_png_at_the_cap_is_read_with_boxes_in_its_own_pixels(perception_url, route):
    response = im.post(perception_url, route, im.big_screenshot(order=318904), "big.png")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["width"], body["height"], body["format"]) == (6300, 6300, "png")
    ocr = body if route == "/v1/ocr" else body["ocr"]
    if route == "/v1/image/analyze":
        assert body["kind"] == "screenshot"
    assert "Payment declined (BW-1001)" in ocr["text"] and "BW-318904" in ocr["text"] and "249.99" in ocr["text"]
    [title] = [line for line in ocr["lines"] if "BW-1001" in line["text"]]
    box = title["box"]  # drawn at (300, 300) in 110 px type: about 1500 x 130 upload pixels
    assert 250 <= box["x"] <= 350 and 280 <= box["y"] <= 360, box
    assert 1200 <= box["width"] <= 1800 and 70 <= box["height"] <= 160, box


def test_a_turned_jpeg_at_the_cap_is_read_upright(perception_url):
    data = im.big_screenshot(order=204417, size=(6300, 4200), fmt="JPEG", orientation=6)
    response = im.post(perception_url, "/v1/ocr", data, "big.jpg")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["width"], body["height"], body["format"]) == (6300, 4200, "jpeg")
    assert "BW-1001" in body["text"] and "BW-204417" in body["text"]
    for line in body["lines"]:
        box = line["box"]
        assert box["x"] + box["width"] <= 6300 and box["y"] + box["height"] <= 4200
