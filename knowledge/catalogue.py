"""Catalogue search: what a customer asks for ("noise cancelling headphones under $200", "the
cheapest laptop", "do you sell game consoles?") matched against the pack's products.csv.

`parse(text, catalogue)` reads the constraints out of one message: the kinds of product (a
category or a word for one), feature words, a price limit or range, a brand, an order ("cheapest",
"best"), and the words that name nothing the catalogue knows. `Catalogue.search()` keeps the
products that meet the hard constraints (kind, price, brand) and ranks them by how many of the
feature words their name, category and description carry.

The vocabulary comes from the pack: category names, the words of product names and descriptions,
brands, and pack.yml `image_categories`. Only general English lives here: a few groups of words
for the same kind of thing (headphones ~ earbuds ~ buds), uses that ask for features ("for
gaming"), and the words of a shopping question that name no product.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import numpy as np

from knowledge.pack import CompanyPack, Product

# Words for the same kind of product (general English; one group per kind). A group joins a
# category of the pack when one of its words is that category's name or a word of its products'
# names or of pack.yml image_categories.
KIND_GROUPS: Tuple[Tuple[str, ...], ...] = (
    ("headphone", "earbud", "bud", "earphone", "headset", "earpiece", "headphones"),
    ("laptop", "notebook", "chromebook", "ultrabook", "macbook"),
    ("phone", "smartphone", "cellphone", "mobile", "handset"),
    ("tablet", "ipad"),
    ("tv", "television", "telly"),
    ("speaker", "loudspeaker", "boombox"),
    ("router", "wifi", "mesh", "modem", "networking", "extender"),
    ("smartwatch", "watch", "wearable", "tracker"),
    ("camera", "cam", "webcam", "doorbell"),
    ("keyboard",),
    ("mouse", "mice"),
    ("monitor",),
    ("charger", "adapter"),
    ("powerbank",),
    ("espresso", "coffee", "kitchen"),
)

# What a use names in a product's words ("for gaming": a fast screen or graphics)
USES: Dict[str, Tuple[str, ...]] = {
    "gaming": ("hz", "graphics"),
    "gamer": ("hz", "graphics"),
    "travel": ("noise", "battery", "lightweight", "kg"),
    "travelling": ("noise", "battery", "kg"),
    "traveling": ("noise", "battery", "kg"),
    "flight": ("noise", "battery"),
    "commute": ("noise", "battery"),
    "drawing": ("stylus",),
    "art": ("stylus",),
    "running": ("gps", "heart"),
    "fitness": ("gps", "heart"),
    "workout": ("gps", "heart"),
    "swimming": ("water",),
    "beach": ("waterproof",),
    "pool": ("waterproof",),
    "shower": ("waterproof",),
    "outdoor": ("waterproof",),
    "outdoors": ("waterproof",),
    "hiking": ("gps", "waterproof"),
    "camping": ("waterproof", "battery"),
    "party": ("speaker", "waterproof"),
    "music": ("speaker", "audio"),
    "office": ("ergonomic", "wireless"),
    "typing": ("keyboard", "mechanical"),
    "gift": (),
    "security": ("motion", "night"),
    "video": ("oled", "4k"),
    "movies": ("4k", "oled", "dolby"),
    "editing": ("oled", "ram", "graphics"),
    "programming": ("ram",),
    "student": ("battery",),
    "students": ("battery",),
    "school": ("battery",),
    "university": ("battery",),
    "college": ("battery",),
    "photos": ("camera",),
    "photography": ("camera",),
    "calls": ("noise",),
    "house": ("sq",),
    "home": ("sq",),
}

# Feature words written several ways
FEATURE_SYNONYMS: Dict[str, str] = {
    "anc": "noise cancelling",
    "cordless": "wireless",
    "bluetooth": "bluetooth",
    "wi-fi": "wifi",
    "waterproof": "waterproof water",
    "4k": "4k",
    "uhd": "4k",
    "lightweight": "light kg",
    "light": "light kg",
    "big": "",
    "large": "",
    "small": "",
}

# The words of a shopping question that name nothing to look for
QUESTION_WORDS = frozenset(
    """a an and are as at be been but by can could do does did for from had has have how i i'm im
    if in into is it its me my of on or our so than that the their them then there these this those
    to us was we were what whats what's when where which who why will with would you your yours am
    any about just please hi hello hey thanks thank get got want wanted need needs tell know like
    let say some much many also here really very still ok okay yes no ive i've i'd id looking look
    find found show see sell sells selling sold carry carries stock stocked offer offers available
    buy buying purchase order shop store range options option choice choices recommend recommended
    recommendation recommendations suggest suggestion suggestions good great nice decent best better
    top cheap cheapest cheaper inexpensive affordable budget expensive priciest premium price priced
    prices pricing cost costs costing dollar dollars usd buck bucks under below less lower within
    over above more higher least most max maximum min minimum around about roughly between upto up
    than spend spending afford product products item items thing things stuff something anything
    device devices gadget gadgets model models one ones kind type sort new brand brands any other
    currently right now today still got gotta should shall might must may wonder wondering curious
    interested interest help lot lots all every each whole list catalogue catalog deal deals sale
    warranty guarantee spec specs specification specifications detail details info information
    compare comparison difference features feature review reviews worth colour color colours
    colors size weight long included box difference vs versus actually exactly else cool fancy
    don doesn isn aren won didn wasn haven hasn shouldn wouldn couldn cannot not
    grandma grandpa grandmother grandfather mother father brother sister parents teenager boss
    on offer money mom dad son daughter kid kids wife husband friend gift present birthday christmas
    myself someone family use using used work works working plus also both either something
    whatever which someone got has hav u ur pls plz thx you've youve yall guys sir madam hi""".split()
)

_PRICE_NUMBER = r"\$?\s*(\d[\d,]*(?:\.\d+)?)\s*(k\b)?\s*(?:dollars?|bucks|usd|\$)?"
_MAX_WORDS = (r"under|below|less than|cheaper than|no more than|not more than|up to|upto|at most|"
              r"max(?:imum)?|within|lower than|not over|under the|beneath|a budget of|budget of|"
              r"budget is|budget|spend|afford")
_MIN_WORDS = r"over|above|more than|at least|min(?:imum)?|upwards of|higher than|starting at|from"


def stem(word: str) -> str:
    """A word without its plural ending ("headphones", "accessories", "watches")."""
    word = word.lower()
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us")):
        return word[:-1]
    return word


# words written apart or together
_JOINED = ((r"wi[- ]?fi", "wifi"), (r"power[- ]banks?", "powerbank"), (r"smart[- ]home", "smarthome"),
           (r"smart[- ]watch", "smartwatch"), (r"smart[- ]phone", "smartphone"),
           (r"ear[- ]?buds?", "earbuds"), (r"head[- ]?phones?", "headphones"),
           (r"noise[- ]cancel", "noise cancel"), (r"battery[- ]packs?", "powerbank"),
           (r"portable chargers?", "powerbank"), (r"cell[- ]phones?", "cellphone"))


def words(text: str) -> List[str]:
    """Lowercase words and numbers; a number with its unit is one word ("32gb", "55inch")."""
    text = re.sub(r"['’](s|m|re|ve|d|ll|t)\b", "", text.lower()).replace("-inch", " inch")
    for pattern, joined in _JOINED:
        text = re.sub(r"\b" + pattern, joined, text)
    text = re.sub(r"(\d)\s*(gb|tb|mp|hz|mah|mm|inch|inches|in\b|k\b|w\b|kg)", r"\1\2", text)
    text = re.sub(r"(\d+)inches", r"\1inch", text)
    return re.findall(r"[a-z0-9]+", text)


def _close(a: str, b: str) -> bool:
    """The same word or one's form of the other: cancelling ~ canceling ~ cancellation."""
    if a == b:
        return True
    if a.isdigit() or b.isdigit() or any(c.isdigit() for c in a + b):
        return False
    return len(a) >= 5 and len(b) >= 5 and a[:5] == b[:5] and abs(len(a) - len(b)) <= 5


@dataclass
class Constraints:
    kinds: Set[str] = field(default_factory=set)        # categories of the pack
    kind_words: List[str] = field(default_factory=list)  # the words that named them
    features: List[str] = field(default_factory=list)    # words a product's text should carry
    hints: List[str] = field(default_factory=list)       # words a use suggests ("for gaming": hz)
    max_price: Optional[float] = None
    min_price: Optional[float] = None
    min_inches: Optional[float] = None  # screen size ("bigger than 55 inches")
    max_inches: Optional[float] = None
    size_phrase: str = ""  # how the customer put it: "bigger than 55 inches"
    brands: Set[str] = field(default_factory=set)
    order: Optional[str] = None  # "cheapest" | "priciest"
    unknown: List[str] = field(default_factory=list)     # words naming nothing in the catalogue

    def is_empty(self) -> bool:
        return not (self.kinds or self.features or self.hints or self.brands or self.order
                    or self.max_price is not None or self.min_price is not None
                    or self.min_inches is not None or self.max_inches is not None)


@dataclass(frozen=True)
class Match:
    product: Product
    score: float          # share of the feature words the product carries (1.0 without any)
    matched: Tuple[str, ...]
    complete: bool = True  # it carries every feature word asked for


def plural(word: str) -> str:
    word = word.lower()
    if word in ("tv", "tvs"):
        return "TVs"
    if word.endswith("s"):
        return word
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + ("es" if word.endswith(("ch", "sh", "x")) else "s")


class Catalogue:
    """The pack's products with the words that name their kind and describe them."""

    def __init__(self, pack: CompanyPack) -> None:
        self.pack = pack
        self.products: List[Product] = list(pack.products)
        self.brands: Dict[str, str] = {p.brand.lower(): p.brand for p in self.products if p.brand}
        self.categories: List[str] = []
        for product in self.products:
            if product.category and product.category not in self.categories:
                self.categories.append(product.category)
        image_words = pack.settings.get("image_categories") or {}
        # category -> the stems that name it: its name ("smart-home" as "smarthome"), the one-word
        # labels of pack.yml image_categories, and the groups of KIND_GROUPS its products' names join
        self.kind_words: Dict[str, Set[str]] = {}
        for category in self.categories:
            own = {stem(category.replace("-", ""))}
            for label in image_words.get(category, []):
                if len(words(label)) == 1:
                    own.add(stem(words(label)[0]))
            names = {stem(w) for p in self.products if p.category == category for w in words(p.name)}
            for group in KIND_GROUPS:
                stems = {stem(w) for phrase in group for w in words(phrase)}
                if stems & (own | names):
                    own |= stems
            own |= {w for w in names if any(w in {stem(x) for x in g} for g in KIND_GROUPS)}
            self.kind_words[category] = own
        # a product's own kind words (the Buds 2 are earbuds, not over-ear headphones)
        self.text_words: Dict[str, List[str]] = {}
        for p in self.products:
            found = [stem(w) for w in words(f"{p.name} {p.category} {p.description}")]
            # "120hz" also says "hz": a fast screen, whatever the number
            found += [re.sub(r"^[\d.]+", "", w) for w in found if re.fullmatch(r"[\d.]+[a-z]+", w)]
            self.text_words[p.sku] = found
        self.vocabulary: Set[str] = {w for ws in self.text_words.values() for w in ws}
        self.name_words: Set[str] = {stem(w) for p in self.products for w in words(p.name)}

    @classmethod
    def from_pack(cls, pack: CompanyPack) -> "Catalogue":
        return cls(pack)

    # ------------------------------------------------------------ reading a question

    def kinds_of(self, word: str) -> Set[str]:
        """The categories a word names (exactly, or with a typo: "headphnes")."""
        exact = {c for c, ws in self.kind_words.items() if word in ws or (word.endswith("s") and word[:-1] in ws)}
        if exact or len(word) < 6:
            return exact
        return {c for c, ws in self.kind_words.items()
                if any(len(w) >= 6 and difflib.SequenceMatcher(None, word, w).ratio() >= 0.85
                       for w in ws)}

    def parse(self, text: str) -> Constraints:
        found = Constraints()
        lowered = (text or "").lower()
        found.min_price, found.max_price = parse_price(lowered)
        found.min_inches, found.max_inches, found.size_phrase, lowered = parse_size(lowered)
        if re.search(r"\b(cheapest|least expensive|lowest price|lowest[- ]priced|most affordable)\b", lowered):
            found.order = "cheapest"
        elif re.search(r"\b(most expensive|priciest|top of the range|high[- ]end|premium)\b", lowered):
            found.order = "priciest"
        for category in self.categories:  # "smart home" / "smart-home" -> "smarthome"
            if "-" in category:
                lowered = re.sub(re.escape(category).replace("\\-", "[- ]?"), category.replace("-", ""), lowered)
        tokens = words(_strip_prices(lowered))
        joined = True  # the next kind word joins the kinds asked for ("laptops or tablets")
        for token in tokens:
            if len(token) < 2 and not token.isdigit():
                continue
            word = stem(token)
            kinds = self.kinds_of(word)
            if kinds and (joined or not found.kinds):
                found.kinds |= kinds
                found.kind_words.append(token)
                joined = False
                continue
            if token in ("or", "and"):
                joined = True
                continue
            if token not in ("a", "an", "the"):
                joined = False
            if kinds:  # a second kind word describes the first: "phone with a good camera"
                if word not in found.features:
                    found.features.append(word)
            elif token in self.brands:
                found.brands.add(self.brands[token])
            elif token in USES:
                found.hints.extend(f for f in USES[token] if f not in found.hints)
            elif token in QUESTION_WORDS or word in QUESTION_WORDS:
                continue
            elif token in FEATURE_SYNONYMS:
                for extra in words(FEATURE_SYNONYMS[token]):
                    if extra not in found.features:
                        found.features.append(extra)
            elif self._known(word):
                if word not in found.features:
                    found.features.append(word)
            elif not token.isdigit() and len(token) > 1:
                found.unknown.append(token)
        return found

    def _known(self, word: str) -> bool:
        return any(_close(word, known) for known in self.vocabulary)

    # ------------------------------------------------------------ ranking

    def of_kind(self, word: str) -> List[Product]:
        """The products a kind word names: in a category it names, those whose own words say
        it (or a word of its group: "speaker" is the smart-home Echoes speaker, not the camera);
        all of the category when none does ("ipod" for the phones)."""
        word = stem(word)
        accepted = {word}
        for group in KIND_GROUPS:
            stems = {stem(w) for w in group}
            if word in stems:
                accepted |= stems
        found: List[Product] = []
        for category in self.kinds_of(word):
            members = [p for p in self.products if p.category == category]
            saying = [p for p in members if accepted & set(self.text_words[p.sku])]
            found += saying or members
        return found

    def filtered(self, wanted: Constraints, prices: bool = True) -> List[Product]:
        """The products of the kinds and brands asked for (and, with `prices`, in the price and
        screen-size ranges)."""
        keep = []
        kind = {p.sku for w in wanted.kind_words for p in self.of_kind(w)}
        for product in self.products:
            if wanted.kinds and product.category not in wanted.kinds:
                continue
            if kind and product.sku not in kind:
                continue
            if wanted.brands and product.brand not in wanted.brands:
                continue
            size = inches(product)
            if prices and wanted.min_inches is not None and (size is None or size < wanted.min_inches):
                continue
            if prices and wanted.max_inches is not None and (size is None or size > wanted.max_inches):
                continue
            if prices and wanted.max_price is not None and product.price_usd > wanted.max_price:
                continue
            if prices and wanted.min_price is not None and product.price_usd < wanted.min_price:
                continue
            keep.append(product)
        return keep

    def score(self, product: Product, wanted: Constraints) -> Match:
        text = self.text_words[product.sku]
        matched = tuple(f for f in wanted.features if any(_close(f, w) for w in text))
        hinted = [h for h in wanted.hints if any(_close(h, w) for w in text)]
        kind_bonus = 0.0
        if wanted.kind_words:  # "earbuds": the product whose own name says so first
            said = {stem(w) for w in wanted.kind_words}
            kind_bonus = 0.25 if said & set(text) else 0.0
        share = len(matched) / len(wanted.features) if wanted.features else 1.0
        hint_share = 0.5 * len(hinted) / len(wanted.hints) if wanted.hints else 0.0
        return Match(product, round(share + hint_share + kind_bonus, 4), matched + tuple(hinted),
                     complete=len(matched) == len(wanted.features))

    def search(self, wanted: Constraints, limit: int = 4) -> List[Match]:
        """Products that meet the kind, brand and price, best fit first: most feature words, then
        the order asked for (cheapest first unless "most expensive"). When some carry every
        feature word only those; else those that carry some (`complete` False)."""
        matches = [self.score(p, wanted) for p in self.filtered(wanted)]
        if any(m.complete for m in matches):
            matches = [m for m in matches if m.complete]
        elif any(m.matched for m in matches):
            matches = [m for m in matches if m.matched]
        if wanted.order == "priciest":
            matches.sort(key=lambda m: (-m.score, -m.product.price_usd))
        else:
            matches.sort(key=lambda m: (-m.score, m.product.price_usd))
        return matches[:limit]

    def nearest_categories(self, phrase: str,
                           embed: Optional[Callable[[Sequence[str]], np.ndarray]] = None,
                           threshold: float = 0.35, margin: float = 0.03) -> List[str]:
        """The category closest to something we don't sell. With `embed` (sentence embeddings)
        the best category by cosine to its name and products' names, when at least `threshold`
        and `margin` above the second; else (or when the service fails) a category whose
        products' names share a word with it (not a brand or a number)."""
        if not phrase:
            return []
        if embed is not None:
            try:
                labels = [self.describe_category(c) for c in self.categories]
                vectors = np.asarray(embed([phrase] + labels), dtype=float)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9
                sims = vectors[1:] @ vectors[0]
                order = np.argsort(-sims)
                best = int(order[0])
                second = float(sims[order[1]]) if len(order) > 1 else -1.0
                if sims[best] >= threshold and sims[best] - second >= margin:
                    return [self.categories[best]]
                return []
            except Exception:  # noqa: BLE001 - the service is down: the words decide
                pass
        asked = {stem(w) for w in words(phrase) if len(w) > 3 and not w.isdigit()}
        asked -= QUESTION_WORDS | set(self.brands)
        for category in self.categories:
            names = {stem(w) for p in self.products if p.category == category for w in words(p.name)}
            if asked & names:
                return [category]
        return []

    def describe_category(self, category: str) -> str:
        names = ", ".join(p.name for p in self.products if p.category == category)
        return f"{category.replace('-', ' ')}: {names}"

    def category_label(self, category: str) -> str:
        """"laptops", "accessories", "smart-home products": a category's name as a plural noun."""
        in_names = any(stem(category.lower()) == stem(w) for p in self.products for w in words(p.name))
        if in_names or category.endswith(("y", "able")):
            return plural(category)
        return f"{category} products"

    def cheapest(self, products: Iterable[Product]) -> Optional[Product]:
        return min(products, key=lambda p: p.price_usd, default=None)

    def priciest(self, products: Iterable[Product]) -> Optional[Product]:
        return max(products, key=lambda p: p.price_usd, default=None)


_SIZE = r"(\d+(?:\.\d+)?)\s*(?:-?inch(?:es)?|in\b|\"|'')"


def parse_size(text: str) -> Tuple[Optional[float], Optional[float], str, str]:
    """(min, max) screen size in inches from "bigger than 55 inches", "at least 60 inch", "under
    15 inches", "65 inch or larger", the phrase as a customer would say it ("bigger than 55
    inches"), and the text without that phrase. An exact size ("a 65 inch
    TV") stays in the text as a feature word."""
    low = high = None
    said = []
    patterns = (
        (r"\b(?:bigger|larger|more|wider|over|above)\s+than\s+" + _SIZE, "low", 0.01),
        (r"\b(?:at least|minimum|min|over|above)\s+" + _SIZE, "low", 0.0),
        (_SIZE + r"\s+(?:or|and)\s+(?:bigger|larger|more|up|above)", "low", 0.0),
        (r"\b(?:smaller|less|under|below)\s+(?:than\s+)?" + _SIZE, "high", -0.01),
        (r"\b(?:at most|maximum|max|up to)\s+" + _SIZE, "high", 0.0),
        (_SIZE + r"\s+(?:or|and)\s+(?:smaller|less|under|below)", "high", 0.0),
    )
    for pattern, which, nudge in patterns:
        found = re.search(pattern, text)
        if not found:
            continue
        value = float(found.group(1)) + nudge
        if which == "low" and low is None:
            low = value
            said.append(("bigger than" if nudge else "of at least") + f" {float(found.group(1)):g} inches")
        elif which == "high" and high is None:
            high = value
            said.append(("smaller than" if nudge else "of at most") + f" {float(found.group(1)):g} inches")
        text = text[:found.start()] + " " + text[found.end():]
    return low, high, " and ".join(said), text


def inches(product: Product) -> Optional[float]:
    """The screen size its description gives first ("55-inch 4K QLED"), or None."""
    found = re.search(r"(\d+(?:\.\d+)?)\s*-?inch", product.description)
    return float(found.group(1)) if found else None


def _number(value: str, thousands: Optional[str]) -> float:
    amount = float(value.replace(",", ""))
    return amount * 1000 if thousands else amount


def parse_price(text: str) -> Tuple[Optional[float], Optional[float]]:
    """(min, max) price from "under $200", "between 100 and 300", "$100-$300", "over 500 dollars",
    "around $300" (±20%), "200 or less"; a number counts as a price only next to a price word or $."""
    text = text.lower()
    money = _PRICE_NUMBER
    ranged = re.search(r"(?:between|from)\s+" + money + r"\s+(?:and|to|-)\s+" + money, text) \
        or re.search(r"\$\s*(\d[\d,]*(?:\.\d+)?)\s*(k\b)?\s*(?:-|to)\s*" + money, text)
    if ranged:
        low, high = _number(ranged.group(1), ranged.group(2)), _number(ranged.group(3), ranged.group(4))
        return min(low, high), max(low, high)
    low = high = None
    found = re.search(r"\b(?:" + _MAX_WORDS + r")\s+(?:of\s+|around\s+|about\s+)?" + money, text)
    if found and _looks_like_price(text, found):
        high = _number(found.group(1), found.group(2))
    found = re.search(money + r"\s+(?:or|and)\s+(?:less|under|below|cheaper)", text)
    if high is None and found and _looks_like_price(text, found):
        high = _number(found.group(1), found.group(2))
    found = re.search(r"\b(?:" + _MIN_WORDS + r")\s+" + money, text)
    if found and _looks_like_price(text, found) and not (high is not None and found.start() > 0
                                                          and text[found.start():].startswith("from")):
        low = _number(found.group(1), found.group(2))
    found = re.search(money + r"\s+(?:or|and)\s+(?:more|over|above|up)\b", text)
    if low is None and found and _looks_like_price(text, found):
        low = _number(found.group(1), found.group(2))
    if low is None and high is None:
        found = re.search(r"\b(?:around|about|roughly|approximately|close to|for)\s+" + money, text)
        if found and _looks_like_price(text, found, strict=True):
            amount = _number(found.group(1), found.group(2))
            low, high = amount * 0.8, amount * 1.2
    return low, high


def _looks_like_price(text: str, found: re.Match, strict: bool = False) -> bool:
    """A number is a price unless a unit follows it (55 inch, 16 GB); with `strict`, only when
    written with $ or a currency word."""
    after = text[found.end():found.end() + 8]
    span = text[found.start():found.end()]
    if re.match(r"\s*(gb|tb|inch|in\b|\"|hz|mp|mah|mm|kg|hours?|h\b|w\b|-inch|sq|ft|m\b|%)", after) \
            or re.search(r"\d(gb|tb|hz|mp|mah|mm|kg)", span):
        return False
    if strict:
        return "$" in span or bool(re.search(r"dollars?|bucks|usd", span))
    return True


def _strip_prices(text: str) -> str:
    """The text without its price phrases, so their numbers are not taken as features."""
    text = re.sub(r"\b(between|from)\s+\$?\s*\d[\d,]*(?:\.\d+)?\s*k?\s*(dollars?|bucks|usd)?\s+(and|to|-)\s+"
                  r"\$?\s*\d[\d,]*(?:\.\d+)?\s*k?", " ", text)
    text = re.sub(r"\$\s*\d[\d,]*(?:\.\d+)?\s*k?", " ", text)
    text = re.sub(r"\b\d[\d,]*(?:\.\d+)?\s*k?\s*(dollars?|bucks|usd)\b", " ", text)
    text = re.sub(r"\b(" + _MAX_WORDS + "|" + _MIN_WORDS + r"|between|around|about|roughly)\s+(\d[\d,]*(?:\.\d+)?)(?!\s*(gb|tb|inch|hz|mp|mah|mm|kg|\d))",
                  r" ", text)
    text = re.sub(r"\b\d[\d,]*\s+(or|and)\s+(less|under|below|cheaper|more|over|above)\b", " ", text)
    return text
