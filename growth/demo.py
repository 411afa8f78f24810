"""The demo: one campaign, two customers with codes, one partner, a few referred orders (two of
them for the review queue), eight weeks of history behind them, and a shop page to land on.

A composition root like ``growth/app.py`` (it reaches into ``campaigns`` and ``payouts`` to seed
them). Loading twice changes nothing: everything is found by its external id or name first.

The history (``DEMO-H…`` orders, clicks, share posts, a second partner) is drawn from a seeded
random generator and goes in only through the services, as the shop and the people would have sent
it; ``_settle`` then does, in the same transaction, what the outbox worker and the periodic jobs
would have done since (rewards and commissions accrued, approved night by night, delay alerts raised).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar import Request, get
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from campaigns.campaign import service as campaign_service
from campaigns.campaign.models import Campaign
from campaigns.campaign.rules import CampaignKind, CampaignStatus
from campaigns.gift_pack import service as gift_pack_service
from campaigns.reward import service as reward_service
from campaigns.reward.rules import OutOfStock, RewardType, RuleSpec, Side
from campaigns.share import service as share_service
from campaigns.share.rules import Decision
from growth.attribution.service import Hints
from growth.audit import service as audit_service
from growth.click import service as click_service
from growth.core.auth import service as auth_service
from growth.core.auth.rules import Role
from growth.core.events.service import Subscriptions, dispatch_in_transaction
from growth.core.i18n import HTML_LANG, negotiate_locale
from growth.core.ports import no_leads
from growth.core.time import utc_now
from growth.customer import service as customer_service
from growth.order import service as order_service
from growth.order.errors import OrderNotFound
from growth.order.rules import OrderEventType
from growth.referral_code import service as referral_code_service
from growth.settings import Settings
from payouts.commission import service as commission_service
from payouts.commission.rules import PlanKind, PlanSpec
from payouts.partner import service as partner_service
from payouts.partner.models import Partner
from payouts.partner.rules import CreditTier

DEMO_CAMPAIGN = "Spring referral: give ¥20, get ¥20"
DEMO_CUSTOMERS = (
    ("demo-alice", "alice@example.com", "Alice Chen", "zh_Hans", "ALICE-SPRING"),
    ("demo-bob", "bob@example.com", "Bob Li", "en", None),
)
DEMO_SHARE_CAMPAIGN = "New serum: post with #美妆新品, get a free sample"
DEMO_PACKS = (
    ("HOME-CLEAN", "Home-cleaning gift pack", 8800, 25),
    ("VIP-PACK", "VIP gift pack", 30000, 0),
    ("SERUM-SAMPLE", "Serum sample", 1500, 200),
)
DEMO_RULES = (
    RuleSpec(Side.referee, RewardType.fixed_discount, amount=2000),
    RuleSpec(Side.referrer, RewardType.store_credit, amount=2000),
    RuleSpec(Side.milestone, RewardType.gift_pack, sku="HOME-CLEAN", threshold=3),
    RuleSpec(
        Side.milestone,
        RewardType.gift_pack,
        sku="VIP-PACK",
        threshold=10,
        out_of_stock=OutOfStock.store_credit,
        alternative_amount=20000,
    ),
)
DEMO_PARTNER = ("Northwind Consulting", "partners@northwind.example")
HISTORY_PARTNER = ("Lotus Retail Partners", "hello@lotus-retail.example")
ALICE_CARD = "demoCardAlice001"
DEMO_ORDERS = (
    # (external id, customer, e-mail, name, amount, card): what the risk firewall then decides.
    ("DEMO-1001", "demo-alice", "alice@example.com", "Alice Chen", 12800, ALICE_CARD),  # her own order
    ("DEMO-1002", "demo-carol", "carol@example.com", "Carol Wang", 25600, None),  # allowed
    ("DEMO-1003", "demo-dan", "dan@mailinator.com", "Dan Zhou", 9900, None),  # held: disposable e-mail
    ("DEMO-1004", "demo-erin", "erin@example.com", "Erin Xu", 45000, ALICE_CARD),  # rejected: Alice's card
)


HISTORY_DAYS = 56
"""How far back the history goes: eight weeks of orders, clicks and posts."""
HISTORY_SEED = 20260315
HISTORY_REFERRERS = (
    # More customers who share their code (external id, e-mail, name, language).
    ("demo-fay", "fay@example.com", "Fay Huang", "zh_Hans"),
    ("demo-gus", "gus@example.com", "Gus Wang", "en"),
    ("demo-hui", "hui@example.com", "Hui Lin", "zh_Hans"),
    ("demo-ivy", "ivy@example.com", "Ivy Zhang", "en"),
    ("demo-jun", "jun@example.com", "Jun Ma", "zh_Hans"),
    ("demo-kai", "kai@example.com", "Kai Sun", "zh_Hans"),
    ("demo-lan", "lan@example.com", "Lan Zhou", "zh_Hans"),
    ("demo-mia", "mia@example.com", "Mia Guo", "en"),
)
HISTORY_CHANNELS = (
    # Who brought a referred order, and how often: customers' codes, then the partners' ("partner…").
    ("demo-alice", 16),
    ("demo-bob", 12),
    ("demo-fay", 9),
    ("demo-gus", 8),
    ("demo-hui", 7),
    ("demo-ivy", 6),
    ("demo-jun", 5),
    ("demo-kai", 4),
    ("demo-lan", 4),
    ("demo-mia", 3),
    ("partner", 20),
    ("partner-lotus", 7),
)
HISTORY_POSTS = (
    # Posts with the #美妆新品 hashtag: (customer, post URL, days ago, approved by marketing?).
    ("demo-fay", "https://www.xiaohongshu.com/explore/64f1demo0001", 40, True),
    ("demo-gus", "https://www.instagram.com/p/DemoSerum02/", 27, True),
    ("demo-hui", "https://weibo.com/1234567890/DemoSerum03", 12, True),
    ("demo-bob", "https://www.douyin.com/video/7300000000000000004", 2, None),
)
DEMO_PLAN = ("Northwind revenue share 12%", PlanSpec(PlanKind.percent, "CNY", rate_bps=1200, hold_days=14))
PRICES = (9900, 12800, 15800, 19900, 19900, 25600, 29900, 39900)
WEEKDAY_WEIGHTS = (0.8, 0.75, 0.85, 0.9, 1.2, 1.9, 1.7)
"""Orders per weekday (Monday first), relative: weekends sell most."""
HOUR_WEIGHTS = (
    1,
    0.5,
    0.3,
    0.2,
    0.2,
    0.3,
    0.6,
    1.2,
    2,
    2.5,
    2.8,
    3,
    3.5,
    3,
    2.6,
    2.5,
    2.8,
    3.2,
    4,
    6,
    7.5,
    7,
    5,
    2.5,
)
"""Orders per local hour, relative: lunch, and above all the evening."""
SURNAMES = (
    "Chen",
    "Li",
    "Wang",
    "Zhang",
    "Liu",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Xu",
    "Sun",
    "Ma",
    "Hu",
)
GIVEN_NAMES = (
    "Wei",
    "Fang",
    "Min",
    "Jing",
    "Lei",
    "Yan",
    "Hao",
    "Xin",
    "Ying",
    "Jun",
    "Mei",
    "Tao",
    "Lan",
    "Rui",
)


@dataclass(frozen=True)
class DemoLoaded:
    campaign_name: str
    codes: list[tuple[str, referral_code_service.CodeLinks]]
    partner_code: tuple[str, str]
    admin_key: str


async def load_demo(
    session: AsyncSession,
    settings: Settings,
    *,
    subscriptions: Subscriptions | None = None,
    now: datetime | None = None,
) -> DemoLoaded:
    """Seed the demo and its history (idempotently) and create a fresh admin key for it.

    In the caller's transaction, with the history's outbox events handled and the periodic jobs
    caught up (``subscriptions``: the app's, ``growth.app.build_subscriptions``, by default).
    """
    from growth.app import build_subscriptions  # the composition root imports this module

    now = now or utc_now()
    for sku, name, value, stock in DEMO_PACKS:
        if sku not in {p.sku for p in await gift_pack_service.list_packs(session)}:
            await gift_pack_service.create_pack(
                session, sku=sku, name=name, value_amount=value, currency="CNY", stock_on_hand=stock
            )
    landing = f"{settings.base_url.rstrip('/')}/demo/shop?utm_source=referral"
    campaign = await session.scalar(select(Campaign).where(Campaign.name == DEMO_CAMPAIGN))
    if campaign is None:
        campaign = await campaign_service.create_campaign(
            session,
            default_currency="CNY",
            name=DEMO_CAMPAIGN,
            currency="CNY",
            status=CampaignStatus.active,
            landing_url=landing,
            hashtag="#春日好物",
            hold_days=14,
            budget_amount=1_000_000,
            per_referrer_cap=20,
        )
        for spec in DEMO_RULES:
            await reward_service.add_rule(session, campaign.id, spec)
    share_campaign = await session.scalar(select(Campaign).where(Campaign.name == DEMO_SHARE_CAMPAIGN))
    if share_campaign is None:
        share_campaign = await campaign_service.create_campaign(
            session,
            default_currency="CNY",
            name=DEMO_SHARE_CAMPAIGN,
            kind=CampaignKind.social_share,
            currency="CNY",
            status=CampaignStatus.active,
            landing_url=landing,
            hashtag="#美妆新品",
            hold_days=0,
        )
        await reward_service.add_rule(
            session, share_campaign.id, RuleSpec(Side.share, RewardType.free_sample, sku="SERUM-SAMPLE")
        )
    codes = []
    customer_codes: list[str] = []
    for external_id, email, name, locale, vanity in (
        *DEMO_CUSTOMERS,
        *((*c, None) for c in HISTORY_REFERRERS),
    ):
        await customer_service.upsert_customer(
            session, external_id=external_id, email=email, name=name, locale=locale
        )
        issued = await referral_code_service.issue_customer_code(
            session,
            customer_external_id=external_id,
            campaign_id=campaign.id,
            terms_lookup=campaign_service.get_terms,
            vanity_code=vanity,
        )
        code = issued.referral_code.code
        customer_codes.append(code)
        if external_id not in {c[0] for c in DEMO_CUSTOMERS}:
            continue  # the history's referrers: their share pages are not printed
        codes.append(
            (
                name,
                referral_code_service.links_for(
                    code, base_url=settings.base_url, secret=settings.resolved_secret()
                ),
            )
        )
    shared = await referral_code_service.issue_customer_code(
        session,
        customer_external_id=DEMO_CUSTOMERS[0][0],
        campaign_id=share_campaign.id,
        terms_lookup=campaign_service.get_terms,
    )
    codes.append(
        (
            f"{DEMO_CUSTOMERS[0][2]} (#美妆新品)",
            referral_code_service.links_for(
                shared.referral_code.code, base_url=settings.base_url, secret=settings.resolved_secret()
            ),
        )
    )
    codes_of = dict(zip([c[0] for c in (*DEMO_CUSTOMERS, *HISTORY_REFERRERS)], customer_codes, strict=True))
    for channel, (name, email), tier in (
        ("partner", DEMO_PARTNER, CreditTier.trusted),
        ("partner-lotus", HISTORY_PARTNER, None),
    ):
        partner = await session.scalar(select(Partner).where(Partner.email == email))
        if partner is None:
            partner = await partner_service.create_partner(
                session, name=name, email=email, now=now - timedelta(days=HISTORY_DAYS + 1)
            )
        issued = await partner_service.issue_partner_code(
            session, partner_id=partner.id, campaign_id=campaign.id, terms_lookup=campaign_service.get_terms
        )
        await _partner_plan(session, partner.id, tier=tier, now=now)
        codes_of[channel] = issued.referral_code.code
    await _demo_orders(session, code=customer_codes[0], now=now)
    await _history(session, settings, codes_of=codes_of, share_campaign_id=share_campaign.id, now=now)
    await _settle(session, settings, subscriptions or build_subscriptions(settings=settings), now=now)
    key = await auth_service.create_key(session, name="demo admin", role=Role.admin)
    return DemoLoaded(campaign.name, codes, (DEMO_PARTNER[0], codes_of["partner"]), key.secret)


@get("/demo/shop", include_in_schema=False)
async def demo_shop(request: Request, ref: str | None = None) -> Template:
    """Stands in for the merchant's landing page: shows what arrived with the visitor."""
    locale = negotiate_locale(request.headers.get("accept-language"))
    return Template(
        template_name="growth/demo/shop.html.j2",
        context={"ref": ref, "locale": locale, "html_lang": HTML_LANG[locale]},
    )


async def _exists(session: AsyncSession, external_id: str) -> bool:
    try:
        await order_service.get_order(session, external_id)
    except OrderNotFound:
        return False
    return True


async def _demo_orders(session: AsyncSession, *, code: str, now: datetime) -> None:
    """Alice's own order, then three friends ordering with her code (found again by external id)."""
    for n, (external_id, customer, email, name, amount, card) in enumerate(DEMO_ORDERS):
        if await _exists(session, external_id):
            continue  # placed (hours before an earlier load) already
        referred = customer != "demo-alice"
        intake = order_service.OrderIntake(
            external_id=external_id,
            customer_external_id=customer,
            customer_email=email,
            customer_name=name,
            amount=amount,
            currency="CNY",
            placed_at=now.replace(microsecond=0) - timedelta(hours=len(DEMO_ORDERS) - n),
            source="demo",
            hints=Hints(referral_code=code) if referred else Hints(),
            payment_fingerprint=card,
        )
        await order_service.ingest_order(
            session, intake, terms_lookup=campaign_service.get_terms, lead_lookup=no_leads, now=now
        )


async def _partner_plan(
    session: AsyncSession, partner_id: UUID, *, tier: CreditTier | None, now: datetime
) -> None:
    """The partner earns 12% of the orders it brings, since before the history starts (Northwind, a
    trusted partner, after a 14-day hold; Lotus, new, after 60 days and up to its cap)."""
    since = now - timedelta(days=HISTORY_DAYS + 1)
    if await commission_service.current_plan(session, partner_id, since) is not None:
        return
    name, spec = DEMO_PLAN
    plan = next((p for p, _ in await commission_service.list_plans(session) if p.name == name), None)
    if plan is None:
        plan = await commission_service.create_plan(session, name=name, spec=spec)
    await commission_service.assign_plan(session, partner_id=partner_id, plan_id=plan.id, now=since)
    if tier is None:
        return
    await partner_service.change_tier(
        session,
        partner_id,
        tier=tier,
        reason="demo: a long-standing partner",
        actor=audit_service.cli_actor("demo"),
        now=since,
    )


@dataclass(frozen=True, slots=True)
class _Order:
    external_id: str
    customer: tuple[str, str, str]
    """External id, e-mail, name."""
    amount: int
    placed_at: datetime
    channel: str | None
    """Whose code brought it (a customer's external id, or "partner…"); None: not referred."""


def _placed_times(rng: random.Random, *, now: datetime, zone: ZoneInfo) -> list[datetime]:
    """When the history's orders were placed: more each week, on weekends and in the evening (local)."""
    times = []
    today = now.astimezone(zone).date()
    for days_ago in range(HISTORY_DAYS, -1, -1):
        day = today - timedelta(days=days_ago)
        growth = 0.75 + 0.5 * (HISTORY_DAYS - days_ago) / HISTORY_DAYS
        expected = 2.8 * growth * WEEKDAY_WEIGHTS[day.weekday()]
        for _ in range(max(0, round(rng.gauss(expected, 1.0)))):
            hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
            local = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=zone)
            if (placed := local.astimezone(UTC)) < now - timedelta(minutes=5):
                times.append(placed)
    return sorted(times)


def _history_orders(rng: random.Random, *, now: datetime, zone: ZoneInfo) -> list[_Order]:
    """Nearly 200 orders, a third of them referred; friends are new customers, others often come back."""
    orders: list[_Order] = []
    regulars: list[tuple[str, str, str]] = []
    channels, weights = zip(*HISTORY_CHANNELS, strict=True)
    for n, placed_at in enumerate(_placed_times(rng, now=now, zone=zone), start=1):
        surname, given = rng.choice(SURNAMES), rng.choice(GIVEN_NAMES)
        # A few friends in the last fortnight sign up with a throwaway address: the firewall holds those.
        domain = (
            "mailinator.com"
            if now - placed_at < timedelta(days=14) and rng.random() < 0.08
            else "example.com"
        )
        new = (f"demo-h{n:04d}", f"{given.lower()}.{surname.lower()}{n}@{domain}", f"{given} {surname}")
        channel = rng.choices(channels, weights=weights)[0] if rng.random() < 0.33 else None
        if channel is None and regulars and rng.random() < 0.3:
            customer = rng.choice(regulars)
        else:
            customer = new
            if channel is None and domain == "example.com":
                regulars.append(customer)
        orders.append(_Order(f"DEMO-H{n:04d}", customer, rng.choice(PRICES), placed_at, channel))
    return orders


def _lifecycle(rng: random.Random, order: _Order, *, now: datetime) -> list[tuple[datetime, OrderEventType]]:
    """What the shop reported since: paid within hours, shipped, closed after the 7-day return window;
    a few never paid (cancelled) or refunded."""
    placed, roll = order.placed_at, rng.random()
    if roll < 0.03:
        return [(placed + timedelta(days=2), OrderEventType.cancelled)]
    events = [(placed + timedelta(minutes=rng.randrange(2, 180)), OrderEventType.paid)]
    shipped = placed + timedelta(hours=rng.randrange(20, 52))
    if order.channel is not None:  # the shop reports every shipment; the demo keeps the referred ones'
        events.append((shipped, OrderEventType.fulfilled))
    if roll < 0.07:
        events.append((placed + timedelta(days=rng.randrange(3, 7)), OrderEventType.refunded))
    else:
        events.append((shipped + timedelta(days=7, hours=rng.randrange(1, 12)), OrderEventType.closed))
    return [(at, kind) for at, kind in events if at < now]


def _clicks(
    rng: random.Random, orders: list[_Order], code_ids: dict[str, tuple[UUID, UUID]], *, now: datetime
) -> tuple[list[dict[str, Any]], dict[str, UUID]]:
    """Friends opening the links: the click each friend's order came with (the shop reports its id),
    earlier opens, and many that bought nothing. Partners' clients mostly type the code."""
    rows: list[tuple[str, datetime, UUID]] = []
    converting: dict[str, UUID] = {}
    for order in orders:
        if order.channel is None or order.channel.startswith("partner"):
            continue
        converting[order.external_id] = click_id = uuid7()
        rows.append((order.channel, order.placed_at - timedelta(minutes=rng.randrange(3, 240)), click_id))
        for _ in range(rng.randrange(0, 3)):
            at = order.placed_at - timedelta(minutes=rng.randrange(240, 3 * 24 * 60))
            rows.append((order.channel, at, uuid7()))
    channels, weights = zip(*HISTORY_CHANNELS, strict=True)
    for _ in range(len(rows) * 2):
        at = now - timedelta(minutes=rng.randrange(10, HISTORY_DAYS * 24 * 60))
        rows.append((rng.choices(channels, weights=weights)[0], at, uuid7()))
    start = now - timedelta(days=HISTORY_DAYS + 1)
    user_agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) MicroMessenger/8.0.47"
    return [
        {
            "id": click_id,
            "referral_code_id": code_ids[channel][0],
            "campaign_id": code_ids[channel][1],
            "clicked_at": max(at, start),
            "user_agent": user_agent,
        }
        for channel, at, click_id in rows
    ], converting


async def _history(
    session: AsyncSession,
    settings: Settings,
    *,
    codes_of: dict[str, str],
    share_campaign_id: UUID,
    now: datetime,
) -> None:
    """Eight weeks of orders, their lifecycle, clicks and posts, all at once (skipped when loaded before)."""
    if await _exists(session, "DEMO-H0001"):
        return
    rng = random.Random(HISTORY_SEED)
    orders = _history_orders(rng, now=now, zone=ZoneInfo(settings.timezone))
    code_ids = {}
    for who, code in codes_of.items():
        resolved = await referral_code_service.resolve_code(
            session, code, terms_lookup=campaign_service.get_terms
        )
        code_ids[who] = (resolved.referral_code.id, resolved.referral_code.campaign_id)
    clicks, converting = _clicks(rng, orders, code_ids, now=now)
    await click_service.record_clicks(session, clicks)
    events: list[tuple[datetime, str, OrderEventType]] = []
    for order in orders:
        external_id, email, name = order.customer
        intake = order_service.OrderIntake(
            external_id=order.external_id,
            customer_external_id=external_id,
            customer_email=email,
            customer_name=name,
            amount=order.amount,
            currency="CNY",
            placed_at=order.placed_at,
            source="demo",
            hints=Hints(
                referral_code=codes_of[order.channel],
                click_ids=(converting[order.external_id],) if order.external_id in converting else (),
            )
            if order.channel
            else Hints(),
        )
        # The shop reports an order a minute after it is placed: that is when it is attributed.
        reported = min(order.placed_at + timedelta(minutes=1), now)
        await order_service.ingest_order(
            session, intake, terms_lookup=campaign_service.get_terms, lead_lookup=no_leads, now=reported
        )
        events += [(at, order.external_id, kind) for at, kind in _lifecycle(rng, order, now=now)]
    for at, external_id, kind in sorted(events):
        event = order_service.OrderEventIn(kind, at, "demo", event_key=f"demo-{kind.value}-{external_id}")
        await order_service.apply_event_by_external_id(session, external_id, event, now=at)
    await _posts(session, settings, share_campaign_id, now=now)


async def _posts(session: AsyncSession, settings: Settings, campaign_id: UUID, *, now: datetime) -> None:
    """Customers post about the new serum; marketing approved most posts (each earns a sample)."""
    secret = settings.resolved_secret()
    for customer, url, days_ago, approve in HISTORY_POSTS:
        issued = await referral_code_service.issue_customer_code(
            session,
            customer_external_id=customer,
            campaign_id=campaign_id,
            terms_lookup=campaign_service.get_terms,
        )
        token = referral_code_service.links_for(
            issued.referral_code.code, base_url=settings.base_url, secret=secret
        ).share_url.rsplit("/", 1)[1]
        at = now - timedelta(days=days_ago)
        view = await share_service.submit_post(
            session, token=token, url=url, secret=secret, platforms=settings.share_platforms, now=at
        )
        if approve:
            await share_service.decide_submission(
                session,
                view.submission.id,
                Decision.approve,
                reviewer=audit_service.cli_actor("demo"),
                now=at + timedelta(hours=5),
            )


async def _settle(
    session: AsyncSession, settings: Settings, subscriptions: Subscriptions, *, now: datetime
) -> None:
    """What the outbox worker and the periodic jobs would have done since the history began: handle its
    events, approve rewards and commissions day by day, then raise today's delay alerts."""
    from growth.app import check_delays  # the composition root imports this module: import at call time

    await dispatch_in_transaction(session, subscriptions)
    tiers = partner_service.tier_policy(settings)
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    # The jobs ran each night at 02:00 (not at this moment of each day: what they approved then falls
    # due again at a fixed time, so a second load a minute later finds nothing new).
    nights = [
        datetime.combine(today - timedelta(days=n), time(2), tzinfo=ZoneInfo(settings.timezone))
        for n in range(HISTORY_DAYS, -1, -1)
    ]
    for at in [*(night for night in nights if night < now), now]:
        await reward_service.approve_due(session, now=at)
        await commission_service.approve_due(session, now=at, tiers=tiers)
    await check_delays(session, now, settings=settings)
    await dispatch_in_transaction(session, subscriptions)
