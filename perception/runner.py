"""Runs one engine's blocking inference in worker threads behind a bounded queue.

At most `max_concurrent` calls run at once; up to `max_waiting` more wait; beyond that a
request is refused at once with 429 and Retry-After, and a request waiting longer than
`timeout_s` gets 503. Engines that work on lists (embeddings, images) can be batched:
`run_batched` merges the items of requests that arrive within `batch_wait_ms` into one
forward call of at most `batch_max_items`. Counters feed /health and /metrics.
"""
import asyncio
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from perception.engines.base import Engine
from perception.errors import APIError

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class EngineRunner:
    def __init__(self, engine: Engine, max_concurrent: int = 1, max_waiting: int = 32,
                 timeout_s: float = 20.0, batch_max_items: int = 32, batch_wait_ms: float = 5.0,
                 retry_after_s: int = 1) -> None:
        self.engine = engine
        self.max_concurrent = max_concurrent
        self.max_waiting = max_waiting
        self.timeout_s = timeout_s
        self.batch_max_items = batch_max_items
        self.batch_wait_s = batch_wait_ms / 1000.0
        self.retry_after_s = retry_after_s
        self._slots: Optional[asyncio.Semaphore] = None
        self._pending: List[Tuple[Callable, List[Any], asyncio.Future]] = []
        self._flush_scheduled = False
        # counters (read by /health and /metrics)
        self.waiting = 0          # admitted requests not finished yet (queued or running)
        self.running = 0
        self.requests = 0
        self.rejected = 0
        self.failures = 0
        self.timeouts = 0
        self.busy_seconds = 0.0
        self.batches = 0
        self.batched_items = 0
        self.latency_counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0

    # --- admission -------------------------------------------------------------------------
    def _admit(self) -> None:
        if self.waiting >= self.max_waiting + self.max_concurrent:
            self.rejected += 1
            raise APIError(429, "busy", f"the {self.engine.task} engine is busy; retry shortly",
                           headers={"Retry-After": str(self.retry_after_s)})
        self.requests += 1
        self.waiting += 1

    def _done(self, started: float) -> None:
        self.waiting -= 1
        elapsed = time.perf_counter() - started
        self.latency_sum += elapsed
        for index, bound in enumerate(LATENCY_BUCKETS):
            if elapsed <= bound:
                self.latency_counts[index] += 1
                break
        else:
            self.latency_counts[-1] += 1

    @property
    def queued(self) -> int:
        """Admitted requests still waiting for a worker."""
        return max(0, self.waiting - self.running)

    @property
    def slots(self) -> asyncio.Semaphore:
        if self._slots is None:  # created on the event loop that serves requests
            self._slots = asyncio.Semaphore(self.max_concurrent)
        return self._slots

    # --- one call per request ---------------------------------------------------------------
    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        """Run function(*args) in a worker thread once a slot is free."""
        self._admit()
        started = time.perf_counter()
        try:
            return await asyncio.wait_for(self._in_thread(function, *args), timeout=self.timeout_s)
        except asyncio.TimeoutError:
            self.timeouts += 1
            raise APIError(503, "timeout", f"the {self.engine.task} engine did not answer in time")
        except APIError:
            raise
        except Exception:
            self.failures += 1
            raise
        finally:
            self._done(started)

    async def _in_thread(self, function: Callable[..., Any], *args: Any) -> Any:
        async with self.slots:
            self.running += 1
            started = time.perf_counter()
            try:
                return await asyncio.to_thread(function, *args)
            finally:
                self.running -= 1
                self.busy_seconds += time.perf_counter() - started

    # --- batched calls ----------------------------------------------------------------------
    async def run_batched(self, function: Callable[[List[Any]], Sequence[Any]], items: List[Any]) -> List[Any]:
        """function(list) -> list of the same length; items of concurrent requests share a call."""
        self._admit()
        started = time.perf_counter()
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending.append((function, list(items), future))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_later(self.batch_wait_s, self._schedule_flush)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=self.timeout_s)
        except asyncio.TimeoutError:
            self.timeouts += 1
            raise APIError(503, "timeout", f"the {self.engine.task} engine did not answer in time")
        finally:
            self._done(started)

    def _schedule_flush(self) -> None:
        self._flush_scheduled = False
        pending, self._pending = self._pending, []
        while pending:  # group consecutive requests into batches of at most batch_max_items
            batch, size = [], 0
            while pending and (not batch or size + len(pending[0][1]) <= self.batch_max_items) \
                    and pending[0][0] == (batch[0][0] if batch else pending[0][0]):
                entry = pending.pop(0)
                batch.append(entry)
                size += len(entry[1])
            asyncio.ensure_future(self._run_batch(batch))

    async def _run_batch(self, batch: List[Tuple[Callable, List[Any], asyncio.Future]]) -> None:
        function = batch[0][0]
        items = [item for _, request_items, _ in batch for item in request_items]
        try:
            results = await self._in_thread(function, items)
            if len(results) != len(items):
                raise RuntimeError("a batched engine returned the wrong number of results")
        except Exception as error:  # every request of the batch gets the error
            if not isinstance(error, APIError):
                self.failures += 1
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        self.batches += 1
        self.batched_items += len(items)
        offset = 0
        for _, request_items, future in batch:
            if not future.done():
                future.set_result(list(results[offset:offset + len(request_items)]))
            offset += len(request_items)

    def status(self) -> Dict[str, Any]:
        return {**self.engine.info(), "waiting": self.queued,
                "running": self.running, "requests": self.requests, "rejected": self.rejected,
                "failures": self.failures, "timeouts": self.timeouts}
