"""Material for the web chat tests: an error screenshot and a voice note."""
import csv
from pathlib import Path
from typing import Dict

import numpy as np
import pytest

from tests import services
from tests.perception import audio_material as am

PACK = services.ROOT / "packs" / "brightwave"
VOICE_TEXT = "my router is showing a solid red light"  # espeak-ng: "my router has ..." came back "My brother has ..." on one machine


def error_fix(code: str) -> str:
    with (PACK / "error_codes.csv").open(encoding="utf-8") as handle:
        return next(row["fix"] for row in csv.DictReader(handle) if row["code"] == code)


@pytest.fixture(scope="session")
def material(tmp_path_factory, pictures) -> Dict[str, Path]:
    folder = tmp_path_factory.mktemp("webchat")
    # the sign-in page with error BW-2002, rendered by Chromium (the session `pictures` fixture)
    screenshot = pictures / "signin_locked.png"
    spoken = am.espeak(VOICE_TEXT, folder / "spoken.wav")
    rate = am.wav_rate(spoken)
    samples = am.read_wav(spoken)
    # Chromium's fake microphone plays the file in a loop: silence around the words keeps one
    # recording to one sentence
    padded = np.concatenate([np.zeros(int(0.6 * rate), np.float32), samples,
                             np.zeros(int(8 * rate), np.float32)])
    microphone = folder / "microphone.wav"
    microphone.write_bytes(am.wav_bytes(padded, rate))
    return {"screenshot": screenshot, "voice": spoken, "microphone": microphone,
            "speech_seconds": len(samples) / rate}
