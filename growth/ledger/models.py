"""Journal entries and their lines. Rows are only ever inserted: a mistake is corrected by a reversal."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from growth.core.db import Base


class LedgerEntry(Base):
    """One money movement; its lines sum to zero per currency."""

    __tablename__ = "ledger_entries"

    reference: Mapped[str] = mapped_column(String(200), unique=True)
    """What caused it (``reward:<id>:issued``): posting the same movement twice finds the first."""
    kind: Mapped[str] = mapped_column(String(40))
    """``reward_credit``, ``reward_cash``, ``reward_reversal``, ... (dotted names in logs)."""
    memo: Mapped[str | None] = mapped_column(String(300), default=None)
    occurred_at: Mapped[datetime] = mapped_column(DateTimeUTC(timezone=True), index=True)
    reverses_id: Mapped[UUID | None] = mapped_column(ForeignKey("ledger_entries.id"), default=None)
    """The entry this one reverses, if it is a reversal."""


class LedgerLine(Base):
    """A debit (positive) or credit (negative) to one account, in minor units of one currency."""

    __tablename__ = "ledger_lines"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        CheckConstraint("length(currency) = 3 AND upper(currency) = currency", name="currency_upper"),
    )

    entry_id: Mapped[UUID] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    account: Mapped[str] = mapped_column(String(200), index=True)
    """``customer:<id>:store_credit``, ``campaign:<id>:reward_expense``, ..."""
    amount: Mapped[int] = mapped_column(BigInteger)
    """Minor units; debits positive, credits negative."""
    currency: Mapped[str] = mapped_column(String(3))
