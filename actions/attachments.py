"""Answers from what customers show: screenshots of errors, photos of products, statements and
invoices (docs/internals.md, "Attachments (issue 4)").

The AttachmentAnalyzer puts one summary per picture in the message's parse_data
(`latest_message["attachments"]`) and entities read from it ("source": "attachment"). Here:

- `action_read_attachments` runs with every customer message, inside action_extract_slots (it is
  the custom mapping of the `attachment` slot): "image" when the message carries a picture, None
  otherwise. The rules send a message with a picture to `action_answer_attachment` whatever its
  intent (a damaged-item report keeps its identity check: claims.py takes the photos).
- `action_answer_attachment`, in this order: a safety symptom in the words -> stop-using warning
  and an agent; a damaged-item claim waiting for its photo -> the claim; nothing could be looked
  at -> an apology and a request to describe it in words; a warranty question with an invoice or
  order page -> that order's warranty after the identity check; a statement or invoice -> the
  identity check (the order number from the picture), then its lines explained; an error code
  seen -> its fix (escalate codes: safety and an agent); a code shaped like ours that the pack
  lacks -> said to be unknown; a photo of a product -> its catalogue category (when it is clear:
  pack.yml `trust: photos:`) and the candidate products, remembered in `product_candidates` for
  follow-up questions ("how long is the warranty?"); a screenshot without a known code -> never a
  diagnosis, but the likely codes as buttons or one question (actions/abstain.py). Whenever it is
  unsure of what a picture shows it asks one clarifying question instead of guessing. Without a picture (a follow-up question) it answers about the products
  remembered from the last photo.
- `action_explain_document`: after the identity check, the lines of the statement or invoice the
  customer sent (installment N of M, late fee, refund ...) from the pack's settings; a line it
  cannot explain, or an order that is not the customer's, goes to an agent.

Texts carry no company facts: codes, fixes, products, prices, fees and days come from the pack.
"""
import difflib
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet

from actions import abstain, shared
from actions.claims import ActionDamagedItem
from actions.devices import SAFETY_WORDS, ActionTroubleshoot, explain, safety_handoff
from actions.faq import ActionFaq
from actions.handoff import hand_off
from actions.identity import find_order_id
from actions.products import ActionProductInfo, choice_buttons, describe, warranty_terms
from actions.warranty import ActionProductWarranty
from knowledge.pack import ErrorCode, Product
from knowledge.trust import category_lead, photo_is_clear

logger = logging.getLogger(__name__)

# How sure OCR must be before we act on a screenshot or document (pack.yml `attachments:` may
# override); a photo's category: pack.yml `trust: photos:` (knowledge/trust.py).
MIN_TEXT_CONFIDENCE = 0.5
MAX_CHOICES = 5  # products offered as buttons
DOCUMENT_INTENTS = ("explain_document", "unrecognized_charge")


def _threshold(key: str, default: float) -> float:
    options = shared.pack().settings.get("attachments") or {}
    try:
        return float(options.get(key, default))
    except (TypeError, ValueError):
        return default


# ---------------------------------------------------------------- what a picture shows


@dataclass
class Picture:
    """One image summary of the AttachmentAnalyzer, with the message it came in."""
    id: str
    image_kind: Optional[str]
    category: Optional[str]
    category_score: float
    text: str
    confidence: float
    analysed: bool
    labels: List[Dict[str, Any]] = field(default_factory=list)
    message: Dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, summary: Dict[str, Any], message: Dict[str, Any]) -> "Picture":
        def number(value: Any) -> float:
            try:
                return float(value or 0.0)
            except (TypeError, ValueError):
                return 0.0

        return cls(
            id=str(summary.get("id")),
            image_kind=summary.get("image_kind"),
            category=summary.get("category") or None,
            category_score=number(summary.get("category_score")),
            text=str(summary.get("text") or ""),
            confidence=number(summary.get("confidence")),
            analysed=bool(summary.get("analysed")),
            labels=[label for label in summary.get("labels") or [] if isinstance(label, dict)],
            message=message or {},
        )

    def values(self, entity: str) -> List[str]:
        return shared.attachment_values(self.message, entity, self.id)

    @property
    def noun(self) -> str:
        return {"screenshot": "screenshot", "photo": "photo"}.get(self.image_kind or "", "picture")

    @property
    def intent(self) -> Optional[str]:
        return (self.message.get("intent") or {}).get("name")

    @property
    def lines(self) -> List[str]:
        return [" ".join(line.split()) for line in self.text.splitlines() if line.strip()]


def pictures(message: Optional[Dict[str, Any]]) -> List[Picture]:
    return [Picture.of(summary, message or {}) for summary in shared.message_images(message)]


def error_codes_seen(picture: Picture) -> List[ErrorCode]:
    """The pack's error codes on a picture: the analyzer's entities, else the OCR text."""
    pack = shared.pack()
    codes: List[ErrorCode] = []
    for value in picture.values("error_code"):
        code = pack.error_code(value) or pack.find_error_code(value)
        if code is not None and code not in codes:
            codes.append(code)
    if not codes and picture.text:
        for line in picture.lines:
            code = pack.find_error_code(line)
            if code is not None and code not in codes:
                codes.append(code)
    return codes


def with_article(words: str) -> str:
    words = words.strip()
    if not words or words.lower().endswith("s"):
        return words
    return f"{'an' if words[0].lower() in 'aeiou' else 'a'} {words}"


def category_name(category: str) -> str:
    name = category.replace("-", " ")
    return name.upper() if len(name) <= 3 else name


def looks_like(picture: Picture) -> str:
    """What the photo looks like, in words: the best label of its category (pack.yml
    `image_categories`), else its top label, else the category's name."""
    names = (shared.pack().settings.get("image_categories") or {}).get(picture.category or "") or []
    names = {str(name).lower() for name in ([names] if isinstance(names, str) else names)}
    labels = [str(label.get("label") or "") for label in picture.labels if label.get("label")]
    chosen = next((label for label in labels if label.lower() in names), None)
    if chosen is None and not picture.category and labels:
        chosen = labels[0]
    return with_article(chosen.split(",")[0] if chosen else category_name(picture.category or "product"))


# ---------------------------------------------------------------- statements and invoices

_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)"
AMOUNT = re.compile(rf"(?<![\w.])(?:[-+\u2212]\s?)?(?:\$|USD\s?)\s?[-\u2212]?\s?{_NUMBER}(?:\.\d{{2}})?(?![\d,])"
                    rf"|(?<![\w.$,])[-\u2212]?{_NUMBER}\.\d{{2}}(?![\d,])")
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
DATE_PREFIX = re.compile(
    rf"^\s*(?:\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?|"
    rf"\d{{1,2}}\s+{_MONTH}(?:,?\s+\d{{4}})?|{_MONTH}\s+\d{{1,2}}(?:,?\s+\d{{4}})?)\s*[|:,-]?\s*",
    re.IGNORECASE)
INSTALLMENT = re.compile(r"[il1|]n?stal+ments?\s*(\d{1,2})\s*(?:of|/)\s*(\d{1,2})", re.IGNORECASE)
PLAN = re.compile(r"(\d{1,2})\s+[il1|]n?stal+ments?", re.IGNORECASE)
ACCOUNT_DIGITS = re.compile(r"(?:account|acct)\b[^0-9\n]{0,16}(\d{4})\b", re.IGNORECASE)
SKU = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}-[A-Za-z]{2}-\d{4}(?![A-Za-z0-9])")


def amount_value(raw: str) -> float:
    negative = "-" in raw or "\u2212" in raw
    digits = re.sub(r"[^\d.]", "", raw)
    try:
        value = float(digits) if digits else 0.0
    except ValueError:
        value = 0.0
    return -value if negative else value


def document_kind(picture: Picture) -> Optional[str]:
    """"statement" or "invoice" when the picture's text says which, else None."""
    text = picture.text
    if not text:
        return None
    if re.search(r"\binvoice\b|\bINV[-\s]?\d{4}", text, re.IGNORECASE) or picture.values("invoice_number"):
        return "invoice"
    if re.search(r"\bstatement\b|\b(?:opening|closing)\s+balance\b", text, re.IGNORECASE):
        return "statement"
    return None


def has_amounts(picture: Picture) -> bool:
    return bool(picture.values("amount")) or bool(AMOUNT.search(picture.text))


def is_document(picture: Picture, intent: Optional[str]) -> bool:
    """A statement or invoice to explain: its title says so, or the customer asks about a
    charge on a document or screenshot that shows amounts (and no error code)."""
    if not picture.analysed or not picture.text:
        return False
    if document_kind(picture):
        return True
    return (intent in DOCUMENT_INTENTS and picture.image_kind in ("document", "screenshot")
            and has_amounts(picture) and not error_codes_seen(picture))


def _fuzzy_has(words: Sequence[str], wanted: str) -> bool:
    """`wanted` (one word) among `words`, allowing an OCR slip in longer words."""
    for word in words:
        if word == wanted:
            return True
        if len(wanted) >= 5 and len(word) >= 4 and \
                difflib.SequenceMatcher(None, word, wanted).ratio() >= 0.8:
            return True
    return False


@dataclass
class Line:
    raw: str
    description: str
    amount: Optional[str]          # as written
    value: float = 0.0
    kind: str = "unknown"
    orders: List[str] = field(default_factory=list)
    numbers: Tuple[int, ...] = ()
    product: Optional[Product] = None


def read_line(raw: str) -> Line:
    amounts = [m.group(0).strip() for m in AMOUNT.finditer(raw)]
    description = AMOUNT.sub(" ", raw)
    description = DATE_PREFIX.sub("", description)
    description = " ".join(description.replace("|", " ").split())
    description = re.sub(r"^[^A-Za-z0-9$+-]+|[\s:|-]+$", "", description)
    amount = amounts[-1] if amounts else None
    line = Line(raw=raw, description=description, amount=amount,
                value=amount_value(amount) if amount else 0.0)
    line.orders = [o for o in (find_order_id(m.group(0)) for m in
                               re.finditer(r"[A-Za-z]{2}[-\s_]?\d{6}", raw)) if o]
    words = re.findall(r"[a-z]+", description.lower())
    installment = INSTALLMENT.search(description)
    pack = shared.pack()
    sku = SKU.search(raw)
    if installment and "next" not in words:
        line.kind, line.numbers = "installment", (int(installment.group(1)), int(installment.group(2)))
    elif "next" in words and _fuzzy_has(words, "installment"):
        line.kind = "next_installment"
    elif _fuzzy_has(words, "late") and _fuzzy_has(words, "fee"):
        line.kind = "late_fee"
    elif _fuzzy_has(words, "refund") or _fuzzy_has(words, "refunded"):
        line.kind = "refund"
    elif ("top" in words and "up" in words) or _fuzzy_has(words, "topup"):
        line.kind = "top_up"
    elif _fuzzy_has(words, "opening") and _fuzzy_has(words, "balance"):
        line.kind = "opening_balance"
    elif _fuzzy_has(words, "closing") and _fuzzy_has(words, "balance"):
        line.kind = "closing_balance"
    elif words[:1] in (["payments"], ["payment"]) and len(words) <= 2:
        line.kind = "payments"
    elif words[:1] in (["charges"], ["charge"]) and len(words) <= 2:
        line.kind = "charges"
    elif sku and pack.product_by_sku(sku.group(0)):
        line.kind, line.product = "item", pack.product_by_sku(sku.group(0))
    elif _fuzzy_has(words, "subtotal"):
        line.kind = "subtotal"
    elif _fuzzy_has(words, "shipping") or _fuzzy_has(words, "delivery"):
        line.kind = "shipping"
    elif "tax" in words or _fuzzy_has(words, "sales"):
        line.kind = "tax"
    elif _fuzzy_has(words, "total"):
        line.kind = "total"
    elif line.orders and set(words) <= {"order", "payment", "for", "paid", "purchase", "bw"}:
        line.kind = "order_payment"
    elif PLAN.search(description):
        line.kind = "plan"
    else:
        product = pack.find_product(description) if len(words) >= 2 else None
        if product is not None:
            line.kind, line.product = "item", product
    return line


AMOUNT_KINDS = {"installment", "late_fee", "refund", "top_up", "order_payment", "opening_balance",
                "closing_balance", "payments", "charges", "item", "subtotal", "shipping", "tax", "total"}
ANY_DATE = re.compile(
    rf"\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}/\d{{1,2}}(?:/\d{{2,4}})?|\d{{1,2}}\s+{_MONTH}(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}\s+\d{{1,2}}(?:,?\s+\d{{4}})?", re.IGNORECASE)


def is_row(line: Line) -> bool:
    """A dated line with a description: a transaction of a statement's table."""
    if not DATE_PREFIX.match(line.raw):
        return False
    return bool(re.search(r"[A-Za-z]{2}", ANY_DATE.sub(" ", line.description)))


def document_lines(picture: Picture) -> List[Line]:
    """The lines of a statement or invoice: those with an amount, the table's rows and the
    next-due line. OCR often reads a table column by column (the descriptions, then the
    amounts): lone amounts are given back, in order, to the lines that lack theirs."""
    parsed = [read_line(raw) for raw in picture.lines]
    lone = [line for line in parsed if line.amount and not re.search(r"[A-Za-z]{2}", line.description)]
    # an order number alone is a heading (an invoice's "Order BW-..."), not a payment
    wanting = [line for line in parsed if not line.amount and (
        is_row(line) or (line.kind in AMOUNT_KINDS and line.kind != "order_payment"))]
    for line, amount in zip(wanting, lone):
        line.amount, line.value = amount.amount, amount.value
    return [line for line in parsed if line not in lone and (
        line.amount or is_row(line) or line.kind in ("next_installment", "plan"))]


def ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def explain_line(line: Line, owned: Dict[str, Dict[str, Any]]) -> Optional[str]:
    """What one line means, from the pack's settings; None when it cannot be explained."""
    pay = shared.setting("pay")
    order_id = line.orders[0] if line.orders else None
    order = owned.get(order_id) if order_id else None
    if order_id and order is None:
        return None  # an order that is not the customer's
    for_order = f" for order {order_id} ({shared.order_items(order)})" if order else ""
    if line.kind == "installment":
        number, total = line.numbers
        if not 0 < number <= total or total not in [int(m) for m in pay["plan_months"]]:
            return None
        left = total - number
        rest = "that was the last one" if left == 0 else f"{left} more to go after this one"
        return (f"installment {number} of {total}{for_order}: your order is split into {total} "
                f"monthly payments at {pay['apr_percent']}% interest, collected on the "
                f"{ordinal(int(pay['installment_day_of_month']))} of each month; {rest}.")
    if line.kind == "late_fee":
        fee = float(pay["late_fee_usd"])
        if line.amount and abs(abs(line.value) - fee) > 0.005:
            return None  # not the fee the pack charges
        return (f"a late fee: when an installment payment fails it is tried again "
                f"{pay['retry_after_days']} days later, and when that fails too a "
                f"{shared.money(fee)} fee is added. New installment plans stay paused until the "
                "balance is paid.")
    if line.kind == "refund":
        days = shared.setting("refunds", "pay_business_days")
        return (f"a refund{for_order} paid back into your wallet; refunds to the wallet arrive "
                f"within {days} business day{'s' if days != 1 else ''} after the returned item "
                "has been inspected.")
    if line.kind == "top_up":
        how = " by card" if "card" in line.description.lower() else (
            " by bank transfer" if "transfer" in line.description.lower() else "")
        return f"money you added to your wallet{how}."
    if line.kind == "order_payment":
        return f"a payment from your wallet{for_order}." if order else None
    if line.kind == "plan":
        months = PLAN.search(line.description).group(1)
        return f"this order is being paid in {months} monthly installments."
    if line.kind == "item" and line.product is not None:
        return f"the {line.product.name} ({line.product.sku})."
    return FIXED_MEANINGS.get(line.kind)


# lines whose meaning does not depend on the line itself (explain_line)
FIXED_MEANINGS = {
    "opening_balance": "what your wallet held at the start of the period.",
    "closing_balance": "what your wallet holds at the end of the period.",
    "payments": "everything paid into the wallet during the period.",
    "charges": "everything taken from the wallet during the period.",
    "next_installment": "the day your next installment will be collected.",
    "subtotal": "the items together, before shipping and tax.",
    "shipping": "the delivery charge.",
    "tax": "the sales tax.",
    "total": "what the order cost in all.",
}


# words customers use for the kinds of lines (read_line)
TOPIC_WORDS = {"installment": "installment", "installments": "installment", "late": "late_fee",
               "fee": "late_fee", "refund": "refund", "refunded": "refund", "top": "top_up",
               "topup": "top_up", "shipping": "shipping", "tax": "tax", "delivery": "shipping"}


def topics(words: str) -> set:
    return {TOPIC_WORDS[word] for word in re.findall(r"[a-z]+", (words or "").lower())
            if word in TOPIC_WORDS}


def focus(lines: List[Line], words: str) -> List[Line]:
    """The lines the customer's words point at (an amount, or a kind of line); [] for all."""
    if not words:
        return []
    wanted = []
    asked_amounts = {abs(amount_value(m.group(0))) for m in
                     re.finditer(r"\$?\d{1,3}(?:,\d{3})*(?:\.\d{2})?", words) if "$" in m.group(0)
                     or "." in m.group(0)}
    asked_kinds = topics(words)
    for line in lines:
        if (line.amount and abs(line.value) in asked_amounts) or line.kind in asked_kinds:
            wanted.append(line)
    return wanted


# ---------------------------------------------------------------- the answers


def low_confidence_question(dispatcher, picture: Optional[Picture]) -> List[Dict[str, Any]]:
    """One clarifying question when we are not sure what a picture shows."""
    if picture is not None and picture.image_kind in ("screenshot", "document") and not picture.text:
        dispatcher.utter_message(
            text=f"I can't read any text on your {picture.noun}. "
                 "Could you type the message it shows?")
    elif picture is not None and picture.category and picture.image_kind == "photo":
        dispatcher.utter_message(
            text=f"I'm not sure what your {picture.noun} shows: it might be "
                 f"{looks_like(picture)}. Could you tell me which product it is?")
    else:
        dispatcher.utter_message(response="utter_attachment_unclear")
    return [SlotSet("product_candidates", None)]


def perception_down(dispatcher) -> List[Dict[str, Any]]:
    dispatcher.utter_message(response="utter_attachment_unavailable")
    return []


def some_not_analysed(dispatcher, missed: int, sent: int) -> None:
    """Some of a message's pictures were analysed and others not (the service too busy or slow
    for them): the answer goes on from the ones seen, and says which were not."""
    what = "one of the pictures" if missed == 1 else f"{missed} of the {sent} pictures"
    dispatcher.utter_message(text=f"I couldn't look at {what} you sent: something went wrong on my "
                                  "side. I'm answering from the others; send it again or describe it "
                                  "in words if it shows something else.")


def answer_error(dispatcher, tracker: Tracker, picture: Picture, code: ErrorCode) -> List[Dict[str, Any]]:
    seen = f"I can see error {code.code} on your {picture.noun}: \"{code.screen_text}\""
    if code.escalate:
        dispatcher.utter_message(text=f"{seen}.")
        return safety_handoff(dispatcher, tracker,
                              f"Safety issue: error {code.code} on a {picture.noun} ({picture.id})",
                              cause=f"Error {code.code} means: {code.cause}")
    dispatcher.utter_message(
        text=f"{explain(code, seen + '.')} If that doesn't solve it, I can connect you with an agent.")
    return [SlotSet("error_code", code.code)]


def answer_screen(dispatcher, tracker: Tracker, picture: Picture, words: str) -> List[Dict[str, Any]]:
    """A screenshot without a known code: never a guessed diagnosis, but the likely codes as
    buttons, or one question (actions/abstain.py)."""
    if not picture.text or picture.confidence < _threshold("min_text_confidence", MIN_TEXT_CONFIDENCE):
        return low_confidence_question(dispatcher, picture)
    read = f"I can read your {picture.noun} (\"{abstain.snippet(picture.lines)}\")"
    lead = f"{read}, but I can't match it to a problem I know for sure: it shows no error code of ours."
    if abstain.answer_described(dispatcher, f"{words} {picture.text}", f"{read}."):
        return [SlotSet("error_code", None), SlotSet("product_candidates", None)]
    codes = abstain.likely_codes(f"{words} {picture.text}")
    if codes.candidates:
        return abstain.offer_codes(dispatcher, codes, lead) + [SlotSet("product_candidates", None)]
    return abstain.ask_one_question(dispatcher, lead) + [SlotSet("product_candidates", None)]


def answer_products(dispatcher, products: List[Product], intent: Optional[str],
                    lead: str = "") -> None:
    """Price, specs and warranty of one product, or the choice between several."""
    lead = f"{lead} " if lead else ""
    if len(products) == 1:
        product = products[0]
        if intent == "warranty":
            dispatcher.utter_message(
                text=f"{lead}{warranty_terms(product)} It covers manufacturing defects, not "
                     "accidental damage. To check the warranty of your own order, tell me its "
                     "order number.")
        else:
            dispatcher.utter_message(text=f"{lead}{describe(product)}")
        return
    shown = products[:MAX_CHOICES]
    if intent == "warranty":
        listed = "; ".join(f"{p.name}: {p.warranty_months} months" for p in shown)
        dispatcher.utter_message(
            text=f"{lead}The warranty depends on the model: {listed}. It covers manufacturing "
                 "defects, not accidental damage. Which one is yours?",
            buttons=choice_buttons(shown))
    else:
        listed = shared.join_words([f"{p.name} ({shared.money(p.price_usd)})" for p in shown])
        dispatcher.utter_message(text=f"{lead}We sell {listed}. Which one is it?",
                                 buttons=choice_buttons(shown))


def answer_photo(dispatcher, tracker: Tracker, photos: List[Picture]) -> List[Dict[str, Any]]:
    """A photo of a product: its category and the catalogue's candidates, or one question."""
    pack = shared.pack()
    intent = shared.latest_intent(tracker)
    for picture in photos:  # a product named on a label or a box is the best evidence
        for name in picture.values("product"):
            product = pack.find_product(name)
            if product is not None:
                answer_products(dispatcher, [product], intent,
                                lead=f"I can see the {product.name} on your {picture.noun}.")
                return [SlotSet("product_candidates", [product.sku]), SlotSet("product", product.name)]
    categorised = [p for p in photos if p.category]
    if not categorised:
        return low_confidence_question(dispatcher, photos[0] if photos else None)
    picture = max(categorised, key=lambda p: (p.category_score, p.confidence))
    lead = category_lead(picture.labels, pack.settings.get("image_categories") or {},
                         picture.category, picture.category_score)
    if not photo_is_clear(picture.category_score, lead, pack.settings):
        return low_confidence_question(dispatcher, picture)
    candidates = [p for p in pack.products if p.category == picture.category]
    if not candidates:
        return low_confidence_question(dispatcher, picture)
    candidates.sort(key=lambda p: p.price_usd)
    seen = (f"Your {picture.noun} looks like {looks_like(picture)}, so I've looked in our "
            f"{category_name(picture.category)} range.")
    answer_products(dispatcher, candidates, intent, lead=seen)
    return [SlotSet("product_candidates", [p.sku for p in candidates[:MAX_CHOICES]])]


def remembered_candidates(tracker: Tracker) -> List[Product]:
    pack = shared.pack()
    found = [pack.product_by_sku(sku) for sku in tracker.get_slot("product_candidates") or []]
    return [product for product in found if product is not None]


def start_document_check(dispatcher, picture: Picture, kind: Optional[str]) -> List[Dict[str, Any]]:
    """Say what the document is, then the identity check (order number from the picture)."""
    orders = document_orders(picture)
    invoice = picture.values("invoice_number")
    what = {"statement": "your statement", "invoice": "your invoice"}.get(kind or "", "your document")
    if kind == "invoice" and invoice:
        what += f" {invoice[0]}"
    if orders:
        what += f" (order {orders[0]})" if kind == "invoice" else f" mentioning order {orders[0]}"
    dispatcher.utter_message(
        text=f"I can see {what}. Before I go through it with you, I need to check that it's yours.")
    events: List[Dict[str, Any]] = [SlotSet("pending_request", "explain_document"),
                                    SlotSet("product_candidates", None)]
    if orders:
        events.append(SlotSet("order_id", orders[0]))
    events.append(FollowupAction("identity_form"))
    return events


def start_order_check(dispatcher, picture: Picture, order_id: str, request: str) -> List[Dict[str, Any]]:
    """An order request about the order a picture shows: the identity check, then the skill
    that data/rules.yml runs for `pending_request` (e.g. action_warranty_status)."""
    dispatcher.utter_message(
        text=f"I can see order {order_id} on your {picture.noun}. Before I look it up, I need "
             "to check that it's yours.")
    return [SlotSet("pending_request", request), SlotSet("order_id", order_id),
            SlotSet("product_candidates", None), FollowupAction("identity_form")]


def document_orders(picture: Picture) -> List[str]:
    """Order numbers on the picture, in reading order."""
    orders: List[str] = []
    for line in picture.lines:
        for match in re.finditer(r"[A-Za-z]{2}[-\s_]?\d{6}", line):
            found = find_order_id(match.group(0))
            if found and found not in orders:
                orders.append(found)
    for value in picture.values("order_id"):
        if value not in orders:
            orders.append(value)
    return orders


def latest_document(tracker: Tracker) -> Optional[Picture]:
    """The last statement or invoice the customer sent in this session."""
    for message in reversed(shared.session_messages(tracker) + [tracker.latest_message or {}]):
        intent = (message.get("intent") or {}).get("name")
        for picture in pictures(message):
            if is_document(picture, intent):
                return picture
    return None


def document_is_verified(tracker: Tracker, picture: Picture) -> Optional[Dict[str, Any]]:
    """The verified order, when the customer has proved an order on (or for) this document."""
    order = shared.verified_order(tracker)
    if order is None:
        return None
    orders = document_orders(picture)
    if not orders or order["order_id"] in orders:
        return order
    mine = {o["order_id"] for o in shared.store().orders_for_email(order["customer_email"])}
    return order if mine & set(orders) else None


def explain_document(dispatcher, tracker: Tracker, picture: Picture,
                     order: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The verified customer's statement or invoice, line by line; unknown lines -> an agent."""
    kind = document_kind(picture)
    email = order["customer_email"]
    store = shared.store()
    if kind == "statement":
        digits = ACCOUNT_DIGITS.search(picture.text)
        customer = store.get_customer(email)
        if digits and customer and not re.sub(r"\D", "", customer.get("phone") or "").endswith(digits.group(1)):
            return shared.offer_agent(
                dispatcher, "The account number on this statement doesn't match your account, "
                            "so I can't go through it here.")
    lines = document_lines(picture)
    if not [line for line in lines if line.amount]:
        dispatcher.utter_message(
            text="I can see the document, but I can't read its amounts clearly. "
                 "Could you send a sharper photo or a screenshot of it?")
        return [SlotSet("pending_request", None)]
    owned: Dict[str, Dict[str, Any]] = {}
    for line in lines:
        for order_id in line.orders:
            record = store.get_order(order_id)
            if record and record.get("customer_email", "").lower() == email.lower():
                owned[order_id] = record
    explained, unknown = [], []
    for line in lines:
        meaning = explain_line(line, owned)
        if meaning is None:
            unknown.append(line)
        else:
            explained.append((line, meaning))
    asked_now = shared.latest_images(tracker) or shared.latest_intent(tracker) in DOCUMENT_INTENTS
    words = shared.user_text(tracker) if asked_now else picture_words(picture)
    wanted = focus([line for line, _ in explained], words)
    chosen = [(line, meaning) for line, meaning in explained if not wanted or line in wanted]
    name = {"statement": "statement", "invoice": "invoice"}.get(kind or "", "document")
    parts = [f"Here's what I can see on your {name}:"]
    for line, meaning in chosen:
        label = line.description or line.raw
        parts.append(f"- {label}{f' ({line.amount})' if line.amount else ''}: {meaning}")
    if kind == "invoice" and any(line.kind == "total" for line, _ in explained):
        total = next(line for line, _ in explained if line.kind == "total")
        if order["order_id"] in document_orders(picture) and \
                abs(abs(total.value) - float(order.get("total_usd") or 0)) < 0.005:
            parts.append(f"The total matches order {order['order_id']} in our records.")
    events: List[Dict[str, Any]] = [SlotSet("pending_request", None)]
    if unknown:
        listed = shared.join_words(
            [f"\"{line.description or line.raw}\"{f' ({line.amount})' if line.amount else ''}"
             for line in unknown])
        if len(parts) > 1:
            dispatcher.utter_message(text="\n".join(parts))
        dispatcher.utter_message(
            text=f"I can't explain {listed} on your {name}. A charge I can't match needs a "
                 "person, so I'm passing this to an agent.")
        return hand_off(dispatcher, tracker,
                                 f"Unrecognised line on a {name}: {listed} ({picture.id})",
                                 reason="unrecognized_charge")
    dispatcher.utter_message(text="\n".join(parts))
    if picture.intent == "unrecognized_charge" or shared.latest_intent(tracker) == "unrecognized_charge":
        return shared.offer_agent(
            dispatcher, "If one of these still isn't yours, an agent can look into it as possible fraud.")
    return events


def picture_words(picture: Picture) -> str:
    """What the customer wrote with a picture (without the channel's image token)."""
    text = str(picture.message.get("text") or "")
    return re.sub(re.escape(shared.IMAGE_TOKEN), " ", text, flags=re.IGNORECASE).strip()


# ---------------------------------------------------------------- actions


class ActionReadAttachments(Action):
    """The `attachment` slot's custom mapping: "image" for a message with a picture, else None.

    Runs inside action_extract_slots, so only SlotSet events; never touches other slots."""

    def name(self) -> Text:
        return "action_read_attachments"

    async def run(self, dispatcher, tracker, domain):
        abstain.warm_up()
        try:
            has_image = bool(shared.latest_images(tracker))
        except Exception as error:  # noqa: BLE001 - a slot mapping must never break the turn
            logger.error("%s failed: %s", self.name(), type(error).__name__)
            has_image = False
        if has_image:
            return [SlotSet("attachment", "image")]
        if tracker.get_slot("attachment") is not None:
            return [SlotSet("attachment", None)]
        return []


def settle_pending(tracker: Tracker, events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """`pending_request` says which skill follows the identity form. An answer that does not
    start an identity check clears it, so that a later turn cannot be sent to the form by a
    request already dealt with (data/rules.yml: these actions always set it)."""
    if not any(e.get("event") == "slot" and e.get("name") == "pending_request" for e in events):
        return [SlotSet("pending_request", None)] + events
    return events


class ActionAnswerAttachment(shared.SkillAction):
    def name(self) -> Text:
        return "action_answer_attachment"

    def answer(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        return settle_pending(tracker, self.respond(dispatcher, tracker, domain))

    def respond(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        seen = pictures(tracker.latest_message)
        if not seen:
            return self.follow_up(dispatcher, tracker, domain)
        words = shared.user_text(tracker)
        intent = shared.latest_intent(tracker)
        if SAFETY_WORDS.search(words):
            return safety_handoff(dispatcher, tracker, "Safety issue: device overheating, smoking, "
                                  f"swelling or sparking ({', '.join(p.id for p in seen)})")
        if tracker.get_slot("next_step") == "claim_photo":
            return ActionDamagedItem().answer(dispatcher, tracker, domain)
        analysed = [p for p in seen if p.analysed]
        if not analysed:
            return perception_down(dispatcher)
        if len(analysed) < len(seen):
            some_not_analysed(dispatcher, len(seen) - len(analysed), len(seen))
        if intent == "warranty":  # an invoice or order page: the warranty of that order
            for picture in analysed:
                orders = document_orders(picture) if picture.image_kind != "photo" else []
                if orders:
                    return start_order_check(dispatcher, picture, orders[0], "warranty")
        for picture in analysed:
            if document_kind(picture) and is_document(picture, intent):
                return self.document(dispatcher, tracker, picture)
        for picture in analysed:
            codes = error_codes_seen(picture)
            if codes:
                code = next((c for c in codes if c.escalate), codes[0])
                return answer_error(dispatcher, tracker, picture, code) + [
                    SlotSet("product_candidates", None)]
        for picture in analysed:
            if is_document(picture, intent):
                return self.document(dispatcher, tracker, picture)
        if shared.pack().find_error_code(words) or abstain.unknown_in(words):  # a code in the words
            return ActionTroubleshoot().answer(dispatcher, tracker, domain)
        for picture in analysed:  # a code shaped like ours that the pack lacks: never a look-alike
            unknown = abstain.unknown_in(picture.text)
            if unknown:
                return abstain.say_unknown_code(dispatcher, unknown, f"Your {picture.noun} shows "
                                                f"{unknown[0]}. ") + [SlotSet("product_candidates", None)]
        # a screenshot's labels ("screen", "monitor") say nothing about a product
        photos = [p for p in analysed if p.image_kind == "photo" or (p.category and not p.image_kind)]
        if photos:
            return answer_photo(dispatcher, tracker, photos)
        screens = [p for p in analysed if p.text]
        if screens:
            return answer_screen(dispatcher, tracker, screens[0], words)
        return low_confidence_question(dispatcher, analysed[0])

    def document(self, dispatcher, tracker: Tracker, picture: Picture) -> List[Dict[str, Any]]:
        if not has_amounts(picture) and picture.confidence < _threshold("min_text_confidence",
                                                                       MIN_TEXT_CONFIDENCE):
            dispatcher.utter_message(
                text="I can see a document, but I can't read it clearly. "
                     "Could you send a sharper photo or a screenshot of it?")
            return []
        order = document_is_verified(tracker, picture)
        if order is None:
            return start_document_check(dispatcher, picture, document_kind(picture))
        return explain_document(dispatcher, tracker, picture, order) + [
            SlotSet("product_candidates", None)]

    def follow_up(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        """No picture in this message: a question about the product of an earlier photo
        (its price, specs or warranty); any other question goes to its own skill."""
        intent = shared.latest_intent(tracker)
        text = shared.user_text(tracker)
        topic = question_topic(intent, text)
        candidates = remembered_candidates(tracker)
        pack = shared.pack()
        named_entity = shared.latest_entity(tracker, "product")
        named = pack.find_product(named_entity) if named_entity else None
        if named is None and candidates:
            among = [p for p, _ in pack.find_products(text, limit=5) if p in candidates]
            named = among[0] if len(among) == 1 else None
        elsewhere = named is None and (named_entity or pack.find_product(text))
        if topic is None or elsewhere or not candidates:
            if topic is None:
                return ActionFaq().answer(dispatcher, tracker, domain)
            fallback = ActionProductWarranty() if topic == "warranty" else ActionProductInfo()
            return fallback.answer(dispatcher, tracker, domain)
        chosen = [named] if named is not None else candidates
        answer_products(dispatcher, chosen, topic)
        return [SlotSet("product_candidates", [p.sku for p in chosen])]


WARRANTY_WORDS = re.compile(r"\b(warrant\w*|guarantee\w*|covered|cover)\b", re.IGNORECASE)
INFO_WORDS = re.compile(r"\b(price|cost\w*|how much|specs?|specifications?|ram|memory|storage|battery|"
                        r"screen|display|size|colou?rs?|features?|model|called|name)\b", re.IGNORECASE)


def question_topic(intent: Optional[str], text: str) -> Optional[str]:
    """"warranty" or "product_info" for a question about a product, else None."""
    if WARRANTY_WORDS.search(text or ""):
        return "warranty"
    if intent in ("warranty", "product_info"):
        return intent
    return "product_info" if INFO_WORDS.search(text or "") else None


class ActionExplainDocument(shared.SkillAction):
    """A statement or invoice after the identity check; with none sent, the pack's answer."""

    def name(self) -> Text:
        return "action_explain_document"

    def answer(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        return settle_pending(tracker, self.respond(dispatcher, tracker, domain))

    def respond(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        picture = latest_document(tracker)
        if picture is None:
            # a question about one kind of line (a late fee, an installment ...): the pack's
            # answer; about the document as a whole: ask for a picture of it
            text = shared.user_text(tracker)
            hit = shared.index().best(text, sources=("faq", "policies")) if topics(text) else None
            if hit is not None:
                dispatcher.utter_message(
                    text=f"{hit.passage.body or hit.passage.text} If you send me a photo or a "
                         "screenshot of your statement or invoice, I can go through it line by line.")
                return []
            dispatcher.utter_message(response="utter_ask_document_picture")
            return []
        order = document_is_verified(tracker, picture)
        if order is not None:
            return explain_document(dispatcher, tracker, picture, order)
        if shared.verified_order(tracker) is not None:  # verified, but for none of its orders
            return shared.offer_agent(
                dispatcher, "The orders on this document aren't on your account, so I can't go "
                            "through it here.")
        if shared.latest_intent(tracker) in DOCUMENT_INTENTS:  # asked again: check first
            return start_document_check(dispatcher, picture, document_kind(picture))
        return shared.not_verified(dispatcher)
