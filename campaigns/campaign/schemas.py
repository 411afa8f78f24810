from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from campaigns.campaign.rules import AttributionModel, CampaignKind, CampaignStatus
from growth.core.text import text

Name = text(min_length=1, max_length=200)
Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, upper case")]
Hashtag = Annotated[str, msgspec.Meta(min_length=1, max_length=101)]
WindowDays = Annotated[int, msgspec.Meta(ge=1, le=365)]
HoldDays = Annotated[
    int, msgspec.Meta(ge=0, le=365, description="Days after an order closes before its rewards are approved")
]
MinorUnits = Annotated[
    int, msgspec.Meta(ge=0, le=100_000_000_000, description="Minor units of the campaign's currency")
]
Cap = Annotated[int, msgspec.Meta(ge=1, le=1_000_000, description="Most referred-order rewards per referrer")]
Locale = Annotated[str, msgspec.Meta(pattern=r"^(en|zh_Hans)$")]
RiskOverrides = Annotated[
    dict[str, Any],
    msgspec.Meta(
        description="The risk firewall's rules for this campaign over the program's: a rule's code "
        'with "off", "hold" or "reject", or a threshold\'s name with a whole number (README "Risk '
        'firewall rules"), e.g. {"disposable_email": "reject", "velocity_max_orders": 20}. On update '
        "the object replaces the campaign's overrides; {} returns to the program's settings."
    ),
]


class CampaignCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    landing_url: Url
    kind: CampaignKind = CampaignKind.referral
    status: CampaignStatus = CampaignStatus.draft
    currency: Currency | None = None
    hashtag: Hashtag | None = None
    attribution_window_days: WindowDays = 30
    attribution_model: AttributionModel = AttributionModel.last_click
    new_customers_only: bool = True
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    hold_days: HoldDays = 14
    min_order_amount: MinorUnits = 0
    budget_amount: MinorUnits | None = None
    per_referrer_cap: Cap | None = None
    locale: Locale | None = None
    risk: RiskOverrides = {}


class CampaignUpdate(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Fields to change; absent fields stay, ``"hashtag": null`` removes the hashtag."""

    name: Name | UnsetType = UNSET
    landing_url: Url | UnsetType = UNSET
    status: CampaignStatus | UnsetType = UNSET
    hashtag: Hashtag | UnsetType | None = UNSET
    attribution_window_days: WindowDays | UnsetType = UNSET
    attribution_model: AttributionModel | UnsetType = UNSET
    new_customers_only: bool | UnsetType = UNSET
    starts_at: datetime | UnsetType | None = UNSET
    ends_at: datetime | UnsetType | None = UNSET
    hold_days: HoldDays | UnsetType = UNSET
    min_order_amount: MinorUnits | UnsetType = UNSET
    budget_amount: MinorUnits | UnsetType | None = UNSET
    per_referrer_cap: Cap | UnsetType | None = UNSET
    locale: Locale | UnsetType | None = UNSET
    risk: RiskOverrides | UnsetType = UNSET


class CampaignRead(msgspec.Struct):
    id: UUID
    name: str
    kind: CampaignKind
    status: CampaignStatus
    landing_url: str
    currency: str
    hashtag: str | None
    attribution_window_days: int
    attribution_model: AttributionModel
    new_customers_only: bool
    starts_at: datetime | None
    ends_at: datetime | None
    hold_days: int
    min_order_amount: int
    budget_amount: int | None
    budget_spent: int
    """Value of the rewards granted and not voided, in minor units."""
    per_referrer_cap: int | None
    locale: str | None
    codes_issued: int
    created_at: datetime
    updated_at: datetime
    risk: dict[str, str | int] = {}
    """The campaign's own risk settings (over the program's)."""
    risk_effective: dict[str, str | int] = {}
    """Every risk rule's action and threshold the campaign runs with: the program's, then its own."""
