from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, case, cast, func, null, select
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession

from payouts.commission.models import (
    Commission,
    CommissionPlan,
    CommissionPlanRate,
    CommissionPlanTier,
    PartnerPlan,
)


async def plans(session: AsyncSession) -> list[CommissionPlan]:
    return list(await session.scalars(select(CommissionPlan).order_by(CommissionPlan.created_at.desc())))


async def rates_and_tiers(
    session: AsyncSession, plan_id: UUID
) -> tuple[list[CommissionPlanRate], list[CommissionPlanTier]]:
    rates = await session.scalars(select(CommissionPlanRate).where(CommissionPlanRate.plan_id == plan_id))
    tiers = await session.scalars(
        select(CommissionPlanTier)
        .where(CommissionPlanTier.plan_id == plan_id)
        .order_by(CommissionPlanTier.min_revenue)
    )
    return list(rates), list(tiers)


async def plan_at(session: AsyncSession, partner_id: UUID, at: datetime) -> PartnerPlan | None:
    query = (
        select(PartnerPlan)
        .where(PartnerPlan.partner_id == partner_id, PartnerPlan.effective_at <= at)
        .order_by(PartnerPlan.effective_at.desc(), PartnerPlan.id.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def get_commission(
    session: AsyncSession, order_id: UUID, partner_id: UUID, kind: str
) -> Commission | None:
    query = select(Commission).where(
        Commission.order_id == order_id, Commission.partner_id == partner_id, Commission.kind == kind
    )
    return await session.scalar(query)


async def for_order(session: AsyncSession, order_id: UUID) -> list[Commission]:
    query = (
        select(Commission).where(Commission.order_id == order_id).order_by(Commission.id).with_for_update()
    )
    return list(await session.scalars(query))


async def of_orders(session: AsyncSession, partner_id: UUID, order_ids: list[UUID]) -> list[Commission]:
    query = (
        select(Commission)
        .where(Commission.partner_id == partner_id, Commission.order_id.in_(order_ids))
        .order_by(Commission.accrued_at)
    )
    return list(await session.scalars(query))


async def next_approval(session: AsyncSession, partner_id: UUID) -> list[tuple[str, datetime | None, int]]:
    """Per currency: the earliest date a pending commission of the partner approves, and how many wait
    for their order to close first (no date yet)."""
    query = (
        select(
            Commission.currency,
            func.min(Commission.approve_after),
            func.count().filter(Commission.approve_after.is_(None)),
        )
        .where(Commission.partner_id == partner_id, Commission.status == "pending")
        .group_by(Commission.currency)
    )
    return [(currency, first, waiting) for currency, first, waiting in await session.execute(query)]


async def closed_revenue(session: AsyncSession, partner_id: UUID, currency: str, *, since: datetime) -> int:
    """The partner's order revenue closed since ``since``, net of refunds, in minor units."""
    query = select(
        func.coalesce(func.sum(Commission.order_paid_amount - Commission.order_refunded_amount), 0)
    ).where(
        Commission.partner_id == partner_id,
        Commission.currency == currency,
        Commission.order_closed_at >= since,
    )
    return int(await session.scalar(query) or 0)


async def due(session: AsyncSession, now: datetime, limit: int) -> list[Commission]:
    query = (
        select(Commission)
        .where(
            Commission.status == "pending",
            Commission.approve_after <= now,
            Commission.is_order_disputed.is_(False),
            Commission.is_order_held.is_(False),
            Commission.order_paid_amount >= Commission.base_amount,
        )
        .order_by(Commission.approve_after, Commission.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(query))


async def search(
    session: AsyncSession, *, partner_id: UUID | None, status: str | None, limit: int, offset: int
) -> list[Commission]:
    query = select(Commission)
    if partner_id is not None:
        query = query.where(Commission.partner_id == partner_id)
    if status is not None:
        query = query.where(Commission.status == status)
    query = query.order_by(Commission.accrued_at.desc(), Commission.id).limit(limit).offset(offset)
    return list(await session.scalars(query))


# --- read-only, added for payouts/statement --------------------------------------------------------


async def order_external_ids(session: AsyncSession, commission_ids: list[UUID]) -> dict[UUID, str]:
    """The shop's order id of each commission in ``commission_ids`` that exists."""
    found: dict[UUID, str] = {}
    for start in range(0, len(commission_ids), 1000):  # stay well under the drivers' parameter limits
        chunk = commission_ids[start : start + 1000]
        rows = await session.execute(
            select(Commission.id, Commission.order_external_id).where(Commission.id.in_(chunk))
        )
        found.update({commission_id: external_id for commission_id, external_id in rows})
    return found


def order_external_id_of_reference(reference: ColumnElement[str], dialect_name: str) -> ColumnElement[Any]:
    """The shop's order id of the commission a ``commission:<id>:...`` reference names (NULL otherwise),
    as a correlated SQL expression over ``reference``: what ``order_external_ids`` answers, set-based."""
    is_ours = reference.startswith("commission:", autoescape=True)
    if dialect_name == "postgresql":
        # uuid.UUID's reading: braces stripped, hyphens dropped, then 32 hex digits.
        digits = func.replace(func.btrim(func.split_part(reference, ":", 2), "{}"), "-", "")
        ok = and_(is_ours, digits.regexp_match("^[0-9a-fA-F]{32}$"))
        commission_id: ColumnElement[Any] = case((ok, cast(digits, PG_UUID(as_uuid=True))), else_=null())
    else:  # SQLite: uuid_bytes() is registered on every connection (growth.core.db)
        rest = func.substr(reference, len("commission:") + 1)
        segment = func.substr(rest, 1, func.instr(rest.concat(":"), ":") - 1)
        commission_id = case((is_ours, func.uuid_bytes(segment)), else_=null())
    return (
        select(Commission.order_external_id)
        .where(Commission.id == commission_id)
        .correlate_except(Commission)
        .scalar_subquery()
    )


async def cost_by_currency(
    session: AsyncSession, *, since: datetime, until: datetime, order_ids: Select[tuple[UUID]] | None
) -> list[tuple[str, int]]:
    """``(currency, amount)`` of the commissions accrued in ``[since, until)``, net of reversals."""
    query = (
        select(Commission.currency, func.sum(Commission.amount - Commission.reversed_amount))
        .where(Commission.accrued_at >= since, Commission.accrued_at < until)
        .group_by(Commission.currency)
    )
    if order_ids is not None:
        query = query.where(Commission.order_id.in_(order_ids))
    return [(c, int(a)) for c, a in await session.execute(query)]
