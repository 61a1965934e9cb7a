"""voice.turns: the end-of-turn policy (longer while numbers, e-mails or digits are asked) and
what the tracker says is asked; voice.pipeline.taken_this_turn: what the read-back confirms."""
import pytest

from voice.pipeline import taken_this_turn
from voice.turns import Asked, SLOW_SLOTS, TurnPolicy, asked_by


def domain_form_slots():
    import yaml

    from tests import services

    domain = yaml.safe_load((services.ROOT / "domain.yml").read_text())
    return {slot for form in domain["forms"].values() for slot in form["required_slots"]}


def test_the_wait_is_longer_while_a_number_an_email_or_digits_are_asked():
    policy = TurnPolicy()
    assert policy.silence_ms(Asked()) == 700
    assert policy.silence_ms(Asked("order_id", "identity_form")) == 1600
    assert policy.silence_ms(Asked("email", "pay_form")) == 1600
    assert policy.silence_ms(Asked("phone_last4", "pay_form")) == 1600
    assert policy.silence_ms(Asked("product", "some_form")) == 700


def test_every_form_slot_of_the_domain_is_a_slow_slot():
    # identity_form and pay_form ask only for numbers, e-mails, digits and addresses
    assert domain_form_slots() <= SLOW_SLOTS


def test_options_are_checked():
    assert TurnPolicy.from_options(500, 2000, ["order_id"]).silence_ms(Asked("email", "f")) == 500
    with pytest.raises(ValueError):
        TurnPolicy(end_of_turn_ms=0)
    with pytest.raises(ValueError):
        TurnPolicy(end_of_turn_ms=900, slow_end_of_turn_ms=800)
    with pytest.raises(ValueError):
        TurnPolicy(max_turn_ms=True)


def test_asked_comes_from_the_active_form():
    assert asked_by(None) == Asked()
    assert asked_by({"slots": {"requested_slot": "email"}, "active_loop": {"name": "identity_form"}}) == \
        Asked("email", "identity_form")
    # a requested_slot left behind by a form that ended asks nothing
    assert asked_by({"slots": {"requested_slot": "email"}, "active_loop": {}}) == Asked()


def test_asked_from_a_real_rasa_tracker():
    from rasa.shared.core.events import ActiveLoop, SlotSet
    from rasa.shared.core.slots import TextSlot
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker("x", [TextSlot("requested_slot", mappings=[{}])])
    tracker.update(ActiveLoop("pay_form"))
    tracker.update(SlotSet("requested_slot", "phone_last4"))
    assert asked_by(tracker) == Asked("phone_last4", "pay_form")
    tracker.update(ActiveLoop(None))
    assert asked_by(tracker) == Asked()


def test_read_back_takes_the_slots_set_since_the_last_user_message():
    events = [{"event": "user", "text": "BW-111111"}, {"event": "slot", "name": "order_id", "value": "BW-111111"},
              {"event": "user", "text": "it's BW-318904 and hiro@example.com"},
              {"event": "slot", "name": "order_id", "value": "BW-318904"},
              {"event": "slot", "name": "email", "value": "hiro@example.com"},
              {"event": "slot", "name": "email", "value": None},           # rejected afterwards
              {"event": "slot", "name": "product", "value": "Aero 14"}]    # not read back
    assert taken_this_turn({"events": events}) == {"order_id": "BW-318904"}
    assert taken_this_turn(None) == {}
