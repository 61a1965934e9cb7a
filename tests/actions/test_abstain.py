"""No guessed diagnoses (issue 16, part 2), at action level with lexical retrieval (the pack's
`trust: ... lexical:` limits): a code is stated only when it was typed or read; otherwise likely
codes as buttons, one question, or an agent; unknown codes said to be unknown; a safety warning
only from a safety code given or safety words."""
import re

from actions import abstain, shared
from actions.attachments import ActionAnswerAttachment
from actions.devices import ActionTroubleshoot
from actions.faq import ActionFaq
from tests.actions.conftest import make_tracker, slot_events
from tests.actions.test_attachments import answer, picture, questions, run_full, seen, tickets

CODE = re.compile(r"\bBW-[A-Z]?\d{2,4}\b")


def troubleshoot(domain, text, intent="device_problem", code=None, events=()):
    entities = [{"entity": "error_code", "value": code}] if code else []
    tracker = make_tracker(text, intent, entities=entities, events=list(events))
    return run_full(ActionTroubleshoot(), tracker, domain)


def codes_stated(texts):
    """Codes said outside the list of likely matches (lines starting with "- ")."""
    said = [line for text in texts for line in text.splitlines() if not line.startswith("- ")]
    return CODE.findall(" ".join(said))


def test_vague_symptom_gets_one_question_not_a_code(domain):
    texts, responses, events, buttons = troubleshoot(domain, "my tv won't turn on")
    assert codes_stated(texts) == [] and buttons == []
    assert abstain.QUESTION in texts[-1] and questions(texts) == 1
    assert responses == [] and tickets() == []


def test_the_reply_to_the_question_is_read_with_the_symptom_then_an_agent(domain):
    _, _, _, _ = troubleshoot(domain, "my tv won't turn on")
    asked = [{"event": "user", "text": "my tv won't turn on",
              "parse_data": {"text": "my tv won't turn on", "intent": {"name": "device_problem"}}},
             {"event": "bot", "text": f"{abstain.NOT_SURE} {abstain.QUESTION}"}]
    tracker = make_tracker("it just stays black, nothing happens", "device_problem", events=asked)
    assert abstain.asked_before(tracker)["text"] == "my tv won't turn on"
    texts, responses, events, _ = run_full(ActionTroubleshoot(), tracker, domain)
    assert codes_stated(texts) == [] and responses == []
    assert "agent" in texts[-1] and slot_events(events)["next_step"] == "offer_agent"


def test_described_symptom_offers_likely_codes_as_buttons(domain):
    texts, responses, _, buttons = troubleshoot(
        domain, "my smartwatch lost its bluetooth pairing and won't sync")
    said = " ".join(texts)
    assert "not sure" in said and codes_stated(texts) == []
    assert 1 <= len(buttons) <= 3
    payloads = [b["payload"] for b in buttons]
    assert '/device_problem{"error_code":"BW-W05"}' in payloads
    watch = shared.pack().error_code("BW-W05")
    assert abstain.first_sentence(watch.cause) in said  # one-line description
    assert watch.fix not in said  # the fix only once the customer picks it
    assert responses == [] and tickets() == []


def test_a_picked_button_gets_the_fix(domain):
    payload = '/device_problem{"error_code":"BW-W05"}'
    texts, _, _, _ = troubleshoot(domain, payload, code="BW-W05")
    assert "BW-W05" in texts[0] and shared.pack().error_code("BW-W05").fix in texts[0]


def test_unknown_typed_code_is_said_to_be_unknown(domain):
    texts, responses, _, buttons = troubleshoot(domain, "the app keeps showing BW-9931, what is it")
    said = " ".join(texts)
    assert "don't know BW-9931" in said
    assert set(CODE.findall(said)) == {"BW-9931"} and buttons == []
    assert responses == [] and tickets() == []


def test_forgotten_password_reaches_the_faq_not_an_error_code(domain):
    texts, _, _, _ = troubleshoot(domain, "I forgot my password and can't sign in", "login_problem")
    said = " ".join(texts)
    assert "Forgot password?" in said and CODE.findall(said) == []


def test_safety_guess_is_not_escalated(domain):
    """Words close to the overheating code but no safety words: at most a likely match."""
    texts, responses, events, buttons = troubleshoot(domain, "the app shows a battery temperature warning")
    assert "utter_safety_warning" not in responses and tickets() == []
    assert not any("TCK-" in text for text in texts)
    assert codes_stated(texts) == []
    assert all(b["payload"].startswith("/device_problem") for b in buttons)


def test_safety_words_are_escalated(domain):
    for text in ("the charger got too hot to touch", "there's a burning smell from the tv",
                 "the power bank is swelling"):
        texts, responses, _, _ = troubleshoot(domain, text)
        assert responses == ["utter_safety_warning"], text
        assert "TCK-" in texts[-1]


def test_literal_safety_code_is_escalated(domain):
    texts, responses, _, _ = troubleshoot(domain, "my tablet says bw-b99")
    assert responses == ["utter_safety_warning"] and "TCK-" in texts[-1]
    [ticket] = tickets()
    assert ticket["reason"] == "safety" and "BW-B99" in ticket["summary"]


# ---------------------------------------------------------------- screenshots and photos


def test_generic_error_page_is_not_a_known_code(domain):
    shot = picture(text="Brightwave\nSomething went wrong.\nPlease try again later.")
    texts, responses, _, _ = answer(domain, text="what does this mean?", intent="device_problem",
                                    pictures=[shot])
    assert "Something went wrong" in texts[0] and "no error code of ours" in texts[0]
    assert codes_stated(texts) == [] and responses == [] and tickets() == []


def test_unknown_code_on_a_screenshot(domain):
    shot = picture(text="Mesh app\nError BW-9931\nWe couldn't connect.")
    texts, responses, _, buttons = answer(domain, intent="device_problem", pictures=[shot])
    said = " ".join(texts)
    assert "don't know BW-9931" in said and set(CODE.findall(said)) == {"BW-9931"}
    assert buttons == [] and responses == [] and tickets() == [] and questions(texts) == 1


def test_ocr_slip_of_a_known_code_is_not_unknown(domain):
    """OCR's "BW-RO1" is the router's BW-R01 (the analyzer's entity), never an unknown code."""
    assert abstain.unknown_in("Solid red light (BW-RO1)") == []
    shot = picture(text="Solid red light (BW-RO1)")
    texts, _, _, _ = answer(domain, intent="device_problem", pictures=[shot],
                            entities=[seen("error_code", "BW-R01")])
    assert "BW-R01" in texts[0] and "Restart the modem" in texts[0]


def test_screenshot_of_the_devices_own_symptom_gets_the_code_the_pack_lists(domain):
    """The router and a whole phrase of BW-R01's screen text: a lookup (knowledge/symptoms.py)."""
    shot = picture(text="Mesh app\nRouter status: solid red light\nNo internet connection")
    texts, responses, _, buttons = answer(domain, text="what's wrong with it", intent="device_problem",
                                          pictures=[shot])
    assert codes_stated(texts) == ["BW-R01"] and "Restart the modem" in " ".join(texts)
    assert "our records list" in " ".join(texts) and responses == [] and tickets() == []


def test_screenshot_symptom_offers_the_code_without_stating_it(domain):
    shot = picture(text="Mesh app\nRouter status: red\nOffline, no internet")
    texts, responses, _, buttons = answer(domain, text="what's wrong with it", intent="device_problem",
                                          pictures=[shot])
    assert codes_stated(texts) == [] and "Restart the modem" not in " ".join(texts)
    assert '/device_problem{"error_code":"BW-R01"}' in [b["payload"] for b in buttons]
    assert responses == [] and tickets() == []


def test_safety_code_on_a_screenshot_still_escalates(domain):
    shot = picture(text="Battery temperature too high (BW-B99).")
    _, responses, _, _ = answer(domain, intent="device_problem", pictures=[shot],
                                entities=[seen("error_code", "BW-B99")])
    assert responses == ["utter_safety_warning"] and len(tickets()) == 1


def test_photo_between_two_categories_gets_a_question(domain):
    photo = picture(kind="photo", labels=[("laptop", 0.36), ("cellular telephone", 0.32)],
                    category="laptop", category_score=0.36, confidence=0.36)
    texts, _, events, buttons = answer(domain, text="how much is this?", intent="product_info",
                                       pictures=[photo])
    assert "not sure" in texts[0] and questions(texts) == 1 and buttons == []
    assert slot_events(events)["product_candidates"] is None


# ---------------------------------------------------------------- FAQ


def test_faq_question_button_payload_is_answered(domain):
    texts, _, _, _ = run_full(ActionFaq(), make_tracker("What is Brightwave Protect?", "faq"), domain)
    assert "$49 deductible" in texts[0]


def test_unsure_faq_offers_likely_questions_not_an_answer(domain):
    """Below the threshold (or without the margin) but above the candidate score: FAQ questions
    as buttons, whose payload is the question itself (answered exactly when tapped)."""
    text = "password problems"
    decision = shared.index().decide(text)
    assert decision.answer is None and decision.candidates
    texts, _, events, buttons = run_full(ActionFaq(), make_tracker(text, "faq"), domain)
    faq = [hit.passage.title for hit in decision.candidates if hit.passage.source == "faq"]
    if faq:
        assert "not sure" in texts[0] and [b["payload"] for b in buttons] == faq
    else:
        assert buttons == [] and slot_events(events)["next_step"] == "offer_agent"
