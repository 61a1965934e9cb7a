"""What every skill shares: the company pack, record store, identity-check tries and indexes
(created lazily, once), the clock, and a few formatting and safety helpers.

Nothing here does I/O at import time. Tests call `reset()` to drop the cached objects after
changing COMPANY_DIR / PARLEY_DB, and may patch `today()` / `now()`.
"""
import calendar
import logging
import re
import time
import threading
from abc import ABC, abstractmethod
from datetime import date, datetime, timezone
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import attempts as attempt_store
from knowledge.pack import CompanyPack
from knowledge.records import RecordStore
from knowledge.search import KnowledgeIndex
from perception.client import PerceptionClient

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 1000  # longer messages are cut before lookups
IMAGE_TOKEN = "[image]"  # the text of a turn that is only a picture (docs/internals.md)

_lock = threading.RLock()
_cache: Dict[str, Any] = {}


def _cached(key: str, build):
    with _lock:
        if key not in _cache:
            _cache[key] = build()
        return _cache[key]


def reset() -> None:
    """Forget the pack, store and indexes (they are rebuilt on next use)."""
    with _lock:
        _cache.clear()


def pack() -> CompanyPack:
    return _cached("pack", CompanyPack.load)


def store() -> RecordStore:
    def build() -> RecordStore:
        records = RecordStore()
        records.seed(pack())
        return records

    return _cached("store", build)


def attempts() -> "attempt_store.SqliteAttempts | attempt_store.RedisAttempts":
    """The identity-check tries every action server shares (actions/attempts.py), with the
    limits of pack.yml `identity`."""

    def build():
        limits = setting("identity")
        return attempt_store.from_env(int(limits["max_failures"]), 60.0 * limits["lock_minutes"],
                                      3600.0 * limits["failures_kept_hours"])

    return _cached("attempts", build)


def index() -> KnowledgeIndex:
    """FAQ, policy and company passages; embeddings when the perception service is up."""
    return _cached("index", lambda: KnowledgeIndex.from_pack(pack(), client=PerceptionClient()))


def setting(*keys: str) -> Any:
    """A value of pack.yml, e.g. setting("claims", "damaged_report_hours").

    The pack fills in its defaults for keys pack.yml leaves out, so every key exists."""
    value: Any = pack().settings
    for key in keys:
        value = value[key]
    return value


# ---------------------------------------------------------------- clock


def today() -> date:
    return date.today()


def now() -> datetime:
    return datetime.now(timezone.utc)


def parse_date(value: Optional[str]) -> Optional[date]:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def add_months(start: date, months: int) -> date:
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


# ---------------------------------------------------------------- formatting


def fmt_date(value: Optional[date]) -> str:
    return f"{value:%B} {value.day}, {value.year}" if value else "unknown"


def money(amount: Any) -> str:
    currency = setting("company", "currency")
    value = float(amount or 0)
    return f"${value:,.2f}" if currency == "USD" else f"{value:,.2f} {currency}"


def join_words(items: List[str]) -> str:
    items = [str(item) for item in items if item]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def order_items(order: Dict[str, Any]) -> str:
    return join_words(order.get("item_names") or order.get("items") or [])


# ---------------------------------------------------------------- customer text

_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_SECRET = re.compile(
    r"\b(password|passcode|pass word|pin|one[- ]time code|otp|verification code|security code|cvv|cvc)"
    r"(\s+(is|was|:))?\s*[:=]?\s*\S+",
    re.IGNORECASE,
)


def user_text(tracker: Tracker) -> str:
    """The latest message, trimmed to a sane length; '' when there is none.

    The channel's `[image]` token (a picture sent without words) is not the customer's words."""
    text = str((tracker.latest_message or {}).get("text") or "")
    if IMAGE_TOKEN in text.lower():
        text = re.sub(re.escape(IMAGE_TOKEN), " ", text, flags=re.IGNORECASE)
    return text.strip()[:MAX_TEXT_CHARS]


def latest_intent(tracker: Tracker) -> Optional[str]:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def latest_entity(tracker: Tracker, entity: str) -> Optional[str]:
    value = next(tracker.get_latest_entity_values(entity), None)
    return str(value) if value else None


def contains_secret(text: str) -> bool:
    """A card number, password, PIN or one-time code the customer should not have sent."""
    return bool(_CARD.search(text or "") or _SECRET.search(text or ""))


def redact(text: str) -> str:
    text = _CARD.sub("[card number removed]", text or "")
    return _SECRET.sub(lambda m: f"{m.group(1)} [removed]", text)


# ---------------------------------------------------------------- attachments
# What the AttachmentAnalyzer put in a message's parse_data (docs/internals.md, "Attachments"):
# `attachments` (one summary per image) and entities marked "source": "attachment".


def message_images(message: Optional[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The image summaries of one message's parse_data (`tracker.latest_message` or a user
    event's `parse_data`); [] when it carried no picture."""
    items = (message or {}).get("attachments") or []
    return [item for item in items if isinstance(item, dict) and item.get("id")
            and item.get("kind", "image") == "image"]


def latest_images(tracker: Tracker) -> List[Dict[str, Any]]:
    return message_images(tracker.latest_message)


def is_attachment_entity(entity: Dict[str, Any]) -> bool:
    return entity.get("source") == "attachment" or entity.get("extractor") == "AttachmentAnalyzer"


def attachment_values(message: Optional[Dict[str, Any]], entity: str,
                      attachment_id: Optional[str] = None) -> List[str]:
    """Values of one entity read from the message's pictures (not from its words), in order,
    without repeats; only those of one picture when `attachment_id` is given."""
    values: List[str] = []
    for found in (message or {}).get("entities") or []:
        if not isinstance(found, dict) or found.get("entity") != entity or not is_attachment_entity(found):
            continue
        if attachment_id and found.get("attachment_id") != attachment_id:
            continue
        value = str(found.get("value") or "").strip()
        if value and value not in values:
            values.append(value)
    return values


def session_messages(tracker: Tracker) -> List[Dict[str, Any]]:
    """The parse_data of the customer's messages in the current session, oldest first."""
    messages: List[Dict[str, Any]] = []
    for event in tracker.events:
        kind = event.get("event")
        if kind == "session_started":
            messages = []
        elif kind == "user":
            messages.append(event.get("parse_data") or {})
    return messages


# ---------------------------------------------------------------- dialogue helpers


def verification_lapsed(tracker: Tracker, slot: str) -> bool:
    """True when the identity in `slot` (verified_order, verified_pay_email) was proved but the
    customer then wrote nothing for pack.yml identity.verified_idle_minutes: it must be proved
    again. Read from the events' times: when the slot was set, then each message after it."""
    idle_s = 60.0 * float(setting("identity", "verified_idle_minutes"))
    since: Optional[float] = None  # when it was proved, then the customer's latest message
    lapsed = False
    for event in tracker.events:
        kind = event.get("event")
        if kind == "slot" and event.get("name") == slot:
            # set in this very run (no time yet) or cleared: nothing has lapsed
            since, lapsed = (event.get("timestamp") if event.get("value") else None), False
        elif kind == "user" and since is not None and event.get("timestamp") is not None:
            stamp = float(event["timestamp"])
            lapsed = lapsed or stamp - since > idle_s
            since = stamp
    return lapsed


def signed_in_email(tracker: Tracker) -> Optional[str]:
    """The e-mail of a customer the company's site or app signed in, for this message: the channel
    checked the back end's signature and set metadata["signed_in_customer"] = {"email", "expires"}
    (channels/sessions.py; a client's own copy is dropped). None when absent or expired."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        customer = (event.get("metadata") or {}).get("signed_in_customer")
        if not isinstance(customer, dict) or not isinstance(customer.get("email"), str):
            return None
        try:
            if float(customer.get("expires")) <= time.time():  # the wall clock, as the channel's
                return None
        except (TypeError, ValueError):
            return None
        return customer["email"].strip().lower() or None
    return None


def verified_order(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The order whose number and e-mail the customer has proved (and not left idle since), or None."""
    order_id = tracker.get_slot("verified_order")
    if (not order_id or order_id != tracker.get_slot("order_id")
            or verification_lapsed(tracker, "verified_order")):
        return None
    return store().get_order(order_id)


def offer_agent(dispatcher: CollectingDispatcher, text: str) -> List[Dict[str, Any]]:
    """Say `text`, ask whether to connect an agent, and wait for the yes/no."""
    dispatcher.utter_message(text=f"{text} Would you like me to connect you with an agent?")
    return [SlotSet("next_step", "offer_agent")]


def not_verified(dispatcher: CollectingDispatcher, subject: str = "order",
                 tracker: Optional[Tracker] = None) -> List[Dict[str, Any]]:
    """The identity check did not succeed: nothing about the order (or account) is shown.

    When the form gave up (`tracker`'s verification_failures at identity.max_failures) it has
    already said why (a lock and for how long, or no match); only what follows is added."""
    failures = float((tracker.get_slot("verification_failures") if tracker else 0) or 0)
    if failures >= float(setting("identity", "max_failures")):
        text = f"Without that check I can't share or change anything on this {subject}."
    else:
        text = (f"I couldn't verify the {subject} with the details given, so I can't share or "
                "change anything on it.")
    events = offer_agent(dispatcher, text)
    return events + [SlotSet("verification_failures", 0)]


class SkillAction(Action, ABC):
    """A custom action that never crashes the conversation.

    Subclasses implement `answer()`. Any failure of the knowledge library or the perception
    service becomes a clear apology. A pending yes/no question (`next_step`) is cleared unless
    the answer sets a new one.
    """

    @abstractmethod
    def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
               domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        """Utter the answer and return the events."""

    async def run(self, dispatcher, tracker, domain):
        try:
            events = list(self.answer(dispatcher, tracker, domain) or [])
        except Exception as error:  # noqa: BLE001 - the customer gets an apology, not a crash
            # only the action and the error type are logged: no customer text or data
            logger.error("%s failed: %s", self.name(), type(error).__name__)
            dispatcher.utter_message(response="utter_technical_problem")
            return [SlotSet("next_step", None)]
        if not any(e.get("event") == "slot" and e.get("name") == "next_step" for e in events):
            events.append(SlotSet("next_step", None))
        return events


class OrderSkillAction(SkillAction):
    """A skill about one order: it runs only once the customer has verified that order.

    Subclasses implement `answer_order()`; without a verified order nothing is shown.
    """

    def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
               domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        order = verified_order(tracker)
        if order is None:
            return not_verified(dispatcher, "order", tracker)
        return self.answer_order(order, dispatcher, tracker, domain)

    @abstractmethod
    def answer_order(self, order: Dict[str, Any], dispatcher: CollectingDispatcher,
                     tracker: Tracker, domain: Dict[str, Any]) -> List[Dict[str, Any]]:
        """Utter the answer about the verified `order` and return the events."""
