"""Details, yes or no given outside any form and question: the bot always answers."""
from actions.inform import ActionHandleInform
from tests.actions.conftest import make_tracker, run, slot_events


def handle(domain, text, intent="inform", **entities):
    ents = [{"entity": name, "value": value} for name, value in entities.items()]
    return run(ActionHandleInform(), make_tracker(text, intent, entities=ents), domain)


def test_error_code_answered_like_troubleshoot(domain):
    texts, _, _ = handle(domain, "doorbell cam shows BW-T07", error_code="BW-T07",
                         product="Doorbell Cam")
    assert "BW-T07" in texts[0] and "What to do:" in texts[0]


def test_safety_code_warns_and_hands_off(domain):
    texts, responses, _ = handle(domain, "power bank BW-B99", error_code="BW-B99")
    assert responses == ["utter_safety_warning"] and "TCK-" in texts[-1]


def test_product_answered_like_product_info(domain):
    [said], _, _ = handle(domain, "the aero 14", product="aero 14")
    assert "Brightwave Aero 14 Laptop costs $899.00" in said


def test_order_number_alone_asks_what_to_do_and_keeps_it(domain):
    [said], _, events = handle(domain, "BW-723241", order_id="BW-723241")
    assert "BW-723241" in said and "status" in said and "cancel" in said and "return" in said
    assert slot_events(events)["order_id"] == "BW-723241"


def test_stray_yes_and_no_get_a_how_can_i_help(domain):
    for text, intent in (("yes", "affirm"), ("I changed my mind, please stop the order", "deny")):
        [said], _, events = handle(domain, text, intent)
        assert said.startswith("How can I help?") and "orders" in said
        assert slot_events(events)["next_step"] is None
