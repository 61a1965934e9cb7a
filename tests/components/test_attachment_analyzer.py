"""AttachmentAnalyzer: saved analyses -> the contract's summary and entities with their source.

The analyses below are what the perception service answered for the test material of
tests/perception/make_images.py (Chromium error page, Pillow invoice photographed on a table),
OCR noise included, plus a statement and photos.
"""
import io
import json

import pytest
from PIL import Image

from attachments.store import AttachmentStore
from components.attachment_analyzer import (
    AttachmentAnalyzer,
    find_amounts,
    find_dates,
)
from knowledge.pack import DEFAULT_SETTINGS, CompanyPack
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.message import Message
from tests import services

ERROR_PAGE_OCR = (
    "Brightwave Electronics\nAccount Orders Help\nCheckout\nPayment declined (BW-1001)\n"
    "Your bank did not approve this payment. Try another card or Brightwave Pay.\nAero 14 Laptop\n"
    "$1,199.00\nExpress shipping $50.00\nOrder total $1,249.00\nTry again"
)
INVOICE_ON_TABLE_OCR = (
    "/ Brightwave Electronics - Invoice\nInvoice INV-2026-004417\nOrder BW-723241\n* Date: 28 Nov 2026\n"
    "\\ Bill to: Hiro Tanaka j\n\\ Item SKU Qty Price N\nNova Chromebook 13 NV-LT-1305 1 $329.00 ,\n"
    "Sonora Boom Portable Speaker SN-SP-0101 1 $89.00\nShipping $0.00 \\ \\\nTax $0.00 : Vy\n"
    "Total $418.00 \\ ; \u2018\nPaid with Visa ending 4242\n"
    "Brightwave Electronics - brightwave.example - Thank you for your order. Pa ae ? J, \u00ab :"
)
STATEMENT_OCR = (
    "Brightwave Pay - Monthly statement\n1 Nov 2026 - 30 Nov 2026\nAccount \u2022\u2022\u2022\u2022 0113\n"
    "Date Description Amount\n5 Nov 2026 Installment 2 of 6 - Order BW-276211 $116.50\n"
    "7 Nov 2026 Late fee $10.00\n12 Nov 2026 Refund - Order BW-482913 -$129.00\n"
    "Closing balance $1,031.50\nNext installment due: 5 Dec 2026"
)


def screenshot_analysis(text, confidence=0.9565, kind="screenshot"):
    return {
        "labels": [{"label": "web site", "index": 916, "score": 0.878808},
                   {"label": "envelope", "index": 549, "score": 0.040379},
                   {"label": "analog clock", "index": 409, "score": 0.003142},
                   {"label": "oscilloscope", "index": 688, "score": 0.002476},
                   {"label": "screen", "index": 782, "score": 0.002199}],
        "embedding": [0.0] * 1280, "dim": 1280, "kind": kind, "text_heavy": True, "signals": {},
        "ocr": {"text": text, "lines": [], "confidence": confidence, "engine": "tesseract"},
        "width": 1280, "height": 800, "format": "png", "engine": "efficientnet-lite0",
    }


def photo_analysis(*labels):
    return {"labels": [{"label": name, "index": 0, "score": score} for name, score in labels],
            "embedding": [0.0] * 1280, "dim": 1280, "kind": "photo", "text_heavy": False,
            "signals": {}, "ocr": None, "width": 600, "height": 400, "format": "png"}


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture()
def store(tmp_path):
    return AttachmentStore(tmp_path / "attachments")


def analyzer(store, **config):
    full = {**AttachmentAnalyzer.get_default_config(), **config}
    return AttachmentAnalyzer(full, store=store)


def saved(store, analysis=None):
    ref = store.save(png_bytes(), "png")
    if analysis is not None:
        store.save_analysis(ref["id"], analysis)
    return ref


def message(text, *refs):
    return Message(data={TEXT: text, "metadata": {"attachments": list(refs)}})


def entity_values(processed, entity):
    return [e["value"] for e in processed.get(ENTITIES, []) if e["entity"] == entity]


# ---------------------------------------------------------------- summaries and entities


def test_screenshot_summary_follows_the_contract(store):
    ref = saved(store, screenshot_analysis(ERROR_PAGE_OCR))
    [processed] = analyzer(store).process([message("what does this mean?", ref)])
    [summary] = processed.get("attachments")
    assert summary == {
        "id": ref["id"], "kind": "image", "image_kind": "screenshot",
        "labels": [{"label": "web site", "score": 0.8788}, {"label": "envelope", "score": 0.0404},
                   {"label": "analog clock", "score": 0.0031}],
        "category": None, "category_score": 0.0,
        "text": ERROR_PAGE_OCR, "confidence": 0.9565, "analysed": True,
    }
    # in parse_data, so actions see it in tracker.latest_message
    assert "attachments" in processed.as_dict(only_output_properties=True)
    assert json.dumps(processed.get("attachments"))  # plain JSON: it goes into the tracker


def test_error_page_entities_carry_their_source(store):
    ref = saved(store, screenshot_analysis(ERROR_PAGE_OCR))
    [processed] = analyzer(store).process([message("[image]", ref)])
    assert entity_values(processed, "error_code") == ["BW-1001"]
    assert entity_values(processed, "amount") == ["1199.00", "50.00", "1249.00"]
    # "Your bank did not approve" names no power bank; "Aero 14 Laptop" is the laptop
    assert entity_values(processed, "product") == ["Brightwave Aero 14 Laptop"]
    for entity in processed.get(ENTITIES):
        assert entity["extractor"] == "AttachmentAnalyzer"
        assert entity["source"] == "attachment" and entity["attachment_id"] == ref["id"]
    assert "entities" in processed.as_dict(only_output_properties=True)


def test_invoice_photographed_on_a_table(store):
    analysis = screenshot_analysis(INVOICE_ON_TABLE_OCR, confidence=0.7848, kind="document")
    ref = saved(store, analysis)
    [processed] = analyzer(store).process([message("explain this", ref)])
    assert processed.get("attachments")[0]["image_kind"] == "document"
    assert processed.get("attachments")[0]["confidence"] == 0.7848
    assert entity_values(processed, "order_id") == ["BW-723241"]
    assert entity_values(processed, "invoice_number") == ["INV-2026-004417"]
    assert entity_values(processed, "date") == ["2026-11-28"]
    assert entity_values(processed, "amount") == ["329.00", "89.00", "0.00", "418.00"]
    assert entity_values(processed, "product") == ["Nova Chromebook 13", "Sonora Boom Portable Speaker"]
    assert entity_values(processed, "error_code") == []


def test_statement_amounts_dates_and_orders(store):
    ref = saved(store, screenshot_analysis(STATEMENT_OCR, kind="document"))
    [processed] = analyzer(store).process([message("what is this charge?", ref)])
    assert entity_values(processed, "order_id") == ["BW-276211", "BW-482913"]
    assert entity_values(processed, "amount") == ["116.50", "10.00", "-129.00", "1031.50"]
    assert entity_values(processed, "date") == ["2026-11-01", "2026-11-30", "2026-11-05", "2026-11-07",
                                                "2026-11-12", "2026-12-05"]
    assert entity_values(processed, "product") == []  # "Installment 2 of 6" is no Buds 2 nor Pulse 6


@pytest.mark.parametrize("text, codes", [
    ("Orange ring\nError E12", ["BW-S12"]),
    ("Speaker says e12 again", ["BW-S12"]),
    ("No signal (BW-T07)\nHDMI 2", ["BW-T07"]),
    ("Blinking red light (bw r02)\nFirmware update failed", ["BW-R02"]),
    ("Error 503 (BW-5003): Service temporarily unavailable.", ["BW-5003"]),
    ("Battery temperature too high (BW-B99) and BW-W05", ["BW-B99", "BW-W05"]),
    ("Solid red light (BW-RO1)", ["BW-R01"]),              # OCR read a letter O for the zero
    ("Payment declined (BW-\n1001)\nYour bank", ["BW-1001"]),  # wrapped on a narrow screen
    ("Order BW-723241 shipped", []),  # an order number is no error code
    ("Error BW-9999", []),            # not a code of this pack
])
def test_error_codes_and_aliases_are_normalised(store, text, codes):
    ref = saved(store, screenshot_analysis(text))
    [processed] = analyzer(store).process([message("[image]", ref)])
    assert entity_values(processed, "error_code") == codes


def test_amounts_and_dates_readers():
    assert find_amounts("Total $1,249.00, fee $10 and -$5.5 then USD 20.00") == [
        ("1249.00", "$1,249.00"), ("10.00", "$10"), ("-5.50", "-$5.5"), ("20.00", "USD 20.00")]
    assert [value for value, _ in find_dates(
        "28 Nov 2026; Nov 3, 2026; 2026-12-01; 11/28/2026; 31/12/2026; 5th December, 2026; 31 Feb 2026")] == [
        "2026-11-28", "2026-11-03", "2026-12-01", "2026-11-28", "2026-12-31", "2026-12-05"]


# ---------------------------------------------------------------- categories from labels


@pytest.mark.parametrize("labels, category, score", [
    ([("laptop", 0.41), ("notebook", 0.30), ("computer keyboard", 0.05)], "laptop", 0.71),
    ([("television", 0.52), ("screen", 0.2), ("monitor", 0.1)], "tv", 0.72),
    ([("monitor", 0.48), ("desktop computer", 0.11), ("television", 0.2)], "monitor", 0.59),
    ([("cellular telephone", 0.77), ("iPod", 0.05), ("remote control", 0.04)], "phone", 0.82),
    ([("loudspeaker", 0.64), ("radio", 0.1), ("tape player", 0.05)], "speaker", 0.64),
    ([("modem", 0.33), ("hard disc", 0.1), ("switch", 0.05)], "networking", 0.33),
    ([("espresso maker", 0.4), ("coffeepot", 0.2), ("toaster", 0.1)], "kitchen", 0.6),
    ([("espresso", 0.95), ("cup", 0.015), ("consomme", 0.007)], None, 0.0),   # coffee, not a machine
    ([("tabby", 0.5), ("laptop", 0.05), ("tiger cat", 0.2)], None, 0.0),      # too weak
])
def test_photo_labels_map_to_catalogue_categories(store, labels, category, score):
    ref = saved(store, photo_analysis(*labels))
    [processed] = analyzer(store).process([message("[image]", ref)])
    [summary] = processed.get("attachments")
    assert (summary["image_kind"], summary["category"]) == ("photo", category)
    assert summary["category_score"] == pytest.approx(score)
    assert summary["confidence"] == pytest.approx(max(labels[0][1], score))
    assert len(summary["labels"]) == 3 and summary["text"] == ""
    assert entity_values(processed, "product_category") == ([category] if category else [])


def test_pack_image_categories_are_catalogue_categories_and_imagenet_classes():
    pack = CompanyPack.load()
    mapping = pack.settings["image_categories"]
    classes = set((services.ROOT / "perception" / "data" / "imagenet_classes.txt").read_text().splitlines())
    assert set(mapping) <= {product.category for product in pack.products}
    for names in mapping.values():
        assert set(names) <= classes
    # a pack without image_categories in pack.yml gets the same mapping
    assert mapping == DEFAULT_SETTINGS["image_categories"]


# ---------------------------------------------------------------- missing, refused, odd input


def test_missing_analysis_with_the_service_down_is_analysed_false(store):
    ref = saved(store)  # the channel could not analyse it
    processor = analyzer(store, url=services.closed_url(), timeout=1.0)
    [processed] = processor.process([message("[image]", ref)])
    [summary] = processed.get("attachments")
    assert summary["analysed"] is False and summary["id"] == ref["id"]
    assert summary["labels"] == [] and summary["category"] is None and summary["confidence"] == 0.0
    assert processed.get(ENTITIES, []) == []
    assert store.analysis(ref["id"]) is None


def test_missing_analysis_without_fallback_is_analysed_false(store):
    ref = saved(store)
    [processed] = analyzer(store, analyze_missing=False).process([message("[image]", ref)])
    assert processed.get("attachments")[0]["analysed"] is False


def test_missing_file_and_refused_analysis(store):
    gone = {"id": "att_" + "0" * 32, "kind": "image"}
    refused = saved(store, {"error": {"code": "undecodable_image", "message": "cannot decode"}})
    [processed] = analyzer(store, url=services.closed_url(), timeout=1.0).process(
        [message("[image]", gone, refused)])
    assert [s["analysed"] for s in processed.get("attachments")] == [False, False]


def test_missing_analysis_is_asked_of_the_service_and_saved(store, perception_url):
    ref = saved(store)
    [processed] = analyzer(store, url=perception_url, timeout=30.0).process([message("[image]", ref)])
    [summary] = processed.get("attachments")
    assert summary["analysed"] is True and summary["image_kind"] == "photo"
    assert store.analysis(ref["id"])["labels"]


def test_text_only_audio_and_bad_references_are_left_alone(store):
    audio = {"id": "att_" + "1" * 32, "kind": "audio"}
    bad = {"id": "../../etc/passwd", "kind": "image"}
    text_only = Message(data={TEXT: "where is my order?"})
    odd = Message(data={TEXT: "hi", "metadata": {"attachments": [audio, bad, "x"]}})
    no_metadata = Message(data={TEXT: "hi", "metadata": None})
    processed = analyzer(store).process([text_only, odd, no_metadata])
    assert all(m.get("attachments") is None and not m.get(ENTITIES) for m in processed)


def test_several_images_in_one_message(store):
    first = saved(store, screenshot_analysis(ERROR_PAGE_OCR))
    second = saved(store, photo_analysis(("laptop", 0.6), ("notebook", 0.2), ("mouse", 0.05)))
    [processed] = analyzer(store).process([message("[image]", first, second)])
    assert [s["id"] for s in processed.get("attachments")] == [first["id"], second["id"]]
    sources = {(e["entity"], e["attachment_id"]) for e in processed.get(ENTITIES)}
    assert ("error_code", first["id"]) in sources and ("product_category", second["id"]) in sources


# ---------------------------------------------------------------- graph component life cycle


def test_create_and_load_give_identical_output(store, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTACHMENTS_DIR", str(store.root))
    refs = [saved(store, screenshot_analysis(STATEMENT_OCR)), saved(store, photo_analysis(("laptop", 0.7)))]
    model_storage = LocalModelStorage(tmp_path / "model")
    resource = Resource("attachments")
    context = ExecutionContext(GraphSchema({}), "attachments")
    config = AttachmentAnalyzer.get_default_config()
    created = AttachmentAnalyzer.create(config, model_storage, resource, context)
    loaded = AttachmentAnalyzer.load(config, model_storage, resource, context)
    [first] = created.process([message("[image]", *refs)])
    [second] = loaded.process([message("[image]", *refs)])
    assert first.as_dict(only_output_properties=True) == second.as_dict(only_output_properties=True)
    assert len(first.get("attachments")) == 2


def test_invalid_timeout_is_rejected(tmp_path):
    config = {**AttachmentAnalyzer.get_default_config(), "timeout": 0}
    with pytest.raises(ValueError, match="timeout"):
        AttachmentAnalyzer.create(config, LocalModelStorage(tmp_path), Resource("a"),
                                  ExecutionContext(GraphSchema({}), "a"))


def test_training_examples_get_summaries_but_no_entities(store):
    data = RasaYAMLReader().reads((services.ROOT / "data" / "nlu" / "multimodal.yml").read_text())
    assert len(data.training_examples) >= 100
    analyzer(store).process_training_data(data)
    summaries = [m.get("attachments") for m in data.training_examples]
    assert all(s and s[0]["analysed"] for s in summaries)
    assert not any(m.get(ENTITIES) for m in data.training_examples)
    by_kind = {}
    for example, [summary] in zip(data.training_examples, summaries):
        by_kind.setdefault(summary["image_kind"], []).append((example, summary))
    assert set(by_kind) == {"screenshot", "document", "photo"}
    laptops = [s for m, s in by_kind["photo"] if s["labels"][0]["label"] == "laptop"]
    assert laptops and all(s["category"] == "laptop" for s in laptops)
    assert all(s["text"] for _, s in by_kind["document"])
