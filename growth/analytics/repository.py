"""The analytics' SQL aggregates: every figure is a GROUP BY, never a loop over orders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    cast,
    distinct,
    func,
    literal_column,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from growth.analytics.rules import BUCKET_SECONDS, BucketCount
from growth.attribution.models import Attribution
from growth.attribution.rules import Method
from growth.click.models import Click
from growth.customer.models import Customer
from growth.order.models import Order
from growth.risk.models import OrderReview
from growth.risk.rules import Verdict


@dataclass(frozen=True, slots=True)
class Scope:
    """Orders placed (clicks made) in ``[start, end)``, of one campaign or of all."""

    start: datetime
    end: datetime
    campaign_id: UUID | None


def _placed(scope: Scope) -> ColumnElement[bool]:
    return and_(Order.placed_at >= scope.start, Order.placed_at < scope.end)


def _is_referred() -> ColumnElement[bool]:
    """``method <> 'none'`` with the value in the SQL text, not bound: only then may the engines use
    the partial index ``ix_attributions_referred`` (a plan must not depend on a parameter's value)."""
    return Attribution.method != literal_column(f"'{Method.none.value}'")


def _referred(scope: Scope) -> ColumnElement[bool]:
    condition = _is_referred()
    if scope.campaign_id is not None:
        condition = and_(condition, Attribution.campaign_id == scope.campaign_id)
    return condition


def referred_order_ids(scope: Scope) -> Select[Any]:
    """The ids of the referred orders in the scope (a subquery for the other packages' counts)."""
    return (
        select(Order.id)
        .join(Attribution, Attribution.order_id == Order.id)
        .where(_placed(scope), _referred(scope))
    )


def campaign_order_ids(campaign_id: UUID) -> Select[Any]:
    """The ids of the orders attributed to a campaign, whenever placed."""
    return select(Attribution.order_id).where(Attribution.campaign_id == campaign_id)


async def count_clicks(session: AsyncSession, scope: Scope) -> int:
    query = (
        select(func.count())
        .select_from(Click)
        .where(Click.clicked_at >= scope.start, Click.clicked_at < scope.end)
    )
    if scope.campaign_id is not None:
        query = query.where(Click.campaign_id == scope.campaign_id)
    return int((await session.execute(query)).scalar_one())


@dataclass(frozen=True, slots=True)
class CurrencyFacts:
    """The additive figures of the orders placed in the range in one currency."""

    currency: str
    orders: int
    """Every order placed, referred or not, of any campaign (the referral share's whole)."""
    revenue: int
    """Minor units of ``currency``."""
    referred: int
    referred_revenue: int
    """Minor units of ``currency``."""
    closed: int
    """Referred orders closed."""


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


async def currency_facts(session: AsyncSession, scope: Scope) -> list[CurrencyFacts]:
    """Orders, referred orders, their revenue and the closed ones per currency, in one pass over the range.

    One outer join of the referred attributions (the partial index) reads each order once, where the
    whole, the referred orders and the closed ones took a scan each.
    """
    is_referred = Attribution.order_id.is_not(None)
    rows = await session.execute(
        select(
            Order.currency,
            func.count(),
            func.sum(Order.amount),
            func.count(Attribution.order_id),
            func.coalesce(func.sum(case((is_referred, Order.amount), else_=0)), 0),
            _count_if(and_(is_referred, Order.status == "closed")),
        )
        .select_from(Order)
        .outerjoin(Attribution, and_(Attribution.order_id == Order.id, _referred(scope)))
        .where(_placed(scope))
        .group_by(Order.currency)
    )
    return [CurrencyFacts(str(row[0]), *(int(n) for n in row[1:])) for row in rows]


@dataclass(frozen=True, slots=True)
class ReferredCounts:
    customers: int
    """Distinct customers with a referred order."""
    referees: int
    """Distinct customers brought by a customer referrer."""
    referrers: int
    """Distinct customer referrers who brought them."""


async def referred_counts(session: AsyncSession, scope: Scope) -> ReferredCounts:
    """The distinct counts of the referred orders (not additive, so never summed from other figures)."""
    row = (
        await session.execute(
            select(
                func.count(distinct(Order.customer_id)),
                func.count(
                    distinct(case((Attribution.customer_referrer_id.is_not(None), Order.customer_id)))
                ),
                func.count(distinct(Attribution.customer_referrer_id)),
            )
            .join(Attribution, Attribution.order_id == Order.id)
            .where(_placed(scope), _referred(scope))
        )
    ).one()
    return ReferredCounts(int(row[0]), int(row[1]), int(row[2]))


async def customers_by_source(session: AsyncSession, scope: Scope) -> list[tuple[UUID | None, bool, int]]:
    """``(campaign_id, through a partner, distinct referred customers)``: the channels' customers."""
    is_partner = Attribution.partner_id.is_not(None)
    rows = await session.execute(
        select(Attribution.campaign_id, is_partner, func.count(distinct(Order.customer_id)))
        .join(Attribution, Attribution.order_id == Order.id)
        .where(_placed(scope), _referred(scope))
        .group_by(Attribution.campaign_id, is_partner)
    )
    return [(c, bool(p), int(n)) for c, p, n in rows]


async def review_counts(session: AsyncSession, scope: Scope) -> tuple[int, int, int]:
    """``(reviewed, held, rejected)``: the firewall's verdicts on the orders placed in the range."""
    query = (
        select(
            func.count(),
            _count_if(OrderReview.verdict == Verdict.hold.value),
            _count_if(OrderReview.verdict == Verdict.reject.value),
        )
        .select_from(OrderReview)
        .join(Order, Order.id == OrderReview.order_id)
        .where(_placed(scope))
    )
    if scope.campaign_id is not None:
        query = query.join(Attribution, Attribution.order_id == Order.id).where(
            Attribution.campaign_id == scope.campaign_id
        )
    n, held, rejected = (await session.execute(query)).one()
    return int(n), int(held), int(rejected)


def _bucket(session: AsyncSession) -> ColumnElement[int]:
    """The 15-minute UTC bucket of ``placed_at``, on either engine."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", Order.placed_at) / BUCKET_SECONDS), Integer)
    # Floor division: ``/`` would divide as reals on SQLite and group per second, not per bucket.
    return cast(func.strftime("%s", Order.placed_at), Integer) // BUCKET_SECONDS


async def order_buckets(session: AsyncSession, scope: Scope) -> list[BucketCount]:
    """Orders and referred orders per 15-minute bucket (``campaign_id``: only its referred orders)."""
    bucket = _bucket(session).label("bucket")
    query = select(bucket, func.count(), func.count(Attribution.order_id))
    if scope.campaign_id is None:
        # Only the referred attributions are joined (the partial index); the others count as orders.
        query = (
            query.select_from(Order)
            .outerjoin(Attribution, and_(Attribution.order_id == Order.id, _is_referred()))
            .where(_placed(scope))
        )
    else:
        query = query.select_from(Order).join(Attribution, Attribution.order_id == Order.id)
        query = query.where(_placed(scope), _referred(scope))
    rows = await session.execute(query.group_by(bucket))
    return [BucketCount(int(b), int(n), int(r)) for b, n, r in rows]


async def top_referrers(
    session: AsyncSession, scope: Scope, *, limit: int
) -> list[tuple[UUID, str | None, int, int]]:
    """``(referrer id, name, referred customers, referred orders)``, most orders first."""
    orders = func.count(Order.id)
    rows = await session.execute(
        select(
            Attribution.customer_referrer_id, Customer.name, func.count(distinct(Order.customer_id)), orders
        )
        .join(Attribution, Attribution.order_id == Order.id)
        .join(Customer, Customer.id == Attribution.customer_referrer_id)
        .where(_placed(scope), _referred(scope))
        .group_by(Attribution.customer_referrer_id, Customer.name)
        .order_by(orders.desc(), Attribution.customer_referrer_id)
        .limit(limit)
    )
    return [(i, name, int(c), int(n)) for i, name, c, n in rows]


async def top_partners(session: AsyncSession, scope: Scope, *, limit: int) -> list[tuple[UUID, int, int]]:
    """``(partner id, referred customers, referred orders)``, most orders first."""
    orders = func.count(Order.id)
    rows = await session.execute(
        select(Attribution.partner_id, func.count(distinct(Order.customer_id)), orders)
        .join(Attribution, Attribution.order_id == Order.id)
        .where(_placed(scope), _referred(scope), Attribution.partner_id.is_not(None))
        .group_by(Attribution.partner_id)
        .order_by(orders.desc(), Attribution.partner_id)
        .limit(limit)
    )
    return [(i, int(c), int(n)) for i, c, n in rows]


async def partner_revenue(
    session: AsyncSession, scope: Scope, partner_ids: list[UUID]
) -> list[tuple[UUID, str, int]]:
    """``(partner id, currency, revenue)`` of the referred orders of these partners."""
    if not partner_ids:
        return []
    rows = await session.execute(
        select(Attribution.partner_id, Order.currency, func.sum(Order.amount))
        .join(Attribution, Attribution.order_id == Order.id)
        .where(_placed(scope), _referred(scope), Attribution.partner_id.in_(partner_ids))
        .group_by(Attribution.partner_id, Order.currency)
    )
    return [(i, c, int(a)) for i, c, a in rows]
