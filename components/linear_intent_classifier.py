"""Intent classification by a linear model with cross-validated, calibrated probabilities.

Features: the sentence-level features the pipeline already put on each message, one block per
featurizer, in a fixed order:
- every sparse block (CountVectorsFeaturizer words and char_wb n-grams, RegexFeaturizer):
  sublinear tf (1 + log count), times the block's idf from the training data, l2-normalised;
- every dense block (FusionFeaturizer: [f_t ; f_i ; picture flag]) times `dense_weight`.

Model: a linear SVM (or logistic regression) in scikit-learn's CalibratedClassifierCV with
`method="sigmoid"`: `folds` copies of the model, each fitted on all folds but one, whose
one-vs-rest scores get a sigmoid per class fitted on the held-out fold; the probability of a
class is the mean over the copies of the per-copy normalised sigmoids. So a confidence of 0.6
means about 60% right, and the FallbackClassifier threshold means what it says.

Persisted through the model storage as JSON (labels, blocks, settings) and .npy arrays saved
with allow_pickle=False (idf, coefficients, intercepts, sigmoid a and b per class and fold);
prediction is computed from those arrays with numpy (no scikit-learn object is kept).
"""
from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Text, Tuple, Type

import numpy as np
import scipy.sparse

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers import LABEL_RANKING_LENGTH
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.exceptions import RasaException
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.shared.utils.io import dump_obj_as_json_to_file, read_json_file

logger = logging.getLogger(__name__)

MODEL_FILE = "linear_intent.json"
ARRAYS = ("idf", "coef", "intercept", "sigmoid_a", "sigmoid_b")
MODELS = ("svm", "logistic")


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True
)
class LinearIntentClassifier(IntentClassifier, GraphComponent):
    """Calibrated linear intent classifier over the pipeline's sentence features."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Featurizer]

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn", "scipy", "numpy"]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            # "svm": LinearSVC; "logistic": LogisticRegression (one-vs-rest scores either way)
            "model": "svm",
            # inverse regularisation strength
            "C": 1.0,
            # weight of the dense sentence embedding beside the l2-normalised sparse blocks
            "dense_weight": 3.0,
            # folds of the probability calibration (sigmoid per class and fold)
            "folds": 5,
            "max_iter": 5000,
            "random_seed": 42,
            # also learn every example without its dense features (perception service down)
            "sparse_only_copies": True,
            # intents in intent_ranking (0: all)
            "ranking_length": LABEL_RANKING_LENGTH,
        }

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        if config.get("model") not in MODELS:
            raise ValueError(f"LinearIntentClassifier: 'model' must be one of {', '.join(MODELS)}")
        if float(config.get("C") or 0) <= 0:
            raise ValueError("LinearIntentClassifier: 'C' must be positive")
        if float(config.get("dense_weight", -1)) < 0:
            raise ValueError("LinearIntentClassifier: 'dense_weight' must be >= 0")
        if int(config.get("folds") or 0) < 2:
            raise ValueError("LinearIntentClassifier: 'folds' must be at least 2")

    @classmethod
    def fingerprint_addon(cls, config: Dict[Text, Any]) -> Optional[Text]:
        """Rasa caches a trained component by class name and config: add this file's code."""
        from components.attachment_analyzer import files_fingerprint

        return files_fingerprint([Path(__file__)])

    def __init__(
        self,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[Dict[Text, Any]] = None,
        arrays: Optional[Dict[Text, np.ndarray]] = None,
    ) -> None:
        self.component_config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.model: Dict[Text, Any] = model or {}
        self.arrays: Dict[Text, np.ndarray] = arrays or {}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        cls.validate_config({**cls.get_default_config(), **config})
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        try:
            with model_storage.read_from(resource) as model_dir:
                model = read_json_file(model_dir / MODEL_FILE)
                arrays = {name: np.load(model_dir / f"{name}.npy", allow_pickle=False) for name in ARRAYS}
        except ValueError:
            logger.debug("LinearIntentClassifier: no trained model in '%s'", resource.name)
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, model, arrays)

    # ------------------------------------------------------------ features

    @staticmethod
    def _blocks(message: Message) -> Tuple[List[str], List[str]]:
        """Names of the featurizers that put sentence features on the message's text."""
        sparse, dense = [], []
        for features in message.features:
            if features.attribute != TEXT or features.type != FEATURE_TYPE_SENTENCE:
                continue
            names = features.origin if isinstance(features.origin, list) else [features.origin]
            (sparse if features.is_sparse() else dense).extend(str(n) for n in names)
        return sparse, dense

    def _raw_blocks(self, messages: List[Message]) -> List[scipy.sparse.csr_matrix]:
        """One matrix per stored block (rows: messages); a message without it gets zeros."""
        blocks = []
        for name, size, sparse in zip(self.model["blocks"], self.model["block_sizes"], self.model["block_sparse"]):
            rows = []
            for message in messages:
                if sparse:
                    _, sentence = message.get_sparse_features(TEXT, [name])
                else:
                    _, sentence = message.get_dense_features(TEXT, [name])
                if sentence is None:
                    rows.append(scipy.sparse.csr_matrix((1, size)))
                    continue
                matrix = scipy.sparse.csr_matrix(sentence.features, dtype=np.float64)
                if matrix.shape != (1, size):
                    raise RasaException(
                        f"LinearIntentClassifier: the features of '{name}' have shape {matrix.shape}, "
                        f"trained on (1, {size}): retrain the assistant")
                rows.append(matrix)
            blocks.append(scipy.sparse.vstack(rows, format="csr") if rows
                          else scipy.sparse.csr_matrix((0, size)))
        return blocks

    def _matrix(self, messages: List[Message]) -> scipy.sparse.csr_matrix:
        """The classifier's input: sparse blocks as l2-normalised sublinear tf-idf, dense blocks
        times dense_weight, side by side."""
        idf = self.arrays["idf"]
        parts, start = [], 0
        for block, sparse, size in zip(self._raw_blocks(messages), self.model["block_sparse"],
                                       self.model["block_sizes"]):
            if sparse:
                block = block.copy()
                block.data = np.where(block.data > 0, 1.0 + np.log(np.maximum(block.data, 1e-12)), 0.0)
                block = block.multiply(idf[start:start + size][None, :]).tocsr()
                norms = np.sqrt(np.asarray(block.multiply(block).sum(axis=1)).ravel())
                block = scipy.sparse.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ block
            else:
                block = block * float(self.model["dense_weight"])
            parts.append(block)
            start += size
        return scipy.sparse.hstack(parts, format="csr")

    # ------------------------------------------------------------ training

    def train(self, training_data: TrainingData) -> Resource:
        examples = [m for m in training_data.intent_examples if m.get(INTENT)]
        labels = [m.get(INTENT) for m in examples]
        if len(set(labels)) < 2:
            logger.warning("LinearIntentClassifier: fewer than two intents to learn; not trained")
            return self._resource
        sparse_names, dense_names = self._blocks(examples[0])
        for message in examples[1:]:
            more_sparse, more_dense = self._blocks(message)
            sparse_names += [n for n in more_sparse if n not in sparse_names]
            dense_names += [n for n in more_dense if n not in dense_names]
        blocks = sorted(sparse_names) + sorted(dense_names)
        if not blocks:
            raise RasaException("LinearIntentClassifier: the pipeline puts no sentence features on the text")
        if len(set(blocks)) != len(blocks) or "None" in blocks:
            raise RasaException(f"LinearIntentClassifier: featurizers without distinct names: {blocks}")
        sizes = [self._block_size(examples, name, name in sparse_names) for name in blocks]
        self.model = {"blocks": blocks, "block_sizes": sizes,
                      "block_sparse": [name in sparse_names for name in blocks],
                      "dense_weight": float(self.component_config["dense_weight"])}
        # idf per sparse column from the training examples (1 for dense columns)
        raw = self._raw_blocks(examples)
        idf_parts = []
        for block, sparse in zip(raw, self.model["block_sparse"]):
            if sparse:
                document_frequency = np.bincount(block.tocsc().indices, minlength=block.shape[1])
                idf_parts.append(np.log((1.0 + len(examples)) / (1.0 + document_frequency)) + 1.0)
            else:
                idf_parts.append(np.ones(block.shape[1]))
        self.arrays = {"idf": np.concatenate(idf_parts).astype(np.float64)}
        x = self._matrix(examples)

        dense = np.concatenate([np.full(size, not sparse) for size, sparse in
                                zip(self.model["block_sizes"], self.model["block_sparse"])])
        without_dense = dense if self.component_config["sparse_only_copies"] and dense.any() else None
        calibrated, folds, repeated = self.fit_calibrated(x, labels, without_dense)
        self.model.update(labels=[str(c) for c in calibrated.classes_], folds=folds,
                          repeated_examples=repeated, estimator=self.component_config["model"],
                          C=float(self.component_config["C"]), examples=len(examples))
        self.arrays.update(self.arrays_of(calibrated))
        self.persist()
        logger.info("LinearIntentClassifier: %d intents, %d examples, %d features, %d calibration folds",
                    len(self.model["labels"]), len(examples), x.shape[1], folds)
        return self._resource

    @staticmethod
    def _block_size(examples: List[Message], name: str, sparse: bool) -> int:
        for message in examples:
            get = message.get_sparse_features if sparse else message.get_dense_features
            _, sentence = get(TEXT, [name])
            if sentence is not None:
                return int(sentence.features.shape[-1])
        return 0

    def fit_calibrated(self, x: scipy.sparse.csr_matrix, labels: List[str],
                       without_dense: Optional[np.ndarray] = None) -> Tuple[Any, int, int]:
        """scikit-learn's CalibratedClassifierCV (sigmoid, stratified folds). An intent with fewer
        examples than folds has its examples repeated up to the fold count (then those few are
        calibrated partly on examples they were trained on). With `without_dense` (a mask of the
        dense columns) every example is also learned with those columns zeroed, in the same fold
        as the original: the model then still classifies from the words alone when the perception
        service is down or late (the featurizer gives a zero vector)."""
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold
        from sklearn.svm import LinearSVC

        config = self.component_config
        folds = int(config["folds"])
        counts = Counter(labels)
        extra = []
        for label, n in sorted(counts.items()):
            if n < folds:
                rows = [j for j, l in enumerate(labels) if l == label]
                extra += (rows * folds)[: folds - n]
        if extra:
            x = scipy.sparse.vstack([x, x[extra]], format="csr")
            labels = labels + [labels[j] for j in extra]
        if config["model"] == "svm":
            base = LinearSVC(C=float(config["C"]), max_iter=int(config["max_iter"]),
                             random_state=int(config["random_seed"]))
        else:
            base = LogisticRegression(C=float(config["C"]), max_iter=int(config["max_iter"]),
                                      multi_class="ovr", solver="liblinear",
                                      random_state=int(config["random_seed"]))
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=int(config["random_seed"]))
        splits: Any = list(splitter.split(np.zeros(len(labels)), labels))
        if without_dense is not None:
            n = len(labels)
            x = scipy.sparse.vstack([x, x @ scipy.sparse.diags((~without_dense).astype(np.float64))], format="csr")
            labels = labels + labels
            splits = [(np.concatenate([train, train + n]), np.concatenate([test, test + n])) for train, test in splits]
        calibrated = CalibratedClassifierCV(base_estimator=base, method="sigmoid", cv=splits, ensemble=True)
        calibrated.fit(x, np.array(labels))
        return calibrated, folds, len(extra)

    @staticmethod
    def arrays_of(calibrated: Any) -> Dict[str, np.ndarray]:
        """Coefficients (folds x scores x features), intercepts and sigmoid a, b (folds x scores)
        of a fitted CalibratedClassifierCV whose every fold saw every class."""
        classes = list(calibrated.classes_)
        coef, intercept, a, b = [], [], [], []
        for fold in calibrated.calibrated_classifiers_:
            estimator = fold.base_estimator
            if list(estimator.classes_) != classes:
                raise RasaException("LinearIntentClassifier: a calibration fold lacked an intent")
            coef.append(np.asarray(estimator.coef_, dtype=np.float64))
            intercept.append(np.asarray(estimator.intercept_, dtype=np.float64).ravel())
            a.append([float(c.a_) for c in fold.calibrators])
            b.append([float(c.b_) for c in fold.calibrators])
        return {"coef": np.stack(coef), "intercept": np.stack(intercept),
                "sigmoid_a": np.array(a, dtype=np.float64), "sigmoid_b": np.array(b, dtype=np.float64)}

    def persist(self) -> None:
        with self._model_storage.write_to(self._resource) as model_dir:
            dump_obj_as_json_to_file(model_dir / MODEL_FILE, self.model)
            for name in ARRAYS:
                np.save(model_dir / f"{name}.npy", np.ascontiguousarray(self.arrays[name]), allow_pickle=False)

    # ------------------------------------------------------------ inference

    def predict_proba(self, x: scipy.sparse.csr_matrix) -> np.ndarray:
        """Calibrated probabilities (messages x intents) from the stored arrays: per fold the
        linear scores, a sigmoid per class 1 / (1 + exp(a * score + b)), normalised (two intents:
        p and 1 - p), then the mean over the folds."""
        coef, intercept = self.arrays["coef"], self.arrays["intercept"]
        sigmoid_a, sigmoid_b = self.arrays["sigmoid_a"], self.arrays["sigmoid_b"]
        classes = len(self.model["labels"])
        total = np.zeros((x.shape[0], classes))
        for fold in range(coef.shape[0]):
            scores = np.asarray(x @ coef[fold].T) + intercept[fold]
            p = 1.0 / (1.0 + np.exp(sigmoid_a[fold] * scores + sigmoid_b[fold]))
            if classes == 2:
                proba = np.hstack([1.0 - p, p])
            else:
                sums = p.sum(axis=1, keepdims=True)
                proba = np.divide(p, sums, out=np.full_like(p, 1.0 / classes), where=sums != 0)
            total += proba
        return total / coef.shape[0]

    def process(self, messages: List[Message]) -> List[Message]:
        if not self.model.get("labels"):
            return messages
        used = [m for m in messages if any(self._blocks(m))]
        used_ids = {id(m) for m in used}
        for message in messages:
            if id(message) not in used_ids:
                message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [], add_to_output=True)
        if not used:
            return messages
        probabilities = self.predict_proba(self._matrix(used))
        labels = self.model["labels"]
        length = int(self.component_config["ranking_length"])
        for message, row in zip(used, probabilities):
            order = np.argsort(-row, kind="stable")
            ranking = [{"name": labels[i], "confidence": float(row[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking[:length] if length > 0 else ranking, add_to_output=True)
        return messages
