"""Catalogue search (knowledge/catalogue.py): reading constraints out of a question and ranking
the pack's products by them, on the real products.csv and on a made-up pack."""
import shutil

import pytest

from knowledge.catalogue import Catalogue, parse_price, parse_size
from knowledge.pack import CompanyPack
from tests.knowledge.conftest import OUR_PACK


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.from_pack(CompanyPack.load(OUR_PACK))


def names(catalogue, text, limit=4):
    return [m.product.name for m in catalogue.search(catalogue.parse(text), limit=limit)]


# ---------------------------------------------------------------- prices and sizes


@pytest.mark.parametrize("text, expected", [
    ("noise cancelling headphones under $200?", (None, 200.0)),
    ("a laptop below 500 dollars", (None, 500.0)),
    ("less than 150 bucks", (None, 150.0)),
    ("anything for $1,200 or less", (None, 1200.0)),
    ("my budget is 300", (None, 300.0)),
    ("phones between $300 and $700", (300.0, 700.0)),
    ("tvs from 600 to 1000 dollars", (600.0, 1000.0)),
    ("a monitor $200-$400", (200.0, 400.0)),
    ("phones over $800", (800.0, None)),
    ("at least 1k", (1000.0, None)),
    ("what can I get for about $100", (80.0, 120.0)),
])
def test_price_limits_and_ranges(text, expected):
    low, high = parse_price(text)
    assert (low, high) == pytest.approx(expected) if None not in expected else (low, high) == expected


@pytest.mark.parametrize("text", [
    "a tv over 55 inches", "a laptop with more than 16 GB RAM", "a phone under 7 inches",
    "a 65 inch tv", "a charger over 60 w", "headphones with 40 hours battery",
])
def test_specs_are_not_prices(text):
    assert parse_price(text) == (None, None)


def test_screen_sizes():
    low, high, said, rest = parse_size("any tvs bigger than 55 inches?")
    assert low > 55 and high is None and said == "bigger than 55 inches" and "55" not in rest
    low, high, said, _ = parse_size("a monitor of at most 27 inches")
    assert low is None and high == 27 and said == "of at most 27 inches"
    assert parse_size("a 65 inch tv")[:2] == (None, None)  # one size: a feature, not a limit


# ---------------------------------------------------------------- reading a question


def test_kinds_from_the_pack_and_general_synonyms(catalogue):
    assert catalogue.parse("any earbuds?").kinds == {"headphones"}
    assert catalogue.parse("do you have a headset").kinds == {"headphones"}
    assert catalogue.parse("a new notebook").kinds == {"laptop"}  # pack.yml image_categories
    assert catalogue.parse("a television").kinds == {"tv"}
    assert catalogue.parse("smart home gadgets").kinds == {"smart-home"}
    assert catalogue.parse("headphnes under 300").kinds == {"headphones"}  # a typo
    assert catalogue.parse("laptops or tablets").kinds == {"laptop", "tablet"}


def test_a_second_kind_word_describes_the_first(catalogue):
    wanted = catalogue.parse("a phone with a good camera")
    assert wanted.kinds == {"phone"} and "camera" in wanted.features


def test_brand_order_features_and_unknown_words(catalogue):
    wanted = catalogue.parse("what's the cheapest Keytone keyboard with backlit keys")
    assert wanted.brands == {"Keytone"} and wanted.order == "cheapest"
    assert wanted.kinds == {"accessory"} and "backlit" in wanted.features
    assert catalogue.parse("the most expensive tv").order == "priciest"
    consoles = catalogue.parse("do you sell game consoles?")
    assert not consoles.kinds and not consoles.features and consoles.unknown == ["game", "consoles"]
    assert catalogue.parse("do you sell Apple products?").unknown == ["apple"]
    # question words are not things to look for
    assert catalogue.parse("what do you recommend, I'm looking for something good").is_empty()


def test_uses_become_hints(catalogue):
    wanted = catalogue.parse("a tablet for drawing")
    assert wanted.kinds == {"tablet"} and "stylus" in wanted.hints and not wanted.unknown


# ---------------------------------------------------------------- ranking


def test_noise_cancelling_headphones_under_200_is_the_buds(catalogue):
    matches = catalogue.search(catalogue.parse("do you have noise cancelling headphones under $200?"))
    assert [m.product.name for m in matches] == ["Brightwave Buds 2 Earbuds"]
    assert matches[0].product.price_usd == 129.0 and matches[0].complete


def test_without_a_price_both_headphones_the_earbuds_first_when_asked(catalogue):
    assert set(names(catalogue, "noise cancelling headphones")) == {
        "Brightwave Buds 2 Earbuds", "Brightwave Hush Pro Headphones"}
    assert names(catalogue, "earbuds")[0] == "Brightwave Buds 2 Earbuds"


def test_features_every_word_first(catalogue):
    assert names(catalogue, "a laptop with 32GB RAM") == ["Brightwave Studio 16 Laptop"]
    assert names(catalogue, "laptop with an OLED display") == ["Brightwave Studio 16 Laptop"]
    assert names(catalogue, "anything waterproof") == [
        "Sonora Boom Portable Speaker", "Brightwave Stride Smartwatch"]  # "water resistant" too


def test_a_kind_word_keeps_to_the_products_it_names(catalogue):
    # the smart-home category holds a speaker and two cameras: "speakers" are the speakers
    assert set(names(catalogue, "speakers")) == {
        "Sonora Boom Portable Speaker", "Brightwave Echoes Smart Speaker"}
    assert names(catalogue, "brightwave speakers") == ["Brightwave Echoes Smart Speaker"]


def test_order_and_price(catalogue):
    assert names(catalogue, "cheapest laptop")[0] == "Nova Chromebook 13"
    assert names(catalogue, "your most expensive tv")[0] == "Brightwave Vista 65 4K TV"
    assert names(catalogue, "laptops between $300 and $700") == [
        "Nova Chromebook 13", "Brightwave Aero 14 Laptop (Certified Refurbished)"]
    assert names(catalogue, "laptop under $20") == []
    assert names(catalogue, "tvs bigger than 55 inches") == ["Brightwave Vista 65 4K TV"]


def test_hints_rank_but_do_not_exclude(catalogue):
    assert names(catalogue, "best laptop for gaming")[0] == "Brightwave Studio 16 Laptop"
    assert names(catalogue, "smartwatch for running") == ["Brightwave Stride Smartwatch"]


def test_nearest_category_by_shared_words(catalogue):
    """Without embeddings: a category whose products' names share a word, never by a brand."""
    assert catalogue.nearest_categories("washing machine") == ["kitchen"]
    assert catalogue.nearest_categories("game consoles") == []
    assert catalogue.nearest_categories("Brightwave sunglasses") == []


def test_nearest_category_by_embeddings(catalogue):
    """With sentence embeddings the best category above the threshold, else none."""
    def embed(texts):
        import numpy as np
        # the thing asked for points along the tv category's description
        rows = [[1.0, 0.0]] + [[1.0, 0.1] if t.startswith("tv:") else [0.0, 1.0] for t in texts[1:]]
        return np.array(rows)

    assert catalogue.nearest_categories("a projector", embed=embed, threshold=0.5) == ["tv"]
    assert catalogue.nearest_categories("a projector", embed=embed, threshold=0.999) == []

    def close_call(texts):
        import numpy as np
        # two categories almost as near: no lead, no nearest
        rows = [[1.0, 0.0]] + [[1.0, 0.5] if t.startswith(("tv:", "monitor:")) else [0.0, 1.0]
                               for t in texts[1:]]
        return np.array(rows)

    assert catalogue.nearest_categories("a projector", embed=close_call, threshold=0.5) == []

    def down(texts):
        raise ConnectionError("perception service down")

    assert catalogue.nearest_categories("washing machine", embed=down) == ["kitchen"]


def test_everything_comes_from_the_pack(tmp_path):
    """Another company's catalogue: its categories, words and brands, nothing of ours."""
    shutil.copytree(OUR_PACK, tmp_path / "pack")
    (tmp_path / "pack" / "products.csv").write_text(
        "sku,name,category,brand,price_usd,warranty_months,description\n"
        "AC-BL-1,Acme Whirl Blender,kitchen,Acme,59.00,12,\"1.5 l jug, 6 speeds, ice crushing\"\n"
        "AC-BL-2,Acme Vortex Pro Blender,kitchen,Acme,149.00,24,\"2 l jug, 10 speeds, self-cleaning\"\n"
        "ZT-SB-1,Zeta Soundbar 300,audio,Zeta,199.00,12,\"Dolby Atmos soundbar with wireless subwoofer\"\n",
        encoding="utf-8")
    other = Catalogue.from_pack(CompanyPack.load(tmp_path / "pack"))
    assert names(other, "a blender under $100") == ["Acme Whirl Blender"]
    assert names(other, "self-cleaning blender") == ["Acme Vortex Pro Blender"]
    assert names(other, "soundbar with a subwoofer") == ["Zeta Soundbar 300"]
    assert other.parse("zeta audio").brands == {"Zeta"}
    laptops = other.parse("do you sell laptops")  # a kind of product this company doesn't sell
    assert not laptops.kinds and laptops.unknown == ["laptops"]
