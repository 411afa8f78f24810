"""Recording clicks: redirects hand clicks to a bounded queue; one task writes them in batches.

A redirect never waits on the database unless the queue is full (back-pressure, not loss).
A failed batch is retried, not dropped, and stopping the writer flushes what is queued.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from growth.click import repository
from growth.core.db import SessionMaker

log = structlog.get_logger()
RETRY_SECONDS = 0.5


class ClickWriter:
    def __init__(
        self, session_maker: SessionMaker, *, max_queue: int = 10_000, batch_size: int = 500
    ) -> None:
        self._session_maker = session_maker
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=max_queue)
        self._batch_size = batch_size
        self._task: asyncio.Task[None] | None = None

    async def submit(self, row: dict[str, Any]) -> None:
        """Queue one click row; waits only when the queue is full."""
        if self._task is None:
            raise RuntimeError("the click writer is not running (it starts with the app)")
        await self._queue.put(row)

    async def flush(self) -> None:
        """Wait until every queued click is in the database."""
        await self._queue.join()

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        async with self._session_maker() as session, session.begin():
            await repository.insert_clicks(session, rows)

    def _take_batch(self, first: dict[str, Any]) -> list[dict[str, Any]]:
        batch = [first]
        while len(batch) < self._batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except asyncio.QueueEmpty:
                break
        return batch

    async def _run(self) -> None:
        while True:
            batch = self._take_batch(await self._queue.get())
            while True:
                try:
                    await self._write(batch)
                    break
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("growth.click.write_failed", clicks=len(batch))
                    await asyncio.sleep(RETRY_SECONDS)
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
