from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign.models import Campaign
from campaigns.gift_pack.models import Shipment
from campaigns.reward.models import Reward, RewardRule

_LIVE = ("pending", "approved", "issued", "fulfilled")


async def active_rules(session: AsyncSession, campaign_id: UUID, side: str | None = None) -> list[RewardRule]:
    query = select(RewardRule).where(RewardRule.campaign_id == campaign_id, RewardRule.is_active.is_(True))
    if side is not None:
        query = query.where(RewardRule.side == side)
    return list(await session.scalars(query.order_by(RewardRule.threshold, RewardRule.created_at)))


async def all_rules(session: AsyncSession, campaign_id: UUID) -> list[RewardRule]:
    query = select(RewardRule).where(RewardRule.campaign_id == campaign_id)
    return list(
        await session.scalars(query.order_by(RewardRule.side, RewardRule.threshold, RewardRule.created_at))
    )


async def get_by_grant_key(session: AsyncSession, grant_key: str) -> Reward | None:
    return await session.scalar(select(Reward).where(Reward.grant_key == grant_key))


async def get_by_coupon(
    session: AsyncSession, coupon_code: str, *, for_update: bool = False
) -> Reward | None:
    query = select(Reward).where(Reward.coupon_code == coupon_code)
    return await session.scalar(query.with_for_update() if for_update else query)


async def for_order(session: AsyncSession, order_id: UUID) -> list[Reward]:
    # Locked in id order so that two events of one order never deadlock each other.
    query = select(Reward).where(Reward.order_id == order_id).order_by(Reward.id).with_for_update()
    return list(await session.scalars(query))


async def has_live(
    session: AsyncSession, *, campaign_id: UUID, side: str, referee_id: UUID, exclude_order: UUID
) -> bool:
    """Whether the referee already earned a live reward of ``side`` in the campaign through another order."""
    query = select(func.count()).where(
        Reward.campaign_id == campaign_id,
        Reward.side == side,
        Reward.referee_customer_id == referee_id,
        Reward.status.in_(_LIVE),
        Reward.order_id != exclude_order,
    )
    return bool(await session.scalar(query))


async def count_granted_referrals(session: AsyncSession, campaign_id: UUID, customer_id: UUID) -> int:
    query = select(func.count()).where(
        Reward.campaign_id == campaign_id,
        Reward.customer_id == customer_id,
        Reward.side == "referrer",
        Reward.is_granted.is_(True),
        Reward.status.in_(_LIVE),
    )
    return int(await session.scalar(query) or 0)


async def live_milestone_rule_ids(session: AsyncSession, campaign_id: UUID, customer_id: UUID) -> set[UUID]:
    query = select(Reward.rule_id).where(
        Reward.campaign_id == campaign_id,
        Reward.customer_id == customer_id,
        Reward.side == "milestone",
        Reward.status.in_(_LIVE),
    )
    return set(await session.scalars(query))


async def due(session: AsyncSession, now: datetime, limit: int) -> list[Reward]:
    """Granted rewards past their hold: pending ones to approve, welcome coupons used on a kept order."""
    query = (
        select(Reward)
        .where(
            Reward.is_granted.is_(True),
            Reward.approve_after <= now,
            Reward.is_order_disputed.is_(False),
            Reward.is_order_held.is_(False),
            (Reward.status == "pending")
            | ((Reward.status == "issued") & (Reward.side == "referee") & Reward.order_id.is_not(None)),
        )
        .order_by(Reward.approve_after, Reward.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(query))


async def waiting_for(session: AsyncSession, sku: str) -> list[Reward]:
    query = (
        select(Reward)
        .where(Reward.is_waiting_for_stock.is_(True), Reward.sku == sku, Reward.status == "pending")
        .order_by(Reward.created_at, Reward.id)
        .with_for_update()
    )
    return list(await session.scalars(query))


async def get(session: AsyncSession, reward_id: UUID, *, for_update: bool = False) -> Reward | None:
    query = select(Reward).where(Reward.id == reward_id)
    return await session.scalar(query.with_for_update() if for_update else query)


async def of_customer(
    session: AsyncSession, customer_id: UUID, campaign_id: UUID | None = None
) -> list[Reward]:
    query = select(Reward).where(Reward.customer_id == customer_id)
    if campaign_id is not None:
        query = query.where(Reward.campaign_id == campaign_id)
    return list(await session.scalars(query.order_by(Reward.created_at.desc(), Reward.id)))


async def referred_by(session: AsyncSession, referral_code_id: UUID) -> list[Reward]:
    query = select(Reward).where(Reward.referral_code_id == referral_code_id, Reward.side == "referrer")
    return list(await session.scalars(query.order_by(Reward.created_at.desc(), Reward.id)))


async def search(
    session: AsyncSession,
    *,
    campaign_id: UUID | None,
    customer_id: UUID | None,
    status: str | None,
    order_id: UUID | None,
    limit: int,
    offset: int,
) -> list[Reward]:
    query = select(Reward)
    if campaign_id is not None:
        query = query.where(Reward.campaign_id == campaign_id)
    if customer_id is not None:
        query = query.where(Reward.customer_id == customer_id)
    if status is not None:
        query = query.where(Reward.status == status)
    if order_id is not None:
        query = query.where(Reward.order_id == order_id)
    query = query.order_by(Reward.created_at.desc(), Reward.id).limit(limit).offset(offset)
    return list(await session.scalars(query))


async def waiting_counts(session: AsyncSession, campaign_id: UUID) -> dict[str, int]:
    """Rewards of the campaign waiting for a restock, by sku."""
    rows = await session.execute(
        select(Reward.sku, func.count())
        .where(
            Reward.campaign_id == campaign_id,
            Reward.is_waiting_for_stock.is_(True),
            Reward.status == "pending",
        )
        .group_by(Reward.sku)
    )
    return {sku: int(n) for sku, n in rows.tuples() if sku}


async def expired_coupons(session: AsyncSession, now: datetime, limit: int) -> list[Reward]:
    """Welcome coupons never used whose validity ended."""
    query = (
        select(Reward)
        .where(
            Reward.status == "issued",
            Reward.side == "referee",
            Reward.order_id.is_(None),
            Reward.expires_at <= now,
        )
        .order_by(Reward.expires_at, Reward.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.scalars(query))


async def delay_candidates(session: AsyncSession, *, limit: int) -> list[tuple[Reward, bool]]:
    """Rewards that may be late, with whether their pack's shipment left the warehouse: pending ones held
    for review or waiting for stock, and packs approved or issued whose shipment has not shipped."""
    ships = Reward.reward_type.in_(("gift_pack", "free_sample"))
    query = (
        select(Reward, Shipment.shipped_at.is_not(None))
        .outerjoin(Shipment, Shipment.reward_id == Reward.id)
        .where(
            (
                (Reward.status == "pending")
                & (Reward.is_order_held.is_(True) | Reward.is_waiting_for_stock.is_(True))
            )
            | (ships & Reward.status.in_(("approved", "issued")) & Shipment.shipped_at.is_(None))
        )
        .order_by(Reward.created_at, Reward.id)
        .limit(limit)
    )
    return [(reward, bool(shipped)) for reward, shipped in (await session.execute(query)).all()]


async def cost_by_kind(
    session: AsyncSession, *, since: datetime, until: datetime, campaign_id: UUID | None
) -> list[tuple[str, str, int]]:
    """``(campaign kind, currency, amount)`` of the rewards granted in ``[since, until)``, not voided."""
    query = (
        select(Campaign.kind, Reward.currency, func.sum(Reward.amount))
        .join(Campaign, Campaign.id == Reward.campaign_id)
        .where(
            Reward.created_at >= since,
            Reward.created_at < until,
            Reward.status.not_in(("voided", "not_granted")),
        )
        .group_by(Campaign.kind, Reward.currency)
    )
    if campaign_id is not None:
        query = query.where(Reward.campaign_id == campaign_id)
    return [(k, c, int(a)) for k, c, a in await session.execute(query)]


async def count_rewarded_orders(session: AsyncSession, order_ids: Select[tuple[UUID]]) -> int:
    """How many of these orders earned a reward that was approved (or issued, fulfilled)."""
    query = select(func.count(distinct(Reward.order_id))).where(
        Reward.order_id.in_(order_ids), Reward.status.in_(("approved", "issued", "fulfilled"))
    )
    return int((await session.execute(query)).scalar_one())
