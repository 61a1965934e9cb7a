"""Warranty status of an order's items: the catalogue's warranty months from the delivery date."""
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker

from actions import shared
from actions.orders import status_sentence


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
