"""Pictures for the end-to-end multimodal conversations: `python multimodal_material.py OUT_DIR`.

Runs with the perception venv (Pillow, scikit-image, headless Chromium). Writes OUT_DIR/<name>
and OUT_DIR/expected.json. Every error text, product, order and amount comes from the reference
pack (packs/brightwave), so the conversations can check the answers against it:

- screenshots rendered by headless Chromium from HTML, in several layouts, sizes and colours: a
  sign-in page with BW-2002 (desktop, light), the same error on a phone in dark mode, a tablet
  app's battery alert with BW-B99 (orange), a checkout page with BW-1001 (violet), a router app
  that shows the symptom of BW-R01 but no code;
- a Brightwave Pay statement drawn with Pillow for a customer of the pack, as a clean screenshot
  and "photographed" (tilted, blurred, uneven light, JPEG), plus one with a line nobody can
  explain; an order invoice;
- product photographs drawn with Pillow (a computer keyboard on a desk, a flat TV on a stand) and a
  damaged one (the TV with a cracked screen), with scikit-image pictures as screen content.
"""
import csv
import json
import sys
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from skimage import data

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.perception.make_images import chromium_screenshot, font, paper_photo, photographed  # noqa: E402

PACK = ROOT / "packs" / "brightwave"

# ---------------------------------------------------------------- the pack's facts


def error_row(code: str) -> Dict[str, str]:
    with (PACK / "error_codes.csv").open(encoding="utf-8") as handle:
        return next(row for row in csv.DictReader(handle) if row["code"] == code)


def order_row(order_id: str) -> Dict[str, str]:
    with (PACK / "orders.csv").open(encoding="utf-8") as handle:
        return next(row for row in csv.DictReader(handle) if row["order_id"] == order_id)


def customer_row(email: str) -> Dict[str, str]:
    with (PACK / "customers.csv").open(encoding="utf-8") as handle:
        return next(row for row in csv.DictReader(handle) if row["email"] == email)


# ---------------------------------------------------------------- screenshots (Chromium)

WEB_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
 body {{ margin: 0; font-family: 'DejaVu Sans', sans-serif; background: {bg}; color: {fg}; }}
 header {{ background: {accent}; color: #fff; padding: 16px 36px; font-size: 24px; font-weight: bold; }}
 main {{ max-width: 760px; margin: 40px auto; }}
 h1 {{ font-size: 30px; margin: 0 0 22px; }}
 .box {{ border: 2px solid {alert}; background: {box}; padding: 20px 24px; border-radius: 8px; }}
 .box b {{ color: {alert}; font-size: 24px; }}
 .box p {{ font-size: 19px; margin: 10px 0 0; }}
 label {{ display: block; margin-top: 22px; font-size: 18px; }}
 .field {{ border: 1px solid {rule}; height: 40px; border-radius: 6px; margin-top: 6px; }}
 table {{ width: 100%; margin-top: 26px; font-size: 20px; border-collapse: collapse; }}
 td {{ padding: 9px 4px; border-bottom: 1px solid {rule}; }} td.r {{ text-align: right; }}
 button {{ margin-top: 26px; font-size: 19px; padding: 12px 26px; background: {accent}; color: #fff;
          border: 0; border-radius: 6px; }}
</style></head><body>
 <header>Brightwave Electronics</header>
 <main><h1>{section}</h1>
  <div class="box"><b>{title}</b><p>{detail}</p></div>
  {body}
  <button>{button}</button></main></body></html>"""

PHONE_PAGE = """<!doctype html><html><body style="margin:0;font-family:'DejaVu Sans',sans-serif;
 background:{bg};color:{fg}">
<div style="background:{accent};color:#fff;padding:20px;font-size:21px">{app}</div>
<div style="padding:16px 20px;font-size:17px;color:{muted}">{crumb}</div>
<div style="margin:12px 20px;padding:26px 18px;border-radius:14px;background:{box};text-align:center">
 <div style="font-size:56px;color:{alert}">!</div>
 <div style="font-size:22px;font-weight:bold;margin-top:8px">{title}</div>
 <p style="font-size:18px;color:{muted}">{detail}</p></div>
<div style="margin:22px;padding:15px;border-radius:10px;background:{accent};color:#fff;text-align:center;
 font-size:19px">{button}</div></body></html>"""

LIGHT = dict(bg="#f4f6fa", fg="#1d2433", accent="#0b3d91", alert="#c62828", box="#fdecea",
             rule="#cfd6e4", muted="#555b66")
DARK = dict(bg="#121417", fg="#e8eaed", accent="#1f4fa8", alert="#ff8a80", box="#2a1c1c",
            rule="#3c4043", muted="#aab0b8")
ORANGE = dict(bg="#fff8f0", fg="#2b1d0e", accent="#d35400", alert="#b03a00", box="#fde3cf",
              rule="#e8c9a8", muted="#6b5440")
VIOLET = dict(bg="#f6f3fb", fg="#22183a", accent="#5b2a86", alert="#8e24aa", box="#efe3f7",
              rule="#d6c7e6", muted="#5e5470")


def split_screen_text(code: str) -> Tuple[str, str]:
    """The pack's screen text as a title and a detail line."""
    text = error_row(code)["screen_text"]
    title, _, detail = text.partition(". ")
    return (title + ("." if detail else "")).strip(), detail.strip()


def sign_in_page(theme) -> str:
    title, detail = split_screen_text("BW-2002")
    body = ('<label>E-mail</label><div class="field"></div>'
            '<label>Password</label><div class="field"></div>')
    return WEB_PAGE.format(section="Sign in", title=title, detail=detail, body=body,
                           button="Forgot password?", **theme)


def checkout_page(theme) -> str:
    title, detail = split_screen_text("BW-1001")
    rows = "".join(f"<tr><td>{a}</td><td class='r'>{b}</td></tr>" for a, b in
                   (("Brightwave Hush Pro Headphones", "$249.00"), ("Standard shipping", "$0.00"),
                    ("Order total", "$249.00")))
    return WEB_PAGE.format(section="Checkout", title=title, detail=detail,
                           body=f"<table>{rows}</table>", button="Try again", **theme)


def phone_page(code: str, theme, app: str, crumb: str, button: str) -> str:
    title, detail = split_screen_text(code)
    return PHONE_PAGE.format(title=title, detail=detail or "&nbsp;", app=app, crumb=crumb,
                             button=button, **theme)


def router_page(theme) -> str:
    """The symptom of BW-R01 as the app shows it, without the code."""
    return PHONE_PAGE.format(app="Brightwave Home", crumb="Devices &gt; Mesh Router",
                             title="Solid red light", detail="No internet connection from your provider.",
                             button="Restart router", **theme)


# ---------------------------------------------------------------- statements and invoices (Pillow)

STATEMENT_EMAIL = "ben.okafor@example.com"
STATEMENT_ROWS = [("5 Nov 2026", "Installment 2 of 6 - Order BW-167413", "-$119.00"),
                  ("5 Nov 2026", "Installment 1 of 12 - Order BW-433998", "-$74.92"),
                  ("9 Nov 2026", "Late fee", "-$10.00"),
                  ("12 Nov 2026", "Top-up by card", "+$200.00")]
UNKNOWN_ROW = ("17 Nov 2026", "Gold club membership", "-$9.99")


def statement(rows: Sequence[Tuple[str, str, str]], email: str = STATEMENT_EMAIL,
              size=(1000, 1200)) -> Image.Image:
    customer = customer_row(email)
    digits = customer["phone"][-4:]
    sheet = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(sheet)
    draw.rectangle((0, 0, size[0], 110), fill=(11, 61, 145))
    draw.text((50, 34), "Brightwave Pay - Monthly statement", font=font(36, True), fill="white")
    y = 150
    for line in ("1 Nov 2026 - 30 Nov 2026", f"{customer['name']}", f"Account •••• {digits}"):
        draw.text((50, y), line, font=font(26), fill=(25, 25, 25))
        y += 44
    y += 26
    for x, title in ((50, "Date"), (250, "Description"), (800, "Amount")):
        draw.text((x, y), title, font=font(24, True), fill=(25, 25, 25))
    y += 42
    draw.line((50, y, 950, y), fill=(120, 120, 120), width=2)
    y += 16
    for when, what, amount in rows:
        draw.text((50, y), when, font=font(24), fill=(25, 25, 25))
        draw.text((250, y), what, font=font(24), fill=(25, 25, 25))
        draw.text((800, y), amount, font=font(24), fill=(25, 25, 25))
        y += 46
    draw.line((50, y, 950, y), fill=(120, 120, 120), width=2)
    y += 24
    charges = sum(float(a.replace("$", "")) for _, _, a in rows if a.startswith("-"))
    payments = sum(float(a.replace("$", "").replace("+", "")) for _, _, a in rows if a.startswith("+"))
    closing = float(customer["pay_wallet_balance_usd"])
    opening = closing - payments - charges
    for label, value in (("Opening balance", f"${opening:,.2f}"), ("Payments", f"${payments:,.2f}"),
                         ("Charges", f"${-charges:,.2f}"), ("Closing balance", f"${closing:,.2f}")):
        draw.text((500, y), label, font=font(24), fill=(25, 25, 25))
        draw.text((800, y), value, font=font(24), fill=(25, 25, 25))
        y += 42
    y += 20
    draw.text((50, y), "Next installment due: 5 Dec 2026", font=font(24, True), fill=(25, 25, 25))
    return sheet


def invoice_page(order_id: str, number: str) -> str:
    """An order invoice as the website shows it (a screenshot)."""
    order = order_row(order_id)
    with (PACK / "products.csv").open(encoding="utf-8") as handle:
        products = {row["sku"]: row for row in csv.DictReader(handle)}
    rows = "".join(
        f"<tr><td>{products[sku]['name']}</td><td>{sku}</td><td>1</td>"
        f"<td class='r'>${float(products[sku]['price_usd']):,.2f}</td></tr>"
        for sku in order["items"].split(";"))
    rows += ("<tr><td colspan=3>Shipping</td><td class='r'>$0.00</td></tr>"
             "<tr><td colspan=3>Tax</td><td class='r'>$0.00</td></tr>"
             f"<tr><td colspan=3><b>Total</b></td><td class='r'><b>${float(order['total_usd']):,.2f}</b></td></tr>")
    return f"""<!doctype html><html><body style="margin:0;font-family:'DejaVu Sans',sans-serif;background:#fff">
<div style="background:#0b3d91;color:#fff;padding:22px 40px;font-size:30px;font-weight:bold">
Brightwave Electronics - Invoice</div><div style="padding:26px 40px;font-size:21px;line-height:1.7">
Invoice {number}<br>Order {order_id}<br>Date: {order['placed_on']}</div>
<table style="margin:0 40px;width:880px;font-size:20px;border-collapse:collapse">
<tr style="font-weight:bold"><td>Item</td><td>SKU</td><td>Qty</td><td style="text-align:right">Price</td></tr>
{rows}</table><div style="padding:26px 40px;font-size:19px;color:#444">Paid with Visa ending 4242</div>
</body></html>"""


# ---------------------------------------------------------------- product photos (Pillow)


def backdrop(top, bottom, seed: int, size=(900, 680)) -> Image.Image:
    """A wall fading into a table top, with a little sensor noise."""
    height = size[1]
    ramp = np.linspace(0, 1, height)[:, None, None]
    pixels = np.array(top, np.float32) * (1 - ramp) + np.array(bottom, np.float32) * ramp
    pixels = np.repeat(pixels, size[0], axis=1)
    pixels += np.random.default_rng(seed).normal(0, 3, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def keyboard(seed: int = 11) -> Image.Image:
    """A computer keyboard seen from above at a slight angle, on a wooden desk."""
    desk = backdrop((150, 110, 75), (120, 85, 55), seed)
    board = Image.new("RGB", (780, 290), (40, 40, 44))
    draw = ImageDraw.Draw(board)
    rows = ["1234567890-=", "QWERTYUIOP[]", "ASDFGHJKL;'", "ZXCVBNM,./"]
    key, gap = 50, 8
    for r, keys in enumerate(rows):
        x = 22 + r * 18
        y = 18 + r * (key + gap)
        for letter in keys:
            draw.rounded_rectangle((x, y, x + key, y + key), radius=7, fill=(232, 232, 235),
                                   outline=(150, 150, 155))
            draw.text((x + 16, y + 12), letter, font=font(20, True), fill=(40, 40, 40))
            x += key + gap
    y = 18 + 4 * (key + gap)
    draw.rounded_rectangle((200, y, 560, y + key), radius=7, fill=(232, 232, 235), outline=(150, 150, 155))
    board = board.rotate(6, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(0, 0, 0))
    mask = Image.new("L", (780, 290), 255).rotate(6, expand=True)
    desk.paste(board, (50, 190), mask)
    return desk.filter(ImageFilter.GaussianBlur(0.6))


def television(seed: int = 12, cracked: bool = False) -> Image.Image:
    """A flat TV on a stand in a living room, a photograph on the screen."""
    room = backdrop((214, 204, 190), (140, 120, 100), seed)
    draw = ImageDraw.Draw(room)
    draw.rectangle((120, 560, 780, 600), fill=(90, 62, 40))  # sideboard
    draw.rectangle((110, 95, 790, 495), fill=(18, 18, 20))   # bezel
    picture = Image.fromarray(data.astronaut()).convert("RGB").resize((640, 360))
    room.paste(picture, (130, 115))
    draw.polygon([(400, 495), (500, 495), (530, 560), (370, 560)], fill=(30, 30, 32))  # stand
    if cracked:
        rng = np.random.default_rng(seed)
        centre = (330, 260)
        for _ in range(14):
            angle = rng.uniform(0, 2 * np.pi)
            length = rng.uniform(80, 260)
            points = [centre]
            for step in range(1, 5):
                wobble = rng.normal(0, 0.12)
                points.append((centre[0] + np.cos(angle + wobble) * length * step / 4,
                               centre[1] + np.sin(angle + wobble) * length * step / 4))
            draw.line(points, fill=(235, 235, 240), width=2)
        draw.ellipse((centre[0] - 12, centre[1] - 12, centre[0] + 12, centre[1] + 12), outline=(240, 240, 240), width=3)
    return room.filter(ImageFilter.GaussianBlur(0.7))


def jpeg(image: Image.Image, out: Path, quality: int = 82) -> None:
    image.convert("RGB").save(out, quality=quality)


# ---------------------------------------------------------------- main


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    chromium_screenshot(sign_in_page(LIGHT), out / "signin_locked.png", size=(1280, 800))
    chromium_screenshot(phone_page("BW-2002", DARK, "Brightwave", "Account &gt; Sign in", "Forgot password?"),
                        out / "signin_locked_phone_dark.png", size=(390, 844))
    chromium_screenshot(phone_page("BW-B99", ORANGE, "Brightwave Home", "Devices &gt; Slate 11 Tablet",
                                   "Contact support"), out / "battery_alert.png", size=(600, 900))
    chromium_screenshot(checkout_page(VIOLET), out / "checkout_declined.png", size=(1100, 760))
    chromium_screenshot(router_page(LIGHT), out / "router_red.png", size=(420, 860))
    chromium_screenshot(invoice_page("BW-723241", "INV-2026-004417"), out / "invoice.png", size=(980, 760))

    sheet = statement(STATEMENT_ROWS)
    sheet.save(out / "statement.png")
    paper_photo(sheet).save(out / "statement_photo.jpg", quality=70)
    photographed(statement(STATEMENT_ROWS + [UNKNOWN_ROW]), angle=2.5, scale=0.8, blur=0.5).save(
        out / "statement_unknown.jpg", quality=75)

    jpeg(keyboard(), out / "keyboard.jpg")
    jpeg(television(), out / "tv.jpg")
    jpeg(television(cracked=True), out / "tv_cracked.jpg")

    expected = {
        "signin_code": "BW-2002", "signin_fix": error_row("BW-2002")["fix"],
        "safety_code": "BW-B99", "checkout_code": "BW-1001", "router_code": "BW-R01",
        "statement_email": STATEMENT_EMAIL, "statement_orders": ["BW-167413", "BW-433998"],
        "statement_unknown": UNKNOWN_ROW[1], "invoice_order": "BW-723241",
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=1))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
