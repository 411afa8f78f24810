"""Prometheus metrics: request latency, clicks, jobs (process counters) and the outbox (read at scrape).

Each process counts in its own ``prometheus_client`` values. ``growth serve`` and ``growth production``
start their children with ``PROMETHEUS_MULTIPROC_DIR`` (and ``GROWTH_METRICS_DIR``) pointing at one
directory, so that one scrape of ``/metrics`` on any web worker reports the sum over every web and
worker process of the host (prometheus_client's multiprocess mode). Without it, each process reports
only its own figures. What the database or Redis knows (outbox backlog, queue depth) is read at scrape
time and is the same whichever process answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

CONTENT_TYPE = "text/plain; version=0.0.4"
"""The classic text exposition format (Litestar adds ``charset=utf-8``)."""

REQUEST_LATENCY = Histogram(
    "growth_http_request_duration_seconds",
    "Time from a routed request's arrival to its last response byte, by route template and status class.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CLICKS_BUFFERED = Counter("growth_clicks_buffered", "Clicks accepted into a click writer's buffer.")
CLICKS_FLUSHED = Counter("growth_clicks_flushed", "Clicks written to the database by a click writer.")
CLICK_QUEUE_DEPTH = Gauge(
    "growth_click_queue_depth",
    "Clicks waiting in the click writers' buffers.",
    multiprocess_mode="livesum",
)
JOB_RUNS = Counter("growth_job_runs", "Job runs finished (successfully or not), by job name.", ["job"])
JOB_FAILURES = Counter("growth_job_failures", "Job runs that raised, by job name.", ["job"])


class ClickSource(Protocol):
    """What the click writer tells about itself (``growth.click.service.ClickWriter``)."""

    @property
    def queued(self) -> int: ...

    written: int


class ClickSampler:
    """Copies a click writer's figures into the click metrics, every second and at each scrape.

    The writer counts in plain integers (no metrics library on the redirect path); this turns them
    into the counters' increments and the queue-depth gauge of this process.
    """

    def __init__(self, source: ClickSource, *, interval_seconds: float = 1.0) -> None:
        self._source = source
        self._interval = interval_seconds
        self._written = self._accepted = 0
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        queued, written = self._source.queued, self._source.written
        CLICK_QUEUE_DEPTH.set(queued)
        if written > self._written:
            CLICKS_FLUSHED.inc(written - self._written)
            self._written = written
        if written + queued > self._accepted:
            CLICKS_BUFFERED.inc(written + queued - self._accepted)
            self._accepted = written + queued

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            self.sample()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="click-metrics")

    async def stop(self) -> None:
        """Stop sampling (after the writer's last flush: the final figures are taken here)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.sample()


def status_class(status: int) -> str:
    """``200`` -> ``2xx``."""
    return f"{status // 100}xx"


def latency_middleware(app: ASGIApp) -> ASGIApp:
    """Time every routed HTTP request into ``growth_http_request_duration_seconds``."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            route = str(scope.get("path_template") or "unmatched")  # type: ignore[call-overload]
            REQUEST_LATENCY.labels(scope["method"], route, status_class(status)).observe(
                time.perf_counter() - started
            )

    return middleware


@dataclass(frozen=True)
class Snapshot:
    """What the shared stores say at scrape time."""

    outbox_pending: int
    outbox_lag_seconds: float
    job_queue_depth: int | None
    """None: no job queue (embedded profile)."""


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "growth_outbox_pending",
            "Outbox events not yet handled by all subscribers.",
            value=self._snapshot.outbox_pending,
        )
        yield GaugeMetricFamily(
            "growth_outbox_lag_seconds",
            "Age of the oldest outbox event not yet handled (0 when none is waiting).",
            value=self._snapshot.outbox_lag_seconds,
        )
        if self._snapshot.job_queue_depth is not None:
            yield GaugeMetricFamily(
                "growth_job_queue_depth",
                "Jobs waiting in the Redis queue for a worker.",
                value=self._snapshot.job_queue_depth,
            )


def _process_registry(metrics_dir: str) -> CollectorRegistry:
    if metrics_dir and Path(metrics_dir).is_dir():
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=metrics_dir)
        return registry
    return REGISTRY


def render(snapshot: Snapshot, *, metrics_dir: str = "", clicks: ClickSampler | None = None) -> bytes:
    """The text exposition: the processes' metrics, then the snapshot's gauges."""
    if clicks is not None:
        clicks.sample()
    scraped = CollectorRegistry()
    scraped.register(_SnapshotCollector(snapshot))
    return generate_latest(_process_registry(metrics_dir)) + generate_latest(scraped)


def count_job(name: str, *, failed: bool) -> None:
    """Count one finished run of job ``name``."""
    JOB_RUNS.labels(name).inc()
    if failed:
        JOB_FAILURES.labels(name).inc()
