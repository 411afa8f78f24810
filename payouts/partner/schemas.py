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
    company: text(max_length=200) | None = None  # type: ignore[valid-type]
    website: text(max_length=500) | None = None  # type: ignore[valid-type]
    country: text(max_length=2) | None = None  # type: ignore[valid-type]
    """ISO 3166-1 alpha-2 (``CN``, ``DE``); case does not matter."""


class PartnerApplicationCreate(msgspec.Struct, forbid_unknown_fields=True):
    """A public application to become a partner (no key)."""

    name: text(min_length=1, max_length=200)  # type: ignore[valid-type]
    email: text(min_length=3, max_length=320)  # type: ignore[valid-type]
    company: text(max_length=200) | None = None  # type: ignore[valid-type]
    website: text(max_length=500) | None = None  # type: ignore[valid-type]
    country: text(max_length=2) | None = None  # type: ignore[valid-type]
    message: text(max_length=2000) | None = None  # type: ignore[valid-type]


class PartnerApplicationReceipt(msgspec.Struct):
    """The same answer for a new application and a repeated one: the public learns nothing about partners."""

    status: str
    message: str


class PartnerStatusChange(msgspec.Struct, forbid_unknown_fields=True):
    status: PartnerStatus
    reason: text(max_length=500) | None = None  # type: ignore[valid-type]
    """Why; required to suspend or close."""


class PartnerCodeIssue(msgspec.Struct, forbid_unknown_fields=True):
    campaign_id: UUID
    vanity_code: Annotated[str, msgspec.Meta(min_length=3, max_length=32)] | None = None


class PartnerRead(msgspec.Struct):
    id: UUID
    name: str
    email: str
    status: PartnerStatus
    created_at: datetime
    company: str | None = None
    website: str | None = None
    country: str | None = None
    application_message: str | None = None
    status_reason: str | None = None
    status_changed_at: datetime | None = None
    approved_at: datetime | None = None


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
    revoked_at: datetime | None = None
    """Set while the code is revoked (its partner suspended or closed): its link no longer earns."""
