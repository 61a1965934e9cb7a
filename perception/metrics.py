"""GET /metrics: Prometheus text for HTTP requests and for each engine's queue and latency."""
import time
from typing import Any, Callable, Dict, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from perception.runner import LATENCY_BUCKETS


class EngineCollector:
    """Reads the runners' counters when /metrics is scraped."""

    def __init__(self, runners: Callable[[], Dict[str, Any]]) -> None:
        self.runners = runners

    def collect(self) -> Iterator[Any]:
        labels = ["task", "engine"]
        requests = CounterMetricFamily("perception_engine_requests", "Requests admitted to an engine", labels=labels)
        rejected = CounterMetricFamily("perception_engine_rejected", "Requests refused with 429 (queue full)", labels=labels)
        failures = CounterMetricFamily("perception_engine_failures", "Requests that failed inside an engine", labels=labels)
        timeouts = CounterMetricFamily("perception_engine_timeouts", "Requests that timed out (503)", labels=labels)
        busy = CounterMetricFamily("perception_engine_busy_seconds", "Seconds spent in inference", labels=labels)
        batches = CounterMetricFamily("perception_engine_batches", "Batched forward calls", labels=labels)
        queued = GaugeMetricFamily("perception_engine_queue_depth", "Requests waiting for a worker", labels=labels)
        running = GaugeMetricFamily("perception_engine_running", "Requests in inference now", labels=labels)
        loaded = GaugeMetricFamily("perception_engine_loaded", "1 when the engine's model is loaded", labels=labels)
        latency = HistogramMetricFamily("perception_engine_latency_seconds",
                                        "Time from admission to answer, queueing included", labels=labels)
        for task, runner in self.runners().items():
            key = [task, runner.engine.name]
            requests.add_metric(key, runner.requests)
            rejected.add_metric(key, runner.rejected)
            failures.add_metric(key, runner.failures)
            timeouts.add_metric(key, runner.timeouts)
            busy.add_metric(key, runner.busy_seconds)
            batches.add_metric(key, runner.batches)
            queued.add_metric(key, runner.queued)
            running.add_metric(key, runner.running)
            loaded.add_metric(key, 1 if runner.engine.loaded else 0)
            cumulative, buckets = 0, []
            for bound, count in zip(list(LATENCY_BUCKETS) + [float("inf")], runner.latency_counts):
                cumulative += count
                buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
            latency.add_metric(key, buckets, runner.latency_sum)
        yield from (requests, rejected, failures, timeouts, busy, batches, queued, running, loaded, latency)


class Metrics:
    """One registry per app, so several apps in one process never share counters."""

    def __init__(self, runners: Callable[[], Dict[str, Any]]) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter("perception_http_requests", "HTTP requests by route and status",
                                     ["path", "status"], registry=self.registry)
        self.http_latency = Histogram("perception_http_latency_seconds", "HTTP request latency by route",
                                      ["path"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.registry.register(EngineCollector(runners))

    def observe(self, path: str, status: int, started: float) -> None:
        self.http_requests.labels(path, str(status)).inc()
        self.http_latency.labels(path).observe(time.perf_counter() - started)

    def render(self) -> bytes:
        return generate_latest(self.registry)
