"""Test material for the OCR and image endpoints: `python make_images.py OUT_DIR`.

Runs with the perception venv (Pillow, scikit-image). Writes:
- error_page.png: a Brightwave checkout error page (BW-1001 and its screen text from
  packs/brightwave/error_codes.csv, amounts) rendered by headless Chromium (1280 x 800),
  and error_page_dark.png, the same page in dark mode;
- error_photo.jpg: that screenshot "photographed" (rotated 4 degrees, blurred, 60 %, JPEG q40);
  error_page.jpg / error_page.webp: the screenshot re-encoded; blank.png, tiny.png (4 x 4);
- mobile_error.png: a phone-sized (390 x 844) error screen; chat_dark.png: a dark-mode support chat;
- invoice.png: a Brightwave order invoice drawn with Pillow; invoice_photo.jpg: the same on a
  slightly grey, tilted sheet; invoice_on_table.jpg: the sheet small on a colourful table;
- coffee, chelsea, astronaut, rocket, motorcycle (.png): photographs that scikit-image ships;
  coffee.webp, coffee.jpg; coffee_crop_a.png / coffee_crop_b.png (two overlapping crops);
  coffee_label.png (the photo with a small printed label on it);
- expected.json: the strings the tests look for.
"""
import csv
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from skimage import data

FONTS = Path("/usr/share/fonts/truetype/dejavu")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"

PACK = Path(__file__).resolve().parents[2] / "packs" / "brightwave"
ERROR_CODE = "BW-1001"
ORDER_TOTAL = "$1,249.00"
ERROR_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Checkout - Brightwave</title>
<style>
 body {{ margin: 0; font-family: 'DejaVu Sans', Arial, sans-serif; background: {page_bg}; color: {text}; }}
 header {{ background: #0b3d91; color: #fff; padding: 18px 40px; font-size: 26px; font-weight: bold; }}
 header span {{ float: right; font-size: 16px; font-weight: normal; margin-top: 6px; }}
 main {{ max-width: 880px; margin: 40px auto; }}
 h1 {{ font-size: 30px; margin: 0 0 24px; }}
 .alert {{ border: 2px solid #c62828; background: {alert_bg}; padding: 22px 26px; border-radius: 8px; }}
 .alert b {{ color: {alert_title}; font-size: 24px; }}
 .alert p {{ font-size: 19px; margin: 10px 0 0; }}
 table {{ width: 100%; margin-top: 30px; font-size: 20px; border-collapse: collapse; }}
 td {{ padding: 10px 4px; border-bottom: 1px solid {rule}; }}
 td.amount {{ text-align: right; }}
 .total td {{ font-weight: bold; font-size: 22px; }}
 button {{ margin-top: 28px; font-size: 19px; padding: 12px 26px; background: #0b3d91; color: #fff;
          border: 0; border-radius: 6px; }}
</style></head>
<body>
 <header>Brightwave Electronics <span>Account &nbsp; Orders &nbsp; Help</span></header>
 <main>
  <h1>Checkout</h1>
  <div class="alert"><b>{title}</b>
   <p>{detail} Try another card or Brightwave Pay.</p></div>
  <table>
   <tr><td>Aero 14 Laptop</td><td class="amount">$1,199.00</td></tr>
   <tr><td>Express shipping</td><td class="amount">$50.00</td></tr>
   <tr class="total"><td>Order total</td><td class="amount">{total}</td></tr>
  </table>
  <button>Try again</button>
 </main>
</body></html>
"""
LIGHT = dict(page_bg="#f4f6fa", text="#1d2433", alert_bg="#fdecea", alert_title="#b71c1c", rule="#cfd6e4")
DARK = dict(page_bg="#121417", text="#e8eaed", alert_bg="#3a1d1d", alert_title="#ff8a80", rule="#3c4043")

MOBILE_PAGE = """<!doctype html><html><body style="margin:0;font-family:'DejaVu Sans',sans-serif">
<div style="background:#0b3d91;color:#fff;padding:20px;font-size:20px">Brightwave</div>
<div style="padding:30px 20px;text-align:center"><div style="font-size:60px;color:#c62828">!</div>
<div style="font-size:21px;font-weight:bold">Session expired (BW-2001)</div>
<p style="color:#555;font-size:17px">Please sign in again.</p>
<button style="width:100%;padding:14px;background:#0b3d91;color:#fff;border:0;border-radius:8px;
 font-size:18px">Sign in</button></div></body></html>"""
CHAT = [("Hi, my order BW-274447 has not arrived", False),
        ("Sorry to hear that! Let me check the tracking for you.", True),
        ("It says delivered but I have nothing", False),
        ("I have opened claim CLM-204117 for the missing parcel.", True),
        ("Thanks, when will I hear back?", False), ("Within two business days by e-mail.", True)]

INVOICE_ORDER = "BW-723241"
INVOICE_NUMBER = "INV-2026-004417"
INVOICE_ITEMS = [("Nova Chromebook 13", "NV-LT-1305", 1, "$329.00"),
                 ("Sonora Boom Portable Speaker", "SN-SP-0101", 1, "$89.00")]
INVOICE_AMOUNTS = ["$329.00", "$89.00", "$418.00"]  # the order's total in packs/brightwave/orders.csv


def screen_text(code: str) -> str:
    """The error's screen text in the company pack, e.g. "Payment declined (BW-1001). Your ..." """
    with (PACK / "error_codes.csv").open(encoding="utf-8") as handle:
        return next(row["screen_text"] for row in csv.DictReader(handle) if row["code"] == code)


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)


def chromium_screenshot(html: str, out: Path, size=(1280, 800)) -> None:
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "page.html"
        page.write_text(html, encoding="utf-8")
        subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--hide-scrollbars", "--mute-audio",
             f"--user-data-dir={folder}/profile", f"--screenshot={out}",
             f"--window-size={size[0]},{size[1]}", page.as_uri()],
            check=True, capture_output=True, timeout=120)
    if not out.is_file():
        raise RuntimeError("chromium wrote no screenshot")


def photographed(image: Image.Image, angle: float = 4.0, scale: float = 0.6, blur: float = 0.8,
                 background=(92, 88, 80)) -> Image.Image:
    """A phone photo of a screen or sheet, roughly: tilted, soft, smaller, on a darker surround."""
    image = image.convert("RGB")
    image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=background)
    image = image.filter(ImageFilter.GaussianBlur(blur))
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)


def invoice() -> Image.Image:
    sheet = Image.new("RGB", (1000, 1300), "white")
    draw = ImageDraw.Draw(sheet)
    draw.rectangle((0, 0, 1000, 110), fill=(11, 61, 145))
    draw.text((60, 34), "Brightwave Electronics - Invoice", font=font(38, True), fill="white")
    y = 160
    for line in (f"Invoice {INVOICE_NUMBER}", f"Order {INVOICE_ORDER}", "Date: 28 Nov 2026",
                 "Bill to: Hiro Tanaka"):
        draw.text((60, y), line, font=font(26), fill=(20, 20, 20))
        y += 44
    y += 30
    columns = (60, 520, 720, 800)
    for x, title in zip(columns, ("Item", "SKU", "Qty", "Price")):
        draw.text((x, y), title, font=font(24, True), fill=(20, 20, 20))
    y += 44
    draw.line((60, y, 940, y), fill=(120, 120, 120), width=2)
    y += 16
    for name, sku, qty, price in INVOICE_ITEMS:
        for x, value in zip(columns, (name, sku, str(qty), price)):
            draw.text((x, y), value, font=font(24), fill=(20, 20, 20))
        y += 46
    draw.line((60, y, 940, y), fill=(120, 120, 120), width=2)
    y += 20
    for label, amount, bold in (("Shipping", "$0.00", False), ("Tax", "$0.00", False),
                                ("Total", "$418.00", True)):
        draw.text((520, y), label, font=font(26, bold), fill=(20, 20, 20))
        draw.text((800, y), amount, font=font(26, bold), fill=(20, 20, 20))
        y += 48
    y += 40
    draw.text((60, y), "Paid with Visa ending 4242", font=font(24), fill=(60, 60, 60))
    draw.text((60, 1220), "Brightwave Electronics - brightwave.example - Thank you for your order.",
              font=font(20), fill=(110, 110, 110))
    return sheet


def paper_photo(sheet: Image.Image) -> Image.Image:
    """The invoice printed and photographed: greyish paper, uneven light, a slight tilt."""
    pixels = np.asarray(sheet, dtype=np.float32)
    height, width = pixels.shape[:2]
    light = np.linspace(0.93, 0.78, width)[None, :, None] * np.linspace(1.0, 0.9, height)[:, None, None]
    paper = np.clip(pixels * light + np.random.default_rng(1).normal(0, 4, pixels.shape), 0, 255)
    return photographed(Image.fromarray(paper.astype(np.uint8)), angle=-3.0, scale=0.75, blur=0.6)


def with_label(photo: Image.Image) -> Image.Image:
    """A photo with a small printed label in one corner (a little text must not make it a document)."""
    photo = photo.copy()
    draw = ImageDraw.Draw(photo)
    draw.rectangle((18, 18, 210, 58), fill=(250, 250, 245))
    draw.text((28, 26), "Nova Espresso", font=font(20, True), fill=(30, 30, 30))
    return photo


def chat_page() -> str:
    """A dark-mode support chat (light text on dark bubbles)."""
    bubbles = "".join(
        f"<div style='margin:12px;padding:10px 14px;border-radius:12px;max-width:60%;"
        f"background:{'#2b5aa8;margin-left:auto' if agent else '#3a3b3f'}'>{text}</div>"
        for text, agent in CHAT)
    return ("<!doctype html><html><body style=\"margin:0;background:#1e1f22;color:#ddd;"
            f"font-family:'DejaVu Sans',sans-serif;font-size:17px;padding:20px\">{bubbles}</body></html>")


def sheet_on_table(sheet: Image.Image, table: Image.Image) -> Image.Image:
    """The invoice lying on a (colourful) table, a third of the picture."""
    photo = table.convert("RGB").resize((1200, 800), Image.Resampling.BICUBIC)
    small = sheet.resize((500, 650), Image.Resampling.LANCZOS)
    mask = Image.new("L", small.size, 255).rotate(7, expand=True)
    photo.paste(small.rotate(7, resample=Image.Resampling.BICUBIC, expand=True), (350, 60), mask)
    return photo


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    title, detail = screen_text(ERROR_CODE).split(". ", 1)
    values = dict(title=title, detail=detail, total=ORDER_TOTAL)
    chromium_screenshot(ERROR_PAGE.format(**values, **LIGHT), out / "error_page.png")
    chromium_screenshot(ERROR_PAGE.format(**values, **DARK), out / "error_page_dark.png")
    screenshot = Image.open(out / "error_page.png").convert("RGB")
    photographed(screenshot).save(out / "error_photo.jpg", quality=40)
    screenshot.save(out / "error_page.jpg", quality=85)
    screenshot.save(out / "error_page.webp", quality=90)
    Image.new("RGB", (800, 600), (250, 250, 250)).save(out / "blank.png")
    Image.new("RGB", (4, 4), (30, 30, 30)).save(out / "tiny.png")

    chromium_screenshot(MOBILE_PAGE, out / "mobile_error.png", size=(390, 844))
    chromium_screenshot(chat_page(), out / "chat_dark.png", size=(900, 700))

    sheet = invoice()
    sheet.save(out / "invoice.png")
    paper_photo(sheet).save(out / "invoice_photo.jpg", quality=70)
    sheet_on_table(sheet, Image.fromarray(data.coffee())).save(out / "invoice_on_table.jpg", quality=80)

    photos = {"coffee": data.coffee(), "chelsea": data.chelsea(), "astronaut": data.astronaut(),
              "rocket": data.rocket(), "motorcycle": data.stereo_motorcycle()[0]}
    for name, pixels in photos.items():
        Image.fromarray(pixels).convert("RGB").save(out / f"{name}.png")
    coffee = Image.fromarray(photos["coffee"]).convert("RGB")
    coffee.save(out / "coffee.webp", quality=85)
    coffee.save(out / "coffee.jpg", quality=85)
    coffee.crop((0, 0, 520, 400)).save(out / "coffee_crop_a.png")
    coffee.crop((80, 0, 600, 400)).save(out / "coffee_crop_b.png")
    with_label(coffee).save(out / "coffee_label.png")

    expected = {"error_code": ERROR_CODE, "error_title": title, "order_total": ORDER_TOTAL,
                "error_amounts": ["$1,199.00", "$50.00", ORDER_TOTAL],
                "invoice_order": INVOICE_ORDER, "invoice_number": INVOICE_NUMBER,
                "invoice_amounts": INVOICE_AMOUNTS, "mobile_code": "BW-2001",
                "chat_codes": ["BW-274447", "CLM-204117"]}
    (out / "expected.json").write_text(json.dumps(expected, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
