from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec

from growth.core.text import text
from payouts.partner.rules import CreditTier, PartnerStatus


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
    credit_tier: CreditTier = CreditTier.new
    """Sets the commission hold and the cap on payable commission."""
    credit_tier_reason: str | None = None
    credit_tier_changed_at: datetime | None = None
    is_identity_verified: bool = False
    compliance: PartnerComplianceRead | None = None
    """Finance's view of a partner (``GET /api/partners/{id}``): the payout gates and credit."""


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


class PartnerTierChange(msgspec.Struct, forbid_unknown_fields=True):
    tier: CreditTier
    """``new``, ``standard`` or ``trusted``."""
    reason: text(min_length=1, max_length=500)  # type: ignore[valid-type]
    """Why the partner gets this tier (kept on the partner and in the audit log)."""


class VerificationChange(msgspec.Struct, forbid_unknown_fields=True):
    is_verified: bool
    """True: finance checked it now; false: finance no longer vouches for it."""


class CreditLineRead(msgspec.Struct):
    """A partner's unpaid commission in one currency against its tier's cap (minor units)."""

    currency: str
    pending: int
    payable: int
    cap: int | None
    """None: the tier has no cap in this currency."""


class PartnerComplianceRead(msgspec.Struct):
    """Where the partner stands against each payout gate; ``failing_gates`` names the run's skip reasons."""

    is_payable: bool
    failing_gates: list[str]
    is_identity_verified: bool
    identity_verified_at: datetime | None
    identity_verified_by: str | None
    country: str | None
    is_country_blocked: bool
    has_payout_account: bool
    tax_form_type: str | None
    tax_form_on: date | None
    is_payout_account_verified: bool
    payout_account_verified_at: datetime | None
    payout_account_changed_at: datetime | None
    credit_tier: CreditTier
    commission_hold_days: int
    """The tier's hold; a commission waits this or its plan's hold, the longer."""
    credit: list[CreditLineRead]
