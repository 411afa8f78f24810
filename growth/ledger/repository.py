from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.ledger.models import LedgerEntry, LedgerLine


async def get_by_reference(session: AsyncSession, reference: str) -> LedgerEntry | None:
    return await session.scalar(select(LedgerEntry).where(LedgerEntry.reference == reference))


async def lines_of(session: AsyncSession, entry_id: UUID) -> list[LedgerLine]:
    return list(
        await session.scalars(
            select(LedgerLine).where(LedgerLine.entry_id == entry_id).order_by(LedgerLine.id)
        )
    )


async def sum_account(session: AsyncSession, account: str, currency: str) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(LedgerLine.amount), 0)).where(
            LedgerLine.account == account, LedgerLine.currency == currency
        )
    )
    return int(total or 0)


async def sums_by_account_prefix(session: AsyncSession, prefix: str) -> list[tuple[str, str, int]]:
    rows = await session.execute(
        select(LedgerLine.account, LedgerLine.currency, func.sum(LedgerLine.amount))
        .where(LedgerLine.account.startswith(prefix, autoescape=True))
        .group_by(LedgerLine.account, LedgerLine.currency)
        .order_by(LedgerLine.account, LedgerLine.currency)
    )
    return [(account, currency, int(total)) for account, currency, total in rows]


async def entry_sums(session: AsyncSession) -> list[tuple[UUID, str, int]]:
    """Per entry and currency, the sum of its lines (all zero in a sound ledger)."""
    rows = await session.execute(
        select(LedgerLine.entry_id, LedgerLine.currency, func.sum(LedgerLine.amount)).group_by(
            LedgerLine.entry_id, LedgerLine.currency
        )
    )
    return [(entry_id, currency, int(total)) for entry_id, currency, total in rows]


# --- read-only, added for payouts/statement ------------------------------------------------------


async def lines_before(
    session: AsyncSession,
    *,
    account_prefix: str,
    account_suffixes: tuple[str, ...],
    before: datetime,
    excluding: Select[Any] | None,
) -> list[tuple[Any, ...]]:
    """``(line id, entry id, reference, kind, occurred_at, account, amount, currency)``, oldest first."""
    query = lines_before_query(
        account_prefix=account_prefix, account_suffixes=account_suffixes, before=before, excluding=excluding
    ).order_by(LedgerEntry.occurred_at, LedgerEntry.id, LedgerLine.id)
    return [tuple(row) for row in await session.execute(query)]


def lines_before_query(
    *, account_prefix: str, account_suffixes: tuple[str, ...], before: datetime, excluding: Select[Any] | None
) -> Select[Any]:
    """The query of ``lines_before`` (columns ``line_id, entry_id, reference, kind, occurred_at, account,
    amount, currency``), unordered, for set-based callers (``INSERT ... SELECT``)."""
    account = LedgerLine.account
    query = (
        select(
            LedgerLine.id.label("line_id"),
            LedgerLine.entry_id.label("entry_id"),
            LedgerEntry.reference.label("reference"),
            LedgerEntry.kind.label("kind"),
            LedgerEntry.occurred_at.label("occurred_at"),
            account.label("account"),
            LedgerLine.amount.label("amount"),
            LedgerLine.currency.label("currency"),
        )
        .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
        .where(
            account.startswith(account_prefix, autoescape=True),
            or_(*(account.endswith(suffix, autoescape=True) for suffix in account_suffixes)),
            LedgerEntry.occurred_at < before,
        )
    )
    if excluding is not None:
        taken = excluding.subquery()
        query = query.where(~exists().where(next(iter(taken.c)) == LedgerLine.id))
    return query
