"""Posting journal entries (idempotently, by reference), reversing them, and reading balances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.errors import Conflict
from growth.core.money import Money, is_known_currency
from growth.customer import service as customer_service
from growth.ledger import repository
from growth.ledger.errors import InsufficientBalance, InvalidAmount
from growth.ledger.models import LedgerEntry, LedgerLine
from growth.ledger.rules import (
    COMMISSION_EXPENSE,
    Line,
    campaign_expense_account,
    check_entry,
    customer_account,
    liability_balance,
    partner_account,
    reversal_of,
)

__all__ = [
    "COMMISSION_EXPENSE",
    "Line",
    "campaign_expense_account",
    "customer_account",
    "partner_account",
]  # what other packages post with

log = structlog.get_logger()


class EntryConflict(Conflict):
    """The reference was already posted with different lines."""


def _as_lines(rows: list[LedgerLine]) -> list[Line]:
    return [Line(row.account, row.amount, row.currency) for row in rows]


async def post_entry(
    session: AsyncSession,
    *,
    reference: str,
    kind: str,
    lines: list[Line],
    occurred_at: datetime,
    memo: str | None = None,
    reverses: LedgerEntry | None = None,
) -> LedgerEntry:
    """Record one balanced entry; posting the same reference again returns the first (same lines required)."""
    check_entry(lines)
    if (existing := await repository.get_by_reference(session, reference)) is not None:
        if sorted(_as_lines(await repository.lines_of(session, existing.id)), key=repr) != sorted(
            lines, key=repr
        ):
            raise EntryConflict(f"ledger entry {reference!r} was already posted with other lines")
        return existing
    entry = LedgerEntry(
        reference=reference,
        kind=kind,
        memo=memo,
        occurred_at=occurred_at,
        reverses_id=reverses.id if reverses else None,
    )
    session.add(entry)
    await session.flush()
    session.add_all(
        LedgerLine(entry_id=entry.id, account=line.account, amount=line.amount, currency=line.currency)
        for line in lines
    )
    await session.flush()
    log.info("growth.ledger.posted", reference=reference, kind=kind)
    return entry


async def reverse_entry(
    session: AsyncSession,
    *,
    reference: str,
    reversal_reference: str,
    occurred_at: datetime,
    memo: str | None = None,
) -> LedgerEntry | None:
    """Post the mirror image of the entry with ``reference`` (None when there is none to reverse)."""
    original = await repository.get_by_reference(session, reference)
    if original is None:
        return None
    lines = reversal_of(_as_lines(await repository.lines_of(session, original.id)))
    return await post_entry(
        session,
        reference=reversal_reference,
        kind="reversal",
        lines=lines,
        occurred_at=occurred_at,
        memo=memo,
        reverses=original,
    )


async def liability(session: AsyncSession, account: str, currency: str) -> int:
    """What the merchant owes on ``account`` in ``currency`` (minor units), summed from the ledger."""
    return liability_balance(await repository.sum_account(session, account, currency))


async def balances(session: AsyncSession, account_prefix: str) -> list[tuple[str, str, int]]:
    """``(account, currency, owed)`` for every account starting with ``account_prefix``."""
    return [
        (account, currency, liability_balance(total))
        for account, currency, total in await repository.sums_by_account_prefix(session, account_prefix)
    ]


async def unbalanced_entries(session: AsyncSession) -> list[tuple[str, str, int]]:
    """Entries whose lines do not sum to zero in some currency (empty unless the data was tampered with)."""
    return [
        (str(entry_id), currency, total)
        for entry_id, currency, total in await repository.entry_sums(session)
        if total
    ]


STORE_CREDIT_USED = "merchant:store_credit_used"
"""Where store credit goes when the shop takes it as payment."""
CUSTOMER_BUCKETS = ("store_credit", "cash_payable")


@dataclass(frozen=True, slots=True)
class Balance:
    bucket: str
    """``store_credit`` (spendable at the shop) or ``cash_payable`` (to be paid out)."""
    amount: Money
    """What the merchant owes the customer."""


async def customer_balances(session: AsyncSession, external_id: str) -> list[Balance]:
    """A customer's balances per bucket and currency, summed from the ledger."""
    customer = await customer_service.get_customer(session, external_id)
    prefix = customer_account(customer.id, "")
    return [
        Balance(account.removeprefix(prefix), Money(owed, currency))
        for account, currency, owed in await balances(session, prefix)
    ]


async def redeem_store_credit(
    session: AsyncSession, *, external_id: str, amount: int, currency: str, reference: str, now: datetime
) -> LedgerEntry:
    """The shop took ``amount`` of store credit as payment; a retried ``reference`` applies once."""
    if amount <= 0 or not is_known_currency(currency):
        raise InvalidAmount("the amount must be positive minor units of a known ISO 4217 currency")
    spent = Money(amount, currency)
    # The customer's row lock serialises redemptions: two at once cannot both spend one balance.
    customer = await customer_service.get_customer(session, external_id, for_update=True)
    account = customer_account(customer.id, "store_credit")
    entry_reference = f"store_credit_used:{customer.id}:{reference}"
    lines = [
        Line(account, spent.amount, spent.currency),
        Line(STORE_CREDIT_USED, -spent.amount, spent.currency),
    ]
    if await repository.get_by_reference(session, entry_reference) is None:
        available = await liability(session, account, spent.currency)
        if available < spent.amount:
            raise InsufficientBalance(
                f"store credit is {available} minor units of {spent.currency}; {spent.amount} asked",
                available=available,
            )
    return await post_entry(
        session, reference=entry_reference, kind="store_credit_used", lines=lines, occurred_at=now
    )


# ------------------------------------------------------ read-only, added for payouts/statement


@dataclass(frozen=True, slots=True)
class PostedLine:
    """A ledger line with what its entry says."""

    line_id: UUID
    entry_id: UUID
    reference: str
    kind: str
    occurred_at: datetime
    account: str
    amount: int
    """Minor units; debits positive, credits negative."""
    currency: str


async def lines_before(
    session: AsyncSession,
    *,
    account_prefix: str,
    account_suffixes: tuple[str, ...],
    before: datetime,
    excluding: Select[Any] | None = None,
) -> list[PostedLine]:
    """Lines on accounts ``<prefix>...<a suffix>`` of entries dated before ``before``, oldest first.

    ``excluding`` is a query of line ids to leave out (the lines a statement already carries), so
    the caller's bookkeeping stays in its own tables and the database does the filtering.
    """
    rows = await repository.lines_before(
        session,
        account_prefix=account_prefix,
        account_suffixes=account_suffixes,
        before=before,
        excluding=excluding,
    )
    return [PostedLine(*row) for row in rows]


def lines_before_query(
    *,
    account_prefix: str,
    account_suffixes: tuple[str, ...],
    before: datetime,
    excluding: Select[Any] | None = None,
) -> Select[Any]:
    """The lines of ``lines_before`` as an unexecuted, unordered query, for ``INSERT ... SELECT``.

    Columns: ``line_id, entry_id, reference, kind, occurred_at, account, amount, currency``; the
    caller's database does the work and no line passes through Python.
    """
    return repository.lines_before_query(
        account_prefix=account_prefix, account_suffixes=account_suffixes, before=before, excluding=excluding
    )
