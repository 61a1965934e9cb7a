"""bench/trust.py's scorer on hand-written replies (no servers needed), its inputs file, its
figures and report, and its place in `make bench`."""
import fnmatch

import pytest

from bench import run, trust
from bench.trust import Reply


@pytest.fixture(scope="module")
def scorer():
    return trust.make_scorer()


def unanswerable(text, **labels):
    return {"id": "t", "kind": "typed", "group": "g", "answerable": False, "text": text, **labels}


def answerable(text, **labels):
    return {"id": "t", "kind": "typed", "group": "g", "answerable": True, "text": text, **labels}


# ---------------------------------------------------------------- false assertions


def test_guessed_codes_and_diagnoses_are_false_assertions(scorer):
    """The guesses of issue 16: a generic page answered as BW-B99, an unknown code as BW-R01, a
    vague symptom as BW-T07."""
    generic = scorer.score(unanswerable("Something went wrong. Please try again later."), Reply(texts=[
        'Your screenshot says "Something went wrong". That looks like error BW-B99: The battery is '
        "overheating. What to do: Stop using and unplug the device now, keep it away from anything "
        "flammable, and talk to an agent: this is a safety issue."]))
    assert generic.false == ["code BW-B99", "safety warning"]
    unknown = scorer.score(unanswerable("Error BW-9931 An unexpected error occurred."), Reply(texts=[
        "That looks like error BW-R01: The router has no internet connection from the provider."]))
    assert unknown.false == ["code BW-R01"]
    vague = scorer.score(unanswerable("my tv won't turn on"), Reply(texts=[
        "That sounds like error BW-T07: The selected input has no device connected or the cable is loose."]))
    assert vague.false == ["code BW-T07"]
    # the cause stated without the code is still a diagnosis
    cause_only = scorer.score(unanswerable("my tv won't turn on"), Reply(texts=[
        "The selected input has no device connected or the cable is loose. Press Input on the remote."]))
    assert cause_only.false == ["diagnosis BW-T07"]


def test_hedged_candidates_questions_and_buttons_assert_nothing(scorer):
    item = unanswerable("my tv won't turn on")
    for texts in (["I'm not sure what's wrong. It might be one of these: BW-T07 (no signal on the input). "
                   "Which device is it, and what did you see?"],
                  ["Is it error BW-T07, no signal on the selected input?"],
                  ["I'd rather not guess. What happens when you press the power button?"]):
        score = scorer.score(item, Reply(texts=texts, buttons=["BW-T07: No signal"]))
        assert score.false == [] and score.clarifying, texts
    # an unknown code said back to the customer is not a claim
    echo = scorer.score(unanswerable("what does BW-9931 mean?"),
                        Reply(texts=["BW-9931 is not a code I know. What were you doing when it appeared?"]))
    assert echo.false == [] and echo.clarifying


def test_a_list_led_by_a_hedge_offers_candidates(scorer):
    item = unanswerable("Oops! We couldn't load this page.")
    offered = Reply(texts=["I'm not sure which problem this is, and I'd rather not guess. It might be:\n"
                           "- BW-R01 (Brightwave Mesh Router): The router has no internet connection from the provider.\n"
                           "- BW-5003 (website): The website is under maintenance or overloaded.\n"
                           "Is it one of these? Tap it for the fix, or tell me more."],
                    buttons=["BW-R01: The router has no internet connection from the provider"])
    score = scorer.score(item, offered)
    assert score.false == [] and score.clarifying
    # the same list led by a plain statement states the codes
    stated = Reply(texts=["Here is what it means:\n- BW-R01: The router has no internet connection from the provider."])
    assert scorer.score(item, stated).false == ["code BW-R01"]
    assert trust.statements("It might be:\n- BW-R01\nCall us.\n- BW-T07") == [
        ("It might be:", True), ("BW-R01", True), ("Call us.", False), ("BW-T07", False)]


def test_a_code_typed_or_read_may_be_explained(scorer):
    typed = answerable("I keep getting BW-1002 at checkout", codes=["BW-1002"])
    reply = Reply(texts=["Error BW-1002 means: The card's expiry date has passed. What to do: Add a current card "
                         "in Account > Payment methods and retry the order. If that doesn't solve it, I can "
                         "connect you with an agent."])
    score = scorer.score(typed, reply)
    assert score.false == [] and score.helpful and "BW-1002" in score.found
    # the same explanation for another code is wrong
    other = scorer.score(answerable("what does error bw 2003 mean", codes=["BW-2003"]), reply)
    assert other.false == ["code BW-1002"] and not other.helpful
    # read on the screen: the screen's words allow it (E12 is BW-S12's alias)
    spoken = scorer.score(answerable("", codes=["BW-S12"]),
                          Reply(texts=["I can see error BW-S12 on your screenshot. The speaker cannot reach the "
                                       "Wi-Fi network."]),
                          shown="Brightwave Home Orange ring and spoken message: Error E12 (BW-S12).")
    assert spoken.false == [] and spoken.helpful


def test_an_allowed_codes_text_excuses_the_passage_it_repeats(scorer):
    """BW-2002's cause is also the start of the locked-account FAQ answer: explaining the code read
    on a screenshot is not a policy stated out of place."""
    item = answerable("can't log in", codes=["BW-2002"])
    reply = Reply(texts=["I can see error BW-2002 on your screenshot. Five failed sign-in attempts lock the "
                         "account for 30 minutes. What to do: Wait 30 minutes, then use Forgot password? if needed."])
    assert scorer.score(item, reply, shown="Account temporarily locked (BW-2002)").false == []


def test_products_and_prices_outside_the_labels_are_false(scorer):
    item = answerable("do you have noise cancelling headphones under $200?", products=["BW-EB-0202"],
                      expect=["Buds 2"])
    over_budget = scorer.score(item, Reply(texts=[
        "We sell Brightwave Hush Pro Headphones ($249.00) and Brightwave Buds 2 Earbuds ($129.00). Which one is it?"]))
    assert over_budget.false == ["product Brightwave Hush Pro Headphones", "price $249.00"]
    assert not over_budget.helpful and over_budget.found == ["Buds 2"]
    fits = scorer.score(item, Reply(texts=["The Buds 2 ($129) are in-ear and noise cancelling, under your $200."]))
    assert fits.false == [] and fits.helpful
    not_found = scorer.score(item, Reply(texts=["I couldn't find that product in our catalogue."]))
    assert not_found.false == [] and not not_found.helpful
    # a price stated for a product we don't sell
    console = scorer.score(unanswerable("how much is the iPhone 15?"), Reply(texts=["It costs $699.00."]))
    assert console.false == ["price $699.00"]
    # a plain no, then the nearest category: alternatives offered, not claims
    reader = unanswerable("Can I buy an e-reader from you?")
    assert scorer.score(reader, Reply(texts=["We don't sell e-readers. The Slate 11 tablet ($449.00) reads "
                                             "books well."])).false == []
    assert scorer.score(reader, Reply(texts=[
        'No, we don\'t sell that: there is no "e-reader" in our catalogue. The nearest we carry are our tablets:\n'
        "- Brightwave Slate 11 Tablet: $449.00 (11-inch 120 Hz display, 128 GB, stylus support)"])).false == []
    # but a product we don't have answered as one we do is a claim
    aero = scorer.score(unanswerable("How much does the Aero 15 cost?"), Reply(texts=[
        "Yes, we sell the Brightwave Aero 14 Laptop: $899.00 (14-inch 2.8K display)."]))
    assert aero.false == ["product Brightwave Aero 14 Laptop", "price $899.00"]


def test_an_amount_the_customer_wrote_in_words_may_be_said_back(scorer):
    item = answerable("any phones under 400 dollars?", products=["NV-PH-0654"], expect=["Lite 5G"])
    score = scorer.score(item, Reply(texts=["One of our phones under $400.00 fits:\n- Nova Lite 5G Phone: $299.00"]))
    assert score.false == [] and score.helpful
    assert trust.prices_said("under 1,200 bucks or $99.50") == {1200.0, 99.5}


def test_the_channels_apology_is_an_error_not_a_reply(scorer):
    spoken = {"id": "a-spoken-01", "kind": "spoken"}
    notes = trust.apology_notes()
    assert notes, "the multimodal channel's notes could not be read"
    sorry = Reply(texts=[notes[0] + " Could you type your message instead?"])
    assert trust.apologised(spoken, sorry)
    assert not trust.apologised({"id": "t", "kind": "typed"}, sorry)
    assert not trust.apologised(spoken, Reply(texts=["For your safety, please stop using the device."]))
    again = trust.rescore([dict(result(True), id="a-spoken-01", kind="spoken", input="x", texts=sorry.texts,
                                clarifying=True)], trust.load_inputs(), scorer)
    assert again[0]["outcome"] == "apology" and not again[0]["clarifying"]


def test_refurbished_and_new_products_are_told_apart(scorer):
    assert scorer.products_in("the Certified Refurbished Aero 14 at $649") == {"BW-RF-1401"}
    assert scorer.products_in("Brightwave Aero 14 Laptop (Certified Refurbished)") == {"BW-RF-1401"}
    assert scorer.products_in("the Aero 14 and the Vista 65") == {"BW-LT-1401", "BW-TV-6504"}
    assert scorer.products_in("a mesh router from your provider") == set()


def test_policies_stated_for_the_wrong_question_are_false(scorer):
    netflix = unanswerable("how do I cancel my Netflix subscription?")
    assert scorer.score(netflix, Reply(texts=["Yes, at no charge until the order has shipped."])).false == [
        "passage faq:can-i-cancel-an-order"]
    apple = scorer.score(unanswerable("I forgot my Apple ID password"), Reply(texts=[
        'On the sign-in screen tap "Forgot password?" and type your e-mail address. The link you receive works '
        "for 30 minutes."]))
    assert apple.false == ["passage faq:how-can-i-reset-my-password"]
    ours = answerable("Hi, I forgot my password", passages=["faq:how-can-i-reset-my-password"],
                      expect=["forgot password"])
    score = scorer.score(ours, Reply(texts=['On the sign-in screen tap "Forgot password?" and type your e-mail '
                                            "address. The link you receive works for 30 minutes."]))
    assert score.false == [] and score.helpful
    # an agent's hours are always allowed
    hours = scorer.score(netflix, Reply(texts=["I can't help with that service. Ask the assistant for an agent. "
                                               "Agents work Monday to Friday 8:00-20:00 and Saturday 9:00-17:00 "
                                               "Eastern time; outside those hours we answer by e-mail within one "
                                               "business day."]))
    assert hours.false == [] and hours.clarifying


def test_the_safety_warning_is_right_only_for_safety_inputs(scorer):
    warning = Reply(texts=["For your safety, please stop using the device and unplug it now. Keep it away from "
                           "anything that could catch fire.", "I'm connecting you with an agent now."])
    safe = scorer.score(answerable("my phone battery is swelling up", safety=True), warning)
    assert safe.false == [] and safe.helpful and safe.found == ["safety warning"]
    warm = scorer.score(unanswerable("my laptop gets a bit warm when I play games"), warning)
    assert warm.false == ["safety warning"] and not warm.helpful
    # reworded, still a warning
    assert scorer.safety_in("Please unplug it and stop using it straight away.")
    assert not scorer.safety_in("Unplug the router for 10 seconds, then plug it back in.")


def test_replies_are_read_from_the_channels_messages():
    reply = Reply.from_messages([{"recipient_id": "x", "custom": {"transcript": "do you sell drones"}},
                                 {"recipient_id": "x", "text": "We don't sell drones.",
                                  "buttons": [{"title": "Talk to an agent", "payload": "/human_handoff"}]},
                                 "junk"])
    assert reply.transcript == "do you sell drones" and reply.texts == ["We don't sell drones."]
    assert reply.buttons == ["Talk to an agent"]


# ---------------------------------------------------------------- the inputs


def test_the_inputs_are_many_varied_and_labelled_with_real_pack_facts(scorer):
    inputs = trust.load_inputs()
    ids = [item["id"] for item in inputs]
    assert len(ids) == len(set(ids)) >= 120
    assert 2 * sum(1 for item in inputs if not item["answerable"]) >= len(inputs)
    kinds = {item["kind"] for item in inputs}
    assert kinds == {"typed", "screenshot", "spoken"}
    screens = [item["screen"] for item in inputs if item["kind"] == "screenshot"]
    assert {s["layout"] for s in screens} >= {"web", "phone", "dialog", "plain", "tv"}
    assert {s["theme"] for s in screens} >= {"light", "dark"}
    assert sum(1 for item in inputs if item["kind"] == "spoken") >= 5
    passage_ids = [p.id for p in scorer.pack.passages]
    for item in inputs:
        assert item["id"].startswith("a-" if item["answerable"] else "u-"), item["id"]
        for pattern in item.get("passages") or []:
            assert any(fnmatch.fnmatchcase(i, pattern) for i in passage_ids), (item["id"], pattern)
        assert set(item.get("codes") or []) <= set(scorer.codes), item["id"]
        assert set(item.get("products") or []) <= set(scorer.products), item["id"]
        if item["answerable"]:  # something to look for in a helpful reply
            assert item.get("expect") or item.get("codes") or item.get("safety"), item["id"]
        if item["kind"] != "screenshot":
            assert item.get("text"), item["id"]
        # a reply that only asks is never a false assertion
        asked = scorer.score(item, Reply(texts=["Sorry, I'm not sure. Could you tell me a bit more?"]))
        assert asked.false == [] and asked.clarifying and not asked.helpful, item["id"]


# ---------------------------------------------------------------- figures, report, registration


def result(answerable_, false=(), helpful=False, clarifying=False, kind="typed", group="g", outcome="ok"):
    return {"id": f"i{id(object())}", "kind": kind, "group": group, "answerable": answerable_, "input": "words",
            "outcome": outcome, "seconds": 1.0, "reply": "reply", "buttons": [], "transcript": None,
            "false": list(false), "helpful": helpful, "clarifying": clarifying, "found": []}


def test_figures_and_report():
    results = ([result(False, clarifying=True)] * 6 + [result(False, ["code BW-R01"], clarifying=True)]
               + [result(False, ["safety warning"], kind="screenshot", group="generic_error")]
               + [result(True, helpful=True)] * 3 + [result(True, ["price $249.00"])]
               + [result(True, outcome="ReadTimeout", kind="spoken")])
    figures = trust.figures_of(results)
    assert figures["inputs"] == 13 and figures["unanswerable"] == 8 and figures["answerable"] == 5
    assert figures["false_assertion_rate"] == {"unanswerable": 0.25, "answerable": 0.2, "overall": round(3 / 13, 4)}
    assert figures["helpful_rate"] == 0.6 and figures["clarifying_rate"] == 0.875
    assert figures["honest_clarifying_rate"] == 0.75 and figures["errors"] == 1
    assert figures["false_by_type"] == {"code": 1, "price": 1, "safety": 1}
    assert figures["by_kind"]["screenshot"]["false_assertions"]["unanswerable"] == 1
    assert set(figures["by_group"]) == {"g", "generic_error"}
    assert [w["why"] for w in figures["worst"][:3]] == ["safety warning", "code BW-R01", "price $249.00"]
    figures.update(model="m.tar.gz", machine_at_start={"cores": 2, "cpu": "x", "memory_gb": 1, "date": "d",
                                                       "load_average": [0.5]})
    text = trust.report(figures)
    assert "| all | 13 | 8 | 5 | 25.0% (2) | 23.1% (3) | 60.0% (3) | 87.5% (7) | 75.0% (6) | 1 |" in text
    assert "safety warning" in text and "m.tar.gz" in text


def test_replies_of_a_run_can_be_scored_again(scorer):
    earlier = [dict(result(False), id="u-vague-01", input="my tv won't turn on", texts=[
        "That sounds like error BW-T07: The selected input has no device connected."]),
        dict(result(True), id="a-faq-01", input="Hi, I forgot my password and I can't sign in",
             reply='On the sign-in screen tap "Forgot password?" and type your e-mail address.'),
        dict(result(False), id="not-an-input-any-more")]
    again = trust.rescore(earlier, trust.load_inputs(), scorer)
    assert [r["id"] for r in again] == ["u-vague-01", "a-faq-01"]
    assert again[0]["false"] == ["code BW-T07"] and again[1]["helpful"]


def test_trust_is_a_section_of_make_bench():
    assert ("trust", run.DIALOGUE) in run.chosen(["trust"], full=False)
    assert "trust" in [module for module, _ in run.chosen([], full=False)]
