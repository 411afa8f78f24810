"""Posting journal entries (idempotently, by reference), reversing them, and reading balances."""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.errors import Conflict
from growth.ledger import repository
from growth.ledger.models import LedgerEntry, LedgerLine
from growth.ledger.rules import (
    Line,
    campaign_expense_account,
    check_entry,
    customer_account,
    liability_balance,
    reversal_of,
)

__all__ = ["Line", "campaign_expense_account", "customer_account"]  # what other packages post with

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
