"""A redis-server of the tests' own, on a free port (never the machine's Redis: some tests stop it to
take Redis "down"). No persistence, no config file; its directory is a temporary folder. It gets
SIGTERM if pytest itself is killed. `given_or_started` gives the Redis that tests only use: the
caller's REDIS_URL when set, else one of these."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Optional, Tuple

import redis

from tests.services import die_with_parent, end, free_port


class RedisServer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = 0
        self.process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, port: Optional[int] = None) -> "RedisServer":
        """Starts it (again, on the same port when `port` is given) and waits for PING."""
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed: apt-get install redis-server (or run "
                               "scripts/system_packages.sh), or name an existing one with REDIS_URL")
        self.port = port or self.port or free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder), "--protected-mode", "yes"],
            stdout=(self.folder / "redis.log").open("ab"), stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent())
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.ping():
                    return self
            except redis.RedisError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.1)

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port)

    def stop(self) -> None:
        """Stops the server this object started (its own pid only)."""
        end(self.process)
        self.process = None


def unique_prefix() -> str:
    return f"test{uuid.uuid4().hex[:12]}"


def given_or_started(folder: Path) -> Tuple[str, Optional[RedisServer]]:
    """(url, server): REDIS_URL when the caller names a Redis (checked with PING), else a
    redis-server started here (stop it at the end). A Redis that can't be had is a RuntimeError
    that says what to install or set."""
    given = os.environ.get("REDIS_URL", "").strip()
    if given:
        try:
            redis.Redis.from_url(given, socket_timeout=5).ping()
        except redis.RedisError as error:
            raise RuntimeError(f"the Redis named by REDIS_URL is not reachable: {error}") from None
        return given, None
    server = RedisServer(folder).start()
    return server.url, server
