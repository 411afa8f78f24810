from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from payouts.payout_run.models import Payout, PayoutRun, PayoutSkip


async def get_run(session: AsyncSession, run_id: UUID, *, for_update: bool = False) -> PayoutRun | None:
    query = select(PayoutRun).where(PayoutRun.id == run_id)
    return await session.scalar(query.with_for_update() if for_update else query)


async def find_run(session: AsyncSession, period: str, currency: str) -> PayoutRun | None:
    return await session.scalar(
        select(PayoutRun).where(PayoutRun.period == period, PayoutRun.currency == currency)
    )


async def list_runs(session: AsyncSession, *, limit: int, offset: int) -> list[PayoutRun]:
    query = (
        select(PayoutRun).order_by(PayoutRun.period.desc(), PayoutRun.currency).limit(limit).offset(offset)
    )
    return list(await session.scalars(query))


async def get_payout(session: AsyncSession, payout_id: UUID, *, for_update: bool = False) -> Payout | None:
    query = select(Payout).where(Payout.id == payout_id)
    return await session.scalar(query.with_for_update() if for_update else query)


async def payouts_of(session: AsyncSession, run_id: UUID, *, status: str | None = None) -> list[Payout]:
    query = select(Payout).where(Payout.run_id == run_id).order_by(Payout.id)
    if status is not None:
        query = query.where(Payout.status == status)
    return list(await session.scalars(query))


async def skips_of(session: AsyncSession, run_id: UUID) -> list[PayoutSkip]:
    return list(
        await session.scalars(select(PayoutSkip).where(PayoutSkip.run_id == run_id).order_by(PayoutSkip.id))
    )


async def payouts_of_partner(session: AsyncSession, partner_id: UUID) -> list[Payout]:
    return list(
        await session.scalars(
            select(Payout).where(Payout.partner_id == partner_id).order_by(Payout.created_at.desc())
        )
    )
