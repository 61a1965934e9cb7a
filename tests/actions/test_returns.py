"""Return eligibility from the pack's windows, return records, and refund status."""
from actions import shared
from actions.returns import ActionRefundStatus, ActionStartReturn, eligibility
from tests.actions.conftest import TODAY, make_tracker, run, verified


def test_window_by_category_and_delivery_date():
    # BW-815476 delivered 2026-11-23: phone (15 days) and keyboard (30 days) both still in time
    order = shared.store().get_order("BW-815476")
    returnable, refused, conditions = eligibility(order, TODAY)
    assert [p.sku for p in returnable] == ["BW-PH-0612", "KT-KB-0450"] and refused == []
    assert any("carrier plan" in c for c in conditions["BW-PH-0612"])
    assert conditions["KT-KB-0450"] == []
    # BW-433998 delivered 2026-10-13: a laptop, 15-day window long over
    order = shared.store().get_order("BW-433998")
    returnable, refused, _ = eligibility(order, TODAY)
    assert returnable == [] and "15-day return window" in refused[0]
    order = shared.store().get_order("BW-648936")  # smartwatch delivered 2026-11-14
    returnable, _, _ = eligibility(order, TODAY)
    assert [p.sku for p in returnable] == ["BW-WT-0044"]


def test_return_created_with_label_and_dropoff(domain):
    slots = verified("BW-648936", "imani.brooks@example.com")
    texts, _, _ = run(ActionStartReturn(), make_tracker(slots=slots), domain)
    said = texts[0]
    assert "RMA-" in said and "prepaid return label" in said and "e-mailed" in said
    assert "within 7 days" in said
    order = shared.store().get_order("BW-648936")
    assert order["status"] == "return_in_progress"
    return_id = said.split("return ")[1].split(" ")[0]
    assert shared.store().get_return(return_id)["skus"] == ["BW-WT-0044"]


def test_return_refused_after_the_window(domain):
    slots = verified("BW-433998", "ben.okafor@example.com")
    texts, _, _ = run(ActionStartReturn(), make_tracker(slots=slots), domain)
    assert "can't start a return" in texts[0] and "15-day" in texts[0]
    assert shared.store().get_order("BW-433998")["status"] == "delivered"


def test_return_of_an_undelivered_order(domain):
    slots = verified("BW-723241", "hiro.tanaka@example.com")
    texts, _, _ = run(ActionStartReturn(), make_tracker(slots=slots), domain)
    assert "Only delivered orders" in texts[0] and "cancel" in texts[0]


def test_only_the_named_item_is_returned(domain):
    slots = verified("BW-815476", "imani.brooks@example.com", product="keyboard")
    texts, _, _ = run(ActionStartReturn(), make_tracker(slots=slots), domain)
    assert "Keytone Mechanical Keyboard" in texts[0] and "Pulse 6" not in texts[0]


def test_refund_status_refunded_and_in_progress(domain):
    slots = verified("BW-564779", "farid.haddad@example.com")  # refunded, paid by card
    texts, _, _ = run(ActionRefundStatus(), make_tracker(slots=slots), domain)
    assert "has been refunded" in texts[0] and "5-7 business days" in texts[0]
    slots = verified("BW-743898", "grace.kim@example.com")  # return in progress, wallet
    texts, _, _ = run(ActionRefundStatus(), make_tracker(slots=slots), domain)
    assert "in progress" in texts[0] and "2 business days" in texts[0]
    assert "within 1 business day" in texts[0]
