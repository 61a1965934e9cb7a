"""A TCP proxy that can be stopped (a service that is down) or slowed (a service that is slow),
for fault tests against the real servers: tests/scaled/tcp_proxy.py's TcpProxy that also holds every chunk
the client sends for `delay` seconds before passing it on; a client that gives up meanwhile is
cut off without the held request ever reaching the service (so a timed-out request costs the
service nothing). `delay` can be changed at any time; it applies to what the client sends from
then on (a chunk already held keeps the delay it arrived with, so a request the client gave up on
is never delivered late)."""
from __future__ import annotations

import select
import socket
import threading
import time

from tests.scaled.tcp_proxy import TcpProxy


class DelayProxy(TcpProxy):
    def __init__(self, target_host: str, target_port: int, port: int, delay: float = 0.0) -> None:
        super().__init__(target_host, target_port, port)
        self.delay = delay

    def _relay(self, client: socket.socket, upstream: socket.socket) -> None:
        threading.Thread(target=self._forward, args=(client, upstream), daemon=True).start()
        threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _wait(self, client: socket.socket) -> bool:
        """Hold for `delay` seconds; False if the client hung up meanwhile."""
        delay, started = self.delay, time.monotonic()
        while time.monotonic() - started < delay:
            try:
                readable, _, _ = select.select([client], [], [], 0.1)
            except (OSError, ValueError):  # closed by the other direction's thread
                return False
            if readable:
                try:
                    if client.recv(1, socket.MSG_PEEK) == b"":
                        return False
                except OSError:
                    return False
                time.sleep(0.1)  # more data waiting: keep holding
        return True

    def _forward(self, client: socket.socket, upstream: socket.socket) -> None:
        try:
            while True:
                data = client.recv(65536)
                if not data or not self._wait(client):
                    break
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
