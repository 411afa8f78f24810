"""Issuing statements from the ledger on a real database: balances, late events, idempotency, races."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from sqlalchemy import select

from growth.core.db import SessionMaker
from growth.ledger import service as ledger_service
from payouts.statement import service as statement_service
from payouts.statement.errors import InvalidPeriod, PeriodNotOver, StatementNotFound
from payouts.statement.models import Statement, StatementLedgerLine, StatementLine
from tests.payouts.statement.conftest import Program, at, closing, october, summary

OCT_OVER = at("2025-11-02T09:00+08:00")
NOV_OVER = at("2025-12-02T09:00+08:00")
DEC_OVER = at("2026-01-02T09:00+08:00")


class TestIssueStatements:
    async def test_a_month_of_accruals_approval_and_a_partial_refund(self, program: Program) -> None:
        p = await october(program)

        result = await program.issue("2025-10", now=OCT_OVER)

        assert (result.period, result.issued, result.skipped) == ("2025-10", 1, 0)
        [october_statement] = await program.statements(p)
        assert summary(october_statement) == [
            ("commission_accrued", "o-1", 10000, 0),
            ("commission_accrued", "o-2", 5000, 0),
            ("commission_approved", "o-1", -10000, 10000),
            ("commission_reversed", "o-2", -2000, 0),
        ]
        s = october_statement.statement
        assert (s.opening_pending, s.opening_payable, s.sequence, s.currency) == (0, 0, 1, "CNY")
        assert closing(october_statement) == {"pending": 3000, "payable": 10000}
        assert await program.balances(p) == {("pending", "CNY"): 3000, ("payable", "CNY"): 10000}
        # Month cut in Shanghai: 1 October 00:00 +08:00 is 30 September 16:00 UTC.
        assert (s.period_start, s.period_end) == (at("2025-09-30T16:00Z"), at("2025-10-31T16:00Z"))
        assert s.issued_at == OCT_OVER

    async def test_the_month_is_cut_in_the_program_time_zone(self, program: Program) -> None:
        p = await program.partner()
        await program.order(p, "late-oct", 10000, at("2025-10-31T23:59:59+08:00"))
        await program.order(p, "early-nov", 20000, at("2025-11-01T00:00:00+08:00"))  # still 31 Oct in UTC

        await program.issue("2025-10", now=OCT_OVER)
        await program.issue("2025-11", now=NOV_OVER)

        oct_, nov = await program.statements(p)
        assert [line.order_external_id for line in oct_.lines] == ["late-oct"]
        assert [line.order_external_id for line in nov.lines] == ["early-nov"]
        assert (nov.statement.opening_pending, nov.statement.closing_pending) == (1000, 3000)

    async def test_issuing_twice_creates_nothing_new(self, program: Program) -> None:
        await october(program)
        await program.issue("2025-10", now=OCT_OVER)

        again = await program.issue("2025-10", now=NOV_OVER)

        assert (again.issued, again.skipped) == (0, 1)
        assert await program.statement_count() == 1

    async def test_a_refund_dated_in_an_issued_month_lands_on_the_next_statement(
        self, program: Program
    ) -> None:
        p = await october(program)
        await program.issue("2025-10", now=OCT_OVER)
        [before] = await program.statements(p)

        # Recorded after October was issued, but dated 30 October: o-1 was approved, so it is clawed back.
        await program.event("o-1", "refunded", at("2025-10-30T10:00+08:00"), amount=50000)
        await program.order(p, "o-3", 30000, at("2025-11-05T10:00+08:00"))
        assert (await program.issue("2025-10", now=NOV_OVER)).issued == 0
        await program.issue("2025-11", now=NOV_OVER)

        oct_, nov = await program.statements(p)
        assert summary(oct_) == summary(before) and closing(oct_) == closing(before)  # never changes
        assert summary(nov) == [
            ("commission_clawback", "o-1", 0, -5000),
            ("commission_accrued", "o-3", 3000, 0),
        ]
        assert (nov.statement.opening_pending, nov.statement.opening_payable) == (3000, 10000)
        assert closing(nov) == {"pending": 6000, "payable": 5000}
        assert await program.balances(p) == {("pending", "CNY"): 6000, ("payable", "CNY"): 5000}
        view = await _view(program, nov.statement.id)
        assert [line.is_late for line in view.lines] == [True, False] and view.has_late_lines

    async def test_balances_equal_the_sum_of_statement_lines(self, program: Program) -> None:
        p = await october(program)
        await program.issue("2025-10", now=OCT_OVER)
        await program.event("o-2", "closed", at("2025-11-03T10:00+08:00"))
        await program.approve(at("2025-11-04T10:00+08:00"))
        payable = ledger_service.partner_account(p.id, "payable")
        in_payout = ledger_service.partner_account(p.id, "in_payout")
        # A payout run (dated in December): reserving takes it off payable; sending it is no partner balance.
        await program.post(
            "payout:1:reserved",
            "payout_reserved",
            [(payable, 13000, "CNY"), (in_payout, -13000, "CNY")],
            NOV_OVER,
        )
        await program.post(
            "payout:1:sent",
            "payout_sent",
            [(in_payout, 13000, "CNY"), ("provider:bank:clearing", -13000, "CNY")],
            NOV_OVER,
        )
        await program.issue("2025-11", now=NOV_OVER)
        await program.issue("2025-12", now=DEC_OVER)

        statements = await program.statements(p)
        assert [s.statement.period for s in statements] == ["2025-10", "2025-11", "2025-12"]
        for earlier, later in itertools.pairwise(statements):
            assert (later.statement.opening_pending, later.statement.opening_payable) == (
                earlier.statement.closing_pending,
                earlier.statement.closing_payable,
            )
        totals = {
            state: sum(getattr(line, f"{state}_change") for s in statements for line in s.lines)
            for state in ("pending", "payable")
        }
        assert totals == closing(statements[-1]) == {"pending": 0, "payable": 0}
        assert summary(statements[-1]) == [("payout_reserved", None, 0, -13000)]
        assert await program.balances(p) == {
            ("pending", "CNY"): 0,
            ("payable", "CNY"): 0,
            ("in_payout", "CNY"): 0,
        }

    async def test_a_balance_alone_gets_a_statement_and_nothing_owed_gets_none(
        self, program: Program
    ) -> None:
        owing = await october(program)
        settled = await program.partner("Settled Ltd")
        await program.order(settled, "s-1", 10000, at("2025-10-03T10:00+08:00"))
        await program.event("s-1", "cancelled", at("2025-10-04T10:00+08:00"))
        await program.issue("2025-10", now=OCT_OVER)

        quiet = await program.issue("2025-11", now=NOV_OVER)

        assert (quiet.issued, quiet.skipped) == (1, 0)
        *_, nov = await program.statements(owing)
        assert (nov.lines, closing(nov)) == ([], {"pending": 3000, "payable": 10000})
        assert [s.statement.period for s in await program.statements(settled)] == ["2025-10"]

    async def test_the_first_statement_carries_earlier_unissued_activity(self, program: Program) -> None:
        p = await october(program)

        await program.issue("2025-11", now=NOV_OVER)
        earlier = await program.issue("2025-10", now=NOV_OVER)  # too late: November already carries it

        [nov] = await program.statements(p)
        assert nov.statement.period == "2025-11" and len(nov.lines) == 4
        assert (earlier.issued, earlier.skipped) == (0, 1)

    async def test_one_statement_per_currency(self, program: Program) -> None:
        p = await program.partner()
        await program.order(p, "o-1", 10000, at("2025-10-10T10:00+08:00"))
        pending = ledger_service.partner_account(p.id, "pending")
        await program.post(
            "bonus:usd",
            "bonus",
            [("program:bonus", 700, "USD"), (pending, -700, "USD")],
            at("2025-10-11T00:00Z"),
        )

        assert (await program.issue("2025-10", now=OCT_OVER)).issued == 2

        found = {s.statement.currency: closing(s) for s in await program.statements(p)}
        assert found == {"CNY": {"pending": 1000, "payable": 0}, "USD": {"pending": 700, "payable": 0}}

    @pytest.mark.parametrize("period", ["2025-12", "2026-01"])
    async def test_a_month_that_is_not_over_is_refused(self, program: Program, period: str) -> None:
        with pytest.raises(PeriodNotOver):
            await program.issue(period, now=at("2025-12-31T23:59:59+08:00"))
        assert (await program.issue("2025-12", now=at("2026-01-01T00:00+08:00"))).issued == 0

    @pytest.mark.parametrize("period", ["2025-13", "25-11", "2025/11", ""])
    async def test_a_malformed_period_is_refused(self, program: Program, period: str) -> None:
        with pytest.raises(InvalidPeriod):
            await program.issue(period, now=OCT_OVER)


class TestSetBasedIssuing:
    """Issuing writes lines with INSERT ... SELECT: what the row-by-row version did, on both engines."""

    async def test_an_entry_on_two_partners_is_a_line_on_each_statement(self, program: Program) -> None:
        first, second = await program.partner("First"), await program.partner("Second")
        first_pending = ledger_service.partner_account(first.id, "pending")
        second_pending = ledger_service.partner_account(second.id, "pending")
        await program.post(
            "transfer:1",
            "commission_transferred",
            [(first_pending, 400, "CNY"), (second_pending, -400, "CNY")],
            at("2025-10-11T00:00Z"),
        )

        assert (await program.issue("2025-10", now=OCT_OVER)).issued == 2

        [mine], [theirs] = await program.statements(first), await program.statements(second)
        assert summary(mine) == [("commission_transferred", None, -400, 0)]
        assert summary(theirs) == [("commission_transferred", None, 400, 0)]

    async def test_references_that_name_no_commission_have_no_order(self, program: Program) -> None:
        p = await program.partner()
        pending = ledger_service.partner_account(p.id, "pending")
        for n, reference in enumerate(["commission:not-a-uuid:accrued", "commission", "bonus:x:y"]):
            await program.post(
                reference,
                "bonus",
                [("program:bonus", 100, "CNY"), (pending, -100, "CNY")],
                at(f"2025-10-1{n}T00:00Z"),
            )
        await program.order(p, "o-1", 10000, at("2025-10-20T10:00+08:00"))

        await program.issue("2025-10", now=OCT_OVER)

        [issued] = await program.statements(p)
        assert [(line.entry_reference, line.order_external_id) for line in issued.lines][:3] == [
            ("commission:not-a-uuid:accrued", None),
            ("commission", None),
            ("bonus:x:y", None),
        ]
        assert issued.lines[3].order_external_id == "o-1"

    async def test_ids_are_distinct_across_issues(
        self, program: Program, session_maker: SessionMaker
    ) -> None:
        p = await october(program)
        await program.issue("2025-10", now=OCT_OVER)
        await program.order(p, "o-3", 30000, at("2025-11-05T10:00+08:00"))
        await program.issue("2025-11", now=NOV_OVER)

        async with session_maker() as s:
            ids = list(await s.scalars(select(StatementLine.id)))
            carried = list(await s.scalars(select(StatementLedgerLine.id)))
        assert len(ids) == len(set(ids)) == 5 and len(carried) == len(set(carried)) == 6
        assert {i.version for i in ids + carried} == {7}


class TestIssuedStatementsNeverChange:
    async def test_rows_refuse_updates_and_deletes(
        self, program: Program, session_maker: SessionMaker
    ) -> None:
        await october(program)
        await program.issue("2025-10", now=OCT_OVER)

        async with session_maker() as s:
            statement = await s.scalar(select(Statement))
            assert statement is not None
            statement.closing_payable += 1
            with pytest.raises(TypeError, match="insert-only"):
                await s.flush()
        async with session_maker() as s:
            line = await s.scalar(select(StatementLine))
            await s.delete(line)
            with pytest.raises(TypeError, match="insert-only"):
                await s.flush()


class TestReading:
    async def test_another_partners_statement_is_not_found(self, program: Program) -> None:
        p = await october(program)
        other = await program.partner("Other")
        await program.issue("2025-10", now=OCT_OVER)
        [mine] = await program.statements(p)

        async with program.session_maker() as s:
            assert (await statement_service.get_statement(s, mine.statement.id, partner_id=p.id)).lines
            with pytest.raises(StatementNotFound):
                await statement_service.get_statement(s, mine.statement.id, partner_id=other.id)

    async def test_csv(self, program: Program) -> None:
        p = await program.partner()
        await program.order(p, '=HYPERLINK("http://evil")', 12345, at("2025-10-10T10:00+08:00"))
        await program.issue("2025-10", now=OCT_OVER)
        [issued] = await program.statements(p)

        text = statement_service.statement_csv(issued, tz="Asia/Shanghai")

        rows = text.split("\r\n")
        assert rows[0].startswith("partner_id,period,currency,occurred_at,kind,")
        assert rows[1].endswith(",2025-10-01T00:00:00+08:00,opening_balance,Opening balance,,,,,0.00,0.00")
        assert ",2025-10-10T10:00:00+08:00,commission_accrued," in rows[2]
        assert '"\'=HYPERLINK(""http://evil"")"' in rows[2]  # a formula is text, not run
        assert rows[2].endswith(",12.35,0.00,12.35,0.00")  # 10% of 123.45, half away from zero
        assert rows[3].endswith(",2025-11-01T00:00:00+08:00,closing_balance,Closing balance,,,,,12.35,0.00")
        assert rows[4:] == [""]
        assert statement_service.csv_filename(issued) == f"statement-2025-10-CNY-{p.id}.csv"


class TestConcurrentIssuing:
    async def test_two_issuers_of_one_month_one_wins(
        self, program: Program, session_maker: SessionMaker, postgres_only: None
    ) -> None:
        await october(program)
        await program.partner("Quiet")  # no activity: no statement
        second = await program.partner("Second")
        await program.order(second, "x-1", 10000, at("2025-10-20T10:00+08:00"))

        async with session_maker() as first_session, session_maker() as second_session:
            first = await statement_service.issue_statements(
                first_session, period="2025-10", now=OCT_OVER, tz="Asia/Shanghai"
            )
            racing = asyncio.create_task(
                statement_service.issue_statements(
                    second_session, period="2025-10", now=OCT_OVER, tz="Asia/Shanghai"
                )
            )
            await asyncio.sleep(0.5)
            assert not racing.done()  # waits on the first issuer's unique keys
            await first_session.commit()
            late = await racing
            await second_session.commit()

        assert (first.issued, first.skipped, late.issued, late.skipped) == (2, 0, 0, 2)
        assert await program.statement_count() == 2

    async def test_two_months_issued_at_once_for_one_partner_one_wins(
        self, program: Program, session_maker: SessionMaker, postgres_only: None
    ) -> None:
        p = await october(program)

        async with session_maker() as oct_session, session_maker() as nov_session:
            oct_ = await statement_service.issue_statements(
                oct_session, period="2025-10", now=NOV_OVER, tz="Asia/Shanghai"
            )
            racing = asyncio.create_task(
                statement_service.issue_statements(
                    nov_session, period="2025-11", now=NOV_OVER, tz="Asia/Shanghai"
                )
            )
            await asyncio.sleep(0.5)
            await oct_session.commit()
            nov = await racing
            await nov_session.commit()

        assert (oct_.issued, nov.issued, nov.skipped) == (1, 0, 1)
        [only] = await program.statements(p)
        assert only.statement.period == "2025-10"
        assert (await program.issue("2025-11", now=NOV_OVER)).issued == 1  # issuing again continues the chain


async def _view(program: Program, statement_id: object) -> statement_service.StatementView:
    async with program.session_maker() as s:
        return await statement_service.statement_view(s, statement_id)  # type: ignore[arg-type]
