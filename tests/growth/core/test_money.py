"""Money: integer minor units, one rounding rule (half away from zero), no floats, no mixed currencies."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest

from growth.core.money import CurrencyMismatch, Money, currency_exponent, round_half_away_from_zero


class TestRoundHalfAwayFromZero:
    @pytest.mark.parametrize(
        ("numerator", "denominator", "expected"),
        [
            (0, 10, 0),
            (10, 10, 1),
            (14, 10, 1),
            (15, 10, 2),  # exact .5 goes up
            (16, 10, 2),
            (25, 10, 3),  # not banker's rounding (which would give 2)
            (-14, 10, -1),
            (-15, 10, -2),  # exact -.5 goes down, away from zero
            (-25, 10, -3),
            (-16, 10, -2),
            (5, 10, 1),
            (-5, 10, -1),
            (4, 10, 0),
            (-4, 10, 0),
            (1, 3, 0),
            (2, 3, 1),
            (-2, 3, -1),
            (1, 2, 1),
            (-1, 2, -1),
            (5_000, 10_000, 1),
            (4_999, 10_000, 0),
            (-5_000, 10_000, -1),
            (12_500_000, 10_000, 1_250),
            (10**30 + 5, 10, 10**29 + 1),  # big ints stay exact
        ],
    )
    def test_positive_denominator(self, numerator: int, denominator: int, expected: int) -> None:
        assert round_half_away_from_zero(numerator, denominator) == expected

    @pytest.mark.parametrize(
        ("numerator", "denominator", "expected"),
        [
            (15, -10, -2),
            (-15, -10, 2),
            (14, -10, -1),
            (-14, -10, 1),
            (5, -10, -1),
            (-5, -10, 1),
            (0, -7, 0),
        ],
    )
    def test_negative_denominator(self, numerator: int, denominator: int, expected: int) -> None:
        assert round_half_away_from_zero(numerator, denominator) == expected

    @pytest.mark.parametrize("numerator", [0, 1, -1, 10**20])
    def test_zero_denominator_raises(self, numerator: int) -> None:
        with pytest.raises(ZeroDivisionError):
            round_half_away_from_zero(numerator, 0)

    @pytest.mark.parametrize(
        ("numerator", "denominator"), list(itertools.product(range(-25, 26), [1, 2, 3, 4, 10]))
    )
    def test_symmetric_around_zero(self, numerator: int, denominator: int) -> None:
        assert round_half_away_from_zero(-numerator, denominator) == -round_half_away_from_zero(
            numerator, denominator
        )


class TestMoneyConstruction:
    @pytest.mark.parametrize(
        ("amount", "currency"),
        [(0, "USD"), (1250, "CNY"), (-1250, "CNY"), (100, "JPY"), (1234, "KWD"), (10**18, "EUR")],
    )
    def test_accepts_int_minor_units_and_iso_code(self, amount: int, currency: str) -> None:
        money = Money(amount, currency)
        assert (money.amount, money.currency) == (amount, currency)

    @pytest.mark.parametrize("amount", [1.0, 12.5, 0.0, True, False, Decimal("12"), "12", None])
    def test_refuses_non_int_amount(self, amount: Any) -> None:
        with pytest.raises(TypeError):
            Money(amount, "USD")

    @pytest.mark.parametrize("currency", ["XYZ", "usd", "Usd", "US", "USDD", "", " USD", "人民币", "123"])
    def test_refuses_unknown_currency(self, currency: str) -> None:
        with pytest.raises(ValueError, match="unknown currency"):
            Money(100, currency)

    def test_zero(self) -> None:
        assert Money.zero("EUR") == Money(0, "EUR")

    def test_is_immutable(self) -> None:
        money = Money(100, "EUR")
        with pytest.raises(AttributeError):
            money.amount = 200  # type: ignore[misc]


class TestArithmetic:
    @pytest.mark.parametrize(
        ("left", "right", "total", "difference"),
        [
            (Money(1250, "CNY"), Money(750, "CNY"), Money(2000, "CNY"), Money(500, "CNY")),
            (Money(100, "JPY"), Money(-300, "JPY"), Money(-200, "JPY"), Money(400, "JPY")),
            (Money(0, "EUR"), Money(0, "EUR"), Money(0, "EUR"), Money(0, "EUR")),
        ],
    )
    def test_add_and_subtract_same_currency(
        self, left: Money, right: Money, total: Money, difference: Money
    ) -> None:
        assert left + right == total
        assert left - right == difference

    def test_neg(self) -> None:
        assert -Money(125, "CNY") == Money(-125, "CNY")
        assert -Money(-125, "CNY") == Money(125, "CNY")

    @pytest.mark.parametrize(
        ("left", "right", "lt", "le", "gt", "ge"),
        [
            (Money(1, "EUR"), Money(2, "EUR"), True, True, False, False),
            (Money(2, "EUR"), Money(2, "EUR"), False, True, False, True),
            (Money(3, "EUR"), Money(2, "EUR"), False, False, True, True),
            (Money(-3, "EUR"), Money(-2, "EUR"), True, True, False, False),
        ],
    )
    def test_comparisons(self, left: Money, right: Money, lt: bool, le: bool, gt: bool, ge: bool) -> None:
        assert (left < right, left <= right, left > right, left >= right) == (lt, le, gt, ge)

    @pytest.mark.parametrize(
        "operation",
        [
            pytest.param(lambda a, b: a + b, id="add"),
            pytest.param(lambda a, b: a - b, id="sub"),
            pytest.param(lambda a, b: a < b, id="lt"),
            pytest.param(lambda a, b: a <= b, id="le"),
            pytest.param(lambda a, b: a > b, id="gt"),
            pytest.param(lambda a, b: a >= b, id="ge"),
        ],
    )
    @pytest.mark.parametrize(
        ("left", "right"),
        [
            (Money(100, "USD"), Money(100, "EUR")),
            (Money(100, "CNY"), Money(100, "JPY")),
            (Money(0, "EUR"), Money(0, "KWD")),
        ],
    )
    def test_currency_mismatch(self, operation: Any, left: Money, right: Money) -> None:
        with pytest.raises(CurrencyMismatch):
            operation(left, right)

    def test_currency_mismatch_is_a_value_error(self) -> None:
        assert issubclass(CurrencyMismatch, ValueError)

    def test_equal_amounts_of_different_currencies_are_not_equal(self) -> None:
        assert Money(100, "USD") != Money(100, "EUR")


class TestApplyBps:
    @pytest.mark.parametrize(
        ("amount", "rate_bps", "expected"),
        [
            (1250, 1000, 125),
            (5, 1000, 1),  # 0.5 rounds away from zero
            (-5, 1000, -1),
            (4, 1000, 0),  # 0.4 rounds down
            (-4, 1000, 0),
            (15, 1000, 2),  # 1.5 -> 2
            (25, 1000, 3),  # 2.5 -> 3, not banker's 2
            (-25, 1000, -3),
            (9999, 1, 1),  # 0.9999
            (4999, 1, 0),  # 0.4999
            (5000, 1, 1),  # 0.5
            (1250, 0, 0),
            (1250, 10_000, 1250),  # 100 %
            (1250, 20_000, 2500),  # 200 %
            (0, 1000, 0),
            (199, 333, 7),  # 6.6267
            (10**15, 1234, 123_400_000_000_000),
        ],
    )
    def test_rounds_once_half_away_from_zero(self, amount: int, rate_bps: int, expected: int) -> None:
        assert Money(amount, "CNY").apply_bps(rate_bps) == Money(expected, "CNY")

    @pytest.mark.parametrize("currency", ["JPY", "EUR", "KWD"])
    def test_keeps_currency(self, currency: str) -> None:
        assert Money(1000, currency).apply_bps(500).currency == currency

    @pytest.mark.parametrize(
        ("amount", "rate_bps"),
        list(
            itertools.product(
                [1, 5, 15, 25, 99, 1250, 1999, 123_457, 10**12 + 5], [1, 5, 333, 1000, 1250, 5000]
            )
        ),
    )
    def test_full_refund_reverses_exactly_the_accrued_amount(self, amount: int, rate_bps: int) -> None:
        accrued = Money(amount, "CNY").apply_bps(rate_bps)
        reversed_ = Money(-amount, "CNY").apply_bps(rate_bps)
        assert accrued + reversed_ == Money.zero("CNY")


def _parts(amount: int, weights: list[int]) -> list[int]:
    return [part.amount for part in Money(amount, "EUR").allocate(weights)]


class TestAllocate:
    @pytest.mark.parametrize(
        ("amount", "weights", "expected"),
        [
            (100, [1, 1], [50, 50]),
            (100, [1, 1, 1], [34, 33, 33]),  # the leftover goes to the earliest on ties
            (101, [1, 1], [51, 50]),
            (5, [1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 0]),
            (10, [7, 3], [7, 3]),
            (10, [1, 2], [3, 7]),  # remainders 1/3 and 2/3: the largest gets the unit
            (0, [1, 2, 3], [0, 0, 0]),
            (100, [0, 1], [0, 100]),
            (1, [0, 0, 5], [0, 0, 1]),
            (100, [5], [100]),
            (-100, [1, 1, 1], [-34, -33, -33]),
            (-10, [1, 2], [-3, -7]),
            (-1, [1, 1], [-1, 0]),
        ],
    )
    def test_known_splits(self, amount: int, weights: list[int], expected: list[int]) -> None:
        assert _parts(amount, weights) == expected

    @pytest.mark.parametrize(
        ("amount", "weights"),
        list(itertools.product(
            [0, 1, 2, 7, 99, 100, 101, 1250, 99_999, 10**15 + 3, -1, -7, -101, -1250, -(10**15 + 3)],
            [[1], [1, 1], [1, 1, 1], [1, 2], [2, 1], [0, 1, 0], [3, 3, 3, 1], [1, 0, 0, 0, 0, 1], [7, 11, 13],
             [9999, 1], [1, 9999], [1] * 12, [10**9, 1, 1], [333, 333, 334]],
        )),
    )  # fmt: skip
    def test_parts_sum_exactly_to_the_total(self, amount: int, weights: list[int]) -> None:
        parts = Money(amount, "EUR").allocate(weights)

        assert len(parts) == len(weights)
        assert all(part.currency == "EUR" for part in parts)
        assert sum(part.amount for part in parts) == amount
        total = sum(weights)
        for part, weight in zip(parts, weights, strict=True):
            # Each part is within one minor unit of its exact share, on the same side of zero.
            assert abs(part.amount * total - amount * weight) < total
            assert part.amount * amount >= 0
            if weight == 0:
                assert part.amount == 0

    @pytest.mark.parametrize(("amount", "weights"), [(101, [1, 1]), (1250, [3, 3, 1]), (7, [1, 2, 3, 4])])
    def test_refund_is_the_mirror_of_the_charge(self, amount: int, weights: list[int]) -> None:
        assert _parts(-amount, weights) == [-part for part in _parts(amount, weights)]

    @pytest.mark.parametrize("weights", [[], [0], [0, 0, 0], [-1, 2], [1, -1], [-1]])
    def test_refuses_bad_weights(self, weights: list[int]) -> None:
        with pytest.raises(ValueError, match="weights"):
            Money(100, "EUR").allocate(weights)


class TestFromDecimal:
    @pytest.mark.parametrize(
        ("value", "currency", "expected"),
        [
            ("100", "JPY", 100),
            ("0", "JPY", 0),
            ("-100", "JPY", -100),
            ("100.0", "JPY", 100),  # trailing zeros are not more precision
            ("1.234", "KWD", 1234),
            ("1.2", "KWD", 1200),
            ("-0.001", "KWD", -1),
            ("12.50", "EUR", 1250),
            ("12.5", "EUR", 1250),
            ("12", "EUR", 1200),
            ("0.01", "EUR", 1),
            ("-12.34", "EUR", -1234),
            ("12.500", "EUR", 1250),
            ("1e2", "EUR", 10_000),
            (Decimal("99.99"), "CNY", 9999),
            ("1234567890.12", "USD", 123_456_789_012),
        ],
    )
    def test_parses_major_units(self, value: str | Decimal, currency: str, expected: int) -> None:
        assert Money.from_decimal(value, currency) == Money(expected, currency)

    @pytest.mark.parametrize(
        ("value", "currency"),
        [
            ("100.5", "JPY"),
            ("0.1", "JPY"),
            ("1.2345", "KWD"),
            ("12.345", "EUR"),
            ("0.001", "USD"),
            ("-0.005", "CNY"),
            (Decimal("1.001"), "EUR"),
        ],
    )
    def test_refuses_more_decimals_than_the_currency_has(self, value: str | Decimal, currency: str) -> None:
        with pytest.raises(ValueError, match="decimals"):
            Money.from_decimal(value, currency)

    @pytest.mark.parametrize("value", ["", "abc", "12,50", "1.2.3", "$12", "12 EUR", "--1"])
    def test_refuses_non_numbers(self, value: str) -> None:
        with pytest.raises(ValueError, match="not a number"):
            Money.from_decimal(value, "EUR")

    @pytest.mark.parametrize("value", ["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", Decimal("NaN")])
    def test_refuses_non_finite(self, value: str | Decimal) -> None:
        with pytest.raises(ValueError, match="finite"):
            Money.from_decimal(value, "EUR")

    @pytest.mark.parametrize("currency", ["XYZ", "eur"])
    def test_refuses_unknown_currency(self, currency: str) -> None:
        with pytest.raises(ValueError):
            Money.from_decimal("12.00", currency)

    def test_long_amount_is_exact_or_refused(self) -> None:
        value = "1234567890123456789012345678.91"
        try:
            money = Money.from_decimal(value, "EUR")
        except ValueError:
            return
        assert money.amount == 123456789012345678901234567891

    def test_refuses_float(self) -> None:
        with pytest.raises(TypeError):
            Money.from_decimal(12.5, "EUR")  # type: ignore[arg-type]


class TestCurrencyExponent:
    @pytest.mark.parametrize(
        ("currency", "exponent"),
        [("JPY", 0), ("KRW", 0), ("EUR", 2), ("USD", 2), ("CNY", 2), ("KWD", 3), ("BHD", 3)],
    )
    def test_exponent(self, currency: str, exponent: int) -> None:
        assert currency_exponent(currency) == exponent


class TestToDecimal:
    @pytest.mark.parametrize(
        ("money", "expected"),
        [
            (Money(1250, "EUR"), "12.50"),
            (Money(-1250, "EUR"), "-12.50"),
            (Money(1, "EUR"), "0.01"),
            (Money(0, "EUR"), "0.00"),
            (Money(100, "JPY"), "100"),
            (Money(1234, "KWD"), "1.234"),
            (Money(1, "KWD"), "0.001"),
        ],
    )
    def test_major_units(self, money: Money, expected: str) -> None:
        assert money.to_decimal() == Decimal(expected)
        assert str(money.to_decimal()) == expected

    @pytest.mark.parametrize(
        ("amount", "currency"),
        list(
            itertools.product(
                [0, 1, -1, 5, 99, 100, 1250, -1250, 123_456_789, 10**15 + 7], ["JPY", "EUR", "KWD"]
            )
        ),
    )
    def test_round_trip(self, amount: int, currency: str) -> None:
        money = Money(amount, currency)
        assert Money.from_decimal(money.to_decimal(), currency) == money
        assert Money.from_decimal(str(money.to_decimal()), currency) == money
