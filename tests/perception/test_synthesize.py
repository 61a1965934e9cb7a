"""POST /v1/synthesize over real HTTP with the real voices: Piper (joe) and hibari (heart).

Piper serves the default config (session fixture `perception_url`); hibari gets its own service
with only the synthesize and transcribe tasks. Round trips send the speech to /v1/transcribe
(faster-whisper) on the same service and score the transcript by word error rate.
"""
import io
import subprocess
import wave
from pathlib import Path
from typing import Iterator, Tuple

import numpy as np
import pytest
import requests
import yaml

from bench.wer import wer  # shared with the benchmarks
from tests import services

RATES = {"piper": 22050, "hibari": 24000}
VOICES = {"piper": "en_US-joe-medium", "hibari": "heart"}
SENTENCE = "Your replacement headphones will arrive within three business days."
ROUND_TRIP = ("Thank you for contacting our support team. Your replacement headphones will arrive "
              "within three business days, and you can track the parcel from the link in your email.")
# measured on a 2-core CPU with Whisper base: piper 0%, hibari 0% (see the round-trip test)
MAX_WER = {"piper": 0.10, "hibari": 0.10}


def test_wer_counts_word_edits_after_normalising():
    assert wer("Your e-mail arrives in 3 days!", "your email arrives in three days") == 0.0
    assert wer("apple banana cherry date", "apple xylophone cherry") == 0.5
    assert wer("apple banana", "apple banana cherry date") == 1.0
    assert wer("order four five seven one, code B W one zero zero one", "Order 4571, code BW-1001.") == 0.0


def load_config_with(tmp_dir: Path, tasks: dict) -> Path:
    config = yaml.safe_load((services.ROOT / "perception" / "config.yml").read_text())
    config["tasks"] = tasks
    path = tmp_dir / "config.yml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def hibari_home(tmp_path_factory) -> Path:
    """hibari's voice cache: must stay empty (the engine never downloads a voice)."""
    return tmp_path_factory.mktemp("hibari-home")


@pytest.fixture(scope="module")
def hibari_url(tmp_path_factory, hibari_home) -> Iterator[str]:
    default = yaml.safe_load((services.ROOT / "perception" / "config.yml").read_text())["tasks"]
    config = load_config_with(tmp_path_factory.mktemp("hibari"), {
        "synthesize": {**default["synthesize"], "engine": "hibari"},
        "transcribe": default["transcribe"],
    })
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HIBARI_HOME", str(hibari_home))
        service = services.start_perception(name="perception-hibari", config=config)
    yield service.health_url.rsplit("/health", 1)[0]
    service.stop()


@pytest.fixture(params=["piper", "hibari"])
def engine(request) -> Tuple[str, str]:
    """(engine name, base URL) for each synthesizer."""
    fixture = "perception_url" if request.param == "piper" else "hibari_url"
    return request.param, request.getfixturevalue(fixture)


def synthesize(url: str, **body) -> requests.Response:
    return requests.post(f"{url}/v1/synthesize", json=body, timeout=120)


def read_wav(data: bytes) -> Tuple[np.ndarray, int]:
    """Samples as floats in [-1, 1] and the rate; asserts 16-bit mono."""
    with wave.open(io.BytesIO(data)) as wav:
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        frames = wav.readframes(wav.getnframes())
        return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0, wav.getframerate()


def duration_of(response: requests.Response) -> float:
    assert response.status_code == 200, response.text
    samples, rate = read_wav(response.content)
    return len(samples) / rate


def test_speech_is_mono_wav_at_the_engine_rate_and_plausible(engine):
    name, url = engine
    response = synthesize(url, text=SENTENCE)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["X-Engine"] == name
    samples, rate = read_wav(response.content)
    assert rate == RATES[name] == int(response.headers["X-Sample-Rate"])
    seconds = len(samples) / rate
    assert float(response.headers["X-Audio-Duration"]) == pytest.approx(seconds, abs=0.002)
    words = len(SENTENCE.split())  # 9 words: about 0.3-0.5 s a word at a normal pace
    assert 0.15 * words < seconds < 0.8 * words
    assert np.sqrt(np.mean(samples ** 2)) > 0.02  # speech, not silence
    assert np.abs(samples).max() <= 1.0


def test_the_named_voice_is_accepted(engine):
    name, url = engine
    assert duration_of(synthesize(url, text="Hello.", voice=VOICES[name])) > 0.2


def test_speed_two_is_clearly_shorter_and_half_is_longer(engine):
    _, url = engine
    normal = duration_of(synthesize(url, text=SENTENCE, speed=1.0))
    assert duration_of(synthesize(url, text=SENTENCE, speed=2.0)) < 0.75 * normal
    assert duration_of(synthesize(url, text=SENTENCE, speed=0.5)) > 1.4 * normal


def ogg_opus_seconds(data: bytes) -> float:
    """Length of an Ogg Opus stream: the last page's granule position (48 kHz) less the pre-skip."""
    last_page = data.rindex(b"OggS")
    granule = int.from_bytes(data[last_page + 6:last_page + 14], "little", signed=True)
    head = data.index(b"OpusHead")
    pre_skip = int.from_bytes(data[head + 10:head + 12], "little")
    return (granule - pre_skip) / 48000


def test_ogg_is_opus_in_ogg_and_holds_all_the_speech(engine):
    _, url = engine
    wav = synthesize(url, text=SENTENCE)
    response = synthesize(url, text=SENTENCE, format="ogg")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/ogg"
    assert response.content.startswith(b"OggS")
    assert b"OpusHead" in response.content[:200]
    seconds = float(response.headers["X-Audio-Duration"])  # piper's durations vary call to call
    assert ogg_opus_seconds(response.content) == pytest.approx(seconds, abs=0.03)
    assert seconds == pytest.approx(duration_of(wav), rel=0.15)
    assert len(response.content) < len(wav.content) / 4  # compressed


@pytest.mark.parametrize("fmt", ["wav", "ogg"])
@pytest.mark.parametrize("text", ["...", "\U0001F600", "Hi\x00 there\x07.", "Say [[ hɛloʊ ]] now."])
def test_odd_text_still_gives_audio(engine, text, fmt):
    """Punctuation only, emoji, control characters, piper's raw-phoneme syntax: no 5xx."""
    _, url = engine
    response = synthesize(url, text=text, format=fmt)
    assert response.status_code == 200, response.text
    assert float(response.headers["X-Audio-Duration"]) > 0


def test_long_text_is_spoken_to_the_end(engine):
    """Many sentences: every one is synthesized (nothing dropped after the first)."""
    _, url = engine
    one = duration_of(synthesize(url, text=SENTENCE))
    ten = duration_of(synthesize(url, text=" ".join([SENTENCE] * 10)))
    assert 8.5 * one < ten < 12 * one


def test_text_at_the_limit_is_accepted(perception_url):
    text = ("Please keep the receipt and the original box. " * 50)[:2000]
    seconds = duration_of(synthesize(perception_url, text=text))
    assert 60 < seconds < 200  # about 2,000 characters of speech, not one sentence of it


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"text": ""}, 422, "invalid_text"),
        ({"text": "   "}, 422, "invalid_text"),
        ({}, 422, "invalid_text"),
        ({"text": 42}, 422, "invalid_text"),
        ({"text": "a" * 2001}, 413, "text_too_long"),
        ({"text": "Hello.", "speed": 0}, 422, "invalid_speed"),
        ({"text": "Hello.", "speed": 5}, 422, "invalid_speed"),
        ({"text": "Hello.", "speed": "fast"}, 422, "invalid_speed"),
        ({"text": "Hello.", "speed": True}, 422, "invalid_speed"),
        ({"text": "Hello.", "voice": "darth-vader"}, 422, "unknown_voice"),
        ({"text": "Hello.", "format": "mp3"}, 422, "invalid_format"),
        (["Hello."], 422, "invalid_body"),
    ],
)
def test_bad_synthesize_requests_get_a_clear_4xx(perception_url, body, status, code):
    response = requests.post(f"{perception_url}/v1/synthesize", json=body, timeout=30)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_non_json_body_is_400(perception_url):
    response = requests.post(f"{perception_url}/v1/synthesize", data=b"say hello",
                             headers={"content-type": "application/json"}, timeout=30)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_round_trip_through_speech_recognition(engine):
    """Synthesize, transcribe on the same service, compare the words."""
    name, url = engine
    speech = synthesize(url, text=ROUND_TRIP)
    assert speech.status_code == 200, speech.text
    response = requests.post(f"{url}/v1/transcribe", timeout=180,
                             files={"file": ("speech.wav", speech.content, "audio/wav")},
                             data={"language": "en"})
    assert response.status_code == 200, response.text
    transcript = response.json()["text"]
    error_rate = wer(ROUND_TRIP, transcript)
    assert error_rate <= MAX_WER[name], f"WER {error_rate:.1%}: {transcript!r}"


def test_hibari_never_downloads_a_voice(hibari_url, hibari_home):
    assert duration_of(synthesize(hibari_url, text="Hello.")) > 0.2
    assert not any(hibari_home.iterdir())


def test_coqui_without_its_package_stops_start_up_with_a_clear_message(tmp_path):
    """coqui-tts is not installed: the service must not start, and must say what to install."""
    config = load_config_with(tmp_path, {"synthesize": {"engine": "coqui",
                                                        "options": {"model_dir": str(tmp_path)}}})
    env = services.base_env(PERCEPTION_CONFIG=str(config), PERCEPTION_HOST="127.0.0.1",
                            PERCEPTION_PORT=str(services.free_port()))
    result = subprocess.run([str(services.VENV_PERCEPTION / "bin" / "python"), "-m", "perception"],
                            env=env, cwd=services.ROOT, capture_output=True, text=True, timeout=180)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-2000:]
    assert "coqui-tts" in output, output[-2000:]
    assert "install" in output
