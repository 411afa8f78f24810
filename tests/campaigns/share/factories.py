"""Share factories: a social-share campaign, a customer's share token, and a sample to reward posts with."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign.models import Campaign
from campaigns.gift_pack import service as gift_pack_service
from campaigns.reward import service as reward_service
from campaigns.reward.models import RewardRule
from campaigns.reward.rules import OutOfStock, RewardType, RuleSpec, Side
from growth.customer.models import Customer
from growth.referral_code.models import ReferralCode
from growth.referral_code.rules import share_token
from tests.conftest import SECRET
from tests.factories import create_campaign, create_customer, issue_code

_seq = itertools.count(1)
POST = "https://weibo.com/1234567890/NbCdEfGh"


def post_url(n: int | None = None) -> str:
    """The address of a distinct public post."""
    return f"https://www.xiaohongshu.com/explore/64a1b2c3d4e5f6{n or next(_seq):08d}"


async def social_share_campaign(session: AsyncSession, **fields: Any) -> Campaign:
    fields.setdefault("hashtag", "#美妆新品")
    return await create_campaign(session, kind="social_share", **fields)


@dataclass(frozen=True)
class Sharer:
    customer: Customer
    code: ReferralCode
    token: str


async def create_sharer(session: AsyncSession, campaign: Campaign, *, name: str = "Mei Lin") -> Sharer:
    """A customer with a referral code for ``campaign``, and the token of their share page."""
    customer = await create_customer(session, name=name)
    code = await issue_code(session, campaign=campaign, customer=customer)
    return Sharer(customer, code, share_token(SECRET, code.code))


async def add_sample_rule(
    session: AsyncSession,
    campaign: Campaign,
    *,
    stock: int = 10,
    out_of_stock: OutOfStock = OutOfStock.wait,
) -> RewardRule:
    """A free sample (worth ¥35.00) for every approved post, with ``stock`` samples in the warehouse."""
    sku = f"SAMPLE-{next(_seq)}"
    await gift_pack_service.create_pack(
        session,
        sku=sku,
        name="Serum sample",
        value_amount=3500,
        currency=campaign.currency,
        stock_on_hand=stock,
    )
    spec = RuleSpec(side=Side.share, reward_type=RewardType.free_sample, sku=sku, out_of_stock=out_of_stock)
    return await reward_service.add_rule(session, campaign.id, spec)
