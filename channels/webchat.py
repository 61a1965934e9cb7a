"""The web chat channel: Rasa's socket.io channel with files, voice notes, thumbs and history.

It replaces the plain ``socketio:`` block of credentials.yml and stays compatible with it: the
same socket.io path (``/socket.io``), the same ``session_request`` / ``session_confirm`` /
``user_uttered`` / ``bot_uttered`` events and payload shapes, so existing socket.io clients go on
working. The widget (``web/widget/``, built into ``web/widget/dist/``) is served from here:

- ``GET /webhooks/webchat/``          a demo page with the widget on it
- ``GET /webhooks/webchat/widget.js`` the widget, one script for an embedding page:
  ``<script src="https://HOST/webhooks/webchat/widget.js" data-theme="light|dark|auto"></script>``
- ``POST /webhooks/webchat/speech``   ``{"text"}`` -> audio/wav of that text (read aloud toggle).
  Each request takes a token from the client address's media budget (channels/guard.py,
  ``PARLEY_RATE_ADDRESS_MEDIA_PER_MIN``) before its body is read: over it, 429 ``rate_limited``
  with ``Retry-After``. A body over 8 bytes per ``max_speech_chars`` + 1 KiB (9 KiB by default)
  is refused from its Content-Length, or as it streams in, before it is buffered (413
  ``payload_too_large``); text over ``max_speech_chars``: 413 ``text_too_long``; JSON nested
  too deep: 400 ``too_deeply_nested``; a lone surrogate: 400 ``invalid_text``
  (`channels.bounds`). At most ``max_concurrent_speech`` (2) texts are read aloud at once per Rasa
  instance, so read-aloud cannot crowd out voice calls on the perception service: a request waits
  up to ``speech_wait_s`` (3 s) for its turn, then gets 503 ``speech_busy`` with ``Retry-After``.
- ``GET /webhooks/webchat/health``    ``{"status": "ok"}``

Events, client -> server
------------------------
``session_request`` ``{"session_id"?, "session_token"?}``
    binds the socket to a conversation: the one named, when its ``session_token`` is right (a
    reload or reconnection resumes it), else a new one with a server-issued id (32 hex digits,
    128 random bits) and token (`channels.sessions`), so nobody can join a conversation by
    knowing or guessing its id. Answered ``session_token`` ``{"session_id", "session_token"}``
    (the client keeps both), ``session_confirm`` (the session id, as Rasa's channel sends it),
    then ``webchat_config`` (the limits below, so the widget checks files before sending them)
    and ``history`` ``{"session_id", "messages": [...]}``: the conversation's past messages from
    the tracker (`channels.webchat_output.history`), only when every user message in it came
    through this channel. Every later event of the socket belongs to that conversation: a
    ``session_id`` in a message is ignored.
``user_uttered`` ``{"message"?, "metadata"?, "client_id"?, "attachments"?: [{"name"?, "type"?, "data": <binary>}]}``
    the message, with pictures and voice notes as binary socket.io attachments. Checked by
    `MultimodalInput.check` (the REST multimodal channel's limits: size per kind, count, text
    length), then `MultimodalInput.understand` (stored, transcribed, analysed). The answer, to
    the room: ``typing`` ``{"on": true}``, ``transcript`` ``{"text", "client_id"}`` when a voice
    note had words (the widget shows it as the user's message), notes about unusable files and
    the bot messages as ``bot_uttered`` (with ``index``, see `channels.webchat_output`), then
    ``typing`` ``{"on": false}``.
``feedback`` ``{"bot_index", "rating": "up"|"down"}``
    a thumbs up/down on a bot message, appended to the tracker under the conversation lock as
    ``SlotSet("feedback", {"rating", "bot_index", "bot_text"})``; answered ``feedback_saved``
    ``{"bot_index", "rating"}``. The latest rating of a bot message counts.

Refusals are an ``error`` event ``{"code", "message", "client_id"?}`` to that socket, which
stays connected; nothing of a refused message is kept:

==========================================  ================================================
``invalid_message``                         the payload is not an object / a field has the wrong type
``missing_session``                         a message before ``session_request`` confirmed a session
``invalid_metadata``                        metadata neither an object nor a JSON object string
``invalid_attachment``                      an attachment without binary ``data``
``too_many_attachments``                    more files than ``max_attachments``
``empty_attachment``                        a 0-byte file
``attachment_too_large``                    a picture over ``max_image_bytes``, a voice note over
                                            ``max_audio_bytes``
``payload_too_large``                       the files add up to more than ``max_total_bytes``
``unsupported_attachment``                  a file that is not a picture (PNG, JPEG, WebP) or a
                                            voice note (WAV, OGG, WebM, MP3, M4A), by its bytes
                                            (a text file named .png); the REST channel answers
                                            this with a note in the conversation instead
``message_too_long``, ``empty_message``     as in the REST channel
``metadata_too_large``                      metadata over ``max_metadata_bytes`` (8 KiB) as JSON
``too_many_pixels``                         pictures over ``max_pixels_per_message`` together
``too_deeply_nested``                       a packet nested deeper than 32 levels (refused from
                                            its raw text, before it is decoded)
``invalid_text``                            a lone surrogate (``"\\ud800"``) in any string
``payload_too_large`` (JSON)                more than 64 KiB + ``max_metadata_bytes`` + 4 bytes
                                            per ``max_text_chars`` of JSON beside the files
``storage_unavailable``                     the attachment store failed; send again later
``unknown_message``, ``invalid_feedback``   thumbs on a bot message that does not exist / a bad rating
``not_ready``                               the server has no model loaded yet
==========================================  ================================================

A single frame over ``max_total_bytes`` (+ 64 KiB) cannot be read: engine.io closes that
connection (see `channels.webchat_socket`).

Options (credentials.yml, under ``channels.webchat.WebChatInput:``): Rasa's socket.io options
(``user_message_evt``, ``bot_message_evt``, ``namespace``, ``session_persistence``,
``socketio_path``, ``jwt_key``, ``jwt_method``, ``metadata_key``); ``cors_origins``: the sites
that may embed the widget (a list or a comma-separated string; default: the WEBCHAT_ORIGINS
environment variable; empty: only the server's own origin; ``*``: any); ``max_speech_chars``
(1000); ``widget_dir`` (web/widget/dist); and the REST multimodal channel's options
(``max_attachments``, ``max_image_bytes``, ``max_audio_bytes``, ``max_total_bytes``,
``max_text_chars``, ``max_metadata_bytes``, ``max_pixels_per_message``, ``perception_timeout``, ``perception_url``, ``attachments_dir``,
``retention_days``), which configure the `MultimodalInput` this channel uses to check and
understand messages.

Privacy: logs carry counts, sizes, codes and timings; never the text, transcripts, file names or
session ids.
"""
import asyncio
import logging
import os
import re
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

import rasa.core.channels.channel
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput
from rasa.core.lock_store import LockError
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered

from channels import bounds, guard, sessions
from channels.multimodal import MultimodalInput, RequestRefused, lock_store_down
from channels.webchat_output import FEEDBACK_SLOT, WebChatOutput, history
from channels.webchat_socket import BoundedAsyncServer
from perception.client import PerceptionClient, PerceptionError, PerceptionUnavailable

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
WIDGET_DIR = ROOT / "web" / "widget" / "dist"
FRAME_SLACK = 64 * 1024              # the JSON beside the files in one socket.io frame
SESSION_ID = re.compile(r"^[0-9a-f]{32}$")
SOCKETIO_OPTIONS = ("user_message_evt", "bot_message_evt", "namespace", "session_persistence",
                    "socketio_path", "jwt_key", "jwt_method", "metadata_key")
WEBCHAT_OPTIONS = ("cors_origins", "max_speech_chars", "widget_dir", "max_concurrent_speech",
                   "speech_wait_s")
MAX_NAME_CHARS = 255
STATIC_FILES = {"widget.js": "application/javascript; charset=utf-8",
                "index.html": "text/html; charset=utf-8"}


def _origins(value: Any) -> Optional[List[str]]:
    """cors_origins as a list of origins, or None for "*"."""
    if value is None:
        value = os.environ.get("WEBCHAT_ORIGINS", "")
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"webchat channel: cors_origins must be a list or a string, not {value!r}")
    origins = [str(item).strip().rstrip("/") for item in value if str(item).strip()]
    return None if "*" in origins else origins


def own_origin(environ: Dict[str, Any]) -> Optional[str]:
    host = environ.get("HTTP_X_FORWARDED_HOST") or environ.get("HTTP_HOST")
    if not host:
        return None
    scheme = environ.get("HTTP_X_FORWARDED_PROTO") or environ.get("wsgi.url_scheme") or "http"
    return f"{scheme.split(',')[0].strip()}://{host.split(',')[0].strip()}"


class WebChatInput(SocketIOInput):
    """Rasa's socket.io channel plus files, voice notes, thumbs, history and the widget."""

    @classmethod
    def name(cls) -> Text:
        return "webchat"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "WebChatInput":
        options = dict(credentials or {})
        socketio = {key: options.pop(key) for key in SOCKETIO_OPTIONS if key in options}
        webchat = {key: options.pop(key) for key in WEBCHAT_OPTIONS if key in options}
        # what is left configures the multimodal intake (unknown keys are refused there)
        return cls(multimodal=MultimodalInput.from_credentials(options), **socketio, **webchat)

    def __init__(self, user_message_evt: Text = "user_uttered", bot_message_evt: Text = "bot_uttered",
                 namespace: Optional[Text] = None, session_persistence: bool = True,
                 socketio_path: Optional[Text] = "/socket.io", jwt_key: Optional[Text] = None,
                 jwt_method: Optional[Text] = "HS256", metadata_key: Optional[Text] = "metadata",
                 multimodal: Optional[MultimodalInput] = None, cors_origins: Any = None,
                 max_speech_chars: int = 1000, widget_dir: Optional[str] = None,
                 max_concurrent_speech: int = 2, speech_wait_s: float = 3.0) -> None:
        super().__init__(user_message_evt, bot_message_evt, namespace, bool(session_persistence),
                         socketio_path, jwt_key, jwt_method, metadata_key)
        self.intake = multimodal or MultimodalInput()
        self.cors_origins = _origins(cors_origins)
        self.max_speech_chars = int(max_speech_chars)
        if self.max_speech_chars <= 0:
            raise ValueError("webchat channel: max_speech_chars must be > 0")
        self.max_concurrent_speech = int(max_concurrent_speech)
        self.speech_wait_s = float(speech_wait_s)
        if self.max_concurrent_speech <= 0 or not 0 <= self.speech_wait_s <= 60:
            raise ValueError("webchat channel: max_concurrent_speech must be > 0 and "
                             "speech_wait_s between 0 and 60")
        self._speaking = 0  # texts being read aloud now (this process)
        self.widget_dir = Path(widget_dir) if widget_dir else WIDGET_DIR
        # one socket.io frame holds one file (or the JSON part): the largest allowed, plus slack
        self.max_frame_bytes = self.intake.max_total_bytes + FRAME_SLACK
        # the JSON beside the files: the text, the metadata and some slack
        self.max_json_bytes = FRAME_SLACK + self.intake.max_metadata_bytes + 4 * self.intake.max_text_chars
        # a /speech body: {"text": ...} with every character escaped (\uXXXX), and slack
        self.max_speech_bytes = 8 * self.max_speech_chars + 1024
        self.app: Optional[Sanic] = None
        self._sessions: Dict[str, str] = {}  # socket sid -> its confirmed session id

    # ------------------------------------------------------------------ helpers

    def allowed_origin(self, origin: Optional[str], environ: Dict[str, Any]) -> bool:
        """The embedding sites: the server's own origin, the configured ones, or any ("*")."""
        if not origin:
            return True  # not a browser's cross-origin request
        origin = origin.rstrip("/")
        if self.cors_origins is None or origin == own_origin(environ):
            return True
        return origin in self.cors_origins

    def config(self) -> Dict[str, Any]:
        """The limits the widget checks before it sends (the server checks them again)."""
        intake = self.intake
        return {"max_attachments": intake.max_attachments, "max_image_bytes": intake.max_image_bytes,
                "max_audio_bytes": intake.max_audio_bytes, "max_total_bytes": intake.max_total_bytes,
                "max_text_chars": intake.max_text_chars, "max_speech_chars": self.max_speech_chars,
                "image_types": ["image/png", "image/jpeg", "image/webp"]}

    def _agent(self) -> Any:
        agent = getattr(getattr(self.app, "ctx", None), "agent", None)
        if agent is None or not agent.is_ready():
            raise RequestRefused(503, "not_ready", "the assistant is starting; try again shortly")
        return agent

    async def _count_bot_messages(self, sender_id: Text) -> int:
        try:
            tracker = await self._agent().tracker_store.retrieve_full_tracker(sender_id)
        except RequestRefused:
            return 0
        if tracker is None:
            return 0
        return sum(1 for event in tracker.events if isinstance(event, BotUttered))

    def get_output_channel(self) -> Optional[OutputChannel]:
        if self.sio is None:
            return super().get_output_channel()
        return WebChatOutput(self.sio, self.bot_message_evt, self._count_bot_messages)

    def _session_of(self, sid: Text) -> Text:
        """The conversation this socket confirmed with session_request (never a session_id sent
        in a message: that could name someone else's conversation)."""
        if not self.session_persistence:
            return sid
        session_id = self._sessions.get(sid)
        if not session_id:
            raise RequestRefused(400, "missing_session", "send session_request first")
        return session_id

    def _room(self, sid: Text, session_id: Text) -> Text:
        return session_id if self.session_persistence else sid

    # ------------------------------------------------------------------ messages

    def _attachments(self, raw: Any) -> List[bytes]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise RequestRefused(400, "invalid_attachment", "attachments must be a list")
        if len(raw) > self.intake.max_attachments:
            raise RequestRefused(400, "too_many_attachments",
                                 f"at most {self.intake.max_attachments} attachments per message, got {len(raw)}")
        blobs: List[bytes] = []
        for position, item in enumerate(raw, start=1):
            data = item.get("data") if isinstance(item, dict) else item
            if isinstance(data, bytearray):
                data = bytes(data)
            if not isinstance(data, bytes):
                raise RequestRefused(400, "invalid_attachment",
                                     f"attachment {position} must carry its file as binary 'data'")
            if isinstance(item, dict):
                for key in ("name", "type"):
                    value = item.get(key)
                    if value is not None and (not isinstance(value, str) or len(value) > MAX_NAME_CHARS):
                        raise RequestRefused(400, "invalid_attachment",
                                             f"attachment {position}: '{key}' must be a short string")
            blobs.append(data)
        total = sum(len(blob) for blob in blobs)
        if total > self.intake.max_total_bytes:
            raise RequestRefused(413, "payload_too_large",
                                 f"the files add up to more than {self.intake.max_total_bytes} bytes")
        return blobs

    def _incoming(self, sid: Text, data: Any) -> Tuple[Text, Any]:
        """(sender id, checked Incoming), or RequestRefused."""
        if not isinstance(data, dict):
            raise RequestRefused(400, "invalid_message", "the message must be an object")
        sender_id = self._session_of(sid)
        message = data.get("message")
        if message is not None and not isinstance(message, str):
            raise RequestRefused(400, "invalid_message", "message must be a string")
        metadata = data.get(self.metadata_key)
        if isinstance(metadata, str):
            try:
                metadata = bounds.loads_bounded(metadata) if metadata.strip() else None
            except ValueError:
                raise RequestRefused(400, "invalid_metadata", "metadata must be a JSON object")
        if metadata is not None and not isinstance(metadata, dict):
            raise RequestRefused(400, "invalid_metadata", "metadata must be a JSON object")
        blobs = self._attachments(data.get("attachments"))
        incoming = self.intake.check(sender_id, message, metadata, blobs)
        unsupported = sum(1 for upload in incoming.uploads if upload.kind is None)
        if unsupported:
            raise RequestRefused(415, "unsupported_attachment",
                                 "I can read pictures (PNG, JPEG or WebP) and voice notes (WAV, OGG, "
                                 "WebM, MP3 or M4A); " + (
                                     "this file is neither" if len(incoming.uploads) == 1 else
                                     f"{unsupported} of the files are neither"))
        return incoming.sender, incoming

    async def _handle(self, sid: Text, data: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]
                      ) -> None:
        sio = self.sio
        client_id = data.get("client_id") if isinstance(data, dict) else None
        if not isinstance(client_id, (str, int)) or isinstance(client_id, bool) or len(str(client_id)) > 64:
            client_id = None
        started = time.monotonic()
        try:
            sender_id, incoming = self._incoming(sid, data)
            environ = sio.get_environ(sid, namespace=self.namespace) or {}
            guard.limiter().check(self.name(), sender_id, guard.client_address(environ.get("sanic.request")),
                                  media=bool(incoming.uploads))
            if guard.is_shortcut(incoming.text):  # only a button the bot offered
                await guard.refuse_forged_shortcut(self._agent(), sender_id, incoming.text)
        except RequestRefused as refusal:
            extra = {"retry_after": refusal.retry_after} if isinstance(refusal, guard.RateLimited) else {}
            await self._error(sid, refusal, client_id, **extra)
            return
        room = self._room(sid, sender_id)
        await sio.emit("typing", {"on": True}, room=room, namespace=self.namespace)
        try:
            try:
                understood = await self.intake.understand(incoming)
            except RequestRefused as refusal:
                await self._error(sid, refusal, client_id)
                return
            output = WebChatOutput(sio, self.bot_message_evt, self._count_bot_messages)
            for first in understood.first:
                custom = first.get("custom")
                if isinstance(custom, dict) and "transcript" in custom:
                    await sio.emit("transcript", {"text": custom["transcript"], "client_id": client_id},
                                   room=room, namespace=self.namespace)
                elif first.get("text"):
                    await sio.emit(self.bot_message_evt, {"text": first["text"]}, room=room,
                                   namespace=self.namespace)
            if not understood.text:
                return
            try:
                await on_new_message(UserMessage(understood.text, output, sender_id,
                                                 input_channel=self.name(), metadata=understood.metadata))
            except LockError as problem:  # not processed without the conversation's lock: resend
                logger.error("webchat: lock store: %s", type(problem).__name__)
                await self._error(sid, lock_store_down(problem), client_id)
            except Exception:
                logger.exception("webchat: handling the message failed")
                await self._error(sid, RequestRefused(500, "internal_error",
                                                      "the message could not be answered; try again"),
                                  client_id)
        finally:
            await sio.emit("typing", {"on": False}, room=room, namespace=self.namespace)
            logger.info("webchat: message with %d attachment(s) handled in %.2f s",
                        len(incoming.uploads), time.monotonic() - started)

    async def _error(self, sid: Text, refusal: RequestRefused, client_id: Any = None, **extra: Any) -> None:
        logger.info("webchat: refused: %s", refusal.code)
        payload = {"code": refusal.code, "message": refusal.message, **extra}
        if client_id is not None:
            payload["client_id"] = client_id
        await self.sio.emit("error", payload, to=sid, namespace=self.namespace)

    # ------------------------------------------------------------------ thumbs and history

    async def _feedback(self, sid: Text, data: Any) -> None:
        bot_index = data.get("bot_index") if isinstance(data, dict) else None
        try:
            if not isinstance(data, dict):
                raise RequestRefused(400, "invalid_feedback", "feedback must be an object")
            session_id = self._session_of(sid)
            rating = data.get("rating")
            if rating not in ("up", "down"):
                raise RequestRefused(400, "invalid_feedback", "rating must be 'up' or 'down'")
            if not isinstance(bot_index, int) or isinstance(bot_index, bool) or bot_index < 0:
                raise RequestRefused(400, "invalid_feedback", "bot_index must be a number from 0")
            agent = self._agent()
            store = agent.tracker_store
            async with agent.lock_store.lock(session_id):
                full = await store.retrieve_full_tracker(session_id)
                bots = [e for e in (full.events if full else []) if isinstance(e, BotUttered)]
                if bot_index >= len(bots):
                    raise RequestRefused(404, "unknown_message", "there is no such bot message")
                tracker = await store.retrieve(session_id)
                tracker.update(SlotSet(FEEDBACK_SLOT, {"rating": rating, "bot_index": bot_index,
                                                       "bot_text": bots[bot_index].text or ""}))
                await store.save(tracker)
        except RequestRefused as refusal:
            await self._error(sid, refusal, bot_index=bot_index)
            return
        logger.info("webchat: feedback %s saved", rating)
        await self.sio.emit("feedback_saved", {"bot_index": bot_index, "rating": rating}, to=sid,
                            namespace=self.namespace)

    async def _history(self, session_id: Text) -> List[Dict[str, Any]]:
        if not SESSION_ID.match(session_id):
            return []
        try:
            tracker = await self._agent().tracker_store.retrieve_full_tracker(session_id)
        except RequestRefused:
            return []
        if tracker is None:
            return []
        users = [e for e in tracker.events if isinstance(e, UserUttered)]
        if any(e.input_channel != self.name() for e in users):
            return []  # a conversation of another channel: not shown
        return await history(list(tracker.events))

    # ------------------------------------------------------------------ HTTP routes

    async def _static(self, name: str) -> HTTPResponse:
        path = self.widget_dir / name
        try:
            body = await asyncio.to_thread(path.read_bytes)
        except OSError:
            return response.json({"error": {"code": "widget_not_built",
                                            "message": "the web chat widget is not built: run "
                                                       "`make envs` (scripts/build_widget.sh)"}},
                                 status=503)
        return response.raw(body, content_type=STATIC_FILES[name],
                            headers={"Cache-Control": "no-cache"})

    async def _speech(self, request: Request) -> HTTPResponse:
        def error(status: int, code: str, message: str, retry_after: Optional[int] = None) -> HTTPResponse:
            headers = {**cors, "Retry-After": str(retry_after)} if retry_after else cors
            return response.json({"error": {"code": code, "message": message}}, status=status,
                                 headers=headers)

        # the CORS answer is ours (WEBCHAT_ORIGINS), not Rasa's --cors: Sanic-CORS skips a request
        # marked as evaluated, so an origin allowed by both never gets two Allow-Origin headers
        from sanic_cors.core import SANIC_CORS_EVALUATED  # imported by Rasa's server already

        setattr(request.ctx, SANIC_CORS_EVALUATED, "1")
        origin = request.headers.get("origin")
        environ = {"HTTP_HOST": request.headers.get("host"), "wsgi.url_scheme": request.scheme,
                   "HTTP_X_FORWARDED_HOST": request.headers.get("x-forwarded-host"),
                   "HTTP_X_FORWARDED_PROTO": request.headers.get("x-forwarded-proto")}
        cors = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin and \
            self.allowed_origin(origin, environ) else {}
        if origin and not self.allowed_origin(origin, environ):
            return error(403, "origin_not_allowed", "this site may not use the web chat")
        # synthesis is as costly as a picture: the address's media budget, before the body is read
        try:
            guard.limiter().check(self.name(), None, guard.client_address(request), media=True)
        except guard.RateLimited as refusal:
            logger.info("webchat: speech refused: 429 rate_limited")
            return error(429, refusal.code, refusal.message, refusal.retry_after)
        # the widget sends text/plain (a simple cross-origin request, no preflight); JSON too
        try:
            body = bounds.loads_bounded(await self.intake._read_body(request, self.max_speech_bytes))
            text = body.get("text") if isinstance(body, dict) else None
            bounds.check_text(text)
        except RequestRefused as refusal:  # payload_too_large, too_deeply_nested, invalid_text
            logger.info("webchat: speech refused: %s %s", refusal.status, refusal.code)
            return error(refusal.status, refusal.code, refusal.message)
        except (ValueError, UnicodeDecodeError):
            return error(400, "invalid_body", 'send {"text": "..."}')
        if not isinstance(text, str) or not text.strip():
            return error(400, "missing_text", 'send {"text": "..."}')
        if len(text) > self.max_speech_chars:
            return error(413, "text_too_long", f"at most {self.max_speech_chars} characters")
        client = PerceptionClient(base_url=self.intake.perception_url,
                                  media_timeout=self.intake.perception_timeout)
        started = time.monotonic()
        while self._speaking >= self.max_concurrent_speech:  # read-aloud must not crowd out calls
            if time.monotonic() - started >= self.speech_wait_s:
                logger.info("webchat: speech refused: 503 speech_busy")
                return error(503, "speech_busy", "reading aloud is busy; try again shortly", 2)
            await asyncio.sleep(0.05)
        self._speaking += 1
        try:
            audio = await asyncio.to_thread(client.synthesize, text.strip(), audio_format="wav")
        except PerceptionUnavailable:
            logger.warning("webchat: speech unavailable")
            return error(503, "speech_unavailable", "reading aloud is not available right now")
        except PerceptionError as refused:
            logger.info("webchat: speech refused: %s %s", refused.status, refused.code)
            return error(422, "speech_refused", "this text cannot be read aloud")
        finally:
            self._speaking -= 1
        logger.info("webchat: %d characters read aloud in %.2f s", len(text), time.monotonic() - started)
        return response.raw(audio, content_type="audio/wav", headers={**cors, "Cache-Control": "no-store"})

    # ------------------------------------------------------------------ the blueprint

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = BoundedAsyncServer(
            async_mode="sanic", cors_allowed_origins=self.allowed_origin,
            max_http_buffer_size=self.max_frame_bytes,
            max_parts=self.intake.max_attachments, max_total_bytes=self.intake.max_total_bytes,
            max_json_bytes=self.max_json_bytes)
        channel = self

        class WebChatBlueprint(SocketBlueprint):
            def register(self, app: Sanic, options: Dict[Text, Any]) -> None:
                channel.app = app
                # Sanic's websocket frame limit (1 MiB by default) below ours would close the
                # connection on every picture: raise it to the largest frame we accept
                if app.config.WEBSOCKET_MAX_SIZE < channel.max_frame_bytes:
                    app.config.WEBSOCKET_MAX_SIZE = channel.max_frame_bytes
                super().register(app, options)

        webhook = WebChatBlueprint(sio, self.socketio_path, "webchat_webhook", __name__)
        self.sio = sio
        namespace = self.namespace

        @webhook.route("/", methods=["GET"])
        async def page(_: Request) -> HTTPResponse:
            return await self._static("index.html")

        @webhook.route("/health", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/widget.js", methods=["GET"])
        async def script(_: Request) -> HTTPResponse:
            return await self._static("widget.js")

        # a streaming route: the body is capped (max_speech_bytes) before it is read
        @webhook.route("/speech", methods=["POST"], stream=True)
        async def speech(request: Request) -> HTTPResponse:
            return await self._speech(request)

        @sio.on("connect", namespace=namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            if not self.jwt_key:
                return True
            token = auth.get("token") if isinstance(auth, dict) else None
            return bool(token and rasa.core.channels.channel.decode_bearer_token(
                token, self.jwt_key, self.jwt_algorithm))

        keys = sessions.keys()  # no channel secret: Rasa does not start

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: Text, data: Any = None) -> None:
            # a conversation is resumed only with its token; any other id gets a new session
            session_id = data.get("session_id") if isinstance(data, dict) else None
            token = data.get("session_token") if isinstance(data, dict) else None
            if keys.valid(session_id, token):
                resumed = True
            else:
                (session_id, token), resumed = keys.issue(), False
            previous = self._sessions.get(sid)
            if self.session_persistence:
                if previous and previous != session_id:
                    await sio.leave_room(sid, previous, namespace=namespace)
                self._sessions[sid] = session_id
                await sio.enter_room(sid, session_id, namespace=namespace)
            logger.info("webchat: session %s", "resumed" if resumed else "issued")
            await sio.emit("session_token", {"session_id": session_id, "session_token": token},
                           room=sid, namespace=namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)
            await sio.emit("webchat_config", self.config(), room=sid, namespace=namespace)
            messages = await self._history(session_id)
            await sio.emit("history", {"session_id": session_id, "messages": messages}, room=sid,
                           namespace=namespace)

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: Text, *_: Any) -> None:
            self._sessions.pop(sid, None)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: Text, data: Any = None) -> None:
            await self._handle(sid, data, on_new_message)

        @sio.on("feedback", namespace=namespace)
        async def feedback(sid: Text, data: Any = None) -> None:
            await self._feedback(sid, data)

        return webhook
