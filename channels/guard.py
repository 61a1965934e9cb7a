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
=================================  =======  ==============================================

The ``/intent{...}`` shortcut: Rasa reads a message starting with "/" as an intent with entities
(``/order_status{"order_id": "BW-1"}``) and skips NLU, so a customer could forge intents and
slots. Public channels refuse such text (400 ``intent_shortcut_refused``) unless it is exactly
the payload of a button the bot offered in that conversation's current session (the web chat's
quick replies and the product choice send their payload as text; those intents and entities
are the bot's own).
"""
import logging
import math
import os
import threading
import time
from typing import Any, Dict, Optional, Set, Tuple

from rasa.shared.core.events import BotUttered

from channels.multimodal import RequestRefused

logger = logging.getLogger(__name__)

DEFAULTS = {"PARLEY_RATE_TEXT_PER_MIN": 60, "PARLEY_RATE_MEDIA_PER_MIN": 20,
            "PARLEY_RATE_ADDRESS_PER_MIN": 600, "PARLEY_RATE_ADDRESS_MEDIA_PER_MIN": 120}
MAX_KEYS = 50000  # buckets kept; full (idle) ones are dropped first


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
    second; a message takes one token from its sender's and its address's bucket, or none."""

    def __init__(self, text_per_min: float, media_per_min: float, address_per_min: float,
                 address_media_per_min: float, clock=time.monotonic) -> None:
        self.budgets = {("sender", False): text_per_min, ("sender", True): media_per_min,
                        ("address", False): address_per_min, ("address", True): address_media_per_min}
        self.clock = clock
        self._buckets: Dict[Tuple, Tuple[float, float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_env(cls) -> "RateLimiter":
        return cls(*(_budget(name) for name in DEFAULTS))

    def _level(self, key: Tuple, budget: float, now: float) -> float:
        tokens, since = self._buckets.get(key, (budget, now))
        return min(budget, tokens + (now - since) * budget / 60.0)

    def check(self, channel: str, sender: Optional[str], address: Optional[str], media: bool) -> None:
        """Takes a token for this message or raises RateLimited."""
        now = self.clock()
        keys = []
        if sender:
            keys.append((("sender", media), (channel, sender)))
        if address:
            keys.append((("address", media), address))
        with self._lock:
            levels = []
            wait = 0.0
            for scope, who in keys:
                budget = self.budgets[scope]
                if budget <= 0:
                    continue
                key = (scope, who)
                level = self._level(key, budget, now)
                if level < 1.0:
                    wait = max(wait, (1.0 - level) * 60.0 / budget)
                levels.append((key, level))
            if wait > 0:
                logger.info("guard: %s message over its %s budget", channel, "media" if media else "text")
                raise RateLimited(max(1, math.ceil(wait)))
            for key, level in levels:
                self._buckets[key] = (level - 1.0, now)
            if len(self._buckets) > MAX_KEYS:
                self._prune(now)

    def _prune(self, now: float) -> None:
        for key in [k for k in self._buckets
                    if self._level(k, self.budgets[k[0]], now) >= self.budgets[k[0]]]:
            del self._buckets[key]
        while len(self._buckets) > MAX_KEYS:  # still too many: forget the oldest
            del self._buckets[min(self._buckets, key=lambda k: self._buckets[k][1])]


_limiter: Optional[RateLimiter] = None


def limiter() -> RateLimiter:
    """The process-wide limiter (budgets read from the environment once)."""
    global _limiter
    if _limiter is None:
        _limiter = RateLimiter.from_env()
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
