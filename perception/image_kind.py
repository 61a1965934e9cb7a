"""Is an uploaded image a screenshot, a document, or a photo? Cheap signals, no model.

"Lots of text" (from the OCR result) makes it a screenshot or a document, anything else is a
photo. Colour statistics on a small copy tell the rest apart:
- `flat`: share of pixels exactly equal to their right and lower neighbours (sampled at full
  resolution): rendered images (screenshots, exported PDFs) are mostly flat, camera images are not;
- `colours`: distinct 5-bit colours per pixel: low for rendered images, high for photos;
- `paper`: share of light, unsaturated pixels (white or grey paper, light app backgrounds);
- `saturation`: median colour saturation (UI colours vs black on white);
- `text_paper`, `text_saturation`: the same two within the box around the text (a sheet on a table).
A document is text on a paper-like page (light, little colour) that is page-shaped or made by a
camera; other text-heavy images are screenshots (phone screenshots are portrait but about 2:1).
A photo with a small label stays a photo: the text must be both plentiful (confident words) and
cover part of the image, or the image must be rendered.
"""
from typing import Any, Dict, Optional

import numpy as np
from PIL import Image

SAMPLE_SIDE = 320          # colour statistics on a copy at most this large (nearest pixels)
MIN_WORDS = 12             # confident words that make an image text-heavy on their own ...
MIN_COVERAGE = 0.03        # ... when their lines cover at least this share of the image
FEW_WORDS = 4              # a rendered image (flat, few colours) needs only this many
WORD_CONFIDENCE = 0.6      # a line's confidence for its words to count
RENDERED_FLAT = 0.5        # share of pixels exactly equal to their neighbours in rendered images


def colour_signals(image: Image.Image) -> Dict[str, float]:
    """Small numbers describing the pixels (see the module docstring)."""
    full = np.asarray(image.convert("RGB"), dtype=np.uint8)
    height, width = full.shape[:2]
    step = max(1, int((height * width / 200_000) ** 0.5))
    if height > 1 and width > 1:  # exact equality with the right and lower neighbours, sampled
        here = full[:height - 1:step, :width - 1:step]
        right = full[:height - 1:step, 1::step][:, :here.shape[1]]
        below = full[1::step, :width - 1:step][:here.shape[0]]
        flat = float(((here == right).all(axis=2) & (here == below).all(axis=2)).mean())
    else:
        flat = 1.0
    small = image.convert("RGB")
    small.thumbnail((SAMPLE_SIDE, SAMPLE_SIDE), Image.Resampling.NEAREST)
    pixels = np.asarray(small, dtype=np.uint8)
    quantised = (pixels >> 3).astype(np.int32)
    codes = (quantised[..., 0] << 10) | (quantised[..., 1] << 5) | quantised[..., 2]
    colours = len(np.unique(codes)) / codes.size
    return {"flat": round(flat, 3), "colours": round(float(colours), 4), **paper_signals(pixels),
            "aspect": round(height / max(1, width), 3)}


def paper_signals(pixels: np.ndarray) -> Dict[str, float]:
    """Share of light unsaturated pixels, and the median saturation, of an RGB array."""
    rgb = pixels.astype(np.float32)
    high, low = rgb.max(axis=2), rgb.min(axis=2)
    saturation = np.where(high > 0, (high - low) / np.maximum(high, 1.0), 0.0)
    luminance = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    paper = float(((luminance > 170) & (saturation < 0.15)).mean())
    return {"paper": round(paper, 3), "saturation": round(float(np.median(saturation)), 3)}


def text_signals(image: Image.Image, ocr: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """Confident words, the share of the image their lines cover, the mean OCR confidence, and
    the paper signals of the region holding that text (a sheet on a table: the sheet)."""
    if not ocr:
        return {"words": 0, "coverage": 0.0, "ocr_confidence": 0.0}
    words, area, boxes = 0, 0, []
    for line in ocr.get("lines") or []:
        box = line.get("box") or {}
        x, y, width, height = (int(box.get(key, 0)) for key in ("x", "y", "width", "height"))
        if float(line.get("confidence", 0.0)) < WORD_CONFIDENCE or width <= 0 or height <= 0:
            continue
        words += sum(1 for word in str(line.get("text", "")).split() if any(c.isalnum() for c in word))
        area += width * height
        boxes.append((x, y, x + width, y + height))
    coverage = min(1.0, area / max(1, image.width * image.height))
    signals: Dict[str, Any] = {"words": words, "coverage": round(coverage, 4),
                               "ocr_confidence": round(float(ocr.get("confidence", 0.0)), 3)}
    if boxes:
        region = image.crop((min(b[0] for b in boxes), min(b[1] for b in boxes),
                             max(b[2] for b in boxes), max(b[3] for b in boxes))).convert("RGB")
        region.thumbnail((SAMPLE_SIDE, SAMPLE_SIDE), Image.Resampling.NEAREST)
        region_signals = paper_signals(np.asarray(region, dtype=np.uint8))
        signals.update(text_paper=region_signals["paper"], text_saturation=region_signals["saturation"])
    return signals


def classify_kind(image: Image.Image, ocr: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """{"kind": "screenshot" | "document" | "photo", "signals": {...}} (ocr: the OCR result or None)."""
    signals: Dict[str, Any] = {**text_signals(image, ocr), **colour_signals(image)}
    rendered = signals["flat"] >= RENDERED_FLAT and signals["colours"] <= 0.05
    if ocr is None:  # no OCR result: colour statistics alone, rendered pages only
        text_heavy = rendered and signals["paper"] >= 0.3
    else:
        text_heavy = (signals["words"] >= MIN_WORDS and signals["coverage"] >= MIN_COVERAGE) \
            or (rendered and signals["words"] >= FEW_WORDS)
    signals["rendered"] = rendered
    if not text_heavy:
        return {"kind": "photo", "signals": signals}
    # paper-like around the text (the whole image when OCR gave no boxes)
    paper = signals.get("text_paper", signals["paper"])
    saturation = signals.get("text_saturation", signals["saturation"])
    paper_like = saturation <= 0.12 and paper >= (0.6 if rendered else 0.4)
    page_shaped = 1.15 <= signals["aspect"] <= 1.6  # A4 1.41, Letter 1.29; phones are about 2
    if paper_like and (page_shaped or not rendered):
        kind = "document"  # a sheet photographed, or a rendered page in portrait
    else:
        kind = "screenshot"
    return {"kind": kind, "signals": signals}
