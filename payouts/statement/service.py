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
from uuid import UUID

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.events.service import publish
from growth.core.money import Money
from growth.ledger import service as ledger_service
from payouts.commission import service as commission_service
from payouts.partner import service as partner_service
from payouts.statement import repository
from payouts.statement.errors import PeriodNotOver, StatementNotFound
from payouts.statement.models import Statement, StatementLedgerLine, StatementLine
from payouts.statement.rules import (
    BUCKETS,
    Balances,
    LedgerFact,
    LineFacts,
    StatementFacts,
    check_reconciles,
    draft_statement,
    follows,
    group_by_partner,
    is_late,
    is_worth_issuing,
    not_over_problem,
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
    """Issue the month's statement of every partner with activity or a balance; issuing again adds nothing."""
    month = parse_period(period)
    bounds = period_bounds(month.year, month.month, tz)
    if problem := not_over_problem(month, bounds[1], now):
        raise PeriodNotOver(problem, period=str(month))
    facts = group_by_partner(await _unstated_lines(session, before=bounds[1]))
    latest = {(s.partner_id, s.currency): s for s in await repository.latest_statements(session)}
    owing = {key for key, statement in latest.items() if not _closing(statement).is_zero}
    references = {fact.reference for group in facts.values() for fact in group}
    orders = await commission_service.order_external_ids_for_entries(session, references)
    issued = skipped = 0
    # The same order in every issuer, so two running at once wait for each other instead of deadlocking.
    for partner_id, currency in sorted(facts.keys() | owing):
        previous = latest.get((partner_id, currency))
        if previous is not None and not follows(previous.period, month):
            skipped += 1
            continue
        draft = draft_statement(
            partner_id=partner_id,
            period=month,
            currency=currency,
            bounds=bounds,
            opening=_closing(previous) if previous else Balances(),
            facts=facts.get((partner_id, currency), []),
            orders=orders,
        )
        if not is_worth_issuing(draft):
            continue
        if await _insert(session, draft, sequence=previous.sequence + 1 if previous else 1, now=now):
            issued += 1
        else:
            skipped += 1
    log.info("payouts.statement.issued", period=str(month), issued=issued, skipped=skipped)
    return IssueResult(str(month), issued, skipped)


async def _unstated_lines(session: AsyncSession, *, before: datetime) -> list[LedgerFact]:
    """Lines on partners' pending and payable accounts dated before ``before`` that no statement carries."""
    posted = await ledger_service.lines_before(
        session,
        account_prefix="partner:",
        account_suffixes=tuple(f":{bucket}" for bucket in BUCKETS),
        before=before,
        excluding=repository.carried_ledger_line_ids(),
    )
    return [
        LedgerFact(p.line_id, p.entry_id, p.reference, p.kind, p.occurred_at, p.account, p.amount, p.currency)
        for p in posted
    ]


async def _insert(session: AsyncSession, draft: StatementFacts, *, sequence: int, now: datetime) -> bool:
    """Write one statement; False when a concurrent issuer's statement won the unique constraints."""
    statement = Statement(
        partner_id=draft.partner_id,
        period=draft.period,
        sequence=sequence,
        period_start=draft.period_start,
        period_end=draft.period_end,
        currency=draft.currency,
        opening_pending=draft.opening.pending,
        opening_payable=draft.opening.payable,
        closing_pending=draft.closing.pending,
        closing_payable=draft.closing.payable,
        issued_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(statement)
            await session.flush()
            rows = [_line_row(statement.id, position, line) for position, line in enumerate(draft.lines, 1)]
            session.add_all(rows)
            await session.flush()
            session.add_all(
                StatementLedgerLine(statement_line_id=row.id, ledger_line_id=ledger_line_id)
                for row, line in zip(rows, draft.lines, strict=True)
                for ledger_line_id in line.ledger_line_ids
            )
            await session.flush()
    except IntegrityError as exc:
        # Another issuer committed this partner's statement (this month, or the next in its chain,
        # or one carrying the same ledger lines) while we built ours: theirs stands.
        log.info(
            "payouts.statement.lost_race",
            partner_id=str(draft.partner_id),
            period=draft.period,
            currency=draft.currency,
            error=type(exc.orig).__name__,
        )
        return False
    payload = {
        "statement_id": str(statement.id),
        "partner_id": str(statement.partner_id),
        "period": statement.period,
        "currency": statement.currency,
        "closing_payable": statement.closing_payable,
        "closing_pending": statement.closing_pending,
        "issued_at": now.isoformat(),
    }
    # The partner is told (e-mail, webhooks) once the statement is committed.
    await publish(session, STATEMENT_ISSUED, payload, now=now)
    return True


def _line_row(statement_id: UUID, position: int, line: LineFacts) -> StatementLine:
    return StatementLine(
        statement_id=statement_id,
        position=position,
        entry_id=line.entry_id,
        entry_reference=line.reference,
        kind=line.kind,
        order_external_id=line.order_external_id,
        occurred_at=line.occurred_at,
        pending_change=line.pending_change,
        payable_change=line.payable_change,
    )


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
