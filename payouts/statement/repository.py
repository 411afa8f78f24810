from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

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


# ------------------------------------------------------------------------------ set-based issuing
#
# Issuing works on two temporary tables of the issuing transaction: the ledger lines no statement
# carries yet, copied once (one snapshot: on PostgreSQL every later statement of a READ COMMITTED
# transaction would see lines committed in between, and a statement's total and its lines must
# come from the same rows), and the accounts of the statements being written. Statement lines and
# the ledger lines they carry are then written with INSERT ... SELECT: no ledger line passes
# through Python.

_TEMP = MetaData()
UNSTATED = Table(
    "statement_issue_unstated",
    _TEMP,
    Column("line_id", GUID(length=16), nullable=False),
    Column("entry_id", GUID(length=16), nullable=False),
    Column("reference", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("occurred_at", DateTimeUTC(timezone=True), nullable=False),
    Column("account", String(200), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
"""Lines on partners' pending and payable accounts, dated before the period's end, on no statement."""
ACCOUNTS = Table(
    "statement_issue_accounts",
    _TEMP,
    Column("account", String(200), primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("bucket", String(7), nullable=False),
    Column("statement_id", GUID(length=16), nullable=False),
    Column("number", Integer, nullable=False),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
"""``partner:<id>:pending|payable`` and currency of each statement written, numbered 1, 2, ..."""
_TEMP_TABLES = (UNSTATED, ACCOUNTS)
NUMBER_BITS, POSITION_BITS, PART_BITS = 20, 32, 8
"""Layout of the low 60 bits of a set-written id: statement number, line position, part of the line."""
MAX_STATEMENTS = 1 << NUMBER_BITS
# Inline constants: a bound 2**40 would be typed as the column's int4 on PostgreSQL.
_NUMBER_UNIT = literal_column(str(1 << (POSITION_BITS + PART_BITS)), BigInteger)
_POSITION_UNIT = literal_column(str(1 << PART_BITS), BigInteger)


async def drop_issue_tables(session: AsyncSession) -> None:
    for table in _TEMP_TABLES:
        await session.execute(text(f"DROP TABLE IF EXISTS {table.name}"))


async def copy_unstated_lines(session: AsyncSession, lines: Select[Any]) -> None:
    """Create the issuing tables and copy ``lines`` (columns as ``UNSTATED``) into the first."""
    await drop_issue_tables(session)
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        # The grouping and numbering sort every unstated line: in memory rather than in batches on disk.
        await session.execute(text("SET LOCAL work_mem = '64MB'"))
    for table in _TEMP_TABLES:
        await connection.run_sync(table.create)
    await session.execute(insert(UNSTATED).from_select([c.name for c in UNSTATED.c], lines))
    if connection.dialect.name == "postgresql":
        await session.execute(text(f"ANALYZE {UNSTATED.name}"))  # temporary tables get no autovacuum


async def unstated_sums(session: AsyncSession) -> list[tuple[str, str, int, int]]:
    """``(account, currency, sum of amounts, number of lines)`` of the unstated lines, per account."""
    u = UNSTATED.c
    rows = await session.execute(
        select(u.account, u.currency, func.sum(u.amount), func.count()).group_by(u.account, u.currency)
    )
    return [(account, currency, int(total), int(count)) for account, currency, total, count in rows]


async def insert_statements(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert statements (with their ids) in one statement; raises ``IntegrityError`` on any conflict."""
    if rows:
        await session.execute(insert(Statement.__table__), rows)


async def note_accounts(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Record which accounts each written statement covers (``ACCOUNTS`` rows)."""
    if rows:
        await session.execute(insert(ACCOUNTS), rows)
    if (await session.connection()).dialect.name == "postgresql":
        await session.execute(text(f"ANALYZE {ACCOUNTS.name}"))


def _set_id(dialect: str, high: int, low: ColumnElement[Any]) -> ColumnElement[Any]:
    """A UUID made of ``high`` (the first 8 bytes of a fresh uuid7: time and randomness) and a low half
    of variant bits ``10`` and the 60-bit ``low``: increasing in the order rows are numbered."""
    if dialect == "postgresql":
        head = f"{high:016x}8"
        return cast(literal(head) + func.lpad(func.to_hex(low), 15, "0"), PG_UUID(as_uuid=True))
    return func.uuid_from_ints(high, literal(-(1 << 63)) + low)  # 0x8 in the top nibble, two's complement


async def insert_lines(session: AsyncSession, *, order_external_id: Any, high: int, stamp: datetime) -> None:
    """One statement line per (statement, ledger entry), numbered oldest first, from the unstated lines."""
    dialect = (await session.connection()).dialect.name
    u, a = UNSTATED.c, ACCOUNTS.c

    def change(bucket: str) -> ColumnElement[Any]:
        return func.sum(case((a.bucket == bucket, -u.amount), else_=0))

    grouped = (
        select(
            a.statement_id,
            a.number,
            u.entry_id,
            u.reference,
            u.kind,
            u.occurred_at,
            change("pending").label("pending_change"),
            change("payable").label("payable_change"),
        )
        .join_from(UNSTATED, ACCOUNTS, and_(a.account == u.account, a.currency == u.currency))
        .group_by(a.statement_id, a.number, u.entry_id, u.reference, u.kind, u.occurred_at)
        .subquery("grouped")
    )
    g = grouped.c
    position = func.row_number().over(partition_by=g.statement_id, order_by=(g.occurred_at, g.entry_id))
    positioned = select(*g, position.label("position")).subquery("positioned")
    p = positioned.c
    low = p.number * _NUMBER_UNIT + p.position * _POSITION_UNIT
    query = select(
        _set_id(dialect, high, low),
        p.statement_id,
        p.position,
        p.entry_id,
        p.reference,
        p.kind,
        order_external_id(p.reference),
        p.occurred_at,
        p.pending_change,
        p.payable_change,
        literal(stamp, DateTimeUTC(timezone=True)),
        literal(stamp, DateTimeUTC(timezone=True)),
    )
    columns = [
        "id", "statement_id", "position", "entry_id", "entry_reference", "kind", "order_external_id",
        "occurred_at", "pending_change", "payable_change", "created_at", "updated_at",
    ]  # fmt: skip
    await session.execute(insert(StatementLine.__table__).from_select(columns, query))


def _unindexed(column: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """SQLite: ``+column``, the same value, but not looked up through an index. Each entry's statement
    lines are then found through ``entry_id`` (one or two rows), not by scanning all the lines of the
    statement that (statement_id, position) leads to (quadratic for a partner with many orders).
    PostgreSQL plans this join well (a hash join) and has no unary plus for uuid."""
    if dialect != "sqlite":
        return column
    return UnaryExpression(column, operator=operators.custom_op("+"), type_=column.type)


async def insert_carried(session: AsyncSession, *, high: int, stamp: datetime) -> int:
    """Link each unstated line of a written statement to the statement line that carries it; the count."""
    dialect = (await session.connection()).dialect.name
    u, a, sl = UNSTATED.c, ACCOUNTS.c, StatementLine.__table__.c
    part = func.row_number().over(partition_by=sl.id, order_by=u.line_id)
    linked = (
        select(a.number, sl.position, sl.id.label("statement_line_id"), u.line_id, part.label("part"))
        .join_from(UNSTATED, ACCOUNTS, and_(a.account == u.account, a.currency == u.currency))
        .join(
            StatementLine.__table__,
            and_(_unindexed(sl.statement_id, dialect) == a.statement_id, sl.entry_id == u.entry_id),
        )
        .subquery("linked")
    )
    k = linked.c
    low = k.number * _NUMBER_UNIT + k.position * _POSITION_UNIT + k.part
    query = select(
        _set_id(dialect, high, low),
        k.statement_line_id,
        k.line_id,
        literal(stamp, DateTimeUTC(timezone=True)),
        literal(stamp, DateTimeUTC(timezone=True)),
    )
    columns = ["id", "statement_line_id", "ledger_line_id", "created_at", "updated_at"]
    result = await session.execute(insert(StatementLedgerLine.__table__).from_select(columns, query))
    return int(result.rowcount)
