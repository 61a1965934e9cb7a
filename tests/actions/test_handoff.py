"""Handoff: a ticket with the transcript, order number and summary; agent hours from the pack."""
from actions import shared
from actions.handoff import ActionHandoff, ActionUnrecognizedCharge
from tests.actions.conftest import SUNDAY, make_tracker, run, slot_events

HISTORY = [
    {"event": "user", "text": "where is my order?", "timestamp": 1.0,
     "parse_data": {"intent": {"name": "order_status"}}},
    {"event": "bot", "text": "Could you tell me your order number?", "timestamp": 2.0},
    {"event": "user", "text": "my card is 4111 1111 1111 1111", "timestamp": 3.0,
     "parse_data": {"intent": {"name": "inform"}}},
]


def handoff(domain, action=None, intent="human_handoff"):
    tracker = make_tracker("I want to talk to a person", intent, events=HISTORY,
                           slots={"order_id": "BW-318904", "next_step": "offer_agent"})
    texts, _, events = run(action or ActionHandoff(), tracker, domain)
    ticket_id = next(w for w in " ".join(texts).replace(")", " ").split() if w.startswith("TCK-"))
    return texts, events, shared.store().get_ticket(ticket_id.rstrip(".,"))


def test_ticket_carries_the_conversation(domain):
    texts, events, ticket = handoff(domain)
    assert "agent will join" in texts[0]
    assert ticket["order_id"] == "BW-318904"
    assert ticket["summary"] == "Help with an order's status"
    said = [(line["speaker"], line["text"]) for line in ticket["transcript"]]
    assert said[0] == ("customer", "where is my order?")
    assert said[1] == ("assistant", "Could you tell me your order number?")
    assert said[-1] == ("customer", "I want to talk to a person")
    assert "4111" not in str(ticket["transcript"])  # card number masked
    assert slot_events(events)["next_step"] is None


def test_outside_hours_says_when(domain, monkeypatch):
    monkeypatch.setattr(shared, "now", lambda: SUNDAY)
    texts, _, ticket = handoff(domain)
    assert "offline" in texts[0] and "by e-mail within 1 business day" in texts[0]
    assert "Monday at 08:00" in texts[0]
    assert ticket is not None


def test_unrecognized_charge_goes_to_an_agent(domain):
    texts, _, ticket = handoff(domain, ActionUnrecognizedCharge(), intent="unrecognized_charge")
    assert "don't recognise" in texts[0]
    assert ticket["reason"] == "unrecognized_charge" and "fraud" in ticket["summary"]
