"""What ``growth`` needs to know of a campaign, without importing the ``campaigns`` package.

``campaigns`` owns campaigns; the app factory hands ``growth`` a lookup function returning
these terms (dependency inversion), so links and codes can follow a campaign's rules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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


CampaignTermsLookup = Callable[[AsyncSession, UUID], Awaitable[CampaignTerms | None]]
