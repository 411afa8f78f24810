from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from payouts.payout_run.models import Payout, PayoutHoldRelease, PayoutRun, PayoutSkip


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


PAID = ("sent", "paid")
"""Payout statuses in which the money left: a sent Stripe transfer, a sent or confirmed bank payout."""


async def recent_paid_amounts(
    session: AsyncSession, partner_id: UUID, currency: str, *, limit: int
) -> tuple[int, ...]:
    query = (
        select(Payout.amount)
        .where(Payout.partner_id == partner_id, Payout.currency == currency, Payout.status.in_(PAID))
        .order_by(Payout.created_at.desc(), Payout.id.desc())
        .limit(limit)
    )
    return tuple(await session.scalars(query))


async def count_paid(session: AsyncSession, partner_id: UUID) -> int:
    query = select(func.count()).where(Payout.partner_id == partner_id, Payout.status.in_(PAID))
    return int(await session.scalar(query) or 0)


async def partners_paid_in_run(session: AsyncSession, run_id: UUID) -> list[UUID]:
    query = select(Payout.partner_id).where(Payout.run_id == run_id, Payout.status.in_(PAID)).distinct()
    return sorted(await session.scalars(query))


async def find_release(
    session: AsyncSession, partner_id: UUID, period: str, currency: str
) -> PayoutHoldRelease | None:
    return await session.scalar(
        select(PayoutHoldRelease).where(
            PayoutHoldRelease.partner_id == partner_id,
            PayoutHoldRelease.period == period,
            PayoutHoldRelease.currency == currency,
        )
    )


async def released_partners(
    session: AsyncSession, period: str, currency: str, partner_ids: Iterable[UUID]
) -> set[UUID]:
    ids = list(partner_ids)
    if not ids:
        return set()
    query = select(PayoutHoldRelease.partner_id).where(
        PayoutHoldRelease.period == period,
        PayoutHoldRelease.currency == currency,
        PayoutHoldRelease.partner_id.in_(ids),
    )
    return set(await session.scalars(query))


async def find_skip(session: AsyncSession, run_id: UUID, partner_id: UUID) -> PayoutSkip | None:
    return await session.scalar(
        select(PayoutSkip).where(PayoutSkip.run_id == run_id, PayoutSkip.partner_id == partner_id)
    )


async def partners_ever_paid(session: AsyncSession) -> list[UUID]:
    query = select(Payout.partner_id).where(Payout.status.in_(PAID)).distinct()
    return sorted(await session.scalars(query))


async def delete_skip(session: AsyncSession, skip: PayoutSkip) -> None:
    await session.delete(skip)
    await session.flush()


async def failed_payouts(session: AsyncSession, *, limit: int) -> list[Payout]:
    """Payouts the provider refused, oldest first (the delay check tells their partners)."""
    query = (
        select(Payout).where(Payout.status == "failed").order_by(Payout.created_at, Payout.id).limit(limit)
    )
    return list(await session.scalars(query))


async def totals_by_run(
    session: AsyncSession, run_ids: Iterable[UUID]
) -> dict[UUID, dict[str, tuple[int, int]]]:
    """Per run, per payout status: (how many payouts, their sum in minor units)."""
    ids = list(run_ids)
    if not ids:
        return {}
    query = (
        select(Payout.run_id, Payout.status, func.count(), func.coalesce(func.sum(Payout.amount), 0))
        .where(Payout.run_id.in_(ids))
        .group_by(Payout.run_id, Payout.status)
    )
    totals: dict[UUID, dict[str, tuple[int, int]]] = {}
    for run_id, status, count, amount in await session.execute(query):
        totals.setdefault(run_id, {})[status] = (int(count), int(amount))
    return totals
