"""Order status, cancellation and address change for verified orders."""
from actions import shared
from actions.orders import ActionCancelOrder, ActionChangeAddress, ActionConfirmCancel, ActionOrderStatus
from tests.actions.conftest import make_tracker, run, slot_events, verified

HIRO = "hiro.tanaka@example.com"


def test_status_of_a_shipped_order(domain):
    texts, _, _ = run(ActionOrderStatus(), make_tracker(slots=verified("BW-318904", HIRO)), domain)
    said = " ".join(texts)
    assert "BW-318904" in said and "shipped" in said
    assert "USPS" in said and "US1109525498" in said
    assert "December 2, 2026" in said


def test_status_of_a_delivered_order(domain):
    slots = verified("BW-274447", HIRO)
    texts, _, _ = run(ActionOrderStatus(), make_tracker(slots=slots), domain)
    assert "delivered on October 14, 2026" in texts[0] and "FE9531811146" in texts[0]


def test_nothing_shown_without_verification(domain):
    slots = {"order_id": "BW-318904", "email": HIRO}  # never verified
    texts, _, events = run(ActionOrderStatus(), make_tracker(slots=slots), domain)
    said = " ".join(texts)
    assert "US1109525498" not in said and "shipped" not in said
    assert slot_events(events)["next_step"] == "offer_agent"


def test_verification_of_another_order_does_not_count(domain):
    slots = {"order_id": "BW-318904", "email": HIRO, "verified_order": "BW-723241"}
    texts, _, _ = run(ActionOrderStatus(), make_tracker(slots=slots), domain)
    assert "US1109525498" not in " ".join(texts)


def test_cancel_refused_for_a_shipped_order(domain):
    texts, _, events = run(ActionCancelOrder(), make_tracker(slots=verified("BW-318904", HIRO)), domain)
    assert "already shipped" in texts[0] and "refuse the delivery" in texts[0]
    assert slot_events(events)["next_step"] is None
    assert shared.store().get_order("BW-318904")["status"] == "shipped"


def test_cancel_a_processing_order_after_yes(domain):
    slots = verified("BW-723241", HIRO)
    texts, _, events = run(ActionCancelOrder(), make_tracker(slots=slots), domain)
    assert "Shall I cancel it?" in texts[0]
    assert slot_events(events)["next_step"] == "confirm_cancel"
    assert shared.store().get_order("BW-723241")["status"] == "processing"  # not yet

    slots["next_step"] = "confirm_cancel"
    texts, _, events = run(ActionConfirmCancel(), make_tracker("yes", "affirm", slots=slots), domain)
    assert "BW-723241 is now cancelled" in texts[0]
    assert slot_events(events)["next_step"] is None
    assert shared.store().get_order("BW-723241")["status"] == "cancelled"


def test_change_address_of_a_processing_order(domain):
    slots = verified("BW-723241", HIRO, new_address="12 Oak Street, Springfield, IL 62701")
    texts, _, events = run(ActionChangeAddress(), make_tracker(slots=slots), domain)
    assert "12 Oak Street" in texts[0]
    assert shared.store().get_order("BW-723241")["shipping_address"] == "12 Oak Street, Springfield, IL 62701"
    assert slot_events(events)["new_address"] is None


def test_change_address_refused_once_shipped(domain):
    texts, _, _ = run(ActionChangeAddress(), make_tracker(slots=verified("BW-318904", HIRO)), domain)
    assert "already shipped" in texts[0] and "US1109525498" in texts[0]
    assert shared.store().get_order("BW-318904")["shipping_address"] is None


def test_store_failure_becomes_an_apology(domain, monkeypatch):
    def broken():
        raise OSError("disk gone")

    monkeypatch.setattr(shared, "store", broken)
    texts, responses, _ = run(ActionOrderStatus(), make_tracker(slots=verified("BW-318904", HIRO)), domain)
    assert responses == ["utter_technical_problem"] and texts == []
