"""Returns (eligibility from the pack's return rules and the delivery date) and refund status."""
from datetime import date, timedelta
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Tracker

from actions import shared


def eligibility(order: Dict[str, Any], today: date) -> Tuple[List[Any], List[str], Dict[str, List[str]]]:
    """(returnable products, reasons others are not, conditions per returnable SKU)."""
    delivered = shared.parse_date(order.get("delivered_on"))
    returnable, refused, conditions = [], [], {}
    for sku, name in zip(order["items"], order.get("item_names") or order["items"]):
        product = shared.pack().product_by_sku(sku)
        if product is None:
            refused.append(f"{name} isn't in our catalogue any more, so an agent has to look at it")
            continue
        rule = shared.pack().return_rule(product)
        deadline = delivered + timedelta(days=rule.window_days)
        if not rule.returnable:
            refused.append(f"{product.name} can't be returned")
        elif today > deadline:
            refused.append(f"the {rule.window_days}-day return window for {product.name} "
                           f"ended on {shared.fmt_date(deadline)}")
        else:
            returnable.append(product)
            conditions[product.sku] = (
                [f"{product.name}: {c}" for c in rule.conditions]
                + [f"{product.name} can't be returned if {w}" for w in rule.not_returnable_when])
    return returnable, refused, conditions


def wanted_products(tracker: Tracker, order: Dict[str, Any]) -> Optional[List[str]]:
    """The item the customer named when asking (the product slot), if it is in the order."""
    named = tracker.get_slot("product")
    product = shared.pack().find_product(str(named)) if named else None
    if product and product.sku in order["items"]:
        return [product.sku]
    return None


class ActionStartReturn(shared.OrderSkillAction):
    def name(self) -> Text:
        return "action_start_return"

    def answer_order(self, order, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        number, status = order["order_id"], order["status"]
        if status == "return_in_progress":
            dispatcher.utter_message(text=f"A return is already in progress for order {number}.")
            return []
        if status != "delivered" or not shared.parse_date(order.get("delivered_on")):
            hint = (" It hasn't shipped yet, so you can cancel it instead."
                    if status == "processing" else "")
            dispatcher.utter_message(
                text=f"Only delivered orders can be returned, and order {number} is "
                     f"{status.replace('_', ' ')}.{hint}")
            return []
        returnable, refused, conditions = eligibility(order, shared.today())
        wanted = wanted_products(tracker, order)
        if wanted:
            returnable = [p for p in returnable if p.sku in wanted]
        if not returnable:
            dispatcher.utter_message(
                text=f"Sorry, I can't start a return for order {number}: "
                     f"{shared.join_words(refused) or 'none of its items can be returned'}.")
            return []
        return_id = shared.store().create_return(number, [p.sku for p in returnable], reason=None)
        days = shared.setting("returns", "label_dropoff_days")
        lines = [
            f"I've started return {return_id} for {shared.join_words([p.name for p in returnable])}.",
            "A prepaid return label has been e-mailed to the address on the order.",
            f"Please drop the parcel off at any carrier location within {days} days.",
        ]
        notes = [note for p in returnable for note in conditions[p.sku]]
        if notes:
            lines.append(f"Please note: {'; '.join(notes)}.")
        if refused and not wanted:
            lines.append(f"Not included: {shared.join_words(refused)}.")
        dispatcher.utter_message(text=" ".join(lines))
        return []


def refund_timing(payment: Optional[str]) -> str:
    if payment and payment.startswith("brightwave_pay"):
        days = shared.setting("refunds", "pay_business_days")
        return f"to your wallet within {days} business day{'s' if days != 1 else ''}"
    low, high = shared.setting("refunds", "card_business_days")[:2]
    return f"to your card within {low}-{high} business days"


class ActionRefundStatus(shared.OrderSkillAction):
    def name(self) -> Text:
        return "action_refund_status"

    def answer_order(self, order, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        number, status = order["order_id"], order["status"]
        timing = refund_timing(order.get("payment"))
        if status == "refunded":
            dispatcher.utter_message(
                text=f"Order {number} has been refunded ({shared.money(order['total_usd'])}). "
                     f"The money arrives {timing} after the refund is issued.")
            return []
        if status == "return_in_progress":
            inspection = shared.setting("refunds", "inspection_business_days")
            dispatcher.utter_message(
                text=f"The return for order {number} is in progress. Once we receive and inspect "
                     f"it (usually {inspection} business days), the refund goes {timing}.")
            return []
        if status == "cancelled":
            return shared.offer_agent(
                dispatcher, f"Order {number} was cancelled. If a payment hasn't come back to you,"
                            " an agent can look into it.")
        dispatcher.utter_message(
            text=f"There's no refund on order {number} yet: it is {status.replace('_', ' ')}. "
                 "A refund follows a return, and I can start one if the order is eligible.")
        return []
