"""Pictures for the multimodal ablation: `python bench/multimodal_material.py OUT_DIR`.

Runs with the perception venv (Pillow, scikit-image, headless Chromium), from the repository
root. Every picture is made here, none is a training example:
- screenshots rendered by headless Chromium from HTML: checkout, sign-in and cart error pages
  (light, dark, other colours, desktop and phone sizes), the Brightwave Home app's device screens,
  a TV's "No signal" screen, product pages, order tracking pages;
- statements and invoices drawn with Pillow, also "photographed" (tilted, blurred, JPEG);
- product photographs drawn with Pillow (a laptop, a monitor and keyboard, a smart speaker, a
  router, a phone, a TV on a stand), damaged ones (cracked screens, a crushed carton), with
  scikit-image pictures as screen content.

Writes OUT_DIR/<name>.png|jpg and OUT_DIR/manifest.json ({name: file}). Which picture goes with
which words and intent is bench/data/multimodal_eval.yml.
"""
import json
import sys
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from skimage import data

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.perception.make_images import chromium_screenshot, font, paper_photo, photographed, screen_text  # noqa: E402

# ---------------------------------------------------------------- HTML screens

WEB_PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>
 body {{ margin: 0; font-family: 'DejaVu Sans', sans-serif; background: {bg}; color: {fg}; }}
 header {{ background: {accent}; color: #fff; padding: 16px 36px; font-size: 24px; font-weight: bold; }}
 header span {{ float: right; font-size: 15px; font-weight: normal; margin-top: 6px; }}
 main {{ max-width: 860px; margin: 36px auto; }}
 h1 {{ font-size: 28px; margin: 0 0 22px; }}
 .box {{ border: 2px solid {alert}; background: {box}; padding: 20px 24px; border-radius: 8px; }}
 .box b {{ color: {alert}; font-size: 23px; }}
 .box p {{ font-size: 18px; margin: 10px 0 0; }}
 table {{ width: 100%; margin-top: 26px; font-size: 19px; border-collapse: collapse; }}
 td {{ padding: 9px 4px; border-bottom: 1px solid {rule}; }} td.r {{ text-align: right; }}
 button {{ margin-top: 24px; font-size: 18px; padding: 11px 24px; background: {accent}; color: #fff;
          border: 0; border-radius: 6px; }}
</style></head><body>
 <header>Brightwave Electronics <span>Account &nbsp; Orders &nbsp; Help</span></header>
 <main><h1>{section}</h1>
  <div class="box"><b>{title}</b><p>{detail}</p></div>
  <table>{rows}</table>
  <button>{button}</button></main></body></html>"""

PHONE_PAGE = """<!doctype html><html><body style="margin:0;font-family:'DejaVu Sans',sans-serif;
 background:{bg};color:{fg}">
<div style="background:{accent};color:#fff;padding:18px 20px;font-size:20px">{app}</div>
<div style="padding:18px 20px;font-size:16px;color:{muted}">{crumb}</div>
<div style="margin:10px 20px;padding:24px 18px;border-radius:14px;background:{box};text-align:center">
 <div style="font-size:54px;color:{alert}">{icon}</div>
 <div style="font-size:21px;font-weight:bold;margin-top:8px">{title}</div>
 <p style="font-size:17px;color:{muted}">{detail}</p></div>
<div style="padding:8px 20px;font-size:16px">{extra}</div>
<div style="margin:20px;padding:14px;border-radius:10px;background:{accent};color:#fff;text-align:center;
 font-size:18px">{button}</div></body></html>"""

LIGHT = dict(bg="#f4f6fa", fg="#1d2433", box="#fdecea", alert="#b71c1c", rule="#cfd6e4", accent="#0b3d91",
             muted="#555")
DARK = dict(bg="#121417", fg="#e8eaed", box="#3a1d1d", alert="#ff8a80", rule="#3c4043", accent="#1a4fb5",
            muted="#aaa")
WARM = dict(bg="#fffaf2", fg="#2b2118", box="#fff1d6", alert="#a04800", rule="#e6d7bf", accent="#7a3e00",
            muted="#6b5a48")


def split(code: str) -> Tuple[str, str]:
    """(title, detail) of an error's screen text in the pack: "Payment declined (BW-1001)", "Your ..."."""
    text = screen_text(code)
    title, _, detail = text.partition(". ")
    return title.rstrip("."), detail


def web_error(code: str, section: str, rows: Sequence[Tuple[str, str]], theme: Dict[str, str],
              button: str = "Try again", size=(1280, 800)) -> Callable[[Path], None]:
    title, detail = split(code)
    cells = "".join(f"<tr><td>{a}</td><td class='r'>{b}</td></tr>" for a, b in rows)
    html = WEB_PAGE.format(section=section, title=title, detail=detail or "&nbsp;", rows=cells,
                           button=button, **theme)
    return lambda out: chromium_screenshot(html, out, size)


def phone_screen(title: str, detail: str, theme: Dict[str, str], app: str = "Brightwave",
                 crumb: str = "", extra: str = "", button: str = "OK", icon: str = "!") -> Callable[[Path], None]:
    html = PHONE_PAGE.format(title=title, detail=detail, app=app, crumb=crumb, extra=extra, button=button,
                             icon=icon, **theme)
    return lambda out: chromium_screenshot(html, out, (390, 844))


def phone_error(code: str, theme: Dict[str, str], **kwargs) -> Callable[[Path], None]:
    title, detail = split(code)
    return phone_screen(title, detail, theme, **kwargs)


def tv_screen(out: Path) -> None:
    html = ("<!doctype html><html><body style=\"margin:0;background:#000;color:#ddd;font-family:"
            "'DejaVu Sans',sans-serif\"><div style='position:absolute;top:300px;width:100%;text-align:center'>"
            "<div style='font-size:54px'>No signal</div><div style='font-size:26px;margin-top:18px'>"
            "HDMI 2 &middot; BW-T07</div><div style='font-size:20px;margin-top:26px;color:#999'>Press INPUT "
            "on the remote to choose a source</div></div></body></html>")
    chromium_screenshot(html, out, (1280, 720))


def product_page(name: str, price: str, description: str, theme: Dict[str, str]) -> Callable[[Path], None]:
    html = ("<!doctype html><html><body style=\"margin:0;font-family:'DejaVu Sans',sans-serif;"
            f"background:{theme['bg']};color:{theme['fg']}\"><div style='background:{theme['accent']};color:#fff;"
            "padding:16px 36px;font-size:24px;font-weight:bold'>Brightwave Electronics</div>"
            "<div style='display:flex;margin:40px'><div style='width:420px;height:320px;background:"
            "linear-gradient(135deg,#bbb,#444);border-radius:12px'></div><div style='margin-left:40px'>"
            f"<div style='font-size:32px;font-weight:bold'>{name}</div><div style='font-size:28px;margin:16px 0;"
            f"color:{theme['alert']}'>{price}</div><div style='font-size:19px;max-width:560px'>{description}</div>"
            "<div style='margin-top:18px;font-size:17px'>In stock &middot; Free shipping over $35</div>"
            f"<div style='margin-top:26px;display:inline-block;padding:12px 28px;background:{theme['accent']};"
            "color:#fff;border-radius:6px;font-size:19px'>Add to cart</div></div></div></body></html>")
    return lambda out: chromium_screenshot(html, out, (1280, 760))


def order_page(order: str, status: str, lines: Sequence[str], theme: Dict[str, str]) -> Callable[[Path], None]:
    body = "".join(f"<div style='font-size:17px;margin:8px 0'>{line}</div>" for line in lines)
    html = ("<!doctype html><html><body style=\"margin:0;font-family:'DejaVu Sans',sans-serif;"
            f"background:{theme['bg']};color:{theme['fg']}\"><div style='background:{theme['accent']};color:#fff;"
            "padding:18px 20px;font-size:20px'>Brightwave</div><div style='padding:20px'>"
            f"<div style='font-size:15px;color:{theme['muted']}'>Your orders</div>"
            f"<div style='font-size:24px;font-weight:bold;margin:8px 0'>Order {order}</div>"
            f"<div style='font-size:20px;color:#1b5e20;margin-bottom:12px'>{status}</div>{body}</div></body></html>")
    return lambda out: chromium_screenshot(html, out, (390, 844))


# ---------------------------------------------------------------- documents (Pillow)


def statement(period: str, digits: str, rows: Sequence[Tuple[str, str, str]],
              totals: Sequence[Tuple[str, str]], due: str) -> Image.Image:
    sheet = Image.new("RGB", (1000, 1250), "white")
    draw = ImageDraw.Draw(sheet)
    draw.rectangle((0, 0, 1000, 100), fill=(11, 61, 145))
    draw.text((50, 30), "Brightwave Pay - Monthly statement", font=font(36, True), fill="white")
    y = 140
    for line in (period, "Customer: account holder", f"Account \u2022\u2022\u2022\u2022 {digits}"):
        draw.text((50, y), line, font=font(25), fill=(25, 25, 25))
        y += 42
    y += 24
    for x, title in zip((50, 250, 800), ("Date", "Description", "Amount")):
        draw.text((x, y), title, font=font(24, True), fill=(25, 25, 25))
    y += 42
    draw.line((50, y, 950, y), fill=(120, 120, 120), width=2)
    y += 14
    for when, what, amount in rows:
        for x, value in zip((50, 250, 800), (when, what, amount)):
            draw.text((x, y), value, font=font(23), fill=(25, 25, 25))
        y += 44
    draw.line((50, y, 950, y), fill=(120, 120, 120), width=2)
    y += 22
    for label, amount in totals:
        draw.text((480, y), label, font=font(25), fill=(25, 25, 25))
        draw.text((800, y), amount, font=font(25), fill=(25, 25, 25))
        y += 44
    draw.text((50, y + 30), f"Next installment due: {due}", font=font(25, True), fill=(25, 25, 25))
    return sheet


def invoice(number: str, order: str, when: str, items: Sequence[Tuple[str, str, str]], shipping: str,
            total: str, paid: str) -> Image.Image:
    sheet = Image.new("RGB", (1000, 1250), "white")
    draw = ImageDraw.Draw(sheet)
    draw.rectangle((0, 0, 1000, 104), fill=(11, 61, 145))
    draw.text((56, 32), "Brightwave Electronics - Invoice", font=font(36, True), fill="white")
    y = 150
    for line in (f"Invoice {number}", f"Order {order}", f"Date: {when}"):
        draw.text((56, y), line, font=font(25), fill=(20, 20, 20))
        y += 42
    y += 28
    columns = (56, 540, 730, 800)
    for x, title in zip(columns, ("Item", "SKU", "Qty", "Price")):
        draw.text((x, y), title, font=font(23, True), fill=(20, 20, 20))
    y += 42
    draw.line((56, y, 944, y), fill=(120, 120, 120), width=2)
    y += 14
    for name, sku, price in items:
        for x, value in zip(columns, (name, sku, "1", price)):
            draw.text((x, y), value, font=font(22), fill=(20, 20, 20))
        y += 44
    draw.line((56, y, 944, y), fill=(120, 120, 120), width=2)
    y += 20
    for label, amount, bold in (("Shipping", shipping, False), ("Tax", "$0.00", False), ("Total", total, True)):
        draw.text((540, y), label, font=font(25, bold), fill=(20, 20, 20))
        draw.text((800, y), amount, font=font(25, bold), fill=(20, 20, 20))
        y += 46
    draw.text((56, y + 36), f"Paid with {paid}", font=font(23), fill=(60, 60, 60))
    return sheet


# ---------------------------------------------------------------- photographs (Pillow)


def backdrop(top, bottom, seed: int, size=(800, 600)) -> Image.Image:
    width, height = size
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, height)[:, None, None]
    pixels = (np.array(top)[None, None] * (1 - t) + np.array(bottom)[None, None] * t) * np.ones((height, width, 3))
    pixels += rng.normal(0, 3, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def desktop(size, colour=(30, 90, 170)) -> Image.Image:
    width, height = size
    t = np.linspace(0, 1, height)[:, None, None]
    pixels = np.array(colour)[None, None] * (1 - 0.5 * t) * np.ones((height, width, 3))
    screen = Image.fromarray(pixels.astype(np.uint8))
    draw = ImageDraw.Draw(screen)
    for i in range(5):
        draw.rounded_rectangle((10, 10 + i * 30, 32, 32 + i * 30), 4, fill=(230, 230, 230))
    draw.rectangle((0, height - 14, width, height), fill=(20, 20, 20))
    return screen


def crack(image: Image.Image, box, seed: int) -> Image.Image:
    """White splintered lines from one point: a cracked screen."""
    rng = np.random.default_rng(seed)
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = box
    cx, cy = rng.integers(x0 + 40, x1 - 40), rng.integers(y0 + 30, y1 - 30)
    for _ in range(10):
        x, y, angle = cx, cy, rng.uniform(0, 2 * np.pi)
        for _ in range(9):
            angle += rng.normal(0, 0.4)
            nx = min(max(x + 28 * np.cos(angle), x0), x1)
            ny = min(max(y + 28 * np.sin(angle), y0), y1)
            draw.line((x, y, nx, ny), fill=(235, 235, 235), width=2)
            x, y = nx, ny
    return image


def laptop(colour=(30, 90, 170), body=(190, 192, 198), seed=1, cracked=False) -> Image.Image:
    image = backdrop((225, 222, 215), (170, 160, 150), seed)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((220, 90, 580, 330), 10, fill=(30, 30, 33))
    image.paste(desktop((336, 214), colour), (232, 102))
    draw.polygon([(220, 330), (580, 330), (660, 430), (140, 430)], fill=body)
    for row in range(4):
        for col in range(13):
            x = 185 + row * 10 + col * 33
            draw.rectangle((x, 340 + row * 18, x + 26, 352 + row * 18), fill=(45, 45, 50))
    draw.rectangle((345, 412, 455, 426), fill=tuple(c - 25 for c in body))
    draw.polygon([(140, 430), (660, 430), (655, 442), (145, 442)], fill=tuple(c - 70 for c in body))
    if cracked:
        crack(image, (232, 102, 568, 316), seed)
    return image.filter(ImageFilter.GaussianBlur(0.7))


def monitor(seed=2, cracked=False, colour=(40, 90, 160)) -> Image.Image:
    image = backdrop((220, 225, 230), (160, 165, 170), seed)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 440, 800, 600), fill=(150, 120, 90))
    draw.rectangle((150, 60, 650, 360), fill=(25, 25, 28))
    draw.rectangle((160, 70, 640, 350), fill=colour)
    draw.rectangle((200, 100, 450, 260), fill=(240, 240, 240))
    draw.rectangle((200, 100, 450, 115), fill=(200, 200, 200))
    draw.rectangle((160, 335, 640, 350), fill=(30, 30, 30))
    draw.rectangle((380, 360, 420, 430), fill=(60, 60, 60))
    draw.rectangle((320, 425, 480, 440), fill=(60, 60, 60))
    draw.rectangle((230, 480, 570, 560), fill=(40, 40, 40))
    for row in range(4):
        for col in range(16):
            draw.rectangle((240 + col * 20, 488 + row * 17, 255 + col * 20, 500 + row * 17), fill=(200, 200, 200))
    if cracked:
        crack(image, (160, 70, 640, 350), seed)
    return image.filter(ImageFilter.GaussianBlur(0.8))


def speaker(seed=3, body=(35, 35, 38), wall=((235, 235, 235), (190, 190, 195))) -> Image.Image:
    image = backdrop(*wall, seed)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((280, 100, 520, 500), 40, fill=body)
    dots = tuple(min(255, c + 35) for c in body)
    for y in range(120, 480, 8):
        for x in range(300, 500, 8):
            draw.ellipse((x, y, x + 3, y + 3), fill=dots)
    for box in ((340, 160, 460, 280), (320, 310, 480, 470)):
        draw.ellipse(box, fill=(25, 25, 25), outline=(90, 90, 90), width=6)
    return image.filter(ImageFilter.GaussianBlur(0.8))


def router(seed=4, red=True) -> Image.Image:
    image = backdrop((230, 228, 220), (200, 195, 185), seed)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((180, 300, 620, 420), 16, fill=(245, 245, 245), outline=(180, 180, 180), width=3)
    for x in (230, 330, 470, 570):
        draw.rectangle((x, 120, x + 14, 305), fill=(30, 30, 30))
    for i, x in enumerate(range(240, 560, 40)):
        lit = (200, 20, 20) if red and i < 2 else (40, 200, 60)
        draw.ellipse((x, 350, x + 12, 362), fill=lit)
    return image.filter(ImageFilter.GaussianBlur(0.8))


def phone(seed=5) -> Image.Image:
    image = backdrop((240, 240, 240), (215, 215, 215), seed)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((310, 50, 490, 540), 28, fill=(15, 15, 17))
    image.paste(Image.fromarray(data.chelsea()).resize((160, 440)), (320, 80))
    draw.rounded_rectangle((370, 58, 430, 70), 6, fill=(0, 0, 0))
    return image.filter(ImageFilter.GaussianBlur(0.7))


def television(seed=6) -> Image.Image:
    image = backdrop((200, 190, 175), (120, 100, 80), seed)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 470, 800, 600), fill=(90, 65, 45))
    draw.rectangle((100, 70, 700, 420), fill=(15, 15, 18))
    image.paste(Image.fromarray(data.astronaut()).resize((580, 330)), (110, 80))
    draw.rectangle((370, 420, 430, 470), fill=(30, 30, 30))
    draw.rectangle((300, 462, 500, 474), fill=(30, 30, 30))
    return image.filter(ImageFilter.GaussianBlur(0.8))


def carton(seed=7, dent=True) -> Image.Image:
    image = backdrop((180, 175, 170), (130, 125, 120), seed)
    draw = ImageDraw.Draw(image)
    draw.polygon([(200, 200), (560, 180), (640, 260), (640, 520), (260, 540), (200, 440)], fill=(176, 132, 80))
    draw.polygon([(200, 200), (560, 180), (640, 260), (280, 280)], fill=(196, 152, 98))
    draw.polygon([(200, 200), (280, 280), (260, 540), (200, 440)], fill=(150, 110, 62))
    draw.line((240, 190, 600, 220), fill=(200, 190, 160), width=18)
    if dent:
        draw.polygon([(420, 300), (470, 330), (440, 380), (400, 350)], fill=(110, 80, 40))
        draw.line((300, 420, 520, 470), fill=(120, 85, 45), width=5)
    return image.filter(ImageFilter.GaussianBlur(0.8))


def save_photo(image: Image.Image, out: Path) -> None:
    image.convert("RGB").save(out, quality=85)


# ---------------------------------------------------------------- the set


def material() -> Dict[str, Tuple[str, Callable[[Path], None]]]:
    """name -> (file suffix, maker(path))."""
    checkout = [("Aero 14 Laptop", "$899.00"), ("Express shipping", "$14.99"), ("Order total", "$913.99")]
    cart = [("Sonora Boom Portable Speaker", "$89.00"), ("Subtotal", "$89.00")]
    made: Dict[str, Tuple[str, Callable[[Path], None]]] = {
        # checkout, sign-in, cart and site errors
        "web_1002_light": ("png", web_error("BW-1002", "Checkout", checkout, LIGHT, "Update card")),
        "web_1003_warm": ("png", web_error("BW-1003", "Secure checkout", checkout, WARM)),
        "web_1001_dark": ("png", web_error("BW-1001", "Checkout", [("Pulse 6 Phone", "$699.00")], DARK)),
        "web_1003_light": ("png", web_error("BW-1003", "Checkout", [("Order total", "$329.00")], LIGHT)),
        "web_2002_light": ("png", web_error("BW-2002", "Sign in", [("E-mail", "m***@example.com")], LIGHT,
                                            "Forgot password?")),
        "web_2003_dark": ("png", web_error("BW-2003", "Two-step verification", [], DARK, "Resend code")),
        "web_2001_warm": ("png", web_error("BW-2001", "Your account", [], WARM, "Sign in")),
        "web_5004_light": ("png", web_error("BW-5004", "Something went wrong", [], LIGHT, "Reload")),
        "web_5003_dark": ("png", web_error("BW-5003", "Maintenance", [], DARK, "Back to home")),
        "web_3002_warm": ("png", web_error("BW-3002", "Cart", cart, WARM, "Apply")),
        "web_4001_light": ("png", web_error("BW-4001", "Shipping address", [("Street", "12 Elm Stret")], LIGHT,
                                            "Edit address")),
        "phone_1003_light": ("png", phone_error("BW-1003", LIGHT, crumb="Checkout", button="Retry payment")),
        "phone_1001_dark": ("png", phone_error("BW-1001", DARK, crumb="Checkout", button="Use another card")),
        "phone_1002_warm": ("png", phone_error("BW-1002", WARM, crumb="Payment methods", button="Update card")),
        "phone_2003_light": ("png", phone_error("BW-2003", LIGHT, crumb="Verify it's you", button="Resend code")),
        "phone_2001_dark": ("png", phone_error("BW-2001", DARK, button="Sign in")),
        "phone_2002_warm": ("png", phone_error("BW-2002", WARM, crumb="Sign in", button="Forgot password?")),
        # Brightwave Home app: devices
        "app_router_r01": ("png", phone_screen("No internet connection", "Solid red light (BW-R01)", LIGHT,
                                               app="Brightwave Home", crumb="Mesh Router - Living room",
                                               button="Restart router")),
        "app_router_r02": ("png", phone_screen("Firmware update failed", "Blinking red light (BW-R02)", DARK,
                                               app="Brightwave Home", crumb="Mesh Router - Office",
                                               button="Retry update")),
        "app_router_r01_dark": ("png", phone_screen("Offline", "No internet connection - BW-R01", DARK,
                                                    app="Brightwave Home", crumb="Mesh Router",
                                                    button="Troubleshoot")),
        "app_speaker_e12": ("png", phone_screen("Error E12", "Echoes can't reach your Wi-Fi network", WARM,
                                                app="Brightwave Home", crumb="Echoes Smart Speaker - Kitchen",
                                                button="Check Wi-Fi")),
        "app_watch_w05": ("png", phone_screen("Sync failed (BW-W05)", "Keep your watch near your phone", LIGHT,
                                              app="Brightwave Home", crumb="Stride Smartwatch",
                                              button="Re-pair")),
        "app_battery_b99": ("png", phone_screen("Battery temperature too high (BW-B99)",
                                                "Unplug the device and let it cool down", DARK,
                                                app="Brightwave", button="OK")),
        "tv_no_signal": ("png", tv_screen),
        # shop pages and orders
        "product_slate": ("png", product_page("Brightwave Slate 11 Tablet", "$449.00",
                                              "11-inch 120 Hz display, 128 GB, stylus support", LIGHT)),
        "product_hush": ("png", product_page("Brightwave Hush Pro Headphones", "$249.00",
                                             "Over-ear, active noise cancelling, 40-hour battery, USB-C", WARM)),
        "order_shipped": ("png", order_page("BW-318904", "Shipped", ["UPS UP7003924816",
                                                                    "Estimated delivery 2 Dec 2026",
                                                                    "Brightwave Pulse 6 Phone"], LIGHT)),
        "order_shipped_dark": ("png", order_page("BW-184450", "On its way", ["Shipped 27 Nov 2026",
                                                                            "Estimated delivery 1 Dec 2026"], DARK)),
        "order_delivered": ("png", order_page("BW-233209", "Delivered", ["Delivered 14 Oct 2026",
                                                                        "Left at front door",
                                                                        "Keytone Ergo Mouse"], LIGHT)),
        "order_delivered_watch": ("png", order_page("BW-648936", "Delivered", ["Delivered 14 Nov 2026",
                                                                              "Brightwave Stride Smartwatch",
                                                                              "$199.00"], WARM)),
    }

    def sheet(name: str, image: Image.Image, kind: str) -> None:
        def make(out: Path) -> None:
            if kind == "photo":
                paper_photo(image).save(out, quality=70)
            elif kind == "phone":
                photographed(image, angle=-5, scale=0.5, blur=1.0).save(out, quality=45)
            else:
                image.save(out)
        made[name] = ("jpg" if kind != "scan" else "png", make)

    late_fee = statement("1 Nov 2026 - 30 Nov 2026", "0113",
                         [("5 Nov 2026", "Installment 2 of 6 - Order BW-276211", "$116.50"),
                          ("7 Nov 2026", "Late fee", "$10.00")],
                         [("Opening balance", "$699.00"), ("Payments", "-$116.50"), ("Charges", "$10.00"),
                          ("Closing balance", "$592.50")], "5 Dec 2026")
    refund = statement("1 Oct 2026 - 31 Oct 2026", "4471",
                       [("3 Oct 2026", "Top-up by card", "$50.00"),
                        ("9 Oct 2026", "Order BW-658463", "$53.99"),
                        ("20 Oct 2026", "Refund - Order BW-517602", "-$49.00")],
                       [("Opening balance", "$0.00"), ("Payments", "$50.00"), ("Charges", "$53.99"),
                        ("Closing balance", "$4.99")], "5 Nov 2026")
    installments = statement("1 Nov 2026 - 30 Nov 2026", "2290",
                             [("5 Nov 2026", "Installment 3 of 6 - Order BW-433998", "$149.83"),
                              ("5 Nov 2026", "Installment 2 of 6 - Order BW-167413", "$118.99")],
                             [("Opening balance", "$1,218.10"), ("Payments", "-$268.82"),
                              ("Charges", "$0.00"), ("Closing balance", "$949.28")], "5 Dec 2026")
    unknown = statement("1 Nov 2026 - 30 Nov 2026", "0113",
                        [("5 Nov 2026", "Installment 2 of 6 - Order BW-276211", "$116.50"),
                         ("18 Nov 2026", "Order BW-702388", "$449.00")],
                        [("Opening balance", "$699.00"), ("Payments", "-$116.50"), ("Charges", "$449.00"),
                         ("Closing balance", "$1,031.50")], "5 Dec 2026")
    chromebook = invoice("INV-2026-004417", "BW-723241", "28 Nov 2026",
                         [("Nova Chromebook 13", "NV-LT-1305", "$329.00"),
                          ("Sonora Boom Portable Speaker", "SN-SP-0101", "$89.00")], "$0.00", "$418.00",
                         "Visa \u2022\u2022\u2022\u2022 4242")
    charger = invoice("INV-2026-002210", "BW-658463", "2 Oct 2026",
                      [("Brightwave 65W USB-C Charger", "BW-CH-0065", "$39.00")], "$14.99", "$53.99",
                      "Brightwave Pay")
    aero = invoice("INV-2026-003381", "BW-433998", "9 Oct 2026",
                   [("Brightwave Aero 14 Laptop", "BW-LT-1401", "$899.00")], "$0.00", "$899.00",
                   "Brightwave Pay - 6 installments")
    pulse = invoice("INV-2025-001207", "BW-102938", "14 Mar 2025",
                    [("Brightwave Pulse 6 Phone", "BW-PH-0612", "$699.00")], "$0.00", "$699.00",
                    "Visa \u2022\u2022\u2022\u2022 1881")
    for name, image, kind in (
            ("statement_late_fee", late_fee, "scan"), ("statement_late_fee_photo", late_fee, "photo"),
            ("statement_refund", refund, "scan"), ("statement_installments", installments, "scan"),
            ("statement_installments_phone", installments, "phone"),
            ("statement_unknown", unknown, "scan"), ("statement_unknown_photo", unknown, "photo"),
            ("invoice_chromebook", chromebook, "scan"), ("invoice_chromebook_photo", chromebook, "photo"),
            ("invoice_charger", charger, "scan"), ("invoice_aero", aero, "scan"),
            ("invoice_aero_phone", aero, "phone"), ("invoice_pulse_photo", pulse, "photo")):
        sheet(name, image, kind)

    def photo(name: str, make_image: Callable[[], Image.Image]) -> None:
        made[name] = ("jpg", lambda out: save_photo(make_image(), out))

    photo("photo_laptop_blue", lambda: laptop((30, 90, 170), seed=11))
    photo("photo_laptop_green", lambda: laptop((40, 130, 80), (150, 152, 160), seed=12))
    photo("photo_laptop_purple", lambda: laptop((90, 50, 140), (205, 200, 195), seed=13))
    photo("photo_monitor", lambda: monitor(seed=21))
    photo("photo_monitor_teal", lambda: monitor(seed=22, colour=(20, 120, 130)))
    photo("photo_speaker_black", lambda: speaker(seed=31))
    photo("photo_speaker_grey", lambda: speaker(seed=32, body=(95, 95, 100), wall=((210, 200, 185), (160, 150, 135))))
    photo("photo_router_red", lambda: router(seed=41, red=True))
    photo("photo_router", lambda: router(seed=42, red=False))
    photo("photo_phone", lambda: phone(seed=51))
    photo("photo_tv", lambda: television(seed=61))
    photo("photo_carton", lambda: carton(seed=71))
    photo("photo_carton_dark", lambda: carton(seed=72).point(lambda v: int(v * 0.8)))
    photo("photo_laptop_cracked", lambda: laptop((30, 90, 170), seed=14, cracked=True))
    photo("photo_laptop_cracked_grey", lambda: laptop((60, 60, 70), (160, 160, 165), seed=15, cracked=True))
    photo("photo_monitor_cracked", lambda: monitor(seed=23, cracked=True))
    return made


def main(out: Path, only: List[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, (suffix, make) in material().items():
        if only and name not in only:
            continue
        path = out / f"{name}.{suffix}"
        make(path)
        manifest[name] = path.name
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    print(f"{len(manifest)} pictures in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
