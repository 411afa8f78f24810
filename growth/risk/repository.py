"""Queries that gather an order's history for the firewall."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import ColumnElement, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.attribution.models import Attribution
from growth.click.models import Click
from growth.order.models import Order
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
