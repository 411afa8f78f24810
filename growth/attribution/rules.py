"""Attribution: who, if anyone, brought an order, and why. Pure: facts in, a decision out.

Precedence: a partner's registered lead, a coupon tied to a referrer, an explicit referral code,
a click within the campaign's attribution window; otherwise nobody. The first candidate that
passes every rule wins; every candidate that fails is named in the explanation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from growth.core.ports import CampaignTerms, LeadFacts


class Method(StrEnum):
    lead = "lead"
    coupon = "coupon"
    referral_code = "referral_code"
    click = "click"
    subscription = "subscription"
    none = "none"


@dataclass(frozen=True, slots=True)
class OrderFacts:
    customer_id: UUID
    email_key: str | None
    currency: str
    placed_at: datetime
    has_earlier_paid_order: bool


@dataclass(frozen=True, slots=True)
class CodeCandidate:
    """A referral code that came with the order (as code, coupon, or through a click)."""

    referral_code_id: UUID
    code: str
    campaign: CampaignTerms
    customer_id: UUID | None
    partner_id: UUID | None
    referrer_label: str
    referrer_email_key: str | None = None
    is_revoked: bool = False
    is_referrer_deleted: bool = False
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ClickCandidate:
    click_id: UUID
    clicked_at: datetime
    code: CodeCandidate


@dataclass(frozen=True, slots=True)
class Inherited:
    """The attribution of the first order of a subscription, for its renewals."""

    referral_code_id: UUID | None
    campaign_id: UUID | None
    customer_id: UUID | None
    partner_id: UUID | None
    referrer_label: str


@dataclass(frozen=True, slots=True)
class Decision:
    method: Method
    explanation: str
    referral_code_id: UUID | None = None
    campaign_id: UUID | None = None
    customer_id: UUID | None = None
    partner_id: UUID | None = None
    lead_id: UUID | None = None
    click_id: UUID | None = None
    rejected: list[str] = field(default_factory=list)

    @property
    def is_attributed(self) -> bool:
        return self.method is not Method.none


def code_problem(order: OrderFacts, candidate: CodeCandidate) -> str | None:
    """Why this code cannot claim this order, or None."""
    campaign = candidate.campaign
    if candidate.is_revoked:
        return f"code {candidate.code} was revoked"
    if candidate.is_referrer_deleted:
        return f"the referrer of code {candidate.code} was deleted"
    if candidate.expires_at is not None and order.placed_at >= candidate.expires_at:
        return f"code {candidate.code} expired on {candidate.expires_at:%Y-%m-%d %H:%M} UTC"
    if campaign.status != "active":
        return f"campaign '{campaign.name}' of code {candidate.code} is {campaign.status}"
    if campaign.currency != order.currency:
        return f"the order is in {order.currency} but campaign '{campaign.name}' runs in {campaign.currency}"
    if candidate.customer_id is not None and (
        candidate.customer_id == order.customer_id
        or (order.email_key is not None and candidate.referrer_email_key == order.email_key)
    ):
        return f"code {candidate.code} is the customer's own (self-referral)"
    if candidate.customer_id is not None and campaign.new_customers_only and order.has_earlier_paid_order:
        return f"the customer had paid before; campaign '{campaign.name}' rewards new customers only"
    return None


def lead_problem(order: OrderFacts, lead: LeadFacts) -> str | None:
    """Why a partner's lead cannot claim this order, or None."""
    if order.placed_at < lead.registered_at:
        return f"lead {lead.reference} was registered after the order was placed"
    if order.placed_at >= lead.expires_at:
        return f"lead {lead.reference} expired on {lead.expires_at:%Y-%m-%d} UTC"
    return None


def click_problem(order: OrderFacts, click: ClickCandidate) -> str | None:
    """Why a click cannot claim this order, or None: the code's rules, then the window."""
    if click.clicked_at > order.placed_at:
        return f"click {click.click_id} came after the order"
    window = timedelta(days=click.code.campaign.attribution_window_days)
    if order.placed_at - click.clicked_at > window:
        return f"click {click.click_id} is older than the {window.days}-day attribution window"
    return code_problem(order, click.code)


def pick_click(clicks: list[ClickCandidate]) -> ClickCandidate:
    """Last click wins, unless the last click's campaign says first click (within that campaign)."""
    ordered = sorted(clicks, key=lambda c: (c.clicked_at, c.click_id))
    last = ordered[-1]
    if last.code.campaign.first_click:
        return next(c for c in ordered if c.code.campaign.id == last.code.campaign.id)
    return last


def _from_code(
    method: Method, candidate: CodeCandidate, how: str, rejected: list[str], click_id: UUID | None = None
) -> Decision:
    explanation = f"Attributed to {candidate.referrer_label} by {how} (campaign '{candidate.campaign.name}')."
    if rejected:
        explanation += " Not used: " + "; ".join(rejected) + "."
    return Decision(
        method,
        explanation,
        referral_code_id=candidate.referral_code_id,
        campaign_id=candidate.campaign.id,
        customer_id=candidate.customer_id,
        partner_id=candidate.partner_id,
        click_id=click_id,
        rejected=rejected,
    )


def attribute(
    order: OrderFacts,
    *,
    lead: LeadFacts | None = None,
    coupon: CodeCandidate | None = None,
    code: CodeCandidate | None = None,
    clicks: tuple[ClickCandidate, ...] = (),
    inherited: Inherited | None = None,
    unknown_clicks: tuple[str, ...] = (),
) -> Decision:
    """Decide who brought ``order``, in the order of precedence, explaining every refusal.

    ``unknown_clicks`` are click ids the shop sent that match no recorded click.
    """
    if inherited is not None:
        return Decision(
            Method.subscription,
            f"Renewal of a subscription first attributed to {inherited.referrer_label}.",
            referral_code_id=inherited.referral_code_id,
            campaign_id=inherited.campaign_id,
            customer_id=inherited.customer_id,
            partner_id=inherited.partner_id,
        )
    rejected: list[str] = []
    if lead is not None:
        if (problem := lead_problem(order, lead)) is None:
            explanation = (
                f"Attributed to partner {lead.partner_id} by their registered lead {lead.reference}."
            )
            return Decision(Method.lead, explanation, partner_id=lead.partner_id, lead_id=lead.id)
        rejected.append(problem)
    if coupon is not None:
        if (problem := code_problem(order, coupon)) is None:
            return _from_code(Method.coupon, coupon, f"coupon code {coupon.code}", rejected)
        rejected.append(problem)
    if code is not None:
        if (problem := code_problem(order, code)) is None:
            return _from_code(Method.referral_code, code, f"referral code {code.code}", rejected)
        rejected.append(problem)
    rejected.extend(f"click {click_id} is unknown" for click_id in unknown_clicks)
    valid = []
    for click in clicks:
        if (problem := click_problem(order, click)) is None:
            valid.append(click)
        else:
            rejected.append(problem)
    if valid:
        chosen = pick_click(valid)
        how = f"a click on code {chosen.code.code} at {chosen.clicked_at:%Y-%m-%d %H:%M} UTC"
        return _from_code(Method.click, chosen.code, how, rejected, click_id=chosen.click_id)
    if rejected:
        return Decision(Method.none, "Not attributed: " + "; ".join(rejected) + ".", rejected=rejected)
    return Decision(
        Method.none, "Not attributed: no lead, coupon, referral code or click came with the order."
    )
