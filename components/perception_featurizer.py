"""Dense sentence features from the perception service's sentence-embedding engine.

Training asks the service which model it serves and stores that (name, dimension) with the
trained Rasa model, so that a running assistant notices when the service changed its model.
At inference a service that is down or slow does not break the conversation: the message gets
an all-zero vector of the trained dimension (the sparse features still carry it) and a warning
is logged (never the user's text). Training without the service fails loudly instead, because a
model trained on zero vectors would be silently worse.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text, Type

import numpy as np

from perception.client import PerceptionClient, PerceptionError, PerceptionUnavailable
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import RasaException
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import dump_obj_as_json_to_file, read_json_file

logger = logging.getLogger(__name__)

MODEL_FILE = "embedding_model.json"


class PerceptionServiceRequired(RasaException):
    """Training needs the perception service to embed the training examples."""


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True
)
class PerceptionSentenceFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds a sentence-level dense feature: the user's words embedded by the service."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # None: PERCEPTION_URL or http://127.0.0.1:8700
            "url": None,
            # seconds for one request; at inference, past this the zero vector is used
            "timeout": 5.0,
            # texts sent per request while training
            "batch_size": 64,
        }

    @staticmethod
    def required_packages() -> List[Text]:
        return ["requests", "numpy"]

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        embedding_model: Optional[Dict[Text, Any]] = None,
    ) -> None:
        super().__init__(execution_context.node_name, config)
        self._model_storage = model_storage
        self._resource = resource
        self._client = PerceptionClient(config["url"], config["timeout"])
        self.embedding_model = embedding_model or {}

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if float(config.get("timeout") or 0) <= 0:
            raise ValueError("PerceptionSentenceFeaturizer: 'timeout' must be positive")

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> PerceptionSentenceFeaturizer:
        return cls(config, model_storage, resource, execution_context)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> PerceptionSentenceFeaturizer:
        with model_storage.read_from(resource) as model_dir:
            embedding_model = read_json_file(model_dir / MODEL_FILE)
        return cls(config, model_storage, resource, execution_context, embedding_model)

    def train(self, training_data: TrainingData) -> Resource:
        """Records which embedding model the service serves; the features are not learned."""
        try:
            health = self._client.health()
            probe = self._client.embed(["probe"])
        except PerceptionError as error:
            raise PerceptionServiceRequired(
                f"training needs the perception service ({error}); start it with "
                f"'make perception' or point PERCEPTION_URL at it"
            ) from error
        engine = (health.get("engines") or {}).get("embed") or {}
        self.embedding_model = {"model": engine.get("model"), "dim": int(probe.shape[1])}
        with self._model_storage.write_to(self._resource) as model_dir:
            dump_obj_as_json_to_file(model_dir / MODEL_FILE, self.embedding_model)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        messages = [m for m in training_data.training_examples if m.get(TEXT)]
        size = int(self._config["batch_size"])
        for start in range(0, len(messages), size):
            batch = messages[start : start + size]
            try:
                vectors = self._client.embed([m.get(TEXT) for m in batch])
            except PerceptionError as error:
                raise PerceptionServiceRequired(
                    f"the perception service failed while embedding training data ({error})"
                ) from error
            self._add(batch, vectors)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        texts = [m for m in messages if m.get(TEXT)]
        if not texts:
            return messages
        try:
            vectors = self._client.embed([m.get(TEXT) for m in texts])
        except (PerceptionUnavailable, PerceptionError) as error:
            logger.warning("sentence embeddings unavailable, using zeros: %s", error)
            vectors = np.zeros((len(texts), self._dim()), dtype=np.float32)
        self._add(texts, vectors)
        return messages

    def _dim(self) -> int:
        return int(self.embedding_model.get("dim") or 384)

    def _add(self, messages: List[Message], vectors: np.ndarray) -> None:
        if vectors.shape[1] != self._dim() and self.embedding_model:
            raise RasaException(
                f"the perception service now serves {vectors.shape[1]}-d embeddings but the "
                f"model was trained on {self._dim()}-d ones: retrain the assistant"
            )
        for message, vector in zip(messages, vectors):
            self.add_features_to_message(
                sequence=None, sentence=vector.reshape(1, -1), attribute=TEXT, message=message
            )
