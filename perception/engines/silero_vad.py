"""Voice activity detection with Silero VAD v6, the ONNX model bundled with faster-whisper.

The engine answers, for 16 kHz mono audio, one speech probability per 32 ms window (512
samples) and the speech segments those probabilities give (a window at or above `threshold`
starts speech; speech ends after `min_silence_ms` below `threshold - 0.15`, Silero's own
hysteresis; segments shorter than `min_speech_ms` are dropped, and `speech` says whether any
segment is left). The model keeps a state from window to window inside one call only, so a caller
that streams (the voice channel) sends each new hop of audio with about a second of the audio
before it: the probabilities of the new windows are then within a few hundredths of what one
call over the whole stream gives.

The ONNX file is checked by sha256 at start-up; the onnxruntime session is the one
faster-whisper's transcription filter uses (one session, thread-safe, one thread per call).
"""
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

from perception.engines.base import Engine, package_dir, verify_sha256

PIP_NAME = "faster-whisper==1.2.1"
MODEL_FILE = "silero_vad_v6.onnx"
MODEL_SHA256 = "4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2"
SAMPLE_RATE = 16000
WINDOW = 512  # samples: 32 ms, the window Silero VAD v6 is trained on at 16 kHz


def segments_of(probabilities: List[float], threshold: float, min_silence_windows: int,
                min_speech_windows: int) -> List[Dict[str, float]]:
    """Speech segments (seconds) from per-window probabilities, with Silero's hysteresis; a
    segment shorter than `min_speech_windows` is dropped (loud noise has stray speech windows)."""
    negative = max(threshold - 0.15, 0.01)
    found: List[Tuple[int, int]] = []
    start = None
    last_speech = -1
    for index, probability in enumerate(probabilities):
        if probability >= threshold:
            if start is None:
                start = index
            last_speech = index
        elif start is not None and probability < negative and index - last_speech >= min_silence_windows:
            found.append((start, last_speech + 1))
            start = None
    if start is not None:
        found.append((start, last_speech + 1))
    seconds = WINDOW / SAMPLE_RATE
    return [{"start": round(begin * seconds, 3), "end": round(end * seconds, 3)}
            for begin, end in found if end - begin >= min_speech_windows]


class SileroVAD(Engine):
    task = "vad"
    name = "silero"
    model_name = "silero-vad-v6"

    def load(self) -> None:
        folder: Path = package_dir("faster_whisper", PIP_NAME) / "assets"
        verify_sha256(folder / MODEL_FILE, str(self.options.get("sha256", MODEL_SHA256)), PIP_NAME)
        from faster_whisper.vad import get_vad_model

        self.model = get_vad_model()
        self.threshold = float(self.options.get("threshold", 0.5))
        self.min_silence_windows = max(1, round(float(self.options.get("min_silence_ms", 100)) / 32))
        self.min_speech_windows = max(1, round(float(self.options.get("min_speech_ms", 250)) / 32))
        self.loaded = True

    def warmup(self) -> None:
        self.detect(np.zeros(WINDOW * 4, dtype=np.float32))

    def detect(self, audio: np.ndarray) -> Dict[str, Any]:
        """Forward: float32 mono 16 kHz samples -> probabilities per 32 ms window and segments.

        A last partial window is padded with silence. The model writes into its input: a copy."""
        audio = np.array(audio, dtype=np.float32).reshape(-1)
        duration = len(audio) / SAMPLE_RATE
        if len(audio) % WINDOW:
            audio = np.pad(audio, (0, WINDOW - len(audio) % WINDOW))
        probabilities = [round(float(p), 3) for p in self.model(audio).reshape(-1)] if len(audio) else []
        segments = segments_of(probabilities, self.threshold, self.min_silence_windows, self.min_speech_windows)
        return {
            "sample_rate": SAMPLE_RATE,
            "window_samples": WINDOW,
            "window_ms": WINDOW * 1000 // SAMPLE_RATE,
            "duration": round(duration, 3),
            "threshold": self.threshold,
            "probabilities": probabilities,
            "segments": segments,
            "speech": bool(segments),
        }
