"""Issued statements, their lines, and which ledger lines each statement line stands for.

Rows are only ever inserted: an issued statement never changes, and what the ledger records
later lands on the next statement. The ORM refuses updates and deletes of these rows (bulk SQL
is not covered: nothing in the code issues any).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class Statement(Base):
    """A partner's statement for one calendar month (program time zone) and one currency."""

    __tablename__ = "statements"
    __table_args__ = (
        # Issuing twice, or two issuers at once, cannot give a partner two statements for a month.
        UniqueConstraint("period", "partner_id", "currency"),
        # Each statement follows exactly one predecessor: concurrent issues of different months
        # for one partner cannot both start from the same opening balance.
        UniqueConstraint("partner_id", "currency", "sequence"),
        CheckConstraint("length(period) = 7", name="period_format"),
        CheckConstraint("period_start < period_end", name="period_order"),
        CheckConstraint("sequence >= 1", name="sequence_positive"),
        CheckConstraint("length(currency) = 3 AND upper(currency) = currency", name="currency_upper"),
    )

    partner_id: Mapped[UUID] = mapped_column(ForeignKey("partners.id"))
    period: Mapped[str] = mapped_column(String(7))
    """The calendar month, ``YYYY-MM``, in the program's time zone when issued."""
    sequence: Mapped[int] = mapped_column(Integer)
    """1 for the partner's first statement in ``currency``, then one more for each next one."""
    period_start: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """First instant of the month (UTC), inclusive."""
    period_end: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """First instant after the month (UTC), exclusive."""
    currency: Mapped[str] = mapped_column(String(3))
    opening_pending: Mapped[int] = mapped_column(BigInteger)
    """Pending commission owed at the start (the previous statement's closing), minor units."""
    opening_payable: Mapped[int] = mapped_column(BigInteger)
    """Payable commission owed at the start, minor units (negative after a clawback)."""
    closing_pending: Mapped[int] = mapped_column(BigInteger)
    """``opening_pending`` plus the lines' pending changes, minor units."""
    closing_payable: Mapped[int] = mapped_column(BigInteger)
    """``opening_payable`` plus the lines' payable changes, minor units."""
    issued_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """When the statement was issued (UTC); from then on it never changes."""


class StatementLine(Base):
    """One ledger entry on a statement: how it changed what the merchant owes the partner."""

    __tablename__ = "statement_lines"
    __table_args__ = (UniqueConstraint("statement_id", "position"),)

    statement_id: Mapped[UUID] = mapped_column(ForeignKey("statements.id"))
    position: Mapped[int] = mapped_column(Integer)
    """Order on the statement (oldest entry first), from 1."""
    entry_id: Mapped[UUID] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    entry_reference: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    """The entry's kind: ``commission_accrued``, ``commission_reversed``, ``commission_clawback``, ..."""
    order_external_id: Mapped[str | None] = mapped_column(String(200), default=None)
    """The shop's id of the order the entry is about, when known."""
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True))
    """When the entry occurred (UTC); before the period for entries recorded after their month's statement."""
    pending_change: Mapped[int] = mapped_column(BigInteger)
    """Minor units; positive when the merchant owes the partner more pending commission."""
    payable_change: Mapped[int] = mapped_column(BigInteger)
    """Minor units; positive when the merchant owes the partner more payable commission."""


class StatementLedgerLine(Base):
    """A ledger line and the statement line that carries it: each ledger line is on one statement only."""

    __tablename__ = "statement_ledger_lines"

    statement_line_id: Mapped[UUID] = mapped_column(ForeignKey("statement_lines.id"), index=True)
    ledger_line_id: Mapped[UUID] = mapped_column(ForeignKey("ledger_lines.id"), unique=True)


def _refuse_change(_mapper: Any, _connection: Any, target: Any) -> None:
    raise TypeError(f"{type(target).__name__} rows are insert-only: an issued statement never changes")


for _model in (Statement, StatementLine, StatementLedgerLine):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
