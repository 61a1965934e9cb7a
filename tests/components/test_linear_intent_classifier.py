"""LinearIntentClassifier: trained on the pipeline's real features (the shipped featurizers, the
MiniLM embedding from the real perception service) over part of data/nlu, persisted as JSON and
.npy only, loaded back with identical output; its numpy prediction equals scikit-learn's
CalibratedClassifierCV; held-out confidences are honest."""
import json
import random
from collections import defaultdict

import numpy as np
import pytest
import scipy.sparse

from components.attachment_analyzer import AttachmentAnalyzer, described_attachments
from components.fusion_featurizer import FusionFeaturizer
from components.linear_intent_classifier import ARRAYS, MODEL_FILE, LinearIntentClassifier
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from tests.services import ROOT

TRAIN_PER_INTENT = 24
TEST_PER_INTENT = 8


def context(name):
    return ExecutionContext(GraphSchema({}), node_name=name)


def make(cls, storage, name, **config):
    return cls.create({**cls.get_default_config(), **config}, storage, Resource(name), context(name))


class Pipeline:
    """The shipped featurizers (config.yml's order), trained on `train`, applied to new messages."""

    def __init__(self, storage, perception_url, train):
        self.tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
        self.analyzer = AttachmentAnalyzer(AttachmentAnalyzer.get_default_config())
        self.featurizers = [
            make(RegexFeaturizer, storage, "regex", case_sensitive=False),
            make(CountVectorsFeaturizer, storage, "words"),
            make(CountVectorsFeaturizer, storage, "chars", analyzer="char_wb", min_ngram=1, max_ngram=4),
            make(FusionFeaturizer, storage, "fusion", mode="concat", url=perception_url, timeout=60.0),
        ]
        self.tokenizer.process_training_data(train)
        self.analyzer.process_training_data(train)
        for featurizer in self.featurizers:
            featurizer.train(train)
            featurizer.process_training_data(train)

    def process(self, messages):
        self.tokenizer.process(messages)
        self.analyzer.process(messages)
        for featurizer in self.featurizers:
            featurizer.process(messages)
        return messages


@pytest.fixture(scope="module")
def trained(perception_url, tmp_path_factory):
    """(storage, resource, classifier, pipeline, held-out texts and intents)."""
    data = load_data(str(ROOT / "data" / "nlu"))
    by_intent = defaultdict(list)
    for example in data.intent_examples:
        if not described_attachments(example):
            by_intent[example.get("intent")].append(example)
    rng = random.Random(7)
    train, held_out = [], []
    for intent in sorted(by_intent):
        examples = list(by_intent[intent])
        rng.shuffle(examples)
        train += examples[:TRAIN_PER_INTENT]
        held_out += [(e.get(TEXT), intent) for e in examples[TRAIN_PER_INTENT:TRAIN_PER_INTENT + TEST_PER_INTENT]]
    training_data = TrainingData(training_examples=train, regex_features=data.regex_features)
    folder = tmp_path_factory.mktemp("linear")
    storage = LocalModelStorage(folder)
    pipeline = Pipeline(storage, perception_url, training_data)
    resource = Resource("linear_intent")
    classifier = LinearIntentClassifier.create(LinearIntentClassifier.get_default_config(), storage, resource,
                                               context("linear_intent"))
    classifier.train(training_data)
    return storage, resource, classifier, pipeline, held_out, folder


def parse(classifier, pipeline, texts):
    messages = pipeline.process([Message(data={TEXT: text}) for text in texts])
    classifier.process(messages)
    return [{"intent": m.get("intent"), "intent_ranking": m.get("intent_ranking")} for m in messages]


def test_persisted_as_json_and_npy_and_loaded_with_identical_output(trained):
    storage, resource, classifier, pipeline, held_out, folder = trained
    stored = sorted(p.name for p in (folder / "linear_intent").iterdir())
    assert stored == sorted([MODEL_FILE] + [f"{name}.npy" for name in ARRAYS])
    model = json.loads((folder / "linear_intent" / MODEL_FILE).read_text())
    assert len(model["labels"]) == len({intent for _, intent in held_out}) and model["folds"] == 5
    for name in ARRAYS:  # plain arrays: loading refuses pickled objects
        assert np.load(folder / "linear_intent" / f"{name}.npy", allow_pickle=False).dtype == np.float64
    loaded = LinearIntentClassifier.load(LinearIntentClassifier.get_default_config(), storage, resource,
                                         context("linear_intent"))
    texts = [text for text, _ in held_out[:60]] + ["", "zxqv blorp"]
    before, after = parse(classifier, pipeline, texts), parse(loaded, pipeline, texts)
    assert before == after
    first = before[0]
    assert first["intent"] == first["intent_ranking"][0]
    assert len(first["intent_ranking"]) == 10
    confidences = [r["confidence"] for r in first["intent_ranking"]]
    assert confidences == sorted(confidences, reverse=True)
    assert before[-2]["intent"]["confidence"] < 0.5  # an empty text is answered, unsure


def test_numpy_prediction_equals_scikit_learn(trained):
    _, _, classifier, pipeline, held_out, _ = trained
    messages = pipeline.process([Message(data={TEXT: text}) for text, _ in held_out])
    x = classifier._matrix(messages)
    labels = [intent for _, intent in held_out]
    fresh = LinearIntentClassifier(LinearIntentClassifier.get_default_config(), None, None)
    calibrated, _, _ = fresh.fit_calibrated(x, labels)
    fresh.model, fresh.arrays = {"labels": list(calibrated.classes_)}, fresh.arrays_of(calibrated)
    ours, theirs = fresh.predict_proba(x), calibrated.predict_proba(x)
    assert ours.shape == theirs.shape == (len(held_out), len(set(labels)))
    assert np.max(np.abs(ours - theirs)) < 1e-6
    assert np.allclose(ours.sum(axis=1), 1.0)


def test_two_intents_and_an_intent_with_one_example_match_scikit_learn():
    rng = np.random.default_rng(3)
    x = scipy.sparse.csr_matrix(rng.random((40, 12)) * (rng.random((40, 12)) > 0.6))
    labels = ["a"] * 25 + ["b"] * 15
    classifier = LinearIntentClassifier(LinearIntentClassifier.get_default_config(), None, None)
    calibrated, folds, repeated = classifier.fit_calibrated(x, labels)
    classifier.model, classifier.arrays = {"labels": list(calibrated.classes_)}, classifier.arrays_of(calibrated)
    assert classifier.arrays["coef"].shape == (folds, 1, 12) and repeated == 0
    assert np.max(np.abs(classifier.predict_proba(x) - calibrated.predict_proba(x))) < 1e-6
    calibrated, _, repeated = classifier.fit_calibrated(x, labels[:-1] + ["c"])
    assert repeated == 4  # "c" repeated up to 5 examples, one per fold
    classifier.model, classifier.arrays = {"labels": list(calibrated.classes_)}, classifier.arrays_of(calibrated)
    assert np.max(np.abs(classifier.predict_proba(x) - calibrated.predict_proba(x))) < 1e-6


def test_held_out_confidence_is_honest(trained):
    """On held-out examples the confidence does not overstate: among answers at or above a
    confidence t, at least a share t is right; confident answers are right more often than
    unsure ones; nonsense gets a low confidence."""
    _, _, classifier, pipeline, held_out, _ = trained
    parsed = parse(classifier, pipeline, [text for text, _ in held_out])
    confidence = np.array([p["intent"]["confidence"] for p in parsed])
    right = np.array([p["intent"]["name"] == intent for p, (_, intent) in zip(parsed, held_out)])
    assert right.mean() > 0.75, right.mean()
    for threshold in (0.3, 0.5, 0.7):
        chosen = confidence >= threshold
        if chosen.sum() >= 20:
            assert right[chosen].mean() >= threshold, (threshold, right[chosen].mean())
    order = np.argsort(confidence)
    half = len(order) // 2
    assert right[order[half:]].mean() > right[order[:half]].mean()
    nonsense = parse(classifier, pipeline, ["zxqv blorp fnarg", "purple elephants sing opera"])
    assert max(p["intent"]["confidence"] for p in nonsense) < np.median(confidence)


def test_config_is_checked():
    for bad in ({"model": "tree"}, {"C": 0}, {"folds": 1}, {"dense_weight": -1}):
        with pytest.raises(ValueError):
            LinearIntentClassifier.validate_config({**LinearIntentClassifier.get_default_config(), **bad})
