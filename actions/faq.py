"""FAQ and policy questions, answered from the pack's passages only when retrieval is sure: above
the pack's threshold and ahead of the next topic by its margin (pack.yml `trust:`); otherwise the
likely questions are offered, or nothing is said."""
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker

from actions import abstain, shared


def answer_from_pack(dispatcher, text: str, offer: bool = True) -> bool:
    """Say the passage for `text` when retrieval is sure of it, else (with `offer`) the likely
    FAQ questions as buttons; False when neither was said."""
    if not text:
        return False
    decision = abstain.passages_for(text)
    if decision.answer is not None:
        dispatcher.utter_message(text=decision.answer.passage.body or decision.answer.passage.text)
        return True
    return offer and abstain.offer_passages(dispatcher, decision, "I'm not sure I have the answer to that.")


class ActionFaq(shared.SkillAction):
    def name(self) -> Text:
        return "action_faq"

    def answer(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        if answer_from_pack(dispatcher, shared.user_text(tracker)):
            return []
        return shared.offer_agent(dispatcher, "I'm not sure about that one, and I'd rather not guess.")
