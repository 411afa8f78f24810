"""Recording clicks: redirects hand clicks to a bounded queue; one task writes them in batches.

A redirect never waits on the database unless the queue is full (back-pressure, not loss). The writer
starts at most one write per flush interval unless a batch is full: a quiet link's click is written at
once, a busy link's clicks cost a few transactions a second, not one each, and no click waits longer
than one interval. A failed batch is retried, not dropped; stopping the writer flushes what is queued.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from growth.click import repository
from growth.click.rules import clean_header, hash_ip
from growth.core.db import SessionMaker

log = structlog.get_logger()
RETRY_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class ClickSeen:
    """A click as the redirect saw it; the writer hashes and trims it off the request path."""

    id: str
    referral_code_id: UUID
    campaign_id: UUID
    clicked_at: datetime
    ip: str | None
    user_agent: str | None
    referer: str | None


class ClickWriter:
    def __init__(
        self,
        session_maker: SessionMaker,
        *,
        secret: str,
        max_queue: int = 10_000,
        batch_size: int = 500,
        flush_interval_ms: int = 100,
    ) -> None:
        self._session_maker = session_maker
        self._secret = secret
        self._queue: asyncio.Queue[ClickSeen] = asyncio.Queue(maxsize=max_queue)
        self._batch_size = batch_size
        self._interval = flush_interval_ms / 1000
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        """Set when a batch is full, or when someone waits for the queue to be written."""
        self._hurry = 0
        self._last_write = float("-inf")
        self.written = 0
        """Clicks written since start (the benchmark and the metrics read it)."""

    @property
    def queued(self) -> int:
        """Clicks waiting to be written."""
        return self._queue.qsize()

    async def submit(self, click: ClickSeen) -> None:
        """Queue one click; waits only when the queue is full."""
        if self._task is None:
            raise RuntimeError("the click writer is not running (it starts with the app)")
        try:
            self._queue.put_nowait(click)
        except asyncio.QueueFull:
            await self._queue.put(click)
        if self._queue.qsize() >= self._batch_size:
            self._wake.set()

    async def flush(self) -> None:
        """Wait until every queued click is in the database."""
        self._hurry += 1
        self._wake.set()
        try:
            await self._queue.join()
        finally:
            self._hurry -= 1

    def _row(self, click: ClickSeen) -> dict[str, Any]:
        return {
            "id": click.id,
            "referral_code_id": click.referral_code_id,
            "campaign_id": click.campaign_id,
            "clicked_at": click.clicked_at,
            "ip_hash": hash_ip(self._secret, click.ip),
            "user_agent": clean_header(click.user_agent, 512),
            "referer": clean_header(click.referer, 2000),
            "created_at": click.clicked_at,
            "updated_at": click.clicked_at,
        }

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        async with self._session_maker() as session, session.begin():
            await repository.insert_clicks(session, rows)

    def _take_batch(self, first: ClickSeen) -> list[ClickSeen]:
        batch = [first]
        while len(batch) < self._batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        return batch

    async def _linger(self) -> None:
        """Let a batch fill until one interval after the last write began, unless it is full or
        someone waits for the queue to be written."""
        remaining = self._last_write + self._interval - asyncio.get_running_loop().time()
        if remaining <= 0 or self._hurry or self._queue.qsize() + 1 >= self._batch_size:
            return
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=remaining)

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            await self._linger()
            batch = self._take_batch(first)
            self._last_write = asyncio.get_running_loop().time()
            rows = [self._row(click) for click in batch]
            while True:
                try:
                    await self._write(rows)
                    break
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("growth.click.write_failed", clicks=len(rows))
                    await asyncio.sleep(RETRY_SECONDS)
            self.written += len(rows)
            for _ in batch:
                self._queue.task_done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="click-writer")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.flush(), timeout=30)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if not self._queue.empty():
            log.error("growth.click.unwritten_on_stop", clicks=self._queue.qsize())


async def clicks_for_code(session: AsyncSession, referral_code_id: UUID) -> int:
    """How many clicks a referral code's link has had (the share page's "clicked" stage)."""
    return await repository.count_for_code(session, referral_code_id)


async def record_clicks(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Write clicks at once, in the caller's transaction (a history import; redirects use ``ClickWriter``)."""
    await repository.insert_clicks(session, rows)
