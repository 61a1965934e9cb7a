"""Identity checks cannot be brute-forced (issue 15): wrong pairs count per conversation, order and
account in the shared store (actions/attempts.py), starting over resets nothing, a locked check
is not checked at all, and a verified identity lapses when left idle (pack.yml identity)."""
from actions import shared
from actions.identity import ValidateIdentityForm
from actions.orders import ActionOrderStatus
from actions.pay import ActionPayAccount, ValidatePayForm
from tests.actions.conftest import make_tracker, run, slot_events, verified

MAYA, MAYA_LAST4 = "maya.patel@example.com", "0122"  # balance $150.00
JONAS, JONAS_ORDER = "jonas.weber@example.com", "BW-639788"  # shipped


def pay_guess(domain, last4, sender="guesser", email=MAYA, failures=0):
    """One e-mail + phone-digits pair (the e-mail given, the digits the answer being asked)."""
    tracker = make_tracker(last4, "inform", active_loop="pay_form", sender_id=sender,
                           slots={"requested_slot": "phone_last4", "email": email,
                                  "verification_failures": failures})
    texts, _, events = run(ValidatePayForm(), tracker, domain)
    return " ".join(texts), slot_events(events)


def order_guess(domain, order_id, email, sender="guesser", failures=0):
    tracker = make_tracker(email, "inform", active_loop="identity_form", sender_id=sender,
                           slots={"requested_slot": "email", "order_id": order_id,
                                  "verification_failures": failures})
    texts, _, events = run(ValidateIdentityForm(), tracker, domain)
    return " ".join(texts), slot_events(events)


def test_wrong_phone_digits_in_one_conversation_lock_the_account(domain):
    failures, answers = 0, []
    for guess in range(20):
        said, slots = pay_guess(domain, f"{guess:04d}", failures=failures)
        answers.append(said)
        assert not slots.get("verified_pay_email")
        if slots["requested_slot"] is None:  # the form ended: what a restart would do next
            failures = 0
        else:
            failures = slots["verification_failures"]
    assert "Let's try again" in answers[0]
    assert "couldn't match" in answers[4] and "next 30 minutes" in answers[4]  # the 5th locks
    assert all("can't check details for this wallet account" in said for said in answers[5:])
    assert all("couldn't match" not in said for said in answers[5:])  # not checked any more
    said, slots = pay_guess(domain, MAYA_LAST4)  # the right digits
    assert not slots.get("verified_pay_email") and slots["requested_slot"] is None
    assert said == answers[-1]  # the same answer as a wrong pair: nothing checked
    assert "0122" not in said and "$150" not in said


def test_wrong_phone_digits_from_twenty_conversations_lock_the_account(domain):
    for guess in range(20):
        _, slots = pay_guess(domain, f"{guess:04d}", sender=f"guesser-{guess}")
        assert not slots.get("verified_pay_email")
    said, slots = pay_guess(domain, MAYA_LAST4, sender="guesser-last")
    assert not slots.get("verified_pay_email")
    assert "can't check details for this wallet account" in said
    # another account is not locked, in a new conversation
    _, slots = pay_guess(domain, "0112", sender="chloe", email="chloe.martin@example.com")
    assert slots["verified_pay_email"] == "chloe.martin@example.com"


def test_order_numbers_guessed_for_one_email_lock_the_account(domain):
    for guess in range(20):
        _, slots = order_guess(domain, f"BW-6397{guess:02d}", JONAS, sender=f"guesser-{guess}")
        assert not slots.get("verified_order")
    said, slots = order_guess(domain, JONAS_ORDER, JONAS, sender="guesser-last")
    assert not slots.get("verified_order") and slots["requested_slot"] is None
    assert "can't check details for this order" in said


def test_emails_guessed_for_one_order_lock_the_order(domain):
    failures = 0
    for guess in range(20):
        _, slots = order_guess(domain, JONAS_ORDER, f"guess{guess}@example.com", failures=failures)
        assert not slots.get("verified_order")
        failures = slots["verification_failures"] if slots["requested_slot"] else 0
    said, slots = order_guess(domain, JONAS_ORDER, JONAS, sender="someone-new")
    assert not slots.get("verified_order")
    assert "can't check details for this order" in said


def test_unknown_and_real_orders_lock_alike(domain):
    """The lock reveals nothing about which orders exist."""
    answers = []
    for order_id in (JONAS_ORDER, "BW-000002"):
        for guess in range(5):
            said, _ = order_guess(domain, order_id, f"nobody{guess}@example.com", sender=f"{order_id}-{guess}")
        answers.append(said)
    assert answers[0] == answers[1] and "next 30 minutes" in answers[0]


def test_a_right_pair_is_not_held_against_the_customer(domain):
    for guess in range(4):
        order_guess(domain, "BW-723241", "grace.kim@example.com", sender=f"typo-{guess}")
    _, slots = order_guess(domain, "BW-723241", "hiro.tanaka@example.com", sender="hiro")
    assert slots["verified_order"] == "BW-723241"
    said, slots = order_guess(domain, "BW-723241", "someone.else@example.com", sender="typo-again")
    assert "Let's try again" in said  # the order's count started over


def test_the_skill_offers_an_agent_with_words_that_fit_the_flow(domain):
    texts, _, events = run(ActionPayAccount(), make_tracker(slots={"verification_failures": 1}), domain)
    assert "couldn't verify the account" in texts[0] and "order" not in texts[0]
    assert "agent" in texts[0] and slot_events(events)["next_step"] == "offer_agent"
    # after a lock the form has said why: the skill says only what follows
    texts, _, events = run(ActionPayAccount(), make_tracker(slots={"verification_failures": 5}), domain)
    assert texts[0].startswith("Without that check I can't share or change anything on this account")
    assert "order" not in texts[0] and slot_events(events)["next_step"] == "offer_agent"
    texts, _, _ = run(ActionOrderStatus(), make_tracker(slots={"verification_failures": 5}), domain)
    assert texts[0].startswith("Without that check I can't share or change anything on this order")


# ------------------------------------------------------------------ idle verification


def proved(slot, value, minutes_idle, text="where is my order"):
    """Events: the slot set at t0, then the customer's next message `minutes_idle` later."""
    t0 = 1_800_000_000.0
    return [{"event": "user", "text": "x", "timestamp": t0 - 5},
            {"event": "slot", "name": slot, "value": value, "timestamp": t0},
            {"event": "user", "text": text, "timestamp": t0 + 60 * minutes_idle}]


def tracker_with(events, text, intent, slots, active_loop=None):
    tracker = make_tracker(text, intent, slots=slots, active_loop=active_loop)
    tracker.events[:] = events
    return tracker


def test_verified_order_lapses_after_idle_minutes(domain):
    slots = verified(JONAS_ORDER, JONAS)
    fresh = tracker_with(proved("verified_order", JONAS_ORDER, 14), "where is my order", "order_status", slots)
    assert shared.verified_order(fresh)["order_id"] == JONAS_ORDER
    texts, _, _ = run(ActionOrderStatus(), fresh, domain)
    assert "has shipped" in texts[0]
    idle = tracker_with(proved("verified_order", JONAS_ORDER, 16), "where is my order", "order_status", slots)
    assert shared.verified_order(idle) is None
    texts, _, _ = run(ActionOrderStatus(), idle, domain)
    assert "has shipped" not in " ".join(texts) and "couldn't verify the order" in texts[0]


def test_form_asks_again_after_idle(domain):
    slots = {**verified(JONAS_ORDER, JONAS), "requested_slot": None}
    tracker = tracker_with(proved("verified_order", JONAS_ORDER, 20), "where is my order",
                           "order_status", slots, active_loop="identity_form")
    texts, _, events = run(ValidateIdentityForm(), tracker, domain)
    changed = slot_events(events)
    assert changed["verified_order"] is None and changed["order_id"] is None and changed["email"] is None
    assert changed["requested_slot"] == "order_id"
    assert "check your details again" in texts[0]


def test_wallet_lapses_after_idle(domain):
    slots = {"email": MAYA, "phone_last4": MAYA_LAST4, "verified_pay_email": MAYA}
    idle = tracker_with(proved("verified_pay_email", MAYA, 16, "my balance"), "my balance", "pay_account", slots)
    texts, _, _ = run(ActionPayAccount(), idle, domain)
    assert "$150" not in " ".join(texts) and "couldn't verify the account" in texts[0]
    fresh = tracker_with(proved("verified_pay_email", MAYA, 1, "my balance"), "my balance", "pay_account", slots)
    texts, _, _ = run(ActionPayAccount(), fresh, domain)
    assert "$150.00" in texts[0]


def test_store_unreachable_checks_nothing(domain, monkeypatch):
    """Redis configured but down: no pair is checked (fail closed), an apology instead."""
    monkeypatch.setenv("PARLEY_REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    shared.reset()
    tracker = make_tracker(MAYA_LAST4, "inform", active_loop="pay_form", sender_id="someone",
                           slots={"requested_slot": "phone_last4", "email": MAYA})
    texts, responses, events = run(ValidatePayForm(), tracker, domain)
    assert "utter_technical_problem" in responses
    assert not slot_events(events).get("verified_pay_email") and "$150" not in " ".join(texts)
