"""Text to speech with hibari (a distilled Kokoro voice, int8 ONNX, 24 kHz), loaded offline.

Licence: hibari-tts is Apache-2.0 (its model is distilled from Kokoro-82M, also Apache-2.0), so
this is the engine to pick where Piper's GPL-3.0 cannot ship. Only the bundled voice "heart"
(American English, female) is offered: hibari downloads its other voices on first use, which
this service never allows. Its own G2P (lexicon + small ONNX nets) needs no espeak-ng.
"""
import os
from typing import Iterator, List

import numpy as np

from perception.engines.base import package_dir, verify_sha256
from perception.engines.speech_out import Synthesizer

PIP_NAME = "hibari-tts==0.2.1"
VOICE = "heart"
SHA256 = "5f70741d4e900f4e85d0037498736cc1b3e1b9a63a13546a5da1e63abf4fccd8"  # assets/hibari.onnx


class HibariSynthesizer(Synthesizer):
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

    def voices(self) -> List[str]:
        return [VOICE]

    def chunks(self, text: str, speed: float) -> Iterator[np.ndarray]:
        # one chunk per sentence; sentences over 400 phonemes are split at commas
        yield from self.tts.stream(text, speed=speed, seed=self.seed)
