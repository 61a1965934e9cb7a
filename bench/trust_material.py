"""Screenshots for the trust section: `python bench/trust_material.py OUT_DIR [ID ...]`.

Runs with the perception venv (headless Chromium through tests/perception/make_images.py), from
the repository root. Renders every `kind: screenshot` input of bench/data/trust/inputs.yml (or
only the ids given) to OUT_DIR/<id>.png and writes OUT_DIR/manifest.json ({id: {"file", "text"}},
where "text" is every word drawn on the screen, for the scorer's "read on the picture").

Layouts: web (a desktop page, 1280 x 800), phone (390 x 844), dialog (a modal box over a dimmed
desktop page), plain (bare text, as a browser or terminal shows it) and tv (a full screen, 1280 x
720); themes: light, dark, warm, blue. A screen with `code:` shows that code's screen text from
packs/brightwave/error_codes.csv (title before the first ". ", the rest as detail), read here,
never retyped.
"""
import csv
import html
import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.perception.make_images import chromium_screenshot  # noqa: E402

INPUTS = ROOT / "bench" / "data" / "trust" / "inputs.yml"
PACK = ROOT / "packs" / "brightwave"

THEMES = {
    "light": dict(bg="#f4f6fa", fg="#1d2433", box="#fdecea", alert="#b71c1c", accent="#0b3d91", muted="#555",
                  panel="#ffffff"),
    "dark": dict(bg="#121417", fg="#e8eaed", box="#3a1d1d", alert="#ff8a80", accent="#1a4fb5", muted="#aaa",
                 panel="#202124"),
    "warm": dict(bg="#fffaf2", fg="#2b2118", box="#fff1d6", alert="#a04800", accent="#7a3e00", muted="#6b5a48",
                 panel="#fffdf8"),
    "blue": dict(bg="#e8f0fe", fg="#0d1b3e", box="#d2e3fc", alert="#174ea6", accent="#1967d2", muted="#3c4a66",
                 panel="#ffffff"),
}
FONT = "font-family:'DejaVu Sans',sans-serif"


def screen_text(code: str) -> Tuple[str, str]:
    """(title, detail) of a code's screen text in the pack."""
    with (PACK / "error_codes.csv").open(encoding="utf-8") as handle:
        text = next(row["screen_text"] for row in csv.DictReader(handle) if row["code"] == code)
    title, _, detail = text.partition(". ")
    return title.rstrip("."), detail


def words_of(screen: Dict[str, Any]) -> Tuple[str, str, List[str]]:
    """(title, detail, lines) the screen shows."""
    if screen.get("code"):
        title, detail = screen_text(screen["code"])
    else:
        title, detail = screen.get("title", ""), screen.get("detail", "")
    lines = list(screen.get("lines") or [])
    if not lines and screen.get("layout") == "plain":
        lines = [line for line in (title, detail) if line]
    return title, detail, lines


def page(screen: Dict[str, Any]) -> Tuple[str, Tuple[int, int]]:
    """The screen's HTML and window size."""
    theme = THEMES[screen.get("theme", "light")]
    title, detail, lines = (html.escape(part) if isinstance(part, str) else [html.escape(x) for x in part]
                            for part in words_of(screen))
    app = html.escape(screen.get("app", ""))
    button = html.escape(screen.get("button", ""))
    layout = screen.get("layout", "web")
    if layout == "web":
        body = (f"<div style='background:{theme['accent']};color:#fff;padding:16px 36px;font-size:24px;"
                f"font-weight:bold'>{app}</div><div style='max-width:820px;margin:60px auto'>"
                f"<div style='border:2px solid {theme['alert']};background:{theme['box']};padding:24px;"
                f"border-radius:8px'><div style='color:{theme['alert']};font-size:26px;font-weight:bold'>{title}</div>"
                f"<p style='font-size:19px'>{detail}</p></div>"
                + (f"<div style='margin-top:26px;display:inline-block;padding:12px 26px;background:{theme['accent']};"
                   f"color:#fff;border-radius:6px;font-size:19px'>{button}</div>" if button else "")
                + "</div>")
        size = (1280, 800)
    elif layout == "phone":
        body = (f"<div style='background:{theme['accent']};color:#fff;padding:20px;font-size:21px'>{app}</div>"
                f"<div style='margin:40px 20px;padding:28px 18px;border-radius:14px;background:{theme['box']};"
                f"text-align:center'><div style='font-size:56px;color:{theme['alert']}'>!</div>"
                f"<div style='font-size:22px;font-weight:bold;margin-top:8px'>{title}</div>"
                f"<p style='font-size:18px;color:{theme['muted']}'>{detail}</p></div>"
                + (f"<div style='margin:24px 20px;padding:14px;border-radius:10px;background:{theme['accent']};"
                   f"color:#fff;text-align:center;font-size:18px'>{button}</div>" if button else ""))
        size = (390, 844)
    elif layout == "dialog":
        body = (f"<div style='padding:30px;color:{theme['muted']};font-size:18px'>Home &nbsp; Devices &nbsp; "
                "Orders &nbsp; Settings</div><div style='position:fixed;inset:0;background:rgba(0,0,0,0.45)'></div>"
                f"<div style='position:fixed;top:220px;left:340px;width:600px;background:{theme['panel']};"
                "border-radius:10px;box-shadow:0 8px 30px rgba(0,0,0,0.5)'>"
                f"<div style='background:{theme['accent']};color:#fff;padding:12px 18px;font-size:18px;"
                f"border-radius:10px 10px 0 0'>{app}</div><div style='padding:26px 24px'>"
                f"<div style='font-size:22px;font-weight:bold;color:{theme['fg']}'>{title}</div>"
                f"<p style='font-size:18px;color:{theme['fg']}'>{detail}</p>"
                + (f"<div style='text-align:right'><span style='display:inline-block;padding:9px 22px;"
                   f"border:1px solid {theme['accent']};color:{theme['accent']};border-radius:5px;font-size:17px'>"
                   f"{button}</span></div>" if button else "")
                + "</div></div>")
        size = (1280, 720)
    elif layout == "plain":
        dark = screen.get("theme") == "dark"
        colour = "color:#d7d7d7;background:#1b1b1b" if dark else "color:#202124;background:#ffffff"
        face = "font-family:'DejaVu Sans Mono',monospace" if dark else FONT
        body = (f"<div style='{face};{colour};position:fixed;inset:0;padding:60px 70px'>"
                + "".join(f"<div style='font-size:{30 if i == 0 else 21}px;margin-bottom:18px'>{line}</div>"
                          for i, line in enumerate(lines)) + "</div>")
        size = (1100, 620)
    elif layout == "tv":
        body = ("<div style='position:fixed;inset:0;background:#000;color:#ddd;text-align:center'>"
                f"<div style='margin-top:290px;font-size:52px'>{title}</div>"
                f"<div style='font-size:26px;margin-top:18px;color:#aaa'>{detail}</div></div>")
        size = (1280, 720)
    else:
        raise ValueError(f"unknown layout {layout!r}")
    document = (f"<!doctype html><html><head><meta charset='utf-8'></head><body style=\"margin:0;{FONT};"
                f"background:{theme['bg']};color:{theme['fg']}\">{body}</body></html>")
    return document, size


def main(out: Path, wanted: List[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    inputs = yaml.safe_load(INPUTS.read_text(encoding="utf-8"))
    manifest = {}
    for item in inputs:
        if item["kind"] != "screenshot" or (wanted and item["id"] not in wanted):
            continue
        document, size = page(item["screen"])
        path = out / f"{item['id']}.png"
        chromium_screenshot(document, path, size)
        title, detail, lines = words_of(item["screen"])
        shown = " ".join([item["screen"].get("app", ""), title, detail, *lines, item["screen"].get("button", "")])
        manifest[item["id"]] = {"file": path.name, "text": " ".join(shown.split())}
        print(f"rendered {path.name}", flush=True)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2:])
