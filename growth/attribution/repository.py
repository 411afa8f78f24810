from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.attribution.models import Attribution
from growth.click.models import Click
from growth.customer.models import Customer
from growth.order.models import Order
from growth.referral_code.models import ReferralCode


async def clicks_with_codes(
    session: AsyncSession, click_ids: list[UUID]
) -> list[tuple[Click, ReferralCode, Customer | None]]:
    rows = await session.execute(
        select(Click, ReferralCode, Customer)
        .join(ReferralCode, ReferralCode.id == Click.referral_code_id)
        .outerjoin(Customer, Customer.id == ReferralCode.customer_id)
        .where(Click.id.in_(click_ids))
    )
    return [(click, code, customer) for click, code, customer in rows]


async def has_earlier_paid_order(
    session: AsyncSession, customer_id: UUID, before: datetime, order_id: UUID
) -> bool:
    return bool(
        await session.scalar(
            select(
                exists().where(
                    Order.customer_id == customer_id,
                    Order.id != order_id,
                    Order.paid_amount > 0,
                    Order.placed_at < before,
                )
            )
        )
    )


async def subscription_attribution(
    session: AsyncSession, subscription_id: str, order_id: UUID
) -> tuple[Attribution, Customer | None] | None:
    row = (
        await session.execute(
            select(Attribution, Customer)
            .join(Order, Order.id == Attribution.order_id)
            .outerjoin(Customer, Customer.id == Attribution.customer_referrer_id)
            .where(
                Order.subscription_id == subscription_id, Order.id != order_id, Attribution.method != "none"
            )
            .order_by(Order.placed_at)
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def get_for_order(session: AsyncSession, order_id: UUID) -> Attribution | None:
    return await session.scalar(select(Attribution).where(Attribution.order_id == order_id))


async def referred_orders(
    session: AsyncSession, referral_code_id: UUID, limit: int
) -> list[tuple[Order, Customer]]:
    """The orders a code brought, newest first, with the friend who placed each."""
    rows = await session.execute(
        select(Order, Customer)
        .join(Attribution, Attribution.order_id == Order.id)
        .join(Customer, Customer.id == Order.customer_id)
        .where(Attribution.referral_code_id == referral_code_id, Attribution.method != "none")
        .order_by(Order.placed_at.desc(), Order.id)
        .limit(limit)
    )
    return [(order, customer) for order, customer in rows.tuples()]


async def partner_orders(
    session: AsyncSession, partner_id: UUID, *, limit: int, offset: int
) -> list[tuple[Order, Attribution]]:
    """The orders a partner brought, newest first."""
    rows = await session.execute(
        select(Order, Attribution)
        .join(Attribution, Attribution.order_id == Order.id)
        .where(Attribution.partner_id == partner_id)
        .order_by(Order.placed_at.desc(), Order.id)
        .limit(limit)
        .offset(offset)
    )
    return [(order, attribution) for order, attribution in rows.tuples()]
