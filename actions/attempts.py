"""Identity-check tries, counted where every action server sees them, so that guessing stops.

Each check of a guessed pair (order number + e-mail, or e-mail + phone digits) is one try,
counted at once against several keys: the conversation (``conv:<sender id>``), the order
(``order:<order id>``) and the account (``account:<e-mail>``), whether the order or account exists
or not (so a lock says nothing about existence). Starting over (restart, new session, new sender
id) resets none of them.

- ``attempt(keys)``: 0.0 when no key is locked, and one try is then counted on each key (before
  the pair is checked, so that parallel guesses cannot slip past the limit); else the seconds
  until the last of them unlocks, and nothing is counted (the pair must not be checked).
- ``locked(keys)``: the same answer without counting (after a wrong pair: did it lock?).
- ``passed(keys)``: the pair was right: its order and account keys are forgotten (the customer
  proved them) and the conversation gets its try back.

A key with ``max_failures`` tries or more is locked for ``lock_s`` after its latest try. When that
has passed one more try is allowed; a wrong one locks it again at once. A key is forgotten
``keep_s`` after its latest try.

Keys are stored as ``<kind>:<sha256 of the value>``: no sender id, order number or e-mail in
clear. Two stores with the same three calls:

- ``SqliteAttempts``: one SQLite file, shared by every action server on the machine:
  ``PARLEY_ATTEMPTS_DB``, by default ``attempts.db`` next to the record store (``PARLEY_DB``, so
  ``var/attempts.db``); a separate file, as re-seeding the records must not unlock anything. At
  most ``MAX_KEYS`` rows (the longest-idle go first).
- ``RedisAttempts`` when ``PARLEY_REDIS_URL`` is set (scaled out, see channels/shared_state.py):
  hashes updated by Lua scripts (atomic, with the Redis server's clock), each expiring ``keep_s``
  after its latest try. Key prefix ``PARLEY_REDIS_KEY_PREFIX``, else ``REDIS_KEY_PREFIX``, else
  ``parley``.

Either store failing raises: the identity form then apologises and checks nothing (fail closed).
The environment is read only by ``from_env()``.
"""
import hashlib
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Iterable, List, Sequence, Tuple

REPO_ROOT = Path(__file__).resolve().parents[1]
MAX_KEYS = 100_000      # SQLite rows kept; beyond, the keys idle longest are dropped
SQLITE_TIMEOUT_S = 5.0  # waiting for another process's write
REDIS_TIMEOUT_S = 0.5
CONVERSATION = "conv"


def hashed(key: str) -> str:
    """``kind:value`` -> ``kind:<sha256(value), 32 hex digits>``."""
    kind, _, value = key.partition(":")
    return f"{kind}:{hashlib.sha256(value.encode('utf-8', 'replace')).hexdigest()[:32]}"


def _unique(keys: Iterable[str]) -> List[str]:
    return list(dict.fromkeys(hashed(key) for key in keys))


class SqliteAttempts:
    """Tries in one SQLite file (see the module docstring)."""

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS tries (
        key TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        last REAL NOT NULL,
        forget_at REAL NOT NULL
    );
    CREATE INDEX IF NOT EXISTS tries_forget ON tries (forget_at);
    CREATE INDEX IF NOT EXISTS tries_last ON tries (last);
    """

    def __init__(self, path: Path, max_failures: int, lock_s: float, keep_s: float,
                 clock=time.time, max_keys: int = MAX_KEYS) -> None:
        self.path = Path(path)
        self.max_failures, self.lock_s, self.keep_s = int(max_failures), float(lock_s), float(keep_s)
        self.clock = clock
        self.max_keys = max_keys
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=SQLITE_TIMEOUT_S, isolation_level=None)
        if not self._ready:
            db.executescript(self.SCHEMA)
            self._ready = True
        return db

    def _left(self, db: sqlite3.Connection, keys: Sequence[str], now: float) -> float:
        marks = ",".join("?" * len(keys))
        rows = db.execute(f"SELECT count, last FROM tries WHERE key IN ({marks}) AND forget_at > ?",
                          (*keys, now)).fetchall()
        return max([last + self.lock_s - now for count, last in rows if count >= self.max_failures]
                   + [0.0])

    def attempt(self, keys: Sequence[str]) -> float:
        keys, now = _unique(keys), self.clock()
        if not keys:
            return 0.0
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")  # check and count in one write transaction
            try:
                db.execute("DELETE FROM tries WHERE forget_at <= ?", (now,))
                left = self._left(db, keys, now)
                if left <= 0:
                    db.executemany(
                        "INSERT INTO tries (key, count, last, forget_at) VALUES (?, 1, ?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET count = count + 1, last = excluded.last, "
                        "forget_at = excluded.forget_at",
                        [(key, now, now + self.keep_s) for key in keys])
                    excess = db.execute("SELECT COUNT(*) FROM tries").fetchone()[0] - self.max_keys
                    if excess > 0:
                        db.execute("DELETE FROM tries WHERE key IN "
                                   "(SELECT key FROM tries ORDER BY last LIMIT ?)", (excess,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return max(left, 0.0)

    def locked(self, keys: Sequence[str]) -> float:
        keys = _unique(keys)
        if not keys:
            return 0.0
        with closing(self._connect()) as db:
            return self._left(db, keys, self.clock())

    def passed(self, keys: Sequence[str]) -> None:
        keys = _unique(keys)
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                for key in keys:
                    if key.startswith(f"{CONVERSATION}:"):
                        db.execute("UPDATE tries SET count = count - 1 WHERE key = ?", (key,))
                        db.execute("DELETE FROM tries WHERE key = ? AND count <= 0", (key,))
                    else:
                        db.execute("DELETE FROM tries WHERE key = ?", (key,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise


# KEYS: the keys; ARGV: max_failures, lock_s. Returns the seconds left (a string), "0" if none.
_LEFT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local max_failures, lock_s = tonumber(ARGV[1]), tonumber(ARGV[2])
local left = 0
for _, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 'count', 'last')
  local count, last = tonumber(state[1]) or 0, tonumber(state[2]) or 0
  if count >= max_failures then left = math.max(left, last + lock_s - now) end
end
"""
LOCKED_SCRIPT = _LEFT + "return tostring(left)\n"
# ARGV[3]: keep_s (whole seconds)
ATTEMPT_SCRIPT = _LEFT + """
if left > 0 then return tostring(left) end
for _, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'count', 1)
  redis.call('HSET', key, 'last', tostring(now))
  redis.call('EXPIRE', key, tonumber(ARGV[3]))
end
return '0'
"""
# ARGV[i]: "undo" (a conversation: one try back) or "forget", for KEYS[i]
PASSED_SCRIPT = """
for i, key in ipairs(KEYS) do
  if ARGV[i] == 'undo' then
    if redis.call('EXISTS', key) == 1 and redis.call('HINCRBY', key, 'count', -1) <= 0 then
      redis.call('DEL', key)
    end
  else
    redis.call('DEL', key)
  end
end
return 0
"""


class RedisAttempts:
    """Tries in Redis, shared by every action server (see the module docstring)."""

    def __init__(self, url: str, max_failures: int, lock_s: float, keep_s: float,
                 prefix: str = "parley", timeout: float = REDIS_TIMEOUT_S) -> None:
        import redis  # the dialogue environment has it (Rasa's lock store uses it)

        self.max_failures, self.lock_s, self.keep_s = int(max_failures), float(lock_s), float(keep_s)
        self.prefix = prefix
        self.client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                           health_check_interval=30)
        self._attempt = self.client.register_script(ATTEMPT_SCRIPT)
        self._locked = self.client.register_script(LOCKED_SCRIPT)
        self._passed = self.client.register_script(PASSED_SCRIPT)

    def _keys(self, keys: Sequence[str]) -> List[Tuple[str, str]]:
        return [(f"{self.prefix}:tries:{key}", key) for key in _unique(keys)]

    def attempt(self, keys: Sequence[str]) -> float:
        names = [name for name, _ in self._keys(keys)]
        if not names:
            return 0.0
        keep = max(1, int(round(self.keep_s)))
        return max(0.0, float(self._attempt(keys=names, args=[self.max_failures, repr(self.lock_s), keep])))

    def locked(self, keys: Sequence[str]) -> float:
        names = [name for name, _ in self._keys(keys)]
        if not names:
            return 0.0
        return max(0.0, float(self._locked(keys=names, args=[self.max_failures, repr(self.lock_s)])))

    def passed(self, keys: Sequence[str]) -> None:
        pairs = self._keys(keys)
        if pairs:
            self._passed(keys=[name for name, _ in pairs],
                         args=["undo" if key.startswith(f"{CONVERSATION}:") else "forget"
                               for _, key in pairs])


def from_env(max_failures: int, lock_s: float, keep_s: float) -> "SqliteAttempts | RedisAttempts":
    """Redis when PARLEY_REDIS_URL is set, else the SQLite file PARLEY_ATTEMPTS_DB (default:
    attempts.db in PARLEY_DB's folder, else var/)."""
    url = os.environ.get("PARLEY_REDIS_URL", "").strip()
    if url:
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("PARLEY_REDIS_URL must be a redis://, rediss:// or unix:// URL")
        prefix = (os.environ.get("PARLEY_REDIS_KEY_PREFIX", "").strip()
                  or os.environ.get("REDIS_KEY_PREFIX", "").strip() or "parley")
        return RedisAttempts(url, max_failures, lock_s, keep_s, prefix)
    path = os.environ.get("PARLEY_ATTEMPTS_DB", "").strip()
    records = os.environ.get("PARLEY_DB", "").strip()
    if not path:
        folder = Path(records).expanduser().parent if records else REPO_ROOT / "var"
        path = str(folder / "attempts.db")
    return SqliteAttempts(Path(path).expanduser(), max_failures, lock_s, keep_s)
