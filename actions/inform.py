"""A message outside any form and question: details given out of the blue ("BW-T07 on my
doorbell cam", an order number alone), or a stray yes/no. The bot always answers."""
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions import shared
from actions.devices import ActionTroubleshoot
from actions.identity import find_order_id
from actions.products import ActionProductInfo

WHAT_I_DO = ("I can help with orders (status, cancelling, changing the address), returns and "
             "refunds, missing or damaged parcels, warranty, products, device problems and payments.")


class ActionHandleInform(shared.SkillAction):
    def name(self) -> Text:
        return "action_handle_inform"

    def answer(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        if shared.latest_entity(tracker, "error_code"):
            return ActionTroubleshoot().answer(dispatcher, tracker, domain)
        if shared.latest_entity(tracker, "product"):
            return ActionProductInfo().answer(dispatcher, tracker, domain)
        order_id = find_order_id(shared.latest_entity(tracker, "order_id") or "") \
            or find_order_id(shared.user_text(tracker))
        if order_id:
            dispatcher.utter_message(
                text=f"I have your order number {order_id}. What would you like to do with it: "
                     "check its status, cancel it, change the delivery address, return an item, "
                     "check a refund, report a missing or damaged parcel, or check its warranty?")
            if tracker.get_slot("order_id") != order_id:
                return [SlotSet("order_id", order_id)]
            return []
        dispatcher.utter_message(text=f"How can I help? {WHAT_I_DO} Just tell me what you need.")
        return []
