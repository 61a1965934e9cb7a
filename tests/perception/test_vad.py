"""POST /v1/vad over real HTTP with the real Silero VAD: espeak-ng speech, silence, noise and
every kind of bad input. Raw PCM16 (what the voice channel streams) and files give the same
probabilities."""
from pathlib import Path

import numpy as np
import pytest
import requests

from perception.client import PerceptionClient, PerceptionError
from tests.perception import audio_material as am

RAW = {"Content-Type": "audio/L16; rate=16000; channels=1"}


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> np.ndarray:
    """0.5 s of silence, espeak-ng speech resampled to 16 kHz, 1 s of silence."""
    path = am.espeak("Do you ship to Canada?", Path(tmp_path_factory.mktemp("vad")) / "speech.wav")
    samples, rate = am.read_wav(path), am.wav_rate(path)
    resampled = np.interp(np.arange(0, len(samples), rate / am.RATE), np.arange(len(samples)), samples)
    return np.concatenate([np.zeros(am.RATE // 2), resampled, np.zeros(am.RATE)]).astype(np.float32)


def pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).round().astype("<i2").tobytes()


def vad(url: str, data: bytes, headers=RAW) -> requests.Response:
    return requests.post(f"{url}/v1/vad", data=data, headers=headers, timeout=30)


def test_speech_is_found_where_it_is(perception_url, speech):
    response = vad(perception_url, pcm(speech))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["speech"] is True and body["engine"] == "silero" and body["format"] == "pcm16"
    assert body["window_ms"] == 32 and body["sample_rate"] == 16000
    assert len(body["probabilities"]) == -(-len(speech) // 512)
    [first, *_] = body["segments"]
    assert first["start"] >= 0.4                        # not in the leading half second of silence
    assert body["segments"][-1]["end"] <= body["duration"] - 0.8   # nor in the trailing second
    assert max(body["probabilities"][:12]) < 0.5         # the first 384 ms are silence


def test_a_file_gives_the_same_answer_as_raw_pcm(perception_url, speech):
    raw = vad(perception_url, pcm(speech)).json()
    filed = requests.post(f"{perception_url}/v1/vad", files={"file": ("x.wav", am.wav_bytes(speech))},
                          timeout=30).json()
    assert filed["format"] == "wav"
    assert len(filed["probabilities"]) == len(raw["probabilities"])
    assert np.allclose(filed["probabilities"], raw["probabilities"], atol=0.02)
    assert filed["segments"] == raw["segments"]


@pytest.mark.parametrize("audio", [np.zeros(3 * am.RATE),
                                   np.random.default_rng(3).standard_normal(3 * am.RATE) * 0.3,
                                   np.random.default_rng(4).standard_normal(3 * am.RATE) * 0.01],
                         ids=["silence", "loud-noise", "low-noise"])
def test_silence_and_noise_are_not_speech(perception_url, audio):
    body = vad(perception_url, pcm(audio)).json()
    assert body["speech"] is False and body["segments"] == []


def test_the_client_sends_pcm_and_files(perception_url, speech):
    client = PerceptionClient(perception_url)
    assert client.vad(pcm(speech))["speech"] is True
    assert client.vad(am.wav_bytes(speech), raw_pcm=False)["speech"] is True
    with pytest.raises(PerceptionError) as refused:
        client.vad(b"\x00\x01\x02")
    assert (refused.value.status, refused.value.code) == (422, "invalid_pcm")


@pytest.mark.parametrize("data, headers, status, code", [
    (b"\x00\x01\x02", RAW, 422, "invalid_pcm"),                    # odd byte count
    (b"", RAW, 400, "empty_file"),
    (b"\x00" * 640, {"Content-Type": "audio/L16; rate=8000"}, 422, "unsupported_sample_rate"),
    (b"\x00" * 640, {"Content-Type": "audio/L16; rate=16000; channels=2"}, 422, "unsupported_sample_rate"),
    (b"hello", {"Content-Type": "text/plain"}, 415, "not_multipart"),
    (b"\x00" * (301 * 32000), RAW, 413, "audio_too_long"),          # past limits.audio.max_seconds
])
def test_bad_raw_input_gets_a_clear_4xx(perception_url, data, headers, status, code):
    response = vad(perception_url, data, headers)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_a_file_that_is_not_audio_is_refused(perception_url):
    response = requests.post(f"{perception_url}/v1/vad", files={"file": ("a.wav", b"not audio at all")},
                             timeout=30)
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_format"
    assert requests.get(f"{perception_url}/health", timeout=10).json()["engines"]["vad"]["loaded"] is True
