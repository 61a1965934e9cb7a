"""Wallet account: e-mail plus the phone's last four digits, then balance and installments."""
from datetime import date

from actions.pay import ActionPayAccount, ValidatePayForm, find_phone_last4, next_installment_date
from tests.actions.conftest import make_tracker, run, slot_events

BEN = "ben.okafor@example.com"  # phone +1-312-555-0111, balance 320.75, installment orders


def test_phone_digits_and_due_date():
    assert find_phone_last4("it's 0111") == "0111"
    assert find_phone_last4("+1-312-555-0111") == "0111"
    assert find_phone_last4("011") is None
    assert next_installment_date(date(2026, 11, 29), 5) == date(2026, 12, 5)
    assert next_installment_date(date(2026, 12, 3), 5) == date(2026, 12, 5)
    assert next_installment_date(date(2026, 12, 6), 5) == date(2027, 1, 5)


def test_form_verifies_the_account(domain):
    tracker = make_tracker("0111", "inform", active_loop="pay_form",
                           slots={"requested_slot": "phone_last4", "email": BEN})
    _, _, events = run(ValidatePayForm(), tracker, domain)
    slots = slot_events(events)
    assert slots["verified_pay_email"] == BEN and slots["requested_slot"] is None


def test_form_mismatch_reveals_nothing(domain):
    tracker = make_tracker("9999", "inform", active_loop="pay_form",
                           slots={"requested_slot": "phone_last4", "email": BEN})
    texts, _, events = run(ValidatePayForm(), tracker, domain)
    slots = slot_events(events)
    assert slots["email"] is None and slots["phone_last4"] is None
    assert slots["requested_slot"] == "email"
    assert "couldn't match that e-mail address and phone number" in texts[0]
    assert "0111" not in texts[0]


def test_balance_installments_and_next_date(domain):
    slots = {"email": BEN, "phone_last4": "0111", "verified_pay_email": BEN}
    texts, _, _ = run(ActionPayAccount(), make_tracker(slots=slots), domain)
    said = texts[0]
    assert "$320.75" in said
    # BW-427000, BW-433998 and BW-167413 are paid in installments
    for order_id in ("BW-427000", "BW-433998", "BW-167413"):
        assert order_id in said
    assert "BW-258252" not in said  # paid by card
    assert "December 5, 2026" in said


def test_no_plans_no_date(domain):
    email = "chloe.martin@example.com"
    slots = {"email": email, "phone_last4": "0112", "verified_pay_email": email}
    texts, _, _ = run(ActionPayAccount(), make_tracker(slots=slots), domain)
    assert "$85.20" in texts[0] and "no active installment plans" in texts[0]


def test_unverified_account_shows_nothing(domain):
    texts, _, events = run(ActionPayAccount(), make_tracker(slots={"email": BEN}), domain)
    assert "$320.75" not in " ".join(texts)
    assert slot_events(events)["next_step"] == "offer_agent"
