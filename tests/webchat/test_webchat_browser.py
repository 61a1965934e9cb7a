"""The web chat widget in Debian's Chromium (Playwright), on the demo page the channel serves,
against the real Rasa server, action server and perception service (the `assistant` fixture).

The microphone is Chromium's fake capture device playing a WAV spoken by espeak-ng; screenshots
of the page are saved in tests/artifacts/ (webchat-*.png)."""
import base64
import re
from typing import Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests import services
from tests.services import wait_until
from tests.webchat.conftest import error_fix

ANSWER_MS = 180_000  # generous: a cold model on two shared cores; no assertion on speed
HIRO = "hiro.tanaka@example.com"
PIXEL_PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


@pytest.fixture(scope="module")
def browser(material) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-audio-capture={material['microphone']}",
                  "--autoplay-policy=no-user-gesture-required"])
        yield browser
        browser.close()


@pytest.fixture()
def page(browser: Browser, assistant) -> Iterator[Page]:
    """A fresh visitor (own storage, so a new conversation), microphone allowed."""
    context = browser.new_context(viewport={"width": 1280, "height": 860},
                                  permissions=["microphone"], base_url=assistant.url)
    page = context.new_page()
    yield page
    context.close()


def open_chat(page: Page, query: str = "") -> None:
    page.goto(f"/webhooks/webchat/{query}")
    page.get_by_role("button", name="Open chat").click()
    expect(page.get_by_role("dialog", name="Brightwave support")).to_be_visible()
    expect(page.locator(".status")).to_have_text("Online", timeout=60_000)


def say(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def bot_says(page: Page, pattern: str):
    item = page.locator(".msg.bot", has_text=re.compile(pattern, re.I)).last
    expect(item).to_be_visible(timeout=ANSWER_MS)
    return item


def session_id(page: Page) -> str:
    return page.evaluate("window.ParleyChat.sessionId")


def shot(page: Page, name: str) -> None:
    services.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(services.ARTIFACTS / f"webchat-{name}.png"))




# ---------------------------------------------------------------- conversations


def test_text_conversation_thumbs_and_a_reload_that_keeps_the_history(page, assistant):
    open_chat(page)
    say(page, "hi, where is my order?")
    expect(page.locator(".msg.user").last).to_contain_text("where is my order?")
    bot_says(page, "order (number|id)")
    say(page, "it's BW-318904")
    bot_says(page, "e-?mail")
    say(page, HIRO)
    answer = bot_says(page, "US1109525498")
    expect(answer).to_contain_text(re.compile("shipped", re.I))
    me = session_id(page)

    # thumbs up on the answer: a SlotSet("feedback") in the conversation
    helpful = answer.get_by_role("button", name="Helpful", exact=True)
    helpful.click()
    expect(helpful).to_have_attribute("aria-pressed", "true")
    feedback = wait_until(lambda: [e["value"] for e in assistant.tracker(me)["events"]
                                   if e["event"] == "slot" and e["name"] == "feedback"], "the feedback event",
                          seconds=60)
    assert feedback[-1]["rating"] == "up" and "US1109525498" in feedback[-1]["bot_text"]
    assert feedback[-1]["bot_index"] == int(answer.get_attribute("data-index"))
    shot(page, "light")

    # a reload: same session, the conversation and the rating come back from the tracker
    page.reload()
    expect(page.get_by_role("dialog", name="Brightwave support")).to_be_visible()  # stays open
    expect(page.locator(".msg.user", has_text="BW-318904")).to_be_visible(timeout=60_000)
    again = page.locator(".msg.bot", has_text="US1109525498").last
    expect(again).to_be_visible()
    expect(again.get_by_role("button", name="Helpful", exact=True)).to_have_attribute("aria-pressed", "true")
    assert session_id(page) == me
    assert page.locator(".msg.user").count() == 3

    # dark theme, set from the embedding page
    page.get_by_role("button", name="Dark").click()
    expect(page.locator(".parley")).to_have_attribute("data-theme", "dark")
    shot(page, "dark")


def test_pasted_screenshot_is_answered_with_its_fix(page, material):
    open_chat(page)
    png = base64.b64encode(material["screenshot"].read_bytes()).decode()
    page.evaluate("""(data) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const clipboard = new DataTransfer();
        clipboard.items.add(new File([bytes], "image.png", { type: "image/png" }));
        const box = document.querySelector("#parley-chat").shadowRoot.querySelector("textarea");
        box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: clipboard, bubbles: true, composed: true }));
    }""", png)
    expect(page.get_by_role("img", name="Preview of image.png")).to_be_visible()
    expect(page.locator(".preview")).to_contain_text(re.compile(r"image\.png · \d+ (KB|MB)"))
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("img", name="Picture you sent: image.png")).to_be_visible()
    answer = bot_says(page, "BW-2002")
    expect(answer).to_contain_text(re.compile(re.escape(error_fix("BW-2002").rstrip(".")), re.I))
    shot(page, "screenshot-answer")


def test_voice_note_from_the_microphone(page, assistant, material):
    open_chat(page)
    record = page.get_by_role("button", name="Record a voice note")
    record.click()
    stop = page.get_by_role("button", name="Stop recording and send")
    expect(stop).to_be_visible()
    expect(page.locator(".recording")).to_contain_text("Recording")
    page.wait_for_timeout(int((material["speech_seconds"] + 1.6) * 1000))  # the sentence, then stop
    stop.click()
    mine = page.locator(".msg.user").last
    expect(mine).to_contain_text("Voice note")
    expect(mine).to_contain_text(re.compile("red light", re.I), timeout=ANSWER_MS)  # the transcript
    bot_says(page, "restart the modem")
    transcript = mine.locator(".bubble.text").inner_text()
    user = [e for e in assistant.tracker(session_id(page))["events"] if e["event"] == "user"][-1]
    assert user["text"] == transcript and user["metadata"]["voice"]["transcript"] == transcript
    assert user["metadata"]["attachments"][0]["format"] in ("webm", "ogg")


def test_replies_read_aloud_when_the_toggle_is_on(page):
    open_chat(page)
    toggle = page.get_by_role("button", name="Read replies aloud")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    with page.expect_response(lambda r: r.url.endswith("/webhooks/webchat/speech"), timeout=ANSWER_MS) as spoken:
        say(page, "can you ship my order to another country?")
    assert spoken.value.status == 200 and spoken.value.headers["content-type"] == "audio/wav"
    page.wait_for_function("window.ParleyChat.spoken >= 1", timeout=ANSWER_MS)
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")


def test_dropped_connection_reconnects_to_the_same_conversation(page):
    open_chat(page)
    say(page, "hi")
    bot_says(page, ".")
    me = session_id(page)
    page.evaluate("window.ParleyChat.dropConnection()")
    say(page, "can you ship my order to another country?")  # sent now or from the outbox once reconnected
    bot_says(page, "united states")
    expect(page.locator(".status")).to_have_text("Online")
    assert session_id(page) == me


# ---------------------------------------------------------------- files: click, drop, checks


def test_file_by_click_and_by_drop_with_preview_and_remove(page, material):
    open_chat(page)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Attach a picture").click()
    chooser.value.set_files(str(material["screenshot"]))
    expect(page.get_by_role("img", name=f"Preview of {material['screenshot'].name}")).to_be_visible()
    page.get_by_role("button", name=f"Remove {material['screenshot'].name}").click()
    expect(page.locator(".preview")).to_have_count(0)
    page.evaluate("""(data) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const files = new DataTransfer();
        files.items.add(new File([bytes], "dropped.png", { type: "image/png" }));
        const panel = document.querySelector("#parley-chat").shadowRoot.querySelector(".panel");
        panel.dispatchEvent(new DragEvent("dragover", { dataTransfer: files, bubbles: true, composed: true, cancelable: true }));
        panel.dispatchEvent(new DragEvent("drop", { dataTransfer: files, bubbles: true, composed: true, cancelable: true }));
    }""", base64.b64encode(material["screenshot"].read_bytes()).decode())
    expect(page.get_by_role("img", name="Preview of dropped.png")).to_be_visible()
    say(page, "what does this mean?")
    bot_says(page, "BW-2002")


def test_files_are_checked_before_upload(page):
    sent = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda frame: sent.append(frame)))
    open_chat(page)
    page.evaluate("""() => {
        const box = document.querySelector("#parley-chat").shadowRoot.querySelector("textarea");
        const paste = (...files) => {
            const clipboard = new DataTransfer();
            files.forEach((f) => clipboard.items.add(f));
            box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: clipboard, bubbles: true, composed: true }));
        };
        window.pasteBig = () => paste(new File([new Uint8Array(16 * 1024 * 1024)], "huge.png", { type: "image/png" }));
        window.pastePdf = () => paste(new File(["%PDF-1.4"], "invoice.pdf", { type: "application/pdf" }));
        window.pasteSix = () => paste(...Array.from({ length: 6 }, (_, i) => new File([new Uint8Array(100)], `s${i}.png`, { type: "image/png" })));
    }""")
    notice = page.get_by_role("alert")
    page.evaluate("pasteBig()")
    expect(notice).to_contain_text("huge.png is 16.0 MB; the limit is 15.0 MB")
    page.evaluate("pastePdf()")
    expect(notice).to_contain_text("invoice.pdf can't be sent")
    page.evaluate("pasteSix()")
    expect(notice).to_contain_text("At most 5 files")
    expect(page.locator(".preview")).to_have_count(5)
    assert not [f for f in sent if isinstance(f, bytes) and len(f) > 1_000_000]  # nothing big uploaded


# ---------------------------------------------------------------- bot messages, keyboard, phone


def test_images_links_and_quick_replies_in_bot_messages(page, assistant):
    page.route("https://images.example/**", lambda route: route.fulfill(body=PIXEL_PNG, content_type="image/png"))
    open_chat(page)
    say(page, "hello")
    bot_says(page, ".")
    response = requests.post(
        f"{assistant.url}/conversations/{session_id(page)}/tracker/events",
        params={"token": assistant.token, "output_channel": "latest", "execute_side_effects": "true"},
        json=[{"event": "bot", "text": "See [our returns page](https://www.example.com/returns) or "
                                        "https://help.example.com/tv. <img src=x onerror=alert(1)> Was this helpful?",
               "data": {"image": "https://images.example/tv.png",
                        "buttons": [{"title": "Yes, thanks", "payload": "/affirm"},
                                    {"title": "No", "payload": "/deny"}]}}], timeout=60)
    assert response.status_code == 200, response.text
    message = bot_says(page, "returns page")
    link = message.get_by_role("link", name="our returns page")
    expect(link).to_have_attribute("href", "https://www.example.com/returns")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(message.get_by_role("link", name="https://help.example.com/tv")).to_be_visible()
    expect(message).to_contain_text("<img src=x onerror=alert(1)>")  # shown as text, never markup
    picture = page.get_by_role("img", name="Picture from the assistant")
    expect(picture).to_have_attribute("src", "https://images.example/tv.png")
    page.wait_for_function("""() => [...document.querySelector('#parley-chat').shadowRoot
        .querySelectorAll('img.picture')].some((img) => img.complete && img.naturalWidth > 0)""")
    replies = message.get_by_role("group", name="Suggested replies")
    replies.get_by_role("button", name="Yes, thanks").click()
    expect(page.locator(".msg.user").last).to_have_text(re.compile("Yes, thanks"))
    expect(replies.get_by_role("button", name="No")).to_be_disabled()
    wait_until(lambda: [e for e in assistant.tracker(session_id(page))["events"] if e["event"] == "user"][-1]
               ["text"] == "/affirm", "the quick reply's payload reaching Rasa", seconds=60)


def test_keyboard_only_on_a_phone_sized_screen_in_dark_theme(browser, assistant):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  base_url=assistant.url)
    page = context.new_page()
    try:
        page.goto("/webhooks/webchat/?theme=dark")
        expect(page.locator(".parley")).to_have_attribute("data-theme", "dark")
        launcher = page.get_by_role("button", name="Open chat")
        launcher.focus()
        page.keyboard.press("Enter")
        panel = page.get_by_role("dialog", name="Brightwave support")
        expect(panel).to_be_visible()
        box = panel.bounding_box()
        assert box["width"] == 390 and box["height"] == 844  # the whole screen
        active = "document.querySelector('#parley-chat').shadowRoot.activeElement"
        assert page.evaluate(f"{active}.id") == "parley-input"  # focus goes to the message box
        for name in ("Attach a picture", "Record a voice note", "Send", "Read replies aloud", "Close chat"):
            expect(page.get_by_role("button", name=name)).to_be_visible()
        expect(page.get_by_role("log", name="Conversation")).to_be_attached()
        expect(page.locator(".status")).to_have_text("Online", timeout=60_000)
        page.keyboard.type("can you ship my order to another country?")
        page.keyboard.press("Enter")
        bot_says(page, "united states")
        page.keyboard.press("Shift+Tab")  # to the attach button, back from the message box
        assert page.evaluate(f"{active}.getAttribute('aria-label')") == "Attach a picture"
        shot(page, "phone-dark")
        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        assert page.evaluate(f"{active}.getAttribute('aria-label')") == "Open chat"
    finally:
        context.close()
