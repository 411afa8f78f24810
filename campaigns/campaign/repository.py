from __future__ import annotations

from uuid import UUID

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign.models import Campaign


async def list_campaigns(
    session: AsyncSession, *, status: str | None, limit: int, offset: int
) -> list[Campaign]:
    query = select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id).limit(limit).offset(offset)
    if status is not None:
        query = query.where(Campaign.status == status)
    return list(await session.scalars(query))


async def campaign_choices(session: AsyncSession) -> list[tuple[UUID, str]]:
    query = select(Campaign.id, Campaign.name).order_by(Campaign.created_at.desc(), Campaign.id)
    return [(row.id, row.name) for row in await session.execute(query)]


async def increment_codes_issued(session: AsyncSession, campaign_id: UUID) -> None:
    await session.execute(
        update(Campaign).where(Campaign.id == campaign_id).values(codes_issued=Campaign.codes_issued + 1)
    )


async def get_for_update(session: AsyncSession, campaign_id: UUID) -> Campaign | None:
    # populate_existing: a campaign already in the session is refreshed with the locked row's budget.
    query = select(Campaign).where(Campaign.id == campaign_id).with_for_update()
    return await session.scalar(query.execution_options(populate_existing=True))
