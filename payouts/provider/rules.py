"""Pure rules of payout accounts: validation, masking, and what a provider is asked to do."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID


class ProviderName(StrEnum):
    stripe = "stripe"
    bank = "bank"


STRIPE_ACCOUNT = re.compile(r"^acct_[A-Za-z0-9]{1,60}$")


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a partner wants to be paid (what finance sends)."""

    provider: ProviderName
    stripe_account_id: str | None = None
    bank_holder_name: str | None = None
    bank_name: str | None = None
    bank_account_number: str | None = None


def destination_problem(d: Destination) -> str | None:
    """Why ``d`` cannot be paid to, or None."""
    if d.provider is ProviderName.stripe:
        if not d.stripe_account_id or not STRIPE_ACCOUNT.match(d.stripe_account_id):
            return "a Stripe payout account needs stripe_account_id like acct_..."
        return None
    if not (d.bank_holder_name or "").strip() or not (d.bank_name or "").strip():
        return "a bank payout account needs the holder's name and the bank's name"
    digits = re.sub(r"[\s-]", "", d.bank_account_number or "")
    if not re.fullmatch(r"[A-Za-z0-9]{4,34}", digits):
        return "the bank account number must be 4 to 34 letters or digits"
    return None


def normalize_account_number(number: str) -> str:
    """An account number without spaces or dashes, upper case (IBAN style)."""
    return re.sub(r"[\s-]", "", number).upper()


def mask(number: str | None) -> str | None:
    """Only the last four characters of an account number are ever shown."""
    if not number:
        return None
    return "•" * 4 + number[-4:]


def destination_tail(d: Destination) -> str:
    """The last four characters of where money goes (a bank account number or a Stripe account id)."""
    return (d.bank_account_number if d.provider is ProviderName.bank else d.stripe_account_id or "")[-4:]


MAIL_LOCALES = {"CN": "zh_Hans", "SG": "zh_Hans"}
"""Countries whose partners get e-mail in Simplified Chinese (partners keep no language of their own)."""


def mail_locale(country: str | None, default: str) -> str:
    """The language of a partner's e-mail: Simplified Chinese for its countries, else ``default``."""
    return MAIL_LOCALES.get(country or "", default)


def is_same_destination(old: Destination, new: Destination) -> bool:
    """Whether money would go to the same place (a name fix alone does not restart the cooling-off)."""
    return (old.provider, old.stripe_account_id, old.bank_account_number) == (
        new.provider,
        new.stripe_account_id,
        new.bank_account_number,
    )


@dataclass(frozen=True, slots=True)
class TransferRequest:
    """One payout as a provider sees it; ``idempotency_key`` makes a retried call pay once."""

    payout_id: UUID
    partner_id: UUID
    run_id: UUID
    period: str
    amount: int
    """Minor units."""
    currency: str
    """Upper-case ISO 4217 (only the Stripe adapter lowercases it)."""
    destination: str | None
    idempotency_key: str
    statement_id: UUID | None = None
    """The partner's statement of the period that this payout settles."""


def transfer_metadata(request: TransferRequest) -> dict[str, str]:
    """What a transfer carries for finance to find it again: payout, partner, period and statement."""
    metadata = {
        "payout_id": str(request.payout_id),
        "partner_id": str(request.partner_id),
        "period": request.period,
    }
    if request.statement_id is not None:
        metadata["statement_id"] = str(request.statement_id)
    return metadata
