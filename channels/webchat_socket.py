"""The web chat's socket.io server: python-socketio's AsyncServer with bounded binary messages.

A socket.io message with files arrives as one text frame that announces N binary parts, then the
N parts, each its own frame. python-socketio keeps every part in memory until the last one is
in, and only then calls the event handler, so a client could announce a thousand parts of 40 MiB
each. Here a message that announces more parts than `max_parts`, or whose parts add up to more
than `max_total_bytes`, is not assembled: its remaining parts are read and dropped, and when the
last one has gone by the client gets an ``error`` event ({"code", "message"}) on the same
connection, which stays open. One frame larger than engine.io's ``max_http_buffer_size`` cannot
be read at all: engine.io closes that connection (the limit is announced to the client in the
handshake as ``maxPayload``; the widget checks sizes before it sends).

python-engineio and python-socketio decode JSON themselves, and Python's json recurses once per
level: a text packet nested deeper than ``channels.bounds.MAX_DEPTH`` is therefore refused from
its raw text, before it is decoded (``too_deeply_nested``; its binary parts are dropped as they
arrive; a CONNECT packet that deep is dropped: there is no connection yet to answer on), and
both libraries decode with `BoundedJson`, which checks the depth first (engine.io tries every
message as JSON before it hands it on as text). Then every event's decoded arguments are walked (without
recursion) before its handler runs: a lone surrogate in any string (``invalid_text``) or more
than ``max_json_bytes`` of JSON beside the files (``payload_too_large``) is refused. Refusals are
an ``error`` event ({"code", "message"}) to that socket, which stays connected.
"""
import json
import logging
from typing import Any, Dict, Optional

from socketio import AsyncServer
from socketio import packet as sio_packet

from channels import bounds
from channels.multimodal import RequestRefused

logger = logging.getLogger(__name__)

BINARY_TYPES = (str(sio_packet.BINARY_EVENT), str(sio_packet.BINARY_ACK))
UNCHECKED_EVENTS = ("connect", "disconnect")  # the server's own arguments (environ, reason)


def attachment_count(encoded: str) -> int:
    """The binary parts a BINARY_EVENT / BINARY_ACK packet announces (0 for other packets)."""
    if encoded[:1] not in BINARY_TYPES:
        return 0
    count = encoded[1:].split("-", 1)[0]
    return int(count) if count.isdigit() and len(count) <= 10 else 0


def packet_namespace(encoded: str) -> str:
    """The namespace of an encoded socket.io packet, read without decoding its JSON
    (``<type>[<attachments>-][/<namespace>,][<id>]<json>``)."""
    rest = encoded[1:]
    dash = rest.find("-")
    if dash > 0 and rest[:dash].isdigit():
        rest = rest[dash + 1:]
    if rest.startswith("/"):
        return rest.split(",", 1)[0].split("?", 1)[0]
    return "/"


class BoundedJson:
    """The json module python-engineio and python-socketio decode packets with (their ``json``
    option): too deep is a ValueError before anything is parsed, never a RecursionError."""

    dumps = staticmethod(json.dumps)

    @staticmethod
    def loads(text: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            bounds.check_depth(text)
        except RequestRefused as refusal:
            raise ValueError(refusal.message)
        return json.loads(text, *args, **kwargs)


class _Dropped:
    """The rest of a binary message that is refused: its parts are counted, not kept."""

    def __init__(self, remaining: int, namespace: Optional[str], code: str, message: str) -> None:
        self.remaining = remaining
        self.namespace = namespace or "/"
        self.code = code
        self.message = message


class BoundedAsyncServer(AsyncServer):
    """AsyncServer that refuses binary messages with too many parts or too many bytes."""

    def __init__(self, *args: Any, max_parts: int, max_total_bytes: int,
                 max_json_bytes: int = 128 * 1024, **kwargs: Any) -> None:
        kwargs.setdefault("json", BoundedJson)
        super().__init__(*args, **kwargs)
        self.max_parts = max_parts
        self.max_total_bytes = max_total_bytes
        self.max_json_bytes = max_json_bytes
        self._binary_bytes: Dict[str, int] = {}

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        pending = self._binary_packet.get(eio_sid)
        if isinstance(pending, _Dropped):
            pending.remaining -= 1
            if pending.remaining <= 0:
                del self._binary_packet[eio_sid]
                await self._refuse(eio_sid, pending)
            return
        if pending is not None:  # a part of a message being assembled
            received = self._binary_bytes.get(eio_sid, 0) + len(data or b"")
            if received > self.max_total_bytes:
                self._binary_bytes.pop(eio_sid, None)
                left = pending.attachment_count - len(pending.attachments) - 1
                dropped = _Dropped(left, pending.namespace, "payload_too_large",
                                   f"the files add up to more than {self.max_total_bytes} bytes")
                if left <= 0:
                    del self._binary_packet[eio_sid]
                    await self._refuse(eio_sid, dropped)
                else:
                    self._binary_packet[eio_sid] = dropped
                return
            self._binary_bytes[eio_sid] = received
            if pending.attachment_count == len(pending.attachments) + 1:
                self._binary_bytes.pop(eio_sid, None)  # complete after this part
            await super()._handle_eio_message(eio_sid, data)
            return
        if isinstance(data, str):
            try:
                bounds.check_depth(data[1:])  # before python-socketio decodes it
            except (RequestRefused, ValueError) as refusal:
                await self._refuse_packet(eio_sid, data, refusal)
                return
        if isinstance(data, str) and data[:1] in BINARY_TYPES:
            header = self.packet_class(encoded_packet=data)
            if header.attachment_count > self.max_parts and \
                    self.manager.sid_from_eio_sid(eio_sid, header.namespace or "/"):
                logger.info("webchat: a message with %d binary parts refused (at most %d)",
                            header.attachment_count, self.max_parts)
                self._binary_packet[eio_sid] = _Dropped(
                    header.attachment_count, header.namespace, "too_many_attachments",
                    f"at most {self.max_parts} attachments per message, got {header.attachment_count}")
                return
            self._binary_bytes[eio_sid] = 0
        await super()._handle_eio_message(eio_sid, data)

    async def _refuse_packet(self, eio_sid: str, data: str, refusal: Exception) -> None:
        namespace = packet_namespace(data)
        if data[:1] == str(sio_packet.CONNECT) or not self.manager.sid_from_eio_sid(eio_sid, namespace):
            logger.info("webchat: a packet too deeply nested dropped (no connection to answer on)")
            return
        if not isinstance(refusal, RequestRefused):  # brackets that do not balance
            refusal = RequestRefused(400, "invalid_message", "the message is not valid JSON")
        dropped = _Dropped(attachment_count(data), namespace, refusal.code, refusal.message)
        if dropped.remaining > 0:  # its binary parts are still to come: dropped as they arrive
            self._binary_packet[eio_sid] = dropped
        else:
            await self._refuse(eio_sid, dropped)

    async def _trigger_event(self, event: str, namespace: str, *args: Any) -> Any:
        """Every client event's arguments are checked before its handler runs (see above)."""
        if event not in UNCHECKED_EVENTS and args:
            try:
                bounds.check_value(list(args[1:]), max_bytes=self.max_json_bytes, exact=False,
                                   too_large="payload_too_large", what="the message (files aside)")
            except RequestRefused as refusal:
                logger.info("webchat: an event refused: %s", refusal.code)
                await self.emit("error", {"code": refusal.code, "message": refusal.message},
                                to=args[0], namespace=namespace)
                return None
        return await super()._trigger_event(event, namespace, *args)

    async def _refuse(self, eio_sid: str, dropped: _Dropped) -> None:
        sid = self.manager.sid_from_eio_sid(eio_sid, dropped.namespace)
        if sid is None:
            return
        logger.info("webchat: message refused: %s", dropped.code)
        await self.emit("error", {"code": dropped.code, "message": dropped.message}, to=sid,
                        namespace=dropped.namespace)

    async def _handle_eio_disconnect(self, eio_sid: str, *args: Any) -> None:
        self._binary_bytes.pop(eio_sid, None)
        await super()._handle_eio_disconnect(eio_sid, *args)
