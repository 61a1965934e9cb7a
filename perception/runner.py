"""Runs one engine's blocking inference in worker threads behind a bounded queue.

At most `max_concurrent` calls run at once; up to `max_waiting` more wait; beyond that a
request is refused at once with 429 and Retry-After, and a request waiting longer than
`timeout_s` gets 503. Counters feed /health (and /metrics later).
"""
import asyncio
import time
from typing import Any, Callable, Dict

from perception.engines.base import Engine
from perception.errors import APIError


class EngineRunner:
    def __init__(self, engine: Engine, max_concurrent: int = 1, max_waiting: int = 32,
                 timeout_s: float = 20.0) -> None:
        self.engine = engine
        self.max_waiting = max_waiting
        self.timeout_s = timeout_s
        self._slots = asyncio.Semaphore(max_concurrent)
        self.waiting = 0
        self.requests = 0
        self.rejected = 0
        self.failures = 0
        self.busy_seconds = 0.0

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        if self.waiting >= self.max_waiting:
            self.rejected += 1
            raise APIError(429, "busy", f"the {self.engine.task} engine is busy; retry shortly",
                           headers={"Retry-After": "1"})
        self.requests += 1
        self.waiting += 1
        try:
            return await asyncio.wait_for(self._run(function, *args), timeout=self.timeout_s)
        except asyncio.TimeoutError:
            self.failures += 1
            raise APIError(503, "timeout", f"the {self.engine.task} engine did not answer in time")
        finally:
            self.waiting -= 1

    async def _run(self, function: Callable[..., Any], *args: Any) -> Any:
        async with self._slots:
            started = time.perf_counter()
            try:
                return await asyncio.to_thread(function, *args)
            finally:
                self.busy_seconds += time.perf_counter() - started

    def status(self) -> Dict[str, Any]:
        return {**self.engine.info(), "waiting": self.waiting, "requests": self.requests,
                "rejected": self.rejected, "failures": self.failures}
