"""A voice turn, and a voice call made of them.

    frames ─▶ SpeechDetector ─▶ TurnEnded ─▶ transcribe ─▶ written form ─▶ Rasa ─▶ speakable
             (energy gate +                  (perception     (the slot      (on_new_   (read-back,
              Silero VAD)                     /v1/transcribe)  being asked)  message)   no buttons)
                  │ SpeechStarted while the reply plays: barge-in              ─▶ Speaker ─▶ audio out
                  └──────────────────────────────────────────────────────────▶ (cancelled)

`Services` is everything a turn needs from outside (the perception service, Rasa and its
tracker): every blocking call runs in a worker thread. `VoiceSession` is one websocket call:
the detector runs on the receiving side, turns are answered one at a time by a worker task, and
the reply plays in its own task so that a barge-in can cancel it. The transcription of a turn
starts at the caller's first short pause (`Paused`, 224 ms) and is used when the turn ends on
that same speech, so most of Whisper's time overlaps the end-of-turn wait. `answer_recording` is the
same turn for one recorded utterance (the telephony HTTP endpoint).

Every turn logs one line with its stage timings in milliseconds, and nothing the caller said:
end of speech -> end of turn (the endpointing wait), transcript, Rasa reply, first audio byte.
"""
import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import numpy as np

from perception.client import PerceptionClient, PerceptionError, PerceptionUnavailable
from voice.frames import pcm_from_wav, wav_from_pcm
from voice.speaker import Speaker
from voice.speech import read_back, sentences, speakable_messages, written
from voice.turns import Asked, TurnPolicy, asked_by
from voice.vad import Paused, SpeechDetector, SpeechStarted, TurnEnded, VadOptions

logger = logging.getLogger(__name__)

READ_BACK_SLOTS = ("order_id", "email", "phone_last4")
SAY_AGAIN = "Sorry, I didn't catch that. Could you say it again?"
CANNOT_LISTEN = "Sorry, I can't listen right now. Please try again in a moment, or use the chat."
CANNOT_SPEAK = "Sorry, I can't speak right now; my answer is in the chat."
CANNOT_ANSWER = "Sorry, something went wrong on my side. Please try again in a moment."

SendEvent = Callable[[Dict[str, Any]], Awaitable[None]]
SendAudio = Callable[[bytes], Awaitable[None]]
_STOPPING: set = set()  # tasks of ended calls, cancelled and not finished yet


class TurnFailed(Exception):
    """A stage failed: `code` and a `message` the caller can be told."""

    def __init__(self, code: str, message: str, status: int = 503) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def taken_this_turn(tracker: Any, slots=READ_BACK_SLOTS) -> Dict[str, str]:
    """The read-back slots set since the caller's last message, with their final values."""
    if tracker is None:
        return {}
    events = list(tracker.get("events") or []) if isinstance(tracker, dict) else list(tracker.events)

    def kind(event: Any) -> str:
        return event.get("event", "") if isinstance(event, dict) else getattr(event, "type_name", "")

    last_user = max((i for i, event in enumerate(events) if kind(event) == "user"), default=-1)
    values: Dict[str, Any] = {}
    for event in events[last_user + 1:]:
        if kind(event) != "slot":
            continue
        key = event.get("name") if isinstance(event, dict) else getattr(event, "key", None)
        if key in slots:
            values[key] = event.get("value") if isinstance(event, dict) else getattr(event, "value", None)
    return {key: value for key, value in values.items() if isinstance(value, str) and value}


@dataclass
class TurnTimings:
    """Milliseconds of each stage of one turn (None: the stage did not happen)."""

    end_of_turn_ms: Optional[float] = None    # end of speech -> end of turn declared (endpointing)
    transcript_ms: Optional[float] = None     # end of turn -> transcript
    rasa_ms: Optional[float] = None           # transcript -> Rasa's reply
    first_audio_ms: Optional[float] = None    # Rasa's reply -> first audio byte sent (synthesis)
    total_ms: Optional[float] = None          # end of speech -> first audio byte sent
    outcome: str = "spoken"

    def as_dict(self) -> Dict[str, Any]:
        return {key: (round(value, 1) if isinstance(value, float) else value) for key, value in self.__dict__.items()}

    def log(self, call: str, turn: int) -> None:
        def ms(value: Optional[float]) -> str:
            return "-" if value is None else f"{value:.0f}"

        logger.info("voice: %s turn %d %s: end of speech -> end of turn %s ms, transcript %s ms, "
                    "Rasa reply %s ms, first audio byte %s ms; end of speech -> first audio byte %s ms",
                    call, turn, self.outcome, ms(self.end_of_turn_ms), ms(self.transcript_ms),
                    ms(self.rasa_ms), ms(self.first_audio_ms), ms(self.total_ms))


def _ms(start: Optional[float], end: Optional[float]) -> Optional[float]:
    return None if start is None or end is None else max(0.0, (end - start) * 1000.0)


class Services:
    """The perception service (two clients: a fast one for the VAD, one for media) and Rasa."""

    def __init__(self, on_new_message: Callable[[Any], Awaitable[Any]], agent: Callable[[], Any],
                 perception_url: Optional[str] = None, timeout: float = 20.0, vad_timeout: float = 1.0,
                 language: Optional[str] = "en", tts_voice: Optional[str] = None,
                 input_channel: str = "voice") -> None:
        self.on_new_message = on_new_message
        self.agent = agent
        self.language = language
        self.tts_voice = tts_voice
        self.input_channel = input_channel
        self._vad = PerceptionClient(perception_url, timeout=vad_timeout)
        self._media = PerceptionClient(perception_url, timeout=timeout, media_timeout=timeout)
        self._media_lock = asyncio.Lock()  # one requests.Session: one call at a time

    async def vad(self, pcm: bytes) -> List[float]:
        result = await asyncio.to_thread(self._vad.vad, pcm)
        return list(result.get("probabilities") or [])

    async def _media_call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        async with self._media_lock:
            return await asyncio.to_thread(getattr(self._media, method), *args, **kwargs)

    async def transcribe(self, audio: bytes) -> Dict[str, Any]:
        return await self._media_call("transcribe", audio, language=self.language)

    async def synthesize_pcm(self, text: str) -> Tuple[bytes, int]:
        wav = await self._media_call("synthesize", text, voice=self.tts_voice, audio_format="wav")
        return await asyncio.to_thread(pcm_from_wav, wav)

    async def synthesize_file(self, text: str, audio_format: str) -> bytes:
        return await self._media_call("synthesize", text, voice=self.tts_voice, audio_format=audio_format)

    async def tracker(self, sender: str) -> Any:
        """The conversation's tracker (None when Rasa has no agent or store to ask)."""
        try:
            store = getattr(self.agent(), "tracker_store", None)
            return await store.retrieve(sender) if store is not None else None
        except Exception:
            logger.exception("voice: the tracker could not be read")
            return None

    async def converse(self, text: str, sender: str, metadata: Dict[str, Any]) -> Tuple[List[Dict[str, Any]], Any]:
        """One message through Rasa: the bot's messages and the tracker after them."""
        from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

        collector = CollectingOutputChannel()
        await self.on_new_message(UserMessage(text, collector, sender, input_channel=self.input_channel,
                                              metadata=metadata))
        return collector.messages, await self.tracker(sender)


@dataclass
class Understood:
    transcript: str
    result: Dict[str, Any]


async def hear(services: Services, audio: bytes) -> Understood:
    """Transcribe one utterance (a WAV or any file the perception service decodes)."""
    try:
        result = await services.transcribe(audio)
    except PerceptionUnavailable:
        raise TurnFailed("perception_unavailable", CANNOT_LISTEN)
    except PerceptionError as error:
        raise TurnFailed(error.code or "undecodable_audio", "Sorry, I couldn't use that audio.",
                         status=error.status or 422)
    return Understood(" ".join(str(result.get("text") or "").split()), result)


async def reply(services: Services, sender: str, understood: Understood, asked: Asked,
                order_id_pattern: Optional[str], client_metadata: Optional[Dict[str, Any]]
                ) -> Tuple[List[Dict[str, Any]], str, Asked]:
    """Rasa's answer to what was heard: (bot messages, what to say, what is asked next)."""
    result = understood.result
    metadata: Dict[str, Any] = {"voice": {"transcript": understood.transcript,
                                          "language": result.get("language"),
                                          "duration": result.get("duration")}}
    if client_metadata:
        metadata["client"] = client_metadata
    text = written(understood.transcript, asked.slot, order_id_pattern)
    try:
        messages, tracker = await services.converse(text, sender, metadata)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("voice: Rasa failed on a turn")
        raise TurnFailed("assistant_unavailable", CANNOT_ANSWER, status=500)
    confirmation = read_back(taken_this_turn(tracker))
    spoken = " ".join(part for part in (confirmation, speakable_messages(messages)) if part)
    return messages, spoken, asked_by(tracker)


async def answer_recording(services: Services, sender: str, audio: bytes, audio_format: str,
                           order_id_pattern: Optional[str], call: str) -> Tuple[bytes, TurnTimings, Dict[str, Any]]:
    """One recorded utterance in, the spoken reply out (the telephony endpoint).

    Returns (audio in `audio_format`, timings, a summary without the caller's words); raises
    TurnFailed when the perception service cannot hear or speak."""
    started = time.monotonic()
    timings = TurnTimings()
    asked = asked_by(await services.tracker(sender))
    understood = await hear(services, audio)
    heard_at = time.monotonic()
    timings.transcript_ms = _ms(started, heard_at)
    summary: Dict[str, Any] = {"asked": None}
    if not understood.transcript:
        spoken, timings.outcome = SAY_AGAIN, "no_words"
        summary["asked"] = asked.slot
    else:
        messages, spoken, asked = await reply(services, sender, understood, asked, order_id_pattern, None)
        timings.rasa_ms = _ms(heard_at, time.monotonic())
        summary.update(asked=asked.slot, messages=len(messages))
        if not spoken:
            spoken, timings.outcome = "Okay.", "nothing_to_say"
    answered = time.monotonic()
    try:
        data = await services.synthesize_file(spoken[:2000], audio_format)
    except PerceptionError:
        raise TurnFailed("speech_unavailable", CANNOT_SPEAK)
    timings.first_audio_ms = _ms(answered, time.monotonic())
    timings.log(call, 1)
    return data, timings, summary


@dataclass
class CallOptions:
    policy: TurnPolicy = field(default_factory=TurnPolicy)
    vad: VadOptions = field(default_factory=VadOptions)
    chunk_ms: int = 100
    lead_ms: int = 400
    order_id_pattern: Optional[str] = None


class VoiceSession:
    """One websocket call (see channels/voice.py for the wire protocol)."""

    def __init__(self, call: str, sender: str, metadata: Dict[str, Any], services: Services,
                 options: CallOptions, send_event: SendEvent, send_audio: SendAudio) -> None:
        self.call = call
        self.sender = sender
        self.metadata = metadata
        self.services = services
        self.options = options
        self.send_event = send_event
        self.send_audio = send_audio
        self.detector = SpeechDetector(services.vad, options.vad, options.policy.end_of_turn_ms,
                                       options.policy.max_turn_ms)
        self.asked = Asked()
        self.turns: "asyncio.Queue[TurnEnded]" = asyncio.Queue()
        self.turn_number = 0
        self.replying: Optional[int] = None      # the turn being answered (heard, thought, spoken)
        self.interrupted: set = set()
        self.playback: Optional[asyncio.Task] = None
        self.worker: Optional[asyncio.Task] = None
        # (sample where the speech ended, its transcription started at a pause)
        self.speculation: Optional[Tuple[int, asyncio.Task]] = None
        self.timings: List[Dict[str, Any]] = []

    # ------------------------------------------------------------------ lifecycle

    async def begin(self) -> None:
        self._listen_for(asked_by(await self.services.tracker(self.sender)))
        self.worker = asyncio.ensure_future(self._work())
        await self.send_event({"type": "ready", "call": self.call, "sender": self.sender, "sample_rate": 16000,
                               "encoding": "pcm_s16le", "asked": self.asked.slot,
                               "end_of_turn_ms": self.detector.end_silence_ms})

    async def finish(self) -> None:
        """The caller is done sending ("stop"): the last turn is answered and spoken, then done."""
        turn = self.detector.flush("stopped")
        if turn is not None:
            await self._turn_ended(turn)
        await self.turns.join()

    def abort(self) -> None:
        """The socket is gone: stop everything at once. Synchronous, because it runs when Sanic
        has cancelled the handler (a client that hung up), whose task may be dropped at its next
        await; the cancelled tasks are kept referenced until they have finished."""
        for task in (self.playback, self.worker, self.speculation[1] if self.speculation else None):
            if task is not None and not task.done():
                task.cancel()
                _STOPPING.add(task)
                task.add_done_callback(_STOPPING.discard)

    def _listen_for(self, asked: Asked) -> None:
        self.asked = asked
        self.detector.end_silence_ms = self.options.policy.silence_ms(asked)

    # ------------------------------------------------------------------ input

    async def audio(self, samples: np.ndarray, received_at: float) -> None:
        for event in await self.detector.push(samples, received_at):
            if isinstance(event, SpeechStarted):
                await self.send_event({"type": "user_speech_start"})
                await self._barge_in()
            elif isinstance(event, Paused):
                self._speculate(event)
            else:
                await self._turn_ended(event)

    async def end_turn(self) -> None:
        """The client says the caller finished (push-to-talk released)."""
        turn = self.detector.flush("client")
        if turn is not None:
            await self._turn_ended(turn)

    async def tick(self, now: float) -> None:
        """No frames for a while (a client that sends only while the caller talks): the
        turn ends after the same silence it would need in audio."""
        if self.detector.speaking and (now - self.detector.idle_since) * 1000 >= self.detector.end_silence_ms:
            turn = self.detector.flush("client_silent")
            if turn is not None:
                await self._turn_ended(turn)

    def _speculate(self, pause: Paused) -> None:
        """Transcribe the turn so far while waiting to know whether it is over. A transcription
        the caller made stale by speaking again is left to finish (its thread cannot be stopped)
        and dropped."""
        task = asyncio.ensure_future(hear(self.services, wav_from_pcm(pause.pcm)))
        task.add_done_callback(lambda done: done.cancelled() or done.exception())  # retrieved here
        self.speculation = (pause.speech_end, task)

    async def _transcript(self, turn: TurnEnded) -> Understood:
        if self.speculation is not None and self.speculation[0] == turn.speech_end:
            task, self.speculation = self.speculation[1], None
            return await task  # the same audio, transcribed since the pause
        return await hear(self.services, wav_from_pcm(turn.pcm))

    async def _turn_ended(self, turn: TurnEnded) -> None:
        await self.send_event({"type": "user_speech_end", "seconds": round(turn.seconds, 3)})
        self.turns.put_nowait(turn)

    async def _barge_in(self) -> None:
        """The caller speaks while a reply is on its way or playing: it stops, they have the turn."""
        if self.replying is None or self.replying in self.interrupted:
            return
        turn = self.replying
        self.interrupted.add(turn)
        playback = self.playback
        if playback is not None and not playback.done():
            playback.cancel()
            await asyncio.gather(playback, return_exceptions=True)
        await self.send_event({"type": "barge_in", "turn": turn})

    # ------------------------------------------------------------------ turns

    async def _work(self) -> None:
        while True:
            turn = await self.turns.get()
            try:
                await self._answer(turn)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("voice: %s a turn failed", self.call)
                await self._error("internal", CANNOT_ANSWER)
            finally:
                self.replying = None
                self.turns.task_done()

    async def _error(self, code: str, message: str, turn: Optional[int] = None) -> None:
        await self.send_event({"type": "error", "code": code, "message": message, "turn": turn, "fatal": False})

    async def _answer(self, turn: TurnEnded) -> None:
        self.turn_number += 1
        number = self.turn_number
        self.replying = number
        clock = time.monotonic
        timings = TurnTimings(end_of_turn_ms=_ms(turn.speech_end_at, turn.ended_at))
        try:
            understood = await self._transcript(turn)
        except TurnFailed as failure:
            timings.outcome = failure.code
            await self._error(failure.code, failure.message, number)
            await self._done(number, timings)
            return
        heard_at = clock()
        timings.transcript_ms = _ms(turn.ended_at, heard_at)
        if not understood.transcript:  # a cough, a door: the VAD heard speech, Whisper no words
            timings.outcome = "no_words"
            await self.send_event({"type": "no_words", "turn": number})
            await self._done(number, timings)
            return
        await self.send_event({"type": "transcript", "turn": number, "text": understood.transcript})
        try:
            messages, spoken, asked = await reply(self.services, self.sender, understood, self.asked,
                                                  self.options.order_id_pattern, self.metadata)
        except TurnFailed as failure:
            timings.outcome = failure.code
            await self._error(failure.code, failure.message, number)
            await self._done(number, timings)
            return
        answered_at = clock()
        timings.rasa_ms = _ms(heard_at, answered_at)
        self._listen_for(asked)
        await self.send_event({"type": "bot", "turn": number, "messages": messages, "spoken": spoken,
                               "asked": asked.slot, "end_of_turn_ms": self.detector.end_silence_ms})
        if number in self.interrupted or not spoken:
            timings.outcome = "interrupted" if number in self.interrupted else "nothing_to_say"
            await self._done(number, timings)
            return
        speaker = Speaker(self.services.synthesize_pcm, self.send_audio, self.send_event,
                          self.options.chunk_ms, self.options.lead_ms)
        self.playback = asyncio.ensure_future(speaker.speak(number, sentences(spoken)))
        await asyncio.wait({self.playback})
        if speaker.first_audio_at is not None:
            timings.first_audio_ms = _ms(answered_at, speaker.first_audio_at)
            timings.total_ms = _ms(turn.speech_end_at, speaker.first_audio_at)
        if self.playback.cancelled():
            timings.outcome = "interrupted"
        elif self.playback.exception() is not None:
            error = self.playback.exception()
            timings.outcome = "speech_unavailable"
            if not isinstance(error, PerceptionError):
                logger.error("voice: %s playback failed: %s", self.call, type(error).__name__)
            await self._error("speech_unavailable", CANNOT_SPEAK, number)
        self.playback = None
        await self._done(number, timings)

    async def _done(self, number: int, timings: TurnTimings) -> None:
        self.replying = None
        timings.log(self.call, number)
        self.timings.append({"turn": number, **timings.as_dict()})
        await self.send_event({"type": "timings", "turn": number, **timings.as_dict()})
