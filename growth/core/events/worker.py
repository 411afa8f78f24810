"""The embedded outbox worker: drains the outbox in-process, right after each commit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog

from growth.core.db import SessionMaker
from growth.core.events.service import Subscriptions, dispatch_pending

log = structlog.get_logger()


class Notifier:
    """A wake-up call from a committed session to the worker; safe to call with no worker running."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None
        self._forward: Callable[[], None] | None = None

    def __call__(self) -> None:
        if self._event is not None:
            self._event.set()
        if self._forward is not None:
            self._forward()

    def forward_to(self, callback: Callable[[], None] | None) -> None:
        """Also call ``callback`` on each wake-up (the production profile enqueues an outbox drain)."""
        self._forward = callback

    def bind(self) -> asyncio.Event:
        self._event = asyncio.Event()
        return self._event


class OutboxWorker:
    """Runs subscribers after commit, and polls for events left by a process that died."""

    def __init__(
        self,
        session_maker: SessionMaker,
        subscriptions: Subscriptions,
        notifier: Notifier,
        poll_seconds: float = 1.0,
    ) -> None:
        self._session_maker = session_maker
        self._subscriptions = subscriptions
        self._notifier = notifier
        self._poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False

    async def drain(self) -> None:
        """Handle everything that is due now; once stopping, only the batch in hand (at most 100
        events): a backlog must not hold a shutdown up, and what is left waits in the outbox for the
        next start."""
        while await dispatch_pending(self._session_maker, self._subscriptions) and not self._stopping:
            pass

    async def _loop(self) -> None:
        assert self._wake is not None
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_seconds)
            self._wake.clear()
            try:
                await self.drain()
            except Exception:  # the loop must survive a database hiccup
                log.exception("outbox.drain_failed")

    def start(self) -> None:
        self._wake = self._notifier.bind()
        self._task = asyncio.create_task(self._loop(), name="outbox-worker")

    async def stop(self) -> None:
        """Finish the batch in hand, handle one more batch, and stop.

        The loop is asked to stop rather than cancelled: a cancellation in the middle of a
        transaction can leave a connection (and SQLite's write lock) behind.
        """
        if self._task is not None and self._wake is not None:
            self._stopping = True
            self._wake.set()
            await self._task
            self._task = None
