"""A caller for the voice channel's WebSocket, used by the tests and by bench/voice_latency.py.

The caller's microphone is a task that sends a 20 ms PCM16 frame every 20 ms of wall-clock time,
as a phone or a browser does: what `say` queued (espeak-ng speech, noise), else silence. A
receiver task keeps every event (stamped with its arrival time) and the reply audio per turn.
"""
import asyncio
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import websockets

from tests.perception import audio_material as am

RATE = 16000
FRAME = 320  # 20 ms


def speech(text: str, voice: str = "en-us") -> np.ndarray:
    """espeak-ng speech as 16 kHz PCM16, without espeak's own trailing half second of silence."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "140", "-g", "4", "-w", str(path), text], check=True,
                       capture_output=True, timeout=60)
        samples, rate = am.read_wav(path), am.wav_rate(path)
    resampled = np.interp(np.arange(0, len(samples), rate / RATE), np.arange(len(samples)), samples)
    loud = np.nonzero(np.abs(resampled) > 0.01)[0]
    resampled = resampled[: loud[-1] + RATE // 20] if loud.size else resampled
    return (np.clip(resampled, -1, 1) * 32767).astype("<i2")


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), "<i2")


def noise(seconds: float, level: float, seed: int = 5) -> np.ndarray:
    samples = np.random.default_rng(seed).standard_normal(int(seconds * RATE)) * level
    return (np.clip(samples, -1, 1) * 32767).astype("<i2")


class VoiceCall:
    def __init__(self, url: str, sender: Optional[str] = None, start: Optional[Dict[str, Any]] = None,
                 headers: Optional[Dict[str, str]] = None) -> None:
        """`sender` None: the server issues one (in `ready`, with its session_token); a sender of
        the caller's choosing needs its session_token in `start`, or the channel secret in
        `headers` (the company's back end)."""
        self.url = url
        self.headers = headers or {}
        self.start_message = start if start is not None else {"type": "start", "sender": sender}
        self.events: List[Dict[str, Any]] = []
        self.audio: Dict[int, bytearray] = {}
        self.binary: List[float] = []            # arrival time of every audio message
        self.close_code: Optional[int] = None
        self.close_reason = ""
        self.speech_sent_at: Optional[float] = None  # when the last queued audio's last frame went out
        self._queue: List[np.ndarray] = []
        self._changed = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._ws = None
        self._tasks: List[asyncio.Task] = []
        self._speaking_turn = 0

    # ------------------------------------------------------------------ connection

    async def open(self, wait_ready: bool = True) -> "VoiceCall":
        self._ws = await websockets.connect(self.url, max_size=2 ** 24, open_timeout=30,
                                            extra_headers=self.headers)
        self._tasks.append(asyncio.ensure_future(self._receive()))
        if self.start_message:
            await self.send_json(self.start_message)
        if wait_ready:
            await self.wait_for("ready")
            self._tasks.append(asyncio.ensure_future(self._microphone()))
        return self

    async def send_json(self, message: Any) -> None:
        await self._ws.send(message if isinstance(message, str) else json.dumps(message))

    async def send_raw(self, data: Any) -> None:
        await self._ws.send(data)

    async def stop(self, timeout: float = 180) -> None:
        """Say we are done; the server answers the last turn, says bye and closes."""
        await self.send_json({"type": "stop"})
        await self.closed(timeout)

    async def closed(self, timeout: float = 60) -> None:
        await asyncio.wait_for(self._tasks[0], timeout)
        await self.hang_up()

    async def hang_up(self) -> None:
        """Stop the microphone and close the socket from this side (if still open)."""
        for task in self._tasks[1:]:
            task.cancel()
        if self._ws is not None:
            await self._ws.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # ------------------------------------------------------------------ the caller's side

    def say(self, *parts: np.ndarray) -> None:
        self._queue.extend(parts)
        self._drained.clear()

    async def said(self, timeout: float = 120) -> None:
        await asyncio.wait_for(self._drained.wait(), timeout)

    async def _microphone(self) -> None:
        started = time.monotonic()
        frames = 0
        pending = np.zeros(0, "<i2")
        while True:
            if not pending.size and self._queue:
                pending = np.concatenate(self._queue)
                self._queue.clear()
            if pending.size:
                frame, pending = pending[:FRAME], pending[FRAME:]
                if len(frame) < FRAME:
                    frame = np.concatenate([frame, np.zeros(FRAME - len(frame), "<i2")])
            else:
                frame = np.zeros(FRAME, "<i2")
            frames += 1
            delay = started + frames * FRAME / RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                await self._ws.send(frame.tobytes())
            except websockets.ConnectionClosed:
                return
            if not pending.size and not self._queue and not self._drained.is_set():
                self.speech_sent_at = time.monotonic()
                self._drained.set()

    # ------------------------------------------------------------------ the server's side

    async def _receive(self) -> None:
        try:
            async for message in self._ws:
                now = time.monotonic()
                if isinstance(message, bytes):
                    self.binary.append(now)
                    self.audio.setdefault(self._speaking_turn, bytearray()).extend(message)
                else:
                    event = json.loads(message)
                    event["_at"] = now
                    event["_audio_before"] = len(self.binary)
                    if event.get("type") == "speech_start":
                        self._speaking_turn = event["turn"]
                    self.events.append(event)
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        self.close_code = self._ws.close_code
        self.close_reason = self._ws.close_reason
        self._changed.set()

    def find(self, kind: str, **fields: Any) -> Optional[Dict[str, Any]]:
        for event in self.events:
            if event.get("type") == kind and all(event.get(k) == v for k, v in fields.items()):
                return event
        return None

    def all(self, kind: str) -> List[Dict[str, Any]]:
        return [event for event in self.events if event.get("type") == kind]

    async def wait_for(self, kind: str, timeout: float = 180, **fields: Any) -> Dict[str, Any]:
        return await self.wait_until(lambda: self.find(kind, **fields), timeout, f"{kind} {fields}")

    async def wait_until(self, found: Callable[[], Any], timeout: float = 180, what: str = "") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = found()
            if value:
                return value
            if self._tasks and self._tasks[0].done():
                raise AssertionError(f"the socket closed ({self.close_code}) before {what}: "
                                     f"{[e.get('type') for e in self.events]}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {what} within {timeout} s: {[e.get('type') for e in self.events]}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 1.0))
            except asyncio.TimeoutError:
                pass

    def reply_wav(self, turn: int) -> bytes:
        """The audio of a turn's reply as a WAV (at the rate its speech_start announced)."""
        rate = self.find("speech_start", turn=turn)["sample_rate"]
        return am.wav_bytes(np.frombuffer(bytes(self.audio.get(turn, b"")), "<i2").astype(np.float32) / 32768, rate)
