"""Input bounds through the real servers (the session's `assistant`: Rasa, the action server and
the perception service): client metadata capped, JSON nesting refused before it is parsed, lone
surrogates refused, the pictures of one message capped in pixels, and the read-aloud endpoint
(/webhooks/webchat/speech) capped in body and rate-limited, on every channel that takes them
(channels/bounds.py). Slack's signed bodies: tests/channels/test_bounds.py.

The speech budget is the client address's media budget (120 a minute by default): to spend it
without touching the budget of the other tests (all from 127.0.0.1), those requests come from
other loopback addresses (127.0.0.2, 127.0.0.3), which Linux routes to the same server."""
import asyncio
import http.client
import json
import socket
import struct
import uuid
import zlib
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest
import requests
import websockets

from tests import services
from tests.webchat.client import ChatClient

KiB = 1024
DEEP = 5000


def sender() -> str:
    return f"bounds-{uuid.uuid4().hex[:10]}"


def nested(depth: int = DEEP) -> str:
    return "[" * depth + "]" * depth


def error_code(answer: requests.Response) -> str:
    assert answer.headers.get("content-type", "").startswith("application/json"), answer.text[:200]
    return answer.json()["error"]["code"]


def tracker_bytes(assistant) -> int:
    """Rasa's SQLite tracker store on disk, with its journal files."""
    path = Path(assistant.tracker_db)
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def user_texts(assistant, who: str) -> List[str]:
    return [e.get("text") for e in assistant.tracker(who)["events"] if e["event"] == "user"]


def png(width: int, height: int) -> bytes:
    """A small PNG that declares width x height (its pixels are never decoded here)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


class Logs:
    """What the assistant's services logged from now on (tests/artifacts/<service>.log)."""

    NAMES = ("assistant-rasa", "assistant-actions", "perception")

    def __init__(self) -> None:
        self.start = {name: self._path(name).stat().st_size for name in self.NAMES}

    @staticmethod
    def _path(name: str) -> Path:
        return services.ARTIFACTS / f"{name}.log"

    def since(self) -> Dict[str, str]:
        found = {}
        for name in self.NAMES:
            with self._path(name).open("rb") as log:
                log.seek(self.start[name])
                found[name] = log.read().decode("utf-8", "replace")
        return found


def post(assistant, path: str, body, content_type: str = "application/json", auth: bool = True,
         timeout: float = 120) -> requests.Response:
    headers = {"Content-Type": content_type, **(services.channel_auth() if auth else {})}
    data = body if isinstance(body, bytes) else body.encode()
    return requests.post(f"{assistant.url}{path}", data=data, headers=headers, timeout=timeout)


def speech_from(assistant, source: str, body: bytes) -> Tuple[int, Dict[str, str], bytes]:
    """POST /webhooks/webchat/speech from the loopback address `source`."""
    host, port = assistant.url.rsplit("//", 1)[1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60, source_address=(source, 0))
    try:
        connection.request("POST", "/webhooks/webchat/speech", body=body,
                           headers={"Content-Type": "text/plain;charset=UTF-8"})
        reply = connection.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        connection.close()


async def chat_turns(url: str, messages: List[Tuple]) -> Tuple[List[tuple], Optional[list]]:
    """Sends each message's raw socket.io frames (a text packet, then its binary parts), waits for
    its error event; then an ordinary message on the same connection. (every error event, the
    events of the ordinary turn)."""
    chat = ChatClient(url)
    await chat.connect()
    errors = []
    try:
        for frames in messages:
            since = len(chat.events)
            for frame in frames:
                await chat.send_raw(frame)
            frame = frames[0]
            try:
                errors.append(await chat.wait_for("error", since, timeout=60))
            except AssertionError:
                raise AssertionError(f"no error event for {frame[:60]!r}... (connected: {chat.connected}, "
                                     f"events: {chat.events[since:]})")
        normal = await chat.send("hello") if chat.connected else None
    finally:
        await chat.close()
    return errors, normal


async def voice_call(url: str, frame: str) -> Tuple[List[dict], Optional[int]]:
    """One raw text frame on a new voice call: (the events received, the close code)."""
    events = []
    async with websockets.connect(url, open_timeout=30) as ws:
        await ws.send(frame)
        try:
            while True:
                message = await asyncio.wait_for(ws.recv(), timeout=30)
                if isinstance(message, str):
                    events.append(json.loads(message))
        except websockets.ConnectionClosed:
            pass
        return events, ws.close_code


def voice_url(assistant) -> str:
    return assistant.url.replace("http", "ws", 1) + "/webhooks/voice/stream"


# ------------------------------------------------------------------ metadata


def test_five_megabytes_of_metadata_are_refused_and_the_tracker_does_not_grow(assistant):
    me, blob = sender(), {"blob": "x" * 5_000_000}
    before = tracker_bytes(assistant)
    as_json = post(assistant, "/webhooks/multimodal/webhook",
                   json.dumps({"sender": me, "message": "hello", "metadata": blob}))
    assert as_json.status_code == 413 and error_code(as_json) == "metadata_too_large"
    as_form = assistant.send(me, "hello", metadata=blob)
    assert as_form.status_code == 413 and error_code(as_form) == "metadata_too_large"
    just_over = assistant.send(me, "hello", metadata={"note": "y" * 8200})
    assert just_over.status_code == 413 and error_code(just_over) == "metadata_too_large"
    rest = post(assistant, "/webhooks/rest/webhook", json.dumps({"sender": me, "message": "hello",
                                                                 "metadata": blob}))
    assert rest.status_code == 413 and error_code(rest) == "payload_too_large"  # its 64 KiB body cap
    errors, _ = asyncio.run(chat_turns(assistant.url, [
        ("42" + json.dumps(["user_uttered", {"message": "hello", "metadata": blob}]),)]))
    assert errors[0][1]["code"] == "payload_too_large"  # over the JSON a socket message may carry
    assert tracker_bytes(assistant) - before < 64 * KiB
    assert user_texts(assistant, me) == []
    # metadata under the cap still goes through
    fine = assistant.send(me, "hello", metadata={"page": "help"})
    assert fine.status_code == 200, fine.text[:300]
    users = [e for e in assistant.tracker(me)["events"] if e["event"] == "user"]
    assert users[-1]["metadata"]["client"] == {"page": "help"}


# ------------------------------------------------------------------ nesting


def test_json_nested_five_thousand_deep_is_a_400_on_every_channel(assistant):
    logs = Logs()
    me = sender()
    body = '{"sender": "%s", "message": "hello", "metadata": {"a": %s}}' % (me, nested())
    for path in ("/webhooks/rest/webhook", "/webhooks/multimodal/webhook"):
        answer = post(assistant, path, body)
        assert answer.status_code == 400 and error_code(answer) == "too_deeply_nested", path
    form = assistant.send(me, "hello", metadata='{"a": %s}' % nested())
    assert form.status_code == 400 and error_code(form) == "too_deeply_nested"
    # /speech: its body cap (9 KiB) holds 4,000 levels, not 5,000
    speech = post(assistant, "/webhooks/webchat/speech", '{"text": "hi", "a": %s}' % nested(4000),
                  "text/plain", auth=False)
    assert speech.status_code == 400 and error_code(speech) == "too_deeply_nested"
    speech = post(assistant, "/webhooks/webchat/speech", '{"text": "hi", "a": %s}' % nested(), "text/plain",
                  auth=False)
    assert speech.status_code == 413 and error_code(speech) == "payload_too_large"
    # the web chat: a text packet and a packet announcing a binary part; the socket stays usable
    errors, normal = asyncio.run(chat_turns(assistant.url, [
        ('42["user_uttered",{"message":"hello","metadata":%s}]' % nested(),),
        ('451-["user_uttered",{"attachments":[{"data":{"_placeholder":true,"num":0}}],"x":%s}]' % nested(),
         png(10, 10)),  # its binary part is dropped as it arrives
        ("4" + nested(),),  # not even a socket.io packet: engine.io tries it as JSON first
    ]))
    assert [data["code"] for _, data in errors] == ["too_deeply_nested"] * 3
    assert normal is not None and any(event == "bot_uttered" for event, _ in normal), normal
    # the voice call: an error event and close 1007 (a malformed message), never 1011
    events, code = asyncio.run(voice_call(voice_url(assistant),
                                          '{"type": "start", "metadata": {"a": %s}}' % nested(2000)))
    assert events[-1]["type"] == "error" and events[-1]["code"] == "too_deeply_nested", events
    assert code == 1007
    events, code = asyncio.run(voice_call(voice_url(assistant), '{"type": "start", "x": %s}' % nested()))
    assert events[-1]["code"] == "message_too_large" and code == 1009  # over max_control_chars first
    assert user_texts(assistant, me) == []
    for name, text in logs.since().items():
        assert "Traceback" not in text and "RecursionError" not in text, (name, text[-3000:])


# ------------------------------------------------------------------ invalid Unicode


def test_a_lone_surrogate_is_refused_and_nothing_fails_behind(assistant):
    logs = Logs()
    me = sender()
    lone = '"hello \\ud800 there"'  # JSON's escape: Python decodes it to a lone surrogate
    for path in ("/webhooks/rest/webhook", "/webhooks/multimodal/webhook"):
        for body in ('{"sender": "%s", "message": %s}' % (me, lone),
                     '{"sender": %s, "message": "hello"}' % lone,
                     '{"sender": "%s", "message": "hello", "metadata": {"k": %s}}' % (me, lone)):
            answer = post(assistant, path, body)
            assert answer.status_code == 400 and error_code(answer) == "invalid_text", (path, body)
    form = assistant.send(me, "hello", metadata='{"note": %s}' % lone)
    assert form.status_code == 400 and error_code(form) == "invalid_text"
    raw_bytes = assistant.send(me, b"hello \xed\xa0\x80")  # a surrogate as UTF-8 bytes: not UTF-8
    assert raw_bytes.status_code == 400 and error_code(raw_bytes) == "invalid_body"
    speech = post(assistant, "/webhooks/webchat/speech", '{"text": %s}' % lone, "text/plain", auth=False)
    assert speech.status_code == 400 and error_code(speech) == "invalid_text"
    errors, normal = asyncio.run(chat_turns(assistant.url, [
        ('42["user_uttered",{"message":%s}]' % lone,),
        ('42["user_uttered",{"message":"hello","metadata":{%s:1}}]' % lone,),
        ('42["feedback",{"bot_index":0,"rating":"up","x":%s}]' % lone,),
        ('42["session_request",{"session_id":%s}]' % lone,),
    ]))
    assert [data["code"] for _, data in errors] == ["invalid_text"] * 4
    assert normal is not None and any(event == "bot_uttered" for event, _ in normal), normal
    events, code = asyncio.run(voice_call(voice_url(assistant), '{"type": "start", "sender": %s}' % lone))
    assert events[-1]["code"] == "invalid_text" and code == 1007, events
    assert user_texts(assistant, me) == []
    for name, text in logs.since().items():
        assert "Traceback" not in text, (name, text[-3000:])


# ------------------------------------------------------------------ pixels


def test_a_message_of_pictures_over_the_pixel_total_is_refused(assistant):
    me = sender()
    before = set(p.name for p in Path(assistant.attachments_dir).rglob("*")) \
        if Path(assistant.attachments_dir).exists() else set()
    # the message: 5 PNGs of 6300 x 6300, each under the perception service's 40 MP cap
    answer = assistant.send(me, "my router", files=[(f"p{i}.png", png(6300, 6300)) for i in range(5)])
    assert answer.status_code == 413 and error_code(answer) == "too_many_pixels"
    after = set(p.name for p in Path(assistant.attachments_dir).rglob("*")) \
        if Path(assistant.attachments_dir).exists() else set()
    assert after == before  # nothing stored
    assert user_texts(assistant, me) == []


# ------------------------------------------------------------------ /speech


def test_speech_refuses_twenty_megabytes_before_reading_them(assistant):
    """Only the headers are sent: the answer comes from Content-Length alone."""
    host, port = assistant.url.rsplit("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=30, source_address=("127.0.0.3", 0)) as connection:
        connection.sendall(b"POST /webhooks/webchat/speech HTTP/1.1\r\nHost: test\r\n"
                           b"Content-Type: text/plain\r\nContent-Length: 20971520\r\n\r\n")
        head = connection.recv(65536)
    assert head.startswith(b"HTTP/1.1 413"), head[:300]
    assert b"payload_too_large" in head and b"audio/wav" not in head
    # without Content-Length (chunked): cut off as it streams in
    def chunks():
        yield b'{"text": "'
        for _ in range(20):
            yield b"a" * (1024 * 1024)

    try:
        answer = requests.post(f"{assistant.url}/webhooks/webchat/speech", data=chunks(), timeout=60)
    except requests.ConnectionError:
        pass  # the server may close the connection while the client is still sending
    else:
        assert answer.status_code == 413 and error_code(answer) == "payload_too_large"
    # an ordinary request is still read aloud
    status, headers, audio = speech_from(assistant, "127.0.0.3", b'{"text": "Your order is on its way."}')
    assert status == 200 and headers["content-type"] == "audio/wav" and audio[:4] == b"RIFF"


def test_speech_over_the_address_budget_gets_429_with_retry_after(assistant):
    statuses = []
    for _ in range(300):  # the default budget: 120 a minute per address (2 more each second)
        status, headers, _ = speech_from(assistant, "127.0.0.2", b"{}")  # refused cheaply: no text
        statuses.append(status)
        if status == 429:
            break
    assert statuses[-1] == 429, statuses[-5:]
    assert set(statuses[:-1]) == {400} and len(statuses) > 100, (len(statuses), set(statuses))
    retry_after = int(headers["retry-after"])
    assert 1 <= retry_after <= 60
    # over budget, even a valid request is not read aloud; another address is not affected
    status, _, _ = speech_from(assistant, "127.0.0.2", b'{"text": "hello"}')
    assert status == 429
    status, _, _ = speech_from(assistant, "127.0.0.4", b"{}")
    assert status == 400
