"""The action server down or slow: the customer gets an apology (resilience/actions.py) within
the action timeout instead of silence or a 5-minute wait, the conversation stays consistent,
and the next message after the server is back gets the real answer. Real Rasa, real action
server (behind a DelayProxy), real perception service."""
import uuid

import pytest

from resilience.actions import APOLOGY_TEXT, action_timeout

HIRO = "hiro.tanaka@example.com"
ERROR_CODE_QUESTION = "my app keeps saying BW-2002 when I try to sign in"
APOLOGY = "can't look that up right now"  # utter_technical_problem (domain) and APOLOGY_TEXT


def sender() -> str:
    return f"faults-{uuid.uuid4().hex[:10]}"


def after_last_user(events: list) -> list:
    last = max(i for i, e in enumerate(events) if e["event"] == "user")
    return events[last + 1:]


def test_answers_while_the_action_server_is_up(healthy):
    assert "30 minutes" in healthy.texts(sender(), ERROR_CODE_QUESTION)


def test_action_server_down_gets_an_apology_then_the_answer_once_it_is_back(healthy):
    me = sender()
    healthy.actions_proxy.stop()  # nothing listens at the action endpoint: connection refused
    response = healthy.post(me, ERROR_CODE_QUESTION)
    assert response.status_code == 200
    answer = " ".join(m.get("text", "") for m in response.json()).lower()
    assert APOLOGY in answer and "30 minutes" not in answer
    turn = after_last_user(healthy.events(me))
    actions = [e["name"] for e in turn if e["event"] == "action"]
    assert actions[-2:] == ["action_troubleshoot", "action_listen"]  # nothing else ran
    assert sum(1 for e in turn if e["event"] == "bot") == 1  # one apology
    healthy.actions_proxy.start()
    assert "30 minutes" in healthy.texts(me, ERROR_CODE_QUESTION)  # same conversation, no restart


def test_slow_action_server_gets_an_apology_then_the_answer_once_it_is_fast(healthy):
    me = sender()
    healthy.actions_proxy.delay = 120  # far over the action timeout (6 s in tests/faults)
    answer = healthy.texts(me, ERROR_CODE_QUESTION)
    assert APOLOGY in answer and "30 minutes" not in answer
    healthy.actions_proxy.delay = 0
    assert "30 minutes" in healthy.texts(me, ERROR_CODE_QUESTION)


def test_identity_form_with_the_action_server_down_stops_and_starts_again_later(healthy):
    """validate_identity_form cannot run: the form stops with the apology instead of asking for
    the e-mail with an order number nobody checked; later the check works as usual."""
    me = sender()
    healthy.actions_proxy.stop()
    answer = healthy.texts(me, "where is my order BW-318904")
    assert APOLOGY in answer and "e-mail" not in answer and "email" not in answer
    tracker = healthy.tracker(me)
    assert not (tracker.get("active_loop") or {}).get("name")
    assert tracker["slots"].get("verified_order") is None
    healthy.actions_proxy.start()
    second = healthy.texts(me, "where is my order BW-318904")
    assert "e-mail" in second or "email" in second
    answer = healthy.texts(me, HIRO)
    assert "us1109525498" in answer and "shipped" in answer


def test_fallback_log_names_the_action_and_the_error_type_only(healthy):
    me = sender()
    healthy.actions_proxy.stop()
    start = len(healthy.log())
    healthy.texts(me, ERROR_CODE_QUESTION)
    healthy.actions_proxy.start()
    lines = [line for line in healthy.log()[start:].splitlines() if "resilience.actions" in line]
    assert any("action_troubleshoot: the customer gets an apology" in line for line in lines)
    assert not any("BW-2002" in line or me in line for line in lines)  # no words, no sender id


# ------------------------------------------------------------------ the timeout setting


class Endpoint:
    def __init__(self, **kwargs) -> None:
        self.kwargs = kwargs


def test_timeout_from_endpoints_then_environment_then_default(monkeypatch):
    monkeypatch.delenv("PARLEY_ACTION_TIMEOUT", raising=False)
    assert action_timeout(Endpoint()) == 10.0
    monkeypatch.setenv("PARLEY_ACTION_TIMEOUT", "4.5")
    assert action_timeout(Endpoint()) == 4.5
    assert action_timeout(Endpoint(timeout=3)) == 3.0  # endpoints.yml wins


@pytest.mark.parametrize("value", ["soon", "0", "-2", "nan"])
def test_a_bad_timeout_is_refused(monkeypatch, value):
    monkeypatch.setenv("PARLEY_ACTION_TIMEOUT", value)
    with pytest.raises(ValueError):
        action_timeout(Endpoint())
    monkeypatch.delenv("PARLEY_ACTION_TIMEOUT")
    with pytest.raises(ValueError):
        action_timeout(Endpoint(timeout=value))


def test_the_fixed_apology_says_what_the_domain_response_says():
    assert APOLOGY in APOLOGY_TEXT.lower()
