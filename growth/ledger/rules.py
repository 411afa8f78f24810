"""Pure ledger rules: what a balanced entry is, account names, and how a reversal mirrors an entry."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True, slots=True)
class Line:
    """A debit (positive amount) or credit (negative) to ``account``, in minor units of ``currency``."""

    account: str
    amount: int
    currency: str


class UnbalancedEntry(ValueError):
    pass


def unbalanced_currencies(lines: Iterable[Line]) -> dict[str, int]:
    """The currencies whose lines do not sum to zero, with their sums (empty when balanced)."""
    sums: dict[str, int] = defaultdict(int)
    for line in lines:
        sums[line.currency] += line.amount
    return {currency: total for currency, total in sorted(sums.items()) if total != 0}


def check_entry(lines: list[Line]) -> None:
    """Raise ``UnbalancedEntry`` unless ``lines`` are two or more non-zero lines summing to zero."""
    if len(lines) < 2:
        raise UnbalancedEntry("an entry has at least two lines")
    for line in lines:
        if isinstance(line.amount, bool) or not isinstance(line.amount, int) or line.amount == 0:
            raise UnbalancedEntry(f"line on {line.account} must move a non-zero integer amount")
        if len(line.currency) != 3 or not line.currency.isupper():
            raise UnbalancedEntry(f"line on {line.account} has a bad currency {line.currency!r}")
    if problems := unbalanced_currencies(lines):
        raise UnbalancedEntry(f"lines do not sum to zero: {problems}")


def reversal_of(lines: list[Line]) -> list[Line]:
    """The lines that undo ``lines`` exactly."""
    return [Line(line.account, -line.amount, line.currency) for line in lines]


def customer_account(customer_id: UUID, bucket: str) -> str:
    """A customer's account: ``store_credit`` (spendable at the shop) or ``cash_payable`` (to be paid out)."""
    return f"customer:{customer_id}:{bucket}"


def partner_account(partner_id: UUID, bucket: str) -> str:
    """A partner's commission by state: ``pending`` (earned, not yet approved) or ``payable``."""
    return f"partner:{partner_id}:{bucket}"


COMMISSION_EXPENSE = "program:commission_expense"
"""What partners' commissions cost the merchant."""


def campaign_expense_account(campaign_id: UUID) -> str:
    """What a campaign's rewards cost the merchant."""
    return f"campaign:{campaign_id}:reward_expense"


def liability_balance(debits_minus_credits: int) -> int:
    """What the merchant owes on a liability account: its credits minus its debits."""
    return -debits_minus_credits
