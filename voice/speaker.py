"""Speaker: the reply, synthesized sentence by sentence and streamed paced to real time.

The first sentence is synthesized alone so that its audio starts as soon as possible; the next
sentence is synthesized while the current one streams. Audio goes out in `chunk_ms` chunks, at
most `lead_ms` ahead of where the listener's playback is, so that when the caller barges in the
task is cancelled and the listener has at most `lead_ms` left to drop. `speech_end` is sent when
the listener's playback has reached the end (so a barge-in during the last `lead_ms` still
counts).

Events (JSON): {"type": "speech_start", "turn", "sample_rate", "encoding": "pcm_s16le"} before
the first chunk, {"type": "speech_end", "turn", "interrupted": false, "seconds"} after the last.
A cancelled Speaker sends nothing more: the session sends the barge-in event.
"""
import asyncio
import time
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

Synthesize = Callable[[str], Awaitable[Tuple[bytes, int]]]   # text -> (PCM16LE mono, sample rate)
SendAudio = Callable[[bytes], Awaitable[None]]
SendEvent = Callable[[Dict[str, Any]], Awaitable[None]]


class Speaker:
    def __init__(self, synthesize: Synthesize, send_audio: SendAudio, send_event: SendEvent,
                 chunk_ms: int = 100, lead_ms: int = 400, clock: Callable[[], float] = time.monotonic) -> None:
        self.synthesize = synthesize
        self.send_audio = send_audio
        self.send_event = send_event
        self.chunk_ms = chunk_ms
        self.lead_s = lead_ms / 1000.0
        self.clock = clock
        self.first_audio_at: Optional[float] = None
        self.seconds_sent = 0.0

    async def speak(self, turn: int, sentences: List[str]) -> None:
        """Stream every sentence; raises what synthesize raises (nothing was half-said then:
        the caller tells the listener)."""
        if not sentences:
            return
        pending: Optional[asyncio.Task] = asyncio.ensure_future(self.synthesize(sentences[0]))
        started = 0.0   # clock time at which the listener's playback of sample 0 began
        rate = 0
        try:
            for index in range(len(sentences)):
                pcm, rate_now = await pending
                pending = (asyncio.ensure_future(self.synthesize(sentences[index + 1]))
                           if index + 1 < len(sentences) else None)
                if self.first_audio_at is None:
                    rate = rate_now
                    await self.send_event({"type": "speech_start", "turn": turn, "sample_rate": rate,
                                           "encoding": "pcm_s16le"})
                chunk = max(2, rate_now * self.chunk_ms // 1000 * 2)
                for offset in range(0, len(pcm), chunk):
                    now = self.clock()
                    if self.first_audio_at is None:
                        started = now
                    elif now - started > self.seconds_sent:   # the listener ran dry: playback restarts now
                        started = now - self.seconds_sent
                    ahead = self.seconds_sent - (now - started)
                    if ahead > self.lead_s:
                        await asyncio.sleep(ahead - self.lead_s)
                    piece = pcm[offset:offset + chunk]
                    await self.send_audio(piece)
                    if self.first_audio_at is None:
                        self.first_audio_at = self.clock()
                    self.seconds_sent += len(piece) / 2 / rate_now
            remaining = self.seconds_sent - (self.clock() - started)
            if remaining > 0:
                await asyncio.sleep(remaining)
            await self.send_event({"type": "speech_end", "turn": turn, "interrupted": False,
                                   "seconds": round(self.seconds_sent, 3)})
        finally:
            if pending is not None and not pending.done():
                pending.cancel()
