"""action_search_products and the product question's fallback, on the reference pack's catalogue:
short lists best fit first, a plain no for what we don't sell, honest answers when nothing fits."""
import asyncio
import re

from rasa_sdk.executor import CollectingDispatcher

from actions.catalogue import ActionSearchProducts
from actions.products import ActionProductInfo
from actions.warranty import ActionProductWarranty
from knowledge.pack import CompanyPack
from tests.actions.conftest import ROOT, make_tracker, run

PRODUCTS = CompanyPack.load(ROOT / "packs" / "brightwave").products
NAMES = [p.name for p in PRODUCTS]


def search(domain, text, intent="search_products", product=None):
    entities = [{"entity": "product", "value": product}] if product else []
    dispatcher_texts, _, events = run(ActionSearchProducts(), make_tracker(text, intent, entities=entities),
                                      domain)
    return " ".join(dispatcher_texts), events


def named(text):
    """The catalogue's products the answer names, in the order it names them (a name inside a
    longer one, "Aero 14 Laptop" in "Aero 14 Laptop (Certified Refurbished)", is not counted)."""
    spans = [(m.start(), m.end(), name) for name in NAMES for m in re.finditer(re.escape(name), text)]
    kept = [(start, name) for start, end, name in spans
            if not any(s <= start and end <= e and (s, e) != (start, end) for s, e, _ in spans)]
    return [name for _, name in sorted(kept)]


def test_headphones_under_200_lists_the_buds_with_price(domain):
    said, events = search(domain, "do you have noise cancelling headphones under $200?")
    assert named(said) == ["Brightwave Buds 2 Earbuds"]
    assert "$129.00" in said and "noise cancelling" in said
    assert "Hush Pro" not in said  # $249: over the limit
    assert {"event": "slot", "name": "next_step", "value": None} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events]


def test_short_list_best_fit_first_with_buttons(domain):
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionSearchProducts().run(dispatcher, make_tracker("cheapest laptop", "search_products"),
                                           domain))
    [message] = dispatcher.messages
    said = message["text"]
    listed = list(dict.fromkeys(named(said)))  # the cheapest is named, then listed
    assert listed[0] == "Nova Chromebook 13" and "$329.00" in said
    assert 1 < len(listed) <= 5
    prices = [p.price_usd for name in listed for p in PRODUCTS if p.name == name]
    assert prices == sorted(prices)
    assert [b["title"] for b in message["buttons"]] == listed
    assert message["buttons"][0]["payload"] == '/product_info{"product": "Nova Chromebook 13"}'


def test_the_answer_keeps_to_the_kind_asked_for(domain):
    said, _ = search(domain, "what smart speakers do you have?")
    assert "Echoes Smart Speaker" in said
    assert "Camera" not in said and "Doorbell" not in said


def test_not_sold_is_a_plain_no_and_names_no_product_as_a_match(domain):
    said, _ = search(domain, "do you sell game consoles?")
    assert said.startswith("No, we don't sell")
    assert "game consoles" in said
    assert named(said) == []  # no unrelated product stated as a match
    assert "laptops" in said and "TVs" in said  # what we do sell instead


def test_not_sold_with_the_nearest_category(domain):
    said, _ = search(domain, "do you have a washing machine?")
    assert said.startswith("No, we don't sell")
    assert "nearest we carry" in said and "Nova Espresso Machine" in said


def test_a_brand_we_dont_carry(domain):
    said, _ = search(domain, "do you sell Apple products?")
    assert said.startswith("No, we don't sell") and "Apple" in said and named(said) == []


def test_impossible_price_is_answered_honestly(domain):
    said, _ = search(domain, "I want a laptop under $20")
    assert re.search(r"no laptops under \$20", said)
    assert "cheapest is the Nova Chromebook 13 at $329.00" in said


def test_nothing_bigger_names_the_biggest(domain):
    said, _ = search(domain, "any TVs bigger than 80 inches?")
    assert "no TVs bigger than 80 inches" in said and "Vista 65" in said and "65 inches" in said


def test_a_range_with_nothing_inside_names_the_nearest_on_both_sides(domain):
    said, _ = search(domain, "a tv between $700 and $900")
    assert "no TVs between $700.00 and $900.00" in said
    assert "Vista 55 4K TV at $649.00" in said and "Vista 65 4K TV at $999.00" in said


def test_a_feature_nobody_has_is_said(domain):
    said, _ = search(domain, "sony headphones")
    assert 'none of our headphones with "sony"' in said
    assert set(named(said)) == {"Brightwave Buds 2 Earbuds", "Brightwave Hush Pro Headphones"}


def test_a_named_product_we_sell(domain):
    said, _ = search(domain, "do you sell the hush pro?")
    assert said.startswith("Yes") and "Brightwave Hush Pro Headphones" in said and "$249.00" in said


def test_nothing_to_search_by_lists_what_we_sell(domain):
    said, _ = search(domain, "what do you recommend?")
    assert "We sell laptops" in said and named(said) == []


# ---------------------------------------------------------------- product questions


def product_info(domain, text, product=None, action=ActionProductInfo):
    entities = [{"entity": "product", "value": product}] if product else []
    return " ".join(run(action(), make_tracker(text, "product_info", entities=entities), domain)[0])


def test_a_named_product_we_dont_sell_is_not_guessed(domain):
    said = product_info(domain, "how much is the iPhone 15?", product="iPhone 15")
    assert said.startswith("No, we don't sell") and "iPhone 15" in said
    assert named(said) == [] and "$" not in said
    said = product_info(domain, "what's the warranty on the Galaxy S24", product="Galaxy S24",
                        action=ActionProductWarranty)
    assert said.startswith("No, we don't sell") and named(said) == []


def test_a_catalogue_question_read_as_product_info_is_searched(domain):
    said = product_info(domain, "do you have a laptop with 32GB RAM")
    assert named(said) == ["Brightwave Studio 16 Laptop"] and "$1,499.00" in said


def test_a_kind_without_a_name_asks_which(domain):
    said = product_info(domain, "how long is the warranty on the laptop?", action=ActionProductWarranty)
    assert said.startswith("Which of our laptops do you mean?")
    assert set(named(said)) == {p.name for p in PRODUCTS if p.category == "laptop"}
    assert "month" not in said  # no warranty stated for a product not yet chosen
