"""Saying "I'm not sure" instead of guessing (knowledge/trust.py holds the rules and limits).

- A code is stated as the customer's problem only when the code itself was typed, said or read on
  a picture. A described symptom or a screen without a known code gets at most three likely codes
  as buttons (each with its one-line cause), or one question, or an agent.
- A code shaped like ours that the pack does not know ("BW-9931") is said to be unknown.
- FAQ and policy passages are stated only above the pack's threshold and margin; otherwise the
  likely questions as buttons, or one question.
- A safety warning comes only from a safety code actually given or from safety words
  (actions/devices.py), never from a likely match.
"""
import threading
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions import shared
from knowledge.search import Hit, KnowledgeIndex
from knowledge.symptoms import described_code
from knowledge.trust import Decision, error_passages, limits_for, unknown_codes, without_company

# the one clarifying question; a reply to it is read together with the message it asked about
QUESTION = "What were you doing when it happened, and on which device or page?"
NOT_SURE = "I'm not sure which problem this is, and I'd rather not guess."


_warming = threading.Event()


def warm_up() -> None:
    """Embed the passages and the error codes once, in the background, at the first message: the
    first search would otherwise pay for it inside an action's time limit."""
    if _warming.is_set():
        return
    _warming.set()

    def embed() -> None:
        for build in (shared.index, code_index):
            try:
                build().scores("warm up")
            except Exception:  # noqa: BLE001 - only a head start; the search itself retries
                pass

    threading.Thread(target=embed, name="trust-warm-up", daemon=True).start()


def code_index() -> KnowledgeIndex:
    """The pack's error codes as passages, with the limits of pack.yml `trust: error_codes:`."""

    def build() -> KnowledgeIndex:
        settings = shared.pack().settings
        limits = {method: limits_for(settings, "error_codes", method) for method in ("embedding", "lexical")}
        return KnowledgeIndex(error_passages(shared.pack()), client=shared.index().client, limits=limits)

    return shared._cached("code_index", build)


def passages_for(text: str) -> Decision:
    """What retrieval may say about `text`. An FAQ question asked in its own words (the payload
    of an offered question's button) is that question's answer."""
    wanted = " ".join(text.lower().split()).rstrip("?.! ")
    for passage in shared.index().passages:
        if passage.source == "faq" and " ".join(passage.title.lower().split()).rstrip("?.! ") == wanted:
            hit = Hit(passage, 1.0, "exact")
            return Decision(answer=hit, candidates=[hit], method="exact", best=1.0)
    return shared.index().decide(text) if text.strip() else Decision()


def likely_codes(text: str) -> Decision:
    """The codes a described symptom or a screen's text may be (never an answer by itself)."""
    query = without_company(text, shared.pack())
    return code_index().decide(query, may_answer=False) if query else Decision()


def code_button(code) -> Dict[str, str]:
    return {"title": f"{code.code}: {first_sentence(code.cause)}",
            "payload": f'/device_problem{{"error_code":"{code.code}"}}'}


def first_sentence(text: str) -> str:
    sentence = (text or "").strip().split(". ")[0].rstrip(".")
    return sentence[:90]


def offer_codes(dispatcher, decision: Decision, lead: str) -> List[Dict[str, Any]]:
    """Say `lead` and offer the likely codes as buttons, each with its one-line cause."""
    pack = shared.pack()
    codes = [pack.error_code(hit.passage.title) for hit in decision.candidates]
    codes = [code for code in codes if code is not None]
    lines = [f"- {code.code} ({code.where}): {first_sentence(code.cause)}." for code in codes]
    which = "Is it this one?" if len(codes) == 1 else "Is it one of these?"
    dispatcher.utter_message(
        text=f"{lead} It might be:\n" + "\n".join(lines) + f"\n{which} Tap it for the fix, or tell me "
             "more (what you were doing, which device).",
        buttons=[code_button(code) for code in codes])
    return [SlotSet("error_code", None)]


def answer_described(dispatcher, text: str, lead: str = "") -> bool:
    """A device's own symptom in the pack's words ("my router has a solid red light"): the code
    error_codes.csv lists for it, with its fix (knowledge/symptoms.py); False when `text` names no
    such symptom, or more than one."""
    found = described_code(text, shared.pack().error_codes)
    if found is None:
        return False
    code, phrase = found
    lead = f"{lead} " if lead else ""
    dispatcher.utter_message(
        text=f"{lead}A {phrase} on the {code.where} is what our records list as error {code.code}: "
             f"{code.cause} What to do: {code.fix} If that's not what you see, tell me more, or ask "
             "for an agent.")
    return True


def say_unknown_code(dispatcher, codes: List[str], where: str = "") -> List[Dict[str, Any]]:
    """A code shaped like ours that the pack does not know: say so, never map it to another."""
    listed = shared.join_words(codes)
    what = "that error code" if len(codes) == 1 else "those error codes"
    dispatcher.utter_message(
        text=f"{where}I don't know {listed}: {what} isn't one of ours, so I can't tell you what it "
             f"means. {QUESTION} If you'd rather, ask for an agent.")
    return [SlotSet("error_code", None)]


def ask_one_question(dispatcher, lead: str = NOT_SURE) -> List[Dict[str, Any]]:
    dispatcher.utter_message(text=f"{lead} {QUESTION}")
    return [SlotSet("error_code", None)]


def offer_passages(dispatcher, decision: Decision, lead: str) -> bool:
    """Offer the likely FAQ questions as buttons (their own wording as the payload); False when
    none of the candidates is an FAQ question."""
    questions = [hit.passage.title for hit in decision.candidates if hit.passage.source == "faq"]
    if not questions:
        return False
    dispatcher.utter_message(text=f"{lead} Did you mean one of these?",
                             buttons=[{"title": q, "payload": q} for q in questions])
    return True


def asked_before(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The customer message our clarifying question was about, when the bot's last words were
    that question; else None."""
    events = list(tracker.events)
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    if len(users) < 2:
        return None
    previous = users[-2]
    for event in events[previous + 1:users[-1]]:
        if event.get("event") == "bot" and QUESTION in str(event.get("text") or ""):
            return events[previous].get("parse_data") or {"text": events[previous].get("text")}
    return None


def context_text(message: Optional[Dict[str, Any]]) -> str:
    """The words and the pictures' text of one earlier message."""
    if not message:
        return ""
    words = str(message.get("text") or "").replace(shared.IMAGE_TOKEN, " ")
    pictures = [str(p.get("text") or "") for p in shared.message_images(message)]
    return " ".join([words] + pictures).strip()[: shared.MAX_TEXT_CHARS]


def snippet(lines: List[str], limit: int = 90) -> str:
    """What a screen says, for quoting it back: its lines, the company's name (a header) left
    out."""
    kept = [line for line in (without_company(line, shared.pack()) for line in lines) if line]
    text = " ".join(kept or lines)
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " ..."


def unknown_in(text: str) -> List[str]:
    return unknown_codes(text, shared.pack())
