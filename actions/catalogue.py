"""Catalogue search: "noise cancelling headphones under $200?", "the cheapest laptop", "do you
sell game consoles?" answered from products.csv (knowledge/catalogue.py) with a short list, best
fit first; a plain no for what we don't sell, with the nearest category we do sell."""
import json
import logging
import re
from typing import Any, Dict, List, Optional, Sequence, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import shared
from knowledge.catalogue import Catalogue, Constraints, Match, inches, plural, stem, words
from knowledge.pack import Product

logger = logging.getLogger(__name__)

MAX_LISTED = 4
# all-MiniLM-L6-v2 cosine between something we don't sell and a category (its name and its
# products' names) from which that category is named as the nearest, and its lead over the second
# category; below, the categories are listed instead. Chosen with scripts/catalogue_nearest.py on
# 43 things the reference pack doesn't sell: at 0.35 / 0.03, 15 get a fair nearest category
# (washing machine -> kitchen, kindle -> tablet, soundbar -> speaker), 27 none, 1 a wrong one
# (baby monitor -> monitor); at 0.30, 16 fair and 3 wrong; at 0.40, 5 fair and 1 wrong.
NEAREST_CATEGORY_THRESHOLD = 0.35
NEAREST_CATEGORY_MARGIN = 0.03


def choice_buttons(products: Sequence[Product]) -> List[Dict[str, str]]:
    """One button per product; its payload asks about that product by name."""
    return [{"title": product.name,
             "payload": "/product_info" + json.dumps({"product": product.name})}
            for product in products]


def catalogue() -> Catalogue:
    """The catalogue of the current pack, built once (`shared.reset()` drops it with the pack)."""
    return shared._cached("catalogue", lambda: Catalogue.from_pack(shared.pack()))


def _embed():
    """The perception service's sentence embeddings, when the knowledge index has a client."""
    client = getattr(shared.index(), "client", None)
    return client.embed if client is not None else None


def price_phrase(wanted: Constraints) -> str:
    """" under $200.00", " between ...", plus a screen size asked for."""
    return (f" {wanted.size_phrase}" if wanted.size_phrase else "") + _money_phrase(wanted)


def _money_phrase(wanted: Constraints) -> str:
    money = shared.money
    if wanted.min_price is not None and wanted.max_price is not None:
        return f" between {money(wanted.min_price)} and {money(wanted.max_price)}"
    if wanted.max_price is not None:
        return f" under {money(wanted.max_price)}"
    if wanted.min_price is not None:
        return f" over {money(wanted.min_price)}"
    return ""


def kind_label(cat: Catalogue, wanted: Constraints) -> str:
    """"headphones", "Keytone accessories", "products"."""
    if wanted.kind_words:
        label = " or ".join(dict.fromkeys(plural(w) if w != "smarthome" else "smart-home products" for w in wanted.kind_words))
    elif wanted.kinds:
        label = " or ".join(cat.category_label(c) for c in sorted(wanted.kinds))
    else:
        label = "products"
    if wanted.brands:
        label = f"{' or '.join(sorted(wanted.brands))} {label}"
    return label


def line(match: Match) -> str:
    product = match.product
    return f"{product.name}: {shared.money(product.price_usd)} ({product.description})"


def listing(dispatcher: CollectingDispatcher, intro: str, products: Sequence[Product],
            matches: Optional[Sequence[Match]] = None) -> None:
    rows = matches or [Match(p, 1.0, ()) for p in products]
    text = intro + "\n" + "\n".join(f"- {line(m)}" for m in rows[:MAX_LISTED])
    dispatcher.utter_message(text=text, buttons=choice_buttons([m.product for m in rows[:MAX_LISTED]]))


def asked_phrase(text: str, wanted: Constraints) -> str:
    """The words that named what the customer asked for, as written ("game consoles", "Apple")."""
    kept = set(wanted.unknown) | set(wanted.features) | set(wanted.kind_words)
    phrase = [w for w in re.findall(r"[\w-]+", text) if w.lower() in kept or stem(w) in kept]
    return " ".join(phrase) or " ".join(wanted.unknown)


def not_sold(dispatcher: CollectingDispatcher, thing: str) -> None:
    """A plain no, and the nearest category we do sell (or what we sell)."""
    cat = catalogue()
    # by sentence embeddings when the perception service answers, else by shared words
    nearest = cat.nearest_categories(thing, embed=_embed(), threshold=NEAREST_CATEGORY_THRESHOLD,
                                     margin=NEAREST_CATEGORY_MARGIN)
    no = (f"No, we don't sell that: there is no \"{thing}\" in our catalogue." if thing
          else "No, we don't sell that.")
    if nearest:
        products = [p for p in cat.products if p.category == nearest[0]]
        listing(dispatcher, f"{no} The nearest we carry are our {cat.category_label(nearest[0])}:",
                sorted(products, key=lambda p: p.price_usd))
        return
    labels = shared.join_words([cat.category_label(c) for c in cat.categories])
    dispatcher.utter_message(text=f"{no} We sell {labels}.")


def not_found(dispatcher: CollectingDispatcher, text: str, named: Optional[str] = None) -> None:
    """No product of the catalogue is named: which of a kind we sell they mean ("the laptop"),
    or plainly that we don't sell what they named; never a guess."""
    cat = catalogue()
    wanted = cat.parse(named or text)
    if not (wanted.kinds or wanted.brands) and named is None:
        wanted = cat.parse(text)
    if wanted.kinds or wanted.brands:
        products = sorted(cat.filtered(wanted, prices=False), key=lambda p: p.price_usd)
        if products:
            listing(dispatcher, f"Which of our {kind_label(cat, wanted)} do you mean?", products)
            return
    thing = named or asked_phrase(text, wanted)
    if thing:
        not_sold(dispatcher, thing)
    else:
        dispatcher.utter_message(text="I couldn't find that product in our catalogue. "
                                      "Could you tell me its full name?")


def answer_search(dispatcher: CollectingDispatcher, text: str, named: Optional[str] = None) -> bool:
    """Answer a catalogue question from `text`; False when it asks for nothing the catalogue
    can be searched by (no kind, feature, price, brand or order and no unknown word)."""
    cat = catalogue()
    wanted = cat.parse(text)
    pack = shared.pack()
    if not (wanted.kinds or wanted.brands):
        product = pack.find_product(named) if named else None
        if product is None and not wanted.unknown:
            product = pack.find_product(text)
        if product is not None:
            dispatcher.utter_message(
                text=f"Yes, we sell the {product.name}: {shared.money(product.price_usd)} "
                     f"({product.description}).",
                buttons=choice_buttons([product]))
            return True
        if wanted.unknown or named:
            not_sold(dispatcher, named or asked_phrase(text, wanted))
            return True
    if wanted.is_empty():
        if wanted.unknown:
            not_sold(dispatcher, asked_phrase(text, wanted))
            return True
        return False

    label = kind_label(cat, wanted)
    pool = cat.filtered(wanted, prices=False)
    if not pool:
        # a brand we carry, but not in this kind
        others = cat.filtered(Constraints(kinds=wanted.kinds))
        listing(dispatcher, f"We have no {label}. These are the ones we carry:",
                sorted(others, key=lambda p: p.price_usd))
        return True
    matches = cat.search(wanted, limit=MAX_LISTED)
    if not matches:
        dispatcher.utter_message(text=no_price_fit(cat, wanted, label, pool))
        return True
    missing = list(wanted.unknown) if wanted.kinds else []
    if wanted.features and not matches[0].complete:
        missing += [f for f in wanted.features if f not in matches[0].matched]
    if missing:
        partial = any(m.matched for m in matches)
        intro = (f"I found none of our {label}{price_phrase(wanted)} with \"{' '.join(missing)}\"; "
                 + ("the closest first:" if partial else f"these are the {label} we have:"))
    elif wanted.order == "cheapest":
        intro = (f"The cheapest of our {label}{price_phrase(wanted)} is the {matches[0].product.name} "
                 f"at {shared.money(matches[0].product.price_usd)}. From the cheapest:")
    elif wanted.order == "priciest":
        intro = (f"The most expensive of our {label}{price_phrase(wanted)} is the "
                 f"{matches[0].product.name} at {shared.money(matches[0].product.price_usd)}:")
    elif len(matches) == 1:
        intro = f"One of our {label}{price_phrase(wanted)} fits:"
    else:
        intro = f"These {label}{price_phrase(wanted)} fit, best match first:"
    listing(dispatcher, intro, [m.product for m in matches], matches)
    return True


def no_price_fit(cat: Catalogue, wanted: Constraints, label: str, pool: List[Product]) -> str:
    """Nothing of that kind in that price or size range: say so, and the nearest we have."""
    cheapest, priciest = cat.cheapest(pool), cat.priciest(pool)
    money = shared.money
    sized = [p for p in pool if inches(p) is not None]
    if wanted.min_inches is not None and all(inches(p) < wanted.min_inches for p in sized):
        biggest = max(sized, key=inches, default=None)
        return (f"We have no {label} {wanted.size_phrase}" +
                (f"; the biggest is the {biggest.name} ({inches(biggest):g} inches) at "
                 f"{money(biggest.price_usd)}." if biggest else "."))
    if wanted.max_inches is not None and all(inches(p) > wanted.max_inches for p in sized):
        smallest = min(sized, key=inches, default=None)
        return (f"We have no {label} {wanted.size_phrase}" +
                (f"; the smallest is the {smallest.name} ({inches(smallest):g} inches) at "
                 f"{money(smallest.price_usd)}." if smallest else "."))
    if wanted.min_inches is not None or wanted.max_inches is not None:
        pool = cat.filtered(Constraints(kinds=wanted.kinds, kind_words=wanted.kind_words,
                                        brands=wanted.brands, min_inches=wanted.min_inches,
                                        max_inches=wanted.max_inches))
        cheapest, priciest = cat.cheapest(pool), cat.priciest(pool)
        if not pool:
            return f"We have no {label}{price_phrase(wanted)}."
    if wanted.max_price is not None and cheapest.price_usd > wanted.max_price:
        return (f"We have no {label}{price_phrase(wanted)}; the cheapest is the {cheapest.name} "
                f"at {money(cheapest.price_usd)}.")
    if wanted.min_price is not None and priciest.price_usd < wanted.min_price:
        return (f"We have no {label}{price_phrase(wanted)}; the most expensive is the "
                f"{priciest.name} at {money(priciest.price_usd)}.")
    below = [p for p in pool if wanted.min_price is not None and p.price_usd < wanted.min_price]
    above = [p for p in pool if wanted.max_price is not None and p.price_usd > wanted.max_price]
    nearest = [p for p in (cat.priciest(below), cat.cheapest(above)) if p is not None]
    names = shared.join_words([f"the {p.name} at {money(p.price_usd)}" for p in nearest])
    return f"We have no {label}{price_phrase(wanted)}; the nearest are {names}."


class ActionSearchProducts(shared.SkillAction):
    def name(self) -> Text:
        return "action_search_products"

    def answer(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        text = shared.user_text(tracker)
        named = shared.latest_entity(tracker, "product")
        if not answer_search(dispatcher, text, named):
            cat = catalogue()
            labels = shared.join_words([cat.category_label(c) for c in cat.categories])
            dispatcher.utter_message(
                text=f"We sell {labels}. What are you looking for, and is there a budget?")
        return []
