from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payouts.statement.errors import InvalidPeriod, StatementDoesNotReconcile
from payouts.statement.rules import (
    Balances,
    LedgerFact,
    LineFacts,
    Period,
    StatementFacts,
    check_reconciles,
    decimal_text,
    describe,
    draft_statement,
    follows,
    group_by_partner,
    not_over_problem,
    parse_period,
    partner_account_of,
    period_bounds,
    running_balances,
    spreadsheet_safe,
    statement_csv,
    statement_lines,
    statement_ref,
)

PARTNER = UUID("0191b7a2-0000-7000-8000-000000000001")
PENDING, PAYABLE = f"partner:{PARTNER}:pending", f"partner:{PARTNER}:payable"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


class TestPeriodBounds:
    @pytest.mark.parametrize(
        ("year", "month", "tz", "start", "end"),
        [
            (2026, 11, "Asia/Shanghai", utc(2026, 10, 31, 16), utc(2026, 11, 30, 16)),
            (2026, 11, "UTC", utc(2026, 11, 1), utc(2026, 12, 1)),
            (2026, 12, "UTC", utc(2026, 12, 1), utc(2027, 1, 1)),
            (2026, 12, "Asia/Shanghai", utc(2026, 11, 30, 16), utc(2026, 12, 31, 16)),
            (2027, 1, "Asia/Shanghai", utc(2026, 12, 31, 16), utc(2027, 1, 31, 16)),
            (2028, 2, "UTC", utc(2028, 2, 1), utc(2028, 3, 1)),  # leap year
            # New York leaves summer time on 1 November: the month starts at -04:00 and ends at -05:00.
            (2026, 11, "America/New_York", utc(2026, 11, 1, 4), utc(2026, 12, 1, 5)),
        ],
    )
    def test_half_open_month_in_the_zone(
        self, year: int, month: int, tz: str, start: datetime, end: datetime
    ) -> None:
        assert period_bounds(year, month, tz) == (start, end)

    def test_consecutive_months_meet(self) -> None:
        for month in range(1, 12):
            assert (
                period_bounds(2026, month, "Asia/Shanghai")[1]
                == period_bounds(2026, month + 1, "Asia/Shanghai")[0]
            )
        assert period_bounds(2026, 12, "Asia/Shanghai")[1] == period_bounds(2027, 1, "Asia/Shanghai")[0]


class TestParsePeriod:
    @pytest.mark.parametrize(
        ("text", "period"), [("2026-11", Period(2026, 11)), ("2027-01", Period(2027, 1))]
    )
    def test_valid(self, text: str, period: Period) -> None:
        assert parse_period(text) == period
        assert str(parse_period(text)) == text

    @pytest.mark.parametrize(
        "text",
        [
            "2026-13",
            "2026-00",
            "26-11",
            "2026-1",
            "2026/11",
            "2026-11-01",
            "",
            " 2026-11",
            "2026-11\n",
            "1999-12",
            "\uff12\uff10\uff12\uff16-11",  # fullwidth digits
            "abcd-ef",
        ],
    )
    def test_invalid(self, text: str) -> None:
        with pytest.raises(InvalidPeriod) as raised:
            parse_period(text)
        assert raised.value.status_code == 422

    def test_periods_order_by_time(self) -> None:
        assert Period(2026, 12) < Period(2027, 1)
        assert follows("2026-12", Period(2027, 1))
        assert not follows("2026-12", Period(2026, 12)) and not follows("2027-01", Period(2026, 12))

    def test_a_month_is_issued_once_it_is_over(self) -> None:
        end = period_bounds(2026, 11, "Asia/Shanghai")[1]
        assert not_over_problem(Period(2026, 11), end, end) is None
        assert "not over" in (not_over_problem(Period(2026, 11), end, end - timedelta(microseconds=1)) or "")


def fact(
    entry: int, account: str, amount: int, kind: str = "commission_accrued", *, day: int = 1
) -> LedgerFact:
    return LedgerFact(
        line_id=uuid4(),
        entry_id=UUID(int=entry),
        reference=f"commission:{entry}:x",
        kind=kind,
        occurred_at=utc(2026, 11, day),
        account=account,
        amount=amount,
        currency="CNY",
    )


class TestStatementLines:
    def test_partner_accounts(self) -> None:
        assert partner_account_of(PENDING) == (PARTNER, "pending")
        assert partner_account_of(PAYABLE) == (PARTNER, "payable")
        for other in (
            f"partner:{PARTNER}:bonus",
            "partner:nope:pending",
            "customer:x:store_credit",
            "program:x",
        ):
            assert partner_account_of(other) is None

    def test_grouped_per_partner_and_currency(self) -> None:
        usd = LedgerFact(uuid4(), uuid4(), "r", "k", utc(2026, 11, 1), PENDING, -5, "USD")
        facts = [fact(1, PENDING, -100), fact(1, "program:commission_expense", 100), usd]
        groups = group_by_partner(facts)
        assert {key: len(v) for key, v in groups.items()} == {(PARTNER, "CNY"): 1, (PARTNER, "USD"): 1}

    def test_one_line_per_entry_from_the_partners_side(self) -> None:
        facts = [
            fact(2, PENDING, 10000, "commission_approved", day=3),  # debit pending: owed less while pending
            fact(2, PAYABLE, -10000, "commission_approved", day=3),  # credit payable: owed more
            fact(1, PENDING, -10000, day=2),
            fact(3, PAYABLE, 2500, "commission_clawback", day=4),
        ]
        lines = statement_lines(facts, {"commission:1:x": "o-1", "commission:2:x": "o-1"})
        assert [(li.kind, li.order_external_id, li.pending_change, li.payable_change) for li in lines] == [
            ("commission_accrued", "o-1", 10000, 0),
            ("commission_approved", "o-1", -10000, 10000),
            ("commission_clawback", None, 0, -2500),
        ]
        assert len(lines[1].ledger_line_ids) == 2

    def test_draft_adds_the_lines_to_the_opening(self) -> None:
        bounds = period_bounds(2026, 11, "UTC")
        draft = draft_statement(
            partner_id=PARTNER,
            period=Period(2026, 11),
            currency="CNY",
            bounds=bounds,
            opening=Balances(300, 1000),
            facts=[fact(1, PENDING, -500), fact(2, PAYABLE, 400, "payout_paid")],
            orders={},
        )
        assert draft.closing == Balances(800, 600)
        assert running_balances(draft.opening, draft.lines) == [Balances(800, 1000), Balances(800, 600)]

    def test_a_statement_that_does_not_add_up_is_refused(self) -> None:
        line = LineFacts(uuid4(), "r", "k", utc(2026, 11, 1), None, 5, 0)
        bad = StatementFacts(
            PARTNER, "2026-11", "CNY", utc(2026, 11, 1), utc(2026, 12, 1), Balances(), Balances(4, 0), (line,)
        )
        with pytest.raises(StatementDoesNotReconcile):
            check_reconciles(bad)

    @given(
        opening=st.tuples(st.integers(-(10**12), 10**12), st.integers(-(10**12), 10**12)),
        amounts=st.lists(
            st.tuples(st.sampled_from(["pending", "payable"]), st.integers(-(10**9), 10**9).filter(bool)),
            max_size=30,
        ),
    )
    def test_opening_plus_lines_is_closing(
        self, opening: tuple[int, int], amounts: list[tuple[str, int]]
    ) -> None:
        facts = [
            fact(i + 1, PENDING if bucket == "pending" else PAYABLE, amount)
            for i, (bucket, amount) in enumerate(amounts)
        ]
        draft = draft_statement(
            partner_id=PARTNER,
            period=Period(2026, 11),
            currency="CNY",
            bounds=period_bounds(2026, 11, "UTC"),
            opening=Balances(*opening),
            facts=facts,
            orders={},
        )
        check_reconciles(draft)
        assert draft.closing.pending == opening[0] - sum(a for b, a in amounts if b == "pending")
        assert draft.closing.payable == opening[1] - sum(a for b, a in amounts if b == "payable")
        assert (running_balances(draft.opening, draft.lines) or [draft.opening])[-1] == draft.closing


class TestCsv:
    @pytest.mark.parametrize(
        ("cell", "safe"),
        [
            ("=1+1", "'=1+1"),
            ("+86 123", "'+86 123"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("o-1", "o-1"),
            ("", ""),
        ],
    )
    def test_formulas_become_text(self, cell: str, safe: str) -> None:
        assert spreadsheet_safe(cell) == safe

    @pytest.mark.parametrize(
        ("amount", "currency", "text"),
        [
            (1250, "CNY", "12.50"),
            (-5, "CNY", "-0.05"),
            (0, "CNY", "0.00"),
            (1250, "JPY", "1250"),
            (1250, "KWD", "1.250"),
            (123456789012345, "USD", "1234567890123.45"),
        ],
    )
    def test_amounts_are_exact_decimals(self, amount: int, currency: str, text: str) -> None:
        assert decimal_text(amount, currency) == text

    def test_rows_with_running_balances(self) -> None:
        bounds = period_bounds(2026, 11, "Asia/Shanghai")
        draft = draft_statement(
            partner_id=PARTNER,
            period=Period(2026, 11),
            currency="CNY",
            bounds=bounds,
            opening=Balances(0, 100),
            facts=[fact(1, PENDING, -1999, day=5), fact(2, PAYABLE, 300, "commission_clawback", day=6)],
            orders={"commission:1:x": "-cmd|' /C calc'!A0"},
        )
        rows = list(csv.reader(io.StringIO(statement_csv(draft, "Asia/Shanghai"))))
        assert rows[0][:5] == ["partner_id", "period", "currency", "occurred_at", "kind"]
        assert rows[1][3:] == [
            "2026-11-01T00:00:00+08:00",
            "opening_balance",
            "Opening balance",
            "",
            "",
            "",
            "",
            "0.00",
            "1.00",
        ]
        assert rows[2][3:] == [
            "2026-11-05T08:00:00+08:00",
            "commission_accrued",
            "Commission earned, order -cmd|' /C calc'!A0",
            "'-cmd|' /C calc'!A0",
            "commission:1:x",
            "19.99",
            "0.00",
            "19.99",
            "1.00",
        ]
        assert rows[3][8:] == ["0.00", "-3.00", "19.99", "-2.00"]  # a negative amount stays a number
        assert rows[4][3:6] == ["2026-12-01T00:00:00+08:00", "closing_balance", "Closing balance"]
        assert rows[4][-2:] == ["19.99", "-2.00"]


class TestDescribeAndRefs:
    @pytest.mark.parametrize(
        ("kind", "order", "text"),
        [
            ("commission_accrued", "o-1", "Commission earned, order o-1"),
            ("commission_clawback", "o-1", "Commission clawed back (refund after approval), order o-1"),
            ("payout_paid", None, "Payout"),
            ("payout_reserved", None, "Payout"),
            ("payout_returned", None, "Payout returned (transfer failed)"),
            ("store_credit_used", None, "Store credit used"),
        ],
    )
    def test_describe(self, kind: str, order: str | None, text: str) -> None:
        assert describe(kind, order) == text

    def test_statement_refs(self) -> None:
        sid = uuid4()
        assert statement_ref(str(sid), default="json") == (sid, "json")
        assert statement_ref(f"{sid}.csv", default="json") == (sid, "csv")
        assert statement_ref(f"{sid}.html", default="json") == (sid, "html")
        assert statement_ref(str(sid), default="html") == (sid, "html")
        for bad in (f"{sid}.pdf", "nope", "nope.csv", ".csv", ""):
            assert statement_ref(bad, default="json") is None
