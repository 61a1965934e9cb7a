"""Dense sentence features from what the customer says *and* what their pictures show.

f_t is the sentence embedding of the user's words (all-MiniLM-L6-v2, from the perception
service); a turn that is only a picture (text "[image]" or empty) has f_t = 0. f_i is the
embedding, in the same space, of what the images say: for each analysed image a short
description made from the AttachmentAnalyzer's summary (its kind, top labels and catalogue
category, and its OCR text, led by the pack's own words for an error code read on it), embedded
and averaged over the turn's images. So the analyzer must come before this featurizer in the
pipeline.

- mode "weighted" (default): f = w_t * f_t + w_i * f_i for a turn with an analysed image, and
  f = f_t without one (384-d).
- mode "concat": [f_t ; f_i ; image flag] (769-d), f_i = 0 and flag 0 without an image.

w_t and w_i are set in the config, or learned (`learn_weights: true`) while training: every
w_i on a grid (w_t = 1 - w_i) is scored by the cross-validated accuracy of a nearest-centroid
classifier over the training examples that have a picture (the text-only examples always in the
centroids), and the best pair is kept with the model as JSON and logged. In concat mode the
weights are not used.

Like PerceptionSentenceFeaturizer: at inference a perception service that is down gives zero
vectors and a warning (the sparse features still carry the turn); training without it fails.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple, Type

import numpy as np

from components.attachment_analyzer import (
    ATTACHMENTS,
    IMAGE_TOKEN,
    AttachmentAnalyzer,
    files_fingerprint,
    find_error_codes,
    pack_files,
)
from knowledge.pack import CompanyPack
from components.perception_featurizer import PerceptionServiceRequired
from perception.client import PerceptionClient, PerceptionError
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.exceptions import RasaException
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import dump_obj_as_json_to_file, read_json_file

logger = logging.getLogger(__name__)

MODEL_FILE = "fusion.json"
MODES = ("weighted", "concat")
# OCR text embedded per image; all-MiniLM-L6-v2 reads at most 256 word pieces anyway
IMAGE_TEXT_CHARS = 600
# ... and after the pack's own words for an error code seen on it
CODE_TEXT_CHARS = 200


def words_of(message: Message) -> str:
    """The user's words; "" for a turn that is only a picture."""
    text = (message.get(TEXT) or "").strip()
    return "" if text == IMAGE_TOKEN else text


def image_descriptions(message: Message, pack: Optional[CompanyPack] = None) -> List[str]:
    """One sentence per analysed image of the turn, from the AttachmentAnalyzer's summary."""
    descriptions = []
    for summary in message.get(ATTACHMENTS) or []:
        if not isinstance(summary, dict) or not summary.get("analysed"):
            continue
        description = describe(summary, pack)
        if description:
            descriptions.append(description)
    return descriptions


def describe(summary: Dict[str, Any], pack: Optional[CompanyPack] = None) -> str:
    """What an image says, as text: "photo of laptop, notebook (laptop)", or a screenshot's text
    led by what the pack knows of the error codes on it ("screenshot of error BW-2002 (app and
    website sign-in): Account temporarily locked ..."), so that a page's menus and footers do not
    drown the one line that matters."""
    kind = summary.get("image_kind") or "image"
    text = " ".join(str(summary.get("text") or "").split())
    labels = [str(label.get("label")) for label in summary.get("labels") or [] if label.get("label")]
    category = summary.get("category")
    if text and kind != "photo":
        # labels of screenshots and documents are "web site", "menu", "envelope": noise
        codes = find_error_codes(pack, str(summary.get("text") or "")) if pack else []
        if codes:
            known = "; ".join(f"{code.code} ({code.where}): {code.screen_text}" for code in codes[:2])
            return f"{kind} of error {known} | {text[:CODE_TEXT_CHARS]}"
        head = f"{kind} of a {category}: " if category else f"{kind}: "
        return head + text[:IMAGE_TEXT_CHARS]
    described = f"{kind} of " + ", ".join(labels[:3]) if labels else kind
    if category:
        described += f" ({category})"
    return described + (f": {text[:IMAGE_TEXT_CHARS]}" if text else "")


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True
)
class FusionFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds one sentence-level dense feature: the words and the pictures, fused."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer, AttachmentAnalyzer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # None: PERCEPTION_URL or http://127.0.0.1:8700
            "url": None,
            # seconds for one request; at inference, past this the zero vector is used
            "timeout": 5.0,
            # seconds for one batch of training texts: training waits for a busy service
            "train_timeout": 120.0,
            # texts sent per request while training
            "batch_size": 64,
            # "weighted": w_t * f_t + w_i * f_i; "concat": [f_t ; f_i ; image flag]
            "mode": "weighted",
            "w_t": 0.5,
            "w_i": 0.5,
            # weighted mode: fit w_i (w_t = 1 - w_i) on the training data instead
            "learn_weights": False,
            "weight_grid": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
            "cv_folds": 5,
            "random_seed": 42,
            # company pack whose error codes lead the descriptions (None: COMPANY_DIR or brightwave)
            "pack_dir": None,
        }

    @staticmethod
    def required_packages() -> List[Text]:
        return ["requests", "numpy"]

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        """Rasa caches training outputs by class source and config: add the module-level code
        (descriptions, fusion, cross-validation) so that changing it retrains."""
        import components.attachment_analyzer as analyzer

        return files_fingerprint([Path(__file__), Path(analyzer.__file__)]
                                 + pack_files(config.get("pack_dir")))

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        model: Optional[Dict[Text, Any]] = None,
    ) -> None:
        super().__init__(execution_context.node_name, config)
        self._model_storage = model_storage
        self._resource = resource
        self._client = PerceptionClient(config["url"], config["timeout"])
        self._train_client = PerceptionClient(config["url"], config["train_timeout"])
        self.model: Dict[Text, Any] = model or {}
        self.pack = CompanyPack.load(config.get("pack_dir"))

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        for key in ("timeout", "train_timeout"):
            if float(config.get(key) or 0) <= 0:
                raise ValueError(f"FusionFeaturizer: '{key}' must be positive")
        if config.get("mode") not in MODES:
            raise ValueError(f"FusionFeaturizer: 'mode' must be one of {', '.join(MODES)}")
        for key in ("w_t", "w_i"):
            if float(config.get(key, -1)) < 0:
                raise ValueError(f"FusionFeaturizer: '{key}' must be a number >= 0")
        grid = config.get("weight_grid") or []
        if not grid or any(not 0 <= float(w) <= 1 for w in grid):
            raise ValueError("FusionFeaturizer: 'weight_grid' must list values between 0 and 1")

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> FusionFeaturizer:
        cls.validate_config(config)
        return cls(config, model_storage, resource, execution_context)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> FusionFeaturizer:
        with model_storage.read_from(resource) as model_dir:
            model = read_json_file(model_dir / MODEL_FILE)
        return cls(config, model_storage, resource, execution_context, model)

    # ------------------------------------------------------------ what is kept

    @property
    def mode(self) -> str:
        return str(self.model.get("mode") or self._config["mode"])

    @property
    def weights(self) -> Tuple[float, float]:
        if "w_t" in self.model:
            return float(self.model["w_t"]), float(self.model["w_i"])
        return float(self._config["w_t"]), float(self._config["w_i"])

    def _dim(self) -> int:
        return int(self.model.get("dim") or 384)

    # ------------------------------------------------------------ training

    def train(self, training_data: TrainingData) -> Resource:
        """Records the embedding model and the weights (learned from the data when asked)."""
        try:
            health = self._train_client.health()
            probe = self._train_client.embed(["probe"])
        except PerceptionError as error:
            raise PerceptionServiceRequired(
                f"training needs the perception service ({error}); start it with "
                f"'make perception' or point PERCEPTION_URL at it"
            ) from error
        engine = (health.get("engines") or {}).get("embed") or {}
        w_t, w_i = float(self._config["w_t"]), float(self._config["w_i"])
        self.model = {"model": engine.get("model"), "dim": int(probe.shape[1]),
                      "mode": self._config["mode"], "w_t": w_t, "w_i": w_i, "learned": False}
        if self._config["learn_weights"] and self._config["mode"] == "weighted":
            self.model.update(self._learn_weights(training_data))
            logger.info(
                "FusionFeaturizer learned w_t=%.2f w_i=%.2f (cross-validated nearest-centroid "
                "accuracy %.3f on %d training examples with a picture)", self.model["w_t"],
                self.model["w_i"], self.model["cv_accuracy"], self.model["cv_examples"])
        elif self._config["learn_weights"]:
            logger.info("FusionFeaturizer: learn_weights applies to mode 'weighted' only")
        with self._model_storage.write_to(self._resource) as model_dir:
            dump_obj_as_json_to_file(model_dir / MODEL_FILE, self.model)
        return self._resource

    def _learn_weights(self, training_data: TrainingData) -> Dict[str, Any]:
        examples = [m for m in training_data.training_examples
                    if m.get(INTENT) and (words_of(m) or image_descriptions(m, self.pack))]
        f_t, f_i, flags = self._embed_parts(examples, training=True)
        labels = np.array([m.get(INTENT) for m in examples])
        with_image = np.flatnonzero(flags > 0)
        grid = sorted({round(float(w), 4) for w in self._config["weight_grid"]})
        if len(with_image) < 2 or len(set(labels[with_image])) < 2:
            logger.warning("FusionFeaturizer: too few training examples with a picture to learn "
                           "the weights; keeping w_t=%s w_i=%s", self._config["w_t"], self._config["w_i"])
            return {"learned": False, "cv_examples": int(len(with_image)), "cv_accuracy": 0.0,
                    "cv_scores": {}}
        folds = _folds(len(with_image), int(self._config["cv_folds"]), int(self._config["random_seed"]))
        scores: Dict[str, float] = {}
        best_key: Optional[Tuple[float, float]] = None
        w_i = float(self._config["w_i"])
        for candidate in grid:
            features = _fuse_weighted(f_t, f_i, flags, 1.0 - candidate, candidate)
            accuracy, margin = _centroid_cv(features, labels, with_image, folds)
            scores[f"{candidate:.2f}"] = round(accuracy, 4)
            key = (round(accuracy, 6), margin)  # ties in accuracy: the clearer separation
            if best_key is None or key > best_key:
                best_key, w_i = key, candidate
        assert best_key is not None
        return {"w_t": round(1.0 - w_i, 4), "w_i": round(w_i, 4), "learned": True,
                "cv_accuracy": round(best_key[0], 4), "cv_examples": int(len(with_image)),
                "cv_scores": scores}

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        examples = [m for m in training_data.training_examples
                    if m.get(TEXT) or image_descriptions(m, self.pack)]
        if examples:
            self._add(examples, self._features(examples, training=True))
        return training_data

    # ------------------------------------------------------------ inference

    def process(self, messages: List[Message]) -> List[Message]:
        used = [m for m in messages if m.get(TEXT) or image_descriptions(m, self.pack)]
        if used:
            self._add(used, self._features(used, training=False))
        return messages

    # ------------------------------------------------------------ features

    def _features(self, messages: Sequence[Message], training: bool) -> np.ndarray:
        f_t, f_i, flags = self._embed_parts(messages, training)
        if self.mode == "concat":
            return np.hstack([f_t, f_i, flags[:, None]]).astype(np.float32)
        w_t, w_i = self.weights
        return _fuse_weighted(f_t, f_i, flags, w_t, w_i)

    def _embed_parts(self, messages: Sequence[Message],
                     training: bool) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(f_t, f_i, image flag) per message, all texts embedded in batched requests."""
        words = [words_of(m) for m in messages]
        pictures = [image_descriptions(m, self.pack) for m in messages]
        unique = list(dict.fromkeys([w for w in words if w] + [d for ds in pictures for d in ds]))
        vectors = self._embed(unique, training)
        index = {text: row for row, text in enumerate(unique)}
        dim = self._dim()
        f_t = np.zeros((len(messages), dim), dtype=np.float32)
        f_i = np.zeros((len(messages), dim), dtype=np.float32)
        flags = np.zeros(len(messages), dtype=np.float32)
        for row, (text, descriptions) in enumerate(zip(words, pictures)):
            if text:
                f_t[row] = vectors[index[text]]
            if descriptions:
                mean = np.mean([vectors[index[d]] for d in descriptions], axis=0)
                norm = float(np.linalg.norm(mean))
                f_i[row] = mean / norm if norm > 0 else mean
                flags[row] = 1.0
        return f_t, f_i, flags

    def _embed(self, texts: List[str], training: bool) -> np.ndarray:
        dim = self._dim()
        if not texts:
            return np.zeros((0, dim), dtype=np.float32)
        size = int(self._config["batch_size"]) if training else max(len(texts), 1)
        parts = []
        for start in range(0, len(texts), size):
            batch = texts[start: start + size]
            try:
                vectors = (self._train_client if training else self._client).embed(batch)
            except PerceptionError as error:
                if training:
                    raise PerceptionServiceRequired(
                        f"the perception service failed while embedding training data ({error})"
                    ) from error
                logger.warning("sentence embeddings unavailable, using zeros: %s", error)
                return np.zeros((len(texts), dim), dtype=np.float32)
            if self.model and vectors.shape[1] != dim:
                raise RasaException(
                    f"the perception service now serves {vectors.shape[1]}-d embeddings but the "
                    f"model was trained on {dim}-d ones: retrain the assistant"
                )
            parts.append(vectors)
        return np.vstack(parts).astype(np.float32)

    def _add(self, messages: Sequence[Message], vectors: np.ndarray) -> None:
        for message, vector in zip(messages, vectors):
            self.add_features_to_message(
                sequence=None, sentence=vector.reshape(1, -1), attribute=TEXT, message=message
            )


def _fuse_weighted(f_t: np.ndarray, f_i: np.ndarray, flags: np.ndarray, w_t: float,
                   w_i: float) -> np.ndarray:
    """w_t * f_t + w_i * f_i where there is a picture, f_t elsewhere."""
    fused = np.where(flags[:, None] > 0, w_t * f_t + w_i * f_i, f_t)
    return fused.astype(np.float32)


def _folds(count: int, folds: int, seed: int) -> List[np.ndarray]:
    order = np.random.default_rng(seed).permutation(count)
    return [part for part in np.array_split(order, max(2, min(folds, count))) if len(part)]


def _centroid_cv(features: np.ndarray, labels: np.ndarray, with_image: np.ndarray,
                 folds: List[np.ndarray]) -> Tuple[float, float]:
    """Accuracy (and mean margin of the true class) of a cosine nearest-centroid classifier on
    the examples with a picture, each fold held out in turn; the others always train."""
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    unit = features / np.where(norms > 0, norms, 1.0)
    classes = sorted(set(labels))
    onehot = (labels[:, None] == np.array(classes)[None, :]).astype(np.float32)
    correct, margins, total = 0, [], 0
    for fold in folds:
        held = with_image[fold]
        train = np.ones(len(labels), dtype=bool)
        train[held] = False
        sums = onehot[train].T @ unit[train]
        counts = onehot[train].sum(axis=0)[:, None]
        centroids = sums / np.where(counts > 0, counts, 1.0)
        centroids /= np.where(np.linalg.norm(centroids, axis=1, keepdims=True) > 0,
                              np.linalg.norm(centroids, axis=1, keepdims=True), 1.0)
        scores = unit[held] @ centroids.T
        scores[:, counts[:, 0] == 0] = -np.inf
        truth = np.array([classes.index(label) for label in labels[held]])
        predicted = scores.argmax(axis=1)
        correct += int((predicted == truth).sum())
        total += len(held)
        true_scores = scores[np.arange(len(held)), truth]
        others = scores.copy()
        others[np.arange(len(held)), truth] = -np.inf
        margins.extend((true_scores - others.max(axis=1)).tolist())
    finite = [m for m in margins if np.isfinite(m)]
    return correct / max(total, 1), float(np.mean(finite)) if finite else 0.0
