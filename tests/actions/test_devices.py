"""Device and app problems: error codes and aliases, safety escalation, retrieval, no match."""
from actions import shared
from actions.devices import ActionTroubleshoot
from tests.actions.conftest import make_tracker, run, slot_events


def troubleshoot(domain, text, intent="device_problem", code=None):
    entities = [{"entity": "error_code", "value": code}] if code else []
    return run(ActionTroubleshoot(), make_tracker(text, intent, entities=entities), domain)


def tickets():
    with shared.store()._connect() as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM tickets")]


def test_error_code_answered_with_its_fix(domain):
    texts, _, _ = troubleshoot(domain, "the app says BW-2002 when I sign in", "login_problem")
    assert "BW-2002" in texts[0]
    assert "Five failed sign-in attempts lock the account for 30 minutes" in texts[0]
    assert "Wait 30 minutes" in texts[0]
    assert tickets() == []


def test_alias_e12_is_the_speaker_code(domain):
    texts, _, _ = troubleshoot(domain, "my speaker keeps saying e12", code="e12")
    assert "BW-S12" in texts[0] and "Reconnect" in texts[0]


def test_safety_code_warns_and_hands_off(domain):
    texts, responses, _ = troubleshoot(domain, "my power bank shows BW-B99")
    assert responses == ["utter_safety_warning"]
    assert "battery is overheating" in texts[0]
    assert "TCK-" in texts[-1]
    [ticket] = tickets()
    assert ticket["reason"] == "safety" and "BW-B99" in ticket["summary"]


def test_safety_words_without_a_code(domain):
    _, responses, _ = troubleshoot(domain, "my phone battery is swelling up")
    assert responses == ["utter_safety_warning"]
    assert len(tickets()) == 1


def test_symptom_without_a_code_is_not_diagnosed(domain):
    """Issue 16: no "That sounds like error ..." any more; here the FAQ about the red light
    answers (it explains both red-light codes), and no fix is stated as the customer's."""
    texts, _, _ = troubleshoot(domain, "my router light is red and there is no internet")
    assert "sounds like" not in texts[0] and "Restart the modem" not in texts[0]


def test_the_devices_own_symptom_in_the_packs_words_gets_its_fix(domain):
    """"Solid red light" is what error_codes.csv lists for the router's BW-R01: a lookup."""
    texts, _, _ = troubleshoot(domain, "my router has a solid red light")
    assert "error BW-R01" in texts[0] and "Restart the modem" in texts[0] and "sounds like" not in texts[0]


def test_nothing_matches_asks_one_question(domain):
    texts, _, events = troubleshoot(domain, "the thing is doing the weird noise again")
    assert "not sure" in texts[0] and texts[0].count("?") == 1
    assert slot_events(events)["next_step"] is None


def test_described_safety_symptoms_warn_and_hand_off(domain):
    for text in ("my laptop is smoking", "the battery is swelling", "the charger sparks",
                 "my phone keeps overheating"):
        texts, responses, _ = troubleshoot(domain, text)
        assert responses == ["utter_safety_warning"], text
        assert "TCK-" in texts[-1]


def test_safety_symptom_wins_over_a_harmless_code(domain):
    _, responses, _ = troubleshoot(domain, "BW-2002 and now the phone is smoking",
                                   "login_problem")
    assert responses == ["utter_safety_warning"]


def test_device_problem_inside_the_form_is_not_an_order_number(domain):
    from actions.identity import ValidateIdentityForm
    for intent in ("device_problem", "login_problem", "payment_problem", "product_info"):
        tracker = make_tracker("my laptop is smoking", intent,
                               slots={"requested_slot": "order_id"}, active_loop="identity_form")
        assert ValidateIdentityForm().free_text(tracker, "order_id") == {}
