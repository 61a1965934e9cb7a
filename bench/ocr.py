"""Section "ocr": character error rate of the perception service's OCR (/v1/ocr, Tesseract as
shipped) on screenshots and documents, clean and degraded.

    python -m bench.ocr [--quick] [--out DIR]      # perception venv

Material, made here and cached under bench/cache/ocr/ (git-ignored), each picture with the exact
text drawn on it as its reference:
- 12 screenshots rendered by headless Chromium: Brightwave error pages (desktop 1280x800 in
  light, dark and warm themes) and phone error screens (390x844) with the BW- codes and screen
  texts of packs/brightwave/error_codes.csv, order lines and amounts;
- 10 documents drawn with Pillow: order invoices and Brightwave Pay statements (tables with
  SKUs, order numbers and amounts from the company pack).
Degradations, each separately and all combined: rotated 3 degrees, Gaussian blur (radius 1.2),
JPEG quality 40. CER = character edit distance / reference characters after whitespace
normalisation (bench.wer.cer; reading order counts). Fields found = share of the reference's
codes, order and invoice numbers and amounts that appear verbatim in the OCR text. Latency
rerun spread: the clean pictures are read again in rounds 2 and 3 (2 rounds with --quick).
"""
import csv
import hashlib
import io
import math
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import requests
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from bench.common import (ROOT, arguments, figure, machine, machine_line, md_table, results_dir, save, spread,
                          spread_text, summary, write_section)
from bench.perception import Service, only_tasks, shipped_config, timed
from bench.wer import cer, squeeze

CACHE = ROOT / "bench" / "cache" / "ocr"
PACK = ROOT / "packs" / "brightwave"
FONTS = Path("/usr/share/fonts/truetype/dejavu")
DEGRADATIONS = ("clean", "rotated 3°", "blur r1.2", "JPEG q40", "all three")
ROTATED = ("rotated 3°", "all three")
ROTATION = 3.0
FIELD = re.compile(r"(?:BW|INV|CLM)-[A-Z0-9-]*[0-9][A-Z0-9]*|\$[0-9,]+\.[0-9]{2}")

THEMES = [dict(bg="#f4f6fa", fg="#1d2433", box="#fdecea", alert="#b71c1c", rule="#cfd6e4", accent="#0b3d91", muted="#555"),
          dict(bg="#121417", fg="#e8eaed", box="#3a1d1d", alert="#ff8a80", rule="#3c4043", accent="#1a4fb5", muted="#aaa"),
          dict(bg="#fffaf2", fg="#2b2118", box="#fff1d6", alert="#a04800", rule="#e6d7bf", accent="#7a3e00", muted="#6b5a48")]


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)


def pack_rows(name: str) -> List[Dict[str, str]]:
    with (PACK / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


# ---------------------------------------------------------------- screenshots (Chromium)

def web_page(title: str, detail: str, section: str, rows: Sequence[Tuple[str, str]], button: str,
             theme: Dict[str, str]) -> Tuple[str, List[str]]:
    cells = "".join(f"<tr><td>{a}</td><td style='text-align:right'>{b}</td></tr>" for a, b in rows)
    html = f"""<!doctype html><html><head><meta charset="utf-8"><style>
 body {{ margin: 0; font-family: 'DejaVu Sans', sans-serif; background: {theme['bg']}; color: {theme['fg']}; }}
 header {{ background: {theme['accent']}; color: #fff; padding: 16px 36px; font-size: 24px; font-weight: bold; }}
 header span {{ float: right; font-size: 15px; font-weight: normal; margin-top: 6px; }}
 main {{ max-width: 860px; margin: 36px auto; }}
 h1 {{ font-size: 28px; margin: 0 0 22px; }}
 .box {{ border: 2px solid {theme['alert']}; background: {theme['box']}; padding: 20px 24px; border-radius: 8px; }}
 .box b {{ color: {theme['alert']}; font-size: 23px; }} .box p {{ font-size: 18px; margin: 10px 0 0; }}
 table {{ width: 100%; margin-top: 26px; font-size: 19px; border-collapse: collapse; }}
 td {{ padding: 9px 4px; border-bottom: 1px solid {theme['rule']}; }}
 button {{ margin-top: 24px; font-size: 18px; padding: 11px 24px; background: {theme['accent']}; color: #fff;
          border: 0; border-radius: 6px; }}
</style></head><body>
 <header>Brightwave Electronics <span>Account &nbsp; Orders &nbsp; Help</span></header>
 <main><h1>{section}</h1><div class="box"><b>{title}</b><p>{detail}</p></div>
  <table>{cells}</table><button>{button}</button></main></body></html>"""
    reference = ["Brightwave Electronics Account Orders Help", section, title, detail]
    reference += [f"{a} {b}" for a, b in rows] + [button]
    return html, reference


def phone_page(title: str, detail: str, crumb: str, extra: str, button: str, theme: Dict[str, str]) -> Tuple[str, List[str]]:
    html = f"""<!doctype html><html><body style="margin:0;font-family:'DejaVu Sans',sans-serif;
 background:{theme['bg']};color:{theme['fg']}">
<div style="background:{theme['accent']};color:#fff;padding:18px 20px;font-size:20px">Brightwave</div>
<div style="padding:18px 20px;font-size:16px;color:{theme['muted']}">{crumb}</div>
<div style="margin:10px 20px;padding:24px 18px;border-radius:14px;background:{theme['box']};text-align:center">
 <div style="font-size:21px;font-weight:bold">{title}</div>
 <p style="font-size:17px;color:{theme['muted']}">{detail}</p></div>
<div style="padding:8px 20px;font-size:16px">{extra}</div>
<div style="margin:20px;padding:14px;border-radius:10px;background:{theme['accent']};color:#fff;text-align:center;
 font-size:18px">{button}</div></body></html>"""
    return html, ["Brightwave", crumb, title, detail, extra, button]


def screens() -> List[Tuple[str, str, List[str], Tuple[int, int]]]:
    """(name, html, reference lines, window size) of the 12 screenshots."""
    errors = {row["code"]: row for row in pack_rows("error_codes.csv")}
    products = pack_rows("products.csv")
    orders = pack_rows("orders.csv")
    sections = {"checkout": "Checkout", "sign-in": "Sign in", "cart": "Your cart", "website": "Brightwave.example",
                "Pay": "Brightwave Pay"}
    made = []
    web_codes = ["BW-1001", "BW-1002", "BW-1003", "BW-1010", "BW-3001", "BW-3002", "BW-4001", "BW-5004"]
    for index, code in enumerate(web_codes):
        title, _, detail = errors[code]["screen_text"].partition(". ")
        section = next((v for k, v in sections.items() if k in errors[code]["where"]), "Help")
        items = [products[(3 * index + k) % len(products)] for k in range(2)]
        order = orders[index % len(orders)]
        rows = [(item["name"], f"${float(item['price_usd']):,.2f}") for item in items]
        rows += [(f"Order {order['order_id']}", f"${sum(float(i['price_usd']) for i in items):,.2f}")]
        html, reference = web_page(title.rstrip("."), detail or "Please try again later.", section, rows,
                                   "Try again" if index % 2 == 0 else "Back to cart", THEMES[index % 3])
        made.append((f"web_{code}", html, reference, (1280, 800)))
    phone_codes = ["BW-2001", "BW-2002", "BW-2003", "BW-5003"]
    for index, code in enumerate(phone_codes):
        title, _, detail = errors[code]["screen_text"].partition(". ")
        order = orders[(index + 5) % len(orders)]
        html, reference = phone_page(title.rstrip("."), detail or "Please try again later.", "Account > Sign in",
                                     f"Last order {order['order_id']}", "Sign in" if index % 2 == 0 else "OK",
                                     THEMES[index % 3])
        made.append((f"phone_{code}", html, reference, (390, 844)))
    return made


# ---------------------------------------------------------------- documents (Pillow)

def sheet(title: str, meta: Sequence[str], columns: Sequence[Tuple[int, str]], rows: Sequence[Sequence[str]],
          totals: Sequence[Tuple[str, str]], footer: str) -> Tuple[Image.Image, List[str]]:
    """A white A4-ish page: blue title bar, meta lines, a table, totals and a footer line; the
    reference text is read row by row, left to right."""
    image = Image.new("RGB", (1000, 1250), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1000, 104), fill=(11, 61, 145))
    draw.text((56, 32), title, font=font(34, True), fill="white")
    reference = [title]
    y = 150
    for line in meta:
        draw.text((56, y), line, font=font(25), fill=(20, 20, 20))
        reference.append(line)
        y += 42
    y += 28
    for x, heading in columns:
        draw.text((x, y), heading, font=font(23, True), fill=(20, 20, 20))
    reference.append(" ".join(heading for _, heading in columns))
    y += 42
    draw.line((56, y, 944, y), fill=(120, 120, 120), width=2)
    y += 14
    for row in rows:
        for (x, _), value in zip(columns, row):
            draw.text((x, y), value, font=font(22), fill=(20, 20, 20))
        reference.append(" ".join(row))
        y += 44
    draw.line((56, y, 944, y), fill=(120, 120, 120), width=2)
    y += 20
    for label, amount in totals:
        draw.text((540, y), label, font=font(25), fill=(20, 20, 20))
        draw.text((800, y), amount, font=font(25), fill=(20, 20, 20))
        reference.append(f"{label} {amount}")
        y += 46
    draw.text((56, y + 36), footer, font=font(23), fill=(60, 60, 60))
    reference.append(footer)
    return image, reference


def documents() -> List[Tuple[str, Image.Image, List[str]]]:
    products = {row["sku"]: row for row in pack_rows("products.csv")}
    orders = pack_rows("orders.csv")
    made = []
    for index, order in enumerate(orders[:5]):
        skus = order["items"].split(";")
        rows = [(products[s]["name"] if s in products else s, s, "1",
                 f"${float(products[s]['price_usd']):,.2f}" if s in products else "$0.00") for s in skus]
        paid = ["Visa ending 4242", "Brightwave Pay", "Mastercard ending 5100", "Brightwave Pay - 6 installments",
                "Visa ending 0093"][index]
        image, reference = sheet(
            "Brightwave Electronics - Invoice",
            [f"Invoice INV-2026-{4417 + 37 * index:06d}", f"Order {order['order_id']}", f"Date: {order['placed_on']}"],
            [(56, "Item"), (540, "SKU"), (730, "Qty"), (800, "Price")], rows,
            [("Shipping", "$0.00" if order["shipping"] == "standard" else "$14.99"), ("Tax", "$0.00"),
             ("Total", f"${float(order['total_usd']):,.2f}")], f"Paid with {paid}")
        made.append((f"invoice_{order['order_id']}", image, reference))
    for index in range(5):
        picked = orders[5 + 3 * index: 8 + 3 * index]
        rows = [(f"{3 + 4 * k} Nov 2026", description, amount) for k, (description, amount) in enumerate([
            (f"Installment {k + 2} of 6 - Order {o['order_id']}", f"${float(o['total_usd']) / 6:,.2f}")
            for k, o in enumerate(picked)] + [("Late fee" if index % 2 else "Top-up by card",
                                                "$15.00" if index % 2 else "-$100.00")])]
        charges = sum(float(o["total_usd"]) / 6 for o in picked) + (15 if index % 2 else 0)
        image, reference = sheet(
            "Brightwave Pay - Monthly statement",
            ["1 Nov 2026 - 30 Nov 2026", f"Account ending {1130 + 71 * index:04d}"],
            [(56, "Date"), (250, "Description"), (800, "Amount")], rows,
            [("Opening balance", f"${120 + 45.5 * index:,.2f}"), ("Charges", f"${charges:,.2f}"),
             ("Closing balance", f"${120 + 45.5 * index + charges:,.2f}")], "Next installment due: 5 Dec 2026")
        made.append((f"statement_{index + 1}", image, reference))
    return made


# ---------------------------------------------------------------- degradations

def degrade(image: Image.Image, how: str) -> Tuple[bytes, str]:
    """(encoded bytes, file name) of the picture after one degradation of DEGRADATIONS."""
    image = image.convert("RGB")
    if how in ROTATED:
        image = image.rotate(ROTATION, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=image.getpixel((0, 0)))
    if how in ("blur r1.2", "all three"):
        image = image.filter(ImageFilter.GaussianBlur(1.2))
    buffer = io.BytesIO()
    if how in ("JPEG q40", "all three"):
        image.save(buffer, "JPEG", quality=40)
        return buffer.getvalue(), "page.jpg"
    image.save(buffer, "PNG")
    return buffer.getvalue(), "page.png"


def material(quick: bool) -> List[Dict[str, Any]]:
    """Every picture (cached as PNG) with its kind and reference text."""
    from tests.perception.make_images import chromium_screenshot

    CACHE.mkdir(parents=True, exist_ok=True)
    pictures = []
    for name, html, reference, size in screens()[: 4 if quick else None]:
        path = CACHE / f"{name}-{hashlib.sha1(html.encode()).hexdigest()[:12]}.png"
        if not path.exists():
            chromium_screenshot(html, path, size)
        pictures.append({"name": name, "kind": "screenshot", "image": Image.open(path).convert("RGB"),
                         "reference": "\n".join(reference)})
    for name, image, reference in documents()[: 4 if quick else None]:
        kind = "invoice" if name.startswith("invoice") else "statement"
        pictures.append({"name": name, "kind": kind, "image": image, "reference": "\n".join(reference)})
    return pictures


def fields_found(reference: str, text: str) -> Tuple[int, int]:
    wanted = FIELD.findall(reference)
    heard = squeeze(text)
    return sum(1 for field in wanted if field in heard), len(wanted)


def layout_order(lines: Sequence[Dict[str, Any]], angle: float = 0.0) -> str:
    """The service's text lines re-joined row by row, top to bottom and left to right: Tesseract
    (psm 3) reads a table column by column, which costs CER without a single misread character.
    Boxes are levelled by the known rotation first (PIL's rotate(angle) lifts the right side)."""
    slope = math.tan(math.radians(angle))
    placed = []
    for line in lines:
        box = line["box"]
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        placed.append((cy + cx * slope, box["x"], box["height"], line["text"]))
    if not placed:
        return ""
    tolerance = 0.5 * statistics.median(p[2] for p in placed)
    rows: List[List[Tuple[float, float, float, str]]] = []
    for item in sorted(placed):
        if rows and item[0] - rows[-1][0][0] <= tolerance:
            rows[-1].append(item)
        else:
            rows.append([item])
    return "\n".join(" ".join(p[3] for p in sorted(row, key=lambda p: p[1])) for row in rows)


def read(url: str, data: bytes, filename: str) -> Tuple[float, Dict[str, Any]]:
    elapsed, response = timed(lambda: requests.post(f"{url}/v1/ocr", files={"file": (filename, data)}, timeout=120))
    return elapsed, response.json()


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = arguments(__doc__.splitlines()[0], argv)
    started = time.time()
    info = machine()
    rounds = 2 if args.quick else 3
    pictures = material(args.quick)
    results: List[Dict[str, Any]] = []
    clean_latency: List[List[float]] = [[]]
    with tempfile.TemporaryDirectory(prefix="bench-ocr-") as temp, \
            Service(only_tasks(shipped_config(), ocr={}), Path(temp), "ocr") as service:
        read(service.url, *degrade(pictures[0]["image"], "clean"))  # warm-up
        for how in DEGRADATIONS:
            for picture in pictures:
                data, filename = degrade(picture["image"], how)
                elapsed, answer = read(service.url, data, filename)
                found, total = fields_found(picture["reference"], answer["text"])
                ordered = layout_order(answer["lines"], ROTATION if how in ROTATED else 0.0)
                results.append({"name": picture["name"], "kind": picture["kind"], "degradation": how,
                                "cer": round(cer(picture["reference"], answer["text"]), 4),
                                "cer_layout": round(cer(picture["reference"], ordered), 4),
                                "found": found, "fields": total, "latency": round(elapsed, 4)})
                if how == "clean":
                    clean_latency[0].append(elapsed)
        for _ in range(rounds - 1):
            clean_latency.append([read(service.url, *degrade(p["image"], "clean"))[0] for p in pictures])
        peak = service.peak_rss_mb()
    kinds = sorted({p["kind"] for p in pictures}, key=["screenshot", "invoice", "statement"].index)

    def cell(rows: List[Dict[str, Any]]) -> Dict[str, Any]:
        return {"images": len(rows), "cer_mean": round(statistics.fmean(r["cer"] for r in rows), 4),
                "cer_median": round(statistics.median(r["cer"] for r in rows), 4),
                "cer_layout_mean": round(statistics.fmean(r["cer_layout"] for r in rows), 4),
                "fields_found": round(sum(r["found"] for r in rows) / max(1, sum(r["fields"] for r in rows)), 4),
                "latency_s": summary([r["latency"] for r in rows])}

    table = {kind: {how: cell([r for r in results if r["kind"] == kind and r["degradation"] == how])
                    for how in DEGRADATIONS} for kind in kinds}
    table["all"] = {how: cell([r for r in results if r["degradation"] == how]) for how in DEGRADATIONS}
    figures: Dict[str, Any] = {
        "images": len(pictures), "by_kind_and_degradation": table, "per_image": results,
        "clean_latency_spread": {"p50_s": spread([summary(r)["p50"] for r in clean_latency]),
                                 "mean_s": spread([statistics.fmean(r) for r in clean_latency])},
        "service_peak_rss_mb": peak}
    folder = results_dir(args.out)
    figures["plot"] = plot(table, folder)
    write_section("ocr", "OCR: character error rate", figures, markdown(figures, info, rounds, args.quick),
                  out=args.out, started=started)


def plot(table: Dict[str, Dict[str, Any]], folder: Path) -> str:
    fig, _ = figure(11, 4)
    fig.clear()
    kinds = list(table)
    width = 0.8 / len(kinds)
    colours = ["#0b3d91", "#e07b39", "#2e7d32", "#777777"]
    for panel, (key, title) in enumerate((("cer_mean", "CER of the text as read"),
                                          ("cer_layout_mean", "CER, lines in layout order")), 1):
        axes = fig.add_subplot(1, 2, panel)
        for k, kind in enumerate(kinds):
            values = [table[kind][how][key] for how in DEGRADATIONS]
            axes.bar([i + (k - (len(kinds) - 1) / 2) * width for i in range(len(DEGRADATIONS))], values, width,
                     label=kind, color=colours[k % len(colours)])
        axes.set_xticks(range(len(DEGRADATIONS)), DEGRADATIONS, fontsize=8)
        axes.set_ylabel("character error rate (mean per image)")
        axes.set_title(title)
        axes.legend(fontsize=8)
    return save(fig, folder, "ocr-cer")


def markdown(figures: Dict[str, Any], info: Dict[str, Any], rounds: int, quick: bool) -> str:
    table = figures["by_kind_and_degradation"]
    rows = []
    for kind, by_how in table.items():
        for how in DEGRADATIONS:
            c = by_how[how]
            rows.append([kind, how, c["images"], f"{c['cer_mean']:.3f}", f"{c['cer_median']:.3f}",
                         f"{c['cer_layout_mean']:.3f}",
                         f"{100 * c['fields_found']:.0f} %", f"{c['latency_s']['p50']:.2f}", f"{c['latency_s']['p95']:.2f}"])
    main_table = md_table(["pictures", "degradation", "images", "CER mean", "CER median", "CER layout order",
                           "fields found", "p50 s", "p95 s"],
                          rows, numeric=[False, False, True, True, True, True, True, True, True])
    worst = sorted((r for r in figures["per_image"] if r["degradation"] == "clean"), key=lambda r: -r["cer"])[:3]
    spread_line = (f"Latency of the clean pictures per round (p50): {spread_text(figures['clean_latency_spread']['p50_s'], ' s', 2)}; "
                   f"mean {spread_text(figures['clean_latency_spread']['mean_s'], ' s', 2)}.")
    return f"""Machine: {machine_line(info)}{' (quick run)' if quick else ''}. `/v1/ocr` of the perception service with
only the OCR task (Tesseract 5, `eng`, psm 3, the service's deskew and scaling as shipped),
sequential requests. {figures['images']} pictures with known text: Chromium-rendered Brightwave
error pages and phone error screens (codes and screen texts from packs/brightwave/error_codes.csv),
Pillow-drawn invoices and Brightwave Pay statements. Each read clean, rotated 3°, blurred
(Gaussian radius 1.2), as JPEG quality 40, and with all three. CER = character edit distance /
reference characters after whitespace normalisation (case, punctuation and reading order count).
Tesseract reads tables column by column, which the reference (row by row) counts as errors; "CER
layout order" puts the service's returned lines back in rows (box centres, levelled by the known
rotation) first, so it measures misread characters rather than reading order. Fields found: the BW-/INV- numbers and dollar amounts in the picture that appear verbatim in the
text read. {rounds} rounds of the clean pictures for the latency spread.

{main_table}

{spread_line} Highest clean CER: {', '.join(f"{r['name']} {r['cer']:.3f}" for r in worst)}.

{figures['plot']}
"""


if __name__ == "__main__":
    main()
