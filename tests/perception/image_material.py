"""Shared helpers for the OCR and image tests: the generated material and hand-made bad files.

The pictures come from make_images.py, run once per test session with the perception venv
(Pillow, scikit-image, headless Chromium); bad files are built here byte by byte.
"""
import json
import struct
import subprocess
import zlib
from pathlib import Path
from typing import Dict, Tuple

import requests
import yaml

from tests import services

_MADE: Dict[str, Path] = {}


def material(tmp_path_factory) -> Path:
    """The folder holding make_images.py's output (generated at the first call)."""
    if "folder" not in _MADE:
        folder = tmp_path_factory.mktemp("images")
        tool = Path(__file__).with_name("make_images.py")
        result = subprocess.run([str(services.VENV_PERCEPTION / "bin" / "python"), str(tool), str(folder)],
                                capture_output=True, text=True, timeout=300, env=services.base_env())
        if result.returncode != 0:
            raise RuntimeError("make_images.py failed (it needs Chromium and scikit-image):\n"
                               + result.stderr[-3000:])
        _MADE["folder"] = folder
    return _MADE["folder"]


def expected(folder: Path) -> dict:
    return json.loads((folder / "expected.json").read_text())


def format_of(name: str) -> str:
    """The format the service reports for a material file name."""
    return {"png": "png", "jpg": "jpeg", "webp": "webp"}[name.rsplit(".", 1)[1]]


def post(url: str, route: str, data: bytes, name: str = "upload.png", **fields: str) -> requests.Response:
    return requests.post(f"{url}{route}", files={"file": (name, data)}, data=fields, timeout=120)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 50_000, height: int = 50_000) -> bytes:
    """A small, valid-looking PNG whose header declares width x height RGB pixels."""
    rows = zlib.compress(b"\x00" * (1 + 3 * width) * 4, 9)  # a few zero rows; the rest is missing
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + png_chunk(b"IDAT", rows) + png_chunk(b"IEND", b""))


BAD_UPLOADS = ["text-named-png", "zero-length", "png-bomb", "truncated-png", "truncated-jpeg"]


def bad_upload(folder: Path, label: str) -> Tuple[str, bytes, int, str]:
    """(file name, bytes, expected status, expected error code) of one refusal in BAD_UPLOADS."""
    png = (folder / "invoice.png").read_bytes()
    jpeg = (folder / "coffee.jpg").read_bytes()
    return {
        "text-named-png": ("notes.png", b"a text file, not a picture\n" * 20, 415, "unsupported_format"),
        "zero-length": ("empty.png", b"", 400, "empty_file"),
        "png-bomb": ("bomb.png", png_bomb(), 413, "image_too_large"),
        "truncated-png": ("cut.png", png[: len(png) // 2], 422, "undecodable_image"),
        "truncated-jpeg": ("cut.jpg", jpeg[: len(jpeg) // 2], 422, "undecodable_image"),
    }[label]


FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BIG_LINES = ["Payment declined (BW-1001)", "Order BW-{order} total 249.99",
             "Your card was declined by the bank.", "Try another card or contact support."]


def big_screenshot(order: int = 318904, size: Tuple[int, int] = (6300, 6300), font_px: int = 110,
                   fmt: str = "PNG", orientation: int = 1) -> bytes:
    """A picture at the perception service's pixel cap (6300 x 6300 = 39.7 MP): four lines of text
    near the top left on white, as a PNG (~230 KB) or a JPEG; `orientation` is written as EXIF
    (6: the pixels are stored turned, a viewer turns them 90 degrees clockwise)."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, font_px)
    for number, line in enumerate(BIG_LINES):
        draw.text((300, 300 + 2 * font_px * number), line.format(order=order), fill="black", font=font)
    if orientation == 6:  # store it turned back, so that a viewer applying the tag shows it upright
        image = image.transpose(Image.Transpose.ROTATE_90)
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    image.save(out, fmt, exif=exif.tobytes(), **({"quality": 85} if fmt == "JPEG" else {}))
    return out.getvalue()


def healthy(url: str) -> bool:
    return requests.get(f"{url}/health", timeout=10).json()["status"] == "ok"


def start_up_error(tmp_path, task: str, **options) -> subprocess.CompletedProcess:
    """Start a service holding only `task`, its options changed; it must fail: the result."""
    config = yaml.safe_load((services.ROOT / "perception" / "config.yml").read_text())
    spec = config["tasks"][task]
    config["tasks"] = {task: {**spec, "options": {**spec.get("options", {}), **options}}}
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config))
    env = services.base_env(PERCEPTION_CONFIG=str(path), PERCEPTION_PORT=str(services.free_port()))
    return subprocess.run([str(services.VENV_PERCEPTION / "bin" / "python"), "-m", "perception"],
                          env=env, cwd=services.ROOT, capture_output=True, text=True, timeout=120)
