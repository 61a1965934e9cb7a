"""Answers from pictures: error screenshots, product photos, damaged-item photos, statements and
invoices, low confidence and a perception service that is down.

The trackers carry what the AttachmentAnalyzer puts in parse_data (docs/internals.md,
"Attachments"): one summary per picture in `attachments` and entities marked
"source": "attachment". Facts in the assertions come from the reference pack.
"""
import asyncio
from datetime import date
from typing import Any, Dict, List, Optional, Sequence

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import shared
from actions.attachments import (ActionAnswerAttachment, ActionExplainDocument,
                                 ActionReadAttachments, read_line)
from actions.claims import ActionDamagedItem
from tests.actions.conftest import make_tracker, run, slot_events, verified

BEN = "ben.okafor@example.com"        # phone ends 0111; BW-167413 and BW-433998 on installments
HIRO = "hiro.tanaka@example.com"      # BW-723241 (processing, $418.00), BW-517602 (refunded)
IMANI = "imani.brooks@example.com"    # BW-815476 delivered 23 Nov 2026, $832.99

STATEMENT = """Brightwave Pay - Monthly statement
1 Nov 2026 - 30 Nov 2026
Ben Okafor    Account •••• 0111
Date | Description | Amount
5 Nov 2026 | Installment 2 of 6 - Order BW-167413 | -$119.00
5 Nov 2026 | Installment 1 of 12 - Order BW-433998 | -$74.92
9 Nov 2026 | Late fee | -$10.00
12 Nov 2026 | Top-up by card | +$200.00
Opening balance $324.67
Payments $200.00
Charges $203.92
Closing balance $320.75
Next installment due: 5 Dec 2026"""

INVOICE = """Brightwave Electronics - Invoice
Invoice INV-2026-004417
Order BW-723241
Date: 28 Nov 2026
Item SKU Qty Price
Nova Chromebook 13 NV-LT-1305 1 $329.00
Sonora Boom Portable Speaker SN-SP-0101 1 $89.00
Shipping $0.00
Tax $0.00
Total $418.00
Paid with Visa ending 4242"""


# ---------------------------------------------------------------- building what the analyzer gives


def att(number: int) -> str:
    return f"att_{number:032x}"


def picture(number: int = 1, kind: Optional[str] = "screenshot", text: str = "",
            labels: Sequence = (), category: Optional[str] = None, category_score: float = 0.0,
            confidence: float = 0.9, analysed: bool = True) -> Dict[str, Any]:
    return {"id": att(number), "kind": "image", "image_kind": kind if analysed else None,
            "labels": [{"label": label, "score": score} for label, score in labels],
            "category": category, "category_score": category_score,
            "text": text, "confidence": confidence if analysed else 0.0, "analysed": analysed}


def seen(entity: str, value: str, number: int = 1) -> Dict[str, Any]:
    """An entity the analyzer read from picture `number`."""
    return {"entity": entity, "value": value, "extractor": "AttachmentAnalyzer",
            "source": "attachment", "attachment_id": att(number), "confidence_entity": 0.9}


def message(text: str = "[image]", intent: Optional[str] = None, pictures: Sequence = (),
            entities: Sequence = ()) -> Dict[str, Any]:
    return {"text": text, "intent": {"name": intent, "confidence": 0.9} if intent else {},
            "entities": list(entities), "attachments": list(pictures)}


def user_event(parse_data: Dict[str, Any]) -> Dict[str, Any]:
    return {"event": "user", "text": parse_data["text"], "parse_data": parse_data}


def image_tracker(text: str = "[image]", intent: Optional[str] = None, pictures: Sequence = (),
                  entities: Sequence = (), slots: Optional[Dict[str, Any]] = None,
                  before: Sequence[Dict[str, Any]] = ()) -> Tracker:
    """A tracker whose latest message carries `pictures`; `before`: earlier parse_data."""
    latest = message(text, intent, pictures, entities)
    events = [user_event(earlier) for earlier in before] + [user_event(latest)]
    return Tracker.from_dict({
        "sender_id": "test-pictures", "slots": dict(slots or {}), "latest_message": latest,
        "events": events, "paused": False, "followup_action": None, "active_loop": {},
        "latest_action_name": "action_listen",
    })


def run_full(action, tracker: Tracker, domain):
    """(texts, responses, events, buttons) of one action run."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    texts = [m.get("text") for m in dispatcher.messages if m.get("text")]
    responses = [m.get("response") for m in dispatcher.messages if m.get("response")]
    buttons = [b for m in dispatcher.messages for b in m.get("buttons") or []]
    return texts, responses, events, buttons


def answer(domain, **kwargs):
    return run_full(ActionAnswerAttachment(), image_tracker(**kwargs), domain)


def tickets() -> List[Dict[str, Any]]:
    with shared.store()._connect() as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM tickets")]


def claims() -> List[Dict[str, Any]]:
    with shared.store()._connect() as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM claims")]


def followup(events) -> Optional[str]:
    return next((e["name"] for e in events if e.get("event") == "followup"), None)


def questions(texts: List[str]) -> int:
    return sum(text.count("?") for text in texts)


# ---------------------------------------------------------------- the attachment slot


def test_read_attachments_sets_and_clears_the_slot(domain):
    action = ActionReadAttachments()
    _, _, events = run(action, image_tracker(pictures=[picture()]), domain)
    assert slot_events(events) == {"attachment": "image"}
    later = make_tracker("thanks", "thank_you", slots={"attachment": "image"})
    assert slot_events(run(action, later, domain)[2]) == {"attachment": None}
    assert run(action, make_tracker("hello", "greet"), domain)[2] == []  # nothing to change
    # a voice note: its transcript is the text, no picture, so nothing is set
    voice = make_tracker("my app says BW-2002", "login_problem")
    assert run(action, voice, domain)[2] == []


def test_the_image_token_is_not_the_customers_words():
    tracker = make_tracker("[image]", "device_problem")
    assert shared.user_text(tracker) == ""
    assert shared.user_text(make_tracker("what does this mean? [image]")) == "what does this mean?"


# ---------------------------------------------------------------- error screenshots


def test_screenshot_with_an_error_code_gets_its_fix(domain):
    shot = picture(text="Brightwave\nAccount temporarily locked (BW-2002). Too many sign-in attempts.")
    texts, responses, events, _ = answer(domain, text="what does this mean?", intent="login_problem",
                                         pictures=[shot], entities=[seen("error_code", "BW-2002")])
    said = " ".join(texts)
    assert said.startswith("I can see error BW-2002 on your screenshot")
    assert "Five failed sign-in attempts lock the account for 30 minutes" in said
    assert "Wait 30 minutes" in said
    assert responses == [] and tickets() == []
    assert slot_events(events)["error_code"] == "BW-2002"


def test_code_read_from_the_ocr_text_without_an_entity(domain):
    shot = picture(kind="photo", text="Error E12 (BW-S12)\nOrange ring")  # a photographed screen
    shot["image_kind"] = "screenshot"
    texts, _, _, _ = answer(domain, intent="device_problem", pictures=[shot])
    assert "BW-S12" in texts[0] and "Reconnect" in texts[0]


def test_safety_code_on_a_screenshot_warns_and_hands_off(domain):
    shot = picture(text="Battery temperature too high (BW-B99).")
    texts, responses, _, _ = answer(domain, intent="device_problem", pictures=[shot],
                                    entities=[seen("error_code", "BW-B99")])
    assert texts[0].startswith("I can see error BW-B99 on your screenshot")
    assert responses == ["utter_safety_warning"]
    assert "battery is overheating" in " ".join(texts)
    assert "TCK-" in texts[-1]
    [ticket] = tickets()
    assert ticket["reason"] == "safety" and "BW-B99" in ticket["summary"] and att(1) in ticket["summary"]


def test_safety_words_with_a_picture_win(domain):
    _, responses, _, _ = answer(domain, text="my laptop is smoking", intent="device_problem",
                                pictures=[picture(kind="photo", labels=[("laptop", 0.7)],
                                                  category="laptop", category_score=0.7)])
    assert responses == ["utter_safety_warning"]
    assert len(tickets()) == 1


def test_screenshot_without_a_code_offers_the_likely_code(domain):
    """Issue 16: a screenshot without a code is no longer diagnosed ("That looks like error
    BW-R01"); the likely code is offered as a button with its one-line cause."""
    shot = picture(text="Mesh app\nRouter status: red\nOffline, no internet")
    texts, _, _, buttons = answer(domain, text="what's wrong with it", intent="device_problem",
                                  pictures=[shot])
    assert "Mesh app" in texts[0] and "Restart the modem" not in texts[0]
    assert "- BW-R01" in texts[0] and questions(texts) == 1
    assert [b["payload"] for b in buttons][:1] == ['/device_problem{"error_code":"BW-R01"}']


def test_unknown_screenshot_gets_one_clarifying_question(domain):
    shot = picture(text="Welcome back!\nYour playlist is ready")
    texts, _, events, _ = answer(domain, intent="device_problem", pictures=[shot])
    assert "can't match it" in texts[0] and "Welcome back" in texts[0]
    assert questions(texts) == 1 and tickets() == []


def test_unreadable_screenshot_asks_for_the_message(domain):
    shot = picture(text="", confidence=0.1)
    texts, _, _, _ = answer(domain, intent="device_problem", pictures=[shot])
    assert "can't read any text" in texts[0] and questions(texts) == 1


# ---------------------------------------------------------------- product photos


def laptop_photo(score: float = 0.62) -> Dict[str, Any]:
    return picture(kind="photo", labels=[("notebook", score), ("laptop", 0.2), ("desk", 0.05)],
                   category="laptop", category_score=score + 0.2, confidence=score)


def test_product_photo_names_the_category_and_the_candidates(domain):
    texts, _, events, buttons = answer(domain, intent="product_info", pictures=[laptop_photo()],
                                       entities=[seen("product_category", "laptop")])
    said = texts[0]
    assert "looks like a notebook" in said and "laptop range" in said
    laptops = [p for p in shared.pack().products if p.category == "laptop"]
    for product in laptops:
        assert product.name in said and shared.money(product.price_usd) in said
    assert said.endswith("Which one is it?") and questions(texts) == 1
    assert {b["title"] for b in buttons} == {p.name for p in laptops}
    assert all(b["payload"].startswith("/product_info{") for b in buttons)
    assert set(slot_events(events)["product_candidates"]) == {p.sku for p in laptops}


def test_warranty_follow_up_uses_the_remembered_candidates(domain):
    laptops = [p for p in shared.pack().products if p.category == "laptop"]
    slots = {"product_candidates": [p.sku for p in laptops]}
    tracker = make_tracker("how long is the warranty?", "warranty", slots=slots)
    texts, _, events, buttons = run_full(ActionAnswerAttachment(), tracker, domain)
    for product in laptops:
        assert f"{product.name}: {product.warranty_months} months" in texts[0]
    assert len(buttons) == len(laptops)
    # the customer picks one (the button's payload), then asks again: that product only
    pick = make_tracker('/product_info{"product": "Brightwave Studio 16 Laptop"}', "product_info",
                        slots=slots, entities=[{"entity": "product", "value": "Brightwave Studio 16 Laptop"}])
    texts, _, events, _ = run_full(ActionAnswerAttachment(), pick, domain)
    assert texts == ["Brightwave Studio 16 Laptop costs $1,499.00. 16-inch OLED display, 32 GB RAM, "
                     "1 TB SSD, dedicated graphics. It comes with a 24-month warranty."]
    assert slot_events(events)["product_candidates"] == ["BW-LT-1602"]
    again = make_tracker("and the warranty?", "warranty", slots={"product_candidates": ["BW-LT-1602"]})
    texts, _, _, _ = run_full(ActionAnswerAttachment(), again, domain)
    assert "Brightwave Studio 16 Laptop comes with a 24-month warranty" in texts[0]


def test_warranty_question_with_a_photo(domain):
    photo = picture(kind="photo", labels=[("espresso maker", 0.7)], category="kitchen",
                    category_score=0.7, confidence=0.7)
    texts, _, events, buttons = answer(domain, text="is this covered?", intent="warranty", pictures=[photo])
    assert "looks like an espresso maker" in texts[0]
    assert "Nova Espresso Machine comes with a 12-month warranty" in texts[0]
    assert buttons == []  # one candidate: nothing to choose
    assert slot_events(events)["product_candidates"] == ["NV-CF-0012"]


def test_product_named_on_a_label_is_the_product(domain):
    photo = picture(kind="photo", labels=[("espresso", 0.4)], confidence=0.4)
    texts, _, events, _ = answer(domain, intent="product_info", pictures=[photo],
                                 entities=[seen("product", "Nova Espresso Machine")])
    assert texts[0].startswith("I can see the Nova Espresso Machine on your photo.")
    assert "$179.00" in texts[0]
    assert slot_events(events)["product_candidates"] == ["NV-CF-0012"]


def test_photo_without_a_category_gets_one_question(domain):
    photo = picture(kind="photo", labels=[("tabby cat", 0.8)], confidence=0.8)
    texts, responses, _, buttons = answer(domain, intent="product_info", pictures=[photo])
    assert responses == ["utter_attachment_unclear"] and texts == [] and buttons == []
    text = next(r for r in domain["responses"]["utter_attachment_unclear"])["text"]
    assert text.count("?") == 1


def test_unsure_photo_asks_instead_of_guessing(domain):
    photo = laptop_photo(score=0.12)
    photo["category_score"] = 0.15
    texts, _, events, buttons = answer(domain, intent="product_info", pictures=[photo])
    assert "I'm not sure what your photo shows: it might be a notebook" in texts[0]
    assert questions(texts) == 1 and buttons == []
    assert "Aero" not in texts[0]  # no product named on a guess


def test_a_screenshot_is_not_a_product_photo(domain):
    shot = picture(kind="screenshot", text="Welcome back!\nYour playlist is ready",
                   labels=[("screen", 0.5)], category="tv", category_score=0.5)
    texts, _, _, buttons = answer(domain, intent="product_info", pictures=[shot])
    assert "TV range" not in texts[0] and buttons == []


def test_perception_down_apologises_and_asks_for_words(domain):
    texts, responses, _, _ = answer(domain, text="what is this?", intent="product_info",
                                    pictures=[picture(analysed=False)])
    assert responses == ["utter_attachment_unavailable"] and texts == []
    wording = domain["responses"]["utter_attachment_unavailable"][0]["text"]
    assert "sorry" in wording.lower() and "in words" in wording and wording.count("?") == 1


def test_pictures_not_analysed_beside_analysed_ones_are_named(domain):
    """The service too busy for some of a message's pictures: the answer comes from the others,
    and the customer hears that the rest were not looked at."""
    shot = picture(1, text="Payment declined (BW-1001)\nYour bank did not approve this payment.")
    texts, _, _, _ = answer(domain, text="what does this mean?", intent="device_problem",
                            pictures=[shot, picture(2, analysed=False), picture(3, analysed=False)])
    assert texts[0].startswith("I couldn't look at 2 of the 3 pictures you sent")
    assert any("BW-1001" in text for text in texts[1:]), texts
    texts, _, _, _ = answer(domain, text="what does this mean?", intent="device_problem",
                            pictures=[shot, picture(2, analysed=False)])
    assert texts[0].startswith("I couldn't look at one of the pictures you sent")
    texts, _, _, _ = answer(domain, text="what does this mean?", intent="device_problem", pictures=[shot])
    assert not any("couldn't look at" in text for text in texts)


# ---------------------------------------------------------------- damaged-item claims


def item_photo(number: int = 1) -> Dict[str, Any]:
    return picture(number, kind="photo", labels=[("television", 0.5)], category="tv",
                   category_score=0.5, confidence=0.5)


def test_damaged_item_claim_needs_a_photo(domain, monkeypatch):
    monkeypatch.setattr(shared, "today", lambda: date(2026, 11, 22))  # BW-536875: 21 Nov, $492.99
    texts, _, events = run(ActionDamagedItem(), make_tracker(slots=verified("BW-536875", BEN)), domain)
    assert "photo" in texts[0] and questions(texts) == 1
    assert slot_events(events)["next_step"] == "claim_photo"
    assert claims() == []


def test_damaged_item_claim_with_the_photo_sent_first(domain, monkeypatch):
    monkeypatch.setattr(shared, "today", lambda: date(2026, 11, 22))
    first = message("my order arrived broken", "damaged_item", [item_photo(7)])
    tracker = image_tracker(BEN, "inform", pictures=[], slots=verified("BW-536875", BEN), before=[first])
    texts, _, _ = run(ActionDamagedItem(), tracker, domain)
    assert "claim CLM-" in texts[0] and "BW-536875" in texts[0]
    [claim] = claims()
    assert claim["kind"] == "damaged_item" and att(7) in claim["details"]
    assert tickets() == []


def test_the_next_photo_continues_the_claim(domain, monkeypatch):
    monkeypatch.setattr(shared, "today", lambda: date(2026, 11, 22))
    slots = verified("BW-536875", BEN, next_step="claim_photo")
    texts, _, events, _ = answer(domain, text="here you go", intent="inform",
                                 pictures=[item_photo(3), item_photo(4)], slots=slots)
    assert "your 2 photos" in texts[0] and "claim CLM-" in texts[0]
    [claim] = claims()
    assert att(3) in claim["details"] and att(4) in claim["details"]
    assert slot_events(events)["next_step"] is None


def test_screenshots_are_not_claim_photos(domain, monkeypatch):
    monkeypatch.setattr(shared, "today", lambda: date(2026, 11, 22))
    first = message("it arrived broken", "damaged_item", [picture(kind="screenshot", text="Order BW-536875")])
    tracker = image_tracker(BEN, "inform", slots=verified("BW-536875", BEN), before=[first])
    texts, _, events = run(ActionDamagedItem(), tracker, domain)
    assert slot_events(events)["next_step"] == "claim_photo" and claims() == []


def test_damaged_item_over_threshold_with_a_photo_goes_to_an_agent(domain, monkeypatch):
    monkeypatch.setattr(shared, "today", lambda: date(2026, 11, 24))  # BW-815476: 23 Nov, $832.99
    first = message("the TV arrived cracked", "damaged_item", [item_photo(5)])
    tracker = image_tracker(IMANI, "inform", slots=verified("BW-815476", IMANI), before=[first])
    texts, _, _ = run(ActionDamagedItem(), tracker, domain)
    said = " ".join(texts)
    assert "claim CLM-" in said and "$500.00" in said and "TCK-" in said
    [claim] = claims()
    assert att(5) in claim["details"]
    [ticket] = tickets()
    assert ticket["order_id"] == "BW-815476" and ticket["reason"] == "damaged_item_over_threshold"
    assert att(5) in ticket["summary"]


def test_an_unanalysed_photo_still_counts_for_the_claim(domain, monkeypatch):
    monkeypatch.setattr(shared, "today", lambda: date(2026, 11, 22))
    slots = verified("BW-536875", BEN, next_step="claim_photo")
    texts, _, _, _ = answer(domain, intent="inform", pictures=[picture(9, analysed=False)], slots=slots)
    assert "claim CLM-" in texts[0]
    assert att(9) in claims()[0]["details"]


# ---------------------------------------------------------------- statements and invoices


def statement_picture(text: str = STATEMENT, number: int = 2) -> Dict[str, Any]:
    return picture(number, kind="document", text=text, labels=[("envelope", 0.3)], confidence=0.88)


def statement_entities(text: str = STATEMENT, number: int = 2) -> List[Dict[str, Any]]:
    orders = []
    for word in text.replace("|", " ").split():
        if word.startswith("BW-") and len(word) == 9 and word not in orders:
            orders.append(word)
    return [seen("order_id", order, number) for order in orders]


def statement_message(text: str = STATEMENT, words: str = "what is this charge?",
                      intent: str = "explain_document") -> Dict[str, Any]:
    return message(words, intent, [statement_picture(text)], statement_entities(text))


def explain_after_check(domain, email: str, order_id: str, document: Dict[str, Any]):
    """action_explain_document right after the identity form (the latest message: the e-mail)."""
    tracker = image_tracker(email, "inform", slots=verified(order_id, email,
                                                            pending_request="explain_document"),
                            before=[document])
    return run_full(ActionExplainDocument(), tracker, domain)


def test_statement_starts_the_identity_check_with_the_order_from_the_picture(domain):
    texts, _, events, _ = answer(domain, text="what is this charge?", intent="explain_document",
                                 pictures=[statement_picture()], entities=statement_entities())
    assert texts == ["I can see your statement mentioning order BW-167413. Before I go through it "
                     "with you, I need to check that it's yours."]
    slots = slot_events(events)
    assert slots["pending_request"] == "explain_document" and slots["order_id"] == "BW-167413"
    assert followup(events) == "identity_form"
    assert "Installment" not in texts[0]  # nothing explained before the check


def test_statement_explained_after_the_identity_check(domain):
    texts, _, events, _ = explain_after_check(domain, BEN, "BW-167413", statement_message())
    said = "\n".join(texts)
    assert said.startswith("Here's what I can see on your statement:")
    assert "installment 2 of 6 for order BW-167413 (Brightwave Pulse 6 Phone)" in said
    assert "collected on the 5th of each month" in said and "4 more to go" in said
    assert "installment 1 of 12 for order BW-433998" in said
    assert "Late fee (-$10.00): a late fee" in said and "3 days later" in said
    assert "Top-up by card (+$200.00): money you added to your wallet by card" in said
    assert "Next installment due: 5 Dec 2026" in said
    assert tickets() == []
    assert slot_events(events)["pending_request"] is None


def test_the_customers_words_pick_the_line(domain):
    document = statement_message(words="why was I charged a late fee?")
    texts, _, _, _ = explain_after_check(domain, BEN, "BW-167413", document)
    said = "\n".join(texts)
    assert "Late fee" in said and "Installment 2 of 6" not in said and "Top-up" not in said


def test_unknown_statement_line_goes_to_an_agent(domain):
    text = STATEMENT.replace("Next installment due", "17 Nov 2026 | Gold club membership | -$9.99\n"
                                                     "Next installment due")
    texts, _, _, _ = explain_after_check(domain, BEN, "BW-167413", statement_message(text))
    said = " ".join(texts)
    assert "\"Gold club membership\" (-$9.99)" in said and "TCK-" in said
    [ticket] = tickets()
    assert ticket["reason"] == "unrecognized_charge" and "Gold club membership" in ticket["summary"]
    assert att(2) in ticket["summary"]


def test_someone_elses_order_on_the_statement_goes_to_an_agent(domain):
    text = STATEMENT.replace("Top-up by card | +$200.00", "Order BW-723241 | -$418.00")
    texts, _, _, _ = explain_after_check(domain, BEN, "BW-167413", statement_message(text))
    said = " ".join(texts)
    assert "\"Order BW-723241\" (-$418.00)" in said and "TCK-" in said
    assert "Nova Chromebook" not in said  # nothing about another customer's order


def test_a_late_fee_the_pack_does_not_charge_is_not_explained(domain):
    text = STATEMENT.replace("Late fee | -$10.00", "Late fee | -$35.00")
    texts, _, _, _ = explain_after_check(domain, BEN, "BW-167413", statement_message(text))
    assert "\"Late fee\" (-$35.00)" in " ".join(texts) and len(tickets()) == 1


def test_statement_of_another_account_is_not_explained(domain):
    text = STATEMENT.replace("0111", "0117")
    texts, _, events, _ = explain_after_check(domain, BEN, "BW-167413", statement_message(text))
    assert "doesn't match your account" in texts[0] and "Installment" not in texts[0]
    assert slot_events(events)["next_step"] == "offer_agent"


def test_invoice_explained_after_the_identity_check(domain):
    invoice = picture(4, kind="document", text=INVOICE, confidence=0.9)
    document = message("can you explain my invoice", "explain_document", [invoice],
                       [seen("order_id", "BW-723241", 4), seen("invoice_number", "INV-2026-004417", 4)])
    start, _, events, _ = answer(domain, text="can you explain my invoice", intent="explain_document",
                                 pictures=[invoice], entities=document["entities"])
    assert start[0].startswith("I can see your invoice INV-2026-004417 (order BW-723241).")
    assert slot_events(events)["order_id"] == "BW-723241"
    texts, _, _, _ = explain_after_check(domain, HIRO, "BW-723241", document)
    said = "\n".join(texts)
    assert "the Nova Chromebook 13 (NV-LT-1305)" in said and "the Sonora Boom Portable Speaker" in said
    assert "Total ($418.00)" in said and "The total matches order BW-723241" in said
    assert tickets() == []


def test_already_verified_customer_gets_the_explanation_at_once(domain):
    texts, _, events, _ = answer(domain, text="what is this charge?", intent="explain_document",
                                 pictures=[statement_picture()], entities=statement_entities(),
                                 slots=verified("BW-433998", BEN))
    assert texts[0].startswith("Here's what I can see on your statement:")
    assert followup(events) is None


def test_unrecognized_charge_with_a_statement_explains_then_offers_an_agent(domain):
    document = statement_message(words="I don't recognise this", intent="unrecognized_charge")
    texts, _, events, _ = explain_after_check(domain, BEN, "BW-167413", document)
    assert texts[0].startswith("Here's what I can see on your statement:")
    assert "agent" in texts[-1] and slot_events(events)["next_step"] == "offer_agent"


def test_failed_identity_check_shows_nothing(domain):
    tracker = image_tracker(BEN, "inform", slots={"order_id": None, "pending_request": "explain_document",
                                                  "verification_failures": 3},
                            before=[statement_message()])
    texts, _, events, _ = run_full(ActionExplainDocument(), tracker, domain)
    assert "couldn't verify" in texts[0] and "Installment" not in " ".join(texts)
    assert slot_events(events)["pending_request"] is None


def test_explain_document_typed_without_a_picture(domain):
    tracker = make_tracker("why was I charged a late fee", "explain_document")
    texts, responses, _, _ = run_full(ActionExplainDocument(), tracker, domain)
    assert "$10 late fee" in texts[0] and "photo or a screenshot" in texts[0]
    tracker = make_tracker("explain this", "explain_document")
    texts, responses, _, _ = run_full(ActionExplainDocument(), tracker, domain)
    assert responses == ["utter_ask_document_picture"]


def test_explain_document_typed_after_the_picture(domain):
    before = [statement_message()]
    tracker = image_tracker("and the late fee?", "explain_document", slots=verified("BW-167413", BEN),
                            before=before)
    texts, _, _, _ = run_full(ActionExplainDocument(), tracker, domain)
    assert "Late fee" in texts[0] and "Installment 2 of 6" not in texts[0]
    unverified = image_tracker("and the late fee?", "explain_document", before=before)
    texts, _, events, _ = run_full(ActionExplainDocument(), unverified, domain)
    assert "check that it's yours" in texts[0]
    assert followup(events) == "identity_form"


def test_statement_lines_are_read_from_ocr_text():
    line = read_line("5 Nov 2026 Installment 2 of 6 - Order BW-167413 -$119.00")
    assert (line.kind, line.numbers, line.orders, line.value) == ("installment", (2, 6), ["BW-167413"], -119.0)
    assert read_line("lnstallment 3 of 12 $74.92").kind == "installment"  # an OCR slip
    assert read_line("Opening balance $1,249.00").value == 1249.0
    assert read_line("Refund - Order BW-517602 +$49.00").kind == "refund"
    assert read_line("Gold club membership $9.99").kind == "unknown"


def test_warranty_question_with_an_invoice_checks_that_orders_warranty(domain):
    invoice = picture(6, kind="document", text="Brightwave Electronics - Invoice\nInvoice INV-2026-003381\n"
                      "Order BW-433998\nBrightwave Aero 14 Laptop BW-LT-1401 1 $899.00\nTotal $899.00")
    texts, _, events, _ = answer(domain, text="is this covered?", intent="warranty", pictures=[invoice],
                                 entities=[seen("order_id", "BW-433998", 6)])
    assert "order BW-433998" in texts[0] and "check that it's yours" in texts[0]
    slots = slot_events(events)
    assert slots["pending_request"] == "warranty" and slots["order_id"] == "BW-433998"
    assert followup(events) == "identity_form"


def test_pay_screenshot_with_a_code_gets_the_fix(domain):
    shot = picture(text="Brightwave Pay\nInstallments\nInstallment plan unavailable (BW-1010)")
    texts, _, _, _ = answer(domain, text="what does this mean?", intent="pay_account", pictures=[shot],
                            entities=[seen("error_code", "BW-1010")])
    assert texts[0].startswith("I can see error BW-1010 on your screenshot")
    assert "Pay the overdue balance" in texts[0]


def test_a_table_read_column_by_column_gets_its_amounts_back(domain):
    # what Tesseract made of a statement: the descriptions first, then the amounts column
    ocr = ("Brightwave Pay - Monthly statement\n1 Nov 2026 - 30 Nov 2026\nBen Okafor\nAccount eeee 0111\n"
           "Date Description\n5 Nov 2026 Installment 2 of 6 - Order BW-167413\n"
           "9 Nov 2026 Late fee\n12 Nov 2026 __—‘Top-up by card\nOpening balance\nClosing balance\n"
           "Next installment due: 5 Dec 2026\nAmount\n-$119.00\n-$10.00\n+$200.00\n$249.75\n$320.75")
    from actions.attachments import Picture, document_lines
    lines = document_lines(Picture.of(picture(text=ocr), {}))
    got = [(line.kind, line.amount) for line in lines]
    assert got == [("installment", "-$119.00"), ("late_fee", "-$10.00"), ("top_up", "+$200.00"),
                   ("opening_balance", "$249.75"), ("closing_balance", "$320.75"),
                   ("next_installment", None)]
    assert lines[2].description == "Top-up by card"
    # an invoice: its "Order BW-..." heading is not a payment
    ocr = ("Brightwave Electronics - Invoice\nInvoice INV-2026-004417\nOrder BW-723241\nitem\n"
           "Nova Chromebook 13\nShipping\nTotal\nSKU\nNV-LT-1305\nPrice\n$329.00\n$0.00\n$329.00")
    got = [(line.kind, line.amount) for line in document_lines(Picture.of(picture(text=ocr), {}))]
    assert got == [("item", "$329.00"), ("shipping", "$0.00"), ("total", "$329.00")]


def test_follow_up_read_as_faq_still_uses_the_candidates(domain):
    slots = {"product_candidates": ["BW-TV-5504", "BW-TV-6504"]}
    texts, _, _, buttons = run_full(ActionAnswerAttachment(),
                                    make_tracker("how long is the warranty?", "faq", slots=slots), domain)
    assert "Brightwave Vista 55 4K TV: 24 months" in texts[0] and len(buttons) == 2
    # another question after a photo is answered by its own skill
    texts, _, events, _ = run_full(ActionAnswerAttachment(),
                                   make_tracker("do you ship to canada?", "faq", slots=slots), domain)
    assert "Vista" not in " ".join(texts)


def test_blank_screenshot_is_not_taken_for_a_product(domain):
    shot = picture(kind="screenshot", text="", labels=[("screen", 0.6)], category="tv",
                   category_score=0.6, confidence=0.0)
    texts, _, _, buttons = answer(domain, intent="product_info", pictures=[shot])
    assert "can't read any text on your screenshot" in texts[0] and "TV" not in texts[0]
    assert questions(texts) == 1 and buttons == []
