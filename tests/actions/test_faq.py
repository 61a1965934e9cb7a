"""FAQ answers from the pack (lexical retrieval here), and the NLU fallback."""
from actions.fallback import ActionFallback
from actions.faq import ActionFaq
from tests.actions.conftest import make_tracker, run, slot_events


def test_faq_answered_from_the_pack(domain):
    texts, _, _ = run(ActionFaq(), make_tracker("how do I reset my password?", "faq"), domain)
    assert "Forgot password?" in texts[0] and "30 minutes" in texts[0]


def test_faq_not_answered_below_threshold(domain):
    texts, _, events = run(ActionFaq(), make_tracker("what's the weather on mars", "faq"), domain)
    assert "not sure" in texts[0] and "agent" in texts[0]
    assert slot_events(events)["next_step"] == "offer_agent"


def test_fallback_answers_when_retrieval_is_confident(domain):
    texts, _, _ = run(ActionFallback(), make_tracker("can I use two promo codes on one order",
                                                      "nlu_fallback"), domain)
    assert "one promo code" in texts[0].lower()


def test_fallback_asks_to_rephrase_then_offers_an_agent(domain):
    first = make_tracker("blorp", "nlu_fallback")
    _, responses, _ = run(ActionFallback(), first, domain)
    assert responses == ["utter_rephrase"]
    earlier = [{"event": "user", "text": "blorp", "parse_data": {"intent": {"name": "nlu_fallback"}}}]
    texts, _, events = run(ActionFallback(), make_tracker("zzz", "nlu_fallback", events=earlier), domain)
    assert "agent" in texts[0] and slot_events(events)["next_step"] == "offer_agent"


def test_empty_and_very_long_messages(domain):
    _, responses, _ = run(ActionFallback(), make_tracker("", "nlu_fallback"), domain)
    assert responses == ["utter_rephrase"]
    texts, responses, _ = run(ActionFaq(), make_tracker("refund " * 5000, "faq"), domain)
    assert texts or responses  # answered, no crash


def test_secrets_are_not_repeated(domain):
    texts, responses, _ = run(ActionFallback(), make_tracker("my password is hunter2", "nlu_fallback"), domain)
    assert responses == ["utter_no_secrets"] and not any("hunter2" in t for t in texts)
