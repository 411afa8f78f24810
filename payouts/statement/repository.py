from __future__ import annotations

from uuid import UUID

from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from payouts.statement.models import Statement, StatementLedgerLine, StatementLine


def carried_ledger_line_ids() -> Select[tuple[UUID]]:
    """The ids of the ledger lines some statement already carries (a query, for the ledger to exclude)."""
    return select(StatementLedgerLine.ledger_line_id)


async def latest_statements(session: AsyncSession) -> list[Statement]:
    """Each partner's newest statement in each currency."""
    newest = (
        select(Statement.partner_id, Statement.currency, func.max(Statement.sequence).label("sequence"))
        .group_by(Statement.partner_id, Statement.currency)
        .subquery()
    )
    query = select(Statement).join(
        newest,
        and_(
            Statement.partner_id == newest.c.partner_id,
            Statement.currency == newest.c.currency,
            Statement.sequence == newest.c.sequence,
        ),
    )
    return list(await session.scalars(query))


async def of_period(session: AsyncSession, *, period: str, currency: str) -> list[Statement]:
    """The month's statements in a currency (one per partner: the table is unique on it)."""
    query = select(Statement).where(Statement.period == period, Statement.currency == currency)
    return list(await session.scalars(query))


async def get(session: AsyncSession, statement_id: UUID) -> Statement | None:
    return await session.get(Statement, statement_id)


async def lines_of(session: AsyncSession, statement_id: UUID) -> list[StatementLine]:
    query = (
        select(StatementLine)
        .where(StatementLine.statement_id == statement_id)
        .order_by(StatementLine.position)
    )
    return list(await session.scalars(query))


async def search(
    session: AsyncSession, *, partner_id: UUID | None, period: str | None, limit: int, offset: int
) -> list[Statement]:
    query = select(Statement)
    if partner_id is not None:
        query = query.where(Statement.partner_id == partner_id)
    if period is not None:
        query = query.where(Statement.period == period)
    query = query.order_by(Statement.period.desc(), Statement.currency, Statement.partner_id)
    return list(await session.scalars(query.limit(limit).offset(offset)))
