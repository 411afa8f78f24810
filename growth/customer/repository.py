from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from growth.customer.models import Customer


async def get_by_external_id(
    session: AsyncSession, external_id: str, *, for_update: bool = False
) -> Customer | None:
    query = select(Customer).where(Customer.external_id == external_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def insert_new(session: AsyncSession, *, external_id: str, **fields: str | None) -> Customer | None:
    """Insert the customer unless the external id is taken (then None): no savepoint needed to survive
    a concurrent insert, which on PostgreSQL this waits for."""
    assert session.bind is not None, "the session must be bound to an engine"
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(Customer)
        .values(external_id=external_id, **fields)
        .on_conflict_do_nothing(index_elements=["external_id"])
        .returning(Customer)
    )
    return await session.scalar(statement)


async def get_many(session: AsyncSession, customer_ids: Collection[UUID]) -> list[Customer]:
    if not customer_ids:
        return []
    return list(await session.scalars(select(Customer).where(Customer.id.in_(customer_ids))))


async def has_email_key(session: AsyncSession, email_key: str) -> bool:
    query = select(Customer.id).where(Customer.email_key == email_key, Customer.deleted_at.is_(None)).limit(1)
    return await session.scalar(query) is not None
