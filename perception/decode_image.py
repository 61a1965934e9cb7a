"""Open an uploaded image safely with Pillow: header first, pixel cap, then decode.

The pixel cap is checked from the header before any pixel is decoded, and Pillow's
decompression-bomb warning is an error in this service. Truncated or corrupt files are refused
(Pillow's LOAD_TRUNCATED_IMAGES stays off).
"""
import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from perception.errors import APIError

PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


def too_large(max_pixels: int) -> APIError:
    return APIError(413, "image_too_large", f"images are limited to {max_pixels} pixels (width x height)")


def to_8bit(image: Image.Image) -> Image.Image:
    import numpy as np

    values = np.asarray(image, dtype=np.float64)
    top = 65535.0 if image.mode.startswith("I;16") else max(float(values.max()), 1.0)
    return Image.fromarray((values.clip(0, top) * (255.0 / top)).round().astype(np.uint8), "L")


def open_image(data: bytes, fmt: str, max_pixels: int) -> Image.Image:
    """An RGB image, EXIF orientation applied; APIError 413 above the cap, 422 when corrupt."""
    try:
        image = Image.open(io.BytesIO(data), formats=[PIL_FORMATS[fmt]])
        width, height = image.size
        if width <= 0 or height <= 0:
            raise APIError(422, "undecodable_image", "the image declares no pixels")
        if width * height > max_pixels:
            raise too_large(max_pixels)
        image.load()
        image = ImageOps.exif_transpose(image)
        if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16/32-bit: scale, don't clip, to 8 bits
            image = to_8bit(image)
        if image.mode in ("RGBA", "LA", "P"):
            image = image.convert("RGBA")
            background = Image.new("RGBA", image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(background, image)
        return image.convert("RGB")
    except APIError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large(max_pixels)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as error:
        raise APIError(422, "undecodable_image",
                       f"the {fmt} image is damaged or truncated and could not be decoded ({type(error).__name__})")
