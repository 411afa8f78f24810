"""Group commit for the order intake: orders that arrive together share one durable COMMIT.

A commit is the expensive part of taking an order in (SQLite fsyncs its WAL, PostgreSQL its log), so
``OrderIntakeBatcher`` collects the orders of concurrent requests (up to ``max_batch``; under load it
lingers ``linger_ms`` for more) and takes them in one transaction. Each order runs in its own
SAVEPOINT: one that fails rolls back alone and gets its own error, the others are untouched. Only
after the group's COMMIT returns is any request answered; if the commit fails nothing of the group is
stored and every order that had gone through answers ``OrderIntakeUnavailable`` (503: retry it; the
intake is idempotent by external id, so a retry of an order that did commit answers 200).

Orders of one group run one after the other in one session, so a second request for the same external
id in the group finds the first and answers as for a retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.db import SessionMaker
from growth.order.errors import OrderIntakeUnavailable

log = structlog.get_logger()

Work = Callable[[AsyncSession], Awaitable[Any]]
"""One order's unit of work: takes it in and returns the answer, read while the session is open."""


@dataclass(slots=True)
class _Item:
    work: Work
    future: asyncio.Future[Any]
    value: Any = None
    error: BaseException | None = None
    done_in_savepoint: bool = False


class OrderIntakeBatcher:
    def __init__(self, session_maker: SessionMaker, *, max_batch: int = 64, linger_ms: float = 2.0) -> None:
        self._session_maker = session_maker
        self._max_batch = max_batch
        self._linger = linger_ms / 1000
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._last_batch = 0
        self.groups = 0
        """Transactions committed since start (the benchmark reads it)."""
        self.orders = 0
        """Orders answered from committed groups since start."""

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="growth.order.intake")

    async def stop(self) -> None:
        """Take in what is queued, then stop."""
        if self._task is None:
            return
        self._queue.put_nowait(None)
        task, self._task = self._task, None
        await task

    async def submit(self, work: Work) -> Any:
        """Run ``work`` in its own savepoint of the next group; its answer once the group committed."""
        if self._task is None:
            raise RuntimeError("the order intake is not running (it starts with the app)")
        item = _Item(work, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(item)
        return await item.future

    async def _loop(self) -> None:
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                return
            stopping = await self._run(first)

    def _take(self, batch: list[_Item]) -> bool:
        """Move queued orders into ``batch`` (up to ``max_batch``); True when the stop signal came."""
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return False
            if item is None:
                return True
            batch.append(item)
        return False

    async def _run(self, first: _Item) -> bool:
        """Take in one group, then answer each of its requests; True when the stop signal came."""
        batch, stopping, committed = [first], False, False
        try:
            async with self._session_maker() as session, session.begin():
                # Waiting for a connection (SQLite has one) is when the next orders arrive: take them
                # only once it is ours, so they join this group instead of waiting for the next one.
                await session.connection()
                stopping = self._take(batch)
                if not stopping and self._last_batch > 1 and len(batch) < self._max_batch:
                    # Under load the next requests are on their way: a short wait fills the group.
                    await asyncio.sleep(self._linger)
                    stopping = self._take(batch)
                await self._take_in(session, batch)
            committed = True
            self.groups += 1
        except Exception:  # the group's transaction failed: nothing of it is stored
            log.exception("growth.order.intake_group_failed", orders=len(batch))
        finally:
            self._last_batch = len(batch)
            self._answer(batch, committed=committed)
        return stopping

    async def _take_in(self, session: AsyncSession, batch: list[_Item]) -> None:
        for item in batch:
            if item.future.done():
                continue  # the request went away before its turn
            try:
                async with session.begin_nested():
                    item.value = await item.work(session)
            except Exception as exc:  # this order only: its savepoint is rolled back
                item.error = exc
            else:
                item.done_in_savepoint = True

    def _answer(self, batch: list[_Item], *, committed: bool) -> None:
        for item in batch:
            if item.future.done():
                continue  # the request went away; what committed stays (a retry answers 200)
            if committed and item.done_in_savepoint:
                self.orders += 1
                item.future.set_result(item.value)
            elif item.error is not None and not item.done_in_savepoint:
                item.future.set_exception(item.error)  # its own failure, whatever became of the group
            else:
                unavailable = OrderIntakeUnavailable("the order could not be stored: send it again")
                item.future.set_exception(unavailable)
