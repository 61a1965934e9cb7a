"""Who may speak for a conversation: the channel secret, server-issued sessions, signed-in customers.

A conversation's sender id is not a credential: whoever could send messages as a verified
conversation's sender would get its order status. So:

- **The channel secret** (one random string) is what a company's own back end proves itself with:
  ``Authorization: Bearer <secret>`` on the REST and multimodal channels (unless they are made
  public) and on the voice channel's ``/turn``. It comes from ``PARLEY_CHANNEL_SECRET``, else the
  file ``PARLEY_CHANNEL_SECRET_FILE`` (default ``var/channel_secret``, created by ``make run``),
  read here and nowhere else; without one the channels refuse to start. Scaled-out instances
  that share ``var/`` or the environment share it.
- **Sessions** of public clients (the web chat, voice calls, public REST) get a server-issued,
  unguessable id (``issue()``: 128 random bits as 32 hex digits) and a token,
  ``hex(HMAC-SHA256(session_key, session_id))``, where ``session_key`` is derived from the channel
  secret (so every instance checks every other's tokens, and nothing is stored). A client that
  proposes an id must send its token; otherwise it gets a new conversation.
- **Signed-in customers**: a company's site or app that has already signed a customer in passes
  ``metadata = {"customer": {"email": E, "expires": T}, "customer_signature": S}`` with a
  message, where ``T`` is a Unix time at most a day ahead and
  ``S = hex(HMAC-SHA256(channel secret, E + "\\n" + str(T)))``, made on the company's server (the
  secret never reaches a browser). ``split_customer`` checks it and the channel sets
  ``metadata["signed_in_customer"] = {"email": E, "expires": T}`` on the message; a client's own
  ``signed_in_customer`` is always dropped, so only a valid signature sets it.

Refusals are ``RequestRefused``: 401 ``missing_channel_secret`` / ``bad_channel_secret``, 403
``bad_session_token`` / ``bad_customer_signature``. Nothing here logs a secret, token, id or e-mail.
"""
import functools
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from channels.multimodal import RequestRefused

ROOT = Path(__file__).resolve().parents[1]
SECRET_ENV = "PARLEY_CHANNEL_SECRET"
SECRET_FILE_ENV = "PARLEY_CHANNEL_SECRET_FILE"
DEFAULT_SECRET_FILE = ROOT / "var" / "channel_secret"
MIN_SECRET_CHARS = 16

SESSION_HEADER = "X-Parley-Session"              # public REST / multimodal: the issued id ...
TOKEN_HEADER = "X-Parley-Session-Token"          # ... and its token (sent back by the client)
SIGNED_IN_KEY = "signed_in_customer"             # message metadata set by the channel, never a client
CUSTOMER_KEY = "customer"
SIGNATURE_KEY = "customer_signature"
MAX_CUSTOMER_SECONDS = 24 * 3600                 # a signed customer is valid at most a day ahead


class Secrets:
    """The channel secret and the session-token key derived from it."""

    def __init__(self, secret: str) -> None:
        secret = secret.strip()
        if len(secret) < MIN_SECRET_CHARS:
            raise ValueError(f"the channel secret must have at least {MIN_SECRET_CHARS} characters")
        self._secret = secret.encode("utf-8")
        self._session_key = hmac.new(self._secret, b"parley session tokens v1", hashlib.sha256).digest()

    # ------------------------------------------------------------ the back end's secret

    def bearer_ok(self, authorization: Optional[str]) -> bool:
        scheme, _, value = (authorization or "").strip().partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode("utf-8"),
                                                                   self._secret)

    def check_bearer(self, request: Any) -> None:
        """RequestRefused(401) unless the request carries ``Authorization: Bearer <secret>``."""
        authorization = request.headers.get("authorization")
        if not authorization:
            raise RequestRefused(401, "missing_channel_secret",
                                 "send the channel secret as 'Authorization: Bearer <secret>'")
        if not self.bearer_ok(authorization):
            raise RequestRefused(401, "bad_channel_secret", "the channel secret is not right")

    # ------------------------------------------------------------ sessions

    def token(self, session_id: str) -> str:
        return hmac.new(self._session_key, session_id.encode("utf-8"), hashlib.sha256).hexdigest()

    def issue(self) -> Tuple[str, str]:
        """A new (session id, token): 128 random bits, the form web chat ids have always had."""
        session_id = secrets.token_hex(16)
        return session_id, self.token(session_id)

    def valid(self, session_id: Any, token: Any) -> bool:
        if not isinstance(session_id, str) or not isinstance(token, str) or not session_id or not token:
            return False
        return hmac.compare_digest(self.token(session_id).encode("utf-8"), token.encode("utf-8", "replace"))

    def check_token(self, session_id: str, token: Any) -> None:
        if not self.valid(session_id, token):
            raise RequestRefused(403, "bad_session_token",
                                 "this conversation id needs its session token; leave the id out "
                                 "to start a new conversation")

    # ------------------------------------------------------------ signed-in customers

    def customer_signature(self, email: str, expires: int) -> str:
        return hmac.new(self._secret, f"{email}\n{int(expires)}".encode("utf-8"), hashlib.sha256).hexdigest()

    def split_customer(self, metadata: Optional[Dict[str, Any]], now: Optional[float] = None
                       ) -> Tuple[Optional[Dict[str, Any]], Optional[Dict[str, Any]]]:
        """(the client's metadata without the customer fields, the verified customer or None).
        A client's own ``signed_in_customer`` is dropped; a customer without a valid, unexpired
        signature is RequestRefused(403 bad_customer_signature)."""
        if not isinstance(metadata, dict):
            return metadata, None
        rest = {k: v for k, v in metadata.items() if k not in (CUSTOMER_KEY, SIGNATURE_KEY, SIGNED_IN_KEY)}
        if CUSTOMER_KEY not in metadata and SIGNATURE_KEY not in metadata:
            return rest, None
        customer = metadata.get(CUSTOMER_KEY)
        signature = metadata.get(SIGNATURE_KEY)
        email = customer.get("email") if isinstance(customer, dict) else None
        expires = customer.get("expires") if isinstance(customer, dict) else None
        now = time.time() if now is None else now
        if not isinstance(email, str) or not email or not isinstance(signature, str) \
                or not isinstance(expires, int) or isinstance(expires, bool) \
                or not now < expires <= now + MAX_CUSTOMER_SECONDS:
            raise RequestRefused(403, "bad_customer_signature",
                                 "the signed-in customer is malformed or expired (see README, Security)")
        if not hmac.compare_digest(self.customer_signature(email, expires).encode("utf-8"),
                                   signature.strip().lower().encode("utf-8", "replace")):
            raise RequestRefused(403, "bad_customer_signature", "the signed-in customer's signature is not right")
        return rest, {"email": email, "expires": expires}


def split_customer(metadata: Optional[Dict[str, Any]]
                   ) -> Tuple[Optional[Dict[str, Any]], Optional[Dict[str, Any]]]:
    """`Secrets.split_customer` with the process's secret (read only when a customer is sent)."""
    if not isinstance(metadata, dict) or not {CUSTOMER_KEY, SIGNATURE_KEY, SIGNED_IN_KEY} & set(metadata):
        return metadata, None
    if CUSTOMER_KEY not in metadata and SIGNATURE_KEY not in metadata:
        return {k: v for k, v in metadata.items() if k != SIGNED_IN_KEY}, None
    return keys().split_customer(metadata)


class HttpSession:
    """How one request to the REST or multimodal channel is allowed (see the module docstring).

    With a valid ``Authorization: Bearer <channel secret>`` it comes from the company's back
    end: any sender. Without one, on a channel that is not public: 401. On a public channel
    without one: a request without a sender gets a new server-issued id (``default_sender``),
    sent back in the ``X-Parley-Session`` / ``X-Parley-Session-Token`` headers; a request with a
    sender must carry that sender's token in ``X-Parley-Session-Token`` (403 otherwise)."""

    def __init__(self, request: Any, public: bool) -> None:
        self.keys = keys()
        self.request = request
        self.trusted = bool(request.headers.get("authorization")) or not public
        if self.trusted:
            self.keys.check_bearer(request)
        self.issued = None if self.trusted else self.keys.issue()
        self.default_sender = self.issued[0] if self.issued else None

    def check(self, sender: str) -> None:
        """RequestRefused(403) unless this request may speak as `sender`."""
        if self.trusted or (self.issued and sender == self.issued[0]):
            return
        self.issued = None
        self.keys.check_token(sender, self.request.headers.get(TOKEN_HEADER.lower()))

    def headers(self) -> Dict[str, str]:
        """The answer's headers: the new session, when one was issued."""
        if not self.issued:
            return {}
        return {SESSION_HEADER: self.issued[0], TOKEN_HEADER: self.issued[1],
                "Access-Control-Expose-Headers": f"{SESSION_HEADER}, {TOKEN_HEADER}",
                "Cache-Control": "no-store"}


def read_secret() -> str:
    """The channel secret: PARLEY_CHANNEL_SECRET, else the file PARLEY_CHANNEL_SECRET_FILE
    (default var/channel_secret). ValueError with what to do when there is none."""
    value = os.environ.get(SECRET_ENV, "").strip()
    if value:
        return value
    path = Path(os.environ.get(SECRET_FILE_ENV) or DEFAULT_SECRET_FILE)
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError:
        value = ""
    if not value:
        raise ValueError(f"no channel secret: set {SECRET_ENV}, or put one in {path} "
                         f"(`make run` creates it); see README, Security")
    return value


@functools.lru_cache(maxsize=1)
def keys() -> Secrets:
    """The process's Secrets, read once (the channels call it when Rasa builds them)."""
    return Secrets(read_secret())
