"""Missing-parcel and damaged-item claims, with the pack's waiting times and agent threshold."""
from datetime import date

from actions import shared
from actions.claims import ActionDamagedItem, ActionMissingParcel
from tests.actions.conftest import make_tracker, run, slot_events, verified

IMANI = "imani.brooks@example.com"
BEN = "ben.okafor@example.com"


def claims_for(order_id):
    with shared.store()._connect() as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM claims WHERE order_id = ?", (order_id,))]


def tickets():
    with shared.store()._connect() as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM tickets")]


def test_missing_parcel_claim_after_the_wait(domain):
    texts, _, _ = run(ActionMissingParcel(), make_tracker(slots=verified("BW-648936", IMANI)), domain)
    assert "missing-parcel claim CLM-" in texts[0]
    [claim] = claims_for("BW-648936")
    assert claim["kind"] == "missing_parcel" and claim["status"] == "open"


def test_missing_parcel_just_delivered_asks_to_wait(domain, monkeypatch):
    monkeypatch.setattr(shared, "today", lambda: date(2026, 11, 14))
    texts, _, _ = run(ActionMissingParcel(), make_tracker(slots=verified("BW-648936", IMANI)), domain)
    assert "24 hours" in texts[0] and "neighbours" in texts[0]
    assert claims_for("BW-648936") == []


def test_missing_parcel_not_delivered_yet(domain):
    slots = verified("BW-318904", "hiro.tanaka@example.com")
    texts, _, _ = run(ActionMissingParcel(), make_tracker(slots=slots), domain)
    assert "isn't marked as delivered" in texts[0] and "US1109525498" in texts[0]


def with_photo(order_id, email, number=1):
    """The identity check just passed; the customer sent a photo of the item before it."""
    from tests.actions.test_attachments import att, image_tracker, item_photo, message

    first = message("my order arrived damaged", "damaged_item", [item_photo(number)])
    return image_tracker(email, "inform", slots=verified(order_id, email), before=[first]), att(number)


def test_damaged_item_without_a_photo_asks_for_one(domain, monkeypatch):
    monkeypatch.setattr(shared, "today", lambda: date(2026, 11, 22))  # BW-536875: 21 Nov, $492.99
    texts, _, events = run(ActionDamagedItem(), make_tracker(slots=verified("BW-536875", BEN)), domain)
    assert "photo of the damaged item" in texts[0] and "box" in texts[0]
    assert slot_events(events)["next_step"] == "claim_photo"
    assert claims_for("BW-536875") == [] and tickets() == []


def test_damaged_item_claim_with_a_photo(domain, monkeypatch):
    monkeypatch.setattr(shared, "today", lambda: date(2026, 11, 22))
    tracker, photo = with_photo("BW-536875", BEN)
    texts, _, _ = run(ActionDamagedItem(), tracker, domain)
    assert "claim CLM-" in texts[0] and "packaging" in texts[0]
    [claim] = claims_for("BW-536875")
    assert claim["kind"] == "damaged_item" and photo in claim["details"]
    assert tickets() == []


def test_damaged_item_over_threshold_goes_to_an_agent(domain, monkeypatch):
    monkeypatch.setattr(shared, "today", lambda: date(2026, 11, 24))  # BW-815476: 23 Nov, $832.99
    tracker, _ = with_photo("BW-815476", IMANI)
    texts, _, _ = run(ActionDamagedItem(), tracker, domain)
    said = " ".join(texts)
    assert "$500.00" in said and "TCK-" in said
    [ticket] = tickets()
    assert ticket["order_id"] == "BW-815476" and "Damaged" in ticket["summary"]


def test_damaged_item_too_late_offers_an_agent(domain):
    texts, _, events = run(ActionDamagedItem(), make_tracker(slots=verified("BW-815476", IMANI)), domain)
    assert "within 48 hours" in texts[0]
    assert slot_events(events)["next_step"] == "offer_agent"
    assert claims_for("BW-815476") == []
