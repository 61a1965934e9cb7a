"""Claims: a parcel marked delivered but not found, and an item that arrived damaged.

A damaged-item claim needs at least one photo: every picture the customer sent in this session
that is not a screenshot or a document counts (one the perception service could not look at
counts too: the agent sees the file). Without one the assistant asks for a photo and waits
(`next_step: claim_photo`); the next message with a photo continues the claim (data/rules.yml,
actions/attachments.py). The claim's details list the photos' attachment ids.
"""
from datetime import date
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

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


def claim_photos(tracker: Tracker) -> List[Dict[str, Any]]:
    """The photos sent in this session (image summaries), oldest first, each once."""
    photos: Dict[str, Dict[str, Any]] = {}
    for message in shared.session_messages(tracker) + [tracker.latest_message or {}]:
        for image in shared.message_images(message):
            if image.get("analysed") is not False and image.get("image_kind") in ("screenshot", "document"):
                continue
            photos.setdefault(str(image["id"]), image)
    return list(photos.values())


def ask_for_photo(dispatcher, order: Dict[str, Any]) -> List[Dict[str, Any]]:
    dispatcher.utter_message(
        text=f"I'm sorry order {order['order_id']} arrived damaged. To open the claim I need at "
             "least one photo of the damaged item (one of the box helps too). "
             "Could you send me a photo?")
    return [SlotSet("next_step", "claim_photo")]


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
        photos = claim_photos(tracker)
        if not photos:
            return ask_for_photo(dispatcher, order)
        ids = [str(photo["id"]) for photo in photos]
        claim_id = shared.store().create_claim(
            "damaged_item", number,
            f"Customer reports the delivery arrived damaged. Photos: {', '.join(ids)}.")
        got = "your photo" if len(ids) == 1 else f"your {len(ids)} photos"
        threshold = float(shared.setting("claims", "damaged_agent_threshold_usd"))
        if float(order.get("total_usd") or 0) > threshold:
            dispatcher.utter_message(
                text=f"Thank you for {got}. I'm sorry it arrived damaged. I've opened claim "
                     f"{claim_id} for order {number}. Claims over {shared.money(threshold)} are "
                     "handled by an agent, so I'm passing it on.")
            return hand_off(dispatcher, tracker, f"Damaged delivery claim {claim_id} over "
                            f"{shared.money(threshold)} (photos: {', '.join(ids)})",
                            reason="damaged_item_over_threshold")
        dispatcher.utter_message(
            text=f"Thank you for {got}. I'm sorry it arrived damaged. I've opened claim {claim_id} "
                 f"for order {number} with {got} attached. Please keep the original packaging "
                 "until the carrier collects the item.")
        return []
