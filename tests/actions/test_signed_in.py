"""A customer the company's site signed in (metadata["signed_in_customer"], set by the channel
only after checking the back end's signature) is not asked for what the signature proves: the
wallet needs no phone digits, an order needs only its number, and an expired or absent
signature changes nothing."""
import time

from actions.identity import ValidateIdentityForm
from actions.pay import ActionPayAccount, ValidatePayForm
from tests.actions.conftest import make_tracker, run, slot_events

MAYA = "maya.patel@example.com"  # balance $150.00
JONAS, JONAS_ORDER = "jonas.weber@example.com", "BW-639788"


def signed_in(email: str, seconds: float = 600) -> dict:
    return {"signed_in_customer": {"email": email, "expires": int(time.time() + seconds)}}


def pay_form(domain, metadata, slots=None):
    tracker = make_tracker("how much is in my wallet", "pay_account", active_loop="pay_form",
                           sender_id="signed-in", slots=slots or {}, metadata=metadata)
    texts, _, events = run(ValidatePayForm(), tracker, domain)
    return " ".join(texts), slot_events(events)


def test_the_wallet_of_a_signed_in_customer_needs_no_digits(domain):
    said, slots = pay_form(domain, signed_in(MAYA.upper()))
    assert slots["email"] == MAYA and slots["verified_pay_email"] == MAYA
    assert slots["requested_slot"] is None  # nothing asked
    tracker = make_tracker("how much is in my wallet", "pay_account", metadata=signed_in(MAYA),
                           slots={"email": MAYA, "verified_pay_email": MAYA})
    texts, _, _ = run(ActionPayAccount(), tracker, domain)
    assert "$150.00" in " ".join(texts)


def test_an_expired_or_missing_signature_is_asked_as_before(domain):
    for metadata in (signed_in(MAYA, seconds=-5), {}, {"signed_in_customer": {"email": 5}},
                     {"signed_in_customer": {"email": MAYA, "expires": "soon"}}):
        _, slots = pay_form(domain, metadata)
        assert not slots.get("verified_pay_email") and not slots.get("email"), metadata
        assert slots["requested_slot"] == "email", metadata


def test_a_signed_in_customer_gives_only_the_order_number(domain):
    tracker = make_tracker(JONAS_ORDER, "inform", active_loop="identity_form", sender_id="signed-in-2",
                           slots={"requested_slot": "order_id"}, metadata=signed_in(JONAS))
    _, _, events = run(ValidateIdentityForm(), tracker, domain)
    slots = slot_events(events)
    assert slots["order_id"] == JONAS_ORDER and slots["email"] == JONAS
    assert slots["verified_order"] == JONAS_ORDER


def test_a_signed_in_customer_cannot_open_someone_elses_order(domain):
    tracker = make_tracker(JONAS_ORDER, "inform", active_loop="identity_form", sender_id="signed-in-3",
                           slots={"requested_slot": "order_id"}, metadata=signed_in(MAYA))
    texts, _, events = run(ValidateIdentityForm(), tracker, domain)
    assert not slot_events(events).get("verified_order")
    assert "couldn't match" in " ".join(texts)
