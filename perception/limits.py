"""Request body limits, enforced while the body streams in (never after buffering it).

A declared Content-Length above the route's limit is refused before reading; a body that
streams past the limit (chunked uploads, lying headers) is cut off at the limit with 413.
"""
import json
from typing import Any, Callable, Dict

from perception.errors import APIError


class BodyTooLarge(Exception):
    pass


def limit_error(limit: int) -> APIError:
    return APIError(413, "too_large", f"this request body is larger than the limit of {limit} bytes")


class TrackedSend:
    """An ASGI `send` that remembers whether the response has started (after that, a middleware
    can no longer answer with an error of its own)."""

    def __init__(self, send: Callable) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)


class BodyLimit:
    """ASGI middleware: `limits` maps a path to its byte limit; `default` covers the rest."""

    def __init__(self, app: Callable, limits: Dict[str, int], default: int) -> None:
        self.app = app
        self.limits = limits
        self.default = default

    async def __call__(self, scope: Dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope["path"], self.default)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit)
            return
        received = 0

        async def limited_receive() -> Dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        tracked = TrackedSend(send)
        try:
            await self.app(scope, limited_receive, tracked)
        except BodyTooLarge:
            if not tracked.started:
                await self._refuse(send, limit)

    @staticmethod
    async def _refuse(send: Callable, limit: int) -> None:
        error = limit_error(limit)
        body = json.dumps({"error": {"code": error.code, "message": error.message}}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
