"""FAQ and policy questions, answered from the pack's passages; no answer below the threshold."""
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker

from actions import shared


def answer_from_pack(dispatcher, text: str) -> bool:
    """Say the best passage for `text`; False when none is confident enough."""
    hit = shared.index().best(text) if text else None
    if hit is None:
        return False
    dispatcher.utter_message(text=hit.passage.body or hit.passage.text)
    return True


class ActionFaq(shared.SkillAction):
    def name(self) -> Text:
        return "action_faq"

    def answer(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        if answer_from_pack(dispatcher, shared.user_text(tracker)):
            return []
        return shared.offer_agent(dispatcher, "I'm not sure about that one, and I'd rather not guess.")
