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


def test_ticket_lists_what_the_customer_sent(domain):
    photo = {"id": "att_" + "a" * 32, "kind": "image", "mime": "image/png"}
    voice = {"id": "att_" + "b" * 32, "kind": "audio", "mime": "audio/ogg"}
    sent = [
        {"event": "user", "text": "[image]", "timestamp": 1.0, "metadata": {"attachments": [photo]},
         "parse_data": {"intent": {"name": "device_problem"},
                        "attachments": [{"id": photo["id"], "image_kind": "screenshot", "category": None,
                                         "text": "Payment declined (BW-1001) card 4111 1111 1111 1111"}]}},
        {"event": "user", "text": "it still does not work", "timestamp": 2.0,
         "metadata": {"attachments": [voice], "voice": {"attachment_id": voice["id"]}},
         "parse_data": {"intent": {"name": "device_problem"}}},
    ]
    tracker = make_tracker("I want to talk to a person", "human_handoff", events=sent)
    texts, _, _ = run(ActionHandoff(), tracker, domain)
    ticket_id = next(w for w in " ".join(texts).replace(")", " ").split() if w.startswith("TCK-"))
    lines = shared.store().get_ticket(ticket_id.rstrip(".,"))["transcript"]
    screenshot, = lines[0]["attachments"]
    assert screenshot["id"] == photo["id"] and screenshot["image_kind"] == "screenshot"
    assert "BW-1001" in screenshot["text"] and "4111" not in screenshot["text"]  # card masked
    assert lines[1]["attachments"] == [{**voice}]
    assert lines[1]["text"] == "it still does not work"  # a voice note's transcript is its text


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
