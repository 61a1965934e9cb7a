"""Screenshots for the abstention conversations (tests/e2e/test_abstain.py):
`python abstain_material.py OUT_DIR` with the perception venv (headless Chromium).

None of them shows a code the pack knows, except the last: an app page with an unknown code
(BW-9931), a generic web error page ("Something went wrong"), a dark phone page ("Oops! We
couldn't load this page."), and a desktop battery alert with the safety code BW-B99 in a
layout the other tests do not use.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.e2e.multimodal_material import (DARK, LIGHT, ORANGE, PHONE_PAGE, VIOLET, WEB_PAGE,  # noqa: E402
                                           split_screen_text)
from tests.perception.make_images import chromium_screenshot  # noqa: E402


def make(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    chromium_screenshot(PHONE_PAGE.format(
        app="Brightwave Home", crumb="Devices &gt; Echoes Smart Speaker", title="Error BW-9931",
        detail="The speaker could not finish setup.", button="Try again", **LIGHT),
        out / "unknown_code.png", size=(420, 860))
    chromium_screenshot(WEB_PAGE.format(
        section="Your account", title="Something went wrong.", detail="Please try again later.",
        body="", button="Reload", **VIOLET), out / "generic_error.png")
    chromium_screenshot(PHONE_PAGE.format(
        app="Brightwave", crumb="Orders", title="Oops! We couldn't load this page.",
        detail="Check your connection and try again.", button="Retry", **DARK),
        out / "oops_dark.png", size=(420, 860))
    title, detail = split_screen_text("BW-B99")
    chromium_screenshot(WEB_PAGE.format(
        section="Devices", title=title, detail=detail or "Brightwave Power Bank 20000",
        body="", button="OK", **ORANGE), out / "battery_desktop.png")


if __name__ == "__main__":
    make(Path(sys.argv[1]))
