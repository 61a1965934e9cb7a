"""A company pack: catalogue, error codes, prose passages and structured settings.

`CompanyPack.load()` reads one folder (COMPANY_DIR, default `<repo>/packs/brightwave`):
products.csv, error_codes.csv, company.md, policies.md, faq.md, statements.md and pack.yml.
pack.yml is optional: without it (or for keys it leaves out) the built-in DEFAULT_SETTINGS apply.
"""
from __future__ import annotations

import copy
import csv
import difflib
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, time
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple
from zoneinfo import ZoneInfo

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
PROSE_FILES = ("company", "policies", "faq", "statements")
# every file `CompanyPack.load` reads (the records, orders.csv and customers.csv, are read by
# knowledge.seed and the actions through `read_csv`): what a trained model depends on
MODEL_FILES = ("pack.yml", "products.csv", "error_codes.csv") + tuple(f"{name}.md" for name in PROSE_FILES)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# Neutral defaults, equal to the reference pack's values, used for keys pack.yml lacks.
DEFAULT_SETTINGS: Dict[str, Any] = {
    "company": {
        "name": "Brightwave Electronics",
        "website": "brightwave.example",
        "support_phone": "1-800-555-0199",
        "currency": "USD",
        "ships_to": ["US"],
    },
    "agents": {
        "timezone": "America/New_York",
        "hours": {
            "mon": ["08:00", "20:00"],
            "tue": ["08:00", "20:00"],
            "wed": ["08:00", "20:00"],
            "thu": ["08:00", "20:00"],
            "fri": ["08:00", "20:00"],
            "sat": ["09:00", "17:00"],
            "sun": None,
        },
        "outside_hours": "ticket",
        "ticket_channel": "email",
        "ticket_reply_business_days": 1,
    },
    "orders": {
        "id_pattern": r"^BW-\d{6}$",
        "id_example": "BW-123456",
        "cancellable_statuses": ["processing"],
        "address_changeable_statuses": ["processing"],
    },
    "returns": {
        "window_days": 30,
        "label_dropoff_days": 7,
        "category_rules": [
            {
                "categories": ["phone", "laptop"],
                "window_days": 15,
                "conditions": ["not activated on a carrier plan", "no physical damage"],
            },
            {"categories": ["gift-card"], "returnable": False,
             "reason": "gift cards cannot be returned"},
            {"categories": ["software"], "returnable": False,
             "when": "the software key has been revealed"},
            {"categories": ["headphones"], "contains": "in-ear", "returnable": False,
             "when": "the hygiene seal is broken"},
        ],
    },
    "refunds": {
        "inspection_business_days": 2,
        "card_business_days": [5, 7],
        "pay_business_days": 1,
        "shipping_refunded_when": ["damaged", "defective", "wrong item"],
    },
    "claims": {
        "damaged_report_hours": 48,
        "damaged_agent_threshold_usd": 500,
        "missing_parcel_wait_hours": 24,
    },
    "warranty": {
        "protect_purchase_days": 30,
        "protect_price_percent_per_year": 10,
        "protect_claims_per_year": 2,
        "protect_deductible_usd": 49,
    },
    "price_match_days": 14,
    "pay": {
        "installment_day_of_month": 5,
        "installment_min_usd": 200,
        "plan_months": [3, 6, 12],
        "apr_percent": 0,
        "retry_after_days": 3,
        "late_fee_usd": 10,
        "statement_day_of_month": 1,
        "verify_phone_digits": 4,
    },
    # identity checks (actions/attempts.py): wrong pairs tried on one conversation, order or
    # account before it is locked for self-service; a verified identity lapses after this idle time
    "identity": {
        "max_failures": 5,
        "lock_minutes": 30,
        "failures_kept_hours": 24,
        "verified_idle_minutes": 15,
    },
    # when an answer found by similarity may be stated (knowledge/trust.py); pack.yml `trust:`
    # holds the values `python -m knowledge.calibrate` chose for the pack
    "trust": {
        "passages": {
            "embedding": {"threshold": 0.6, "margin": 0, "candidates": 0.43},
            "lexical": {"threshold": 0.37, "margin": 0.01, "candidates": 0.17},
        },
        "error_codes": {
            "embedding": {"candidates": 0.56, "single_margin": 0},
            "lexical": {"candidates": 0.18, "single_margin": 0},
        },
        "photos": {"min_category_score": 0.3, "category_margin": 0.1},
    },
    # catalogue category -> ImageNet class names of a photo of it (components/attachment_analyzer.py)
    "image_categories": {
        "laptop": ["laptop", "notebook"],
        "phone": ["cellular telephone", "iPod"],
        "tablet": ["hand-held computer"],
        "tv": ["television", "screen", "home theater", "entertainment center"],
        "monitor": ["monitor", "desktop computer"],
        "speaker": ["loudspeaker"],
        "networking": ["modem"],
        "wearable": ["digital watch", "stopwatch"],
        "accessory": ["computer keyboard", "typewriter keyboard", "space bar", "mouse"],
        "smart-home": ["Polaroid camera", "reflex camera"],
        "kitchen": ["espresso maker", "coffeepot"],
    },
}


def default_pack_dir() -> Path:
    """COMPANY_DIR when set, else the pack shipped with the repository."""
    env = os.environ.get("COMPANY_DIR")
    return Path(env).expanduser() if env else REPO_ROOT / "packs" / "brightwave"


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    category: str
    brand: str
    price_usd: float
    warranty_months: int
    description: str


@dataclass(frozen=True)
class ErrorCode:
    code: str
    where: str
    screen_text: str
    cause: str
    fix: str
    escalate: bool
    aliases: List[str] = field(default_factory=list)


@dataclass(frozen=True)
class Passage:
    """One retrievable piece of prose.

    `text` is what retrieval indexes: the FAQ question followed by its answer, or the
    section name followed by the bullet ("Returns: Most items ..."). `body` is the bare
    answer or bullet, for showing to a customer.
    """
    id: str
    source: str  # "faq" | "policies" | "company" | "statements"
    title: str
    text: str
    body: str = ""


@dataclass(frozen=True)
class ReturnRule:
    """The return terms that apply to one product (see `CompanyPack.return_rule`)."""
    window_days: int
    returnable: bool = True           # False: never returnable
    not_returnable_when: List[str] = field(default_factory=list)  # conditions that block it
    conditions: List[str] = field(default_factory=list)           # conditions it must meet


# ---------------------------------------------------------------- settings


def _merge(base: Dict[str, Any], override: Dict[str, Any]) -> Dict[str, Any]:
    """Deep merge: dicts merge key by key, anything else in `override` replaces."""
    merged = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _check_identity(identity: Any) -> None:
    """The identity-check limits are positive whole numbers; a typo must not switch them off."""
    for key in ("max_failures", "lock_minutes", "failures_kept_hours", "verified_idle_minutes"):
        value = identity.get(key) if isinstance(identity, dict) else None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"pack.yml identity.{key} must be a whole number of at least 1")
    if identity["failures_kept_hours"] * 60 < identity["lock_minutes"]:
        raise ValueError("pack.yml identity.failures_kept_hours must cover identity.lock_minutes")


def _parse_hhmm(value: str) -> time:
    hours, minutes = str(value).strip().split(":")
    return time(int(hours), int(minutes))


# ---------------------------------------------------------------- markdown


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def _join(lines: Iterable[str]) -> str:
    return re.sub(r"\s+", " ", " ".join(line.strip() for line in lines)).strip()


def parse_faq(markdown: str) -> List[Tuple[str, str]]:
    """`**Question?**` lines, each followed by its answer paragraph -> [(question, answer)]."""
    pairs: List[Tuple[str, str]] = []
    question: Optional[str] = None
    answer: List[str] = []
    for line in markdown.splitlines() + [""]:
        match = re.fullmatch(r"\s*\*\*(.+?)\*\*\s*", line)
        if match:
            if question and answer:
                pairs.append((question, _join(answer)))
            question, answer = match.group(1).strip(), []
        elif question is not None:
            if line.strip():
                answer.append(line)
            elif answer:
                pairs.append((question, _join(answer)))
                question, answer = None, []
    return pairs


def parse_sections(markdown: str) -> Tuple[str, List[Tuple[str, List[str]]]]:
    """`# Title`, then `## Section` headings with bullets or paragraphs.

    Returns (title, [(section, [item, ...])]): each bullet (with its continuation lines)
    or each plain paragraph is one item. Text before the first `##` forms a section named
    after the document title.
    """
    title = ""
    sections: List[Tuple[str, List[str]]] = []
    current: Optional[Tuple[str, List[str]]] = None
    block: List[str] = []

    def flush() -> None:
        if block and current is not None:
            current[1].append(_join(block))
        block.clear()

    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("## "):
            flush()
            current = (stripped[3:].strip(), [])
            sections.append(current)
        elif stripped.startswith("# ") and not title:
            flush()
            title = stripped[2:].strip()
        elif not stripped:
            flush()
        elif re.match(r"[-*]\s+", stripped):
            flush()
            if current is None:
                current = (title, [])
                sections.append(current)
            block.append(re.sub(r"^[-*]\s+", "", stripped))
        else:
            if current is None:
                current = (title, [])
                sections.append(current)
            block.append(stripped)
    flush()
    return title, [(name, items) for name, items in sections if items]


def passages_from_markdown(source: str, markdown: str) -> List[Passage]:
    passages: List[Passage] = []
    if source == "faq":
        for question, answer in parse_faq(markdown):
            passages.append(Passage(
                id=f"faq:{_slug(question)}", source="faq", title=question,
                text=f"{question} {answer}", body=answer,
            ))
        return passages
    _, sections = parse_sections(markdown)
    for name, items in sections:
        for number, item in enumerate(items, start=1):
            passages.append(Passage(
                id=f"{source}:{_slug(name)}:{number}", source=source, title=name,
                text=f"{name}: {item}", body=item,
            ))
    return passages


# ---------------------------------------------------------------- fuzzy matching

_COMMON_WORDS = frozenset(
    "add on pack pro smart lite view power bank node indoor portable certified refurbished "
    "machine mechanical studio guard cam plus max mini one air go home".split()
)


def _name_tokens(text: str) -> List[str]:
    """Lowercase words and numbers; letters and digits written together are split ("aero14")."""
    text = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", text.lower())
    return [tok for tok in re.findall(r"[a-z0-9]+", text) if len(tok) > 1 or tok.isdigit()]


def _token_matches(name_token: str, query_tokens: Iterable[str]) -> bool:
    for token in query_tokens:
        if token == name_token:
            return True
        if name_token.isdigit() or token.isdigit() or len(name_token) < 5 or len(token) < 4:
            continue
        if name_token.startswith(token):  # "refurb", "chromeb"
            return True
        # a typo keeps the first letter: "chromebok", "espreso"; "late" is not "slate"
        if (len(token) >= 5 and token[0] == name_token[0]
                and difflib.SequenceMatcher(None, name_token, token).ratio() >= 0.84):
            return True
    return False


# ---------------------------------------------------------------- the pack


class CompanyPack:
    def __init__(
        self,
        path: Path,
        settings: Dict[str, Any],
        products: List[Product],
        error_codes: List[ErrorCode],
        passages: List[Passage],
    ) -> None:
        self.path = Path(path)
        self.settings = settings
        self.products = products
        self.error_codes = error_codes
        self.passages = passages
        self.timezone = ZoneInfo(settings["agents"]["timezone"])
        self._product_index = self._build_product_index()
        self._code_patterns = self._build_code_patterns()

    # ------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: Optional[os.PathLike] = None) -> "CompanyPack":
        folder = Path(path) if path is not None else default_pack_dir()
        if not folder.is_dir():
            raise FileNotFoundError(f"company pack folder not found: {folder}")
        settings = copy.deepcopy(DEFAULT_SETTINGS)
        yml = folder / "pack.yml"
        if yml.is_file():
            loaded = yaml.safe_load(yml.read_text(encoding="utf-8")) or {}
            if not isinstance(loaded, dict):
                raise ValueError(f"{yml} must hold a mapping")
            settings = _merge(settings, loaded)
        _check_identity(settings["identity"])
        products = [cls._product(row) for row in _read_csv(folder / "products.csv")]
        codes = [cls._error_code(row) for row in _read_csv(folder / "error_codes.csv")]
        passages: List[Passage] = []
        for source in PROSE_FILES:
            md = folder / f"{source}.md"
            if md.is_file():
                passages.extend(passages_from_markdown(source, md.read_text(encoding="utf-8")))
        return cls(folder, settings, products, codes, passages)

    @staticmethod
    def model_files(path: Optional[os.PathLike] = None) -> List[Path]:
        """The pack's files that `load` reads (those present), in a fixed order: a trained model
        depends on them (the analyzer's codes and words, the fusion features' descriptions)."""
        folder = Path(path) if path is not None else default_pack_dir()
        return [folder / name for name in MODEL_FILES if (folder / name).is_file()]

    def read_csv(self, name: str) -> List[Dict[str, str]]:
        """Rows of one CSV of the pack (e.g. orders.csv); [] when the file is missing."""
        return _read_csv(self.path / name, required=False)

    @staticmethod
    def _product(row: Dict[str, str]) -> Product:
        return Product(
            sku=row["sku"].strip(),
            name=row["name"].strip(),
            category=row.get("category", "").strip(),
            brand=row.get("brand", "").strip(),
            price_usd=float(row.get("price_usd") or 0),
            warranty_months=int(float(row.get("warranty_months") or 0)),
            description=row.get("description", "").strip(),
        )

    @staticmethod
    def _error_code(row: Dict[str, str]) -> ErrorCode:
        code = row["code"].strip().upper()
        screen = row.get("screen_text", "")
        # Extra codes shown on screen next to the real one, e.g. "Error E12 (BW-S12)" -> E12.
        without_code = re.sub(re.escape(code), " ", screen, flags=re.IGNORECASE)
        aliases = []
        for alias in re.findall(r"(?<![\w-])([A-Za-z]{1,3}\d{1,4})(?![\w-])", without_code):
            alias = alias.upper()
            if alias not in aliases:
                aliases.append(alias)
        return ErrorCode(
            code=code,
            where=row.get("where", "").strip(),
            screen_text=screen.strip(),
            cause=row.get("cause", "").strip(),
            fix=row.get("fix", "").strip(),
            escalate=row.get("escalate", "").strip().lower() in ("yes", "true", "1", "y"),
            aliases=aliases,
        )

    # ------------------------------------------------------------ convenience

    @property
    def name(self) -> str:
        return str(self.settings["company"]["name"])

    def product_by_sku(self, sku: str) -> Optional[Product]:
        sku = (sku or "").strip().upper()
        return next((p for p in self.products if p.sku.upper() == sku), None)

    def error_code(self, code: str) -> Optional[ErrorCode]:
        code = (code or "").strip().upper()
        return next((c for c in self.error_codes if c.code == code), None)

    def is_order_id(self, text: str) -> bool:
        return re.fullmatch(self.settings["orders"]["id_pattern"], (text or "").strip()) is not None

    def return_rule(self, product: Product) -> ReturnRule:
        """Return window and restrictions for a product, from `returns.category_rules`."""
        returns = self.settings["returns"]
        window = int(returns["window_days"])
        returnable = True
        blocked_when: List[str] = []
        conditions: List[str] = []
        haystack = f"{product.name} {product.description}".lower()
        for rule in returns.get("category_rules") or []:
            categories = [c.lower() for c in rule.get("categories") or []]
            if categories and product.category.lower() not in categories:
                continue
            if rule.get("contains") and str(rule["contains"]).lower() not in haystack:
                continue
            if "window_days" in rule:
                window = int(rule["window_days"])
            conditions.extend(rule.get("conditions") or [])
            if rule.get("returnable") is False:
                if rule.get("when"):
                    blocked_when.append(str(rule["when"]))
                else:
                    returnable = False
        return ReturnRule(window, returnable, blocked_when, conditions)

    # ------------------------------------------------------------ products

    def _build_product_index(self) -> List[Tuple[Product, Dict[str, float], set, List[str]]]:
        brand_count: Dict[str, int] = {}
        for product in self.products:
            for token in set(_name_tokens(product.brand)):
                brand_count[token] = brand_count.get(token, 0) + 1
        # a brand with several products names none of them by itself
        brand_tokens = {token for token, count in brand_count.items() if count > 1}
        doc_freq: Dict[str, int] = {}
        for product in self.products:
            for token in set(_name_tokens(product.name)):
                doc_freq[token] = doc_freq.get(token, 0) + 1
        category_size: Dict[str, int] = {}
        for product in self.products:
            category_size[product.category.lower()] = category_size.get(product.category.lower(), 0) + 1
        index = []
        for product in self.products:
            weights: Dict[str, float] = {}
            strong = set()
            for token in _name_tokens(product.name):
                if token in brand_tokens:
                    continue  # a brand alone names nothing
                # model numbers always count fully; words shared by several products half
                shared = not token.isdigit() and (
                    doc_freq.get(token, 0) > 1 or category_size.get(token, 0) > 1)
                weights[token] = 0.5 if shared else 1.0
                if not shared and not token.isdigit() and token not in _COMMON_WORDS:
                    strong.add(token)
            brands = [t for t in _name_tokens(product.name) if t in brand_tokens]
            index.append((product, weights, strong, brands))
        return index

    def find_products(self, text: str, limit: int = 3) -> List[Tuple[Product, float]]:
        """Products whose name matches `text` (a name or a whole sentence), best first."""
        if not text:
            return []
        sku = re.search(r"[A-Za-z]{2}-[A-Za-z]{2}-\d{4}", text)
        if sku and self.product_by_sku(sku.group(0)):
            return [(self.product_by_sku(sku.group(0)), 1.0)]
        query = set(_name_tokens(text))
        ranked = []
        for product, weights, strong, brands in self._product_index:
            matched = [t for t in weights if _token_matches(t, query)]
            if not matched:
                continue
            matched_weight = sum(weights[t] for t in matched)
            coverage = matched_weight / sum(weights.values())
            said_brand = any(t in query for t in brands)
            confident = bool(strong.intersection(matched)) or len(matched) + said_brand >= 2
            if confident and coverage >= 0.3:
                # how much of the name was said, times how much was said about it
                ranked.append((product, round(coverage * matched_weight, 4)))
        ranked.sort(key=lambda item: (-item[1], len(item[0].name)))
        return ranked[:limit]

    def find_product(self, text: str) -> Optional[Product]:
        """The product named in `text`, tolerant of typos and partial names; None if unsure."""
        ranked = self.find_products(text, limit=2)
        if not ranked:
            return None
        if len(ranked) == 2 and math.isclose(ranked[0][1], ranked[1][1]):
            return None  # "vista tv": 55 or 65? the caller should ask
        return ranked[0][0]

    # ------------------------------------------------------------ error codes

    def _build_code_patterns(self) -> List[Tuple[re.Pattern, ErrorCode]]:
        patterns = []
        for code in self.error_codes:
            prefix, _, rest = code.code.partition("-")
            body = (re.escape(prefix) + r"[\s_\-]?" + re.escape(rest)) if rest else re.escape(prefix)
            patterns.append((re.compile(rf"(?<![A-Za-z0-9]){body}(?![A-Za-z0-9])", re.I), code))
        for code in self.error_codes:
            for alias in code.aliases:
                letters, digits = re.match(r"([A-Za-z]*)(\d*)", alias).groups()
                body = re.escape(letters) + r"-?" + re.escape(digits)
                patterns.append((re.compile(rf"(?<![A-Za-z0-9-]){body}(?![A-Za-z0-9])", re.I), code))
        return patterns

    def find_error_code(self, text: str) -> Optional[ErrorCode]:
        """The first error code (or alias such as "E12") found anywhere in `text`."""
        if not text:
            return None
        found = []
        for pattern, code in self._code_patterns:
            match = pattern.search(text)
            if match:
                found.append((match.start(), code))
        return min(found, key=lambda item: item[0])[1] if found else None

    # ------------------------------------------------------------ agent hours

    def _local(self, now: datetime) -> datetime:
        """`now` in the pack's timezone; a naive datetime is taken as already local."""
        if now.tzinfo is None:
            return now.replace(tzinfo=self.timezone)
        return now.astimezone(self.timezone)

    def agent_hours(self, weekday: int) -> Optional[Tuple[time, time]]:
        """Opening and closing time for a weekday (0 = Monday), or None when closed."""
        span = (self.settings["agents"].get("hours") or {}).get(WEEKDAYS[weekday])
        if not span:
            return None
        return _parse_hhmm(span[0]), _parse_hhmm(span[1])

    def agent_available(self, now: datetime) -> bool:
        local = self._local(now)
        span = self.agent_hours(local.weekday())
        return bool(span) and span[0] <= local.time() < span[1]

    def next_agent_time(self, now: datetime) -> datetime:
        """`now` itself when agents are available, else the next opening time (tz-aware)."""
        local = self._local(now)
        if self.agent_available(local):
            return local
        for days_ahead in range(0, 8):
            day = (local + timedelta(days=days_ahead)).date()
            span = self.agent_hours(day.weekday())
            if not span:
                continue
            opening = datetime.combine(day, span[0], tzinfo=self.timezone)
            if opening > local:
                return opening
        raise ValueError("the pack defines no agent hours")


def _read_csv(path: Path, required: bool = True) -> List[Dict[str, str]]:
    if not path.is_file():
        if required:
            raise FileNotFoundError(f"company pack file missing: {path}")
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [dict(row) for row in csv.DictReader(handle)]


if __name__ == "__main__":  # `python -m knowledge.pack`: the files a model trained on the pack depends on
    print("\n".join(str(file) for file in CompanyPack.model_files()))
