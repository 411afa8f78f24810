from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from payouts.provider.models import PayoutAccount


async def get_by_partner(
    session: AsyncSession, partner_id: UUID, *, for_update: bool = False
) -> PayoutAccount | None:
    query = select(PayoutAccount).where(PayoutAccount.partner_id == partner_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def by_partners(session: AsyncSession, partner_ids: Iterable[UUID]) -> list[PayoutAccount]:
    ids = list(partner_ids)
    if not ids:
        return []
    return list(await session.scalars(select(PayoutAccount).where(PayoutAccount.partner_id.in_(ids))))
