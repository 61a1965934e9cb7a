"""PerceptionSentenceFeaturizer: create -> train -> persist -> load gives identical features."""
import numpy as np
import pytest

from components.perception_featurizer import PerceptionServiceRequired, PerceptionSentenceFeaturizer
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from tests import services

TEXTS = ["where is my order BW-723241", "my router shows error BW-R01", "hi there"]


def make(config, tmp_path, resource_name="featurizer"):
    storage = LocalModelStorage(tmp_path)
    resource = Resource(resource_name)
    context = ExecutionContext(GraphSchema({}), resource_name)
    full = {**PerceptionSentenceFeaturizer.get_default_config(), **config}
    return storage, resource, context, full


def messages():
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    result = [Message(data={TEXT: text}) for text in TEXTS]
    tokenizer.process(result)
    return result


def sentence_vectors(processed):
    vectors = []
    for message in processed:
        _, sentence = message.get_dense_features(TEXT)
        vectors.append(sentence.features)
    return np.vstack(vectors)


def test_train_persist_load_gives_identical_features(perception_url, tmp_path):
    storage, resource, context, config = make({"url": perception_url}, tmp_path)
    featurizer = PerceptionSentenceFeaturizer.create(config, storage, resource, context)
    training = TrainingData(training_examples=messages())
    featurizer.train(training)
    featurizer.process_training_data(training)
    before = sentence_vectors(featurizer.process(messages()))

    loaded = PerceptionSentenceFeaturizer.load(config, storage, resource, context)
    after = sentence_vectors(loaded.process(messages()))

    assert loaded.embedding_model == {"model": "all-MiniLM-L6-v2", "dim": 384}
    assert before.shape == (3, 384)
    assert np.abs(before).sum() > 0
    np.testing.assert_allclose(before, after, atol=1e-6)
    # training examples got the same features as inference
    np.testing.assert_allclose(sentence_vectors(training.training_examples), before, atol=1e-6)


def test_service_down_at_inference_gives_zero_vectors_not_a_crash(perception_url, tmp_path):
    storage, resource, context, config = make({"url": perception_url}, tmp_path)
    featurizer = PerceptionSentenceFeaturizer.create(config, storage, resource, context)
    featurizer.train(TrainingData(training_examples=messages()))

    down = {**config, "url": services.closed_url(), "timeout": 1.0}
    loaded = PerceptionSentenceFeaturizer.load(down, storage, resource, context)
    vectors = sentence_vectors(loaded.process(messages()))
    assert vectors.shape == (3, 384)
    assert not vectors.any()


def test_training_without_the_service_fails_loudly(tmp_path):
    storage, resource, context, config = make({"url": services.closed_url(), "timeout": 1.0}, tmp_path)
    featurizer = PerceptionSentenceFeaturizer.create(config, storage, resource, context)
    with pytest.raises(PerceptionServiceRequired, match="perception service"):
        featurizer.train(TrainingData(training_examples=messages()))


def test_invalid_timeout_is_rejected(tmp_path):
    storage, resource, context, config = make({"timeout": 0}, tmp_path)
    with pytest.raises(ValueError, match="timeout"):
        PerceptionSentenceFeaturizer.create(config, storage, resource, context)
