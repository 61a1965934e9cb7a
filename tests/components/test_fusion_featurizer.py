"""FusionFeaturizer: f = w_t*f_t + w_i*f_i or [f_t ; f_i ; flag], weights learned and persisted."""
import logging

import numpy as np
import pytest

from components.attachment_analyzer import AttachmentAnalyzer
from components.fusion_featurizer import MODEL_FILE, FusionFeaturizer, describe
from components.perception_featurizer import PerceptionServiceRequired
from knowledge.pack import CompanyPack
from perception.client import PerceptionClient
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.utils.io import read_json_file
from tests import services

DECLINED = "Checkout\nPayment declined (BW-1001)\nYour bank did not approve this payment.\nTry again"
LOCKED = "Sign in\nAccount temporarily locked (BW-2002)\nToo many sign-in attempts."
NO_SIGNAL = "No signal (BW-T07)\nHDMI 2"

# Short words that say nothing without their picture, and a few text-only examples per intent.
TRAINING_YAML = """
version: "3.1"
nlu:
- intent: payment_problem
  examples:
  - text: "[image]"
    metadata: {attachment: {image_kind: screenshot, text: "Payment declined (BW-1001). Your bank did not approve this payment."}}
  - text: what does this mean?
    metadata: {attachment: {image_kind: screenshot, text: "Checkout. Card expired (BW-1002). Please update your payment method."}}
  - text: help
    metadata: {attachment: {image_kind: screenshot, text: "Payment could not be verified (BW-1003). 3-D Secure check failed."}}
  - text: I keep getting this
    metadata: {attachment: {image_kind: screenshot, text: "Payment declined. Try another card. Order total $89.00"}}
  - text: my card was declined at checkout
  - text: the payment failed
- intent: login_problem
  examples:
  - text: "[image]"
    metadata: {attachment: {image_kind: screenshot, text: "Account temporarily locked (BW-2002). Too many sign-in attempts."}}
  - text: what does this mean?
    metadata: {attachment: {image_kind: screenshot, text: "Session expired (BW-2001). Please sign in again."}}
  - text: help
    metadata: {attachment: {image_kind: screenshot, text: "Verification code invalid or expired (BW-2003). Resend code"}}
  - text: I keep getting this
    metadata: {attachment: {image_kind: screenshot, text: "Sign in. Your account is locked. Forgot password?"}}
  - text: I can't sign in
  - text: my account is locked
- intent: product_info
  examples:
  - text: "[image]"
    metadata: {attachment: {image_kind: photo, labels: [laptop, notebook, computer keyboard]}}
  - text: what does this mean?
    metadata: {attachment: {image_kind: photo, labels: [television, screen, home theater]}}
  - text: help
    metadata: {attachment: {image_kind: photo, labels: [cellular telephone, iPod, hand-held computer]}}
  - text: I keep getting this
    metadata: {attachment: {image_kind: photo, labels: [loudspeaker, radio, tape player]}}
  - text: how much is the aero 14
  - text: what are the specs of the vista tv
"""


def components(tmp_path, **config):
    (tmp_path / "model").mkdir(exist_ok=True)
    storage = LocalModelStorage(tmp_path / "model")
    resource = Resource("fusion")
    context = ExecutionContext(GraphSchema({}), "fusion")
    full = {**FusionFeaturizer.get_default_config(), **config}
    return storage, resource, context, full


def analyzer():
    return AttachmentAnalyzer(AttachmentAnalyzer.get_default_config())


def training_data():
    data = RasaYAMLReader().reads(TRAINING_YAML)
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process_training_data(data)
    return analyzer().process_training_data(data)


def summary(text="", labels=(), kind="screenshot", analysed=True, category=None):
    return {"id": "att_" + "a" * 32, "kind": "image", "image_kind": kind,
            "labels": [{"label": label, "score": 0.5} for label in labels], "category": category,
            "category_score": 0.5 if category else 0.0, "text": text, "confidence": 0.9,
            "analysed": analysed}


def message(text, *summaries):
    result = Message(data={TEXT: text})
    if summaries:
        result.set("attachments", list(summaries), add_to_output=True)
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([result])
    return result


def inference_messages():
    return [
        message("where is my order BW-723241"),
        message("what does this mean?", summary(DECLINED)),
        message("[image]", summary(LOCKED)),
        message("[image]", summary(labels=["laptop", "notebook", "mouse"], kind="photo", category="laptop")),
    ]


def sentence(processed):
    rows = []
    for item in processed:
        _, features = item.get_dense_features(TEXT)
        rows.append(features.features.reshape(-1))
    return np.vstack(rows)


def embed(perception_url, *texts):
    return PerceptionClient(perception_url).embed(list(texts))


# ---------------------------------------------------------------- life cycle


def test_weights_are_learned_persisted_and_loaded(perception_url, tmp_path, caplog):
    storage, resource, context, config = components(
        tmp_path, url=perception_url, mode="weighted", learn_weights=True, cv_folds=3)
    featurizer = FusionFeaturizer.create(config, storage, resource, context)
    data = training_data()
    with caplog.at_level(logging.INFO, logger="components.fusion_featurizer"):
        featurizer.train(data)
    assert "learned w_t=" in caplog.text
    featurizer.process_training_data(data)
    before = sentence(featurizer.process(inference_messages()))

    with storage.read_from(resource) as folder:
        stored = read_json_file(folder / MODEL_FILE)
    assert stored["learned"] is True and stored["mode"] == "weighted"
    assert stored["model"] == "all-MiniLM-L6-v2" and stored["dim"] == 384
    # the words alone cannot tell these intents apart: the picture must weigh something
    assert 0.0 < stored["w_i"] <= 1.0 and stored["w_t"] == pytest.approx(1.0 - stored["w_i"])
    assert stored["cv_scores"]["0.00"] < stored["cv_accuracy"]
    assert stored["cv_examples"] == 12

    loaded = FusionFeaturizer.load(config, storage, resource, context)
    assert loaded.weights == (stored["w_t"], stored["w_i"])
    after = sentence(loaded.process(inference_messages()))
    assert before.shape == (4, 384) and np.abs(before).sum() > 0
    np.testing.assert_allclose(before, after, atol=1e-6)

    # training examples with a picture got fused features: "[image]" differs per picture
    images = [m for m in data.training_examples if m.get(TEXT) == "[image]"]
    vectors = sentence(images)
    assert len(images) == 3 and np.abs(vectors).sum() > 0
    assert not np.allclose(vectors[0], vectors[1])


def test_weighted_fusion_is_the_formula(perception_url, tmp_path):
    storage, resource, context, config = components(tmp_path, url=perception_url, w_t=0.7, w_i=0.3)
    featurizer = FusionFeaturizer.create(config, storage, resource, context)
    featurizer.train(training_data())
    assert featurizer.model["learned"] is False and featurizer.weights == (0.7, 0.3)
    photo = summary(labels=["laptop", "notebook", "mouse"], kind="photo", category="laptop")
    vectors = sentence(featurizer.process([
        message("where is my order BW-723241"),
        message("what does this mean?", summary(DECLINED)),
        message("[image]", photo),
        message("is this covered?", summary(LOCKED), photo),
    ]))
    pack = featurizer.pack
    order, words, declined, picture, locked, covered = embed(
        perception_url, "where is my order BW-723241", "what does this mean?",
        describe(summary(DECLINED), pack), describe(photo), describe(summary(LOCKED), pack),
        "is this covered?")
    np.testing.assert_allclose(vectors[0], order, atol=1e-5)                        # no image: f_t
    np.testing.assert_allclose(vectors[1], 0.7 * words + 0.3 * declined, atol=1e-5)
    np.testing.assert_allclose(vectors[2], 0.3 * picture, atol=1e-5)                # no words: f_t = 0
    both = (locked + picture) / np.linalg.norm(locked + picture)                   # two pictures: mean
    np.testing.assert_allclose(vectors[3], 0.7 * covered + 0.3 * both, atol=1e-5)
    assert describe(photo) == "photo of laptop, notebook, mouse (laptop)"


def test_concat_mode_layout(perception_url, tmp_path):
    storage, resource, context, config = components(tmp_path, url=perception_url, mode="concat",
                                                    learn_weights=True)
    featurizer = FusionFeaturizer.create(config, storage, resource, context)
    featurizer.train(training_data())
    loaded = FusionFeaturizer.load(config, storage, resource, context)
    vectors = sentence(loaded.process([
        message("hi there"),
        message("what does this mean?", summary(DECLINED)),
        message("[image]", summary(NO_SIGNAL)),
        message("help", summary(DECLINED, analysed=False)),  # perception was down: no picture
    ]))
    hi, words, declined, signal, help_ = embed(perception_url, "hi there", "what does this mean?",
                                               describe(summary(DECLINED), loaded.pack),
                                               describe(summary(NO_SIGNAL), loaded.pack), "help")
    assert vectors.shape == (4, 384 * 2 + 1)
    np.testing.assert_allclose(vectors[0], np.concatenate([hi, np.zeros(384), [0.0]]), atol=1e-5)
    np.testing.assert_allclose(vectors[1], np.concatenate([words, declined, [1.0]]), atol=1e-5)
    np.testing.assert_allclose(vectors[2], np.concatenate([np.zeros(384), signal, [1.0]]), atol=1e-5)
    np.testing.assert_allclose(vectors[3], np.concatenate([help_, np.zeros(384), [0.0]]), atol=1e-5)


def test_service_down_at_inference_gives_zero_vectors_not_a_crash(perception_url, tmp_path):
    storage, resource, context, config = components(tmp_path, url=perception_url, learn_weights=True)
    FusionFeaturizer.create(config, storage, resource, context).train(training_data())
    down = {**config, "url": services.closed_url(), "timeout": 1.0}
    loaded = FusionFeaturizer.load(down, storage, resource, context)
    vectors = sentence(loaded.process(inference_messages()))
    assert vectors.shape == (4, 384) and not vectors.any()


def test_training_without_the_service_fails_loudly(tmp_path):
    storage, resource, context, config = components(tmp_path, url=services.closed_url(), timeout=1.0,
                                                    learn_weights=True)
    featurizer = FusionFeaturizer.create(config, storage, resource, context)
    with pytest.raises(PerceptionServiceRequired, match="perception service"):
        featurizer.train(training_data())
    with pytest.raises(PerceptionServiceRequired, match="perception service"):
        featurizer.process_training_data(training_data())


@pytest.mark.parametrize("change, message", [
    ({"mode": "sum"}, "mode"),
    ({"timeout": 0}, "timeout"),
    ({"w_i": -1}, "w_i"),
    ({"weight_grid": [0.5, 2]}, "weight_grid"),
])
def test_invalid_config_is_rejected(tmp_path, change, message):
    storage, resource, context, config = components(tmp_path, **change)
    with pytest.raises(ValueError, match=message):
        FusionFeaturizer.create(config, storage, resource, context)


def test_descriptions_of_what_pictures_say():
    pack = CompanyPack.load()
    # the pack's words for a code seen on the screen lead; OCR's "BW-RO1" is the router's BW-R01
    assert describe(summary(LOCKED), pack) == (
        "screenshot of error BW-2002 (app and website sign-in): Account temporarily locked (BW-2002). "
        "Too many sign-in attempts. | " + " ".join(LOCKED.split()))
    assert describe(summary("Brightwave Home\nSolid red light (BW-RO1)"), pack).startswith(
        "screenshot of error BW-R01 (Brightwave Mesh Router): Solid red light (BW-R01)")
    assert describe(summary(DECLINED)) == "screenshot: " + " ".join(DECLINED.split())
    assert describe(summary("Invoice INV-2026-004417", kind="document")) == "document: Invoice INV-2026-004417"
    assert describe(summary(labels=["modem", "switch"], kind="photo", category="networking")) == \
        "photo of modem, switch (networking)"
    assert describe(summary(labels=["tabby"], kind="photo")) == "photo of tabby"
