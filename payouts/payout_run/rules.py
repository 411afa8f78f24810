"""Pure rules of payout runs: who is paid, who is held and why, and the statuses."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from growth.core.money import BPS_PER_UNIT
from payouts.partner.rules import ComplianceFacts, failing_gates


class RunStatus(StrEnum):
    created = "created"
    executing = "executing"
    completed = "completed"


class PayoutStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"
    paid = "paid"


LEFT = frozenset({PayoutStatus.sent, PayoutStatus.paid})
"""The payouts whose money has left: sent, or sent and confirmed paid by finance."""


@dataclass(frozen=True, slots=True)
class StatusTotal:
    count: int = 0
    amount: int = 0
    """Minor units of the run's currency."""


def run_totals(totals: Mapping[str, tuple[int, int]]) -> tuple[StatusTotal, StatusTotal, StatusTotal]:
    """A run's (count, amount) by payout status, grouped as finance reads them: left, waiting, failed."""

    def total(statuses: Collection[PayoutStatus]) -> StatusTotal:
        found = [totals.get(s, (0, 0)) for s in statuses]
        return StatusTotal(sum(c for c, _ in found), sum(a for _, a in found))

    return total(LEFT), total({PayoutStatus.pending}), total({PayoutStatus.failed})


class SkipReason(StrEnum):
    """Why a partner with a payable balance is not paid in a run, in the order the gates are checked."""

    below_minimum = "below_minimum"
    partner_not_approved = "partner_not_approved"
    identity_not_verified = "identity_not_verified"
    country_blocked = "country_blocked"
    no_payout_account = "no_payout_account"
    tax_form_missing = "tax_form_missing"
    payout_account_not_verified = "payout_account_not_verified"
    account_cooling_off = "account_cooling_off"
    amount_above_trailing_average = "amount_above_trailing_average"
    """Far above what the partner was paid before: held until finance releases it for the period."""


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
    is_identity_verified: bool
    is_account_verified: bool
    country: str | None = None
    """ISO 3166-1 alpha-2 code on file, if any."""
    previous_payouts: tuple[int, ...] = ()
    """The partner's last paid payouts in the run's currency (minor units), newest first."""
    is_hold_released: bool = False
    """Finance released the partner's payout of this period from the trailing-average hold."""


@dataclass(frozen=True, slots=True)
class TrailingAverage:
    """Hold a payout above ``ratio_bps`` of the average of the last ``payouts`` paid ones (at least
    ``min_payouts`` of them); ``ratio_bps`` 0 turns the hold off."""

    ratio_bps: int
    payouts: int
    min_payouts: int


def trailing_problem(rule: TrailingAverage) -> str | None:
    """Why the trailing-average settings make no sense, or None."""
    if rule.ratio_bps != 0 and rule.ratio_bps < BPS_PER_UNIT:
        return "payout_trailing_ratio_bps must be 0 (off) or at least 10000 (1x the average)"
    if rule.payouts < 1:
        return "payout_trailing_payouts must be at least 1"
    if not 1 <= rule.min_payouts <= rule.payouts:
        return "payout_trailing_min_payouts must be between 1 and payout_trailing_payouts"
    return None


def is_above_trailing_average(amount: int, previous: tuple[int, ...], rule: TrailingAverage | None) -> bool:
    """Whether ``amount`` exceeds the rule's multiple of the average of the recent paid payouts."""
    recent = previous[: rule.payouts] if rule else ()
    if rule is None or rule.ratio_bps == 0 or len(recent) < rule.min_payouts:
        return False
    # amount > ratio/10000 * sum/len, in integers
    return amount * len(recent) * BPS_PER_UNIT > rule.ratio_bps * sum(recent)


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


def hold_reason(
    c: Candidate,
    *,
    minimum: int,
    now: datetime,
    cooling_off_days: int,
    blocked_countries: Collection[str] = frozenset(),
    trailing: TrailingAverage | None = None,
) -> SkipReason | None:
    """Why ``c`` is not paid in this run (the first gate that holds it), or None."""
    if c.payable < minimum:
        return SkipReason.below_minimum
    if not c.is_approved:
        return SkipReason.partner_not_approved
    compliance = ComplianceFacts(
        is_identity_verified=c.is_identity_verified,
        country=c.country,
        has_account=c.has_account,
        has_tax_form=c.has_tax_form,
        is_account_verified=c.is_account_verified,
    )
    if gates := failing_gates(compliance, blocked_countries=blocked_countries):
        return SkipReason(gates[0].value)
    if c.account_changed_at is None or now - c.account_changed_at < timedelta(days=cooling_off_days):
        return SkipReason.account_cooling_off
    if not c.is_hold_released and is_above_trailing_average(c.payable, c.previous_payouts, trailing):
        return SkipReason.amount_above_trailing_average
    return None


def select(
    candidates: list[Candidate],
    *,
    minimum: int,
    now: datetime,
    cooling_off_days: int,
    blocked_countries: Collection[str] = frozenset(),
    trailing: TrailingAverage | None = None,
) -> Selection:
    """Split partners with a positive payable balance into payouts and skips, in partner-id order."""
    payouts: list[tuple[UUID, int]] = []
    skips: list[Skip] = []
    for c in sorted(candidates, key=lambda c: c.partner_id):
        if c.payable <= 0:
            continue
        reason = hold_reason(
            c,
            minimum=minimum,
            now=now,
            cooling_off_days=cooling_off_days,
            blocked_countries=blocked_countries,
            trailing=trailing,
        )
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
