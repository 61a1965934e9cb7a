"""Device, app, sign-in and payment problems: error codes from the pack, never a guessed one.

A code typed or said gets its fix. A code whose escalate flag is set (a safety issue such as an
overheating battery) gets the stop-using warning and goes straight to an agent, and so do safety
words (smoke, sparks, swelling, too hot to touch ...). Without a code (actions/abstain.py): an FAQ
answer when retrieval is sure, else the likely codes as buttons, else one question, then an agent.
A code shaped like ours that the pack lacks is said to be unknown.
"""
import re
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions import abstain, shared
from actions.handoff import hand_off

SAFETY_WORDS = re.compile(
    r"\b(smok\w*|spark\w*|swell\w*|swollen|bulg\w*|overheat\w*|on fire|caught fire|flames?|"
    r"burning smell|smells? (?:like )?burn\w*|melt\w*|(?:too|very|extremely|really) hot to (?:touch|hold)|"
    r"burn(?:ed|t|s)? my (?:hand|fingers?|skin)|scorch\w*)\b",
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
        return self.without_code(dispatcher, tracker, text)

    def without_code(self, dispatcher, tracker: Tracker, text: str) -> List[Dict[str, Any]]:
        """No known code given: never a diagnosis stated as fact (actions/abstain.py)."""
        unknown = abstain.unknown_in(text)
        if unknown:
            return abstain.say_unknown_code(dispatcher, unknown)
        earlier = abstain.asked_before(tracker)
        context = abstain.context_text(earlier)
        if abstain.unknown_in(context):  # an unknown code is not matched to a look-alike later either
            context = ""
        query = f"{context} {text}".strip()
        if not query:
            return abstain.ask_one_question(dispatcher)
        if abstain.answer_described(dispatcher, query):
            return [SlotSet("error_code", None)]
        passages = abstain.passages_for(query)
        if passages.answer is not None:
            dispatcher.utter_message(text=passages.answer.passage.body or passages.answer.passage.text)
            return []
        codes = abstain.likely_codes(query)
        if codes.candidates:
            return abstain.offer_codes(dispatcher, codes, abstain.NOT_SURE)
        if abstain.offer_passages(dispatcher, passages, "I'm not sure I have the answer to that."):
            return []
        if earlier is not None:  # the question was asked once already
            return shared.offer_agent(dispatcher, "I'm sorry, I still can't tell what the problem is.")
        return abstain.ask_one_question(dispatcher)
