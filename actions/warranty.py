"""Warranty status of an order's items: the catalogue's warranty months from the delivery date."""
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker

from actions import shared
from actions.orders import status_sentence
from actions.products import find_product


def warranty_lines(order: Dict[str, Any], today) -> List[str]:
    delivered = shared.parse_date(order.get("delivered_on"))
    lines = []
    for sku, name in zip(order["items"], order.get("item_names") or order["items"]):
        product = shared.pack().product_by_sku(sku)
        if product is None or not product.warranty_months:
            lines.append(f"{name}: I can't find its warranty terms; an agent can check them.")
            continue
        until = shared.add_months(delivered, product.warranty_months)
        if today <= until:
            lines.append(f"{product.name}: in warranty until {shared.fmt_date(until)} "
                         f"({product.warranty_months} months from delivery).")
        else:
            lines.append(f"{product.name}: the {product.warranty_months}-month warranty "
                         f"expired on {shared.fmt_date(until)}.")
    return lines


class ActionWarrantyStatus(shared.OrderSkillAction):
    def name(self) -> Text:
        return "action_warranty_status"

    def answer_order(self, order, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        if not shared.parse_date(order.get("delivered_on")):
            dispatcher.utter_message(
                text="The warranty starts on the delivery date, and this order hasn't been "
                     f"delivered. {status_sentence(order)}")
            return []
        lines = warranty_lines(order, shared.today())
        dispatcher.utter_message(
            text=" ".join(lines) + " The warranty covers manufacturing defects, not accidental damage.")
        return []


class ActionProductWarranty(shared.SkillAction):
    """A warranty question naming a product but no order: the catalogue's warranty terms."""

    def name(self) -> Text:
        return "action_product_warranty"

    def answer(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        product = find_product(dispatcher, tracker)
        if product is None:
            return []
        if product.warranty_months:
            terms = (f"The {product.name} comes with a {product.warranty_months}-month warranty "
                     "from the delivery date. It covers manufacturing defects, not accidental damage.")
        else:
            terms = f"I can't find the warranty terms of the {product.name}; an agent can check them."
        dispatcher.utter_message(
            text=f"{terms} If you'd like me to check the warranty on your own order, "
                 "just ask me to check my order's warranty, or tell me the order number.")
        return []
