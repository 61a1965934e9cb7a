"""Device, app, sign-in and payment problems: error codes from the pack, or the closest match.

A code whose escalate flag is set (a safety issue such as an overheating battery) gets the
stop-using warning and goes straight to an agent, and so does a described safety symptom.
"""
import re
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker

from actions import shared
from actions.faq import answer_from_pack
from actions.handoff import hand_off

SAFETY_WORDS = re.compile(
    r"\b(smok\w*|spark\w*|swell\w*|swollen|bulg\w*|overheat\w*|on fire|caught fire|flames?|"
    r"burning smell|smells? (?:like )?burn\w*|melt\w*)\b",
    re.IGNORECASE,
)


def explain(code, lead: str = "Error {code} means:") -> str:
    return f"{lead.format(code=code.code)} {code.cause} What to do: {code.fix}"


def safety_handoff(dispatcher, tracker, summary: str, cause: str = "") -> List[Dict[str, Any]]:
    dispatcher.utter_message(response="utter_safety_warning")
    if cause:
        dispatcher.utter_message(text=cause)
    return hand_off(dispatcher, tracker, summary, reason="safety")


class ActionTroubleshoot(shared.SkillAction):
    def name(self) -> Text:
        return "action_troubleshoot"

    def answer(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        text = shared.user_text(tracker)
        named = shared.latest_entity(tracker, "error_code")
        code = shared.pack().find_error_code(f"{named or ''} {text}")
        if code is not None and code.escalate:
            return safety_handoff(dispatcher, tracker, f"Safety issue: error {code.code}",
                                  cause=f"Error {code.code} means: {code.cause}")
        if SAFETY_WORDS.search(text):  # a described safety symptom wins over a harmless code
            return safety_handoff(dispatcher, tracker, "Safety issue: device overheating, "
                                                       "smoking, swelling or sparking")
        if code is not None:
            dispatcher.utter_message(
                text=f"{explain(code)} If that doesn't solve it, I can connect you with an agent.")
            return []
        hit = shared.error_index().best(text) if text else None
        if hit is not None:
            code = shared.pack().error_code(hit.passage.title)
            dispatcher.utter_message(
                text=f"{explain(code, 'That sounds like error {code}:')} "
                     "If that doesn't solve it, I can connect you with an agent.")
            return []
        if answer_from_pack(dispatcher, text):
            return []
        return shared.offer_agent(dispatcher, "I'm sorry, I couldn't find a fix for that.")
