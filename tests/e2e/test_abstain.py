"""Honest answers where the assistant is unsure (issue 16, part 2), through the real perception
service, action server and Rasa server (the `assistant` fixture).

Screenshots are rendered by headless Chromium (abstain_material.py): an unknown code, a generic
web error page, a dark "couldn't load" page and a desktop battery alert with the safety code.
A code is stated only when it was typed or read; a safety warning and an agent come only from a
safety code given or from safety words, never from a likely match.
"""
import re
import uuid
from pathlib import Path
from typing import List

import pytest

from tests import services

CODE = re.compile(r"\bbw-[a-z]?\d{2,4}\b")
SAFETY = ("stop using", "unplug")


def sender() -> str:
    return f"ab-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    return services.make_material("tests/e2e/abstain_material.py", tmp_path_factory.mktemp("abstain-pictures"))


def send(assistant, me: str, text=None, *files: Path) -> List[dict]:
    response = assistant.send(me, text=text, files=[(f.name, f.read_bytes()) for f in files])
    assert response.status_code == 200, response.text[:500]
    return response.json()


def said(answer: List[dict]) -> str:
    return " ".join(m.get("text", "") for m in answer).lower()


def stated_codes(answer: List[dict]) -> List[str]:
    """Codes said as the answer, not in the list of likely matches (lines starting with "- ")."""
    lines = [line for m in answer for line in (m.get("text") or "").lower().splitlines()
             if not line.startswith("- ")]
    return CODE.findall(" ".join(lines))


def tickets(assistant) -> int:
    import sqlite3

    with sqlite3.connect(assistant.db_path) as db:
        return db.execute("SELECT COUNT(*) FROM tickets").fetchone()[0]


def not_escalated(assistant, answer: List[dict], before: int) -> None:
    text = said(answer)
    assert not any(word in text for word in SAFETY), text
    assert "tck-" not in text and tickets(assistant) == before


# ---------------------------------------------------------------- screenshots without a known code


def test_unknown_code_on_a_screenshot_is_said_to_be_unknown(assistant, shots):
    before = tickets(assistant)
    answer = send(assistant, sender(), "what does this error mean?", shots / "unknown_code.png")
    text = said(answer)
    assert "bw-9931" in text and "don't know" in text, text
    assert set(CODE.findall(text)) == {"bw-9931"}  # not mapped to a look-alike code
    assert [b for m in answer for b in m.get("buttons") or []] == []
    not_escalated(assistant, answer, before)


@pytest.mark.parametrize("name, words", [("generic_error.png", "something went wrong"),
                                         ("oops_dark.png", "couldn't load this page")])
def test_generic_error_page_is_not_a_known_code(assistant, shots, name, words):
    before = tickets(assistant)
    answer = send(assistant, sender(), None, shots / name)
    text = said(answer)
    assert words in text.replace("\u2019", "'"), text  # it says what it read
    assert stated_codes(answer) == [], text          # and states no code as the problem
    assert "?" in text                               # a question or likely matches to pick
    not_escalated(assistant, answer, before)


def test_literal_safety_code_on_a_screenshot_is_escalated(assistant, shots):
    before = tickets(assistant)
    answer = said(send(assistant, sender(), None, shots / "battery_desktop.png"))
    assert "bw-b99" in answer and "stop using" in answer and "unplug" in answer
    assert "tck-" in answer and tickets(assistant) == before + 1


# ---------------------------------------------------------------- typed


def test_vague_symptom_gets_a_question_not_a_code(assistant):
    before = tickets(assistant)
    answer = send(assistant, sender(), "my tv won't turn on")
    text = said(answer)
    assert CODE.findall(text) == [] and "sounds like" not in text, text
    assert "?" in text
    not_escalated(assistant, answer, before)


def test_safety_guess_is_not_escalated(assistant):
    """Close to the overheating code's words, but no safety words and no code: no warning."""
    before = tickets(assistant)
    answer = send(assistant, sender(), "the battery page in the app shows a temperature notice")
    assert stated_codes(answer) == []
    not_escalated(assistant, answer, before)


def test_safety_words_are_escalated(assistant):
    before = tickets(assistant)
    answer = said(send(assistant, sender(), "my phone is sparking and smoking, it got too hot to touch"))
    assert "stop using" in answer and "unplug" in answer and "tck-" in answer
    assert tickets(assistant) == before + 1


def test_literal_safety_code_typed_is_escalated(assistant):
    before = tickets(assistant)
    answer = said(send(assistant, sender(), "my tablet is showing bw-b99"))
    assert "bw-b99" in answer and "stop using" in answer and "tck-" in answer
    assert tickets(assistant) == before + 1


def test_forgotten_password_gets_the_faq_not_an_error_code(assistant):
    answer = said(send(assistant, sender(), "Hi, I forgot my password and I can't sign in"))
    assert "forgot password?" in answer and CODE.findall(answer) == [], answer


def test_unknown_code_typed_is_said_to_be_unknown(assistant):
    answer = said(send(assistant, sender(), "my speaker app says error BW-9931"))
    assert "bw-9931" in answer and "don't know" in answer and set(CODE.findall(answer)) == {"bw-9931"}
