"""Pure rules of payout runs: who is paid, who is held and why, and the statuses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID


class RunStatus(StrEnum):
    created = "created"
    executing = "executing"
    completed = "completed"


class PayoutStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    paid = "paid"


class SkipReason(StrEnum):
    below_minimum = "below_minimum"
    partner_not_approved = "partner_not_approved"
    no_payout_account = "no_payout_account"
    tax_form_missing = "tax_form_missing"
    account_cooling_off = "account_cooling_off"


PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def period_problem(period: str) -> str | None:
    """Why ``period`` is not a calendar month ``YYYY-MM``, or None."""
    return None if PERIOD.match(period) else "period must be a calendar month, YYYY-MM"


def parse_minimums(raw: str) -> dict[str, int]:
    """``"CNY:10000,USD:5000"`` as ``{"CNY": 10000, "USD": 5000}`` (minor units)."""
    minimums: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        currency, _, amount = part.partition(":")
        if not re.fullmatch(r"[A-Z]{3}", currency.strip()) or not amount.strip().isdigit():
            raise ValueError(f"payout minimum {part!r} is not CUR:amount")
        minimums[currency.strip()] = int(amount)
    return minimums


def minimum_for(minimums: dict[str, int], currency: str) -> int:
    """The smallest payout in ``currency``; a currency without a minimum pays any positive balance."""
    return max(minimums.get(currency, 1), 1)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A partner with a payable balance, and what compliance looks at."""

    partner_id: UUID
    payable: int
    """Minor units owed on ``partner:<id>:payable``."""
    is_approved: bool
    has_account: bool
    has_tax_form: bool
    account_changed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Skip:
    partner_id: UUID
    amount: int
    reason: SkipReason


@dataclass(frozen=True, slots=True)
class Selection:
    payouts: tuple[tuple[UUID, int], ...]
    """``(partner_id, amount)`` to pay."""
    skips: tuple[Skip, ...]


def hold_reason(c: Candidate, *, minimum: int, now: datetime, cooling_off_days: int) -> SkipReason | None:
    """Why ``c`` is not paid in this run (the first gate that holds it), or None."""
    if c.payable < minimum:
        return SkipReason.below_minimum
    if not c.is_approved:
        return SkipReason.partner_not_approved
    if not c.has_account:
        return SkipReason.no_payout_account
    if not c.has_tax_form:
        return SkipReason.tax_form_missing
    if c.account_changed_at is None or now - c.account_changed_at < timedelta(days=cooling_off_days):
        return SkipReason.account_cooling_off
    return None


def select(candidates: list[Candidate], *, minimum: int, now: datetime, cooling_off_days: int) -> Selection:
    """Split partners with a positive payable balance into payouts and skips, in partner-id order."""
    payouts: list[tuple[UUID, int]] = []
    skips: list[Skip] = []
    for c in sorted(candidates, key=lambda c: c.partner_id):
        if c.payable <= 0:
            continue
        reason = hold_reason(c, minimum=minimum, now=now, cooling_off_days=cooling_off_days)
        if reason is None:
            payouts.append((c.partner_id, c.payable))
        else:
            skips.append(Skip(c.partner_id, c.payable, reason))
    return Selection(tuple(payouts), tuple(skips))


def idempotency_key(payout_id: UUID) -> str:
    """The key every provider call for this payout carries, on every retry."""
    return f"payout-{payout_id}"


def reserved_ref(payout_id: UUID) -> str:
    return f"payout:{payout_id}:reserved"


def sent_ref(payout_id: UUID) -> str:
    return f"payout:{payout_id}:sent"


def returned_ref(payout_id: UUID) -> str:
    return f"payout:{payout_id}:returned"


def clearing_account(provider: str) -> str:
    """Money handed to a provider and on its way to the partner."""
    return f"provider:{provider}:clearing"


def confirm_problem(status: PayoutStatus, provider: str) -> str | None:
    """Why a payout cannot be confirmed paid by finance, or None (an already paid one is no move)."""
    if provider != "bank":
        return "only bank payouts are confirmed by finance"
    if status not in (PayoutStatus.sent, PayoutStatus.paid):
        return f"payout is {status.value}; only a sent bank payout can be confirmed paid"
    return None
