from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.customer.models import Customer


async def get_by_external_id(
    session: AsyncSession, external_id: str, *, for_update: bool = False
) -> Customer | None:
    query = select(Customer).where(Customer.external_id == external_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def get_many(session: AsyncSession, customer_ids: Collection[UUID]) -> list[Customer]:
    if not customer_ids:
        return []
    return list(await session.scalars(select(Customer).where(Customer.id.in_(customer_ids))))


async def has_email_key(session: AsyncSession, email_key: str) -> bool:
    query = select(Customer.id).where(Customer.email_key == email_key, Customer.deleted_at.is_(None)).limit(1)
    return await session.scalar(query) is not None
