"""The voice channel: talk to the assistant in real time over a WebSocket, or send a recording.

Routes (under ``/webhooks/voice/``):

- ``GET  /webhooks/voice/``        a page to try it in a browser (microphone in, speaker out;
                                   vanilla JS and an AudioWorklet, served from voice/web/)
- ``WS   /webhooks/voice/stream``  the real-time call (protocol below)
- ``POST /webhooks/voice/turn``    one recorded utterance in, the spoken reply out (telephony
                                   gateways, the company's back end: ``Authorization: Bearer
                                   <channel secret>``, 401 ``missing_channel_secret`` /
                                   ``bad_channel_secret`` without it):
                                   ``?sender=<id>&format=wav|ogg``, the body is the
                                   audio (WAV, OGG/Opus, WebM, MP3, M4A; sniffed, not taken from
                                   Content-Type). 200: ``audio/wav`` or ``audio/ogg`` with headers
                                   ``X-Voice-Timings`` (JSON, ms) and ``X-Voice-Asked`` (the slot
                                   the assistant asks for next, or empty). Silence gets a spoken
                                   "Sorry, I didn't catch that". Errors are JSON
                                   ``{"error": {"code", "message"}}``: 400 ``missing_sender``,
                                   ``empty_attachment``, ``invalid_format``; 413
                                   ``attachment_too_large`` / ``payload_too_large``; 415
                                   ``unsupported_format``; 422 when the service cannot decode the
                                   audio; 503 ``perception_unavailable`` / ``speech_unavailable``.
- ``GET  /webhooks/voice/health``  ``{"status": "ok"}``

Wire protocol of ``/webhooks/voice/stream``
-------------------------------------------
Client -> server:

- text messages are JSON objects with a ``type``:
  ``{"type": "start", "sender": "<id>", "sample_rate": 16000, "encoding": "pcm_s16le",
  "metadata": {...}}`` first. Sender: leave it out and the server issues one (128 random bits)
  with a ``session_token`` (both in ``ready``); a call that resumes a conversation sends its
  ``sender`` and ``session_token`` (otherwise ``bad_session_token``, close 1008). A client whose
  upgrade request carries ``Authorization: Bearer <channel secret>`` (the company's back end)
  picks any sender without a token. ``metadata`` may hold a customer the back end signed in
  (channels/sessions.py; ``bad_customer_signature``, close 1008, when it does not verify).
  sample_rate and encoding are optional and must be these values; then ``{"type": "end_turn"}``
  (the caller finished speaking, e.g. push-to-talk released: the turn ends without waiting for
  silence), ``{"type": "ping"}`` (answered by ``{"type": "pong"}``) and ``{"type": "stop"}`` (the
  caller is done: the turn in progress is answered and spoken, then ``{"type": "bye"}`` and close
  1000).
- binary messages are audio: PCM16 little-endian, 16 kHz, mono, any length from one sample up
  to ``max_frame_bytes`` (20-100 ms frames are usual), sent in real time. Opus is not decoded
  on the socket: send Opus recordings to ``/turn``.

Server -> client, JSON events:

- ``ready``  {call, sender, session_token (when the server issued or resumed the sender),
  sample_rate, encoding, asked, end_of_turn_ms}: after ``start``
  (``call`` is the id the server's log lines carry).
- ``user_speech_start`` / ``user_speech_end`` {seconds}: the VAD heard the caller start / the
  turn ended (after ``end_of_turn_ms`` of silence: 700 ms, 1600 ms while an order number, an
  e-mail or digits are asked).
- ``transcript`` {turn, text}; ``no_words`` {turn} when the speech held no words.
- ``bot`` {turn, messages (Rasa's, with buttons etc. for a screen), spoken (what is said),
  asked (the slot asked next or null), end_of_turn_ms}.
- ``speech_start`` {turn, sample_rate, encoding: "pcm_s16le"}, then binary messages: the reply's
  audio, PCM16LE mono at that rate (Piper: 22050 Hz), in 100 ms chunks paced to real time with
  at most 400 ms ahead of playback; ``speech_end`` {turn, interrupted: false, seconds}.
- ``barge_in`` {turn}: the caller spoke over the reply; no more audio of that turn is sent and
  the client should drop what it has buffered. The new speech is the next turn.
- ``timings`` {turn, end_of_turn_ms, transcript_ms, rasa_ms, first_audio_ms, total_ms, outcome}:
  the last event of every turn (ms; null for a stage that did not happen; outcome ``spoken``,
  ``interrupted``, ``no_words``, ``nothing_to_say`` or an error code).
- ``error`` {code, message, turn, fatal}: ``fatal: false`` for a turn that failed
  (``perception_unavailable``, ``speech_unavailable``, ``assistant_unavailable``; the call goes
  on); ``fatal: true`` for a malformed message, then the socket closes with:
  1003 ``unsupported_sample_rate`` / ``unsupported_encoding`` / ``unknown_message``,
  1007 ``malformed_frame`` (odd byte count) / ``empty_frame`` / ``invalid_json`` /
  ``invalid_sender`` / ``invalid_metadata`` / ``too_deeply_nested`` (JSON nested deeper than 32
  levels, refused before it is parsed) / ``invalid_text`` (a lone surrogate such as
  ``"\\ud800"`` in any string; channels/bounds.py), 1008 ``not_started`` (audio before ``start``) /
  ``already_started`` / ``no_start`` (nothing within ``start_timeout_s``) / ``idle`` (no message
  for ``idle_timeout_s``), 1009 ``frame_too_large`` / ``message_too_large`` /
  ``metadata_too_large`` (the start message's metadata over 8 KiB as JSON). A client
  mistake never touches other calls; an unexpected failure closes with 1011 ``internal``.

Abuse guards (channels/guard.py; buckets shared through Redis when ``PARLEY_REDIS_URL`` is set):

- ``/turn`` takes a token from the media budgets of its ``sender`` (``PARLEY_RATE_MEDIA_PER_MIN``)
  and of the client address (``PARLEY_RATE_ADDRESS_MEDIA_PER_MIN``) before the body is read;
  over budget: 429 ``rate_limited`` with ``Retry-After`` (seconds) and nothing is transcribed.
- ``/stream``: opening a call takes a token from the address's call budget
  (``PARLEY_RATE_VOICE_CALLS_PER_MIN``); over it, the socket gets ``error`` {code
  ``rate_limited``, retry_after, fatal: true} and closes with 1013 (try again later). Each turn
  of a call takes a media token from the call's sender and address; a turn over budget is not
  transcribed nor answered: ``error`` {code ``rate_limited``, retry_after, turn, fatal: false},
  then its ``timings`` (outcome ``rate_limited``); the call goes on.
- A transcript is words, never Rasa's ``/intent{...}`` shortcut: a leading "/" is dropped before
  the text reaches Rasa (``guard.plain_text``), so NLU reads it like any other words.

Privacy: logs carry a random call id, turn numbers, codes, sizes and stage timings, never the
sender id, the caller's words, the transcript or the reply. Audio of live calls is not stored.

Options (credentials.yml, under ``channels.voice.VoiceInput:``): ``perception_url``,
``perception_timeout`` (s, 20), ``vad_timeout`` (s, 1), ``language`` ("en"; null: detected),
``tts_voice`` (null: the engine's), ``end_of_turn_ms`` (700), ``slow_end_of_turn_ms`` (1600),
``slow_slots`` (order_id, email, phone_last4, new_address, digits), ``max_turn_ms`` (30000),
``vad_hop_ms`` (96), ``vad_lookback_ms`` (992), ``vad_threshold`` (0.5), ``min_speech_ms`` (160),
``energy_gate_dbfs`` (-50), ``speculate_ms`` (224: transcription starts at a pause that long;
0: only at the end of the turn), ``chunk_ms`` (100), ``lead_ms`` (400), ``max_frame_bytes`` (32000:
1 s), ``max_control_chars`` (4096), ``start_timeout_s`` (10), ``idle_timeout_s`` (120),
``max_audio_bytes`` (/turn, 25 MiB), ``order_id_pattern`` (default: the company pack's).
"""
import asyncio
import json
import logging
import secrets
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from websockets.connection import OPEN
from websockets.exceptions import ConnectionClosed

from rasa.core.channels.channel import InputChannel, UserMessage

from channels import guard, sessions
from channels.multimodal import MAX_SENDER_CHARS, MultimodalInput, RequestRefused
from voice import frames
from voice.frames import FrameError
from voice.pipeline import (CallOptions, Services, TurnFailed, TurnTimings, VoiceSession,
                            answer_recording)
from voice.turns import TurnPolicy
from voice.vad import VadOptions

try:  # Sanic 21.12 raises its own error on a closed socket
    from sanic.exceptions import WebsocketClosed
except ImportError:  # pragma: no cover
    WebsocketClosed = ConnectionClosed

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
WEB = Path(__file__).resolve().parents[1] / "voice" / "web"
PAGES = {"": ("index.html", "text/html; charset=utf-8"),
         "voice.js": ("voice.js", "text/javascript; charset=utf-8"),
         "worklets.js": ("worklets.js", "text/javascript; charset=utf-8")}
MEDIA_TYPES = {"wav": "audio/wav", "ogg": "audio/ogg"}
CLOSED = (ConnectionClosed, WebsocketClosed)
CLOSE_TRY_AGAIN = 1013  # RFC 6455 registry: "Try Again Later"


class GuardedServices(Services):
    """Services whose text for Rasa is never an intent shortcut (see guard.plain_text), with the
    customer the company's back end signed in for this call, if any (channels/sessions.py)."""

    customer: Optional[Dict[str, Any]] = None

    async def converse(self, text: str, sender: str, metadata: Dict[str, Any]):
        if self.customer:
            metadata = {**metadata, sessions.SIGNED_IN_KEY: self.customer}
        return await super().converse(guard.plain_text(text), sender, metadata)


class GuardedSession(VoiceSession):
    """A call whose turns take tokens from the sender's and the address's media budgets."""

    address: Optional[str] = None

    async def _answer(self, turn: Any) -> None:
        try:
            guard.limiter().check("voice", self.sender, self.address, media=True)
        except guard.RateLimited as refusal:
            self.turn_number += 1
            if self.speculation is not None and self.speculation[0] == turn.speech_end:
                self.speculation = None  # its transcription is dropped
            logger.info("voice: %s turn %d over the rate limit", self.call, self.turn_number)
            await self.send_event({"type": "error", "code": refusal.code, "message": refusal.message,
                                   "turn": self.turn_number, "fatal": False,
                                   "retry_after": refusal.retry_after})
            await self._done(self.turn_number, TurnTimings(outcome="rate_limited"))
            return
        await super()._answer(turn)


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": {"code": code, "message": message}}, status=status)


def _number(name: str, value: Any, kind: type = int, minimum: float = 0) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"voice channel: {name} must be a number, not {value!r}")
    if number < minimum:
        raise ValueError(f"voice channel: {name} must be >= {minimum}")
    return number


class VoiceInput(InputChannel):
    """Real-time voice over a WebSocket, one-shot recordings over HTTP (see the docstring)."""

    OPTIONS = {"perception_url", "perception_timeout", "vad_timeout", "language", "tts_voice",
               "end_of_turn_ms", "slow_end_of_turn_ms", "slow_slots", "max_turn_ms", "vad_hop_ms",
               "vad_lookback_ms", "vad_threshold", "min_speech_ms", "energy_gate_dbfs", "chunk_ms",
               "lead_ms", "max_frame_bytes", "max_control_chars", "start_timeout_s", "idle_timeout_s",
               "max_audio_bytes", "order_id_pattern", "speculate_ms"}

    @classmethod
    def name(cls) -> Text:
        return "voice"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "VoiceInput":
        options = dict(credentials or {})
        unknown = sorted(set(options) - cls.OPTIONS)
        if unknown:
            raise ValueError(f"voice channel: unknown option(s) {', '.join(unknown)}")
        return cls(**options)

    def __init__(self, perception_url: Optional[str] = None, perception_timeout: float = 20.0,
                 vad_timeout: float = 1.0, language: Optional[str] = "en", tts_voice: Optional[str] = None,
                 end_of_turn_ms: int = 700, slow_end_of_turn_ms: int = 1600, slow_slots=None,
                 max_turn_ms: int = 30000, vad_hop_ms: int = 96, vad_lookback_ms: int = 992,
                 vad_threshold: float = 0.5, min_speech_ms: int = 160, energy_gate_dbfs: float = -50.0,
                 chunk_ms: int = 100, lead_ms: int = 400, max_frame_bytes: int = 32000,
                 max_control_chars: int = 4096, start_timeout_s: float = 10.0,
                 idle_timeout_s: float = 120.0, max_audio_bytes: int = 25 * MiB,
                 order_id_pattern: Optional[str] = None, speculate_ms: int = 224) -> None:
        self.perception_url = perception_url
        self.perception_timeout = _number("perception_timeout", perception_timeout, float, 0.1)
        self.vad_timeout = _number("vad_timeout", vad_timeout, float, 0.05)
        self.language = language or None
        self.tts_voice = tts_voice
        self.policy = TurnPolicy.from_options(int(end_of_turn_ms), int(slow_end_of_turn_ms), slow_slots,
                                              int(max_turn_ms))
        self.vad_options = VadOptions(hop_ms=int(vad_hop_ms), lookback_ms=int(vad_lookback_ms),
                                      threshold=float(vad_threshold), min_speech_ms=int(min_speech_ms),
                                      energy_gate_dbfs=float(energy_gate_dbfs), speculate_ms=int(speculate_ms))
        self.chunk_ms = _number("chunk_ms", chunk_ms, int, 10)
        self.lead_ms = _number("lead_ms", lead_ms, int, 0)
        self.max_frame_bytes = _number("max_frame_bytes", max_frame_bytes, int, 2)
        self.max_control_chars = _number("max_control_chars", max_control_chars, int, 64)
        self.start_timeout_s = _number("start_timeout_s", start_timeout_s, float, 0.1)
        self.idle_timeout_s = _number("idle_timeout_s", idle_timeout_s, float, 1.0)
        self.order_id_pattern = order_id_pattern
        # recordings sent to /turn get the multimodal channel's checks (sender, size, format)
        max_audio_bytes = _number("max_audio_bytes", max_audio_bytes, int, 1)
        self.intake = MultimodalInput(max_attachments=1, max_audio_bytes=max_audio_bytes,
                                      max_total_bytes=max_audio_bytes, perception_url=perception_url)
        self._pattern_loaded = order_id_pattern is not None

    # ------------------------------------------------------------------ helpers

    async def _call_options(self) -> CallOptions:
        if not self._pattern_loaded:  # the company pack's order number format, read once
            self._pattern_loaded = True
            try:
                from knowledge.pack import CompanyPack

                pack = await asyncio.to_thread(CompanyPack.load)
                self.order_id_pattern = str(pack.settings["orders"]["id_pattern"])
            except Exception as error:
                logger.warning("voice: no order number format from the company pack (%s)", type(error).__name__)
        return CallOptions(self.policy, self.vad_options, self.chunk_ms, self.lead_ms, self.order_id_pattern)

    def _services(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Services:
        return GuardedServices(on_new_message, lambda: getattr(request.app.ctx, "agent", None), self.perception_url,
                        self.perception_timeout, self.vad_timeout, self.language, self.tts_voice,
                        input_channel=self.name())

    # ------------------------------------------------------------------ the call

    async def _call(self, request: Request, ws: Any,
                    on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        call = f"call-{secrets.token_hex(4)}"
        closed = False
        keys = sessions.keys()
        # the company's back end (the channel secret) picks any sender; others get a new
        # server-issued one, or resume theirs with its token
        trusted = keys.bearer_ok(request.headers.get("authorization"))
        session_token: Optional[str] = None

        async def send_event(event: Dict[str, Any]) -> None:
            nonlocal closed
            if closed:
                return
            if session_token and event.get("type") == "ready":
                event = {**event, "session_token": session_token}
            try:
                await ws.send(json.dumps(event))
            except CLOSED:
                closed = True

        async def send_audio(data: bytes) -> None:
            nonlocal closed
            if closed:
                return
            try:
                await ws.send(data)
            except CLOSED:
                closed = True

        session: Optional[VoiceSession] = None
        opened = last_message = time.monotonic()
        address = guard.client_address(request)
        try:
            guard.limiter().check_call(self.name(), address)
        except guard.RateLimited as refusal:
            logger.info("voice: %s refused: over the address's call budget", call)
            await send_event({"type": "error", "code": refusal.code, "message": refusal.message,
                              "retry_after": refusal.retry_after, "fatal": True})
            await self._close(ws, CLOSE_TRY_AGAIN, refusal.code)
            return
        logger.info("voice: %s opened", call)
        try:
            while not closed:
                message = await ws.recv(timeout=0.1)
                now = time.monotonic()
                if message is None:
                    if getattr(getattr(ws, "connection", None), "state", OPEN) is not OPEN:
                        break  # the client closed while we were not waiting in recv
                    if session is None and now - opened > self.start_timeout_s:
                        raise FrameError("no_start", "send a start message first", frames.CLOSE_POLICY)
                    if now - last_message > self.idle_timeout_s:
                        raise FrameError("idle", f"nothing received for {self.idle_timeout_s:g} s",
                                         frames.CLOSE_POLICY)
                    if session is not None:
                        await session.tick(now)
                    continue
                last_message = now
                if isinstance(message, str):
                    control = frames.control(message, self.max_control_chars)
                    kind = control["type"]
                    if kind == "start":
                        if session is not None:
                            raise FrameError("already_started", "the call has started already", frames.CLOSE_POLICY)
                        sender, session_token = self._sender(control, trusted, keys)
                        start = frames.start_message({**control, "sender": sender}, MAX_SENDER_CHARS,
                                                     f"voice-{secrets.token_hex(8)}")
                        try:
                            client, customer = sessions.split_customer(start.metadata)
                        except RequestRefused as refusal:
                            raise FrameError(refusal.code, refusal.message, frames.CLOSE_POLICY)
                        services = self._services(request, on_new_message)
                        services.customer = customer
                        session = GuardedSession(call, start.sender, client or {}, services,
                                                 await self._call_options(), send_event, send_audio)
                        session.address = address
                        await session.begin()
                    elif kind == "ping":
                        await send_event({"type": "pong"})
                    elif session is None:
                        raise FrameError("not_started", "send a start message first", frames.CLOSE_POLICY)
                    elif kind == "end_turn":
                        await session.end_turn()
                    elif kind == "stop":
                        await session.finish()
                        await send_event({"type": "bye"})
                        await ws.close(frames.CLOSE_NORMAL, "bye")
                        return
                    else:
                        raise FrameError("unknown_message", f"unknown message type {kind[:40]!r}",
                                         frames.CLOSE_UNSUPPORTED)
                else:
                    if session is None:
                        raise FrameError("not_started", "send a start message before audio", frames.CLOSE_POLICY)
                    await session.audio(frames.pcm_frame(bytes(message), self.max_frame_bytes), now)
        except FrameError as error:
            logger.info("voice: %s closed: %s (%d)", call, error.code, error.close_code)
            await send_event({"type": "error", "code": error.code, "message": error.message, "fatal": True})
            await self._close(ws, error.close_code, error.code)
        except CLOSED:
            pass
        except asyncio.CancelledError:  # Sanic cancels recv when the socket goes away
            pass
        except Exception:
            logger.exception("voice: %s failed", call)
            await send_event({"type": "error", "code": "internal", "message": "the call failed", "fatal": True})
            await self._close(ws, 1011, "internal")
        finally:  # no await here: after a hang-up Sanic has cancelled this task
            if session is not None:
                session.abort()
            logger.info("voice: %s ended after %.1f s, %d turn(s)", call, time.monotonic() - opened,
                        session.turn_number if session is not None else 0)

    @staticmethod
    def _sender(control: Dict[str, Any], trusted: bool, keys: sessions.Secrets):
        """(the call's sender, its session token or None) from the start message."""
        sender = control.get("sender")
        if trusted:
            return sender, None
        if sender is None:
            return keys.issue()
        if not keys.valid(sender, control.get("session_token")):
            raise FrameError("bad_session_token", "this sender needs its session_token; leave the "
                             "sender out to start a new conversation", frames.CLOSE_POLICY)
        return sender, control.get("session_token")

    @staticmethod
    async def _close(ws: Any, code: int, reason: str) -> None:
        try:
            await ws.close(code, reason)
        except CLOSED:
            pass

    # ------------------------------------------------------------------ one recording

    async def _turn(self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        try:  # telephony gateways are the company's back end: the channel secret
            sessions.keys().check_bearer(request)
        except RequestRefused as refusal:
            logger.info("voice: recording refused: %s %s", refusal.status, refusal.code)
            return _error(refusal.status, refusal.code, refusal.message)
        audio_format = request.args.get("format", "wav")
        if audio_format not in MEDIA_TYPES:
            return _error(400, "invalid_format", "format must be wav or ogg")
        sender = request.args.get("sender")
        try:  # before the body is read: a flood costs no transcription (nor upload buffering)
            guard.limiter().check(self.name(), sender if sender and len(sender) <= MAX_SENDER_CHARS else None,
                                  guard.client_address(request), media=True)
        except guard.RateLimited as refusal:
            logger.info("voice: recording refused: 429 rate_limited")
            return response.json({"error": {"code": refusal.code, "message": refusal.message}}, status=429,
                                 headers={"Retry-After": str(refusal.retry_after)})
        try:
            body = await self.intake._read_body(request)
            incoming = self.intake.check(request.args.get("sender"), None, None, [body])
        except RequestRefused as refusal:
            logger.info("voice: recording refused: %s %s", refusal.status, refusal.code)
            return _error(refusal.status, refusal.code, refusal.message)
        upload = incoming.uploads[0]
        if upload.kind != "audio":
            return _error(415, "unsupported_format", "send WAV, OGG/Opus, WebM, MP3 or M4A audio")
        call = f"turn-{secrets.token_hex(4)}"
        try:
            audio, timings, summary = await answer_recording(
                self._services(request, on_new_message), incoming.sender, upload.data, audio_format,
                (await self._call_options()).order_id_pattern, call)
        except TurnFailed as failure:
            logger.info("voice: %s failed: %s", call, failure.code)
            return _error(failure.status, failure.code, failure.message)
        return response.raw(audio, content_type=MEDIA_TYPES[audio_format],
                            headers={"X-Voice-Timings": json.dumps(timings.as_dict()),
                                     "X-Voice-Asked": summary.get("asked") or ""})

    # ------------------------------------------------------------------ routes

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sessions.keys()  # no channel secret: Rasa does not start
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        async def page(name: str) -> HTTPResponse:
            filename, content_type = PAGES[name]
            body = await asyncio.to_thread((WEB / filename).read_bytes)
            return response.raw(body, content_type=content_type, headers={"Cache-Control": "no-cache"})

        @webhook.route("/", methods=["GET"])
        async def index(request: Request) -> HTTPResponse:
            return await page("")

        @webhook.route("/voice.js", methods=["GET"])
        async def script(request: Request) -> HTTPResponse:
            return await page("voice.js")

        @webhook.route("/worklets.js", methods=["GET"])
        async def worklets(request: Request) -> HTTPResponse:
            return await page("worklets.js")

        @webhook.route("/health", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.websocket("/stream")
        async def stream(request: Request, ws: Any) -> None:
            await self._call(request, ws, on_new_message)

        @webhook.route("/turn", methods=["POST"], stream=True)
        async def turn(request: Request) -> HTTPResponse:
            return await self._turn(request, on_new_message)

        return webhook
