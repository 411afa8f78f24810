from __future__ import annotations

from uuid import UUID

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.customer.models import Customer
from growth.referral_code.models import ReferralCode


async def get_for_referrer(
    session: AsyncSession, campaign_id: UUID, *, customer_id: UUID | None, partner_id: UUID | None
) -> ReferralCode | None:
    query = select(ReferralCode).where(ReferralCode.campaign_id == campaign_id)
    if customer_id is not None:
        query = query.where(ReferralCode.customer_id == customer_id)
    else:
        query = query.where(ReferralCode.partner_id == partner_id)
    return await session.scalar(query)


async def get_with_customer(
    session: AsyncSession, keys: list[str]
) -> tuple[ReferralCode, Customer | None] | None:
    row = (
        await session.execute(
            select(ReferralCode, Customer)
            .outerjoin(Customer, Customer.id == ReferralCode.customer_id)
            .where(ReferralCode.code_key.in_(keys))
            .order_by(case((ReferralCode.code_key == keys[0], 0), else_=1))  # the exact key wins
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def lock_for_partner(session: AsyncSession, partner_id: UUID) -> list[ReferralCode]:
    # Locked in id order, like every multi-row lock, so concurrent status changes never deadlock.
    query = (
        select(ReferralCode)
        .where(ReferralCode.partner_id == partner_id)
        .order_by(ReferralCode.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(await session.scalars(query))


async def of_partner(session: AsyncSession, partner_id: UUID) -> list[ReferralCode]:
    """A partner's codes, oldest first (revoked ones included)."""
    query = select(ReferralCode).where(ReferralCode.partner_id == partner_id).order_by(ReferralCode.id)
    return list(await session.scalars(query))


async def working_ids(session: AsyncSession, ids: list[UUID]) -> set[UUID]:
    """Of ``ids``, the codes not revoked whose customer (if any) is not deleted."""
    rows = await session.scalars(
        select(ReferralCode.id)
        .outerjoin(Customer, Customer.id == ReferralCode.customer_id)
        .where(ReferralCode.id.in_(ids), ReferralCode.revoked_at.is_(None), Customer.deleted_at.is_(None))
    )
    return set(rows)


async def newest_working(session: AsyncSession, limit: int) -> list[ReferralCode]:
    """The ``limit`` newest codes not revoked whose customer (if any) is not deleted."""
    rows = await session.scalars(
        select(ReferralCode)
        .outerjoin(Customer, Customer.id == ReferralCode.customer_id)
        .where(ReferralCode.revoked_at.is_(None), Customer.deleted_at.is_(None))
        .order_by(ReferralCode.id.desc())  # UUIDv7: newest first
        .limit(limit)
    )
    return list(rows)
