"""actions/attempts.py: identity-check tries counted per key in SQLite (a file on tmp_path, a
fake clock) and in a real Redis (the session's redis-server, a key prefix of its own): locks,
their end, what a right pair forgets, no id in clear, and guesses in parallel held to the limit."""
import threading
import time

import pytest
import redis

from actions import attempts
from actions.attempts import RedisAttempts, SqliteAttempts, from_env
from tests.redis_server import unique_prefix

CONV, ORDER, ACCOUNT = "conv:sender-1", "order:BW-639788", "account:jonas.weber@example.com"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock():
    return Clock()


@pytest.fixture()
def sqlite_store(tmp_path, clock):
    return SqliteAttempts(tmp_path / "attempts.db", max_failures=3, lock_s=600, keep_s=3600, clock=clock)


def test_locks_after_the_limit_and_counts_nothing_while_locked(sqlite_store):
    for _ in range(3):
        assert sqlite_store.locked([CONV, ORDER]) == 0
        assert sqlite_store.attempt([CONV, ORDER]) == 0  # counted
    assert sqlite_store.locked([ORDER]) == pytest.approx(600)
    assert sqlite_store.attempt(["conv:someone-else", ORDER]) == pytest.approx(600)  # the order
    assert sqlite_store.attempt([CONV, "order:BW-000001"]) == pytest.approx(600)  # the conversation
    assert sqlite_store.locked(["conv:someone-else"]) == 0  # refused tries were not counted
    assert sqlite_store.locked([ACCOUNT]) == 0


def test_lock_ends_then_one_more_wrong_try_locks_again(sqlite_store, clock):
    for _ in range(3):
        sqlite_store.attempt([ORDER])
    clock.now += 599
    assert sqlite_store.attempt([ORDER]) == pytest.approx(1)
    clock.now += 2
    assert sqlite_store.attempt([ORDER]) == 0  # one try after the lock...
    assert sqlite_store.locked([ORDER]) == pytest.approx(600)  # ...and it is locked again at once
    clock.now += 3601  # nothing tried for keep_s: forgotten
    assert sqlite_store.attempt([ORDER]) == 0 and sqlite_store.locked([ORDER]) == 0


def test_right_pair_forgets_the_order_and_account_and_gives_the_try_back(sqlite_store):
    for _ in range(2):
        sqlite_store.attempt([CONV, ORDER, ACCOUNT])
    sqlite_store.attempt([CONV, ORDER, ACCOUNT])  # the third: right
    sqlite_store.passed([CONV, ORDER, ACCOUNT])
    assert sqlite_store.locked([CONV, ORDER, ACCOUNT]) == 0
    sqlite_store.attempt([ORDER, ACCOUNT])
    sqlite_store.attempt([ORDER, ACCOUNT])
    assert sqlite_store.locked([ORDER]) == 0 and sqlite_store.locked([ACCOUNT]) == 0  # started over
    sqlite_store.attempt([CONV])
    assert sqlite_store.locked([CONV]) > 0  # the two wrong tries of this conversation still count


def test_instances_share_the_file_and_store_no_id_in_clear(tmp_path, clock):
    path = tmp_path / "shared" / "attempts.db"
    first = SqliteAttempts(path, 2, 600, 3600, clock=clock)
    second = SqliteAttempts(path, 2, 600, 3600, clock=clock)
    first.attempt([CONV, ORDER, ACCOUNT])
    second.attempt(["conv:sender-2", ORDER])
    assert first.locked([ORDER]) > 0 and second.locked([ORDER]) > 0
    stored = path.read_bytes()
    for clear in (b"sender-1", b"BW-639788", b"jonas", b"example.com"):
        assert clear not in stored


def test_rows_are_bounded(tmp_path, clock):
    store = SqliteAttempts(tmp_path / "attempts.db", 5, 600, 3600, clock=clock, max_keys=50)
    for number in range(120):
        clock.now += 1
        store.attempt([f"order:BW-{number:06d}"])
    import sqlite3
    with sqlite3.connect(store.path) as db:
        assert db.execute("SELECT COUNT(*) FROM tries").fetchone()[0] == 50


def test_parallel_guesses_never_pass_the_limit(tmp_path):
    store = SqliteAttempts(tmp_path / "attempts.db", max_failures=5, lock_s=600, keep_s=3600)
    allowed, start = [], threading.Barrier(20)

    def guess(number: int) -> None:
        start.wait()
        if store.attempt([f"conv:sender-{number}", ACCOUNT]) == 0:
            allowed.append(number)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 5


def test_from_env(tmp_path, monkeypatch):
    monkeypatch.delenv("PARLEY_ATTEMPTS_DB", raising=False)
    monkeypatch.setenv("PARLEY_DB", str(tmp_path / "records" / "company.db"))
    store = from_env(5, 1800, 86400)
    assert isinstance(store, SqliteAttempts) and store.path == tmp_path / "records" / "attempts.db"
    monkeypatch.setenv("PARLEY_ATTEMPTS_DB", str(tmp_path / "elsewhere.db"))
    assert from_env(5, 1800, 86400).path == tmp_path / "elsewhere.db"
    monkeypatch.setenv("PARLEY_REDIS_URL", "http://127.0.0.1:6379")
    with pytest.raises(ValueError):
        from_env(5, 1800, 86400)
    monkeypatch.setenv("PARLEY_REDIS_URL", "redis://127.0.0.1:1/0")
    assert isinstance(from_env(5, 1800, 86400), RedisAttempts)


# ------------------------------------------------------------------ Redis


@pytest.fixture()
def redis_store(redis_url):
    prefix = unique_prefix()
    store = RedisAttempts(redis_url, max_failures=3, lock_s=1.5, keep_s=30, prefix=prefix)
    yield store
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def test_redis_locks_ends_and_forgets(redis_store, redis_url):
    other_instance = RedisAttempts(redis_url, 3, 1.5, 30, prefix=redis_store.prefix)
    for number in range(3):
        assert redis_store.attempt([f"conv:guesser-{number}", ACCOUNT]) == 0
    assert 1.0 < other_instance.attempt(["conv:sender-9", ACCOUNT]) <= 1.5  # shared, not counted
    assert other_instance.locked(["conv:sender-9"]) == 0
    time.sleep(1.6)
    assert redis_store.attempt([CONV, ACCOUNT]) == 0  # the lock ended: one more try...
    assert redis_store.locked([ACCOUNT]) > 1.0  # ...wrong: locked again
    redis_store.passed([CONV, ACCOUNT])  # a right pair (after the lock) forgets the account
    assert redis_store.locked([ACCOUNT]) == 0
    client = redis.Redis.from_url(redis_url)
    assert client.exists(f"{redis_store.prefix}:tries:{attempts.hashed(CONV)}") == 0  # 1 try given back


def test_redis_keys_are_hashed_and_expire(redis_store, redis_url):
    redis_store.attempt([CONV, ORDER, ACCOUNT])
    client = redis.Redis.from_url(redis_url)
    keys = [key.decode() for key in client.scan_iter(f"{redis_store.prefix}:*")]
    assert len(keys) == 3
    for key in keys:
        assert "sender" not in key and "BW-" not in key and "@" not in key
        assert 0 < client.ttl(key) <= 30
