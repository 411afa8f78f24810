from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select
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
