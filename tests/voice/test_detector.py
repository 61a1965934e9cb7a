"""voice.vad.SpeechDetector's state machine: the energy gate, speech start, the end-of-turn
silence (the policy's number), the turn's audio and timings, the loudness fallback. The VAD here
is a stand-in that calls a window speech when it is loud (the real Silero VAD behind the
perception service is exercised in tests/perception/test_vad.py and tests/voice/test_call.py)."""
import asyncio
from typing import List

import numpy as np
import pytest

from voice.vad import SpeechDetector, SpeechStarted, TurnEnded, VadOptions

RATE = 16000
FRAME = 320  # 20 ms


class LoudIsSpeech:
    """Stand-in VAD: a 32 ms window with RMS above 0.05 is speech (0.9), else silence (0.05)."""

    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    async def __call__(self, pcm: bytes) -> List[float]:
        self.calls += 1
        if self.fail:
            raise ConnectionError("perception down")
        samples = np.frombuffer(pcm, "<i2").astype(np.float32) / 32768
        windows = samples[: len(samples) // 512 * 512].reshape(-1, 512)
        return [0.9 if np.sqrt(np.mean(w ** 2)) > 0.05 else 0.05 for w in windows]


def tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")


def quiet(seconds: float, level: float = 0.0) -> np.ndarray:
    noise = np.random.default_rng(1).standard_normal(int(seconds * RATE)) * level
    return (noise * 32767).astype("<i2")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def feed(detector: SpeechDetector, clock: Clock, *parts: np.ndarray) -> list:
    """Stream the parts in 20 ms frames, the clock advancing with the audio."""
    audio = np.concatenate(parts)
    events = []

    async def run():
        for start in range(0, len(audio), FRAME):
            frame = audio[start:start + FRAME]
            clock.now += len(frame) / RATE
            events.extend(await detector.push(frame, clock.now))

    asyncio.run(run())
    return events


def make(vad=None, end_silence_ms=700, max_turn_ms=30000, **options):
    """A detector on a fake clock; no speculation unless asked (its own tests below)."""
    options.setdefault("speculate_ms", 0)
    clock = Clock()
    vad = vad or LoudIsSpeech()
    return SpeechDetector(vad, VadOptions(**options), end_silence_ms, max_turn_ms, clock=clock), clock, vad


def test_digital_silence_and_a_quiet_room_never_ask_the_vad():
    detector, clock, vad = make()
    assert feed(detector, clock, quiet(3.0), quiet(3.0, level=0.0005)) == []
    assert vad.calls == 0


def test_noise_above_the_gate_asks_the_vad_but_makes_no_turn():
    detector, clock, vad = make()
    assert feed(detector, clock, quiet(2.0, level=0.01)) == []
    assert vad.calls > 0


def test_speech_then_silence_is_one_turn_with_its_audio_and_times():
    detector, clock, _ = make()
    events = feed(detector, clock, quiet(1.0), tone(1.0), quiet(1.5))
    assert [type(e) for e in events] == [SpeechStarted, TurnEnded]
    turn = events[1]
    assert turn.reason == "silence"
    # pre-roll (320 ms) + the speech + the tail (192 ms), to the 32 ms window
    assert 1.4 <= turn.seconds <= 1.6
    # the turn ends end_silence_ms (700) after the last speech window, which arrived at ~2.0 s
    assert turn.speech_end_at == pytest.approx(100.0 + 2.0, abs=0.05)
    assert turn.ended_at - turn.speech_end_at == pytest.approx(0.7, abs=0.1)


def test_a_pause_shorter_than_the_slow_wait_does_not_cut_the_caller_off():
    # reading digits with a 1 s pause: two turns at 700 ms, one at the slow slots' 1600 ms
    parts = (tone(0.8), quiet(1.0), tone(0.8), quiet(2.0))
    fast, clock, _ = make(end_silence_ms=700)
    assert [type(e) for e in feed(fast, clock, *parts)] == [SpeechStarted, TurnEnded] * 2
    slow, clock, _ = make(end_silence_ms=1600)
    events = feed(slow, clock, *parts)
    assert [type(e) for e in events] == [SpeechStarted, TurnEnded]
    assert events[1].seconds > 2.5


def test_a_blip_shorter_than_min_speech_is_not_speech():
    detector, clock, _ = make(min_speech_ms=160)
    assert feed(detector, clock, quiet(0.5), tone(0.064), quiet(1.5)) == []


def test_a_turn_ends_at_the_maximum_length():
    detector, clock, _ = make(max_turn_ms=2000)
    events = feed(detector, clock, tone(3.0))
    assert [type(e) for e in events][:2] == [SpeechStarted, TurnEnded]
    assert events[1].reason == "max_length"


def test_flush_ends_a_turn_in_progress_only():
    detector, clock, _ = make()
    assert detector.flush() is None
    feed(detector, clock, tone(0.5))
    turn = detector.flush("client")
    assert isinstance(turn, TurnEnded) and turn.reason == "client"
    assert detector.flush() is None


def test_without_the_vad_loudness_decides_and_the_vad_is_asked_again_later():
    vad = LoudIsSpeech(fail=True)
    detector, clock, _ = make(vad=vad, retry_s=5.0)
    events = feed(detector, clock, quiet(0.5), tone(1.0), quiet(1.0))
    assert [type(e) for e in events] == [SpeechStarted, TurnEnded]
    assert vad.calls == 1                 # failed once, then loudness for retry_s
    vad.fail = False
    feed(detector, clock, quiet(5.0, level=0.01))
    assert vad.calls > 1 and detector.vad_failures == 1


def test_memory_stays_bounded_while_idle():
    detector, clock, _ = make()
    feed(detector, clock, quiet(20.0, level=0.01))
    assert len(detector.audio) <= 2 * (detector.keep_samples + detector.hop_samples + FRAME)


def test_a_pause_hands_out_exactly_the_audio_the_turn_will_have():
    detector, clock, _ = make(speculate_ms=224)
    events = feed(detector, clock, quiet(0.5), tone(1.0), quiet(1.5))
    assert [type(e).__name__ for e in events] == ["SpeechStarted", "Paused", "TurnEnded"]
    paused, turn = events[1], events[2]
    assert paused.pcm == turn.pcm and paused.speech_end == turn.speech_end


def test_speech_after_a_pause_makes_the_early_audio_stale():
    detector, clock, _ = make(speculate_ms=224)
    events = feed(detector, clock, tone(0.8), quiet(0.4), tone(0.8), quiet(1.5))
    names = [type(e).__name__ for e in events]
    assert names == ["SpeechStarted", "Paused", "Paused", "TurnEnded"]
    assert events[1].speech_end != events[3].speech_end and events[2].pcm == events[3].pcm
    assert not [e for e in feed(*make(speculate_ms=0)[:2], tone(0.8), quiet(1.5)) if type(e).__name__ == "Paused"]
