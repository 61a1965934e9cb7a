"""Text to speech with hibari (a distilled Kokoro voice, int8 ONNX, 24 kHz), loaded offline.

Licence: hibari-tts is Apache-2.0 (its model is distilled from Kokoro-82M, also Apache-2.0), so
this is the engine to pick where Piper's GPL-3.0 cannot ship. Only the bundled voice "heart"
(American English, female) is offered: hibari downloads its other voices on first use, which
this service never allows. Its own G2P (lexicon + small ONNX nets) needs no espeak-ng.
"""
import os
import unicodedata
from typing import List, Optional, Tuple

import numpy as np

from perception.engines.base import Engine, package_dir, verify_sha256

PIP_NAME = "hibari-tts==0.2.1"
VOICE = "heart"
SHA256 = "5f70741d4e900f4e85d0037498736cc1b3e1b9a63a13546a5da1e63abf4fccd8"  # assets/hibari.onnx


def speakable(text: str) -> str:
    """Control characters become spaces, invisible format characters go."""
    return "".join(c if c == "\n" or unicodedata.category(c)[0] != "C"
                   else " " if unicodedata.category(c) == "Cc" else "" for c in text)


class HibariSynthesizer(Engine):
    task = "synthesize"
    name = "hibari"

    def load(self) -> None:
        model_path = package_dir("hibari", PIP_NAME) / "assets" / "hibari.onnx"
        verify_sha256(model_path, self.options.get("sha256", SHA256), PIP_NAME)
        from hibari import SAMPLE_RATE, Hibari

        # an explicit model path: hibari never looks for (or downloads) a voice file
        threads = int(self.options.get("cpu_threads", min(2, os.cpu_count() or 1)))
        self.tts = Hibari(voice=VOICE, model=str(model_path), threads=threads)
        self.tts.g2p  # load the lexicon, tagger and OOV net now, not on the first request
        self.sample_rate = int(SAMPLE_RATE)
        self.seed = self.options.get("seed", 0)  # fixed noise: the same text gives the same audio
        self.model_name = f"hibari-{VOICE}"
        self.loaded = True

    def warmup(self) -> None:
        self.synthesize("Hello.", None, 1.0)

    def voices(self) -> List[str]:
        return [VOICE]

    def synthesize(self, text: str, voice: Optional[str], speed: float) -> Tuple[np.ndarray, int]:
        """Float32 mono samples in [-1, 1] and the rate; every sentence of the text, in order."""
        pause = np.zeros(int(self.sample_rate * float(self.options.get("sentence_pause_s", 0.2)) / speed),
                         dtype=np.float32)
        parts: List[np.ndarray] = []
        # one chunk per sentence; sentences over 400 phonemes are split at commas
        for chunk in self.tts.stream(speakable(text), speed=speed, seed=self.seed):
            if parts:
                parts.append(pause)
            parts.append(chunk)
        if not parts:  # nothing speakable (only punctuation or emoji): a short silence
            return np.zeros(self.sample_rate // 10, dtype=np.float32), self.sample_rate
        return np.clip(np.concatenate(parts), -1.0, 1.0).astype(np.float32), self.sample_rate

    def info(self):
        info = super().info()
        if self.loaded:
            info.update(device="cpu", sample_rate=self.sample_rate)
        return info
