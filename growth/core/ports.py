"""What ``growth`` needs from ``campaigns`` and ``payouts``, without importing them.

``campaigns`` owns campaigns and coupons, ``payouts`` owns partners' leads; the app factory
hands ``growth`` lookup functions returning these plain facts (dependency inversion), so links,
codes and attribution can follow their rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True, slots=True)
class CampaignTerms:
    id: UUID
    name: str
    landing_url: str
    currency: str
    hashtag: str | None
    attribution_window_days: int
    accepts_clicks: bool
    """True while the campaign runs: links attribute and record clicks."""
    issues_codes: bool
    """True until the campaign ends: new referral codes may be issued."""
    status: str = "active"
    """``draft``, ``active``, ``paused`` or ``ended``: only an active campaign attributes orders."""
    new_customers_only: bool = True
    """Customers with an earlier paid order are not referees (referral campaigns)."""
    first_click: bool = False
    """Attribute to the first click in the window instead of the last."""
    locale: str | None = None
    """The campaign's page language (``en``, ``zh_Hans``); None: the visitor's."""
    kind: str = "referral"
    """``referral``, ``social_share`` or ``partner``: social-share pages take post submissions."""
    risk_overrides: Mapping[str, object] = field(default_factory=dict)
    """The risk firewall's rules and thresholds for this campaign over the program's defaults
    (``growth.risk.rules.Thresholds.from_overrides``)."""
    accepts_clicks_changes_at: datetime | None = None
    """When ``accepts_clicks`` flips by itself (the period starts or ends); None: only a change can flip it.
    Caches of the terms expire then."""


CampaignTermsLookup = Callable[[AsyncSession, UUID], Awaitable[CampaignTerms | None]]


@dataclass(frozen=True, slots=True)
class EstimateLine:
    sku: str
    category: str | None
    amount: int
    """quantity x unit amount, minor units."""


@dataclass(frozen=True, slots=True)
class EstimateFacts:
    """An attributed order as the estimate of what it would grant needs it (the margin rule)."""

    order_id: UUID
    amount: int
    """Minor units of ``currency``."""
    currency: str
    placed_at: datetime
    method: str
    """How it was attributed (``coupon``, ``click``, ``lead``, ...)."""
    campaign_id: UUID | None
    customer_referrer_id: UUID | None
    partner_id: UUID | None
    lines: tuple[EstimateLine, ...] = ()
    at: datetime | None = None
    """When the estimate is made (the commission plan in force then); None: ``placed_at``."""


RewardsEstimate = Callable[[AsyncSession, EstimateFacts], Awaitable[int]]
"""``(session, order)`` -> the rewards and commissions the order would grant, in minor units of its
currency (the app factory sums ``campaigns``' reward rules and ``payouts``' commission plan)."""


async def no_rewards_estimate(_session: AsyncSession, _order: EstimateFacts) -> int:
    """The estimate when no package grants rewards or commissions."""
    return 0


@dataclass(frozen=True, slots=True)
class LeadFacts:
    """A partner's registration of a prospect, as attribution needs it."""

    id: UUID
    partner_id: UUID
    registered_at: datetime
    expires_at: datetime
    reference: str


LeadLookup = Callable[[AsyncSession, str | None, str | None], Awaitable[LeadFacts | None]]
"""``(session, lead_reference, customer_email_key)`` -> the partner's valid lead, if any."""


async def no_leads(
    _session: AsyncSession, _reference: str | None, _email_key: str | None
) -> LeadFacts | None:
    """The lead lookup before partners can register leads."""
    return None


@dataclass(frozen=True, slots=True)
class SubmissionFacts:
    """A post a customer submitted for a social-share campaign, as their share page shows it."""

    url: str
    platform: str
    status: str
    """``pending``, ``approved`` or ``rejected``."""
    reason: str | None
    """Why it was rejected; None otherwise."""
    submitted_at: datetime
    reward_status: str | None = None
    """The status of the reward its approval earned (``approved``, ``pending``, ``not_granted``...)."""


ShareSubmissionsLookup = Callable[[AsyncSession, UUID], Awaitable[list[SubmissionFacts]]]
"""``(session, referral_code_id)`` -> the posts submitted with that code, newest first."""


async def no_submissions(_session: AsyncSession, _referral_code_id: UUID) -> list[SubmissionFacts]:
    """The submissions lookup when no package takes hashtag posts."""
    return []


@dataclass(frozen=True, slots=True)
class RewardFacts:
    """A reward as the customer's share page shows it (the template formats, never decides)."""

    id: UUID
    side: str
    """``referee`` (welcome), ``referrer``, ``milestone`` or ``share``."""
    reward_type: str
    status: str
    amount: int
    """Minor units of ``currency`` (fixed value, credit, or the pack's value)."""
    currency: str
    rate_bps: int | None
    coupon_code: str | None
    sku: str | None
    reason: str | None
    expected_at: datetime | None
    """When the next stage is expected (the end of the hold for pending rewards), UTC."""
    referee_customer_id: UUID | None
    """The friend whose order earned it (referrer rewards)."""
    needs_address: bool
    """A pack waits for the customer to confirm the shipping address."""
    item_name: str | None = None
    """The gift pack's or sample's name."""
    is_in_review: bool = False
    """The earning order is held by the risk review: the page says "in review", never why."""
    is_waiting_for_stock: bool = False
    """A pack out of stock, waiting for the restock."""
    store_credit_offer: int | None = None
    """A pack waiting for its restock: the store credit to take now instead (minor units of ``currency``)."""


RewardsLookup = Callable[[AsyncSession, UUID, UUID], Awaitable[list[RewardFacts]]]
"""``(session, customer_id, campaign_id)`` -> the customer's rewards in that campaign, newest first."""


async def no_rewards(_session: AsyncSession, _customer_id: UUID, _campaign_id: UUID) -> list[RewardFacts]:
    """The rewards lookup when no package grants rewards."""
    return []


@dataclass(frozen=True, slots=True)
class CostQuery:
    """What the analytics ask ``campaigns`` and ``payouts`` for: costs and shares in ``[since, until)``."""

    since: datetime
    until: datetime
    campaign_id: UUID | None
    referred_orders: Any
    """A SELECT of the ids of the referred orders placed in the range (the funnel's rewarded stage)."""
    campaign_orders: Any | None
    """A SELECT of the ids of the orders attributed to ``campaign_id`` (commissions); None: all."""


@dataclass(frozen=True, slots=True)
class CostLine:
    channel: str
    """``referral``, ``social_share`` or ``partner``."""
    currency: str
    amount: int
    """Minor units of ``currency``."""


@dataclass(frozen=True, slots=True)
class GrowthCosts:
    """Rewards and commissions accrued in a range, the referred orders rewarded, posts submitted."""

    rewards: tuple[CostLine, ...] = ()
    commissions: tuple[CostLine, ...] = ()
    rewarded_orders: int = 0
    share_submissions: int = 0
    share_approvals: int = 0


GrowthCostsLookup = Callable[[AsyncSession, CostQuery], Awaitable[GrowthCosts]]
"""``(session, query)`` -> the costs (the app factory asks ``campaigns`` and ``payouts``)."""


async def no_costs(_session: AsyncSession, _query: CostQuery) -> GrowthCosts:
    """The costs when no package grants rewards or commissions."""
    return GrowthCosts()


PartnerNamesLookup = Callable[[AsyncSession, list[UUID]], Awaitable[dict[UUID, str]]]
"""``(session, partner_ids)`` -> the partners' names (top partners)."""


async def no_partner_names(_session: AsyncSession, _ids: list[UUID]) -> dict[UUID, str]:
    """The partner names when no package has partners."""
    return {}


CampaignChoicesLookup = Callable[[AsyncSession], Awaitable[list[tuple[UUID, str]]]]
"""``(session)`` -> every campaign's id and name, newest first (the dashboard's campaign filter)."""


async def no_campaign_choices(_session: AsyncSession) -> list[tuple[UUID, str]]:
    """The campaign choices when no package has campaigns."""
    return []
