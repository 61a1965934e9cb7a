"""Rasa's REST channel (POST /webhooks/rest/webhook, {"sender": ..., "message": ...}, answers
the bot messages as a JSON list) with the public-channel guards of channels/guard.py: a capped
body read before it is buffered (max_body_bytes, 413), the text length (max_text_chars, 413),
rate limits (429 + Retry-After), the `/intent{...}` shortcut refused unless it is a button the
bot offered (400 intent_shortcut_refused), and errors as {"error": {"code", "message"}} that
never echo the request; a conversation store or lock store that is down gives 503
(store_unavailable / lock_store_unavailable: the message was not processed). Rasa's own HTTP
API errors lose their message and details (scrub_api_errors: they may quote the request). Unlike Rasa's, the client cannot choose
`input_channel` (always "rest"), nor send metadata (except a signed-in customer, below), and
`?stream=true` is not offered.

Who may send (channels/sessions.py): by default the company's back end only, with
`Authorization: Bearer <channel secret>` (401 `missing_channel_secret` / `bad_channel_secret`).
`public: true` opens it to any client: a message without `sender` starts a new conversation whose
id and token come back in the `X-Parley-Session` / `X-Parley-Session-Token` headers; a message
with a `sender` must carry that token in `X-Parley-Session-Token` (403 `bad_session_token`).
`metadata: {"customer": {...}, "customer_signature": ...}` passes a customer the back end signed
in (403 `bad_customer_signature` when it does not verify).
credentials.yml: `channels.rest.GuardedRestInput:`.
"""
import asyncio
import json
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.core.lock_store import LockError

from channels import guard, sessions
from channels.multimodal import MultimodalInput, RequestRefused, lock_store_down, store_down
import rasa_extensions
from stores.strict_sql import StoreUnavailable

logger = logging.getLogger(__name__)


def error(refusal: RequestRefused) -> HTTPResponse:
    headers = {"Retry-After": str(refusal.retry_after)} if isinstance(refusal, guard.RateLimited) else {}
    return response.json({"error": {"code": refusal.code, "message": refusal.message}},
                         status=refusal.status, headers=headers)


async def scrub_api_errors(request: Request, response_: HTTPResponse) -> None:
    """Rasa's HTTP API errors ({"version", "status", "message", "reason", "details", "help",
    "code"}) may quote the request (a sender id, a field): message and details are replaced by a
    fixed text; status, reason and code stay. Our channels' errors never quote it already."""
    if response_.status < 400 or request.path.startswith(("/webhooks/", "/socket.io")):
        return
    if "json" not in (response_.content_type or ""):
        return
    try:
        body = json.loads(response_.body or b"")
    except (ValueError, UnicodeDecodeError):
        return
    if not isinstance(body, dict) or "reason" not in body or "message" not in body:
        return
    body["message"] = f"the request was refused ({body.get('reason')}); see the Rasa HTTP API docs"
    body["details"] = {}
    body["help"] = None
    response_.body = json.dumps(body).encode()
    response_.headers.pop("content-length", None)


class GuardedRestInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "GuardedRestInput":
        options = dict(credentials or {})
        unknown = sorted(set(options) - {"max_body_bytes", "max_text_chars", "public"})
        if unknown:
            raise ValueError(f"rest channel: unknown option(s) {', '.join(unknown)}")
        rasa_extensions.require_installed(cls.name())  # a plain `rasa run`: stops here
        return cls(**options)

    def __init__(self, max_body_bytes: int = 65536, max_text_chars: int = 5000,
                 public: bool = False) -> None:
        # public: no channel secret needed, senders need their session token (channels/sessions.py)
        self.public = bool(public)
        # the multimodal intake reads (capped) and validates JSON bodies: reused, not copied
        self.intake = MultimodalInput(max_total_bytes=max_body_bytes, max_text_chars=max_text_chars,
                                      max_attachments=1)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sessions.keys()  # no channel secret: Rasa does not start
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        # noinspection PyUnusedLocal
        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.listener("before_server_start")
        async def install(app: Any, _loop: Any) -> None:  # the whole app: Rasa's API included
            app.register_middleware(scrub_api_errors, "response")

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            try:
                session = sessions.HttpSession(request, self.public)  # before the body is read
                body = await self.intake._read_body(request)
                incoming = self.intake._parse_json(body, session.default_sender)
                del body
                session.check(incoming.sender)
                # the client's metadata is not trusted: only a customer the back end signed in
                _, customer = sessions.split_customer(incoming.client_metadata)
                guard.limiter().check(self.name(), incoming.sender, guard.client_address(request),
                                      media=False)
                agent = getattr(request.app.ctx, "agent", None)
                await guard.refuse_forged_shortcut(agent, incoming.sender, incoming.text)
            except RequestRefused as refusal:
                logger.info("rest: request refused: %s %s", refusal.status, refusal.code)
                return error(refusal)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(incoming.text, collector, incoming.sender,
                                                 input_channel=self.name(),
                                                 metadata={sessions.SIGNED_IN_KEY: customer}
                                                 if customer else None))
            except asyncio.CancelledError:
                logger.error("rest: handling the message timed out")
            except StoreUnavailable as problem:  # scale-out: no silent success without the store
                logger.error("rest: conversation store unavailable: %s", problem)
                return error(store_down())
            except LockError as problem:  # not processed: never without the conversation's lock
                logger.error("rest: lock store: %s", type(problem).__name__)
                return error(lock_store_down(problem))
            except Exception:
                logger.exception("rest: handling the message failed")
            return response.json(collector.messages, headers=session.headers())

        return webhook
