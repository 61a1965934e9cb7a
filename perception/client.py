"""HTTP client for the perception service, used from the dialogue side (Python 3.10).

Only the standard library, numpy and requests: it runs inside Rasa's environment, the action
server and the knowledge library. Every call has a timeout; failures become exceptions the
caller can turn into a clear answer instead of a crash.
"""
import os
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import requests

DEFAULT_URL = "http://127.0.0.1:8700"
# all-MiniLM-L6-v2 reads at most 256 word pieces; longer texts only cost transfer time.
MAX_CHARS_SENT = 2000


class PerceptionError(RuntimeError):
    """The perception service answered, but refused the request (4xx)."""


class PerceptionUnavailable(PerceptionError):
    """The perception service is down, too slow, overloaded or failing (5xx, 429)."""


class PerceptionClient:
    def __init__(self, base_url: Optional[str] = None, timeout: Optional[float] = None) -> None:
        self.base_url = (base_url or os.environ.get("PERCEPTION_URL") or DEFAULT_URL).rstrip("/")
        self.timeout = float(timeout or os.environ.get("PERCEPTION_TIMEOUT") or 5.0)
        self._session = requests.Session()

    def _request(self, method: str, path: str, **kwargs: Any) -> Dict[str, Any]:
        url = f"{self.base_url}{path}"
        try:
            response = self._session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            raise PerceptionUnavailable(
                f"perception service at {self.base_url} unreachable: {type(error).__name__}"
            ) from error
        if response.status_code == 429 or response.status_code >= 500:
            raise PerceptionUnavailable(
                f"perception service answered {response.status_code} for {path}"
            )
        try:
            body = response.json()
        except ValueError as error:
            raise PerceptionUnavailable(f"perception service sent no JSON for {path}") from error
        if response.status_code >= 400:
            message = (body.get("error") or {}).get("message", "") if isinstance(body, dict) else ""
            raise PerceptionError(f"perception service refused {path}: {message}")
        return body

    def health(self) -> Dict[str, Any]:
        return self._request("GET", "/health")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Sentence embeddings, one L2-normalised row per text."""
        texts = [str(text)[:MAX_CHARS_SENT] for text in texts]
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        body = self._request("POST", "/v1/embed", json={"texts": texts})
        vectors: List[List[float]] = body["embeddings"]
        return np.asarray(vectors, dtype=np.float32)
