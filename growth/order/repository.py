from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from growth.order.models import (
    Order,
    OrderLine,
    OrderTransition,
    PendingCardFingerprint,
    PendingOrderEvent,
)


async def get_by_external_id(
    session: AsyncSession, external_id: str, *, for_update: bool = False
) -> Order | None:
    query = select(Order).where(Order.external_id == external_id)
    return await session.scalar(query.with_for_update() if for_update else query)


async def insert_new(session: AsyncSession, values: dict[str, Any]) -> Order | None:
    """Insert the order unless its external id is taken (then None): no savepoint needed to survive a
    concurrent intake of the same order, which on PostgreSQL this waits for."""
    assert session.bind is not None, "the session must be bound to an engine"
    insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(Order).values(values).on_conflict_do_nothing(index_elements=["external_id"]).returning(Order)
    )
    return await session.scalar(statement)


async def get_by_payment_reference(
    session: AsyncSession, reference: str, *, for_update: bool = False
) -> Order | None:
    query = select(Order).where(Order.payment_reference == reference).order_by(Order.placed_at).limit(1)
    return await session.scalar(query.with_for_update() if for_update else query)


async def get_transition(session: AsyncSession, order_id: UUID, event_key: str) -> OrderTransition | None:
    return await session.scalar(
        select(OrderTransition).where(
            OrderTransition.order_id == order_id, OrderTransition.event_key == event_key
        )
    )


async def lines_of(session: AsyncSession, order_id: UUID) -> list[OrderLine]:
    return list(
        await session.scalars(select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id))
    )


async def transitions_of(session: AsyncSession, order_id: UUID) -> list[OrderTransition]:
    return list(
        await session.scalars(
            select(OrderTransition).where(OrderTransition.order_id == order_id).order_by(OrderTransition.id)
        )
    )


async def pending_for(session: AsyncSession, match_keys: list[str]) -> list[PendingOrderEvent]:
    return list(
        await session.scalars(
            select(PendingOrderEvent)
            .where(PendingOrderEvent.match_key.in_(match_keys), PendingOrderEvent.applied_at.is_(None))
            .order_by(PendingOrderEvent.occurred_at, PendingOrderEvent.id)
            .with_for_update()
        )
    )


async def pending_exists(session: AsyncSession, event_key: str) -> bool:
    return (
        await session.scalar(select(PendingOrderEvent.id).where(PendingOrderEvent.event_key == event_key))
        is not None
    )


async def pending_card_fingerprint(session: AsyncSession, payment_reference: str) -> str | None:
    """The card fingerprint Stripe reported for ``payment_reference`` before its order arrived."""
    return await session.scalar(
        select(PendingCardFingerprint.fingerprint).where(
            PendingCardFingerprint.payment_reference == payment_reference
        )
    )


async def has_paid_order(session: AsyncSession, customer_id: UUID) -> bool:
    query = select(exists().where(Order.customer_id == customer_id, Order.paid_amount > 0))
    return bool(await session.scalar(query))


async def first_of_subscription(session: AsyncSession, subscription_id: str) -> Order | None:
    query = (
        select(Order)
        .where(Order.subscription_id == subscription_id)
        .order_by(Order.placed_at, Order.id)
        .limit(1)
    )
    return await session.scalar(query)
