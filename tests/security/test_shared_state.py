"""channels/shared_state.py: rate-limit buckets and Slack event ids shared between instances
through a real Redis (a redis-server of the tests' own on a free port, with a unique key prefix),
in this process without one, and what happens when Redis goes down (each instance falls back to
its own memory, with a WARNING that names no one).

"Two instances" are two processes (tests/security/guard_driver.py) running the real
channels.guard and channels.slack against the same Redis; both are started and ready before the
first command, and the commands follow each other within milliseconds (a bucket of 2 a minute
refills one token in 30 s)."""
import json
import logging
import subprocess
import sys

import pytest
import redis

from channels import guard
from channels.shared_state import MemoryState, RedisState, from_env
from channels.slack import RecentIds
from tests import services
from tests.redis_server import RedisServer, unique_prefix


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


# ------------------------------------------------------------------ without Redis


def test_memory_buckets_are_all_or_nothing():
    clock = Clock()
    state = MemoryState(clock)
    assert state.take([("a", 1), ("b", 2)]) == 0.0
    assert state.take([("a", 1), ("b", 2)]) == pytest.approx(60.0)  # a is empty: b keeps its token
    assert state.take([("b", 2)]) == 0.0
    assert state.take([("b", 2)]) == pytest.approx(30.0)
    clock.now = 30.0
    assert state.take([("b", 2)]) == 0.0


def test_memory_ids_are_remembered_for_their_ttl():
    clock = Clock()
    state = MemoryState(clock)
    assert state.first_time("Ev1", 10) and not state.first_time("Ev1", 10)
    assert state.first_time("Ev2", 100)
    clock.now = 11.0
    assert state.first_time("Ev1", 10) and not state.first_time("Ev2", 100)


def test_without_a_url_the_state_is_in_memory(monkeypatch):
    monkeypatch.delenv("PARLEY_REDIS_URL", raising=False)
    assert isinstance(from_env(), MemoryState)
    monkeypatch.setenv("PARLEY_REDIS_URL", "   ")
    assert isinstance(from_env(), MemoryState)


@pytest.mark.parametrize("url", ["127.0.0.1:6379", "http://127.0.0.1:6379", "redis"])
def test_a_url_that_is_not_redis_is_refused(monkeypatch, url):
    monkeypatch.setenv("PARLEY_REDIS_URL", url)
    with pytest.raises(ValueError, match="PARLEY_REDIS_URL"):
        from_env()


# ------------------------------------------------------------------ with Redis, in this process


def test_two_limiters_share_one_budget_in_redis(redis_server):
    prefix = unique_prefix()
    first = guard.RateLimiter(2, 1, 100, 100, state=RedisState(redis_server.url, prefix))
    second = guard.RateLimiter(2, 1, 100, 100, state=RedisState(redis_server.url, prefix))
    first.check("rest", "alice@example.com", "10.0.0.1", media=False)
    second.check("rest", "alice@example.com", "10.0.0.1", media=False)
    with pytest.raises(guard.RateLimited) as refused:
        first.check("rest", "alice@example.com", "10.0.0.1", media=False)
    assert 1 <= refused.value.retry_after <= 30
    with pytest.raises(guard.RateLimited):
        second.check("rest", "alice@example.com", "10.0.0.1", media=False)
    second.check("rest", "bob", "10.0.0.1", media=False)      # another sender
    second.check("webchat", "alice@example.com", "10.0.0.1", media=False)  # another channel
    first.check("rest", "alice@example.com", "10.0.0.1", media=True)  # media has its own budget
    with pytest.raises(guard.RateLimited):
        second.check("rest", "alice@example.com", "10.0.0.1", media=True)
    client = redis.Redis.from_url(redis_server.url)
    keys = [key.decode() for key in client.keys(f"{prefix}:*")]
    assert keys and all(key.startswith(f"{prefix}:rate:") for key in keys)
    assert not [key for key in keys if "alice" in key or "10.0.0.1" in key or "bob" in key]  # hashed
    assert all(0 < client.ttl(key) <= 61 for key in keys)


def test_a_refused_message_takes_no_token_from_the_other_bucket(redis_server):
    state = RedisState(redis_server.url, unique_prefix())
    limiter = guard.RateLimiter(10, 10, 1, 1, state=state)
    limiter.check("rest", "a", "10.0.0.9", media=False)
    with pytest.raises(guard.RateLimited):  # the address is empty
        limiter.check("rest", "a", "10.0.0.9", media=False)
    for _ in range(9):  # so the sender still has 9 of its 10
        limiter.check("rest", "a", None, media=False)
    with pytest.raises(guard.RateLimited):
        limiter.check("rest", "a", None, media=False)


def test_slack_event_ids_are_shared_in_redis(redis_server):
    prefix = unique_prefix()
    first = RecentIds("event", RedisState(redis_server.url, prefix))
    second = RecentIds("event", RedisState(redis_server.url, prefix))
    assert first.first_time("Ev0001")
    assert not second.first_time("Ev0001") and not first.first_time("Ev0001")
    assert second.first_time("Ev0002")
    other = RecentIds("event", RedisState(redis_server.url, unique_prefix()))  # another deployment
    assert other.first_time("Ev0001")
    client = redis.Redis.from_url(redis_server.url)
    keys = client.keys(f"{prefix}:seen:*")
    assert len(keys) == 2 and all(3500 < client.ttl(k) <= 3600 for k in keys)
    assert not [k for k in keys if b"Ev000" in k]


# ------------------------------------------------------------------ two processes


class Instance:
    def __init__(self, env) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "tests.security.guard_driver"],
                                        cwd=services.ROOT, env=env, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def ready(self) -> str:
        line = self.process.stdout.readline()
        assert line, self.process.stderr.read()[-3000:]
        return json.loads(line)["ready"]

    def ask(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> str:
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.process.stderr.read()


def _instances(url: str, prefix: str, count: int = 2):
    env = services.base_env(PARLEY_REDIS_URL=url, PARLEY_REDIS_KEY_PREFIX=prefix, PARLEY_RATE_TEXT_PER_MIN="2",
                            PARLEY_RATE_ADDRESS_PER_MIN="100")
    return [Instance(env) for _ in range(count)]


def test_two_processes_share_the_budget_and_the_slack_event_ids(redis_server):
    first, second = _instances(redis_server.url, unique_prefix())
    try:
        assert first.ready() == second.ready() == "RedisState"
        assert first.ask("check slack T1:U1 slack-team:T1") == {"ok": True}
        assert second.ask("check slack T1:U1 slack-team:T1") == {"ok": True}
        refused = first.ask("check slack T1:U1 slack-team:T1")
        assert refused["ok"] is False and 1 <= refused["retry_after"] <= 30
        assert second.ask("check slack T1:U1 slack-team:T1")["ok"] is False
        assert second.ask("check slack T1:U2 slack-team:T1") == {"ok": True}
        # a Slack retry landing on the other instance is recognised
        assert first.ask("seen Ev0ABCDEF") == {"first": True}
        assert second.ask("seen Ev0ABCDEF") == {"first": False}
        assert second.ask("seen Ev0GHIJKL") == {"first": True}
        assert first.ask("seen Ev0GHIJKL") == {"first": False}
    finally:
        for instance in (first, second):
            instance.close()


def test_two_processes_without_redis_each_have_their_own_budget():
    env = services.base_env(PARLEY_REDIS_URL="", PARLEY_RATE_TEXT_PER_MIN="1")
    first, second = Instance(env), Instance(env)
    try:
        assert first.ready() == second.ready() == "MemoryState"
        assert first.ask("check rest me 10.0.0.1") == {"ok": True}
        assert second.ask("check rest me 10.0.0.1") == {"ok": True}
        assert first.ask("check rest me 10.0.0.1")["ok"] is False
        assert first.ask("seen Ev1") == {"first": True} and second.ask("seen Ev1") == {"first": True}
    finally:
        first.close()
        second.close()


# ------------------------------------------------------------------ Redis down


def test_redis_down_falls_back_to_this_process_and_comes_back(redis_server, caplog, monkeypatch):
    import channels.shared_state as shared_state

    prefix = unique_prefix()
    state = RedisState(redis_server.url, prefix)
    limiter = guard.RateLimiter(1, 1, 100, 100, state=state)
    events = RecentIds("event", state)
    limiter.check("slack", "T1:UDOWN", "slack-team:T1", media=False)  # in Redis
    assert events.first_time("Ev0DOWN1")
    port = redis_server.port
    redis_server.stop()
    caplog.set_level(logging.WARNING, logger="channels.shared_state")
    # rate limits go on, per process (this process has not counted UDOWN's message yet)
    limiter.check("slack", "T1:UDOWN", "slack-team:T1", media=False)
    with pytest.raises(guard.RateLimited):
        limiter.check("slack", "T1:UDOWN", "slack-team:T1", media=False)
    # event ids too: a retry on this instance is still recognised
    assert events.first_time("Ev0DOWN2") and not events.first_time("Ev0DOWN2")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]  # once, not per request
    assert "Redis is unavailable" in warnings[0].getMessage()
    assert "UDOWN" not in caplog.text and "slack-team" not in caplog.text and "Ev0DOWN" not in caplog.text
    # back up (on the same port): used again once the pause after the failure is over
    redis_server.start(port)
    monkeypatch.setattr(state, "_down_until", 0.0)
    limiter.check("slack", "T1:UBACK", "slack-team:T1", media=False)
    assert events.first_time("Ev0DOWN3")
    client = redis.Redis.from_url(redis_server.url)
    assert len(client.keys(f"{prefix}:rate:*")) == 2 and len(client.keys(f"{prefix}:seen:*")) == 1
    assert shared_state.RETRY_AFTER_S > 0


def test_redis_unreachable_from_the_start_is_not_fatal(caplog):
    state = RedisState(f"{services.closed_url().replace('http', 'redis')}/0", unique_prefix())
    limiter = guard.RateLimiter(1, 1, 100, 100, state=state)
    caplog.set_level(logging.WARNING, logger="channels.shared_state")
    limiter.check("rest", "someone", "10.0.0.1", media=False)
    with pytest.raises(guard.RateLimited):
        limiter.check("rest", "someone", "10.0.0.1", media=False)
    assert RecentIds("event", state).first_time("Ev0X")
    assert "Redis is unavailable" in caplog.text and "someone" not in caplog.text


def test_two_processes_with_redis_down_each_fall_back_to_their_own_memory(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    url = server.url
    server.stop()  # configured, but down
    first, second = _instances(url, unique_prefix())
    try:
        assert first.ready() == second.ready() == "RedisState"
        for instance in (first, second):  # each counts on its own: 2 a minute per instance
            assert instance.ask("check rest me 10.0.0.1") == {"ok": True}
            assert instance.ask("check rest me 10.0.0.1") == {"ok": True}
            assert instance.ask("check rest me 10.0.0.1")["ok"] is False
        assert first.ask("seen Ev1") == {"first": True} and first.ask("seen Ev1") == {"first": False}
        assert second.ask("seen Ev1") == {"first": True}  # the other instance cannot know
    finally:
        logs = [instance.close() for instance in (first, second)]
    for log in logs:
        assert log.count("Redis is unavailable") == 1, log[-2000:]
        assert "10.0.0.1" not in log and "Ev1" not in log
