"""Gift-pack factories: a pack, and a reward row for a shipment to belong to."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.gift_pack import service as gift_pack_service
from campaigns.gift_pack.models import GiftPack, Shipment
from campaigns.reward.models import Reward, RewardRule
from tests.factories import create_campaign, create_customer

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
_seq = itertools.count(1)


def address(**changes: Any) -> dict[str, Any]:
    """A valid shipping address; pass ``field=None`` to leave one out."""
    base: dict[str, Any] = {
        "name": "王小美",
        "line1": "南京西路 1266 号",
        "line2": "恒隆广场 12 楼",
        "city": "上海",
        "postal_code": "200040",
        "country": "CN",
        "phone": "+86 138 0013 8000",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


async def create_pack(
    session: AsyncSession,
    *,
    sku: str | None = None,
    name: str = "Spring tea sampler",
    value_amount: int = 3500,
    currency: str = "CNY",
    stock_on_hand: int = 10,
) -> GiftPack:
    return await gift_pack_service.create_pack(
        session,
        sku=sku or f"TEA-SAMPLER-{next(_seq)}",
        name=name,
        value_amount=value_amount,
        currency=currency,
        stock_on_hand=stock_on_hand,
    )


async def create_reward(session: AsyncSession, *, sku: str) -> Reward:
    """A granted gift-pack reward (rows written directly: the reward engine is not under test)."""
    campaign = await create_campaign(session)
    customer = await create_customer(session)
    rule = RewardRule(campaign_id=campaign.id, side="share", reward_type="gift_pack", sku=sku)
    session.add(rule)
    await session.flush()
    reward = Reward(
        grant_key=f"test:{next(_seq)}",
        campaign_id=campaign.id,
        rule_id=rule.id,
        customer_id=customer.id,
        side="share",
        reward_type="gift_pack",
        currency="CNY",
        sku=sku,
        is_granted=True,
        is_stock_reserved=True,
    )
    session.add(reward)
    await session.flush()
    return reward


async def create_shipment(
    session: AsyncSession, *, pack: GiftPack, reserve: bool = True, **address_changes: Any
) -> Shipment:
    """A requested shipment for a new reward, its pack reserved first as the reward engine does."""
    if reserve:
        assert await gift_pack_service.reserve_one(session, pack.sku) is not None
    reward = await create_reward(session, sku=pack.sku)
    return await gift_pack_service.request_shipment(
        session, reward_id=reward.id, sku=pack.sku, address=address(**address_changes), now=NOW
    )
