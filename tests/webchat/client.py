"""Socket.io clients of the web chat for tests; both record every event they receive.

`ChatClient` speaks socket.io over a websocket, as browsers do, with the `websockets` package
and python-socketio's packet codec (python-socketio's own AsyncClient needs a newer aiohttp than
Rasa 3.6 pins for websockets). `PollingChatClient` is python-socketio's AsyncClient on HTTP long
polling, the transport a browser starts with and falls back to.
"""
import asyncio
import re
from typing import Any, Callable, Dict, List, Optional, Tuple

import socketio
import websockets
from socketio import packet as sio_packet

Event = Tuple[str, Any]


class _Recorder:
    events: List[Event]
    session_id: Optional[str]
    session_token: Optional[str] = None

    async def emit(self, event: str, data: Any) -> None:
        raise NotImplementedError

    async def handshake(self, session_id: Optional[str], session_token: Optional[str] = None) -> str:
        """session_request (resuming `session_id` with its token, if given); the confirmed id."""
        since = len(self.events)
        await self.emit("session_request", {"session_id": session_id, "session_token": session_token})
        _, self.session_id = await self.wait_for("session_confirm", since)
        _, issued = await self.wait_for("session_token", since)
        assert issued["session_id"] == self.session_id, issued
        self.session_token = issued["session_token"]
        await self.wait_for("history", since)
        return self.session_id

    def named(self, name: str, since: int = 0) -> List[Any]:
        return [data for event, data in self.events[since:] if event == name]

    async def wait_for(self, name: str, since: int = 0, where: Callable[[Any], bool] = lambda d: True,
                       timeout: float = 180) -> Event:
        """The first event `name` (from position `since`) that satisfies `where`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for event, data in self.events[since:]:
                if event == name and where(data):
                    return event, data
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no {name!r} event; got {[e for e, _ in self.events[since:]]}")
            await asyncio.sleep(0.05)

    async def send(self, message: Optional[str] = None, attachments: Optional[List[Dict[str, Any]]] = None,
                   **extra: Any) -> List[Event]:
        """Sends user_uttered; the events of that turn (until typing stops, or an error event)."""
        start = len(self.events)
        payload: Dict[str, Any] = dict(extra)  # the socket's session is the server's to know
        if message is not None:
            payload["message"] = message
        if attachments is not None:
            payload["attachments"] = attachments
        await self.emit("user_uttered", payload)
        deadline = asyncio.get_running_loop().time() + 240
        while True:
            for event, data in self.events[start:]:
                if event == "error" or (event == "typing" and not data.get("on")):
                    return self.events[start:]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the turn did not end; got {self.events[start:]}")
            await asyncio.sleep(0.05)

    async def refused(self, code: str, message: Optional[str] = None,
                      attachments: Optional[List[Dict[str, Any]]] = None, **extra: Any) -> Dict[str, Any]:
        events = await self.send(message, attachments, **extra)
        errors = [data for event, data in events if event == "error"]
        assert errors, f"no error event; got {events}"
        assert errors[0]["code"] == code, errors[0]
        assert errors[0]["message"]
        return errors[0]


class ChatClient(_Recorder):
    """socket.io (engine.io 4) over a websocket."""

    def __init__(self, url: str, headers: Optional[Dict[str, str]] = None) -> None:
        self.url = re.sub(r"^http", "ws", url.rstrip("/")) + "/socket.io/?EIO=4&transport=websocket"
        self.headers = headers or {}
        self.events = []
        self.session_id = None
        self.ws: Any = None
        self.reader: Optional[asyncio.Task] = None
        self.connected = False

    async def connect(self, session_id: Optional[str] = None, session_token: Optional[str] = None,
                      handshake: bool = True) -> Optional[str]:
        self.ws = await websockets.connect(self.url, extra_headers=self.headers, max_size=None,
                                           open_timeout=30)
        opening = await self.ws.recv()
        assert opening.startswith("0"), opening
        await self.ws.send("40")
        reply = await self.ws.recv()
        assert reply.startswith("40"), reply
        self.connected = True
        self.reader = asyncio.create_task(self._read())
        return await self.handshake(session_id, session_token) if handshake else None

    async def _read(self) -> None:
        pending = None
        try:
            async for frame in self.ws:
                if isinstance(frame, bytes):
                    if pending is not None and pending.add_attachment(frame):
                        self.events.append((pending.data[0], pending.data[1] if len(pending.data) > 1 else None))
                        pending = None
                    continue
                if frame == "2":  # engine.io ping
                    await self.ws.send("3")
                    continue
                if not frame.startswith("4"):
                    continue
                packet = sio_packet.Packet(encoded_packet=frame[1:])
                if packet.packet_type == sio_packet.BINARY_EVENT:
                    pending = packet
                elif packet.packet_type == sio_packet.EVENT:
                    self.events.append((packet.data[0], packet.data[1] if len(packet.data) > 1 else None))
        except websockets.ConnectionClosed:
            pass
        finally:
            self.connected = False

    async def emit(self, event: str, data: Any) -> None:
        encoded = sio_packet.Packet(sio_packet.EVENT, data=[event, data]).encode()
        if isinstance(encoded, list):
            await self.ws.send("4" + encoded[0])
            for part in encoded[1:]:
                await self.ws.send(part)
        else:
            await self.ws.send("4" + encoded)

    async def send_raw(self, frame: Any) -> None:
        await self.ws.send(frame)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await self.reader


class PollingChatClient(_Recorder):
    """python-socketio's client on HTTP long polling."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events = []
        self.session_id = None
        self.sio = socketio.AsyncClient(reconnection=False)

        @self.sio.on("*")
        async def anything(event: str, data: Any = None) -> None:
            self.events.append((event, data))

    async def connect(self, session_id: Optional[str] = None, session_token: Optional[str] = None) -> str:
        await self.sio.connect(self.url, transports=["polling"], socketio_path="/socket.io", wait_timeout=30)
        return await self.handshake(session_id, session_token)

    async def emit(self, event: str, data: Any) -> None:
        await self.sio.emit(event, data)

    async def close(self) -> None:
        # without waiting for the long-poll in flight to come back (up to the ping interval)
        await self.sio.eio.disconnect(abort=True)


def bot_texts(events: List[Event]) -> str:
    return " ".join(data.get("text", "") for event, data in events if event == "bot_uttered").lower()


def has(pattern: str, text: str) -> bool:
    return re.search(pattern, text, re.I) is not None
