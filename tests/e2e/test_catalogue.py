"""Catalogue questions through the real Rasa server, action server and perception service: the
answer comes from products.csv (names and prices checked against the pack), a product we don't
sell gets a plain no, a price nothing meets an honest answer."""
import csv
import uuid
from pathlib import Path

PACK = Path(__file__).resolve().parents[2] / "packs" / "brightwave"
with (PACK / "products.csv").open(encoding="utf-8") as handle:
    PRODUCTS = {row["name"].lower(): row for row in csv.DictReader(handle)}


def sender() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def price(name: str) -> str:
    return f"${float(PRODUCTS[name.lower()]['price_usd']):,.2f}"


def test_headphones_with_a_feature_and_a_price_limit(assistant):
    answer = assistant.texts(sender(), "do you have noise cancelling headphones under $200?")
    assert "brightwave buds 2 earbuds" in answer and price("Brightwave Buds 2 Earbuds") in answer
    assert "hush pro" not in answer  # $249, over the limit
    assert "couldn't find" not in answer


def test_earbuds_in_other_words(assistant):
    answer = assistant.texts(sender(), "any wireless earbuds for less than 150 bucks?")
    assert "buds 2" in answer and price("Brightwave Buds 2 Earbuds") in answer


def test_a_product_we_dont_sell_gets_no_and_the_nearest_category(assistant):
    answer = assistant.texts(sender(), "do you sell washing machines?")
    assert answer.startswith("no, we don't sell")
    assert "nearest we carry" in answer and "espresso machine" in answer
    consoles = assistant.texts(sender(), "do you guys sell game consoles?")
    assert consoles.startswith("no, we don't sell") and "game consoles" in consoles
    listed = [name for name in PRODUCTS if name in consoles]
    # nothing stated as a match: at most the products of one nearest category, named as such
    assert not listed or "nearest we carry" in consoles


def test_a_price_nothing_meets_is_answered_honestly(assistant):
    answer = assistant.texts(sender(), "I need a laptop under $20")
    assert "no laptops under $20.00" in answer
    assert "nova chromebook 13" in answer and price("Nova Chromebook 13") in answer


def test_a_named_product_is_still_described(assistant):
    answer = assistant.texts(sender(), "how much is the Aero 14?")
    assert "brightwave aero 14 laptop costs " + price("Brightwave Aero 14 Laptop") in answer
