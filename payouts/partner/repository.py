from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from payouts.partner.models import Partner


async def get(session: AsyncSession, partner_id: UUID, *, for_update: bool = False) -> Partner | None:
    if not for_update:
        return await session.get(Partner, partner_id)
    query = (
        select(Partner)
        .where(Partner.id == partner_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return await session.scalar(query)


async def list_partners(
    session: AsyncSession, *, status: str | None, limit: int, offset: int
) -> list[Partner]:
    query = select(Partner).order_by(Partner.created_at.desc(), Partner.id.desc())
    if status is not None:
        query = query.where(Partner.status == status)
    return list(await session.scalars(query.limit(limit).offset(offset)))


async def get_open_by_email_key(session: AsyncSession, email_key: str) -> Partner | None:
    query = (
        select(Partner)
        .where(Partner.email_key == email_key, Partner.status != "closed")
        .order_by(Partner.created_at)
        .limit(1)
    )
    return await session.scalar(query)


async def names(session: AsyncSession, partner_ids: list[UUID]) -> dict[UUID, str]:
    rows = await session.execute(select(Partner.id, Partner.name).where(Partner.id.in_(partner_ids)))
    return {i: name for i, name in rows}
