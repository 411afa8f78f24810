"""Pure statement rules: calendar months in the program's time zone, and a statement's lines from the ledger.

Amounts on a statement are seen from the partner's side: what the merchant owes the partner. A
ledger line is a debit (positive) or a credit (negative) on a liability account, so a line's
change to what is owed is minus its amount. A statement reconciles when its opening balance plus
the sum of its lines is its closing balance, for ``pending`` and ``payable`` separately.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from growth.core.money import Money
from growth.core.time import local_month_bounds, to_local
from payouts.statement.errors import InvalidPeriod, StatementDoesNotReconcile

_PERIOD = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII digits: \d also matches fullwidth ones
MIN_YEAR, MAX_YEAR = 2000, 2999
BUCKETS = ("pending", "payable")
"""The partner accounts a statement covers: ``partner:<id>:pending`` and ``partner:<id>:payable``."""


# ------------------------------------------------------------------------------------------ periods


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A calendar month; which instants it holds depends on the program's time zone."""

    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def parse_period(value: str) -> Period:
    """``"2026-11"`` as a ``Period``; anything else (``"2026-13"``, ``"26-11"``) is ``InvalidPeriod``."""
    match = _PERIOD.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidPeriod(f"period {value!r} is not a month written YYYY-MM (e.g. 2026-11)")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise InvalidPeriod(f"period {value!r} has no month {month} (months are 01 to 12)")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidPeriod(f"period {value!r} is outside the years {MIN_YEAR} to {MAX_YEAR}")
    return Period(year, month)


def period_bounds(year: int, month: int, tz: str) -> tuple[datetime, datetime]:
    """The month as a half-open UTC interval ``[start, end)``, cut at midnight in the zone ``tz``."""
    return local_month_bounds(year, month, tz)


def not_over_problem(period: Period, period_end: datetime, now: datetime) -> str | None:
    """Why ``period`` cannot be issued yet (it has not ended at ``now``), or None."""
    if now < period_end:
        return f"period {period} is not over yet; its statements can be issued from {period_end.isoformat()}"
    return None


# ------------------------------------------------------------------------------------------ balances


@dataclass(frozen=True, slots=True)
class Balances:
    """What the merchant owes a partner in one currency, in minor units, by state."""

    pending: int = 0
    payable: int = 0

    def __add__(self, other: Balances) -> Balances:
        return Balances(self.pending + other.pending, self.payable + other.payable)

    @property
    def is_zero(self) -> bool:
        return self.pending == 0 and self.payable == 0


@dataclass(frozen=True, slots=True)
class LedgerFact:
    """One ledger line on a partner account, with what its entry says."""

    line_id: UUID
    entry_id: UUID
    reference: str
    kind: str
    occurred_at: datetime
    account: str
    amount: int
    """Minor units; debits positive, credits negative (the ledger's sign)."""
    currency: str


def partner_account_of(account: str) -> tuple[UUID, str] | None:
    """``(partner id, bucket)`` of a ``partner:<id>:pending|payable`` account, else None."""
    prefix, _, rest = account.partition(":")
    partner, _, bucket = rest.partition(":")
    if prefix != "partner" or bucket not in BUCKETS:
        return None
    try:
        return UUID(partner), bucket
    except ValueError:
        return None


def owed_changes(
    sums: Iterable[tuple[str, str, int, int]],
) -> tuple[dict[tuple[UUID, str], Balances], dict[tuple[UUID, str], int]]:
    """From ``(account, currency, sum of amounts, number of lines)`` per ledger account: per ``(partner
    id, currency)`` how the lines change what is owed (minus their sum: a credit is more owed) and how
    many lines there are. Accounts that are not ``partner:<id>:pending|payable`` are left out."""
    changes: dict[tuple[UUID, str], Balances] = {}
    counts: dict[tuple[UUID, str], int] = {}
    for account, currency, amount, lines in sums:
        if (owner := partner_account_of(account)) is None:
            continue
        key = (owner[0], currency)
        change = Balances(-amount, 0) if owner[1] == "pending" else Balances(0, -amount)
        changes[key] = changes.get(key, Balances()) + change
        counts[key] = counts.get(key, 0) + lines
    return changes, counts


@dataclass(frozen=True, slots=True)
class LineFacts:
    """One ledger entry as a statement line: how it changed what the merchant owes the partner."""

    entry_id: UUID
    reference: str
    kind: str
    occurred_at: datetime
    order_external_id: str | None
    pending_change: int
    """Minor units; positive when the merchant owes the partner more."""
    payable_change: int
    ledger_line_ids: tuple[UUID, ...] = ()
    """The ledger lines this line stands for (each is on exactly one statement)."""

    @property
    def change(self) -> Balances:
        return Balances(self.pending_change, self.payable_change)


@dataclass(frozen=True, slots=True)
class StatementFacts:
    """A statement as plain data: the period, the balances and the lines between them."""

    partner_id: UUID
    period: str
    currency: str
    period_start: datetime
    period_end: datetime
    opening: Balances
    closing: Balances
    lines: tuple[LineFacts, ...]


def group_by_partner(facts: Iterable[LedgerFact]) -> dict[tuple[UUID, str], list[LedgerFact]]:
    """Ledger lines per ``(partner id, currency)``; lines on other accounts are left out."""
    groups: dict[tuple[UUID, str], list[LedgerFact]] = {}
    for fact in facts:
        if (owner := partner_account_of(fact.account)) is not None:
            groups.setdefault((owner[0], fact.currency), []).append(fact)
    return groups


def statement_lines(facts: Iterable[LedgerFact], orders: Mapping[str, str]) -> list[LineFacts]:
    """One line per ledger entry, oldest first; ``orders`` maps entry references to order ids."""
    by_entry: dict[UUID, list[LedgerFact]] = {}
    for fact in sorted(facts, key=lambda f: (f.occurred_at, f.entry_id, f.line_id)):
        by_entry.setdefault(fact.entry_id, []).append(fact)
    lines = []
    for entry_id, group in by_entry.items():
        owed = {bucket: 0 for bucket in BUCKETS}
        for fact in group:
            owner = partner_account_of(fact.account)
            if owner is None:
                raise ValueError(f"{fact.account!r} is not a partner account")
            owed[owner[1]] -= fact.amount  # a credit is more owed to the partner
        first = group[0]
        lines.append(
            LineFacts(
                entry_id=entry_id,
                reference=first.reference,
                kind=first.kind,
                occurred_at=first.occurred_at,
                order_external_id=orders.get(first.reference),
                pending_change=owed["pending"],
                payable_change=owed["payable"],
                ledger_line_ids=tuple(f.line_id for f in group),
            )
        )
    return lines


def total(lines: Iterable[LineFacts]) -> Balances:
    """The sum of the lines' changes."""
    result = Balances()
    for line in lines:
        result += line.change
    return result


def check_reconciles(statement: StatementFacts) -> None:
    """Raise ``StatementDoesNotReconcile`` unless opening + lines == closing, per state."""
    expected = statement.opening + total(statement.lines)
    if expected != statement.closing:
        raise StatementDoesNotReconcile(
            f"statement {statement.period} {statement.currency} of partner {statement.partner_id}: "
            f"opening {statement.opening} + lines = {expected}, but closing is {statement.closing}"
        )


def draft_statement(
    *,
    partner_id: UUID,
    period: Period,
    currency: str,
    bounds: tuple[datetime, datetime],
    opening: Balances,
    facts: Iterable[LedgerFact],
    orders: Mapping[str, str],
) -> StatementFacts:
    """The statement to issue: the opening carried over, one line per entry, the closing they add up to."""
    lines = tuple(statement_lines(facts, orders))
    statement = StatementFacts(
        partner_id=partner_id,
        period=str(period),
        currency=currency,
        period_start=bounds[0],
        period_end=bounds[1],
        opening=opening,
        closing=opening + total(lines),
        lines=lines,
    )
    check_reconciles(statement)
    return statement


def is_worth_issuing(statement: StatementFacts) -> bool:
    """A statement is issued when something happened or something is still owed."""
    return bool(statement.lines) or not statement.opening.is_zero


def follows(previous_period: str, period: Period) -> bool:
    """Whether ``period`` comes after the partner's last statement (statements are issued in order)."""
    return parse_period(previous_period) < period


def running_balances(opening: Balances, lines: Sequence[LineFacts]) -> list[Balances]:
    """The balances after each line."""
    balances, current = [], opening
    for line in lines:
        current += line.change
        balances.append(current)
    return balances


def is_late(line: LineFacts, period_start: datetime) -> bool:
    """Dated before the period: recorded after the statement of its own month was issued."""
    return line.occurred_at < period_start


FORMATS = ("json", "csv", "html")


def statement_ref(value: str, *, default: str) -> tuple[UUID, str] | None:
    """``<id>``, ``<id>.csv`` or ``<id>.html`` (URL segments) as ``(id, format)``; None when it is neither."""
    stem, dot, suffix = value.rpartition(".")
    if not dot:
        stem, suffix = value, default
    if suffix not in FORMATS:
        return None
    try:
        return UUID(stem), suffix
    except ValueError:
        return None


# --------------------------------------------------------------------------------------- describing

_DESCRIPTIONS = {
    "commission_accrued": "Commission earned",
    "commission_reversed": "Commission reversed (refund or cancellation before approval)",
    "commission_clawback": "Commission clawed back (refund after approval)",
    "commission_approved": "Commission approved: pending to payable",
    "payout_returned": "Payout returned (transfer failed)",
}


def describe(kind: str, order_external_id: str | None) -> str:
    """What a line is, in English (pages translate the kind themselves)."""
    if kind in _DESCRIPTIONS:
        text = _DESCRIPTIONS[kind]
    elif kind.startswith("payout"):
        text = "Payout"
    else:
        text = kind.replace("_", " ").capitalize()
    return f"{text}, order {order_external_id}" if order_external_id else text


# --------------------------------------------------------------------------------------------- CSV

CSV_HEADER = (
    "partner_id",
    "period",
    "currency",
    "occurred_at",
    "kind",
    "description",
    "order_external_id",
    "entry_reference",
    "pending_change",
    "payable_change",
    "pending_balance",
    "payable_balance",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: str) -> str:
    """Text a spreadsheet would run as a formula (``=`` ``+`` ``-`` ``@`` tab CR) gets a leading ``'``."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def decimal_text(amount: int, currency: str) -> str:
    """Minor units as an exact major-unit decimal (``-12.50``, JPY ``1250``), never through a float."""
    value: Decimal = Money(amount, currency).to_decimal()
    return format(value, "f")


def statement_csv(statement: StatementFacts, tz: str) -> str:
    """The statement as CSV: a header, the opening balance, each line with running balances, the closing.

    Text cells (the shop's order ids above all) are made spreadsheet-safe; amounts are written by us
    as plain decimals, so a negative amount keeps its minus sign.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    c = statement.currency

    def row(at: datetime, texts: tuple[str, ...], change: Balances | None, after: Balances) -> None:
        changes = (
            ["", ""] if change is None else [decimal_text(change.pending, c), decimal_text(change.payable, c)]
        )
        writer.writerow(
            [spreadsheet_safe(t) for t in (str(statement.partner_id), statement.period, c)]
            + [to_local(at, tz).isoformat(timespec="seconds")]
            + [spreadsheet_safe(t) for t in texts]
            + changes
            + [decimal_text(after.pending, c), decimal_text(after.payable, c)]
        )

    row(statement.period_start, ("opening_balance", "Opening balance", "", ""), None, statement.opening)
    for line, after in zip(
        statement.lines, running_balances(statement.opening, statement.lines), strict=True
    ):
        texts = (
            line.kind,
            describe(line.kind, line.order_external_id),
            line.order_external_id or "",
            line.reference,
        )
        row(line.occurred_at, texts, line.change, after)
    row(statement.period_end, ("closing_balance", "Closing balance", "", ""), None, statement.closing)
    return buffer.getvalue()


def csv_filename(statement: StatementFacts) -> str:
    """``statement-2026-11-CNY-<partner id>.csv``."""
    return f"statement-{statement.period}-{statement.currency}-{statement.partner_id}.csv"
