"""Pure ledger rules: what a balanced entry is and how a reversal mirrors one."""

from __future__ import annotations

import re
from uuid import UUID

import pytest

from growth.ledger.rules import (
    Line,
    UnbalancedEntry,
    campaign_expense_account,
    check_entry,
    customer_account,
    liability_balance,
    reversal_of,
    unbalanced_currencies,
)

EXPENSE = "campaign:c1:reward_expense"
CREDIT = "customer:u1:store_credit"


class TestCheckEntry:
    @pytest.mark.parametrize(
        "lines",
        [
            pytest.param([Line(EXPENSE, 2000, "CNY"), Line(CREDIT, -2000, "CNY")], id="two-lines"),
            pytest.param(
                [Line(EXPENSE, 2000, "CNY"), Line(CREDIT, -1500, "CNY"), Line("x", -500, "CNY")],
                id="three-lines",
            ),
            pytest.param(
                [
                    Line(EXPENSE, 2000, "CNY"),
                    Line(CREDIT, -2000, "CNY"),
                    Line(EXPENSE, 300, "USD"),
                    Line(CREDIT, -300, "USD"),
                ],
                id="two-currencies-each-balanced",
            ),
            pytest.param([Line(EXPENSE, 1, "JPY"), Line(CREDIT, -1, "JPY")], id="one-minor-unit"),
        ],
    )
    def test_balanced_entry_passes(self, lines: list[Line]) -> None:
        check_entry(lines)

    @pytest.mark.parametrize(
        ("lines", "message"),
        [
            pytest.param(
                [Line(EXPENSE, 2000, "CNY"), Line(CREDIT, -1999, "CNY")],
                "do not sum to zero: {'CNY': 1}",
                id="unbalanced",
            ),
            pytest.param([Line(EXPENSE, 2000, "CNY")], "at least two lines", id="single-line"),
            pytest.param([], "at least two lines", id="no-lines"),
            pytest.param(
                [Line(EXPENSE, 0, "CNY"), Line(CREDIT, 0, "CNY")], "non-zero integer", id="zero-amount"
            ),
            pytest.param(
                [Line(EXPENSE, True, "CNY"), Line(CREDIT, -1, "CNY")], "non-zero integer", id="bool-amount"
            ),
            pytest.param(
                [Line(EXPENSE, 1.0, "CNY"), Line(CREDIT, -1.0, "CNY")],  # type: ignore[arg-type]
                "non-zero integer",
                id="float-amount",
            ),
            pytest.param(
                [Line(EXPENSE, 100, "cny"), Line(CREDIT, -100, "cny")], "bad currency 'cny'", id="lowercase"
            ),
            pytest.param(
                [Line(EXPENSE, 100, "CNYX"), Line(CREDIT, -100, "CNYX")], "bad currency", id="four-letters"
            ),
            pytest.param(
                [Line(EXPENSE, 2000, "CNY"), Line(CREDIT, -2000, "USD")],
                "{'CNY': 2000, 'USD': -2000}",
                id="two-currencies-unbalanced",
            ),
        ],
    )
    def test_unbalanced_or_malformed_entry_is_refused(self, lines: list[Line], message: str) -> None:
        with pytest.raises(UnbalancedEntry, match=re.escape(message)):
            check_entry(lines)

    def test_unbalanced_entry_is_a_value_error(self) -> None:
        assert issubclass(UnbalancedEntry, ValueError)


class TestUnbalancedCurrencies:
    @pytest.mark.parametrize(
        ("lines", "expected"),
        [
            ([], {}),
            ([Line(EXPENSE, 5, "CNY"), Line(CREDIT, -5, "CNY")], {}),
            ([Line(EXPENSE, 5, "CNY"), Line(CREDIT, -4, "CNY")], {"CNY": 1}),
            ([Line(EXPENSE, -5, "CNY")], {"CNY": -5}),
            (
                [Line(EXPENSE, 5, "USD"), Line(CREDIT, -5, "USD"), Line(EXPENSE, 7, "EUR")],
                {"EUR": 7},
            ),
            ([Line(EXPENSE, 5, "USD"), Line(EXPENSE, 7, "EUR")], {"EUR": 7, "USD": 5}),
        ],
    )
    def test_sums_per_currency_that_are_not_zero(self, lines: list[Line], expected: dict[str, int]) -> None:
        assert unbalanced_currencies(lines) == expected

    def test_currencies_come_sorted(self) -> None:
        lines = [Line(EXPENSE, 1, "USD"), Line(EXPENSE, 1, "CNY"), Line(EXPENSE, 1, "EUR")]

        assert list(unbalanced_currencies(lines)) == ["CNY", "EUR", "USD"]


class TestReversalOf:
    @pytest.mark.parametrize(
        ("lines", "expected"),
        [
            (
                [Line(EXPENSE, 2000, "CNY"), Line(CREDIT, -2000, "CNY")],
                [Line(EXPENSE, -2000, "CNY"), Line(CREDIT, 2000, "CNY")],
            ),
            (
                [Line(EXPENSE, 7, "JPY"), Line(CREDIT, -3, "JPY"), Line("other", -4, "JPY")],
                [Line(EXPENSE, -7, "JPY"), Line(CREDIT, 3, "JPY"), Line("other", 4, "JPY")],
            ),
            ([], []),
        ],
    )
    def test_mirrors_every_line(self, lines: list[Line], expected: list[Line]) -> None:
        assert reversal_of(lines) == expected

    def test_entry_plus_its_reversal_sums_to_zero_per_account(self) -> None:
        lines = [Line(EXPENSE, 2000, "CNY"), Line(CREDIT, -2000, "CNY"), Line(EXPENSE, 9, "USD")]

        both = lines + reversal_of(lines)

        assert unbalanced_currencies(both) == {}
        assert sum(line.amount for line in both if line.account == EXPENSE) == 0

    def test_reversal_of_a_balanced_entry_is_balanced(self) -> None:
        lines = [Line(EXPENSE, 2000, "CNY"), Line(CREDIT, -2000, "CNY")]

        check_entry(reversal_of(lines))


class TestAccounts:
    def test_account_names(self) -> None:
        some = UUID("00000000-0000-0000-0000-000000000001")

        assert customer_account(some, "store_credit") == f"customer:{some}:store_credit"
        assert customer_account(some, "cash_payable") == f"customer:{some}:cash_payable"
        assert campaign_expense_account(some) == f"campaign:{some}:reward_expense"

    @pytest.mark.parametrize(("sum_", "owed"), [(-2000, 2000), (0, 0), (500, -500)])
    def test_liability_is_credits_minus_debits(self, sum_: int, owed: int) -> None:
        assert liability_balance(sum_) == owed
