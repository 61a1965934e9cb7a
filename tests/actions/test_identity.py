"""The identity form: formats re-asked, the pair verified, mismatches reveal nothing."""
from actions.identity import ValidateIdentityForm, find_email, find_order_id
from tests.actions.conftest import make_tracker, run, slot_events


def answer(domain, text, intent="inform", **slots):
    tracker = make_tracker(text, intent, slots=slots, active_loop="identity_form")
    return run(ValidateIdentityForm(), tracker, domain)


def test_order_numbers_are_found_and_normalised():
    assert find_order_id("it's bw 723241 thanks") == "BW-723241"
    assert find_order_id("BW-318904") == "BW-318904"
    assert find_order_id("BW-3189") is None
    assert find_order_id("my order is 12345678") is None
    assert find_email("It's Hiro.Tanaka@Example.com.") == "hiro.tanaka@example.com"
    assert find_email("hiro.tanaka at example") is None


def test_order_number_then_email_asked(domain):
    texts, _, events = answer(domain, "BW-723241", requested_slot="order_id")
    slots = slot_events(events)
    assert slots["order_id"] == "BW-723241"
    assert slots["requested_slot"] == "email"
    assert texts == []


def test_malformed_order_number_is_reasked_without_echo(domain):
    texts, _, events = answer(domain, "it is 99-abc", requested_slot="order_id")
    slots = slot_events(events)
    assert slots["order_id"] is None and slots["requested_slot"] == "order_id"
    assert "doesn't look like an order number" in texts[0]
    assert "BW-123456" in texts[0] and "99-abc" not in texts[0]


def test_malformed_email_is_reasked(domain):
    texts, _, events = answer(domain, "hiro at example dot com",
                              requested_slot="email", order_id="BW-723241")
    slots = slot_events(events)
    assert slots["email"] is None and slots["requested_slot"] == "email"
    assert "doesn't look like an e-mail address" in texts[0]


def test_matching_pair_is_verified(domain):
    texts, _, events = answer(domain, "Hiro.Tanaka@example.com",
                              requested_slot="email", order_id="BW-723241")
    slots = slot_events(events)
    assert slots["email"] == "hiro.tanaka@example.com"
    assert slots["verified_order"] == "BW-723241"
    assert slots["verification_failures"] == 0
    assert slots["requested_slot"] is None  # done: nothing else to ask


def test_wrong_email_and_unknown_order_get_the_same_answer(domain):
    wrong_email, _, events1 = answer(domain, "grace.kim@example.com",
                                     requested_slot="email", order_id="BW-723241")
    unknown_order, _, events2 = answer(domain, "hiro.tanaka@example.com",
                                       requested_slot="email", order_id="BW-999999")
    assert wrong_email == unknown_order
    assert "couldn't match" in wrong_email[0]
    for events in (events1, events2):
        slots = slot_events(events)
        assert slots["order_id"] is None and slots["email"] is None
        assert slots["verification_failures"] == 1
        assert slots["requested_slot"] == "order_id"  # retry from the start
        assert "verified_order" not in slots or slots["verified_order"] is None
    said = " ".join(wrong_email)
    assert "BW-723241" not in said and "exist" not in said


def test_last_allowed_failure_in_a_row_ends_the_form(domain):
    texts, _, events = answer(domain, "grace.kim@example.com", requested_slot="email",
                              order_id="BW-723241", verification_failures=4)
    slots = slot_events(events)
    assert slots["verification_failures"] == 5  # pack.yml identity.max_failures
    assert slots["requested_slot"] is None
    assert "still couldn't match" in texts[0]


def test_new_address_asked_only_for_a_processing_order(domain):
    _, _, events = answer(domain, "hiro.tanaka@example.com", requested_slot="email",
                          order_id="BW-723241", pending_request="change_address")
    assert slot_events(events)["requested_slot"] == "new_address"
    _, _, events = answer(domain, "hiro.tanaka@example.com", requested_slot="email",
                          order_id="BW-318904", pending_request="change_address")
    assert slot_events(events)["requested_slot"] is None  # shipped: nothing to ask


def test_new_address_is_validated(domain):
    base = dict(requested_slot="new_address", order_id="BW-723241",
                email="hiro.tanaka@example.com", verified_order="BW-723241",
                pending_request="change_address")
    texts, _, events = answer(domain, "next door", **base)
    assert slot_events(events)["new_address"] is None
    assert "full address" in texts[0]
    _, _, events = answer(domain, "12 Oak Street, Springfield, IL 62701", **base)
    slots = slot_events(events)
    assert slots["new_address"] == "12 Oak Street, Springfield, IL 62701"
    assert slots["requested_slot"] is None


def test_interruption_is_not_taken_as_an_answer(domain):
    _, _, events = answer(domain, "I want to talk to a person", intent="human_handoff",
                          requested_slot="order_id")
    assert "order_id" not in slot_events(events)


def test_card_number_is_never_repeated(domain):
    texts, responses, events = answer(domain, "4111 1111 1111 1111", requested_slot="order_id")
    assert "utter_no_secrets" in responses
    assert not any("4111" in t for t in texts)
    assert slot_events(events)["order_id"] is None
