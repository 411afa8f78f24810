"""A seeded program for the analytics' tests: plain lists first, then rows written from them.

The tests compute every expected figure from these lists with plain Python, never with the code
under test. Two campaigns (a referral one and a social-share one), a partner, orders over days and
hours in and around the range, in two currencies, with reviews, clicks, rewards, commissions, posts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.reward.models import Reward, RewardRule
from campaigns.share.models import ShareSubmission
from growth.attribution.models import Attribution
from growth.click.models import Click
from growth.customer.models import Customer
from growth.order.models import Order
from growth.risk.models import OrderReview
from payouts.commission.models import Commission, CommissionPlan
from tests.factories import create_campaign, create_customer, create_partner, issue_code

TIMEZONE = "Asia/Shanghai"
FIRST, LAST = "2026-11-02", "2026-11-08"
"""A Monday to a Sunday in Shanghai: UTC 2026-11-01 16:00 to 2026-11-08 16:00."""
START = datetime(2026, 11, 1, 16, tzinfo=UTC)
END = datetime(2026, 11, 8, 16, tzinfo=UTC)


@dataclass(frozen=True)
class SeedOrder:
    n: int
    customer: str
    amount: int
    currency: str
    placed_at: datetime
    status: str
    method: str
    """``none`` when not referred."""
    campaign: str | None
    referrer: str | None
    partner: str | None
    verdict: str | None


@dataclass(frozen=True)
class SeedReward:
    campaign: str
    customer: str
    side: str
    order: int | None
    amount: int
    currency: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class SeedCommission:
    partner: str
    order: int
    amount: int
    reversed_amount: int
    currency: str
    accrued_at: datetime


@dataclass
class Seed:
    kinds: dict[str, str] = field(default_factory=lambda: {"A": "referral", "B": "social_share"})
    names: dict[str, str] = field(default_factory=dict)
    """Customer key -> name."""
    orders: list[SeedOrder] = field(default_factory=list)
    clicks: list[tuple[str, datetime]] = field(default_factory=list)
    rewards: list[SeedReward] = field(default_factory=list)
    commissions: list[SeedCommission] = field(default_factory=list)
    shares: list[tuple[str, str, datetime]] = field(default_factory=list)
    """(campaign, status, submitted_at)."""
    ids: dict[str, UUID] = field(default_factory=dict)
    """Campaign, partner and customer keys -> their ids, once written."""


REFERRERS = {"r1": ("A", "Alice Chen"), "r2": ("A", "王小明"), "r3": ("B", "Bob Li")}
SOURCES = [
    ("none", None, None, None),
    ("referral_code", "A", "r1", None),
    ("click", "A", "r2", None),
    ("coupon", "B", "r3", None),
    ("lead", None, None, "p1"),
    ("referral_code", "A", "r1", None),
    ("none", None, None, None),
    ("click", "A", None, "p2"),
]
VERDICTS = ["allow", "hold", "allow", "reject", "allow"]


def build() -> Seed:
    """The lists: 44 orders from before the range to after it, every source, two currencies."""
    seed = Seed()
    seed.names = {key: name for key, (_, name) in REFERRERS.items()}
    base = datetime(2026, 10, 31, 9, 20, tzinfo=UTC)
    for n in range(44):
        placed_at = base + timedelta(hours=5 * n + (n % 4) * 3, minutes=(n * 17) % 60)
        method, campaign, referrer, partner = SOURCES[n % len(SOURCES)]
        customer = f"c{n % 30}"  # some customers order twice
        seed.names.setdefault(customer, f"Cust {n % 30} Zhang")
        seed.orders.append(
            SeedOrder(
                n=n,
                customer=customer,
                amount=1000 + 137 * n,
                currency="USD" if n % 7 == 3 else "CNY",
                placed_at=placed_at,
                status="closed" if n % 3 == 0 else "paid",
                method=method,
                campaign=campaign,
                referrer=referrer,
                partner=partner,
                verdict=None if method == "none" else VERDICTS[n % len(VERDICTS)],
            )
        )
    # Boundaries: Shanghai midnight on both ends (in, then out).
    for n, at in (
        (100, START),
        (101, END - timedelta(seconds=1)),
        (102, END),
        (103, START - timedelta(seconds=1)),
    ):
        seed.orders.append(
            SeedOrder(n, "c1", 500, "CNY", at, "placed", "referral_code", "A", "r1", None, "allow")
        )
    for i in range(25):
        seed.clicks.append(("B" if i % 3 == 0 and i < 9 else "A", base + timedelta(hours=9 * i + 1)))
    statuses = ["approved", "issued", "pending", "voided", "fulfilled", "not_granted"]
    for i, o in enumerate(x for x in seed.orders if x.referrer is not None):
        seed.rewards.append(
            SeedReward(
                o.campaign or "A",
                o.customer,
                "referee",
                o.n,
                300 + i,
                o.currency,
                statuses[i % 6],
                o.placed_at + timedelta(hours=1),
            )
        )
    for i in range(6):
        at = base + timedelta(days=i + 1, hours=3)
        seed.rewards.append(SeedReward("B", "r3", "share", None, 800, "CNY", statuses[i % 3], at))
        seed.shares.append(("B", ("approved", "pending", "rejected")[i % 3], at - timedelta(hours=2)))
    for o in (x for x in seed.orders if x.partner is not None):
        seed.commissions.append(
            SeedCommission(o.partner, o.n, o.amount // 10, 50 if o.n % 2 else 0, o.currency, o.placed_at)
        )
    return seed


async def write(session: AsyncSession, seed: Seed) -> Seed:
    """Write the lists as rows; returns the seed with the ids it was given."""
    ids = seed.ids
    campaigns = {}
    for key, kind in seed.kinds.items():
        campaigns[key] = await create_campaign(
            session, name=f"Campaign {key}", kind=kind, hashtag=f"#tag{key}"
        )
        ids[key] = campaigns[key].id
    for key, name in (("p1", "Northwind Consulting"), ("p2", "Contoso Partners")):
        ids[key] = (await create_partner(session, name=name)).id
    for key, name in seed.names.items():
        ids[key] = (await create_customer(session, external_id=f"seed-{key}", name=name)).id
    codes = {}
    for key, (campaign, _) in REFERRERS.items():
        customer = await session.get_one(Customer, ids[key])
        codes[campaign] = (await issue_code(session, campaign=campaigns[campaign], customer=customer)).id
    plan = CommissionPlan(name="Seed plan", kind="percent", rate_bps=1000, currency="CNY", hold_days=30)
    session.add(plan)
    rules = {}
    for key in seed.kinds:
        rule = RewardRule(campaign_id=ids[key], side="referee", reward_type="store_credit", amount=300)
        session.add(rule)
        rules[key] = rule
    await session.flush()
    order_ids: dict[int, UUID] = {}
    for o in seed.orders:
        order_id = order_ids[o.n] = uuid4()
        session.add(
            Order(
                id=order_id,
                external_id=f"seed-order-{o.n}",
                customer_id=ids[o.customer],
                amount=o.amount,
                currency=o.currency,
                placed_at=o.placed_at,
                status=o.status,
                source="api",
                content={},
                fingerprint=f"fp{o.n}",
            )
        )
    await session.flush()
    for o in seed.orders:
        session.add(
            Attribution(
                order_id=order_ids[o.n],
                method=o.method,
                campaign_id=ids[o.campaign] if o.campaign else None,
                customer_referrer_id=ids[o.referrer] if o.referrer else None,
                partner_id=ids[o.partner] if o.partner else None,
                explanation="seeded",
                decided_at=o.placed_at,
            )
        )
        if o.verdict:
            status = {"allow": "allowed", "hold": "held", "reject": "rejected"}[o.verdict]
            session.add(
                OrderReview(
                    order_id=order_ids[o.n], verdict=o.verdict, status=status, reviewed_at=o.placed_at
                )
            )
    for campaign, at in seed.clicks:
        session.add(Click(referral_code_id=codes[campaign], campaign_id=ids[campaign], clicked_at=at))
    for i, r in enumerate(seed.rewards):
        session.add(
            Reward(
                grant_key=f"seed-reward-{i}",
                campaign_id=ids[r.campaign],
                rule_id=rules[r.campaign].id,
                customer_id=ids[r.customer],
                side=r.side,
                reward_type="store_credit",
                order_id=order_ids[r.order] if r.order is not None else None,
                amount=r.amount,
                currency=r.currency,
                status=r.status,
                created_at=r.created_at,
            )
        )
    for c in seed.commissions:
        session.add(
            Commission(
                order_id=order_ids[c.order],
                order_external_id=f"seed-order-{c.order}",
                partner_id=ids[c.partner],
                plan_id=plan.id,
                base_amount=c.amount * 10,
                amount=c.amount,
                reversed_amount=c.reversed_amount,
                currency=c.currency,
                accrued_at=c.accrued_at,
            )
        )
    for i, (campaign, status, at) in enumerate(seed.shares):
        session.add(
            ShareSubmission(
                campaign_id=ids[campaign],
                customer_id=ids["r3"],
                referral_code_id=codes[campaign],
                url=f"https://weibo.example/post/{i}",
                url_key=f"weibo.example/post/{i}",
                platform="weibo",
                status=status,
                submitted_at=at,
            )
        )
    await session.flush()
    return seed
