"""Session start (the company's name for the responses) and declining a yes/no offer."""
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet

from actions import shared


class ActionSessionStart(Action):
    def name(self) -> Text:
        return "action_session_start"

    async def run(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        events: List[Dict[str, Any]] = [SessionStarted()]
        try:
            events.append(SlotSet("company_name", shared.pack().name))
        except Exception as error:  # noqa: BLE001 - keep the neutral default name
            shared.logger.error("pack not loaded at session start: %s", type(error).__name__)
        events.append(ActionExecuted("action_listen"))
        return events


class ActionDecline(Action):
    """The customer said no to a pending question (cancel the order? talk to an agent?)."""

    def name(self) -> Text:
        return "action_decline"

    async def run(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        if tracker.get_slot("next_step") == "confirm_cancel":
            dispatcher.utter_message(text="OK, I've left the order as it is.")
        dispatcher.utter_message(response="utter_anything_else")
        return [SlotSet("next_step", None)]
