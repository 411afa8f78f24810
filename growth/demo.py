"""The demo: one campaign, two customers with codes, one partner, a few referred orders (two of
them for the review queue), and a shop page to land on.

A composition root like ``growth/app.py`` (it reaches into ``campaigns`` and ``payouts`` to seed
them). Loading twice changes nothing: everything is found by its external id or name first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from litestar import Request, get
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from campaigns.campaign.models import Campaign
from campaigns.campaign.rules import CampaignKind, CampaignStatus
from campaigns.gift_pack import service as gift_pack_service
from campaigns.reward import service as reward_service
from campaigns.reward.rules import OutOfStock, RewardType, RuleSpec, Side
from growth.attribution.service import Hints
from growth.core.auth import service as auth_service
from growth.core.auth.rules import Role
from growth.core.i18n import HTML_LANG, negotiate_locale
from growth.core.ports import no_leads
from growth.core.time import utc_now
from growth.customer import service as customer_service
from growth.order import service as order_service
from growth.referral_code import service as referral_code_service
from growth.settings import Settings
from payouts.partner import service as partner_service
from payouts.partner.models import Partner

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
ALICE_CARD = "demoCardAlice001"
DEMO_ORDERS = (
    # (external id, customer, e-mail, name, amount, card): what the risk firewall then decides.
    ("DEMO-1001", "demo-alice", "alice@example.com", "Alice Chen", 12800, ALICE_CARD),  # her own order
    ("DEMO-1002", "demo-carol", "carol@example.com", "Carol Wang", 25600, None),  # allowed
    ("DEMO-1003", "demo-dan", "dan@mailinator.com", "Dan Zhou", 9900, None),  # held: disposable e-mail
    ("DEMO-1004", "demo-erin", "erin@example.com", "Erin Xu", 45000, ALICE_CARD),  # rejected: Alice's card
)


@dataclass(frozen=True)
class DemoLoaded:
    campaign_name: str
    codes: list[tuple[str, referral_code_service.CodeLinks]]
    partner_code: tuple[str, str]
    admin_key: str


async def load_demo(session: AsyncSession, settings: Settings) -> DemoLoaded:
    """Seed the demo (idempotently) and create a fresh admin key for it."""
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
    for external_id, email, name, locale, vanity in DEMO_CUSTOMERS:
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
    partner = await session.scalar(select(Partner).where(Partner.email == DEMO_PARTNER[1]))
    if partner is None:
        partner = await partner_service.create_partner(session, name=DEMO_PARTNER[0], email=DEMO_PARTNER[1])
    partner_code = await partner_service.issue_partner_code(
        session, partner_id=partner.id, campaign_id=campaign.id, terms_lookup=campaign_service.get_terms
    )
    await _demo_orders(session, code=customer_codes[0])
    key = await auth_service.create_key(session, name="demo admin", role=Role.admin)
    return DemoLoaded(campaign.name, codes, (partner.name, partner_code.referral_code.code), key.secret)


@get("/demo/shop", include_in_schema=False)
async def demo_shop(request: Request, ref: str | None = None) -> Template:
    """Stands in for the merchant's landing page: shows what arrived with the visitor."""
    locale = negotiate_locale(request.headers.get("accept-language"))
    return Template(
        template_name="growth/demo/shop.html.j2",
        context={"ref": ref, "locale": locale, "html_lang": HTML_LANG[locale]},
    )


async def _demo_orders(session: AsyncSession, *, code: str) -> None:
    """Alice's own order, then three friends ordering with her code (found again by external id)."""
    now = utc_now()
    for n, (external_id, customer, email, name, amount, card) in enumerate(DEMO_ORDERS):
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
