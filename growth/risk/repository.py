"""Queries that gather an order's history for the firewall."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Row, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from growth.attribution.models import Attribution
from growth.click.models import Click
from growth.customer.models import Customer
from growth.order.models import Order, OrderLine
from growth.risk.models import OrderReview

MEDIAN_SAMPLE = 1001
"""How many of a campaign's latest orders its usual amount is taken over."""


async def own_identities(session: AsyncSession, customer_id: UUID) -> tuple[set[str], set[str], set[str]]:
    """The card fingerprints, address hashes and device ids of a customer's own orders."""
    rows = await session.execute(
        select(Order.payment_fingerprint, Order.address_hash, Order.device_id).where(
            Order.customer_id == customer_id
        )
    )
    payments, addresses, devices = set(), set(), set()
    for payment, address, device in rows:
        payments.update([payment] if payment else [])
        addresses.update([address] if address else [])
        devices.update([device] if device else [])
    return payments, addresses, devices


async def other_referees_sharing(
    session: AsyncSession,
    *,
    referrer_id: UUID,
    customer_id: UUID,
    column: ColumnElement[str | None],
    value: str,
) -> int:
    """Other customers the referrer brought whose orders share ``value`` in ``column``."""
    query = (
        select(func.count(distinct(Order.customer_id)))
        .join(Attribution, Attribution.order_id == Order.id)
        .where(
            Attribution.customer_referrer_id == referrer_id,
            Order.customer_id != customer_id,
            Order.customer_id != referrer_id,
            column == value,
        )
    )
    return int(await session.scalar(query) or 0)


async def referred_orders_between(
    session: AsyncSession,
    *,
    order_id: UUID,
    since: datetime,
    until: datetime,
    referrer_id: UUID | None = None,
    partner_id: UUID | None = None,
) -> int:
    """Other orders credited to the referrer (or partner) placed in ``[since, until]``."""
    credited = (
        Attribution.customer_referrer_id == referrer_id
        if referrer_id is not None
        else Attribution.partner_id == partner_id
    )
    query = (
        select(func.count())
        .select_from(Order)
        .join(Attribution, Attribution.order_id == Order.id)
        .where(credited, Order.id != order_id, Order.placed_at >= since, Order.placed_at <= until)
    )
    return int(await session.scalar(query) or 0)


async def campaign_amounts(
    session: AsyncSession, *, campaign_id: UUID, currency: str, order_id: UUID
) -> list[int]:
    """The amounts of the campaign's latest other orders in ``currency`` (at most ``MEDIAN_SAMPLE``)."""
    query = (
        select(Order.amount)
        .join(Attribution, Attribution.order_id == Order.id)
        .where(Attribution.campaign_id == campaign_id, Order.currency == currency, Order.id != order_id)
        .order_by(Order.placed_at.desc())
        .limit(MEDIAN_SAMPLE)
    )
    return list(await session.scalars(query))


async def code_users_without_click(
    session: AsyncSession, *, referral_code_id: UUID, customer_id: UUID
) -> int:
    """Other customers whose orders were credited to the code as typed (code or coupon), with no click."""
    query = (
        select(func.count(distinct(Order.customer_id)))
        .join(Attribution, Attribution.order_id == Order.id)
        .where(
            Attribution.referral_code_id == referral_code_id,
            Attribution.method.in_(("coupon", "referral_code")),
            Attribution.click_id.is_(None),
            Order.customer_id != customer_id,
        )
    )
    return int(await session.scalar(query) or 0)


async def latest_click(
    session: AsyncSession, *, referral_code_id: UUID, click_ids: list[UUID], before: datetime
) -> Click | None:
    """The latest of the order's clicks on the code, placed before the order."""
    if not click_ids:
        return None
    query = (
        select(Click)
        .where(
            Click.id.in_(click_ids), Click.referral_code_id == referral_code_id, Click.clicked_at <= before
        )
        .order_by(Click.clicked_at.desc())
        .limit(1)
    )
    return await session.scalar(query)


async def get_review(
    session: AsyncSession, order_id: UUID, *, for_update: bool = False
) -> OrderReview | None:
    query = select(OrderReview).where(OrderReview.order_id == order_id)
    if for_update:
        query = query.with_for_update()
    return await session.scalar(query)


async def attribution_of(session: AsyncSession, order_id: UUID) -> Attribution | None:
    return await session.scalar(select(Attribution).where(Attribution.order_id == order_id))


async def order_lines(session: AsyncSession, order_id: UUID) -> list[tuple[str, str | None, int]]:
    """The order's lines as (sku, category, quantity x unit amount in minor units)."""
    rows = await session.execute(
        select(OrderLine.sku, OrderLine.category, OrderLine.quantity * OrderLine.unit_amount)
        .where(OrderLine.order_id == order_id)
        .order_by(OrderLine.sku)
    )
    return [(sku, category, int(amount)) for sku, category, amount in rows]


# The review queue.

RELATED_COLUMNS: dict[str, ColumnElement[Any]] = {
    "same_payment": Order.payment_fingerprint,
    "same_address": Order.address_hash,
    "same_device": Order.device_id,
    "same_referrer": Attribution.customer_referrer_id,
    "same_partner": Attribution.partner_id,
}
"""The kinds of related orders, by the column they share with the reviewed order."""


async def queue_rows(
    session: AsyncSession,
    *,
    status: str | None = None,
    campaign_id: UUID | None = None,
    order_ids: Collection[UUID] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[tuple[OrderReview, Order, Attribution, Customer, Customer | None]]:
    """Reviews with their order, attribution, customer and referring customer, oldest review first."""
    referee, referrer = aliased(Customer), aliased(Customer)
    query = (
        select(OrderReview, Order, Attribution, referee, referrer)
        .join(Order, Order.id == OrderReview.order_id)
        .join(Attribution, Attribution.order_id == Order.id)
        .join(referee, referee.id == Order.customer_id)
        .outerjoin(referrer, referrer.id == Attribution.customer_referrer_id)
        .order_by(OrderReview.reviewed_at, OrderReview.id)
        .limit(limit)
        .offset(offset)
    )
    if status is not None:
        query = query.where(OrderReview.status == status)
    if campaign_id is not None:
        query = query.where(Attribution.campaign_id == campaign_id)
    if order_ids is not None:
        query = query.where(OrderReview.order_id.in_(order_ids))
    return [tuple(row) for row in await session.execute(query)]  # type: ignore[misc]


async def queue_campaign_ids(session: AsyncSession, *, status: str) -> list[UUID]:
    """The campaigns of the orders whose review is in ``status``."""
    query = (
        select(distinct(Attribution.campaign_id))
        .join(OrderReview, OrderReview.order_id == Attribution.order_id)
        .where(OrderReview.status == status, Attribution.campaign_id.is_not(None))
    )
    return list(await session.scalars(query))


async def related_orders(
    session: AsyncSession, *, kind: str, values: Collection[object], per_value: int
) -> list[Row[Any]]:
    """Orders sharing one of ``values`` in the ``kind``'s column: the newest ``per_value`` for each value.

    Rows: ``key`` (the shared value), the order's id, external id, amount, currency, placed_at, status,
    and its review's status (None for an unattributed order).
    """
    column = RELATED_COLUMNS[kind]
    rank = func.row_number().over(partition_by=column, order_by=(Order.placed_at.desc(), Order.id.desc()))
    inner = (
        select(
            column.label("key"),
            Order.id.label("order_id"),
            Order.external_id,
            Order.amount,
            Order.currency,
            Order.placed_at,
            Order.status.label("order_status"),
            OrderReview.status.label("review_status"),
            rank.label("rank"),
        )
        .select_from(Order)
        .outerjoin(OrderReview, OrderReview.order_id == Order.id)
        .outerjoin(Attribution, Attribution.order_id == Order.id)
        .where(column.in_(list(values)))
        .subquery()
    )
    query = select(inner).where(inner.c.rank <= per_value).order_by(inner.c.key, inner.c.rank)
    return list(await session.execute(query))


async def lock_reviews(session: AsyncSession, order_ids: Collection[UUID]) -> list[OrderReview]:
    """The reviews of ``order_ids``, locked in primary-key order (two batches cannot deadlock)."""
    query = (
        select(OrderReview)
        .where(OrderReview.order_id.in_(order_ids))
        .order_by(OrderReview.id)
        .with_for_update()
    )
    return list(await session.scalars(query))


async def orders_and_attributions(
    session: AsyncSession, order_ids: Collection[UUID]
) -> dict[UUID, tuple[Order, Attribution]]:
    """Each order with its attribution, by order id."""
    query = select(Order, Attribution).join(Attribution, Attribution.order_id == Order.id)
    rows = await session.execute(query.where(Order.id.in_(order_ids)))
    return {order.id: (order, attribution) for order, attribution in rows}
