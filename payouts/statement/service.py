"""Partner statements: issued once per partner, month (program time zone) and currency, from the ledger.

Which ledger lines a statement carries: every line on the partner's ``pending`` and ``payable``
accounts that is dated before the end of the month **and is on no statement yet**. Each ledger
line is linked to the statement line that carries it under ``UNIQUE(ledger_line_id)``, so a line
is on exactly one statement and the database, not a clock, decides it.

So late events land on the next statement: a refund dated 30 November but recorded after the
November statement was issued is on no statement, is dated before the end of December, and is
carried by the December statement (marked as dated before its period). The alternative, comparing
an entry's ``created_at`` with the previous statement's ``issued_at``, loses entries: one created
just before the statement was issued, but committed just after (another process, a long
transaction), is neither seen by the issuer nor "new" for the next statement. Here nothing falls
between two statements, and the sum of a partner's statement lines is always the ledger balance
of every line they carry.

Opening balances are the previous statement's closing (0 for the first); the closing is the opening
plus the lines. Statements are chained by ``sequence`` under ``UNIQUE(partner_id, currency,
sequence)`` and are issued in month order; a month is issued only once it is over.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from growth.core.events.service import publish
from growth.core.money import Money
from growth.core.time import utc_now
from growth.ledger import service as ledger_service
from payouts.commission import service as commission_service
from payouts.partner import service as partner_service
from payouts.statement import repository
from payouts.statement.errors import PeriodNotOver, StatementDoesNotReconcile, StatementNotFound
from payouts.statement.models import Statement, StatementLine
from payouts.statement.rules import (
    BUCKETS,
    Balances,
    LineFacts,
    Period,
    StatementFacts,
    check_reconciles,
    follows,
    is_late,
    not_over_problem,
    owed_changes,
    parse_period,
    period_bounds,
    running_balances,
)
from payouts.statement.rules import csv_filename as _csv_filename
from payouts.statement.rules import statement_csv as _statement_csv

log = structlog.get_logger()
STATEMENT_ISSUED = "statement.issued"
"""Published for each statement issued; the partner is notified."""


# ------------------------------------------------------------------------------------------ issuing


@dataclass(frozen=True, slots=True)
class IssueResult:
    period: str
    issued: int
    """Statements written by this call."""
    skipped: int
    """Partners (per currency) whose statement for the period, or a later one, already exists."""


def _closing(statement: Statement) -> Balances:
    return Balances(statement.closing_pending, statement.closing_payable)


async def issue_statements(session: AsyncSession, *, period: str, now: datetime, tz: str) -> IssueResult:
    """Issue the month's statement of every partner with activity or a balance; issuing again adds nothing.

    Set-based: the unstated ledger lines are copied once inside the database, summed per account
    there, and the statement lines and their links to ledger lines are written with INSERT ... SELECT.
    Python holds one row per partner and currency (the statements), never the ledger lines.
    """
    month = parse_period(period)
    bounds = period_bounds(month.year, month.month, tz)
    if problem := not_over_problem(month, bounds[1], now):
        raise PeriodNotOver(problem, period=str(month))
    # The chains are read before the lines are copied: a statement another issuer commits in
    # between has carried lines we then do not see, and ours collides with its sequence (lost race).
    latest = {(s.partner_id, s.currency): s for s in await repository.latest_statements(session)}
    await repository.copy_unstated_lines(session, _unstated_lines_query(before=bounds[1]))
    sums = await repository.unstated_sums(session)
    changes, line_counts = owed_changes(sums)
    drafts, skipped = _drafts(month, bounds, latest, changes, line_counts)
    written = await _insert_statements(session, drafts, now=now)
    skipped += len(drafts) - len(written)
    await _write_lines(session, written, line_counts, now=now)
    for draft in written:
        await _publish_issued(session, draft, now=now)
    # On an error the caller rolls back, and the temporary tables' creation with it.
    await repository.drop_issue_tables(session)
    log.info("payouts.statement.issued", period=str(month), issued=len(written), skipped=skipped)
    return IssueResult(str(month), len(written), skipped)


@dataclass(frozen=True, slots=True)
class _Draft:
    """A statement to write: its row (id included) and how many ledger lines it carries."""

    row: dict[str, Any]
    carried: int


def _unstated_lines_query(*, before: datetime) -> Select[Any]:
    """Lines on partners' pending and payable accounts dated before ``before`` that no statement carries."""
    return ledger_service.lines_before_query(
        account_prefix="partner:",
        account_suffixes=tuple(f":{bucket}" for bucket in BUCKETS),
        before=before,
        excluding=repository.carried_ledger_line_ids(),
    )


def _drafts(
    month: Period,
    bounds: tuple[datetime, datetime],
    latest: dict[tuple[UUID, str], Statement],
    changes: dict[tuple[UUID, str], Balances],
    line_counts: dict[tuple[UUID, str], int],
) -> tuple[list[_Draft], int]:
    """The statements to write, in (partner, currency) order, and how many chains are past the month."""
    owing = {key for key, statement in latest.items() if not _closing(statement).is_zero}
    drafts, skipped = [], 0
    # The same order in every issuer, so two running at once wait for each other instead of deadlocking.
    for partner_id, currency in sorted(changes.keys() | owing):
        previous = latest.get((partner_id, currency))
        if previous is not None and not follows(previous.period, month):
            skipped += 1
            continue
        opening = _closing(previous) if previous else Balances()
        change = changes.get((partner_id, currency), Balances())
        carried = line_counts.get((partner_id, currency), 0)
        if carried == 0 and opening.is_zero:
            continue  # nothing happened and nothing is owed (is_worth_issuing)
        closing = opening + change
        row = {
            "id": uuid7(),
            "partner_id": partner_id,
            "period": str(month),
            "sequence": previous.sequence + 1 if previous else 1,
            "period_start": bounds[0],
            "period_end": bounds[1],
            "currency": currency,
            "opening_pending": opening.pending,
            "opening_payable": opening.payable,
            "closing_pending": closing.pending,
            "closing_payable": closing.payable,
        }
        drafts.append(_Draft(row, carried))
    if len(drafts) >= repository.MAX_STATEMENTS:
        raise ValueError(f"{len(drafts)} statements in one issue: at most {repository.MAX_STATEMENTS - 1}")
    return drafts, skipped


async def _insert_statements(session: AsyncSession, drafts: list[_Draft], *, now: datetime) -> list[_Draft]:
    """Write the statements; those a concurrent issuer's statements beat on the unique keys are left out."""
    stamp = utc_now()
    for draft in drafts:
        draft.row.update(issued_at=now, created_at=stamp, updated_at=stamp)
    try:
        async with session.begin_nested():
            await repository.insert_statements(session, [d.row for d in drafts])
        return drafts
    except IntegrityError:
        pass
    # Another issuer committed some of these partners' statements (this month, or the next in a chain)
    # while we built ours: theirs stand. One at a time, to keep the others.
    written = []
    for draft in drafts:
        try:
            async with session.begin_nested():
                await repository.insert_statements(session, [draft.row])
        except IntegrityError as exc:
            log.info(
                "payouts.statement.lost_race",
                partner_id=str(draft.row["partner_id"]),
                period=draft.row["period"],
                currency=draft.row["currency"],
                error=type(exc.orig).__name__,
            )
            continue
        written.append(draft)
    return written


async def _write_lines(
    session: AsyncSession, written: list[_Draft], line_counts: dict[tuple[UUID, str], int], *, now: datetime
) -> None:
    """Statement lines and the ledger lines they carry, set-based; the count is checked against the sums."""
    accounts = [
        {
            "account": ledger_service.partner_account(draft.row["partner_id"], bucket),
            "currency": draft.row["currency"],
            "bucket": bucket,
            "statement_id": draft.row["id"],
            "number": number,
        }
        for number, draft in enumerate(written, 1)
        if draft.carried
        for bucket in BUCKETS
    ]
    await repository.note_accounts(session, accounts)
    dialect = (await session.connection()).dialect.name
    stamp = utc_now()

    def order_external_id(reference: Any) -> Any:
        return commission_service.order_external_id_of_reference(reference, dialect_name=dialect)

    await repository.insert_lines(session, order_external_id=order_external_id, high=_id_high(), stamp=stamp)
    carried = await repository.insert_carried(session, high=_id_high(), stamp=stamp)
    expected = sum(draft.carried for draft in written)
    if carried != expected:  # the sums and the lines come from one copy: this is a bug, not a race
        raise StatementDoesNotReconcile(
            f"{len(written)} statements carry {carried} ledger lines; their sums counted {expected}"
        )


def _id_high() -> int:
    """The first 8 bytes (time and randomness) of a fresh uuid7, for ids written by INSERT ... SELECT."""
    return int.from_bytes(uuid7().bytes[:8], "big")


async def _publish_issued(session: AsyncSession, draft: _Draft, *, now: datetime) -> None:
    row = draft.row
    payload = {
        "statement_id": str(row["id"]),
        "partner_id": str(row["partner_id"]),
        "period": row["period"],
        "currency": row["currency"],
        "closing_payable": row["closing_payable"],
        "closing_pending": row["closing_pending"],
        "issued_at": now.isoformat(),
    }
    # The partner is told (e-mail, webhooks) once the statement is committed.
    await publish(session, STATEMENT_ISSUED, payload, now=now)


# ------------------------------------------------------------------------------------------ reading


@dataclass(frozen=True, slots=True)
class IssuedStatement:
    """A statement with its lines, as stored."""

    statement: Statement
    lines: list[StatementLine]

    @property
    def facts(self) -> StatementFacts:
        s = self.statement
        return StatementFacts(
            partner_id=s.partner_id,
            period=s.period,
            currency=s.currency,
            period_start=s.period_start,
            period_end=s.period_end,
            opening=Balances(s.opening_pending, s.opening_payable),
            closing=_closing(s),
            lines=tuple(
                LineFacts(
                    entry_id=line.entry_id,
                    reference=line.entry_reference,
                    kind=line.kind,
                    occurred_at=line.occurred_at,
                    order_external_id=line.order_external_id,
                    pending_change=line.pending_change,
                    payable_change=line.payable_change,
                )
                for line in self.lines
            ),
        )


async def get_statement(
    session: AsyncSession, statement_id: UUID, *, partner_id: UUID | None = None
) -> IssuedStatement:
    """One statement with its lines; with ``partner_id``, only that partner's (another's is not found)."""
    statement = await repository.get(session, statement_id)
    if statement is None or (partner_id is not None and statement.partner_id != partner_id):
        raise StatementNotFound(f"statement {statement_id} not found")
    issued = IssuedStatement(statement, await repository.lines_of(session, statement.id))
    check_reconciles(issued.facts)  # what was stored still adds up
    return issued


async def list_statements(
    session: AsyncSession,
    *,
    partner_id: UUID | None = None,
    period: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Statement]:
    """Statements, newest month first; ``period`` (``YYYY-MM``) is validated."""
    month = str(parse_period(period)) if period is not None else None
    return await repository.search(session, partner_id=partner_id, period=month, limit=limit, offset=offset)


@dataclass(frozen=True, slots=True)
class PeriodStatement:
    id: UUID
    closing_payable: int
    """What the partner was owed, approved, when the month ended (minor units)."""


async def statements_of_period(
    session: AsyncSession, *, period: str, currency: str
) -> dict[UUID, PeriodStatement]:
    """Each partner's statement for the month (``YYYY-MM``) and currency."""
    found = await repository.of_period(session, period=str(parse_period(period)), currency=currency)
    return {s.partner_id: PeriodStatement(s.id, s.closing_payable) for s in found}


def statement_csv(issued: IssuedStatement, *, tz: str) -> str:
    """The statement as CSV (decimal amounts, spreadsheet-safe text), times in the zone ``tz``."""
    return _statement_csv(issued.facts, tz)


def csv_filename(issued: IssuedStatement) -> str:
    """The download's file name."""
    return _csv_filename(issued.facts)


# ------------------------------------------------------------------------------------ printable page


@dataclass(frozen=True, slots=True)
class LineView:
    occurred_at: datetime
    kind: str
    order_external_id: str | None
    reference: str
    pending_change: Money
    payable_change: Money
    pending_balance: Money
    payable_balance: Money
    is_late: bool
    """Dated before the period: recorded after the statement of its own month was issued."""


@dataclass(frozen=True, slots=True)
class StatementView:
    id: UUID
    partner_id: UUID
    partner_name: str
    period: str
    sequence: int
    currency: str
    period_start: datetime
    period_end: datetime
    issued_at: datetime
    opening_pending: Money
    opening_payable: Money
    closing_pending: Money
    closing_payable: Money
    lines: list[LineView]
    has_late_lines: bool


async def statement_view(
    session: AsyncSession, statement_id: UUID, *, partner_id: UUID | None = None
) -> StatementView:
    """What the printable statement page shows: every amount as ``Money``, balances after each line."""
    issued = await get_statement(session, statement_id, partner_id=partner_id)
    s, facts = issued.statement, issued.facts
    partner = await partner_service.get_partner(session, s.partner_id)

    def money(amount: int) -> Money:
        return Money(amount, s.currency)

    lines = [
        LineView(
            occurred_at=line.occurred_at,
            kind=line.kind,
            order_external_id=line.order_external_id,
            reference=line.reference,
            pending_change=money(line.pending_change),
            payable_change=money(line.payable_change),
            pending_balance=money(after.pending),
            payable_balance=money(after.payable),
            is_late=is_late(line, s.period_start),
        )
        for line, after in zip(facts.lines, running_balances(facts.opening, facts.lines), strict=True)
    ]
    return StatementView(
        id=s.id,
        partner_id=s.partner_id,
        partner_name=partner.name,
        period=s.period,
        sequence=s.sequence,
        currency=s.currency,
        period_start=s.period_start,
        period_end=s.period_end,
        issued_at=s.issued_at,
        opening_pending=money(s.opening_pending),
        opening_payable=money(s.opening_payable),
        closing_pending=money(s.closing_pending),
        closing_payable=money(s.closing_payable),
        lines=lines,
        has_late_lines=any(line.is_late for line in lines),
    )
