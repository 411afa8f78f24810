"""What ``growth`` needs from ``campaigns`` and ``payouts``, without importing them.

``campaigns`` owns campaigns and coupons, ``payouts`` owns partners' leads; the app factory
hands ``growth`` lookup functions returning these plain facts (dependency inversion), so links,
codes and attribution can follow their rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
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


CampaignTermsLookup = Callable[[AsyncSession, UUID], Awaitable[CampaignTerms | None]]


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
