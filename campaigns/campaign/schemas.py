from __future__ import annotations

from datetime import datetime
from typing import Annotated
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


class CampaignUpdate(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Fields to change; absent fields stay, ``"hashtag": null`` removes the hashtag."""

    name: Name | UnsetType = UNSET
    landing_url: Url | UnsetType = UNSET
    status: CampaignStatus | UnsetType = UNSET
    hashtag: Hashtag | UnsetType | None = UNSET
    attribution_window_days: WindowDays | UnsetType = UNSET
    attribution_model: AttributionModel | UnsetType = UNSET
    new_customers_only: bool | UnsetType = UNSET


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
    codes_issued: int
    created_at: datetime
    updated_at: datetime
