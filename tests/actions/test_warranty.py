"""Warranty status of an order's items from the catalogue's months and the delivery date."""
from datetime import date

from actions import shared
from actions.warranty import ActionWarrantyStatus
from tests.actions.conftest import make_tracker, run, verified


def test_items_in_warranty(domain):
    slots = verified("BW-815476", "imani.brooks@example.com")  # delivered 2026-11-23
    texts, _, _ = run(ActionWarrantyStatus(), make_tracker(slots=slots), domain)
    said = texts[0]
    assert "Brightwave Pulse 6 Phone: in warranty until November 23, 2028" in said
    assert "Keytone Mechanical Keyboard: in warranty until November 23, 2027" in said


def test_expired_warranty(domain, monkeypatch):
    monkeypatch.setattr(shared, "today", lambda: date(2028, 1, 1))
    slots = verified("BW-938186", "luis.garcia@example.com")  # doorbell, 12 months from 2026-10-03
    texts, _, _ = run(ActionWarrantyStatus(), make_tracker(slots=slots), domain)
    assert "warranty expired on October 3, 2027" in texts[0]


def test_not_delivered_yet(domain):
    slots = verified("BW-723241", "hiro.tanaka@example.com")
    texts, _, _ = run(ActionWarrantyStatus(), make_tracker(slots=slots), domain)
    assert "starts on the delivery date" in texts[0]


def test_product_warranty_from_the_catalogue(domain):
    from actions.warranty import ActionProductWarranty
    tracker = make_tracker("how long is the warranty on the aero 14", "warranty",
                           entities=[{"entity": "product", "value": "aero 14"}])
    texts, _, _ = run(ActionProductWarranty(), tracker, domain)
    assert "Brightwave Aero 14 Laptop comes with a 24-month warranty" in texts[0]
    assert "order" in texts[0]


def test_product_warranty_question_is_not_taken_as_an_order_number(domain):
    from actions.identity import ValidateIdentityForm
    tracker = make_tracker("is the aero 14 under warranty", "warranty",
                           entities=[{"entity": "product", "value": "aero 14"}],
                           slots={"requested_slot": "order_id"}, active_loop="identity_form")
    assert ValidateIdentityForm().free_text(tracker, "order_id") == {}
