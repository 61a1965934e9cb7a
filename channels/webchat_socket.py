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
"""
import logging
from typing import Any, Dict, Optional

from socketio import AsyncServer
from socketio import packet as sio_packet

logger = logging.getLogger(__name__)

BINARY_TYPES = (str(sio_packet.BINARY_EVENT), str(sio_packet.BINARY_ACK))


class _Dropped:
    """The rest of a binary message that is refused: its parts are counted, not kept."""

    def __init__(self, remaining: int, namespace: Optional[str], code: str, message: str) -> None:
        self.remaining = remaining
        self.namespace = namespace or "/"
        self.code = code
        self.message = message


class BoundedAsyncServer(AsyncServer):
    """AsyncServer that refuses binary messages with too many parts or too many bytes."""

    def __init__(self, *args: Any, max_parts: int, max_total_bytes: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_parts = max_parts
        self.max_total_bytes = max_total_bytes
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
