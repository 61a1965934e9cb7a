"""The review inbox in Debian's Chromium (Playwright) over conversations made through the real
assistant (the `assistant` fixture: multimodal channel, perception service, Rasa, actions):
log in, filter, open the conversation with a picture and a voice note, correct an intent and a
transcript, approve, export; the export passes `rasa data validate` in a copy of the project."""
import asyncio
import re
import secrets
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Dict, Iterator

import pytest
import requests
from playwright.sync_api import Page, expect, sync_playwright

from tests import services
from tests.perception import audio_material as am
from tests.webchat.client import ChatClient

RASA = str(services.VENV_DIALOGUE / "bin" / "rasa")
PYTHON = str(services.VENV_DIALOGUE / "bin" / "python")
PASSWORD = secrets.token_urlsafe(12)
VOICE = "my router has a solid red light"
CORRECTED = "my router shows a solid red light"  # the reviewer's transcript


@pytest.fixture(scope="module")
def made(assistant, pictures, tmp_path_factory) -> Dict[str, str]:
    """One conversation with a screenshot then a voice note, one with words only."""
    folder = tmp_path_factory.mktemp("review-material")
    wav = am.espeak(VOICE, folder / "voice.wav")
    media = f"review-media-{uuid.uuid4().hex[:8]}"
    words = f"review-words-{uuid.uuid4().hex[:8]}"
    screenshot = pictures / "signin_locked_phone_dark.png"
    for files, text in (([(screenshot.name, screenshot.read_bytes())], "what does this mean?"),
                        ([("voice.wav", wav.read_bytes())], None)):
        response = assistant.send(media, text=text, files=files)
        assert response.status_code == 200, response.text[:300]
    assistant.say(words, "hello")
    return {"media": media, "words": words, "thumbs": asyncio.run(thumbs_down(assistant))}


async def thumbs_down(assistant) -> str:
    """A web chat conversation whose answer got a thumbs down (the widget's `feedback` event)."""
    chat = ChatClient(assistant.url)
    await chat.connect()
    try:
        turn = await chat.send("do you ship to Canada?")
        index = next(data["index"] for event, data in turn if event == "bot_uttered")
        start = len(chat.events)
        await chat.emit("feedback", {"session_id": chat.session_id, "bot_index": index, "rating": "down"})
        await chat.wait_for("feedback_saved", start)
    finally:
        await chat.close()
    return chat.session_id


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the project's domain, config and data: the export writes there."""
    root = tmp_path_factory.mktemp("review-project")
    for name in ("domain.yml", "config.yml"):
        shutil.copy(services.ROOT / name, root / name)
    shutil.copytree(services.ROOT / "data", root / "data")
    (root / "tests").mkdir()
    return root


@pytest.fixture(scope="module")
def inbox(assistant, made, project, tmp_path_factory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("review-server")
    port = services.free_port()
    env = services.base_env(
        REVIEW_PORT=str(port), TRACKER_URL=f"sqlite:///{assistant.tracker_db}",
        ATTACHMENTS_DIR=str(assistant.attachments_dir), PARLEY_DB=str(assistant.db_path),
        REVIEW_DB=str(folder / "review.db"), REVIEW_USERS=str(folder / "users.json"),
        REVIEW_SECRET=secrets.token_hex(16), REVIEW_PROJECT=str(project))
    added = subprocess.run([PYTHON, "-m", "review.users", "add", "tester"], input=PASSWORD + "\n",
                           env=env, cwd=services.ROOT, capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    server = services.Service("review", [PYTHON, "-m", "review"], env,
                              f"http://127.0.0.1:{port}/login").start(120)
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(scope="module")
def page(inbox) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=inbox)
        yield context.new_page()
        browser.close()


def shot(page: Page, name: str) -> None:
    services.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(services.ARTIFACTS / f"review-{name}.png"), full_page=True)


def test_without_a_login_nothing_is_served(inbox, made):
    assert requests.get(f"{inbox}/api/conversations", timeout=10).status_code == 401
    page = requests.get(f"{inbox}/conversation", params={"id": made["media"]}, allow_redirects=False, timeout=10)
    assert page.status_code == 303 and page.headers["Location"].startswith("/login")
    assert requests.post(f"{inbox}/export", timeout=10).status_code == 401


def test_review_filter_open_correct_approve_export(page: Page, made, project, expected):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("User name").fill("tester")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")
    page.get_by_label("User name").fill("tester")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name=re.compile("Conversations"))).to_be_visible()

    # filter: thumbs down (the web chat conversation), then only conversations with attachments
    page.get_by_label("Thumbs down").check()
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tr.conversation", has_text=made["thumbs"])).to_have_count(1)
    expect(page.locator("tr.conversation", has_text=made["media"])).to_have_count(0)
    page.get_by_label("Thumbs down").uncheck()
    page.get_by_label("Has attachments").check()
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tr.conversation")
    expect(rows.filter(has_text=made["media"])).to_have_count(1)
    expect(rows.filter(has_text=made["words"])).to_have_count(0)
    rows.filter(has_text=made["media"]).get_by_role("link").click()

    # the picture: thumbnail loaded, OCR text and labels; the voice note: player and transcript
    thumb = page.locator("img.thumb").first
    expect(thumb).to_be_visible()
    page.wait_for_function("document.querySelector('img.thumb').naturalWidth > 0")
    expect(page.locator("pre.ocr").first).to_contain_text("BW-2002")
    expect(page.locator(".labels").first).to_contain_text("Labels:")
    audio = page.locator("figure.voice audio")
    expect(audio).to_be_visible()
    expect(page.locator("q.transcript")).to_contain_text(re.compile("red light", re.I))
    shot(page, "conversation")

    # correct the picture turn's intent, and the voice note's transcript and intent
    first = page.locator("#turn-0 form.annotate")
    first.get_by_label("Intent of turn 1").select_option("login_problem")
    first.get_by_role("button", name="Save correction").click()
    expect(page.get_by_role("status")).to_contain_text("Correction saved")
    second = page.locator("#turn-1 form.annotate")
    second.locator("textarea[name=text]").fill(CORRECTED)
    second.get_by_label("Intent of turn 2").select_option("device_problem")
    second.get_by_role("button", name="Save correction").click()
    expect(page.locator("#turn-1 .saved")).to_contain_text("device_problem")

    # approve both in the review queue
    page.get_by_role("link", name="Review queue").click()
    expect(page.locator("tr.item")).to_have_count(2)
    for _ in range(2):
        page.locator("tr.item").first.get_by_role("button", name="Approve").click()
    expect(page.locator("tr.item")).to_have_count(0)

    # export
    page.get_by_role("link", name="Export").click()
    page.get_by_role("button", name=re.compile(r"Export 2 approved")).click()
    expect(page.locator(".export-result")).to_contain_text("Exported 2 example(s) and 1 test story")
    shot(page, "export")

    written = (project / "data" / "nlu" / "reviewed.yml").read_text()
    assert "login_problem" in written and "device_problem" in written
    assert "shows a solid red light" in written  # the corrected transcript
    assert "BW-2002" in written  # the screenshot's OCR text goes along as example metadata
    stories = (project / "tests" / "test_reviewed_stories.yml").read_text()
    assert "shows a solid red light" in stories and "intent: login_problem" in stories

    result = subprocess.run([RASA, "data", "validate", "--domain", "domain.yml", "--data", "data",
                             "--config", "config.yml"], cwd=project, env=services.base_env(),
                            capture_output=True, text=True, timeout=900)
    (services.ARTIFACTS / "review-validate.log").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
