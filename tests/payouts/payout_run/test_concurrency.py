"""Two payout runs started at once for the same period: one runs, the other is refused."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.db import SessionMaker
from payouts.payout_run import service as payout_run_service
from payouts.payout_run.errors import PayoutRunExists
from tests.payouts.payout_run.helpers import MINIMUMS, NOW, assert_ledger_sound, owed, partner_with


@pytest.mark.usefixtures("postgres_only")
async def test_two_concurrent_creates_one_wins(session: AsyncSession, session_maker: SessionMaker) -> None:
    partners = [await partner_with(session) for _ in range(3)]
    await session.commit()
    both_in = asyncio.Barrier(2)

    async def create() -> str:
        async with session_maker() as s, s.begin():
            await both_in.wait()  # both transactions are open before either inserts
            try:
                await payout_run_service.create_run(
                    s, period="2026-11", currency="CNY", now=NOW, minimums=MINIMUMS, cooling_off_days=7
                )
            except PayoutRunExists:
                return "refused"
            return "created"

    assert sorted(await asyncio.gather(create(), create())) == ["created", "refused"]
    for partner in partners:
        assert await owed(session_maker, partner, "in_payout") == 20_000  # reserved once, not twice
    await assert_ledger_sound(session_maker)
