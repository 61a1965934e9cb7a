"""channels/guard.py without a server: the token buckets and the offered-button check."""
import pytest
from rasa.shared.core.events import BotUttered, UserUttered

from channels.guard import RateLimited, RateLimiter, offered_payloads


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_sender_over_its_budget_waits_and_others_do_not():
    clock = Clock()
    limiter = RateLimiter(2, 1, 100, 100, clock=clock)
    limiter.check("rest", "a", "10.0.0.1", media=False)
    limiter.check("rest", "a", "10.0.0.1", media=False)
    with pytest.raises(RateLimited) as refused:
        limiter.check("rest", "a", "10.0.0.1", media=False)
    assert refused.value.status == 429 and refused.value.retry_after == 30
    limiter.check("rest", "b", "10.0.0.1", media=False)  # another sender
    limiter.check("webchat", "a", "10.0.0.1", media=False)  # the same id on another channel
    clock.now = 30.0  # half a minute refills one of two tokens
    limiter.check("rest", "a", "10.0.0.1", media=False)


def test_media_has_its_own_stricter_budget():
    limiter = RateLimiter(10, 1, 100, 100, clock=Clock())
    limiter.check("multimodal", "a", "10.0.0.1", media=True)
    with pytest.raises(RateLimited) as refused:
        limiter.check("multimodal", "a", "10.0.0.1", media=True)
    assert refused.value.retry_after == 60
    limiter.check("multimodal", "a", "10.0.0.1", media=False)  # text still goes


def test_an_address_is_limited_across_senders_and_a_refusal_takes_no_token():
    clock = Clock()
    limiter = RateLimiter(10, 10, 3, 1, clock=clock)
    for sender in ("a", "b", "c"):
        limiter.check("rest", sender, "10.0.0.1", media=False)
    with pytest.raises(RateLimited):
        limiter.check("rest", "d", "10.0.0.1", media=False)
    limiter.check("rest", "d", "10.0.0.2", media=False)  # another address
    with pytest.raises(RateLimited):
        limiter.check("rest", "a", "10.0.0.1", media=False)
    clock.now = 20.0  # one token back: the refused messages took none from the senders
    limiter.check("rest", "d", "10.0.0.1", media=False)


def test_zero_turns_a_budget_off():
    limiter = RateLimiter(0, 0, 0, 0, clock=Clock())
    for _ in range(100):
        limiter.check("rest", "a", "10.0.0.1", media=True)


def test_bad_budgets_are_refused(monkeypatch):
    monkeypatch.setenv("PARLEY_RATE_TEXT_PER_MIN", "lots")
    with pytest.raises(ValueError, match="PARLEY_RATE_TEXT_PER_MIN"):
        RateLimiter.from_env()
    monkeypatch.setenv("PARLEY_RATE_TEXT_PER_MIN", "-1")
    with pytest.raises(ValueError):
        RateLimiter.from_env()


def test_the_buttons_the_bot_offered_in_the_session_count():
    buttons = {"buttons": [{"title": "Yes", "payload": "/affirm"}],
               "quick_replies": [{"title": "No", "payload": " /deny "}, {"title": "bad"}]}
    events = [BotUttered("pick", {"buttons": [{"title": "X", "payload": "/stop"}]}),
              UserUttered("hello"), BotUttered("Was this helpful?", buttons), BotUttered("ok"),
              UserUttered("/affirm")]
    assert offered_payloads(events) == {"/stop", "/affirm", "/deny"}
    assert offered_payloads([UserUttered("/affirm"), BotUttered("hi")]) == set()
