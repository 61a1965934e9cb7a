"""What the text-to-speech engines share: clean the text, speak it sentence by sentence, and join
the sentences with short pauses. An engine only says how to turn text into chunks of audio."""
import unicodedata
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np

from perception.engines.base import Engine


def speakable(text: str) -> str:
    """Control characters become spaces (a NUL breaks espeak-ng), invisible format characters go."""
    return "".join(c if c == "\n" or unicodedata.category(c)[0] != "C"
                   else " " if unicodedata.category(c) == "Cc" else "" for c in text)


class Synthesizer(Engine):
    task = "synthesize"
    sample_rate = 0
    device = "cpu"

    def chunks(self, text: str, speed: float) -> Iterator[np.ndarray]:
        """Float32 audio, one chunk per sentence (the engine's own sentence splitting)."""
        raise NotImplementedError

    def voices(self) -> List[str]:
        raise NotImplementedError

    def warmup(self) -> None:
        self.synthesize("Hello.", None, 1.0)

    def synthesize(self, text: str, voice: Optional[str], speed: float) -> Tuple[np.ndarray, int]:
        """Float32 mono samples in [-1, 1] and the rate; every sentence of the text, in order."""
        pause = np.zeros(int(self.sample_rate * float(self.options.get("sentence_pause_s", 0.2)) / speed),
                         dtype=np.float32)
        parts: List[np.ndarray] = []
        for chunk in self.chunks(speakable(text), speed):
            if parts:
                parts.append(pause)
            parts.append(chunk)
        if not parts:  # nothing speakable (only punctuation or emoji): a short silence
            return np.zeros(self.sample_rate // 10, dtype=np.float32), self.sample_rate
        return np.clip(np.concatenate(parts), -1.0, 1.0).astype(np.float32), self.sample_rate

    def info(self) -> Dict[str, Any]:
        info = super().info()
        if self.loaded:
            info.update(device=self.device, sample_rate=self.sample_rate)
        return info
