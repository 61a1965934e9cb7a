"""SpeechDetector: where speech starts and where the caller's turn ends, in a stream of frames.

Frames (any size) are gathered into hops of `hop_ms` (a multiple of Silero's 32 ms window).
For each hop:

1. Energy gate (here, per hop, no network): while nobody is speaking, a hop quieter than
   `energy_gate_dbfs` is silence without asking anyone. Digital silence and a quiet room never
   reach the model.
2. Silero VAD (the perception service's /v1/vad, one short HTTP call, about 3 ms of model
   time): the hop is sent with `lookback_ms` of the audio before it, because the model's state
   only lives inside one call; the probabilities of the hop's own windows are used. Once speech
   has started every hop is asked, quiet or not, so that a soft ending is heard as speech.
3. The windows drive a small state machine: `min_speech_ms` of windows at or above `threshold`
   start speech (SpeechStarted, which also means barge-in while the assistant talks); after
   that, `end_silence_ms` of windows below the threshold (Silero's hysteresis: below
   threshold - 0.15, or below the threshold right after silence) end the turn (TurnEnded, with
   the audio from `pre_roll_ms` before the first speech to `tail_ms` after the last). A turn
   reaching `max_turn_ms` ends at once. Noise alone makes no turn: the model, not loudness,
   decides what is speech.
4. Speculation: after `speculate_ms` of that silence (Paused) the audio the turn will have, if
   the caller says nothing more, is already known; the session starts transcribing it then, and
   uses that transcript when the turn ends on the same last speech window (saving up to
   end_silence_ms - speculate_ms of the transcription time).

If the VAD call fails (perception down or slow) the detector falls back to loudness for
`retry_s`, then asks the service again: a louder hop (`fallback_dbfs`) counts as speech.

Times: every frame is stamped when it arrived; a window's time is the arrival time of the frame
that completed it, so `speech_end_at` is when the server had the last speech window, which is
what the per-turn timings start from.
"""
import logging
import time
from collections import deque
from dataclasses import dataclass
from typing import Awaitable, Callable, Deque, List, Optional, Tuple, Union

import numpy as np

from voice.frames import SAMPLE_RATE, rms_dbfs

logger = logging.getLogger(__name__)

WINDOW = 512  # Silero's 32 ms window at 16 kHz


@dataclass(frozen=True)
class VadOptions:
    hop_ms: int = 96               # audio per VAD call; rounded down to whole 32 ms windows
    lookback_ms: int = 992         # audio before the hop sent along (~1 s: within 0.03 of one long call)
    threshold: float = 0.5         # a window at or above this is speech
    min_speech_ms: int = 160       # this much speech starts a turn (and barges in)
    pre_roll_ms: int = 320         # audio kept before the first speech window
    tail_ms: int = 192             # audio kept after the last speech window
    energy_gate_dbfs: float = -50.0  # idle hops quieter than this skip the VAD call
    fallback_dbfs: float = -35.0   # without the VAD: windows louder than this are speech
    retry_s: float = 5.0           # after a failed VAD call, loudness decides this long
    speculate_ms: int = 224        # a pause this long (>= tail_ms) hands out the turn so far (0: off)

    def __post_init__(self) -> None:
        for name in ("hop_ms", "lookback_ms", "min_speech_ms", "pre_roll_ms", "tail_ms", "speculate_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"voice: {name} must be a whole number of milliseconds >= 0")
        if self.hop_ms < 32:
            raise ValueError("voice: hop_ms must be at least 32 (one Silero window)")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError("voice: threshold must be between 0 and 1")

    @property
    def hop_windows(self) -> int:
        return max(1, self.hop_ms * SAMPLE_RATE // 1000 // WINDOW)

    @property
    def lookback_windows(self) -> int:
        return self.lookback_ms * SAMPLE_RATE // 1000 // WINDOW


@dataclass
class SpeechStarted:
    at: float                      # arrival time (monotonic) of the window that confirmed speech


@dataclass
class Paused:
    """The caller paused for `speculate_ms`: the turn so far, exactly the audio the turn will
    have if nobody speaks again before it ends (the session may transcribe it already)."""

    pcm: bytes
    speech_end: int                # sample number where the last speech window ended


@dataclass
class TurnEnded:
    pcm: bytes                     # PCM16LE 16 kHz mono: pre-roll, the turn, a short tail
    speech_end_at: float           # arrival time of the last speech window
    ended_at: float                # when the turn was declared over
    reason: str                    # "silence", "max_length" or "flushed"
    speech_end: int = 0            # sample number where the last speech window ended

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / SAMPLE_RATE


Event = Union[SpeechStarted, Paused, TurnEnded]
# the VAD: PCM16LE bytes -> one speech probability per 32 ms window
Probabilities = Callable[[bytes], Awaitable[List[float]]]


class SpeechDetector:
    def __init__(self, vad: Probabilities, options: VadOptions = VadOptions(),
                 end_silence_ms: int = 700, max_turn_ms: int = 30000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.vad = vad
        self.options = options
        self.end_silence_ms = end_silence_ms  # the TurnPolicy sets it after every bot turn
        self.max_turn_ms = max_turn_ms
        self.clock = clock
        self.hop_samples = options.hop_windows * WINDOW
        self.keep_samples = max(options.lookback_windows * WINDOW, options.pre_roll_ms * SAMPLE_RATE // 1000)
        self.negative = max(options.threshold - 0.15, 0.01)
        # a pause of speculate_ms, and never before the tail is in: Paused's audio is the turn's
        self.speculate_samples = (max(options.speculate_ms, options.tail_ms) * SAMPLE_RATE // 1000
                                  if options.speculate_ms else 0)
        self.audio = bytearray()                # kept PCM16; its first sample is number `audio_start`
        self.audio_start = 0
        self.processed = 0                      # samples already run through the state machine
        self.received = 0
        self.arrivals: Deque[Tuple[int, float]] = deque()   # (end sample, arrival time) per frame
        self.speaking = False
        self.run_start: Optional[int] = None    # first speech window of a candidate start
        self.run_samples = 0
        self.turn_start = 0
        self.last_speech_end = 0
        self.last_speech_at = 0.0
        self.silence_samples = 0
        self.was_speech = False
        self.vad_down_until = 0.0
        self.vad_calls = 0
        self.vad_failures = 0

    # ------------------------------------------------------------------ input

    async def push(self, samples: np.ndarray, received_at: Optional[float] = None) -> List[Event]:
        """Add a frame (int16 samples); the events its hops produced, in order."""
        at = self.clock() if received_at is None else received_at
        self.audio += samples.astype("<i2", copy=False).tobytes()
        self.received += len(samples)
        self.arrivals.append((self.received, at))
        events: List[Event] = []
        while self.received - self.processed >= self.hop_samples:
            events.extend(await self._hop())
        return events

    def flush(self, reason: str = "flushed") -> Optional[TurnEnded]:
        """End the turn now (the client said so, or stopped sending): the turn if speech started."""
        if not self.speaking:
            self._reset_candidate()
            return None
        return self._end(reason, self.clock())

    @property
    def idle_since(self) -> float:
        """Arrival time of the last frame (for clients that stop sending when the caller stops)."""
        return self.arrivals[-1][1] if self.arrivals else self.clock()

    # ------------------------------------------------------------------ hops

    def _slice(self, start: int, end: int) -> np.ndarray:
        first, last = max(0, start - self.audio_start), max(0, end - self.audio_start)
        return np.frombuffer(bytes(self.audio[2 * first:2 * last]), dtype="<i2")

    def _arrival(self, sample: int) -> float:
        for end, at in self.arrivals:
            if end >= sample:
                return at
        return self.arrivals[-1][1] if self.arrivals else self.clock()

    async def _hop(self) -> List[Event]:
        start, end = self.processed, self.processed + self.hop_samples
        hop = self._slice(start, end)
        windows = self.hop_samples // WINDOW
        asking = self.speaking or self.run_samples > 0 or rms_dbfs(hop) >= self.options.energy_gate_dbfs
        if not asking:
            probabilities = [0.0] * windows
        else:
            probabilities = await self._probabilities(start, end, hop, windows)
        events: List[Event] = []
        for index, probability in enumerate(probabilities):
            window_end = start + (index + 1) * WINDOW
            event = self._window(probability, window_end)
            if event is not None:
                events.append(event)
        self.processed = end
        self._trim()
        return events

    async def _probabilities(self, start: int, end: int, hop: np.ndarray, windows: int) -> List[float]:
        now = self.clock()
        if now >= self.vad_down_until:
            lookback = self._slice(max(self.audio_start, start - self.options.lookback_windows * WINDOW), end)
            self.vad_calls += 1
            try:
                found = await self.vad(lookback.tobytes())
                if len(found) >= windows:
                    return [float(p) for p in found[-windows:]]
                raise ValueError(f"the VAD gave {len(found)} probabilities for {windows} windows")
            except Exception as error:  # the service down or slow: loudness decides for a while
                self.vad_failures += 1
                self.vad_down_until = now + self.options.retry_s
                logger.warning("voice: VAD unavailable (%s); loudness decides for %.0f s",
                               type(error).__name__, self.options.retry_s)
        return [1.0 if rms_dbfs(hop[i * WINDOW:(i + 1) * WINDOW]) >= self.options.fallback_dbfs else 0.0
                for i in range(windows)]

    # ------------------------------------------------------------------ the state machine

    def _window(self, probability: float, window_end: int) -> Optional[Event]:
        speech = probability >= self.options.threshold or (self.was_speech and probability >= self.negative)
        self.was_speech = speech
        if not self.speaking:
            if speech:
                if self.run_start is None:
                    self.run_start = window_end - WINDOW
                self.run_samples += WINDOW
                if self.run_samples * 1000 >= self.options.min_speech_ms * SAMPLE_RATE:
                    self.speaking = True
                    pre_roll = self.options.pre_roll_ms * SAMPLE_RATE // 1000
                    self.turn_start = max(self.audio_start, self.run_start - pre_roll)
                    self.last_speech_end = window_end
                    self.last_speech_at = self._arrival(window_end)
                    self.silence_samples = 0
                    return SpeechStarted(self.last_speech_at)
            elif probability < self.negative:
                self._reset_candidate()
            return None
        if speech:
            self.last_speech_end = window_end
            self.last_speech_at = self._arrival(window_end)
            self.silence_samples = 0
        else:
            self.silence_samples += WINDOW
        if self.silence_samples * 1000 >= self.end_silence_ms * SAMPLE_RATE:
            return self._end("silence", self._arrival(window_end))
        if (window_end - self.turn_start) * 1000 >= self.max_turn_ms * SAMPLE_RATE:
            return self._end("max_length", self._arrival(window_end))
        if self.speculate_samples and self.silence_samples - WINDOW < self.speculate_samples <= self.silence_samples:
            return Paused(self._turn_pcm(), self.last_speech_end)
        return None

    def _turn_pcm(self) -> bytes:
        tail = self.options.tail_ms * SAMPLE_RATE // 1000
        return self._slice(self.turn_start, min(self.received, self.last_speech_end + tail)).tobytes()

    def _end(self, reason: str, at: float) -> TurnEnded:
        turn = TurnEnded(self._turn_pcm(), self.last_speech_at, max(at, self.last_speech_at), reason,
                         self.last_speech_end)
        self.speaking = False
        self.was_speech = False
        self._reset_candidate()
        return turn

    def _reset_candidate(self) -> None:
        self.run_start = None
        self.run_samples = 0

    def _trim(self) -> None:
        """Keep only what a turn or the next VAD call can still need."""
        keep_from = self.processed - self.keep_samples
        if self.speaking:
            keep_from = min(keep_from, self.turn_start)
        elif self.run_start is not None:
            keep_from = min(keep_from, self.run_start - self.options.pre_roll_ms * SAMPLE_RATE // 1000)
        keep_from = max(self.audio_start, keep_from)
        if keep_from > self.audio_start:
            del self.audio[:2 * (keep_from - self.audio_start)]
            self.audio_start = keep_from
        while len(self.arrivals) > 1 and self.arrivals[0][0] < keep_from:
            self.arrivals.popleft()
