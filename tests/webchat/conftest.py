"""Material for the web chat tests: an error screenshot and a voice note, made on the spot."""
import csv
import subprocess
from pathlib import Path
from typing import Dict

import numpy as np
import pytest

from tests import services
from tests.perception import audio_material as am

PACK = services.ROOT / "packs" / "brightwave"
VOICE_TEXT = "my router has a solid red light"

# the sign-in page with error BW-2002, rendered by Chromium (tests/e2e/multimodal_material.py)
SCREENSHOT = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from tests.e2e.multimodal_material import LIGHT, chromium_screenshot, sign_in_page
chromium_screenshot(sign_in_page(LIGHT), Path(sys.argv[1]), size=(1280, 800))
"""


def error_fix(code: str) -> str:
    with (PACK / "error_codes.csv").open(encoding="utf-8") as handle:
        return next(row["fix"] for row in csv.DictReader(handle) if row["code"] == code)


@pytest.fixture(scope="session")
def material(tmp_path_factory) -> Dict[str, Path]:
    folder = tmp_path_factory.mktemp("webchat")
    screenshot = folder / "signin_locked.png"
    result = subprocess.run([str(services.VENV_PERCEPTION / "bin" / "python"), "-c", SCREENSHOT,
                             str(screenshot), str(services.ROOT)],
                            capture_output=True, text=True, timeout=300, env=services.base_env())
    assert result.returncode == 0, result.stderr[-3000:]
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
