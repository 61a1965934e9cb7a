"""Text to speech with Coqui TTS (`coqui-tts`, MPL-2.0) and a model directory you provide.

Neither coqui-tts nor its models ship with Parley (no registry carries the weights): install
coqui-tts, put a trained model (config.json and a .pth checkpoint) in a folder and set
tasks.synthesize.options.model_dir. Models keep their own licences; nothing is downloaded.
"""
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

from perception.engines.base import Engine, pick_device
from perception.errors import ModelLoadError

PIP_NAME = "coqui-tts"
CHECKPOINTS = ("model.pth", "best_model.pth", "model_file.pth", "checkpoint.pth")


class CoquiSynthesizer(Engine):
    task = "synthesize"
    name = "coqui"

    def load(self) -> None:
        try:
            from TTS.api import TTS
        except ImportError as error:
            raise ModelLoadError(f"the coqui engine needs its package: install {PIP_NAME} "
                                 f"(pip install {PIP_NAME})") from error
        model_dir = self.options.get("model_dir")
        if not model_dir or not Path(model_dir).is_dir():
            raise ModelLoadError("the coqui engine needs a model folder (config.json + model.pth): "
                                 f"set tasks.synthesize.options.model_dir (now: {model_dir!r})")
        folder = Path(model_dir)
        model = next((folder / n for n in CHECKPOINTS if (folder / n).is_file()), None)
        if model is None or not (folder / "config.json").is_file():
            raise ModelLoadError(f"{folder} must hold config.json and one of {', '.join(CHECKPOINTS)}")
        self.device = pick_device(self.options.get("device", "auto"))
        self.tts = TTS(model_path=str(model), config_path=str(folder / "config.json"),
                       progress_bar=False).to(self.device)
        self.sample_rate = int(self.tts.synthesizer.output_sample_rate)
        self.model_name = folder.name
        self.loaded = True

    def warmup(self) -> None:
        self.synthesize("Hello.", None, 1.0)

    def voices(self) -> List[str]:
        return list(self.tts.speakers or [])

    def synthesize(self, text: str, voice: Optional[str], speed: float) -> Tuple[np.ndarray, int]:
        """Float32 mono samples in [-1, 1] and the rate (Coqui splits the text into sentences)."""
        speaker = voice or (self.tts.speakers[0] if self.tts.speakers else None)
        language = self.options.get("language") if self.tts.is_multi_lingual else None
        samples = self.tts.tts(text=text, speaker=speaker, language=language, speed=speed,
                               split_sentences=True)
        return np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0), self.sample_rate
