"""When the NLU is unsure: answer from the pack if retrieval is confident, else ask to rephrase;
the second miss in a row offers an agent."""
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker

from actions import shared
from actions.faq import answer_from_pack


def misses_in_a_row(tracker: Tracker) -> int:
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        if (event.get("parse_data") or {}).get("intent", {}).get("name") != "nlu_fallback":
            break
        count += 1
    return count


class ActionFallback(shared.SkillAction):
    def name(self) -> Text:
        return "action_fallback"

    def answer(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        text = shared.user_text(tracker)
        if shared.contains_secret(text):
            dispatcher.utter_message(response="utter_no_secrets")
            return []
        if text and answer_from_pack(dispatcher, text):
            return []
        if misses_in_a_row(tracker) >= 2:
            return shared.offer_agent(dispatcher, "Sorry, I'm still not sure what you need.")
        dispatcher.utter_message(response="utter_rephrase")
        return []
