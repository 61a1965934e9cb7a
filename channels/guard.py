"""Abuse guards shared by the public channels.

Rate limits: token buckets per sender (per channel) and per client address, refilled every minute;
messages with pictures or voice notes ("media") have their own, stricter budget. A message over
a budget is refused with ``RateLimited`` (429, code ``rate_limited``, ``retry_after`` seconds):
HTTP channels answer 429 with a ``Retry-After`` header, socket.io an ``error`` event with
``retry_after``. Budgets (messages per minute; 0 turns one off), from the environment:

=================================  =======  ==============================================
PARLEY_RATE_TEXT_PER_MIN              60    text messages per sender
PARLEY_RATE_MEDIA_PER_MIN             20    messages with attachments per sender
PARLEY_RATE_ADDRESS_PER_MIN          600    text messages per client address
PARLEY_RATE_ADDRESS_MEDIA_PER_MIN    120    messages with attachments per client address
PARLEY_RATE_VOICE_CALLS_PER_MIN       30    voice WebSocket connections per client address
=================================  =======  ==============================================

Where each channel applies them: REST, multimodal and the web chat per sender and the peer
address; Slack per Slack user (team and user id) and per Slack team in place of an address
(every Events API request comes from Slack's servers); voice: ``/webhooks/voice/turn`` is a media
message per ``sender`` and address, each turn of a WebSocket call a media message per the call's
sender and address, and opening a call takes a token from the address's call budget.

The buckets live in ``channels.shared_state``: in this process, or in Redis when
``PARLEY_REDIS_URL`` is set, so that several Rasa instances share one budget (Redis down: each
instance falls back to its own buckets, see that module).

The ``/intent{...}`` shortcut: Rasa reads a message starting with "/" as an intent with entities
(``/order_status{"order_id": "BW-1"}``) and skips NLU, so a customer could forge intents and
slots. Public channels refuse such text (400 ``intent_shortcut_refused``) unless it is exactly
the payload of a button the bot offered in that conversation's current session (the web chat's
quick replies and the product choice send their payload as text; those intents and entities
are the bot's own). Slack refuses typed "/" text with a note in the thread (its buttons arrive
as interactions); the voice channel passes transcripts through ``plain_text`` (nobody speaks a
button payload).
"""
import logging
import math
import os
import time
from typing import Any, List, Optional, Set, Tuple

from rasa.shared.core.events import BotUttered

from channels.multimodal import RequestRefused
from channels.shared_state import MemoryState, digest, shared_state

logger = logging.getLogger(__name__)

DEFAULTS = {"PARLEY_RATE_TEXT_PER_MIN": 60, "PARLEY_RATE_MEDIA_PER_MIN": 20,
            "PARLEY_RATE_ADDRESS_PER_MIN": 600, "PARLEY_RATE_ADDRESS_MEDIA_PER_MIN": 120,
            "PARLEY_RATE_VOICE_CALLS_PER_MIN": 30}


class RateLimited(RequestRefused):
    def __init__(self, retry_after: int) -> None:
        super().__init__(429, "rate_limited",
                         f"too many messages; try again in {retry_after} s")
        self.retry_after = retry_after


def _budget(name: str) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return float(DEFAULTS[name])
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number of messages per minute, got {value!r}")
    if number < 0 or not math.isfinite(number):
        raise ValueError(f"{name} must be 0 (off) or more")
    return number


class RateLimiter:
    """Token buckets: each key holds up to `per_minute` tokens, refilled at per_minute / 60 a
    second; a message takes one token from its sender's and its address's bucket, or none.
    `state` holds the buckets (channels.shared_state; default: this process, with `clock`)."""

    def __init__(self, text_per_min: float, media_per_min: float, address_per_min: float,
                 address_media_per_min: float, calls_per_min: float = DEFAULTS["PARLEY_RATE_VOICE_CALLS_PER_MIN"],
                 clock=time.monotonic, state=None) -> None:
        self.budgets = {("sender", False): text_per_min, ("sender", True): media_per_min,
                        ("address", False): address_per_min, ("address", True): address_media_per_min,
                        ("calls", True): calls_per_min}
        self.state = state if state is not None else MemoryState(clock)

    @classmethod
    def from_env(cls, state=None) -> "RateLimiter":
        return cls(*(_budget(name) for name in DEFAULTS), state=state)

    def _take(self, what: str, keys: List[Tuple[Tuple[str, bool], str]]) -> None:
        buckets = []
        for scope, who in keys:
            budget = self.budgets[scope]
            if budget > 0:
                buckets.append((f"{scope[0]}-{'media' if scope[1] else 'text'}:{who}", budget))
        wait = self.state.take(buckets) if buckets else 0.0
        if wait > 0:
            logger.info("guard: %s over its budget", what)
            raise RateLimited(max(1, math.ceil(wait)))

    def check(self, channel: str, sender: Optional[str], address: Optional[str], media: bool) -> None:
        """Takes a token for this message or raises RateLimited."""
        keys = []
        if sender:
            keys.append((("sender", media), digest(channel, sender)))
        if address:
            keys.append((("address", media), digest(address)))
        self._take(f"{channel} {'media' if media else 'text'} message", keys)

    def check_call(self, channel: str, address: Optional[str]) -> None:
        """Takes a token from the address's budget of new calls (voice WebSocket connections)."""
        if address:
            self._take(f"{channel} call", [(("calls", True), digest(channel, address))])


_limiter: Optional[RateLimiter] = None


def limiter() -> RateLimiter:
    """The process-wide limiter (budgets read from the environment once; buckets in the shared
    state: this process, or Redis when PARLEY_REDIS_URL is set)."""
    global _limiter
    if _limiter is None:
        _limiter = RateLimiter.from_env(shared_state())
    return _limiter


def client_address(request: Any) -> Optional[str]:
    """The caller's address: Sanic's remote_addr (forwarded headers, only when Sanic is told to
    trust a proxy: FORWARDED_SECRET / REAL_IP_HEADER / PROXIES_COUNT), else the peer."""
    return getattr(request, "remote_addr", None) or getattr(request, "ip", None) or None


def is_shortcut(text: Optional[str]) -> bool:
    return bool(text) and text.strip().startswith("/")


def offered_payloads(events) -> Set[str]:
    """Payloads of the buttons / quick replies the bot offered in these events (the current
    session: a customer may ask something else first and click a button afterwards)."""
    payloads: Set[str] = set()
    for event in events:
        if isinstance(event, BotUttered):
            data = event.data or {}
            for key in ("buttons", "quick_replies"):
                for button in data.get(key) or []:
                    if isinstance(button, dict) and isinstance(button.get("payload"), str):
                        payloads.add(button["payload"].strip())
    return payloads


def plain_text(text: str) -> str:
    """`text` without the leading "/" that would make Rasa read it as an intent shortcut (for
    words nobody typed as a button: voice transcripts)."""
    if not is_shortcut(text):
        return text
    while is_shortcut(text):
        text = text.strip()[1:]
    return text.strip()


async def refuse_forged_shortcut(agent: Any, sender: str, text: Optional[str]) -> None:
    """RequestRefused(400, intent_shortcut_refused) for a "/..." text that is not a button the bot
    offered in this conversation."""
    if not is_shortcut(text):
        return
    offered: Set[str] = set()
    if agent is not None and getattr(agent, "tracker_store", None) is not None:
        try:
            tracker = await agent.tracker_store.retrieve(sender)
        except Exception:
            logger.exception("guard: the conversation could not be read")
            tracker = None
        if tracker is not None:
            offered = offered_payloads(tracker.events)
    if text.strip() in offered:
        return
    logger.info("guard: intent shortcut refused")
    raise RequestRefused(400, "intent_shortcut_refused",
                         "messages starting with '/' are not accepted; please type your question")
