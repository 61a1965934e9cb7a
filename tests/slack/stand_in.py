"""A local stand-in for Slack (the one third party the tests cannot reach): the Web API methods
the channel calls, file downloads, and signed Events API requests.

`SlackStandIn` is an aiohttp server on a free port, in a thread of the test process:

- ``POST|GET /api/chat.postMessage``, ``/api/files.info``, ``/api/auth.test``: a Bearer token
  other than the bot token gives ``{"ok": false, "error": "invalid_auth"}`` (HTTP 200, as Slack
  does); ``as_user`` on chat.postMessage gives ``invalid_arguments`` (as for new Slack apps). Every
  call is recorded (`calls`, `posts`).
- ``GET /files-pri/<team>-<id>/<name>`` and ``.../download/<name>``: the file's bytes with the
  right Bearer token, 403 otherwise; a file made with `add_stream` is sent chunked (no
  Content-Length) and the stand-in records how much of it was sent before the reader hung up.

`event`, `dm`, `mention` and `post_event` build and send Events API payloads signed like Slack
(v0 HMAC-SHA256 of ``v0:<timestamp>:<body>`` with the signing secret).
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
import uuid
from typing import Any, Callable, Dict, List, Optional

import requests
from aiohttp import web

from tests.services import free_port, wait_until

TEAM = "T0STANDIN"
BOT_USER = "U0PARLEYBOT"


def new_id(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:10].upper()


def new_ts() -> str:
    time.sleep(0.001)
    return f"{time.time():.6f}"


class SlackStandIn:
    def __init__(self, token: str) -> None:
        self.token = token
        self.files: Dict[str, Dict[str, Any]] = {}
        self.calls: List[Dict[str, Any]] = []     # {"method", "args", "ok"}
        self.downloads: List[Dict[str, Any]] = []  # {"file", "status", "sent", "complete"}
        self._lock = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._runner: Optional[web.AppRunner] = None
        self._thread: Optional[threading.Thread] = None
        self.port = 0

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def start(self) -> "SlackStandIn":
        self.port = free_port()
        started = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            app = web.Application()
            app.router.add_route("*", "/api/{method}", self._api)
            app.router.add_get("/files-pri/{key}/{name}", self._file)
            app.router.add_get("/files-pri/{key}/download/{name}", self._file)
            self._runner = web.AppRunner(app)
            self._loop.run_until_complete(self._runner.setup())
            self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name=f"slack-stand-in-{self.port}", daemon=True)
        self._thread.start()
        if not started.wait(30):
            raise RuntimeError("the Slack stand-in did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)

    # ------------------------------------------------------------ files

    def _file_object(self, file_id: str, name: str, mimetype: str, size: int, **extra: Any) -> Dict[str, Any]:
        base = f"{self.url}/files-pri/{TEAM}-{file_id}"
        obj = {"id": file_id, "created": int(time.time()), "timestamp": int(time.time()), "name": name,
               "title": name, "mimetype": mimetype, "filetype": name.rsplit(".", 1)[-1], "user": "U0SOMEONE",
               "size": size, "mode": "hosted", "is_external": False, "is_public": False,
               "url_private": f"{base}/{name}", "url_private_download": f"{base}/download/{name}"}
        obj.update(extra)
        return obj

    def add_file(self, name: str, data: bytes, mimetype: str = "application/octet-stream",
                 token: Optional[str] = None, **extra: Any) -> Dict[str, Any]:
        """Serves `data`; returns the file object an event carries. `token`: the one token this
        file accepts (default: the bot token)."""
        file_id = new_id("F")
        obj = self._file_object(file_id, name, mimetype, extra.pop("size", len(data)), **extra)
        self.files[file_id] = {"data": data, "mimetype": mimetype, "token": token or self.token, "obj": obj}
        return obj

    def add_stream(self, name: str, head: bytes, total: int, mimetype: str = "image/png",
                   declared_size: int = 1000) -> Dict[str, Any]:
        """`head` then zeros up to `total` bytes, chunked; the event declares `declared_size`."""
        file_id = new_id("F")
        obj = self._file_object(file_id, name, mimetype, declared_size)
        self.files[file_id] = {"head": head, "total": total, "mimetype": mimetype, "token": self.token,
                               "obj": obj}
        return obj

    def downloads_of(self, file_id: str) -> List[Dict[str, Any]]:
        with self._lock:
            return [d for d in self.downloads if d["file"] == file_id]

    async def _file(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["key"].rsplit("-", 1)[-1]
        record = {"file": file_id, "status": 0, "sent": 0, "complete": False}
        with self._lock:
            self.downloads.append(record)
        stored = self.files.get(file_id)
        if stored is None:
            record["status"] = 404
            return web.Response(status=404, text="file_not_found")
        if request.headers.get("Authorization") != f"Bearer {stored['token']}":
            record["status"] = 403
            return web.Response(status=403, text="forbidden")
        record["status"] = 200
        if "data" in stored:
            record["sent"], record["complete"] = len(stored["data"]), True
            return web.Response(body=stored["data"], content_type=stored["mimetype"])
        reply = web.StreamResponse(status=200, headers={"Content-Type": stored["mimetype"]})
        reply.enable_chunked_encoding()
        await reply.prepare(request)
        chunk = bytes(256 * 1024)
        try:
            await reply.write(stored["head"])
            record["sent"] = len(stored["head"])
            while record["sent"] < stored["total"]:
                await reply.write(chunk)
                record["sent"] += len(chunk)
            await reply.write_eof()
            record["complete"] = True
        except (ConnectionError, asyncio.CancelledError):  # the reader hung up: what we expect
            pass
        return reply

    # ------------------------------------------------------------ Web API

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: Dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                args.update(await request.json())
            else:
                args.update(await request.post())
        authorized = request.headers.get("Authorization") == f"Bearer {self.token}"
        answer = self._answer(method, args) if authorized else {"ok": False, "error": "invalid_auth"}
        with self._lock:
            self.calls.append({"method": method, "args": args, "ok": answer["ok"]})
        return web.json_response(answer)

    def _answer(self, method: str, args: Dict[str, Any]) -> Dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "url": f"{self.url}/", "team": "Stand-in", "user": "parley",
                    "team_id": TEAM, "user_id": BOT_USER, "bot_id": "B0PARLEY"}
        if method == "chat.postMessage":
            if "as_user" in args:
                return {"ok": False, "error": "invalid_arguments", "deprecated_argument": "as_user"}
            if not args.get("channel"):
                return {"ok": False, "error": "channel_not_found"}
            ts = new_ts()
            return {"ok": True, "channel": args["channel"], "ts": ts,
                    "message": {"type": "message", "text": args.get("text", ""), "ts": ts, "bot_id": "B0PARLEY"}}
        if method == "files.info":
            stored = self.files.get(str(args.get("file")))
            return {"ok": True, "file": stored["obj"]} if stored else {"ok": False, "error": "file_not_found"}
        return {"ok": False, "error": "unknown_method"}

    # ------------------------------------------------------------ what was posted

    def posts(self, channel: Optional[str] = None, thread_ts: Optional[str] = None) -> List[Dict[str, Any]]:
        """chat.postMessage calls that succeeded, optionally in one channel / thread."""
        with self._lock:
            calls = [c["args"] for c in self.calls if c["method"] == "chat.postMessage" and c["ok"]]
        return [c for c in calls if (channel is None or c.get("channel") == channel)
                and (thread_ts is None or c.get("thread_ts") == thread_ts)]

    def wait_for(self, predicate: Callable[[], Any], deadline_s: float = 300, what: str = "posts") -> Any:
        """Polls until predicate() is truthy (a generous deadline, not a measure of speed)."""
        return wait_until(predicate, what, deadline_s, detail=lambda: f"calls so far: {self.calls[-10:]}")

    def thread_text(self, channel: str, thread_ts: str) -> str:
        return " ".join(str(p.get("text", "")) for p in self.posts(channel, thread_ts)).lower()

    def wait_for_text(self, channel: str, thread_ts: str, *needles: str, deadline_s: float = 300) -> str:
        """The thread's text (lowercase) once it contains every needle."""
        def ready() -> Optional[str]:
            text = self.thread_text(channel, thread_ts)
            return text if all(n.lower() in text for n in needles) else None
        return self.wait_for(ready, deadline_s, what=f"answer with {needles!r} in {channel}/{thread_ts}")


# ---------------------------------------------------------------- Events API payloads


def event(inner: Dict[str, Any], event_id: Optional[str] = None) -> Dict[str, Any]:
    """An event_callback envelope as Slack sends it."""
    return {"token": "deprecated-verification-token", "team_id": TEAM, "api_app_id": "A0PARLEY",
            "event": inner, "type": "event_callback", "event_id": event_id or new_id("Ev"),
            "event_time": int(time.time()), "is_ext_shared_channel": False,
            "authorizations": [{"enterprise_id": None, "team_id": TEAM, "user_id": BOT_USER, "is_bot": True,
                                "is_enterprise_install": False}]}


def dm(user: str, channel: str, text: str = "", files: Optional[List[Dict[str, Any]]] = None,
       ts: Optional[str] = None, thread_ts: Optional[str] = None) -> Dict[str, Any]:
    """A direct message (message.im), with files when given (subtype file_share)."""
    ts = ts or new_ts()
    inner: Dict[str, Any] = {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
                             "event_ts": ts, "channel_type": "im", "client_msg_id": str(uuid.uuid4()),
                             "team": TEAM}
    if files:
        inner.update(subtype="file_share", files=files, upload=False, display_as_bot=False)
    if thread_ts:
        inner["thread_ts"] = thread_ts
    return inner


def mention(user: str, channel: str, text: str, files: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    """An app_mention in a public channel: the text starts with <@BOT_USER>."""
    ts = new_ts()
    inner: Dict[str, Any] = {"type": "app_mention", "channel": channel, "user": user,
                             "text": f"<@{BOT_USER}> {text}", "ts": ts, "event_ts": ts,
                             "client_msg_id": str(uuid.uuid4()), "team": TEAM}
    if files:
        inner["files"] = files
    return inner


def sign(secret: str, body: bytes, timestamp: Optional[int] = None) -> Dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    base = f"v0:{timestamp}:".encode() + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": signature}


def post_event(webhook_url: str, secret: str, payload: Any, timestamp: Optional[int] = None,
               retry: Optional[int] = None, headers: Optional[Dict[str, str]] = None) -> requests.Response:
    """POSTs `payload` (a dict, or bytes as they are) signed with `secret`, as Slack would."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sent = {"Content-Type": "application/json", "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)"}
    sent.update(sign(secret, body, timestamp))
    if retry is not None:
        sent.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    sent.update(headers or {})
    return requests.post(webhook_url, data=body, headers=sent, timeout=30)
