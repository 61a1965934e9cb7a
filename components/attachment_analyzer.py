"""What the customer's pictures show, as parse_data the dialogue and the actions can use.

The channel (`channels/multimodal.py`) saves every uploaded file in the attachment store and has
the perception service analyse images *before* the message enters Rasa, so this component only
reads JSON from disk: Rasa runs its graph synchronously on the event loop, and a network call here
would stall every other conversation. Only when an analysis is missing (a file saved by some other
client, a channel that timed out) does it ask the perception service itself, with a short timeout;
when that fails too the attachment is reported with `analysed: False` and the turn goes on.

For every image reference in `metadata["attachments"]` it adds to the message (see
docs/internals.md, "Attachments (issue 4)"):

- `attachments`: one summary per image — kind (screenshot, document, photo), the top three
  ImageNet labels, the catalogue category those labels suggest (`image_categories` in the pack's
  pack.yml), the OCR text, a confidence and whether it was analysed at all;
- entities read from the OCR text and the labels, marked `"source": "attachment"` with the
  attachment's id: error codes (aliases such as E12 normalised to the pack's code), order numbers
  (the pack's order id pattern), invoice numbers, amounts ("$1,249.00" -> "1249.00"), dates (ISO),
  catalogue product names, and the product category.

Training examples carry what their picture shows in the example's metadata, so `rasa train`
needs no image files (data/nlu/multimodal.yml):

    - text: what does this mean?
      metadata:
        attachment:
          image_kind: screenshot           # screenshot | document | photo
          text: "Payment declined (BW-1001). Your bank did not approve this payment."
          labels: [web site, screen]       # or [{label: ..., score: ...}]

They get the same `attachments` summary (so the fusion featurizer sees images in training the way
it sees them at inference) but no entities: DIET learns entities from the words' positions, and
these are not in the words.
"""
from __future__ import annotations

import calendar
import hashlib
import logging
import re
import time
from datetime import date
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Text, Tuple

from knowledge.pack import DEFAULT_SETTINGS, CompanyPack
from perception.client import PerceptionClient, PerceptionError, PerceptionUnavailable
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, METADATA, METADATA_EXAMPLE
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

ATTACHMENTS = "attachments"           # the message property (and the metadata key of the refs)
IMAGE_TOKEN = "[image]"               # the text of a turn that is only a picture
ATTACHMENT_ID = re.compile(r"att_[0-9a-f]{32}")
IMAGE_KINDS = ("screenshot", "document", "photo")
# scores given to labels written as plain names in training metadata, best first
TRAINING_LABEL_SCORES = (0.6, 0.15, 0.05, 0.03, 0.02)

MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): number for number, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
DATE_PATTERNS = [
    re.compile(r"(?<!\d)(?P<year>\d{4})-(?P<mon>\d{1,2})-(?P<day>\d{1,2})(?!\d)"),
    re.compile(r"(?<![\w])(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<year>\d{4})(?!\d)",
               re.I),
    re.compile(r"(?<![\w])" + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})(?!\d)",
               re.I),
    re.compile(r"(?<![\d/])(?P<first>\d{1,2})/(?P<second>\d{1,2})/(?P<year>\d{4})(?![\d/])"),
]
AMOUNT = re.compile(
    r"(?<![\w$.,-])(?P<sign>-)?(?:\$|USD\s?)\s?(?P<sign2>-)?"
    r"(?P<whole>\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.(?P<cents>\d{1,2}))?(?!\d)",
)
SKU = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}-[A-Za-z]{2}-\d{4}(?![A-Za-z0-9])")
DASHES = str.maketrans({"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
                        "\u2212": "-"})


# ---------------------------------------------------------------- reading text


def _iso(year: int, month: int, day: int) -> Optional[str]:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def find_dates(text: str) -> List[Tuple[str, str]]:
    """(ISO date, as written) for every date in `text`, in order of appearance.

    Understood: 2026-11-28, 28 Nov 2026, 28th November, 2026, Nov 28, 2026, and 11/28/2026 (US
    order: month first, unless the first number cannot be a month).
    """
    found: List[Tuple[int, str, str]] = []
    taken: List[Tuple[int, int]] = []
    for pattern in DATE_PATTERNS:
        for match in pattern.finditer(text):
            span = match.span()
            if any(span[0] < end and start < span[1] for start, end in taken):
                continue
            groups = match.groupdict()
            year = int(groups["year"])
            if groups.get("month"):
                month, day = MONTHS[groups["month"].lower()], int(groups["day"])
            elif groups.get("mon"):
                month, day = int(groups["mon"]), int(groups["day"])
            else:
                first, second = int(groups["first"]), int(groups["second"])
                month, day = (first, second) if first <= 12 else (second, first)
            value = _iso(year, month, day) if 1900 <= year <= 2200 else None
            if value:
                taken.append(span)
                found.append((span[0], value, match.group(0)))
    return [(value, raw) for _, value, raw in sorted(found)]


def find_amounts(text: str) -> List[Tuple[str, str]]:
    """(value, as written) for money amounts: "$1,249.00" -> "1249.00", "-$10.00" -> "-10.00"."""
    amounts = []
    for match in AMOUNT.finditer(text):
        whole = match.group("whole").replace(",", "")
        cents = (match.group("cents") or "0").ljust(2, "0")
        negative = bool(match.group("sign") or match.group("sign2"))
        value = f"{'-' if negative else ''}{int(whole)}.{cents}"
        amounts.append((value, match.group(0).strip()))
    return amounts


# words that appear in product names but also in ordinary sentences on screens and documents
COMMON_WORDS = frozenset("power bank smart mini plus home indoor portable certified refurbished "
                         "machine mechanical studio guard charger camera keyboard mouse espresso "
                         "doorbell earbuds smartwatch headphones speaker router monitor".split())


def _tokens(text: str) -> List[str]:
    """Lowercase words and numbers, letters and digits written together split ("aero14")."""
    text = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", " ", (text or "").lower())
    return [token for token in re.findall(r"[a-z0-9]+", text) if len(token) > 1 or token.isdigit()]


# "BW-R01" read as "BW-RO1", "BW-1001" as "BW-1OO1": letters OCR confuses with digits
CODE_LIKE = re.compile(r"(?<![A-Za-z0-9])(BW[\s_-]?)([A-Za-z0-9]{3,4})(?![A-Za-z0-9])", re.I)
OCR_DIGITS = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"})


def _ocr_digits(match: "re.Match[str]") -> str:
    """An error-code-like token with O/I/l in digit places read as 0/1 ("BW-RO1" -> "BW-R01")."""
    prefix, body = match.group(1), match.group(2)
    keep = 1 if body[0].isalpha() and body[0] not in "OoIl" else 0
    return prefix + body[:keep] + body[keep:].translate(OCR_DIGITS)


def ocr_clean(text: str) -> str:
    """Dashes made plain, and words a narrow screen wrapped at a hyphen joined again
    ("Payment declined (BW-" / "1001)")."""
    text = (text or "").translate(DASHES)
    return re.sub(r"(?<=[A-Za-z0-9])-[ \t]*\n[ \t]*(?=[A-Za-z0-9])", "-", text)


def find_error_codes(pack: CompanyPack, text: str) -> List[Any]:
    """The pack's error codes (ErrorCode) shown in OCR text, in order, each once; aliases such as
    E12 and OCR's letter-for-digit mistakes ("BW-RO1") included."""
    codes: List[Any] = []
    for line in ocr_clean(text).splitlines():
        rest, in_line = CODE_LIKE.sub(_ocr_digits, line), set()
        while rest:  # find_error_code returns the first code of what it is given
            code = pack.find_error_code(rest)
            if code is None or code.code in in_line:
                break
            in_line.add(code.code)
            if all(code.code != seen.code for seen in codes):
                codes.append(code)
            rest = re.sub(re.escape(code.code).replace(r"\-", r"[\s_\-]?"), " ", rest, flags=re.I)
            for alias in code.aliases:
                rest = re.sub(rf"(?<![A-Za-z0-9-]){re.escape(alias)}(?![A-Za-z0-9])", " ", rest, flags=re.I)
    return codes


def _search_pattern(pattern: str) -> str:
    """An anchored id pattern from pack.yml ("^BW-\\d{6}$") made to find ids inside text."""
    body = pattern[1:] if pattern.startswith("^") else pattern
    if body.endswith("$") and not body.endswith("\\$"):
        body = body[:-1]
    return rf"(?<![A-Za-z0-9-])(?:{body})(?![A-Za-z0-9])"


class TextReader:
    """Finds the pack's error codes, order numbers, products, plus invoices, amounts, dates."""

    def __init__(self, pack: CompanyPack, invoice_pattern: str) -> None:
        self.pack = pack
        self.order_pattern = re.compile(_search_pattern(pack.settings["orders"]["id_pattern"]), re.I)
        self.invoice_pattern = re.compile(rf"(?<![A-Za-z0-9]){invoice_pattern}(?![A-Za-z0-9])", re.I)
        self.brand_tokens = {token for product in pack.products for token in _tokens(product.brand)}
        counts: Dict[str, int] = {}
        for product in pack.products:
            for token in set(_tokens(product.name)):
                counts[token] = counts.get(token, 0) + 1
        categories = {product.category.lower() for product in pack.products}
        # words of one product's name only, long enough not to be an ordinary word by chance
        self.distinctive = {token for token, count in counts.items()
                            if count == 1 and len(token) >= 5 and not token.isdigit()
                            and token not in categories and token not in COMMON_WORDS}

    def entities(self, text: str) -> List[Dict[str, str]]:
        """[{entity, value, text}] found in `text` (OCR output: lines separated by newlines)."""
        text = ocr_clean(text)
        found: List[Dict[str, str]] = []

        def add(entity: str, value: str, raw: str) -> None:
            if not any(e["entity"] == entity and e["value"] == value for e in found):
                found.append({"entity": entity, "value": value, "text": raw})

        lines = [line.strip() for line in text.splitlines() if line.strip()]
        for code in find_error_codes(self.pack, text):
            add("error_code", code.code, code.code)
        for match in self.order_pattern.finditer(text):
            add("order_id", match.group(0).upper(), match.group(0))
        for match in self.invoice_pattern.finditer(text):
            raw = match.group(0)
            digits = re.findall(r"\d+", raw)
            prefix = re.match(r"[A-Za-z]+", raw)
            value = "-".join([prefix.group(0).upper()] + digits) if prefix else raw.upper()
            add("invoice_number", value, raw)
        for value, raw in find_amounts(text):
            add("amount", value, raw)
        for value, raw in find_dates(text):
            add("date", value, raw)
        for line in lines:
            for sku in SKU.findall(line):
                product = self.pack.product_by_sku(sku)
                if product:
                    add("product", product.name, sku)
            product = self.pack.find_product(line)
            if product and self._named(product.name, line):
                add("product", product.name, line[:120])
        return found

    def _named(self, name: str, line: str) -> bool:
        """Is the product really named in an OCR line? find_product is made for what customers
        type ("the aero"); printed text is longer and needs two words of the name, or one that
        only this product has ("Your bank did not approve" names no power bank)."""
        said = set(_tokens(line))
        words = [token for token in _tokens(name) if token not in self.brand_tokens]
        matched = [token for token in words if token in said]
        return len(matched) >= 2 or any(token in self.distinctive for token in matched)


# ---------------------------------------------------------------- categories


def category_map(pack: CompanyPack) -> Dict[str, str]:
    """ImageNet class name (lowercase) -> catalogue category, from pack.yml `image_categories`."""
    mapping = pack.settings.get("image_categories")
    if not isinstance(mapping, dict):  # pack.yml may set it to something else than a mapping
        mapping = DEFAULT_SETTINGS["image_categories"]
    known = {product.category for product in pack.products}
    result: Dict[str, str] = {}
    for category, classes in mapping.items():
        if category not in known:
            logger.warning("image_categories: '%s' is not a category of the catalogue", category)
            continue
        for name in [classes] if isinstance(classes, str) else classes or []:
            result[str(name).strip().lower()] = str(category)
    return result


def categorise(labels: Iterable[Dict[str, Any]], mapping: Dict[str, str],
               min_score: float) -> Tuple[Optional[str], float]:
    """The category whose labels add up to the highest score (at least `min_score`)."""
    totals: Dict[str, float] = {}
    for label in labels:
        category = mapping.get(str(label.get("label", "")).strip().lower())
        if category:
            totals[category] = totals.get(category, 0.0) + float(label.get("score") or 0.0)
    if not totals:
        return None, 0.0
    category, score = max(totals.items(), key=lambda item: item[1])
    score = round(min(1.0, score), 4)
    return (category, score) if score >= min_score else (None, 0.0)


# ---------------------------------------------------------------- the component


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR],
    is_trainable=False,
)
class AttachmentAnalyzer(GraphComponent, EntityExtractorMixin):
    """Turns the saved analyses of a message's images into a summary and entities."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # company pack folder; None: COMPANY_DIR or packs/brightwave
            "pack_dir": None,
            # attachment store folder; None: ATTACHMENTS_DIR or var/attachments
            "attachments_dir": None,
            # perception service, only asked when an analysis is missing (None: PERCEPTION_URL)
            "url": None,
            # seconds for those fallback requests, all images of one message together: short,
            # they run on Rasa's event loop
            "timeout": 3.0,
            # after the service failed, no fallback requests for this many seconds
            "retry_after": 30.0,
            # False: a missing analysis is reported as analysed False without asking the service
            "analyze_missing": True,
            "top_labels": 3,
            "max_text_chars": 2000,
            # the least summed label score that names a category
            "min_category_score": 0.1,
            # invoice numbers ("Invoice INV-2026-004417", statements.md)
            "invoice_pattern": r"INV[-\s]?\d{4}[-\s]?\d{4,8}",
        }

    @staticmethod
    def required_packages() -> List[Text]:
        return ["requests"]

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        """Rasa caches a component's training output by its class source and config: add this
        module (the readers and mapping live outside the class) and the pack files it reads."""
        return files_fingerprint([Path(__file__)] + pack_files(config.get("pack_dir")))

    def __init__(self, config: Dict[Text, Any], store: Any = None,
                 pack: Optional[CompanyPack] = None) -> None:
        self._config = config
        self.pack = pack or CompanyPack.load(config.get("pack_dir"))
        self.categories = category_map(self.pack)
        self.reader = TextReader(self.pack, config["invoice_pattern"])
        self._store = store
        self._down_until = 0.0

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if float(config.get("timeout") or 0) <= 0:
            raise ValueError("AttachmentAnalyzer: 'timeout' must be positive")
        re.compile(config["invoice_pattern"])

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> AttachmentAnalyzer:
        cls.validate_config(config)
        return cls(config)

    # ------------------------------------------------------------ training

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Summaries of the pictures described in the examples' metadata (no entities)."""
        for example in training_data.training_examples:
            described = described_attachments(example)
            if described:
                summaries = [self.summary_from_description(f"training_{number}", item)
                             for number, item in enumerate(described)]
                example.set(ATTACHMENTS, summaries)
        return training_data

    def summary_from_description(self, attachment_id: str, item: Dict[str, Any]) -> Dict[str, Any]:
        labels = []
        for rank, label in enumerate(item.get("labels") or []):
            if isinstance(label, dict):
                labels.append({"label": str(label.get("label", "")),
                               "score": float(label.get("score") or 0.0)})
            else:
                score = TRAINING_LABEL_SCORES[min(rank, len(TRAINING_LABEL_SCORES) - 1)]
                labels.append({"label": str(label), "score": score})
        kind = item.get("image_kind") or ("photo" if not item.get("text") else "screenshot")
        analysis = {"labels": labels, "kind": kind,
                    "ocr": {"text": str(item.get("text") or ""),
                            "confidence": float(item.get("confidence") or 0.9)}}
        summary = self.summarise(attachment_id, analysis)
        if item.get("category"):  # an explicit category wins over the labels
            summary["category"] = str(item["category"])
            summary["category_score"] = max(summary["category_score"], 0.5)
        if item.get("confidence") is not None:
            summary["confidence"] = float(item["confidence"])
        return summary

    # ------------------------------------------------------------ inference

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            refs = image_refs(message)
            if not refs:
                continue
            summaries, entities = [], []
            deadline = time.monotonic() + float(self._config["timeout"])
            for ref in refs:
                summary = self.summarise(ref["id"], self._analysis(ref["id"], deadline))
                summaries.append(summary)
                entities.extend(self.entities(summary))
            message.set(ATTACHMENTS, summaries, add_to_output=True)
            if entities:
                message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages

    def entities(self, summary: Dict[str, Any]) -> List[Dict[str, Any]]:
        """Entities of one attachment summary, marked with their source."""
        found = self.reader.entities(summary.get("text") or "")
        if summary.get("category"):
            found.append({"entity": "product_category", "value": summary["category"],
                          "text": ", ".join(label["label"] for label in summary["labels"])})
        for entity in found:
            entity.update(extractor=self.name, source="attachment", attachment_id=summary["id"],
                          confidence_entity=summary["confidence"])
        return found

    def summarise(self, attachment_id: str, analysis: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        """The contract's summary of one image from its perception analysis (None: missing)."""
        summary: Dict[str, Any] = {
            "id": attachment_id, "kind": "image", "image_kind": None, "labels": [],
            "category": None, "category_score": 0.0, "text": "", "confidence": 0.0,
            "analysed": False,
        }
        if not isinstance(analysis, dict) or analysis.get("error") or not (
                "labels" in analysis or "ocr" in analysis or "text" in analysis):
            return summary
        labels = [{"label": str(label.get("label", "")), "score": round(float(label.get("score") or 0.0), 4)}
                  for label in analysis.get("labels") or [] if isinstance(label, dict)]
        labels.sort(key=lambda label: -label["score"])
        ocr = analysis.get("ocr") if isinstance(analysis.get("ocr"), dict) else {}
        text = str(ocr.get("text") or analysis.get("text") or "").strip()
        kind = analysis.get("kind") if analysis.get("kind") in IMAGE_KINDS else (
            "screenshot" if text else "photo")
        category, category_score = categorise(labels, self.categories,
                                              float(self._config["min_category_score"]))
        top = labels[0]["score"] if labels else 0.0
        if kind != "photo" and text:
            confidence = float(ocr.get("confidence") or analysis.get("confidence") or top)
        else:
            confidence = max(top, category_score)
        summary.update(
            image_kind=kind,
            labels=labels[: int(self._config["top_labels"])],
            category=category,
            category_score=category_score,
            text=text[: int(self._config["max_text_chars"])],
            confidence=round(min(1.0, max(0.0, confidence)), 4),
            analysed=True,
        )
        return summary

    def _attachment_store(self) -> Any:
        if self._store is None:
            from attachments.store import AttachmentStore

            self._store = AttachmentStore(self._config.get("attachments_dir"))
        return self._store

    def _analysis(self, attachment_id: str, deadline: float) -> Optional[Dict[str, Any]]:
        """The saved analysis; when missing, the perception service's or None.

        The service is asked only while the message's time budget (`timeout`) lasts and not
        within `retry_after` seconds of a failure, so a service that is down or slow costs a
        conversation at most `timeout` seconds once, not for every picture and every turn."""
        try:
            store = self._attachment_store()
            analysis = store.analysis(attachment_id)
        except Exception as error:  # a broken store must not break the turn
            logger.warning("attachment %s: cannot read its analysis (%s)", attachment_id,
                           type(error).__name__)
            return None
        if analysis is not None or not self._config["analyze_missing"]:
            return analysis
        now = time.monotonic()
        if now < self._down_until or now >= deadline:
            return None
        try:
            data = store.read(attachment_id)
        except Exception as error:
            logger.warning("attachment %s: no file (%s)", attachment_id, type(error).__name__)
            return None
        timeout = max(0.1, deadline - now)
        client = PerceptionClient(self._config.get("url"), timeout, media_timeout=timeout)
        try:
            analysis = client.analyze_image(data)
        except PerceptionUnavailable as error:
            self._down_until = time.monotonic() + float(self._config["retry_after"])
            logger.warning("attachment %s: not analysed, perception unavailable (%s)", attachment_id, error)
            return None
        except PerceptionError as error:
            logger.warning("attachment %s: not analysed (%s)", attachment_id, error)
            return None
        try:
            store.save_analysis(attachment_id, analysis)
        except Exception as error:
            logger.warning("attachment %s: analysis not saved (%s)", attachment_id, type(error).__name__)
        return analysis


def pack_files(pack_dir: Optional[str]) -> List[Path]:
    from knowledge.pack import default_pack_dir

    folder = Path(pack_dir) if pack_dir else default_pack_dir()
    return [folder / name for name in ("pack.yml", "products.csv", "error_codes.csv")]


def files_fingerprint(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.name).encode())
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"-")
    return digest.hexdigest()


def image_refs(message: Message) -> List[Dict[str, Any]]:
    """The valid image references in a user message's metadata (audio refs are left out)."""
    metadata = message.get(METADATA)
    if not isinstance(metadata, dict):
        return []
    refs = metadata.get(ATTACHMENTS)
    result = []
    for ref in refs if isinstance(refs, list) else []:
        if not isinstance(ref, dict) or ref.get("kind", "image") != "image":
            continue
        if not ATTACHMENT_ID.fullmatch(str(ref.get("id", ""))):
            logger.warning("ignoring an attachment reference with an invalid id")
            continue
        result.append(ref)
    return result


def described_attachments(example: Message) -> List[Dict[str, Any]]:
    """The pictures a training example describes in its metadata (`attachment` or `attachments`)."""
    metadata = example.get(METADATA)
    if not isinstance(metadata, dict):
        return []
    described = metadata.get(METADATA_EXAMPLE)
    if not isinstance(described, dict):
        return []
    items = described.get("attachments") or ([described["attachment"]] if described.get("attachment") else [])
    return [item for item in items if isinstance(item, dict)]
