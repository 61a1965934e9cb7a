"""Test audio that no model made: espeak-ng and festival speech, silence, noise, broken WAVs.

Runs on the test side (Python 3.10, no PyAV): other encodings come from encode_audio_tool.py,
run with the perception venv.
"""
import io
import re
import shutil
import struct
import subprocess
import wave
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import requests

from tests import services

RATE = 16000
DIGITS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
          "six": "6", "seven": "7", "eight": "8", "nine": "9"}


def espeak(text: str, path: Path) -> Path:
    """espeak-ng at 140 words a minute with short gaps between words (clearer for Whisper)."""
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-g", "4", "-w", str(path), text], check=True,
                   capture_output=True, timeout=60)
    return path


def festival(text: str, path: Path) -> Path:
    """festival's HTS voice (cmu_us_slt_arctic_hts) when installed, else its default voice."""
    if shutil.which("text2wave") is None:
        raise RuntimeError("festival's text2wave is missing: apt-get install festival festvox-us-slt-hts "
                           "(scripts/system_packages.sh)")
    voices = list(Path("/usr/share/festival/voices").glob("*/cmu_us_slt_arctic_hts"))
    command = ["text2wave", "-o", str(path)]
    if voices:
        command += ["-eval", "(voice_cmu_us_slt_arctic_hts)"]
    subprocess.run(command, input=text.encode(), check=True, capture_output=True, timeout=120)
    return path


def encode(source: Path, out_dir: Path, formats: Sequence[str]) -> Dict[str, Path]:
    """source re-encoded into each format by PyAV (perception venv); {format: path}."""
    tool = Path(__file__).with_name("encode_audio_tool.py")
    subprocess.run([str(services.VENV_PERCEPTION / "bin" / "python"), str(tool), str(source), str(out_dir),
                    *formats], check=True, capture_output=True, timeout=120)
    return {fmt: out_dir / f"speech.{fmt}" for fmt in formats}


def read_wav(path: Path) -> np.ndarray:
    """Mono 16-bit WAV -> float32 samples (at the file's own rate)."""
    with wave.open(str(path)) as handle:
        assert handle.getnchannels() == 1 and handle.getsampwidth() == 2
        return np.frombuffer(handle.readframes(handle.getnframes()), "<i2").astype(np.float32) / 32768


def wav_rate(path: Path) -> int:
    with wave.open(str(path)) as handle:
        return handle.getframerate()


def wav_bytes(samples: np.ndarray, rate: int = RATE) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).round().astype("<i2").tobytes())
    return buffer.getvalue()


def silence(seconds: float) -> bytes:
    return wav_bytes(np.zeros(int(seconds * RATE), np.float32))


def white_noise(seconds: float, level: float = 0.3, seed: int = 7) -> bytes:
    noise = np.random.default_rng(seed).standard_normal(int(seconds * RATE)) * level
    return wav_bytes(noise.astype(np.float32))


def claims_24_hours(samples: int = 8000) -> bytes:
    """A small WAV whose RIFF and data sizes claim 24 hours of 16 kHz 16-bit audio."""
    real = wav_bytes(np.zeros(samples, np.float32))
    claimed = 24 * 3600 * RATE * 2
    return real[:4] + struct.pack("<I", 36 + claimed) + real[8:40] + struct.pack("<I", claimed) + real[44:]


def normalise(text: str) -> str:
    """Lowercase words, digits as digits, and runs of digits joined ("4 5 7" and "four five seven" -> "457")."""
    words = [DIGITS.get(word, word) for word in re.findall(r"[a-z0-9]+", text.lower().replace("-", ""))]
    joined = " ".join(words)
    while True:  # "4 5" -> "45", "e 12" -> "e12"
        merged = re.sub(r"\b(\w*\d+|[a-z]) (\d+)\b", r"\1\2", joined)
        if merged == joined:
            return joined
        joined = merged


def missing_words(transcript: str, keys: Sequence[str]) -> List[str]:
    words = normalise(transcript).split()
    return [key for key in keys if normalise(key) not in words]


def transcribe(url: str, data: bytes, filename: str = "speech.wav", language: Optional[str] = None,
               timeout: float = 120) -> requests.Response:
    fields = {"language": language} if language else None
    return requests.post(f"{url}/v1/transcribe", files={"file": (filename, data)}, data=fields, timeout=timeout)
