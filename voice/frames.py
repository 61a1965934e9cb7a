"""The wire format of the voice stream: checked PCM16 frames, JSON control messages, WAV.

Standard library and numpy (runs in Rasa's Python 3.10 environment); control messages are parsed
with channels/bounds.py (depth checked before parsing, valid Unicode, metadata at most 8 KiB).
"""
import io
import math
import wave
from dataclasses import dataclass
from typing import Any, Dict, Tuple

import numpy as np

SAMPLE_RATE = 16000
SAMPLE_BYTES = 2
BYTES_PER_SECOND = SAMPLE_RATE * SAMPLE_BYTES

# WebSocket close codes (RFC 6455, section 7.4.1)
CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED = 1003      # a kind of data we do not take (encoding, sample rate, message type)
CLOSE_INVALID = 1007          # data that is not what it claims (odd PCM bytes, broken JSON)
CLOSE_POLICY = 1008           # out of order (audio before "start")
CLOSE_TOO_BIG = 1009          # a frame over the size limit


class FrameError(Exception):
    """A malformed client message: told to the client as an error event, then the socket closes."""

    def __init__(self, code: str, message: str, close_code: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.close_code = close_code


@dataclass
class Start:
    sender: str
    metadata: Dict[str, Any]


def pcm_frame(data: bytes, max_bytes: int) -> np.ndarray:
    """A binary message as int16 samples: PCM16LE, 16 kHz, mono, at most `max_bytes`."""
    if not data:
        raise FrameError("empty_frame", "an audio frame must hold at least one sample", CLOSE_INVALID)
    if len(data) > max_bytes:
        raise FrameError("frame_too_large", f"an audio frame may hold at most {max_bytes} bytes "
                         f"({max_bytes * 1000 // BYTES_PER_SECOND} ms)", CLOSE_TOO_BIG)
    if len(data) % SAMPLE_BYTES:
        raise FrameError("malformed_frame", "PCM16 frames hold an even number of bytes", CLOSE_INVALID)
    return np.frombuffer(data, dtype="<i2")


def control(text: str, max_chars: int) -> Dict[str, Any]:
    """A text message as a JSON object with a string "type": nested at most bounds.MAX_DEPTH
    levels (checked before it is parsed) and every string valid Unicode (channels/bounds.py)."""
    from channels import bounds
    from channels.multimodal import RequestRefused

    if len(text) > max_chars:
        raise FrameError("message_too_large", f"control messages hold at most {max_chars} characters",
                         CLOSE_TOO_BIG)
    try:
        message = bounds.loads_bounded(text)
        bounds.check_value(message)
    except RequestRefused as refusal:  # too_deeply_nested, invalid_text
        raise FrameError(refusal.code, refusal.message, CLOSE_INVALID)
    except ValueError:
        raise FrameError("invalid_json", "text messages must be JSON objects", CLOSE_INVALID)
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise FrameError("invalid_json", 'text messages must be JSON objects with a "type"', CLOSE_INVALID)
    return message


def start_message(message: Dict[str, Any], max_sender_chars: int, default_sender: str) -> Start:
    """The "start" control message: sender, sample rate, encoding, metadata checked."""
    rate = message.get("sample_rate", SAMPLE_RATE)
    if rate != SAMPLE_RATE or isinstance(rate, bool):
        raise FrameError("unsupported_sample_rate", f"send {SAMPLE_RATE} Hz audio", CLOSE_UNSUPPORTED)
    encoding = message.get("encoding", "pcm_s16le")
    if encoding != "pcm_s16le":
        raise FrameError("unsupported_encoding", "send PCM16LE mono frames (encoding pcm_s16le)",
                         CLOSE_UNSUPPORTED)
    sender = message.get("sender")
    if sender is None:
        sender = default_sender
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)
    if not isinstance(sender, str) or not sender.strip() or len(sender.strip()) > max_sender_chars:
        raise FrameError("invalid_sender", f"'sender' must be a non-empty string of at most "
                         f"{max_sender_chars} characters", CLOSE_INVALID)
    metadata = message.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise FrameError("invalid_metadata", "'metadata' must be a JSON object", CLOSE_INVALID)
    from channels import bounds
    from channels.multimodal import RequestRefused

    try:
        bounds.check_metadata(metadata)
    except RequestRefused as refusal:  # metadata_too_large
        raise FrameError(refusal.code, refusal.message, CLOSE_TOO_BIG)
    return Start(sender.strip(), metadata or {})


def rms_dbfs(samples: np.ndarray) -> float:
    """Loudness of int16 samples in dB below full scale (-inf for digital silence)."""
    if samples.size == 0:
        return -math.inf
    rms = math.sqrt(float(np.mean(np.square(samples.astype(np.float64)))))
    return 20 * math.log10(rms / 32768.0) if rms > 0 else -math.inf


def wav_from_pcm(pcm: bytes, rate: int = SAMPLE_RATE) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(SAMPLE_BYTES)
        out.setframerate(rate)
        out.writeframes(pcm)
    return buffer.getvalue()


def pcm_from_wav(data: bytes) -> Tuple[bytes, int]:
    """(PCM16LE mono bytes, sample rate) of a WAV the perception service synthesized."""
    with wave.open(io.BytesIO(data)) as handle:
        if handle.getnchannels() != 1 or handle.getsampwidth() != SAMPLE_BYTES:
            raise ValueError("expected a 16-bit mono WAV")
        return handle.readframes(handle.getnframes()), handle.getframerate()
