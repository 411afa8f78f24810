from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

import msgspec

from payouts.provider.rules import ProviderName


class PayoutAccountUpdate(msgspec.Struct, forbid_unknown_fields=True):
    """Where the partner is paid: ``stripe`` with ``stripe_account_id``, or ``bank`` with the bank fields."""

    provider: ProviderName
    stripe_account_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    bank_holder_name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    bank_name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    bank_account_number: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    tax_form_type: Annotated[str, msgspec.Meta(min_length=1, max_length=20)] | None = None
    tax_form_on: date | None = None


class PayoutAccountRead(msgspec.Struct):
    partner_id: UUID
    provider: ProviderName
    stripe_account_id: str | None
    bank_holder_name: str | None
    bank_name: str | None
    bank_account_number_masked: str | None
    """The last four characters only."""
    tax_form_type: str | None
    tax_form_on: date | None
    changed_at: datetime
    is_verified: bool = False
    """Finance checked this destination since it last changed (a payout gate)."""
    verified_at: datetime | None = None
    verified_by: str | None = None


class PayoutAccountVerification(msgspec.Struct, forbid_unknown_fields=True):
    is_verified: bool
    """True: finance checked the current destination now; false: it no longer vouches for it."""
