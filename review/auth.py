"""Signed session cookies, CSRF tokens and log tags (HMAC-SHA256, standard library only)."""
import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Dict, Optional, Tuple

COOKIE = "parley_review"
LIFETIME = 12 * 3600


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sessions:
    def __init__(self, key: bytes) -> None:
        self.key = key

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self.key, payload.encode("ascii"), hashlib.sha256).digest())

    def issue(self, user: str, version: str, now: Optional[float] = None) -> str:
        body = {"u": user, "v": version, "n": secrets.token_hex(8),
                "e": int((now or time.time()) + LIFETIME)}
        payload = _b64(json.dumps(body, separators=(",", ":")).encode("utf-8"))
        return f"{payload}.{self._sign(payload)}"

    def read(self, cookie: Optional[str], now: Optional[float] = None) -> Optional[Dict]:
        """The session in a cookie, or None when it is missing, forged or expired."""
        if not cookie or cookie.count(".") != 1:
            return None
        payload, signature = cookie.split(".")
        if not hmac.compare_digest(self._sign(payload), signature):
            return None
        try:
            body = json.loads(_unb64(payload))
        except ValueError:
            return None
        if not isinstance(body, dict) or not isinstance(body.get("e"), int) \
                or body["e"] < (now or time.time()):
            return None
        return body

    def csrf(self, session: Dict) -> str:
        return self._sign(f"csrf:{session.get('n')}")

    def csrf_ok(self, session: Dict, token: Optional[str]) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf(session), token)


def tag(key: bytes, kind: str, value: Optional[str]) -> str:
    """A value for the logs that cannot be read back: `kind-` and 12 hex characters of a keyed
    hash (the install's secret), e.g. ``ip-3fa2b1c9d0e4``. The same value gives the same tag, so
    the attempts of one client address or one account name can be followed; nobody without the
    secret can tell which address or name it was. (The prefix keeps a tag of only digits from
    looking like a phone number to the log redaction.)"""
    if not value:
        return f"{kind}-none"
    return f"{kind}-" + hmac.new(key, f"{kind}:{value}".encode("utf-8"), hashlib.sha256).hexdigest()[:12]


class LoginThrottle:
    """After `limit` wrong passwords for one name, that name is refused for `pause` seconds."""

    def __init__(self, limit: int = 5, pause: float = 60) -> None:
        self.limit, self.pause = limit, pause
        self.failures: Dict[str, Tuple[int, float]] = {}

    def blocked(self, name: str, now: Optional[float] = None) -> bool:
        count, since = self.failures.get(name, (0, 0.0))
        return count >= self.limit and (now or time.time()) - since < self.pause

    def failed(self, name: str, now: Optional[float] = None) -> None:
        count, _ = self.failures.get(name, (0, 0.0))
        self.failures[name] = (count + 1, now or time.time())
        if len(self.failures) > 10000:
            self.failures.clear()

    def succeeded(self, name: str) -> None:
        self.failures.pop(name, None)
