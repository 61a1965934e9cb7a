"""State the public channels share between Rasa instances: rate-limit buckets and "seen once" ids.

One small interface, two stores:

- ``take(buckets)``: token buckets, all or nothing. ``buckets`` is a list of (key, budget per
  minute); each bucket holds up to ``budget`` tokens, refilled at budget / 60 a second. If every
  bucket has a token, one is taken from each and 0.0 is returned; otherwise nothing is taken and
  the seconds until the emptiest one has a token again are returned.
- ``first_time(key, ttl)``: True the first time ``key`` is seen within ``ttl`` seconds (and it is
  remembered), False while it is remembered (Slack's event ids and retries).

``MemoryState`` keeps both in this process (bounded). ``RedisState`` keeps them in Redis so that
several instances behind one load balancer share the budgets and the ids: the buckets are hashes
updated by one Lua script (atomic over all keys of a message, with the Redis server's clock, so
the instances' clocks do not matter; each expires 61 s after its last use, when it would be full
again), the ids are ``SET key 1 NX EX ttl``. Keys are ``<prefix>:rate:<sha256>`` and
``<prefix>:seen:<sha256>``: no sender id, address or Slack id is stored in clear.

Configuration (environment, read once per process by ``shared_state()``):

- ``PARLEY_REDIS_URL``: ``redis://[:password@]host:port/db`` (or ``rediss://``). Unset or empty:
  ``MemoryState`` (one process, as before). Not derived from the lock store's ``REDIS_*``
  settings on purpose: scripts/env.sh always sets those, and a single instance needs no Redis.
- ``PARLEY_REDIS_KEY_PREFIX``: key prefix, default ``REDIS_KEY_PREFIX`` or ``parley``.

Redis configured but down (refused connection, timeout, any Redis error): every call falls back
to a ``MemoryState`` of this process, with one WARNING (then at most one a minute while it stays
down; no user text, ids or addresses are logged). So rate limits still apply, per instance
instead of shared (with N instances a sender gets at most N times the budget), and Slack's
retries are still deduplicated on the instance that saw the first delivery (a retry landing on
another instance may be processed again). After a failure Redis is not asked again for
``RETRY_AFTER_S`` seconds (no request waits on a dead server); then it is tried again and used as
soon as it answers. Calls are synchronous with short socket timeouts (0.5 s), made from the event
loop: a local Redis answers in well under a millisecond.
"""
import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from typing import Dict, Sequence, Tuple

logger = logging.getLogger(__name__)

MAX_BUCKETS = 50000          # MemoryState: buckets kept; full (idle) ones are dropped first
MAX_IDS = 20000              # MemoryState: ids kept
REDIS_TIMEOUT_S = 0.5
RETRY_AFTER_S = 5.0          # after a Redis failure, use the fallback this long before asking again
WARN_EVERY_S = 60.0

Buckets = Sequence[Tuple[str, float]]

# KEYS: bucket keys; ARGV: their budgets per minute. Returns "0" (taken) or the wait in seconds.
TAKE_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
local levels = {}
for i, key in ipairs(KEYS) do
  local budget = tonumber(ARGV[i])
  local state = redis.call('HMGET', key, 'tokens', 'since')
  local tokens = tonumber(state[1]) or budget
  local since = tonumber(state[2]) or now
  local level = math.min(budget, tokens + math.max(0, now - since) * budget / 60)
  if level < 1 then
    wait = math.max(wait, (1 - level) * 60 / budget)
  end
  levels[i] = level
end
if wait > 0 then
  return tostring(wait)
end
for i, key in ipairs(KEYS) do
  redis.call('HSET', key, 'tokens', tostring(levels[i] - 1), 'since', tostring(now))
  redis.call('EXPIRE', key, 61)
end
return '0'
"""


def digest(*parts: str) -> str:
    """A fixed-length key part for ids that may be personal (sender ids, addresses)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "replace")).hexdigest()[:32]


class MemoryState:
    """Buckets and ids in this process (see the module docstring)."""

    def __init__(self, clock=time.monotonic) -> None:
        self.clock = clock
        self._buckets: Dict[str, Tuple[float, float, float]] = {}   # key: (tokens, since, budget)
        self._seen: "OrderedDict[str, float]" = OrderedDict()       # key: expires at
        self._lock = threading.Lock()

    @staticmethod
    def _level(bucket: Tuple[float, float, float], budget: float, now: float) -> float:
        tokens, since, _ = bucket
        return min(budget, tokens + max(0.0, now - since) * budget / 60.0)

    def take(self, buckets: Buckets) -> float:
        now = self.clock()
        with self._lock:
            wait, levels = 0.0, []
            for key, budget in buckets:
                level = self._level(self._buckets.get(key, (budget, now, budget)), budget, now)
                if level < 1.0:
                    wait = max(wait, (1.0 - level) * 60.0 / budget)
                levels.append((key, level, budget))
            if wait > 0:
                return wait
            for key, level, budget in levels:
                self._buckets[key] = (level - 1.0, now, budget)
            if len(self._buckets) > MAX_BUCKETS:
                self._prune(now)
        return 0.0

    def _prune(self, now: float) -> None:
        for key in [k for k, b in self._buckets.items() if self._level(b, b[2], now) >= b[2]]:
            del self._buckets[key]
        while len(self._buckets) > MAX_BUCKETS:  # still too many: forget the oldest
            del self._buckets[min(self._buckets, key=lambda k: self._buckets[k][1])]

    def first_time(self, key: str, ttl: float) -> bool:
        now = self.clock()
        with self._lock:
            expires = self._seen.get(key)
            if expires is not None and expires > now:
                return False
            self._seen.pop(key, None)
            self._seen[key] = now + ttl
            while self._seen and (next(iter(self._seen.values())) <= now or len(self._seen) > MAX_IDS):
                self._seen.popitem(last=False)
            return True


class RedisState:
    """Buckets and ids in Redis, shared by every instance; this process's MemoryState while Redis
    cannot be reached (see the module docstring)."""

    def __init__(self, url: str, prefix: str = "parley", timeout: float = REDIS_TIMEOUT_S) -> None:
        import redis  # the dialogue environment has it (Rasa's lock store uses it)

        self.prefix = prefix
        self.client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                           health_check_interval=30)
        self._take = self.client.register_script(TAKE_SCRIPT)
        self.fallback = MemoryState()
        self._down_until = 0.0
        self._warned_at = -WARN_EVERY_S
        self._lock = threading.Lock()

    def _available(self) -> bool:
        return time.monotonic() >= self._down_until

    def _failed(self, what: str, error: Exception) -> None:
        now = time.monotonic()
        with self._lock:
            self._down_until = now + RETRY_AFTER_S
            if now - self._warned_at >= WARN_EVERY_S:
                self._warned_at = now
                logger.warning("shared state: Redis is unavailable (%s on %s); rate limits and Slack "
                               "event ids are kept in this process until it answers again",
                               type(error).__name__, what)

    def take(self, buckets: Buckets) -> float:
        if not buckets:
            return 0.0
        if self._available():
            keys = [f"{self.prefix}:rate:{key}" for key, _ in buckets]
            try:
                return float(self._take(keys=keys, args=[repr(float(b)) for _, b in buckets]))
            except Exception as error:  # redis.RedisError, OSError
                self._failed("a rate limit", error)
        return self.fallback.take(buckets)

    def first_time(self, key: str, ttl: float) -> bool:
        if self._available():
            try:
                return bool(self.client.set(f"{self.prefix}:seen:{key}", b"1", nx=True,
                                            ex=max(1, int(round(ttl)))))
            except Exception as error:
                self._failed("an event id", error)
        return self.fallback.first_time(key, ttl)


_state = None
_state_lock = threading.Lock()


def from_env() -> "MemoryState | RedisState":
    url = os.environ.get("PARLEY_REDIS_URL", "").strip()
    if not url:
        return MemoryState()
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("PARLEY_REDIS_URL must be a redis://, rediss:// or unix:// URL")
    prefix = (os.environ.get("PARLEY_REDIS_KEY_PREFIX", "").strip()
              or os.environ.get("REDIS_KEY_PREFIX", "").strip() or "parley")
    logger.info("shared state: rate limits and Slack event ids in Redis (prefix %s)", prefix)
    return RedisState(url, prefix)


def shared_state() -> "MemoryState | RedisState":
    """The process-wide store (chosen from the environment on first use)."""
    global _state
    with _state_lock:
        if _state is None:
            _state = from_env()
        return _state
