"""Product questions (price, specs, warranty) by a fuzzy product name."""
from typing import Any, Dict, List, Optional, Sequence, Text

from rasa_sdk import Tracker

from actions import catalogue, shared
from knowledge.pack import Product


def describe(product: Product) -> str:
    """Price, specs and warranty of one product, from the catalogue."""
    return (f"{product.name} costs {shared.money(product.price_usd)}. "
            f"{product.description}. It comes with a {product.warranty_months}-month warranty.")


def warranty_terms(product: Product) -> str:
    if not product.warranty_months:
        return f"I can't find the warranty terms of the {product.name}; an agent can check them."
    return f"The {product.name} comes with a {product.warranty_months}-month warranty from the delivery date."


choice_buttons = catalogue.choice_buttons


def find_product(dispatcher, tracker: Tracker, search_catalogue: bool = False) -> Optional[Product]:
    """The product the customer names (entity first, then the text); None after asking
    which one they mean or saying plainly that we don't sell it (never a guess). With
    `search_catalogue`, a question that names no product but a kind, feature or price ("a laptop
    with 32 GB RAM") is answered from the catalogue search instead (actions/catalogue.py)."""
    text = shared.user_text(tracker)
    named = shared.latest_entity(tracker, "product")
    product = (shared.pack().find_product(named) if named else None) \
        or shared.pack().find_product(text)
    if product is None:
        candidates = shared.pack().find_products(named or text, limit=3)
        if len(candidates) > 1:
            names = shared.join_words([p.name for p, _ in candidates])
            dispatcher.utter_message(text=f"Which one do you mean: {names}?",
                                     buttons=choice_buttons([p for p, _ in candidates]))
        elif not (search_catalogue and catalogue.answer_search(dispatcher, text, named)):
            catalogue.not_found(dispatcher, text, named)
    return product


class ActionProductInfo(shared.SkillAction):
    def name(self) -> Text:
        return "action_product_info"

    def answer(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        product = find_product(dispatcher, tracker, search_catalogue=True)
        if product is None:
            return []
        dispatcher.utter_message(text=describe(product))
        return []
