"""The click writer: batches written at least every flush interval, full batches at once, and
everything queued written when it stops (graceful shutdown)."""

from __future__ import annotations

import asyncio
import time
import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.click.models import Click
from growth.click.service import ClickSeen, ClickWriter
from growth.core.db import SessionMaker
from growth.core.time import utc_now
from tests.factories import create_campaign, create_customer, issue_code


async def _clicks(session: AsyncSession, n: int) -> list[ClickSeen]:
    campaign = await create_campaign(session)
    code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
    await session.commit()
    return [
        ClickSeen(str(uuid.uuid4()), code.id, campaign.id, utc_now(), "203.0.113.9", f"agent-{i}", None)
        for i in range(n)
    ]


async def _count(session_maker: SessionMaker) -> int:
    async with session_maker() as session:
        return await session.scalar(select(func.count()).select_from(Click)) or 0


async def _seconds_until(session_maker: SessionMaker, n: int, limit: float = 5.0) -> float:
    started = time.monotonic()
    while await _count(session_maker) < n:
        assert time.monotonic() - started < limit, "clicks not written in time"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


class TestClickWriter:
    async def test_a_partial_batch_is_written_within_the_flush_interval(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        writer = ClickWriter(session_maker, secret="s", batch_size=500, flush_interval_ms=100)
        clicks = await _clicks(session, 3)
        writer.start()
        try:
            for click in clicks:
                await writer.submit(click)
            waited = await _seconds_until(session_maker, 3)
        finally:
            await writer.stop()

        # Written without a full batch or a stop; how soon (one interval, 100 ms) is the redirect
        # benchmark's to measure: a wall-clock limit here would fail on a busy machine.
        assert waited < 5.0
        assert writer.written == 3 and writer.queued == 0

    async def test_a_quiet_link_click_is_written_at_once_a_busy_one_waits_for_the_interval(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        writer = ClickWriter(session_maker, secret="s", batch_size=500, flush_interval_ms=6_000)
        first, second, third = await _clicks(session, 3)
        writer.start()
        try:
            await writer.submit(first)
            assert await _seconds_until(session_maker, 1) < 3.0  # no write for 6 s: at once
            await writer.submit(second)
            await writer.submit(third)
            await asyncio.sleep(0.1)
            assert await _count(session_maker) == 1  # a write began less than 6 s ago: they wait together
            await _seconds_until(session_maker, 3, limit=15.0)
        finally:
            await writer.stop()

        assert writer.written == 3

    async def test_flush_does_not_wait_for_the_interval(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        writer = ClickWriter(session_maker, secret="s", batch_size=500, flush_interval_ms=60_000)
        clicks = await _clicks(session, 2)
        writer.start()
        try:
            for click in clicks:
                await writer.submit(click)
            await asyncio.wait_for(writer.flush(), timeout=10)
            assert await _count(session_maker) == 2
        finally:
            await writer.stop()

    async def test_a_full_batch_is_written_at_once(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        writer = ClickWriter(session_maker, secret="s", batch_size=5, flush_interval_ms=60_000)
        clicks = await _clicks(session, 5)
        writer.start()
        try:
            for click in clicks:
                await writer.submit(click)
            waited = await _seconds_until(session_maker, 5)
        finally:
            await writer.stop()

        assert waited < 5.0  # far less than the minute the interval would allow

    async def test_stopping_writes_what_is_queued(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        writer = ClickWriter(session_maker, secret="s", batch_size=500, flush_interval_ms=60_000)
        clicks = await _clicks(session, 7)
        writer.start()
        for click in clicks:
            await writer.submit(click)

        await writer.stop()

        assert await _count(session_maker) == 7

    async def test_the_ip_is_kept_only_as_a_keyed_hash(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        writer = ClickWriter(session_maker, secret="s", flush_interval_ms=10)
        (click,) = await _clicks(session, 1)
        writer.start()
        await writer.submit(click)
        await writer.stop()

        async with session_maker() as check:
            stored = await check.scalar(select(Click))
        assert stored is not None and stored.ip_hash is not None
        assert "203.0.113.9" not in stored.ip_hash and len(stored.ip_hash) == 64
