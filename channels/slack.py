"""Slack: direct messages and mentions, with pictures, screenshots and audio clips.

A subclass of Rasa 3.6's ``SlackInput`` (same name ``slack``, so the same URLs) that also reads the
files a customer shares, and hardens what Rasa's connector does with signatures and retries.

Routes (``url_prefix`` ``/webhooks/slack``):

- ``POST /webhooks/slack/webhook``: the Events API request URL (and the Interactivity request URL
  for buttons). Every request, ``url_verification`` included, must carry a valid signature.
- ``GET /webhooks/slack/``: ``{"status": "ok"}``.

The Slack app (api.slack.com/apps): Event Subscriptions on, request URL
``https://<host>/webhooks/slack/webhook``, bot events ``message.im`` and ``app_mention``; bot token
scopes ``chat:write``, ``files:read``, ``im:history``, ``app_mentions:read``; App Home "Allow users
to send messages" on. The bot token (``xoxb-...``) goes in ``SLACK_BOT_TOKEN``, the app's signing
secret in ``SLACK_SIGNING_SECRET``.

Every request is verified before anything is read from it: Slack's v0 signature, HMAC-SHA256 of
``v0:<X-Slack-Request-Timestamp>:<body>`` with the signing secret, compared with
``hmac.compare_digest``; a timestamp more than 5 minutes from our clock (a replayed request) or a
missing or wrong signature gives ``401 {"error": {"code": "stale_request" | "invalid_signature"}}``
and nothing is processed. Bodies over 1 MiB are refused (413) while they stream in; a signed
body nested deeper than 32 levels (400 ``too_deeply_nested``, checked before it is parsed) or
holding a lone surrogate (400 ``invalid_text``) is refused too (channels/bounds.py).

Slack wants an answer within 3 seconds and otherwise sends the event again (with
``X-Slack-Retry-Num``). So a message is acknowledged (200) at once and handled in the background,
and each ``event_id`` is remembered for an hour: a retry of an event already received is only
acknowledged (200, ``X-Slack-No-Retry: 1``), never processed twice. The same message arriving as
two events (``app_mention`` and ``message`` in the configured channel) is handled once too (keyed
by channel and ts). The ids live in ``channels.shared_state``: in this process, or in Redis when
``PARLEY_REDIS_URL`` is set, so that a retry landing on another instance behind the same request
URL is recognised too (Redis down: each instance remembers what it received itself).

Abuse guards (channels/guard.py): each message takes a token from its Slack user's budget
(``PARLEY_RATE_TEXT_PER_MIN`` / ``PARLEY_RATE_MEDIA_PER_MIN`` for messages with files, keyed by
team and user) and from its team's (``PARLEY_RATE_ADDRESS_PER_MIN`` /
``PARLEY_RATE_ADDRESS_MEDIA_PER_MIN``: every request comes from Slack's servers, so the team
stands in for the client address). A message over a budget is still acknowledged with 200
(otherwise Slack retries it) but not processed; the user gets "you're sending messages too fast"
in the thread at most once a minute. Button clicks (interactions) count as text messages. Typed
text starting with "/" (Rasa's ``/intent{...}`` shortcut, which would skip NLU and set slots) is
never passed on: the thread gets a note asking to type the question; a button click passes only
when its value is a payload the bot offered in that conversation (guard.refuse_forged_shortcut).
A voice clip whose transcript starts with "/" is answered as text without the "/".

Files: for a message with ``files`` (subtype ``file_share``) in a DM or a mention, each file's
``url_private_download`` (or ``url_private``) is downloaded with ``Authorization: Bearer <bot
token>``, only from the Slack file host (``https://files.slack.com``, or the ``file_hosts`` option;
a file whose URL or redirect points anywhere else is not fetched: no request forgery through a
crafted event), with a timeout and a size cap checked while the body streams in (a picture over
``max_image_bytes`` or an audio clip over ``max_audio_bytes`` is cut off, never buffered whole; a
file that is neither is not read past its first bytes). Then the same intake as the multimodal
channel (``channels.multimodal.MultimodalInput``, composed here from this channel's options):
``check`` (formats sniffed from the bytes, limits), ``understand`` (stored in the AttachmentStore,
pictures analysed, audio clips transcribed). The answer goes to the message's thread. A file that
cannot be used (a text file named ``.png``, too large, a download that fails, a file Slack no longer
has) gets a short note in the thread, and the rest of the message is still answered. A voice clip's
transcript is posted first ("I heard: ..."), as the web channels show it.

Not configured: Rasa expands ``${SLACK_BOT_TOKEN}`` in credentials.yml and fails to start when a
variable is unset, so scripts/env.sh defaults it to empty. With an empty token the channel logs one
warning at start-up and both routes answer ``503 {"error": {"code": "slack_not_configured"}}``. A
token without a signing secret is a configuration error (start-up fails: requests could not be
verified).

Options (credentials.yml, under ``channels.slack.SlackFilesInput:``): ``slack_token``,
``slack_signing_secret``, ``api_url`` (Slack's Web API, default ``https://slack.com/api/``; tests
point it at a stand-in), ``file_hosts`` (origins files may come from, a list or comma-separated;
default ``https://files.slack.com`` for Slack's API, else the API's own origin), ``slack_channel``
(a channel to listen to besides DMs and mentions), ``conversation_granularity`` (``sender``,
``channel`` or ``thread``, as in Rasa), ``proxy``, ``download_timeout`` (seconds per file, 30), and
the intake limits of the multimodal channel: ``max_attachments``, ``max_image_bytes``,
``max_audio_bytes``, ``max_text_chars``, ``perception_timeout``, ``perception_url``,
``attachments_dir``. Attachments are purged by the multimodal channel and ``python -m
attachments.purge`` (same ATTACHMENTS_DIR).

Privacy: logs carry event ids, channel types, counts, sizes, formats and error codes, never the
customer's words, transcripts, file names or URLs.
"""
import asyncio
import hashlib
import hmac
import html
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text, Tuple, Union
from urllib.parse import parse_qs, urljoin, urlsplit

import aiohttp
from sanic import Blueprint, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.web.async_client import AsyncWebClient

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from rasa.shared.exceptions import InvalidConfigException

from channels import bounds, guard
from channels.multimodal import ACCEPTED_FORMATS, MultimodalInput, RequestRefused
from channels.shared_state import digest, shared_state
from perception.formats import kind_of, sniff

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "https://slack.com/api/"
SLACK_FILES_ORIGIN = "https://files.slack.com"
SIGNATURE_WINDOW_S = 300            # Slack's advice: refuse timestamps more than 5 minutes off
MAX_EVENT_BYTES = 1024 * 1024       # Events API payloads are a few KiB
EVENT_MEMORY_S = 3600.0             # Slack retries within minutes; an hour is plenty
MAX_REDIRECTS = 3
SNIFF_BYTES = 64
MESSAGE_SUBTYPES = (None, "file_share", "thread_broadcast")

NOTE_TOO_LARGE = ("{What} is too large for me: I can read pictures up to {image} MB and audio clips "
                  "up to {audio} MB.")
NOTE_NOT_DOWNLOADED = "I couldn't download {what}. Could you share it again?"
NOTE_GONE = "{What} is no longer available to me. Could you share it again?"
NOTE_EMPTY = "{What} is empty."
NOTE_TOO_MANY = "I can look at {limit} files per message, so I only read the first {limit}."
NOTE_TOO_LONG = "Your message is longer than I can read ({limit} characters). Could you shorten it?"
NOTE_STORAGE = "Sorry, I can't receive files right now. Could you try again in a few minutes?"
NOTE_FAILED = "Sorry, something went wrong on my side. Could you send that again?"
NOTE_TOO_FAST = "You're sending messages too fast. Please wait {seconds} s and send that again."
NOTE_SHORTCUT = "Messages starting with \u201c/\u201d are not accepted here. Please type your question."
TOO_FAST_NOTE_S = 60                # the "too fast" note: at most once a minute per user
TRANSCRIPT = "I heard: \u201c{text}\u201d"


def _error(status: int, code: str, message: str) -> HTTPResponse:
    return response.json({"error": {"code": code, "message": message}}, status=status)


def verify_signature(secret: str, timestamp: Optional[str], signature: Optional[str], body: bytes,
                     now: Optional[float] = None) -> Optional[str]:
    """None when Slack signed this body (v0), else the error code: "stale_request" for a timestamp
    more than 5 minutes from `now`, "invalid_signature" for anything else."""
    if not secret or not timestamp or not signature:
        return "invalid_signature"
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return "invalid_signature"
    if abs((time.time() if now is None else now) - int(timestamp)) > SIGNATURE_WINDOW_S:
        return "stale_request"
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    expected = "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8", "replace")):
        return "invalid_signature"
    return None


class RecentIds:
    """Ids seen in the last `ttl` seconds, kept in the shared state (channels.shared_state: this
    process, or Redis shared by every instance): Slack's retries are acknowledged but not
    processed twice."""

    def __init__(self, kind: str, state: Any = None, ttl: float = EVENT_MEMORY_S) -> None:
        self.kind = kind
        self.ttl = ttl
        self.state = state if state is not None else shared_state()

    def first_time(self, key: str) -> bool:
        """True the first time `key` is seen (and remembers it); False while it is remembered."""
        return self.state.first_time(f"slack-{self.kind}:{digest(key)}", self.ttl)


@dataclass
class SlackMessage:
    """One customer message from an event: who, where, what (text and file objects)."""

    event_id: str
    user: str
    channel: str
    channel_type: str
    ts: str
    thread_ts: str
    text: str
    files: List[Dict[str, Any]] = field(default_factory=list)
    bot_users: List[str] = field(default_factory=list)


class SlackThreadBot(SlackBot):
    """Rasa's SlackBot, talking to `api_url`, answering in a thread, without the legacy `as_user`
    argument (new Slack apps get `invalid_arguments` when it is sent)."""

    def __init__(self, token: Text, slack_channel: Optional[Text], thread_id: Optional[Text],
                 proxy: Optional[Text], api_url: Text = DEFAULT_API_URL) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        self.client = AsyncWebClient(token, base_url=api_url, proxy=proxy, timeout=30)

    async def _post_message(self, channel: Text, **kwargs: Any) -> None:
        kwargs.pop("as_user", None)
        kwargs.pop("type", None)
        await super()._post_message(channel, **kwargs)


def _file_origins(api_url: str, file_hosts: Union[None, str, List[str]]) -> Set[str]:
    if isinstance(file_hosts, str):
        file_hosts = [part for part in file_hosts.replace(",", " ").split() if part]
    if not file_hosts:
        api = urlsplit(api_url)
        if (api.hostname or "").lower() == "slack.com":
            return {SLACK_FILES_ORIGIN}
        return {f"{api.scheme}://{api.netloc}".lower()}
    origins = set()
    for host in file_hosts:
        host = str(host).strip().rstrip("/")
        parts = urlsplit(host if "://" in host else f"https://{host}")
        if parts.scheme not in ("http", "https") or not parts.hostname or "@" in parts.netloc \
                or parts.path:
            raise ValueError(f"slack channel: file_hosts entry {host!r} is not an origin")
        origins.add(f"{parts.scheme}://{parts.netloc}".lower())
    return origins


def _what(count: int, position: int) -> str:
    return "the file you shared" if count == 1 else f"file {position} of the {count} you shared"


class SlackFilesInput(SlackInput):
    """Slack DMs and mentions with files (see the module docstring)."""

    @classmethod
    def name(cls) -> Text:
        return "slack"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "SlackFilesInput":
        options = dict(credentials or {})
        known = {"slack_token", "slack_signing_secret", "api_url", "file_hosts", "slack_channel",
                 "conversation_granularity", "proxy", "download_timeout", "max_attachments",
                 "max_image_bytes", "max_audio_bytes", "max_text_chars", "perception_timeout",
                 "perception_url", "attachments_dir"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"slack channel: unknown option(s) {', '.join(unknown)}")
        return cls(**options)

    def __init__(self, slack_token: Optional[Text] = None, slack_signing_secret: Optional[Text] = None,
                 api_url: Optional[Text] = None, file_hosts: Union[None, str, List[str]] = None,
                 slack_channel: Optional[Text] = None, conversation_granularity: Text = "sender",
                 proxy: Optional[Text] = None, download_timeout: float = 30.0,
                 **intake_options: Any) -> None:
        self.configured = bool(slack_token)
        api_url = (api_url or DEFAULT_API_URL).strip()
        if not api_url.endswith("/"):
            api_url += "/"
        if urlsplit(api_url).scheme not in ("http", "https") or not urlsplit(api_url).hostname:
            raise ValueError(f"slack channel: api_url {api_url!r} is not an http(s) URL")
        self.api_url = api_url
        self.file_origins = _file_origins(api_url, file_hosts)
        try:
            self.download_timeout = float(download_timeout)
        except (TypeError, ValueError):
            raise ValueError("slack channel: download_timeout must be a number")
        if not self.download_timeout > 0:
            raise ValueError("slack channel: download_timeout must be > 0")
        if conversation_granularity not in ("sender", "channel", "thread"):
            raise ValueError("slack channel: conversation_granularity is sender, channel or thread")
        super().__init__(slack_token or "", slack_channel or None, proxy or None,
                         use_threads=True, slack_signing_secret=slack_signing_secret or "",
                         conversation_granularity=conversation_granularity)
        self.intake = MultimodalInput(**intake_options)
        self._events = RecentIds("event")
        self._messages = RecentIds("message")
        self._too_fast_notes = RecentIds("too-fast", ttl=TOO_FAST_NOTE_S)
        if not self.configured:
            logger.warning("slack: SLACK_BOT_TOKEN is empty, so the Slack channel is off; "
                           "/webhooks/slack/webhook answers 503 slack_not_configured")

    def _validate_credentials(self) -> None:
        """A token needs its signing secret; no token at all means the channel is off."""
        if self.slack_token and not self.slack_signing_secret:
            raise InvalidConfigException(
                "slack channel: a bot token without a signing secret; set SLACK_SIGNING_SECRET "
                "(the app's Basic Information page) so that requests can be verified")

    def get_output_channel(self, channel: Optional[Text] = None,
                           thread_id: Optional[Text] = None) -> OutputChannel:
        return SlackThreadBot(self.slack_token, channel or self.slack_channel, thread_id, self.proxy,
                              self.api_url)

    # --------------------------------------------------------------- the request

    async def _read_body(self, request: Request) -> bytes:
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > MAX_EVENT_BYTES:
            raise RequestRefused(413, "payload_too_large", "the request is too large")
        stream = request.stream
        if stream is None:
            return request.body or b""
        stream.request_max_size = MAX_EVENT_BYTES
        chunks: List[bytes] = []
        received = 0
        try:
            while True:
                chunk = await stream.read()
                if chunk is None:
                    return b"".join(chunks)
                received += len(chunk)
                if received > MAX_EVENT_BYTES:
                    raise RequestRefused(413, "payload_too_large", "the request is too large")
                chunks.append(chunk)
        except SanicException:
            raise RequestRefused(400, "invalid_body", "the request body could not be read")

    def _message_of(self, payload: Dict[str, Any]) -> Optional[SlackMessage]:
        """The customer message in an event_callback, or None when it is not one for us."""
        event = payload.get("event")
        if not isinstance(event, dict) or event.get("type") not in ("message", "app_mention"):
            return None
        if event.get("bot_id") or event.get("subtype") not in MESSAGE_SUBTYPES:
            return None  # our own answers, edits, deletions, joins...
        user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
        if not all(isinstance(value, str) and value for value in (user, channel, ts)):
            return None
        channel_type = str(event.get("channel_type") or "")
        if not (event["type"] == "app_mention" or channel_type == "im"
                or (self.slack_channel and channel == self.slack_channel)):
            return None
        text = event.get("text") if isinstance(event.get("text"), str) else ""
        files = [f for f in event.get("files") or [] if isinstance(f, dict)]
        if not text.strip() and not files:
            return None
        bot_users: List[str] = []
        if isinstance(payload.get("authed_users"), list):
            bot_users = [u for u in payload["authed_users"] if isinstance(u, str)]
        for authorization in payload.get("authorizations") or []:
            if isinstance(authorization, dict) and isinstance(authorization.get("user_id"), str):
                bot_users.append(authorization["user_id"])
        if user in bot_users:
            return None
        thread_ts = event.get("thread_ts") if isinstance(event.get("thread_ts"), str) else ts
        return SlackMessage(str(payload.get("event_id") or ""), user, channel, channel_type or event["type"],
                            ts, thread_ts, text, files, bot_users)

    def _run(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)

    async def _on_event(self, request: Request, payload: Dict[str, Any],
                        on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        event_id = payload.get("event_id")
        retry = request.headers.get("x-slack-retry-num")
        if isinstance(event_id, str) and event_id and not self._events.first_time(event_id):
            logger.info("slack: event %s already received (retry %s, %s): acknowledged only",
                        event_id, retry or "-", request.headers.get("x-slack-retry-reason", "-"))
            return response.text("", headers={"X-Slack-No-Retry": "1"})
        message = self._message_of(payload)
        if message is None:
            return response.text("")
        if not self._messages.first_time(f"{message.channel}:{message.ts}"):
            logger.info("slack: event %s repeats a message already handled", event_id)
            return response.text("")
        team = payload.get("team_id") if isinstance(payload.get("team_id"), str) else ""
        try:
            self._check_rate(team, message.user, bool(message.files))
        except guard.RateLimited as refusal:
            logger.info("slack: event %s over the rate limit: acknowledged, not processed", event_id)
            if self._too_fast_notes.first_time(f"{team}:{message.user}"):
                bot = self.get_output_channel(message.channel, message.thread_ts)
                self._run(self._note(bot, message.channel, NOTE_TOO_FAST.format(seconds=refusal.retry_after)))
            return response.text("")
        logger.info("slack: event %s (%s, %d file(s)%s) accepted", message.event_id,
                    message.channel_type, len(message.files), f", retry {retry}" if retry else "")
        self._run(self._handle(message, on_new_message))
        return response.text("")

    @staticmethod
    def _check_rate(team: str, user: str, media: bool) -> None:
        """guard's budgets: per Slack user (team and user id), and per team in place of an address."""
        guard.limiter().check("slack", f"{team}:{user}", f"slack-team:{team}", media=media)

    async def _note(self, bot: SlackThreadBot, channel: str, text: str) -> None:
        try:
            await self._say(bot, channel, [text])
        except Exception:
            logger.exception("slack: a note could not be posted")

    async def _on_interaction(self, body: bytes, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                              agent: Any = None) -> HTTPResponse:
        """A button or menu (Interactivity): its value is the customer's next message."""
        try:
            payload = bounds.loads_bounded(parse_qs(body.decode("utf-8")).get("payload", [""])[0])
            bounds.check_value(payload)
        except RequestRefused as refusal:  # too_deeply_nested, invalid_text
            return _error(refusal.status, refusal.code, refusal.message)
        except (ValueError, UnicodeDecodeError):
            return _error(400, "invalid_body", "the interaction payload is not JSON")
        if not isinstance(payload, dict) or not self._is_interactive_message(payload):
            return response.text("")
        text = self._get_interactive_response(payload["actions"][0])
        user = (payload.get("user") or {}).get("id")
        channel = (payload.get("channel") or {}).get("id")
        if not text or not user or not channel:
            return response.text("")
        message = payload.get("message") or {}
        thread_ts = message.get("thread_ts") or message.get("ts")
        sender = self._get_conversation_id(user, channel, thread_ts)
        metadata = {"out_channel": channel, "thread_id": thread_ts, "users": [user]}
        bot = self.get_output_channel(channel, thread_ts)
        team = (payload.get("team") or {}).get("id") if isinstance(payload.get("team"), dict) else ""
        try:
            self._check_rate(str(team or ""), str(user), False)
        except guard.RateLimited:
            logger.info("slack: interaction over the rate limit: acknowledged, not processed")
            return response.text("")
        self._run(self._deliver_click(on_new_message, UserMessage(text, bot, sender, input_channel=self.name(),
                                                                  metadata=metadata), channel, agent))
        return response.text("")

    async def _deliver_click(self, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                             message: UserMessage, channel: str, agent: Any) -> None:
        """A button's value goes on unless it is an "/intent" the bot did not offer."""
        try:
            await guard.refuse_forged_shortcut(agent, message.sender_id, message.text)
        except RequestRefused:
            await self._note(message.output_channel, channel, NOTE_SHORTCUT)
            return
        await self._deliver(on_new_message, message)

    # --------------------------------------------------------------- the files

    def _allowed(self, url: Any) -> bool:
        if not isinstance(url, str):
            return False
        parts = urlsplit(url)
        return "@" not in parts.netloc and f"{parts.scheme}://{parts.netloc}".lower() in self.file_origins

    async def _file_object(self, bot: SlackThreadBot, file: Dict[str, Any]) -> Dict[str, Any]:
        """Events sometimes carry only the file's id ("file_access": "check_file_info")."""
        if file.get("file_access") != "check_file_info" or not isinstance(file.get("id"), str):
            return file
        try:
            answer = await bot.client.files_info(file=file["id"])
            return answer.get("file") or file
        except Exception as error:  # SlackApiError, network
            logger.warning("slack: files.info for %s failed: %s", file["id"], type(error).__name__)
            return file

    async def _download(self, session: aiohttp.ClientSession, url: str) -> Union[bytes, str]:
        """The file's bytes, or an error code: "not_allowed", "failed", "too_large"."""
        limit_any = max(self.intake.max_image_bytes, self.intake.max_audio_bytes)
        headers = {"Authorization": f"Bearer {self.slack_token}"}
        for _ in range(MAX_REDIRECTS + 1):
            if not self._allowed(url):
                return "not_allowed"
            async with session.get(url, headers=headers, allow_redirects=False, proxy=self.proxy) as reply:
                if reply.status in (301, 302, 303, 307, 308) and reply.headers.get("Location"):
                    url = urljoin(url, reply.headers["Location"])
                    continue
                if reply.status != 200:
                    logger.warning("slack: file download answered %d (check the token's files:read "
                                   "scope)", reply.status)
                    return "failed"
                if reply.content_type == "text/html":  # Slack's sign-in page: the token was refused
                    logger.warning("slack: file download gave a web page: the bot token was refused")
                    return "failed"
                if reply.content_length is not None and reply.content_length > limit_any:
                    return "too_large"
                data = bytearray()
                limit = limit_any
                async for chunk in reply.content.iter_chunked(64 * 1024):
                    first = len(data) < SNIFF_BYTES
                    data += chunk
                    if first and len(data) >= SNIFF_BYTES:
                        fmt = sniff(bytes(data[:SNIFF_BYTES]))
                        kind = kind_of(fmt) if fmt in ACCEPTED_FORMATS else None
                        if kind is None:  # not a picture or audio: its first bytes say enough
                            return bytes(data[:SNIFF_BYTES])
                        limit = self.intake.max_image_bytes if kind == "image" else self.intake.max_audio_bytes
                    if len(data) > limit:
                        return "too_large"
                return bytes(data)
        return "not_allowed"

    async def _collect(self, bot: SlackThreadBot, files: List[Dict[str, Any]]) -> Tuple[List[bytes], List[str]]:
        """Downloads the message's files: (their bytes, notes about those that failed)."""
        notes: List[str] = []
        limit = self.intake.max_attachments
        if len(files) > limit:
            notes.append(NOTE_TOO_MANY.format(limit=limit))
            files = files[:limit]
        blobs: List[bytes] = []
        timeout = aiohttp.ClientTimeout(total=self.download_timeout)
        image_mb = self.intake.max_image_bytes // (1024 * 1024)
        audio_mb = self.intake.max_audio_bytes // (1024 * 1024)
        async with aiohttp.ClientSession(timeout=timeout, trust_env=False) as session:
            for position, file in enumerate(files, start=1):
                what = _what(len(files), position)
                file = await self._file_object(bot, file)
                url = file.get("url_private_download") or file.get("url_private")
                size = file.get("size")
                started = time.monotonic()
                if file.get("mode") in ("tombstone", "hidden_by_limit") or not isinstance(url, str):
                    result: Union[bytes, str] = "gone"
                elif isinstance(size, int) and size > max(self.intake.max_image_bytes,
                                                           self.intake.max_audio_bytes):
                    result = "too_large"
                else:
                    try:
                        result = await self._download(session, url)
                    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
                        logger.warning("slack: file download failed: %s", type(error).__name__)
                        result = "failed"
                if isinstance(result, bytes) and not result:
                    result = "empty"
                if isinstance(result, bytes):
                    logger.info("slack: file %s downloaded (%d bytes) in %.2f s", file.get("id", "?"),
                                len(result), time.monotonic() - started)
                    blobs.append(result)
                    continue
                logger.info("slack: file %s not used: %s", file.get("id", "?"), result)
                if result == "not_allowed":
                    logger.warning("slack: a file URL outside %s was not fetched",
                                   ", ".join(sorted(self.file_origins)))
                note = {"too_large": NOTE_TOO_LARGE, "gone": NOTE_GONE, "empty": NOTE_EMPTY}.get(
                    result, NOTE_NOT_DOWNLOADED)
                notes.append(note.format(what=what, What=what[0].upper() + what[1:], image=image_mb,
                                         audio=audio_mb))
        return blobs, notes

    # --------------------------------------------------------------- the message

    async def _say(self, bot: SlackThreadBot, recipient: str, texts: List[str]) -> None:
        for text in texts:
            await bot.send_text_message(recipient, text)

    async def _deliver(self, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                       message: UserMessage) -> None:
        try:
            await on_new_message(message)
        except Exception:
            logger.exception("slack: handling a message failed")

    async def _handle(self, message: SlackMessage,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """In the background: files downloaded and understood, notes and the answer in the thread."""
        bot = self.get_output_channel(message.channel, message.thread_ts)
        sender = self._get_conversation_id(message.user, message.channel, message.thread_ts)
        started = time.monotonic()
        try:
            text = html.unescape(self._sanitize_user_message(message.text, message.bot_users))
            if guard.is_shortcut(text):  # Rasa's /intent{...} shortcut, typed: never passed on
                logger.info("slack: event %s refused: intent_shortcut_refused", message.event_id)
                await self._say(bot, message.channel, [NOTE_SHORTCUT])
                return
            blobs, notes = await self._collect(bot, message.files) if message.files else ([], [])
            try:
                incoming = self.intake.check(sender, text, None, blobs)
                understood = await self.intake.understand(incoming)
            except RequestRefused as refusal:
                logger.info("slack: event %s refused: %s", message.event_id, refusal.code)
                if refusal.code == "message_too_long":
                    notes.append(NOTE_TOO_LONG.format(limit=self.intake.max_text_chars))
                elif refusal.code == "storage_unavailable":
                    notes.append(NOTE_STORAGE)
                elif refusal.code != "empty_message":
                    notes.append(refusal.message)
                await self._say(bot, message.channel, notes)
                return
            for first in understood.first:
                transcript = (first.get("custom") or {}).get("transcript")
                if transcript:
                    escaped = transcript.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                    notes.insert(0, TRANSCRIPT.format(text=escaped))
                elif first.get("text"):
                    notes.append(first["text"])
            await self._say(bot, message.channel, notes)
            if understood.text:
                metadata = dict(understood.metadata)
                metadata.update(out_channel=message.channel, thread_id=message.thread_ts,
                                users=message.bot_users)
                # the words were checked above; a transcript starting with "/" is spoken words
                await on_new_message(UserMessage(guard.plain_text(understood.text), bot, sender,
                                                 input_channel=self.name(),
                                                 metadata=metadata))
            logger.info("slack: event %s handled in %.2f s", message.event_id, time.monotonic() - started)
        except Exception:
            logger.exception("slack: event %s failed", message.event_id)
            try:
                await self._say(bot, message.channel, [NOTE_FAILED])
            except Exception:
                logger.exception("slack: could not post to the thread either")

    # --------------------------------------------------------------- the routes

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        def not_configured() -> HTTPResponse:
            return _error(503, "slack_not_configured",
                          "the Slack channel has no bot token (SLACK_BOT_TOKEN)")

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"}) if self.configured else not_configured()

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            if not self.configured:
                return not_configured()
            try:
                body = await self._read_body(request)
            except RequestRefused as refusal:
                return _error(refusal.status, refusal.code, refusal.message)
            problem = verify_signature(self.slack_signing_secret,
                                       request.headers.get("x-slack-request-timestamp"),
                                       request.headers.get("x-slack-signature"), body)
            if problem:
                logger.warning("slack: request refused: %s", problem)
                message = ("the request timestamp is more than 5 minutes off" if problem == "stale_request"
                           else "the request is not signed with this app's signing secret")
                return _error(401, problem, message)
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type == "application/x-www-form-urlencoded":
                return await self._on_interaction(body, on_new_message, getattr(request.app.ctx, "agent", None))
            try:
                payload = bounds.loads_bounded(body)
                bounds.check_value(payload)
            except RequestRefused as refusal:  # too_deeply_nested, invalid_text
                logger.warning("slack: request refused: %s", refusal.code)
                return _error(refusal.status, refusal.code, refusal.message)
            except (ValueError, UnicodeDecodeError):
                return _error(400, "invalid_body", "the body is not JSON")
            if not isinstance(payload, dict):
                return _error(400, "invalid_body", "the body is not a JSON object")
            if payload.get("type") == "url_verification":
                return response.json({"challenge": payload.get("challenge")})
            if payload.get("type") == "event_callback":
                return await self._on_event(request, payload, on_new_message)
            return response.text("")

        return webhook
