"""voice.speech: bot messages made speakable, read-backs, and spoken numbers and e-mails written
the way the forms expect them."""
import pytest

from voice.speech import (code_spoken, digits_spoken, email_spoken, read_back, sentences,
                          speakable_messages, speakable_text, written)

ORDER_PATTERN = r"^BW-\d{6}$"  # packs/brightwave/pack.yml orders.id_pattern


def test_order_numbers_are_read_digit_by_digit():
    assert code_spoken("BW-167413") == "B W, one six seven, four one three"
    assert speakable_text("Order BW-167413 has shipped.") == "Order B W, one six seven, four one three has shipped."
    # tracking numbers, tickets and returns too; five or more bare digits as well
    assert "U S, one one zero" in speakable_text("Tracking: US1109525498")
    assert "T C K, two zero four, five one eight" in speakable_text("Your ticket is TCK-204518.")
    assert speakable_text("call 5551234") == "call five five five, one two, three four."


def test_digit_groups_never_leave_a_lone_digit():
    assert digits_spoken("4571") == "four five seven one"
    assert digits_spoken("1234567") == "one two three, four five, six seven"
    assert digits_spoken("318904") == "three one eight, nine zero four"


def test_prices_years_and_short_codes_stay_as_they_are():
    assert speakable_text("It costs $1,249.00 since 2024, error E12.") == "It costs $1,249.00 since 2024, error E12."


def test_emojis_markdown_links_and_lists_are_not_read():
    text = "**Great news** 🎉! See [the policy](https://example.com/p) or https://example.com/x 👍🏽\n- one\n- two"
    spoken = speakable_text(text)
    assert spoken == "Great news! See the policy or the link in the chat. one. two."
    assert speakable_text("🙂🙂🙂") == ""


def test_control_characters_go_through_the_engines_cleanup():
    assert speakable_text("a\x00b\u200bc") == "a bc."


def test_emails_are_spelled_out():
    assert email_spoken("hiro.tanaka@example.com") == "hiro dot tanaka at example dot com"
    assert speakable_text("We wrote to ana_lopez2@example.com") == \
        "We wrote to ana underscore lopez two at example dot com."


def test_buttons_are_read_as_options_and_images_are_not_read():
    messages = [{"recipient_id": "x", "text": "Anything else? 😊",
                 "buttons": [{"title": "Yes", "payload": "/affirm"}, {"title": "No 👎", "payload": "/deny"},
                             {"title": "Talk to an agent", "payload": "/human_handoff"}]},
                {"recipient_id": "x", "image": "https://example.com/a.png"},
                {"recipient_id": "x", "custom": {"transcript": "hello"}},
                {"recipient_id": "x", "text": "Goodbye!", "buttons": [{"title": "Restart", "payload": "/restart"}]}]
    assert speakable_messages(messages) == \
        "Anything else? You can say: Yes, No or Talk to an agent. Goodbye! You can say: Restart."
    assert speakable_messages([]) == ""


def test_read_back_confirms_what_was_taken():
    assert read_back({"order_id": "BW-318904", "email": "hiro.tanaka@example.com"}) == \
        "I have order number B W, three one eight, nine zero four and the e-mail hiro dot tanaka at example dot com."
    assert read_back({"phone_last4": "4571"}) == "I have the digits four five seven one."
    assert read_back({}) is None


def test_sentences_for_pipelined_synthesis():
    assert sentences("Hi there! I can help. Which order? ") == ["Hi there!", "I can help.", "Which order?"]
    assert sentences("") == []


@pytest.mark.parametrize("heard", [
    "It's B W 3 1 8 9 0 4.", "it's bw318904", "BW-318904", "b w three one eight nine oh four",
    "B.W. 318-904", "my order is BW 318 904 thanks", "s b w 3 1 8 9 0 4",
    # Whisper often hears espeak's "B W" as "VW" or "V double U": the digits fit the pack's pattern
    "VW 318904", "It's VW 318904", "V double U318904",
])
def test_order_numbers_heard_are_written_as_the_pack_writes_them(heard):
    assert written(heard, "order_id", ORDER_PATTERN) == "BW-318904"


def test_without_a_pattern_the_code_keeps_the_letters_said():
    assert written("b w 3 1 8 9 0 4", "order_id") == "BW318904"
    assert written("I don't know it", "order_id", ORDER_PATTERN) == "I don't know it"
    assert written("P w 3 1 8", "order_id", ORDER_PATTERN) == "P w 3 1 8"          # too few digits


@pytest.mark.parametrize("heard", [
    "Hiro dot Tanaka at example dot com.", "my email is hiro.tanaka at example.com",
    "Hiro.Tanaka@example.com", "it's hiro dot tanaka at example dot com",
])
def test_emails_heard_are_written(heard):
    assert written(heard, "email") == "hiro.tanaka@example.com"


def test_digits_heard_are_written():
    assert written("four five seven one", "phone_last4") == "4571"
    assert written("45, 71.", "phone_last4") == "4571"
    assert written("double four five one", "phone_last4") == "4451"


def test_nothing_is_rewritten_when_no_slot_is_asked():
    assert written("it's hiro dot tanaka at example dot com", None) == "it's hiro dot tanaka at example dot com"
    assert written("where is order b w 3 1 8", "email") == "where is order b w 3 1 8"
