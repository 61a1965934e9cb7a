"""HTTP client for the perception service, used from the dialogue side (Python 3.10).

Only the standard library, numpy and requests: it runs inside Rasa's environment, the action
server and the knowledge library. Every call has a timeout; failures become exceptions the
caller can turn into a clear answer instead of a crash.
"""
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import requests

DEFAULT_URL = "http://127.0.0.1:8700"
# all-MiniLM-L6-v2 reads at most 256 word pieces; longer texts only cost transfer time.
MAX_CHARS_SENT = 2000


class PerceptionError(RuntimeError):
    """The perception service answered, but refused the request (4xx): `status` and `code`
    (for example 413 "audio_too_long", 415 "unsupported_format") say why."""

    def __init__(self, message: str, status: Optional[int] = None, code: Optional[str] = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class PerceptionUnavailable(PerceptionError):
    """The perception service is down, too slow, overloaded or failing (5xx, 429)."""


def error_detail(response: requests.Response) -> Tuple[str, str]:
    """(code, message) of a JSON error body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code", "")), str(error.get("message", ""))
    return "", f"HTTP {response.status_code}"


class PerceptionClient:
    def __init__(self, base_url: Optional[str] = None, timeout: Optional[float] = None,
                 media_timeout: Optional[float] = None) -> None:
        self.base_url = (base_url or os.environ.get("PERCEPTION_URL") or DEFAULT_URL).rstrip("/")
        self.timeout = float(timeout or os.environ.get("PERCEPTION_TIMEOUT") or 5.0)
        # speech and images take longer than embeddings (a minute of audio on 2 cores: ~15 s)
        self.media_timeout = float(media_timeout or os.environ.get("PERCEPTION_MEDIA_TIMEOUT") or 60.0)
        self._session = requests.Session()

    def _send(self, method: str, path: str, timeout: float, **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}{path}"
        try:
            response = self._session.request(method, url, timeout=timeout, **kwargs)
        except requests.RequestException as error:
            raise PerceptionUnavailable(
                f"perception service at {self.base_url} unreachable: {type(error).__name__}"
            ) from error
        if response.status_code == 429 or response.status_code >= 500:
            raise PerceptionUnavailable(
                f"perception service answered {response.status_code} for {path}",
                status=response.status_code, code=error_detail(response)[0],
            )
        if response.status_code >= 400:
            code, message = error_detail(response)
            raise PerceptionError(f"perception service refused {path}: {message}",
                                  status=response.status_code, code=code)
        return response

    def _request(self, method: str, path: str, timeout: Optional[float] = None, **kwargs: Any) -> Dict[str, Any]:
        response = self._send(method, path, timeout or self.timeout, **kwargs)
        try:
            body = response.json()
        except ValueError as error:
            raise PerceptionUnavailable(f"perception service sent no JSON for {path}") from error
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

    def transcribe(self, audio: bytes, language: Optional[str] = None) -> Dict[str, Any]:
        """Speech to text: {text, language, duration, segments, no_speech_prob, ...}."""
        data = {"language": language} if language else None
        return self._request("POST", "/v1/transcribe", timeout=self.media_timeout,
                             files={"file": ("audio", audio)}, data=data)

    def vad(self, audio: bytes, raw_pcm: bool = True, timeout: Optional[float] = None) -> Dict[str, Any]:
        """Speech probabilities per 32 ms window: {probabilities, segments, speech, window_ms, ...}.

        `raw_pcm`: the bytes are PCM16LE mono 16 kHz (sent as audio/L16, no decoding on the
        service: what a stream sends every ~100 ms); otherwise an audio file, sent multipart."""
        if raw_pcm:
            return self._request("POST", "/v1/vad", timeout=timeout or self.timeout, data=audio,
                                 headers={"Content-Type": "audio/L16; rate=16000; channels=1"})
        return self._request("POST", "/v1/vad", timeout=timeout or self.media_timeout,
                             files={"file": ("audio", audio)})

    def synthesize(self, text: str, voice: Optional[str] = None, speed: float = 1.0,
                   audio_format: str = "wav") -> bytes:
        """Text to speech: the encoded audio (wav, or ogg with Opus)."""
        body = {"text": text, "voice": voice, "speed": speed, "format": audio_format}
        return self._send("POST", "/v1/synthesize", self.media_timeout, json=body).content

    def ocr(self, image: bytes) -> Dict[str, Any]:
        """Text in an image: {text, lines: [{text, box, confidence}], confidence, ...}."""
        return self._request("POST", "/v1/ocr", timeout=self.media_timeout, files={"file": ("image", image)})

    def analyze_image(self, image: bytes, top_k: int = 5) -> Dict[str, Any]:
        """Labels, embedding, kind (screenshot/document/photo) and OCR text when text-heavy."""
        return self._request("POST", "/v1/image/analyze", timeout=self.media_timeout,
                             files={"file": ("image", image)}, data={"top_k": str(top_k)})
