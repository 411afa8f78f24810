from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from growth.core.text import text
from payouts.partner.rules import PartnerStatus


class PartnerCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: text(min_length=1, max_length=200)  # type: ignore[valid-type]
    email: text(min_length=3, max_length=320)  # type: ignore[valid-type]
    status: PartnerStatus = PartnerStatus.approved


class PartnerCodeIssue(msgspec.Struct, forbid_unknown_fields=True):
    campaign_id: UUID
    vanity_code: Annotated[str, msgspec.Meta(min_length=3, max_length=32)] | None = None


class PartnerRead(msgspec.Struct):
    id: UUID
    name: str
    email: str
    status: PartnerStatus
    created_at: datetime


class PartnerCodeRead(msgspec.Struct):
    """A partner's referral code and its links (partners get no customer share page)."""

    id: UUID
    code: str
    campaign_id: UUID
    partner_id: UUID
    link: str
    qr_png_url: str
    qr_svg_url: str
    created_at: datetime
