"""Claims: a parcel marked delivered but not found, and an item that arrived damaged."""
from datetime import date
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker

from actions import shared
from actions.handoff import hand_off
from actions.orders import status_sentence


def hours_since_delivery(order: Dict[str, Any], today: date) -> Optional[int]:
    """Whole days since the delivery date, in hours (the records hold dates, not times)."""
    delivered = shared.parse_date(order.get("delivered_on"))
    if order["status"] != "delivered" or delivered is None:
        return None
    return (today - delivered).days * 24


def delivered_hours_or_explain(order: Dict[str, Any], dispatcher, not_delivered: str) -> Optional[int]:
    """Hours since delivery; when the order isn't delivered, says so (`not_delivered`) and gives None."""
    hours = hours_since_delivery(order, shared.today())
    if hours is None:
        dispatcher.utter_message(
            text=f"Order {order['order_id']} {not_delivered} {status_sentence(order)}")
    return hours


class ActionMissingParcel(shared.OrderSkillAction):
    def name(self) -> Text:
        return "action_missing_parcel"

    def answer_order(self, order, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        number = order["order_id"]
        hours = delivered_hours_or_explain(order, dispatcher, "isn't marked as delivered.")
        if hours is None:
            return []
        wait = int(shared.setting("claims", "missing_parcel_wait_hours"))
        if hours < wait:
            dispatcher.utter_message(
                text=f"Order {number} was marked delivered very recently. Parcels sometimes turn "
                     f"up a little later: please wait {wait} hours after delivery and check with "
                     "your neighbours and the building office. If it still hasn't appeared, "
                     "come back and I'll open a missing-parcel claim.")
            return []
        claim_id = shared.store().create_claim(
            "missing_parcel", number,
            f"Marked delivered on {order.get('delivered_on')} by {order.get('carrier')} "
            f"({order.get('tracking_number')}); customer cannot find it.")
        dispatcher.utter_message(
            text=f"I'm sorry your parcel is missing. I've opened missing-parcel claim {claim_id} "
                 f"for order {number}; the team will investigate it with {order.get('carrier')} "
                 "and contact you by e-mail.")
        return []


class ActionDamagedItem(shared.OrderSkillAction):
    def name(self) -> Text:
        return "action_damaged_item"

    def answer_order(self, order, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        number = order["order_id"]
        hours = delivered_hours_or_explain(order, dispatcher, "isn't marked as delivered yet.")
        if hours is None:
            return []
        limit = int(shared.setting("claims", "damaged_report_hours"))
        if hours > limit:
            return shared.offer_agent(
                dispatcher,
                f"Damage has to be reported within {limit} hours of delivery, and order {number} "
                f"was delivered on {shared.fmt_date(shared.parse_date(order['delivered_on']))}. "
                "If the item is faulty, its warranty may still cover it.")
        claim_id = shared.store().create_claim(
            "damaged_item", number, "Customer reports the delivery arrived damaged.")
        threshold = float(shared.setting("claims", "damaged_agent_threshold_usd"))
        if float(order.get("total_usd") or 0) > threshold:
            dispatcher.utter_message(
                text=f"I'm sorry it arrived damaged. I've opened claim {claim_id} for order "
                     f"{number}. Claims over {shared.money(threshold)} are handled by an agent, "
                     "so I'm passing it on.")
            return hand_off(dispatcher, tracker, f"Damaged delivery claim {claim_id} over "
                            f"{shared.money(threshold)}", reason="damaged_item_over_threshold")
        dispatcher.utter_message(
            text=f"I'm sorry it arrived damaged. I've opened claim {claim_id} for order {number}. "
                 "Please send one photo of the item and one of the box, and keep the original "
                 "packaging until the carrier collects the item.")
        return []
