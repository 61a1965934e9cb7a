"""Open an uploaded image safely with Pillow: header first, pixel cap, then a bounded decode.

The pixel cap is checked from the header before any pixel is decoded, and Pillow's
decompression-bomb warning is an error in this service. Truncated or corrupt files are refused
(Pillow's LOAD_TRUNCATED_IMAGES stays off).

Analysis works on a copy of at most `work_pixels` pixels (limits.image.work_pixels): OCR,
classification and the kind statistics cost about the same for a picture at the cap (40 MP) as for
a phone photo. A large JPEG is decoded at 1/2, 1/4 or 1/8 of its size at once (Pillow's `draft`,
in the JPEG decoder itself); other formats are decoded in full, reduced at once and the full-size
pixels let go before anything else runs. The EXIF orientation is applied to the small copy.
`Picture.width`/`height` stay the upload's own size (after orientation) for the caller's answer.
"""
import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from perception.errors import APIError

PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N")
ORIENTATION = 0x0112  # EXIF tag; its values 2..8 as Pillow's transpose methods (ImageOps.exif_transpose)
TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
             4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
             6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_90}
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


@dataclass
class Picture:
    image: Image.Image  # RGB, at most work_pixels
    width: int          # the upload's size, orientation applied
    height: int

    def box_in_upload(self, box: dict) -> dict:
        """An {x, y, width, height} box of `image` in the upload's pixels."""
        if self.image.size == (self.width, self.height):
            return box
        sx, sy = self.width / self.image.width, self.height / self.image.height
        x0, y0 = math.floor(box["x"] * sx), math.floor(box["y"] * sy)
        x1 = min(self.width, math.ceil((box["x"] + box["width"]) * sx))
        y1 = min(self.height, math.ceil((box["y"] + box["height"]) * sy))
        return {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0}


def too_large(max_pixels: int) -> APIError:
    return APIError(413, "image_too_large", f"images are limited to {max_pixels} pixels (width x height)")


def to_8bit(image: Image.Image, sixteen: bool) -> Image.Image:
    import numpy as np

    values = np.asarray(image, dtype=np.float32)
    top = 65535.0 if sixteen else max(float(values.max()), 1.0)
    return Image.fromarray((values.clip(0, top) * (255.0 / top)).round().astype(np.uint8), "L")


def fitted(size: tuple, work_pixels: int) -> tuple:
    """`size` scaled down (aspect kept) to at most work_pixels pixels."""
    width, height = size
    shrink = math.sqrt(work_pixels / (width * height))
    return max(1, int(width * shrink)), max(1, int(height * shrink))


def reduce(image: Image.Image, work_pixels: int) -> Image.Image:
    """A copy of at most work_pixels pixels, in a mode that resizes well (palette and 1-bit
    images would otherwise be resized by nearest pixels, 16-bit ones not at all)."""
    if image.mode in ("P", "PA"):
        image = image.convert("RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB")
    elif image.mode == "1":
        image = image.convert("L")
    elif image.mode in SIXTEEN_BIT:
        image = image.convert("I")
    if image.width * image.height <= work_pixels:
        return image
    return image.resize(fitted(image.size, work_pixels), Image.Resampling.LANCZOS, reducing_gap=1.0)


def open_image(data: bytes, fmt: str, max_pixels: int, work_pixels: int) -> Picture:
    """An RGB picture of at most work_pixels, EXIF orientation applied; APIError 413 above the
    cap, 422 when corrupt."""
    try:
        image = Image.open(io.BytesIO(data), formats=[PIL_FORMATS[fmt]])
        width, height = image.size
        if width <= 0 or height <= 0:
            raise APIError(422, "undecodable_image", "the image declares no pixels")
        if width * height > max_pixels:
            raise too_large(max_pixels)
        orientation = image.getexif().get(ORIENTATION, 1)
        if image.format == "JPEG" and width * height > work_pixels:
            image.draft(None, fitted((width, height), work_pixels))  # decodes at 1/2, 1/4 or 1/8
        image.load()
        sixteen = image.mode in SIXTEEN_BIT
        image = reduce(image, work_pixels)  # the full-size pixels are freed here
        if orientation in TRANSPOSE:
            image = image.transpose(TRANSPOSE[orientation])
            if orientation >= 5:
                width, height = height, width
        if image.mode in ("I", "F"):  # 16/32-bit: scale, don't clip, to 8 bits
            image = to_8bit(image, sixteen)
        if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
            image = image.convert("RGBA")
            background = Image.new("RGBA", image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(background, image)
        return Picture(image.convert("RGB"), width, height)
    except APIError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large(max_pixels)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise APIError(422, "undecodable_image",
                       f"the {fmt} image is damaged or truncated and could not be decoded ({type(error).__name__})")
