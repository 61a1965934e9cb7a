"""Text in screenshots and photos of screens or paper, with Tesseract 5 (LSTM, Debian packages).

Preprocessing (all cheap, numpy + Pillow) before one Tesseract call:
0. images above `max_input_pixels` (8 MP) are reduced first (phone photos: text is large);
1. grayscale, then "flat-field": the local background is the median of 8 x 8 blocks, median
   filtered over 5 x 5 blocks; where it is dark (dark mode, dark banners) the pixels are
   inverted, and every pixel is divided by its background, so text ends up dark on even white
   even under uneven light; then a light autocontrast;
2. deskew: a projection-profile search over +-10 degrees on a small binarised copy, applied only
   when one angle is clearly better than 0;
3. scale: the text-line height is estimated from ink runs in narrow vertical strips and the image
   is resized (LANCZOS) so lines are about `line_height` pixels tall (x1 to x3 up, or down to x0.5
   for huge text), within a pixel budget.
Then one Tesseract call (LSTM, --psm 3), words grouped into lines; lines that are mostly
borders or noise (no letter or digit, or a mean confidence under `min_line_confidence`) are
dropped. Boxes are mapped back to the original image's pixel coordinates.

Threads: Tesseract runs with OMP_THREAD_LIMIT=1 (its own environment only). Its OpenMP threads
busy-wait; on 2 shared cores one thread per call was 3x faster (0.20 s vs 0.68 s on a 1280 x 800
screenshot), and the ocr queue runs two calls at once anyway.
"""
import io
import math
import os
import subprocess
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from perception.engines.base import Engine
from perception.errors import APIError, ModelLoadError

RULE_CHARS = "|_~=[]{}—―"  # what table rules and borders are read as
INSTALL_HINT = ("install the Debian packages tesseract-ocr and tesseract-ocr-eng "
                "(apt-get install tesseract-ocr tesseract-ocr-eng; `make` installs them)")


class TesseractOCR(Engine):
    task = "ocr"
    name = "tesseract"

    def load(self) -> None:
        import pytesseract

        self.binary = self.options.get("binary", "tesseract")
        pytesseract.pytesseract.tesseract_cmd = self.binary
        self.language = self.options.get("language", "eng")
        try:
            version = pytesseract.get_tesseract_version()
            languages = pytesseract.get_languages()
        except (pytesseract.TesseractNotFoundError, OSError) as error:
            raise ModelLoadError(f"the tesseract program is missing: {INSTALL_HINT}") from error
        missing = [lang for lang in self.language.split("+") if lang not in languages]
        if missing:
            packages = " ".join(f"tesseract-ocr-{lang}" for lang in missing)
            raise ModelLoadError(f"tesseract language data missing ({', '.join(missing)}): "
                                 f"install the Debian package(s) {packages} (apt-get install {packages})")
        if version.major < 4:
            raise ModelLoadError(f"tesseract {version} is too old (the LSTM engine needs 4+): {INSTALL_HINT}")
        self.model_name = f"tesseract {version} ({self.language})"
        self.env = {**os.environ, "OMP_THREAD_LIMIT": str(self.options.get("threads", 1))}
        self.loaded = True

    def warmup(self) -> None:
        image = Image.new("RGB", (200, 60), "white")
        ImageDraw.Draw(image).text((10, 20), "warm up 123", fill="black")
        self.read(image)

    # --- preprocess -------------------------------------------------------------------------
    def normalise(self, image: Image.Image) -> Image.Image:
        """Grayscale with dark text on an even white background (dark regions inverted)."""
        if image.mode in ("RGBA", "LA", "P"):
            image = image.convert("RGBA")
            canvas = Image.new("RGBA", image.size, "white")
            image = Image.alpha_composite(canvas, image)
        gray = image.convert("L")
        width, height = gray.size
        pixels = np.asarray(gray, dtype=np.float32)
        step = 8
        rows, cols = height // step, width // step
        if rows and cols:  # text covers less than half of most blocks: their median is background
            tiles = pixels[:rows * step, :cols * step].reshape(rows, step, cols, step)
            blocks = np.median(tiles, axis=(1, 3))
        else:
            blocks = np.full((1, 1), np.median(pixels))
        small = Image.fromarray(blocks.astype(np.uint8)).filter(ImageFilter.MedianFilter(5))
        background = np.asarray(small.resize(gray.size, Image.Resampling.BILINEAR), dtype=np.float32)
        dark = background < 120
        pixels = np.where(dark, 255.0 - pixels, pixels)
        background = np.where(dark, 255.0 - background, background)
        flat = np.clip(pixels * (255.0 / np.maximum(background, 32.0)), 0, 255).astype(np.uint8)
        return ImageOps.autocontrast(Image.fromarray(flat), cutoff=(1, 0))

    @staticmethod
    def text_height(ink: np.ndarray) -> Optional[float]:
        """About one text line's height: the median height of ink runs in narrow vertical strips
        (48 px, then again with strips 4 lines wide so that strips hold whole words)."""
        height, width = ink.shape

        def median_run(strip: int) -> Optional[float]:
            strips = width // strip
            if strips == 0 or height < 8:
                return None
            counts = ink[:, :strips * strip].reshape(height, strips, strip).sum(axis=2)
            edge = np.zeros((1, strips), bool)
            rows = np.vstack([edge, counts >= 2, edge]).astype(np.int8)
            edges = np.diff(rows, axis=0).T  # per strip: +1 where a run starts, -1 after it ends
            runs = np.nonzero(edges == -1)[1] - np.nonzero(edges == 1)[1]
            runs = runs[(runs >= 4) & (runs <= height // 3)]
            return float(np.median(runs)) if len(runs) >= 3 else None

        first = median_run(48)
        if first is None or 4 * first <= 48:
            return first
        return median_run(int(4 * first)) or first

    @staticmethod
    def skew_angle(ink: np.ndarray) -> float:
        """Degrees to rotate (counter-clockwise, as PIL) to make text lines horizontal; 0 if unsure."""
        image = Image.fromarray((ink * 255).astype(np.uint8))
        if image.width > 800:
            image = image.resize((800, max(1, round(image.height * 800 / image.width))), Image.Resampling.BOX)

        def score(angle: float) -> float:
            rotated = np.asarray(image.rotate(angle, resample=Image.Resampling.BILINEAR), dtype=np.float32)
            profile = rotated.sum(axis=1)
            return float(np.square(np.diff(profile)).sum())

        level = score(0.0)
        if level == 0:
            return 0.0
        coarse = max(np.arange(-10, 10.5, 1.0), key=score)
        best = max(np.arange(coarse - 0.75, coarse + 0.8, 0.25), key=score)
        if abs(best) < 0.5 or score(best) < level * 1.15:
            return 0.0
        return float(best)

    def preprocess(self, image: Image.Image) -> Tuple[Image.Image, Callable[..., Dict[str, int]]]:
        """-> (image for tesseract, a function mapping its boxes back to the original image).

        Very large images are first reduced to `max_input_pixels`; the work image is then
        normalised, rotated by the skew angle (expand) and scaled to the target line height.
        """
        original = image.size
        budget = float(self.options.get("max_input_pixels", 8_000_000))
        if original[0] * original[1] > budget:
            shrink = math.sqrt(budget / (original[0] * original[1]))
            size = (max(1, round(original[0] * shrink)), max(1, round(original[1] * shrink)))
            image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        shrunk = image.size
        normal = self.normalise(image)
        ink = np.asarray(normal) < 150
        angle = self.skew_angle(ink) if self.options.get("deskew", True) else 0.0
        if angle:
            normal = normal.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
            ink = np.asarray(normal) < 150
        rotated = normal.size
        line = self.text_height(ink)
        if line is None:
            scale = 2.0 if max(normal.size) < 1000 else 1.0
        else:
            scale = min(3.0, max(0.5, float(self.options.get("line_height", 40)) / line))
        work_budget = float(self.options.get("max_work_pixels", 12_000_000))
        scale = min(scale, math.sqrt(work_budget / (normal.width * normal.height)))
        if abs(scale - 1.0) > 0.1:
            size = (max(1, round(normal.width * scale)), max(1, round(normal.height * scale)))
            normal = normal.resize(size, Image.Resampling.LANCZOS)
        else:
            scale = 1.0
        return normal, self.mapper(original, shrunk, rotated, angle, scale)

    # --- forward ----------------------------------------------------------------------------
    def tesseract_tsv(self, image: Image.Image) -> str:
        buffer = io.BytesIO()
        image.save(buffer, format="PPM")  # binary PGM: no compression; leptonica reads it from stdin
        command = [self.binary, "stdin", "stdout", "-l", self.language, "--oem", "1",
                   "--psm", str(self.options.get("psm", 3)), "tsv"]
        try:
            result = subprocess.run(command, input=buffer.getvalue(), capture_output=True, env=self.env,
                                    timeout=float(self.options.get("timeout_s", 30)))
        except subprocess.TimeoutExpired:  # subprocess.run has killed it
            raise APIError(503, "timeout", "reading the text of this image took too long")
        if result.returncode != 0:
            raise RuntimeError(f"tesseract failed with exit status {result.returncode}")
        return result.stdout.decode("utf-8", errors="replace")

    def read(self, image: Image.Image) -> Dict[str, Any]:
        """Text, lines with boxes (original pixel coordinates) and confidences in 0..1."""
        if image.width < 8 or image.height < 8:
            return {"text": "", "lines": [], "confidence": 0.0, "engine": self.name}
        work, to_original = self.preprocess(image)
        words = self.parse_tsv(self.tesseract_tsv(work))
        min_line = float(self.options.get("min_line_confidence", 0.5))
        lines: List[Dict[str, Any]] = []
        kept: List[float] = []
        for entries in words.values():  # tesseract's reading order
            entries = [w for w in entries if w["text"].strip(RULE_CHARS)]
            if not entries or not any(c.isalnum() for w in entries for c in w["text"]):
                continue
            confidence = sum(w["conf"] for w in entries) / len(entries) / 100.0
            if confidence < min_line:  # borders, photo texture, noise read as letters
                continue
            kept.extend(w["conf"] for w in entries)
            left = min(w["left"] for w in entries)
            top = min(w["top"] for w in entries)
            right = max(w["left"] + w["width"] for w in entries)
            bottom = max(w["top"] + w["height"] for w in entries)
            lines.append({
                "text": " ".join(w["text"] for w in entries),
                "box": to_original(left, top, right, bottom),
                "confidence": round(confidence, 4),
            })
        return {
            "text": "\n".join(line["text"] for line in lines),
            "lines": lines,
            "confidence": round(sum(kept) / len(kept) / 100.0, 4) if kept else 0.0,
            "engine": self.name,
        }

    # --- postprocess ------------------------------------------------------------------------
    @staticmethod
    def parse_tsv(tsv: str) -> Dict[Tuple[int, int, int, int], List[Dict[str, Any]]]:
        """Words with text, grouped by (page, block, paragraph, line) in reading order."""
        rows = tsv.splitlines()
        if not rows:
            return {}
        header = rows[0].split("\t")
        lines: Dict[Tuple[int, int, int, int], List[Dict[str, Any]]] = {}
        for row in rows[1:]:
            cells = row.split("\t")
            if len(cells) != len(header):
                continue
            entry = dict(zip(header, cells))
            text = entry.get("text", "").strip()
            try:
                conf = float(entry["conf"])
            except (KeyError, ValueError):
                continue
            if not text or conf < 0:
                continue
            key = tuple(int(entry[k]) for k in ("page_num", "block_num", "par_num", "line_num"))
            lines.setdefault(key, []).append({
                "text": text, "conf": max(0.0, min(100.0, conf)),
                "left": int(entry["left"]), "top": int(entry["top"]),
                "width": int(entry["width"]), "height": int(entry["height"]),
            })
        return lines

    @staticmethod
    def mapper(original: Tuple[int, int], shrunk: Tuple[int, int], rotated: Tuple[int, int],
               angle: float, scale: float) -> Callable[[int, int, int, int], Dict[str, int]]:
        """Maps a box (left, top, right, bottom) of the work image to {x, y, width, height} in
        the original: undo the scale, the rotation about the centre (size `rotated`), the shrink."""
        width, height = original
        radians = math.radians(angle)
        cos, sin = math.cos(radians), math.sin(radians)

        def back(x: float, y: float) -> Tuple[float, float]:
            dx, dy = x / scale - rotated[0] / 2.0, y / scale - rotated[1] / 2.0
            # PIL turns the picture counter-clockwise on screen (y down); this turns it back
            sx, sy = shrunk[0] / 2.0 + cos * dx - sin * dy, shrunk[1] / 2.0 + sin * dx + cos * dy
            return sx * width / shrunk[0], sy * height / shrunk[1]

        def to_original(left: int, top: int, right: int, bottom: int) -> Dict[str, int]:
            corners = [back(x, y) for x in (left, right) for y in (top, bottom)]
            x0 = max(0, min(width, math.floor(min(c[0] for c in corners))))
            y0 = max(0, min(height, math.floor(min(c[1] for c in corners))))
            x1 = max(0, min(width, math.ceil(max(c[0] for c in corners))))
            y1 = max(0, min(height, math.ceil(max(c[1] for c in corners))))
            return {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0}

        return to_original
