"""The multimodal REST channel: text, pictures and voice notes in one message.

``POST /webhooks/multimodal/webhook`` (``GET /webhooks/multimodal/`` answers ``{"status": "ok"}``)

- ``multipart/form-data``: ``sender`` (required), ``message`` (optional text), ``metadata``
  (optional JSON object as a string) and zero or more files in the field ``attachment``: pictures
  (PNG, JPEG, WebP) and voice notes (WAV, OGG, WebM, MP3, M4A). The format comes from the file's
  first bytes (`perception.formats.sniff`); the file name and the part's Content-Type are ignored.
- ``application/json``: ``{"sender", "message", "metadata"}`` like Rasa's REST channel (text only);
  ``application/x-www-form-urlencoded`` with the same three fields is read too (no files).

Who may send (channels/sessions.py): the company's back end, with ``Authorization: Bearer <channel
secret>`` (401 ``missing_channel_secret`` / ``bad_channel_secret``); with ``public: true`` any
client: no ``sender`` starts a new conversation (its id and token come back in the
``X-Parley-Session`` / ``X-Parley-Session-Token`` headers), a ``sender`` needs its token in
``X-Parley-Session-Token`` (403 ``bad_session_token``). A customer the back end signed in
(``metadata`` ``customer`` + ``customer_signature``) becomes ``metadata["signed_in_customer"]``
(403 ``bad_customer_signature`` when it does not verify); the rest of the client's metadata goes
to ``metadata["client"]``.

The answer is Rasa's REST answer: a JSON list of bot messages. When a voice note was transcribed,
the first element is ``{"recipient_id": sender, "custom": {"transcript": "..."}}``; notes about
files that could not be used (below) come next, then the assistant's answer.

What happens, in order:

1. The request is checked before anything is kept. A Content-Length over ``max_total_bytes`` is
   refused before one byte of the body is read; a body without Content-Length (chunked) is
   counted while it streams in and refused as soon as it passes the cap (the route is a Sanic
   streaming route, so Sanic's global REQUEST_MAX_SIZE is not what limits it, and nothing
   unbounded is buffered).
2. Valid files are saved in the AttachmentStore (`attachments/store.py`); their references (never
   bytes) go into ``metadata["attachments"]``; the client's metadata object goes into
   ``metadata["client"]``.
3. Voice notes are transcribed and pictures analysed by the perception service, all at once, in a
   small thread pool (never on Rasa's event loop), each bounded by ``perception_timeout``. A
   transcript becomes the message text (typed words first, then the transcripts) and
   ``metadata["voice"] = {attachment_id, transcript, language, duration}`` (when several voice
   notes carry words, ``metadata["voices"]`` lists them all and ``voice`` is the first). A
   picture's analysis (the perception answer as it is) is saved with ``store.save_analysis``; when
   the service is down or slow nothing is saved and the AttachmentAnalyzer marks the picture as not
   analysed. Pictures with no words give the text ``[image]``.
4. ``UserMessage(text, collector, sender, input_channel="multimodal", metadata=metadata)`` goes to
   Rasa, as in RestInput.

Bad input: who is told, and how
--------------------------------
A mistake of the *client program* is answered with a 4xx status and ``{"error": {"code",
"message"}}``; then nothing of that request is kept or processed, and the client, which still has
everything, can correct and resend it (nothing is half done):

================================================  ======  =========================
missing or empty ``sender`` (or over 255 chars)   400     ``missing_sender``
``metadata`` not a JSON object                    400     ``invalid_metadata``
body that is not valid JSON / multipart           400     ``invalid_body``
other Content-Type                                415     ``unsupported_media_type``
a file in another field than ``attachment``, or   400     ``unexpected_field``
``attachment`` sent as a plain text field
more than ``max_attachments`` files (e.g. 12)     400     ``too_many_attachments``
an empty (0-byte) file                            400     ``empty_attachment``
a picture over ``max_image_bytes`` / a voice      413     ``attachment_too_large``
note over ``max_audio_bytes``
body over ``max_total_bytes``                     413     ``payload_too_large``
text over ``max_text_chars``                      413     ``message_too_long``
no text and no file at all                        400     ``empty_message``
JSON (the body or ``metadata``) nested deeper     400     ``too_deeply_nested``
than 32 levels (checked before it is parsed)
a lone surrogate (``"\\ud800"``) in ``sender``,   400     ``invalid_text``
``message`` or ``metadata`` (refused, not
repaired)
``metadata`` over ``max_metadata_bytes`` as       413     ``metadata_too_large``
compact UTF-8 JSON
pictures adding up to more than                   413     ``too_many_pixels``
``max_pixels_per_message`` (width x height,
read from their headers)
================================================  ======  =========================

(``channels.bounds`` holds the depth, Unicode, metadata and pixel checks every channel applies.)

What only the *customer* can fix (they picked the wrong file, the recording is silent) is told to
them in the conversation: a 200 answer with a bot message that says what went wrong, and
everything else in the same message (typed words, the other files) is still processed:

- a file that is not one of the formats above (a text file named ``.png``, a PDF, a GIF): not
  kept; "I couldn't open one of the files you sent ...";
- a picture the perception service refuses (damaged, or too many pixels): removed from the store
  and from the message; "I couldn't open the picture you sent ...";
- a voice note with no words (silence, noise): "I couldn't hear any words in that voice note ...";
- a voice note the service refuses (damaged, too long): it says so;
- the perception service down, failing or slower than ``perception_timeout`` for a voice note:
  an apology that asks the customer to type instead; the voice note stays stored and referenced
  when the message goes on to Rasa (an agent can still listen to it).

When nothing usable is left (only unusable files, no words), the message does not reach Rasa:
the answer is just those notes.

A disk that cannot store the files gives ``503 storage_unavailable`` (nothing kept, resend later).
In scale-out, a conversation store that is down gives ``503 store_unavailable`` and a Redis lock
store that is down ``503 lock_store_unavailable`` (``conversation_busy`` when the lock expired
while waiting): the message was not processed (its files stay stored), send it again.

Privacy: nothing here logs the customer's words, transcripts, file names, sender ids or metadata;
logs carry attachment ids, formats, sizes, counts and error codes only.

Options (credentials.yml, under ``channels.multimodal.MultimodalInput:``): ``max_attachments`` (5),
``max_image_bytes`` (15 MiB), ``max_audio_bytes`` (25 MiB), ``max_total_bytes`` (40 MiB),
``max_text_chars`` (5000), ``max_metadata_bytes`` (8192), ``max_pixels_per_message`` (100 million:
five 12 MP phone photos pass, five pictures just under the perception service's 40 MP cap do not),
``perception_timeout`` (seconds, 20), ``perception_url``
(PERCEPTION_URL), ``attachments_dir`` (ATTACHMENTS_DIR), ``retention_days``
(ATTACHMENTS_RETENTION_DAYS; the channel purges older attachments at most once an hour; 0 turns
that off), ``public`` (false).
"""
import asyncio
import json
import logging
import os
import time
from urllib.parse import parse_qs
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

from sanic import Blueprint, response
from sanic.exceptions import SanicException
from sanic.headers import parse_content_header
from sanic.request import Request, RequestParameters, parse_multipart_form
from sanic.response import HTTPResponse

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.lock_store import LockError

from attachments.store import AttachmentStore
from channels import bounds
from perception.client import PerceptionClient, PerceptionError, PerceptionUnavailable
from perception.formats import kind_of, sniff
from stores.redis_lock import LockStoreUnavailable
from stores.strict_sql import StoreUnavailable

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
IMAGE_FORMATS = ("png", "jpeg", "webp")
AUDIO_FORMATS = ("wav", "ogg", "webm", "mp3", "m4a")
ACCEPTED_FORMATS = IMAGE_FORMATS + AUDIO_FORMATS
IMAGE_TEXT = "[image]"
FILE_FIELD = "attachment"
TEXT_FIELDS = ("sender", "message", "metadata")
MAX_SENDER_CHARS = 255
PURGE_INTERVAL_S = 3600.0

NOTE_UNSUPPORTED = ("I couldn't open {what} you sent. I can read pictures (PNG, JPEG or WebP) and "
                    "voice notes (WAV, OGG, WebM, MP3 or M4A).")
NOTE_BAD_IMAGE = ("I couldn't open {what} you sent: the file seems damaged or too large. "
                  "Could you send it again as a PNG or JPEG?")
NOTE_SILENCE = ("I couldn't hear any words in that voice note. Could you record it again, a bit "
                "closer to the microphone, or type your message?")
NOTE_AUDIO_TOO_LONG = ("That voice note is longer than I can listen to. Could you send a shorter "
                       "one, or type your message?")
NOTE_BAD_AUDIO = ("I couldn't play that voice note: the file seems damaged. Could you record it "
                  "again, or type your message?")
NOTE_LISTENING_DOWN = ("Sorry, I can't listen to voice notes right now. Could you type your "
                       "message instead?")
NOTE_LISTENING_DOWN_WITH_TEXT = ("Sorry, I can't listen to voice notes right now, so I'm answering "
                                 "only what you typed. Could you type the rest?")


class RequestRefused(Exception):
    """A client mistake: answered with `status` and {"error": {"code", "message"}}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def store_down() -> RequestRefused:
    """The conversation store (PostgreSQL in scale-out mode) is down: not processed, send again."""
    return RequestRefused(503, "store_unavailable", "The conversation store is unavailable; "
                          "the message was not processed. Try again.")


def lock_store_down(problem: LockError) -> RequestRefused:
    """The conversation's lock could not be taken (Redis down in scale-out, or the lock expired
    while waiting): the message was not processed, send it again."""
    if isinstance(problem, LockStoreUnavailable):
        return RequestRefused(503, "lock_store_unavailable", "The lock store is unavailable; "
                              "the message was not processed. Try again.")
    return RequestRefused(503, "conversation_busy", "Another message of this conversation is "
                          "still being processed; this one was not. Try again.")


@dataclass
class Upload:
    position: int
    data: bytes
    fmt: Optional[str]
    kind: Optional[str]


@dataclass
class Incoming:
    sender: str
    text: str
    client_metadata: Optional[Dict[str, Any]]
    uploads: List[Upload] = field(default_factory=list)


@dataclass
class Understood:
    text: str                    # what Rasa gets ("" when nothing in the message was usable)
    metadata: Dict[str, Any]     # {"attachments": [...], "client"?, "voice"?, "voices"?}
    first: List[Dict[str, Any]]  # bot messages sent before the answer: transcript, notes


def _positive(name: str, value: Any, kind: type = int) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"multimodal channel: {name} must be a number, not {value!r}")
    if number <= 0:
        raise ValueError(f"multimodal channel: {name} must be > 0")
    return number


def _retention_days(value: Any) -> float:
    if value is None:
        value = os.environ.get("ATTACHMENTS_RETENTION_DAYS") or 30
    try:
        days = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"multimodal channel: retention_days must be a number, not {value!r}")
    return days if days == days and days > 0 else 0.0


class MultimodalInput(InputChannel):
    """Text, pictures and voice notes over HTTP (see the module docstring)."""

    @classmethod
    def name(cls) -> Text:
        return "multimodal"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "MultimodalInput":
        options = dict(credentials or {})
        known = {"max_attachments", "max_image_bytes", "max_audio_bytes", "max_total_bytes",
                 "max_text_chars", "perception_timeout", "perception_url", "attachments_dir",
                 "retention_days", "max_metadata_bytes", "max_pixels_per_message", "public"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"multimodal channel: unknown option(s) {', '.join(unknown)}")
        return cls(**options)

    def __init__(self, max_attachments: int = 5, max_image_bytes: int = 15 * MiB,
                 max_audio_bytes: int = 25 * MiB, max_total_bytes: int = 40 * MiB,
                 max_text_chars: int = 5000, perception_timeout: float = 20.0,
                 perception_url: Optional[str] = None, attachments_dir: Optional[str] = None,
                 retention_days: Optional[float] = None,
                 max_metadata_bytes: int = bounds.MAX_METADATA_BYTES,
                 max_pixels_per_message: int = bounds.MAX_PIXELS_PER_MESSAGE,
                 public: bool = False) -> None:
        # public: no channel secret needed, senders need their session token (channels/sessions.py)
        self.public = bool(public)
        self.max_attachments = _positive("max_attachments", max_attachments)
        self.max_image_bytes = _positive("max_image_bytes", max_image_bytes)
        self.max_audio_bytes = _positive("max_audio_bytes", max_audio_bytes)
        self.max_total_bytes = _positive("max_total_bytes", max_total_bytes)
        self.max_text_chars = _positive("max_text_chars", max_text_chars)
        self.max_metadata_bytes = _positive("max_metadata_bytes", max_metadata_bytes)
        self.max_pixels_per_message = _positive("max_pixels_per_message", max_pixels_per_message)
        self.perception_timeout = _positive("perception_timeout", perception_timeout, float)
        self.perception_url = perception_url
        self.store = AttachmentStore(attachments_dir)
        self.retention_days = _retention_days(retention_days)
        # perception calls block on HTTP: they run here, never on Rasa's event loop. A call that
        # outlives perception_timeout keeps its thread until the HTTP client's own timeout.
        self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="multimodal-perception")
        self._last_purge = float("-inf")
        self._background: set = set()

    # ------------------------------------------------------------------ reading

    async def _read_body(self, request: Request, limit: Optional[int] = None) -> bytes:
        """The body, read up to `limit` bytes (max_total_bytes), else RequestRefused(413)."""
        limit = limit or self.max_total_bytes
        stream = request.stream
        if stream is not None:
            # Sanic lifts its size limit for streaming routes; ours applies, also to what Sanic
            # drains after an early answer (it closes the connection instead of reading on).
            stream.request_max_size = limit
        length = request.headers.get("content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                raise RequestRefused(400, "invalid_body", "Content-Length is not a number")
            if declared > limit:
                raise RequestRefused(413, "payload_too_large",
                                     f"the request is larger than {limit} bytes")
        if stream is None:
            return request.body or b""
        chunks: List[bytes] = []
        received = 0
        try:
            while True:
                chunk = await stream.read()
                if chunk is None:
                    break
                received += len(chunk)
                if received > limit:
                    raise RequestRefused(413, "payload_too_large",
                                         f"the request is larger than {limit} bytes")
                chunks.append(chunk)
        except SanicException as error:  # PayloadTooLarge, bad chunked encoding
            if getattr(error, "status_code", 400) == 413:
                raise RequestRefused(413, "payload_too_large", f"the request is larger than {limit} bytes")
            raise RequestRefused(400, "invalid_body", "the request body could not be read")
        return b"".join(chunks)

    def _parse(self, request: Request, body: bytes, default_sender: Optional[str] = None) -> Incoming:
        """`default_sender`: the sender when the body has none (a session the server issued)."""
        content_type, parameters = parse_content_header(request.headers.get("content-type", ""))
        content_type = content_type.lower()
        if content_type == "multipart/form-data":
            return self._parse_multipart(body, parameters, default_sender)
        if content_type == "application/json" or (not content_type and body.lstrip()[:1] == b"{"):
            return self._parse_json(body, default_sender)
        if content_type == "application/x-www-form-urlencoded":  # a form without files
            try:
                fields = RequestParameters(parse_qs(body.decode("utf-8"), keep_blank_values=True))
            except UnicodeDecodeError:
                raise RequestRefused(400, "invalid_body", "the form is not UTF-8")
            return self._parse_fields(fields, RequestParameters(), default_sender)
        raise RequestRefused(415, "unsupported_media_type",
                             "send multipart/form-data (with files) or application/json (text only)")

    def _parse_json(self, body: bytes, default_sender: Optional[str] = None) -> Incoming:
        try:
            payload = bounds.loads_bounded(body)
        except (ValueError, UnicodeDecodeError):
            raise RequestRefused(400, "invalid_body", "the body is not valid JSON")
        if not isinstance(payload, dict):
            raise RequestRefused(400, "invalid_body", "the body must be a JSON object")
        message = payload.get("message")
        if message is not None and not isinstance(message, str):
            raise RequestRefused(400, "invalid_body", "message must be a string")
        metadata = payload.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise RequestRefused(400, "invalid_metadata", "metadata must be a JSON object")
        sender = payload.get("sender")
        return self.check(default_sender if sender is None else sender, message, metadata, [])

    def _parse_multipart(self, body: bytes, parameters: Dict[str, Any],
                         default_sender: Optional[str] = None) -> Incoming:
        boundary = parameters.get("boundary")
        if not boundary:
            raise RequestRefused(400, "invalid_body", "multipart/form-data without a boundary")
        try:
            fields, files = parse_multipart_form(body, str(boundary).encode("utf-8"))
        except Exception:  # a malformed part: no details, they could hold customer text
            raise RequestRefused(400, "invalid_body", "the multipart body could not be parsed")
        return self._parse_fields(fields, files, default_sender)

    def _parse_fields(self, fields: RequestParameters, files: RequestParameters,
                      default_sender: Optional[str] = None) -> Incoming:
        for name in files:
            if name != FILE_FIELD:
                raise RequestRefused(400, "unexpected_field",
                                     f"files go in the field '{FILE_FIELD}'")
        for name, values in fields.items():
            if name == FILE_FIELD:
                raise RequestRefused(400, "unexpected_field",
                                     f"'{FILE_FIELD}' must be a file upload, not a text field")
            if name in TEXT_FIELDS and len(values) > 1:
                raise RequestRefused(400, "invalid_body", f"'{name}' was sent more than once")
        raw_metadata = fields.get("metadata")
        metadata = None
        if raw_metadata is not None and raw_metadata.strip():
            try:
                metadata = bounds.loads_bounded(raw_metadata)
            except ValueError:
                raise RequestRefused(400, "invalid_metadata", "metadata must be a JSON object")
            if not isinstance(metadata, dict):
                raise RequestRefused(400, "invalid_metadata", "metadata must be a JSON object")
        sender = fields.get("sender")
        return self.check(default_sender if sender is None else sender, fields.get("message"), metadata,
                              [f.body for f in files.getlist(FILE_FIELD) or []])

    def check(self, sender: Any, message: Optional[str], metadata: Optional[Dict[str, Any]],
              blobs: List[bytes]) -> Incoming:
        """The limits and validation every channel applies to one message; RequestRefused if not."""
        if isinstance(sender, int) and not isinstance(sender, bool):
            sender = str(sender)
        if not isinstance(sender, str) or not sender.strip():
            raise RequestRefused(400, "missing_sender", "'sender' is required")
        sender = sender.strip()
        if len(sender) > MAX_SENDER_CHARS:
            raise RequestRefused(400, "missing_sender",
                                 f"'sender' is longer than {MAX_SENDER_CHARS} characters")
        bounds.check_text(sender)
        bounds.check_text(message)
        bounds.check_metadata(metadata, self.max_metadata_bytes)
        text = (message or "").strip()
        if len(text) > self.max_text_chars:
            raise RequestRefused(413, "message_too_long",
                                 f"the message is longer than {self.max_text_chars} characters")
        if len(blobs) > self.max_attachments:
            raise RequestRefused(400, "too_many_attachments",
                                 f"at most {self.max_attachments} attachments per message, got {len(blobs)}")
        uploads = []
        for position, data in enumerate(blobs, start=1):
            if not data:
                raise RequestRefused(400, "empty_attachment", f"attachment {position} is empty")
            fmt = sniff(data[:64])
            kind = kind_of(fmt) if fmt in ACCEPTED_FORMATS else None
            limit = {"image": self.max_image_bytes, "audio": self.max_audio_bytes}.get(kind or "")
            if limit is not None and len(data) > limit:
                raise RequestRefused(413, "attachment_too_large",
                                     f"attachment {position} ({kind}) is larger than {limit} bytes")
            uploads.append(Upload(position, data, fmt if kind else None, kind))
        bounds.check_pixels(((u.data, u.fmt) for u in uploads if u.kind == "image"),
                            self.max_pixels_per_message)
        if not text and not uploads:
            raise RequestRefused(400, "empty_message", "send a message, an attachment or both")
        return Incoming(sender, text, metadata, uploads)

    # --------------------------------------------------------------- perception

    async def _call(self, method: str, data: bytes) -> Dict[str, Any]:
        """One perception call in the pool, bounded by perception_timeout."""
        def call() -> Dict[str, Any]:
            client = PerceptionClient(base_url=self.perception_url, timeout=self.perception_timeout,
                                      media_timeout=self.perception_timeout)
            return getattr(client, method)(data)

        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(self._executor, call),
                                          timeout=self.perception_timeout)
        except asyncio.TimeoutError:
            raise PerceptionUnavailable(f"no answer within {self.perception_timeout:g} s")

    async def _perceive(self, ref: Dict[str, Any], data: bytes) -> Tuple[str, Any]:
        """('ok', result) | ('refused', code) | ('unavailable', None)."""
        method = "transcribe" if ref["kind"] == "audio" else "analyze_image"
        started = time.monotonic()
        try:
            result = await self._call(method, data)
        except PerceptionUnavailable as error:
            logger.warning("multimodal: %s of %s unavailable: %s", method, ref["id"], error)
            return "unavailable", None
        except PerceptionError as error:
            logger.info("multimodal: %s of %s refused: %s %s", method, ref["id"], error.status, error.code)
            return "refused", error.code
        except Exception:  # a bug must not lose the customer's message
            logger.exception("multimodal: %s of %s failed", method, ref["id"])
            return "unavailable", None
        logger.info("multimodal: %s of %s done in %.2f s", method, ref["id"], time.monotonic() - started)
        return "ok", result

    # --------------------------------------------------------------- the message

    async def understand(self, incoming: Incoming) -> Understood:
        """Store the files, transcribe and analyse them: the text and metadata for Rasa, and the
        messages the customer gets first (transcript, notes about unusable files). Other channels
        (web chat, Slack, voice) call this after `check`. Raises RequestRefused(503) when the
        store fails; a perception service that is down or slow is a note, never an exception."""
        sender = incoming.sender
        notes: List[str] = []
        unsupported = [u for u in incoming.uploads if u.kind is None]
        usable = [u for u in incoming.uploads if u.kind is not None]
        if unsupported:
            what = "the file" if len(incoming.uploads) == 1 else (
                "one of the files" if len(unsupported) == 1 else f"{len(unsupported)} of the files")
            notes.append(NOTE_UNSUPPORTED.format(what=what))
            logger.info("multimodal: %d unsupported attachment(s) not kept", len(unsupported))

        refs: List[Dict[str, Any]] = []
        try:
            for upload in usable:
                refs.append(await asyncio.to_thread(self.store.save, upload.data, upload.fmt))
        except (OSError, ValueError):
            logger.exception("multimodal: the attachment store failed")
            for ref in refs:
                self.store.delete(ref["id"])
            raise RequestRefused(503, "storage_unavailable", "attachments cannot be stored right now")
        for ref in refs:
            logger.info("multimodal: stored %s (%s, %d bytes)", ref["id"], ref["format"], ref["size"])

        outcomes = await asyncio.gather(*(self._perceive(ref, upload.data)
                                          for ref, upload in zip(refs, usable)))

        kept: List[Dict[str, Any]] = []
        voices: List[Dict[str, Any]] = []
        bad_images = 0
        images = sum(1 for ref in refs if ref["kind"] == "image")
        audio_notes: List[str] = []
        for ref, (status, result) in zip(refs, outcomes):
            if ref["kind"] == "image":
                if status == "ok" and isinstance(result, dict):
                    try:
                        await asyncio.to_thread(self.store.save_analysis, ref["id"], result)
                    except (OSError, ValueError, TypeError):
                        logger.exception("multimodal: analysis of %s not saved", ref["id"])
                elif status == "refused":
                    bad_images += 1
                    self.store.delete(ref["id"])
                    continue
                kept.append(ref)
                continue
            # audio
            if status == "ok" and isinstance(result, dict):
                transcript = " ".join(str(result.get("text") or "").split())
                if transcript:
                    voices.append({"attachment_id": ref["id"], "transcript": transcript,
                                   "language": result.get("language"), "duration": result.get("duration")})
                else:
                    audio_notes.append(NOTE_SILENCE)
                kept.append(ref)
            elif status == "refused":
                audio_notes.append(NOTE_AUDIO_TOO_LONG if result == "audio_too_long" else NOTE_BAD_AUDIO)
                self.store.delete(ref["id"])
            else:
                audio_notes.append(NOTE_LISTENING_DOWN_WITH_TEXT if incoming.text else NOTE_LISTENING_DOWN)
                kept.append(ref)
        if bad_images:
            what = "the picture" if images == 1 else (
                "one of the pictures" if bad_images == 1 else f"{bad_images} of the pictures")
            notes.append(NOTE_BAD_IMAGE.format(what=what))
        for note in audio_notes:
            if note not in notes:
                notes.append(note)

        from channels.guard import plain_text  # (guard imports this module)

        # words nobody typed never become Rasa's "/intent" shortcut
        words = [incoming.text] + [plain_text(voice["transcript"]) for voice in voices]
        text = " ".join(part for part in words if part)
        if not text and any(ref["kind"] == "image" for ref in kept):
            text = IMAGE_TEXT

        answer: List[Dict[str, Any]] = []
        if voices:
            answer.append({"recipient_id": sender,
                           "custom": {"transcript": " ".join(v["transcript"] for v in voices)}})
        answer.extend({"recipient_id": sender, "text": note} for note in notes)
        from channels.sessions import SIGNED_IN_KEY, split_customer  # (it imports this module)

        metadata: Dict[str, Any] = {"attachments": kept}
        client, customer = split_customer(incoming.client_metadata)
        if client is not None:
            metadata["client"] = client
        if customer is not None:  # a customer the company's back end signed in (channels/sessions.py)
            metadata[SIGNED_IN_KEY] = customer
        if voices:
            metadata["voice"] = voices[0]
            if len(voices) > 1:
                metadata["voices"] = voices
        return Understood(text, metadata, answer)

    async def _process(self, incoming: Incoming, on_new_message: Callable[[UserMessage], Awaitable[Any]]
                       ) -> List[Dict[str, Any]]:
        understood = await self.understand(incoming)
        if not understood.text:
            logger.info("multimodal: nothing usable in the message; %d note(s) sent",
                        len(understood.first))
            return understood.first
        collector = CollectingOutputChannel()
        try:
            await on_new_message(UserMessage(understood.text, collector, incoming.sender,
                                             input_channel=self.name(), metadata=understood.metadata))
        except asyncio.CancelledError:
            logger.error("multimodal: handling the message timed out")
        except StoreUnavailable as problem:  # scale-out: no silent success without the store
            logger.error("multimodal: conversation store unavailable: %s", problem)
            raise store_down()
        except LockError as problem:  # not processed: never without the conversation's lock
            logger.error("multimodal: lock store: %s", type(problem).__name__)
            raise lock_store_down(problem)
        except Exception:
            logger.exception("multimodal: handling the message failed")
        return understood.first + collector.messages

    def _maybe_purge(self) -> None:
        """Retention: at most once an hour, in the pool, never delaying an answer."""
        now = time.monotonic()
        if not self.retention_days or now - self._last_purge < PURGE_INTERVAL_S:
            return
        self._last_purge = now

        def purge() -> None:
            try:
                self.store.purge(self.retention_days)
            except Exception:
                logger.exception("multimodal: purging old attachments failed")

        future = asyncio.get_running_loop().run_in_executor(None, purge)
        self._background.add(future)
        future.add_done_callback(self._background.discard)

    # --------------------------------------------------------------- the routes

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        from channels import guard  # rate limits, /intent shortcut (it imports this module)
        from channels.rest import error as guard_error  # 429 with Retry-After
        from channels import sessions

        sessions.keys()  # no channel secret: Rasa does not start
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        # noinspection PyUnusedLocal
        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        # a streaming route: the body is read (and capped) here, not buffered by Sanic first
        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            started = time.monotonic()
            try:
                session = sessions.HttpSession(request, self.public)  # before the body is read
                body = await self._read_body(request)
                incoming = self._parse(request, body, session.default_sender)
                del body
                session.check(incoming.sender)
                guard.limiter().check(self.name(), incoming.sender, guard.client_address(request),
                                      media=bool(incoming.uploads))
                await guard.refuse_forged_shortcut(getattr(request.app.ctx, "agent", None),
                                                   incoming.sender, incoming.text)
                messages = await self._process(incoming, on_new_message)
            except RequestRefused as refusal:
                logger.info("multimodal: request refused: %s %s", refusal.status, refusal.code)
                return guard_error(refusal)
            logger.info("multimodal: answered %d message(s) in %.2f s", len(messages),
                        time.monotonic() - started)
            self._maybe_purge()
            return response.json(messages, headers=session.headers())

        return webhook
