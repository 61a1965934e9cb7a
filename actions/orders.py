"""Order status, cancellation and address change, for an order the customer has verified."""
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions import shared


def status_sentence(order: Dict[str, Any]) -> str:
    number, status = order["order_id"], order["status"]
    items = shared.order_items(order)
    estimated = shared.fmt_date(shared.parse_date(order.get("estimated_delivery")))
    tracking = f"{order.get('carrier')}, tracking number {order.get('tracking_number')}"
    if status == "processing":
        return (f"Order {number} ({items}) is being prepared and hasn't shipped yet. "
                f"Estimated delivery: {estimated}.")
    if status == "shipped":
        return (f"Order {number} ({items}) has shipped with {tracking}. "
                f"Estimated delivery: {estimated}.")
    if status == "delivered":
        delivered = shared.fmt_date(shared.parse_date(order.get("delivered_on")))
        return f"Order {number} ({items}) was delivered on {delivered} by {tracking}."
    if status == "cancelled":
        return f"Order {number} ({items}) was cancelled."
    if status == "return_in_progress":
        return f"Order {number} ({items}) has a return in progress."
    if status == "refunded":
        return f"Order {number} ({items}) was returned and refunded."
    return f"Order {number} ({items}) has the status: {status.replace('_', ' ')}."


class ActionOrderStatus(shared.OrderSkillAction):
    def name(self) -> Text:
        return "action_order_status"

    def answer_order(self, order, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        dispatcher.utter_message(text=status_sentence(order))
        return []


def cancellable(order: Dict[str, Any]) -> bool:
    return order["status"] in shared.setting("orders", "cancellable_statuses")


class ActionCancelOrder(shared.OrderSkillAction):
    """Checks that the order can still be cancelled and asks for a yes before doing it."""

    def name(self) -> Text:
        return "action_cancel_order"

    def answer_order(self, order, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        number, status = order["order_id"], order["status"]
        if cancellable(order):
            dispatcher.utter_message(
                text=f"Order {number} ({shared.order_items(order)}, {shared.money(order['total_usd'])}) "
                     "hasn't shipped yet, so it can be cancelled free of charge. "
                     "Shall I cancel it?")
            return [SlotSet("next_step", "confirm_cancel")]
        if status == "shipped":
            text = (f"Order {number} has already shipped, so it can't be cancelled any more. "
                    "You can refuse the delivery when it arrives, or return it afterwards.")
        elif status == "delivered":
            text = (f"Order {number} has already been delivered, so it can't be cancelled. "
                    "You can return it instead: just ask me to start a return.")
        elif status == "cancelled":
            text = f"Order {number} is already cancelled."
        else:
            text = f"Order {number} can't be cancelled: {status_sentence(order)}"
        dispatcher.utter_message(text=text)
        return []


class ActionConfirmCancel(shared.OrderSkillAction):
    def name(self) -> Text:
        return "action_confirm_cancel"

    def answer_order(self, order, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        if not cancellable(order):  # it may have shipped meanwhile
            dispatcher.utter_message(
                text=f"Sorry, order {order['order_id']} can no longer be cancelled. "
                     + status_sentence(order))
            return []
        allowed = shared.setting("orders", "cancellable_statuses")
        shared.store().cancel_order(order["order_id"], allowed_statuses=allowed)
        dispatcher.utter_message(text=f"Done: order {order['order_id']} is now cancelled.")
        return []


class ActionChangeAddress(shared.OrderSkillAction):
    """Runs after the identity form; it asked the new address only when a change is allowed."""

    def name(self) -> Text:
        return "action_change_address"

    def answer_order(self, order, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        number, status = order["order_id"], order["status"]
        allowed = shared.setting("orders", "address_changeable_statuses")
        address = tracker.get_slot("new_address")
        if status not in allowed:
            if status == "shipped":
                text = (f"Order {number} has already shipped, so I can't change its address. "
                        f"The carrier ({order.get('carrier')}) may be able to redirect it: "
                        f"the tracking number is {order.get('tracking_number')}.")
            else:
                text = f"The delivery address of order {number} can't be changed any more. " \
                       + status_sentence(order)
            dispatcher.utter_message(text=text)
            return [SlotSet("new_address", None)]
        if not address:
            dispatcher.utter_message(
                text="I didn't get a new address, so nothing was changed. "
                     "Ask me again whenever you're ready.")
            return []
        shared.store().change_address(number, address, allowed_statuses=allowed)
        dispatcher.utter_message(
            text=f"Done: order {number} will now be delivered to {address}.")
        return [SlotSet("new_address", None)]
