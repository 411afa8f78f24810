"""Reading form fields: exact amounts per currency, whole numbers, percentages, short texts."""

from __future__ import annotations

from typing import Any

import pytest

from growth.core.forms import (
    AMOUNT,
    AMOUNT_DIGITS,
    AMOUNT_POSITIVE,
    AMOUNT_TOO_LARGE,
    CURRENCY,
    PERCENT,
    PERCENT_DIGITS,
    PERCENT_RANGE,
    REQUIRED,
    TOO_LONG,
    WHOLE_NUMBER,
    FieldError,
    currency_code,
    example_amount,
    minor_units,
    percent_bps,
    percent_text,
    short_text,
    whole_number,
)

MAX = 100_000_000_000
FULL_WIDTH_12 = "\uff11\uff12"
"""12 in full-width digits, as a Chinese input method may type it: refused like any non-ASCII digit."""


def _refused(read: Any, *args: Any, **kwargs: Any) -> FieldError:
    with pytest.raises(FieldError) as refused:
        read(*args, **kwargs)
    return refused.value


class TestFieldError:
    def test_text_is_the_english_message(self) -> None:
        error = FieldError(AMOUNT_DIGITS, currency="CNY", digits=2)

        assert isinstance(error, ValueError)
        assert (error.msgid, error.params) == (AMOUNT_DIGITS, {"currency": "CNY", "digits": 2})
        assert str(error) == "CNY amounts have at most 2 digits after the decimal point."

    def test_message_without_params(self) -> None:
        assert str(FieldError(AMOUNT_TOO_LARGE)) == "This amount is too large."


class TestExampleAmount:
    @pytest.mark.parametrize(
        ("currency", "major", "example"),
        [("CNY", 1200, "1200.00"), ("JPY", 1200, "1200"), ("KWD", 1200, "1200.000"), ("CNY", 88, "88.00")],
    )
    def test_in_the_currency_units(self, currency: str, major: int, example: str) -> None:
        assert example_amount(currency, major) == example

    def test_default_is_1200(self) -> None:
        assert example_amount("USD") == "1200.00"


class TestMinorUnits:
    @pytest.mark.parametrize(
        ("value", "currency", "minor"),
        [
            ("12.34", "CNY", 1234),
            ("12.3", "CNY", 1230),
            ("12.340", "CNY", 1234),  # trailing zeros are not extra precision
            ("0.29", "CNY", 29),  # a float would give 28.999...
            ("0", "CNY", 0),
            (" 12 ", "CNY", 1200),  # surrounding spaces are trimmed
            ("1200", "JPY", 1200),
            ("1200.0", "JPY", 1200),
            ("1.234", "KWD", 1234),
            ("1000000000.00", "USD", MAX),  # exactly the maximum
        ],
    )
    def test_exact(self, value: str, currency: str, minor: int) -> None:
        assert minor_units(value, currency, maximum=MAX) == minor

    @pytest.mark.parametrize(
        ("value", "currency", "digits"), [("12.345", "CNY", 2), ("12.5", "JPY", 0), ("1.2345", "KWD", 3)]
    )
    def test_too_many_digits(self, value: str, currency: str, digits: int) -> None:
        error = _refused(minor_units, value, currency, maximum=MAX)

        assert (error.msgid, error.params) == (AMOUNT_DIGITS, {"currency": currency, "digits": digits})

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "   ",
            "1e3",
            "-1",
            "+1",
            "12,00",
            "1,200",
            ".5",
            "12.",
            "NaN",
            "Infinity",
            FULL_WIDTH_12,
            "١٢",  # Arabic-Indic digits
            "1 200",
            "12.3.4",
            "1234567890123456",  # more than 15 digits before the point
        ],
    )
    def test_not_an_amount(self, value: str) -> None:
        error = _refused(minor_units, value, "CNY", maximum=MAX)

        assert (error.msgid, error.params) == (AMOUNT, {"currency": "CNY", "example": "1200.00"})
        assert str(error) == "Enter an amount in CNY, like 1200.00."

    def test_example_shown(self) -> None:
        error = _refused(minor_units, "x", "JPY", maximum=MAX, example=88)

        assert str(error) == "Enter an amount in JPY, like 88."

    @pytest.mark.parametrize(("value", "maximum"), [("1000000000.01", MAX), ("88.01", 8800)])
    def test_too_large(self, value: str, maximum: int) -> None:
        assert _refused(minor_units, value, "USD", maximum=maximum).msgid == AMOUNT_TOO_LARGE

    @pytest.mark.parametrize("value", ["", "  "])
    def test_optional_empty_is_none(self, value: str) -> None:
        assert minor_units(value, "CNY", maximum=MAX, optional=True) is None

    def test_optional_still_reads_a_value(self) -> None:
        assert minor_units("5", "CNY", maximum=MAX, optional=True) == 500

    @pytest.mark.parametrize("value", ["0", "0.00"])
    def test_positive_refuses_zero(self, value: str) -> None:
        assert _refused(minor_units, value, "CNY", maximum=MAX, positive=True).msgid == AMOUNT_POSITIVE

    def test_positive_accepts_the_smallest_unit(self) -> None:
        assert minor_units("0.01", "CNY", maximum=MAX, positive=True) == 1


class TestWholeNumber:
    @pytest.mark.parametrize(("value", "number"), [("1", 1), ("365", 365), (" 12 ", 12), ("007", 7)])
    def test_within_bounds(self, value: str, number: int) -> None:
        assert whole_number(value, 1, 365) == number

    @pytest.mark.parametrize(
        "value", ["0", "366", "-1", "1.5", "1e3", "", " ", FULL_WIDTH_12, "1,000", "+5", "1234567890"]
    )
    def test_refused(self, value: str) -> None:
        error = _refused(whole_number, value, 1, 365)

        assert (error.msgid, error.params) == (WHOLE_NUMBER, {"min": "1", "max": "365"})

    def test_bounds_are_shown_with_thousands_separators(self) -> None:
        error = _refused(whole_number, "x", 0, 100_000_000)

        assert str(error) == "Enter a whole number from 0 to 100,000,000."

    @pytest.mark.parametrize("value", ["", "  "])
    def test_optional_empty_is_none(self, value: str) -> None:
        assert whole_number(value, 1, 10, optional=True) is None

    def test_optional_still_checks_bounds(self) -> None:
        assert _refused(whole_number, "11", 1, 10, optional=True).msgid == WHOLE_NUMBER


class TestShortText:
    @pytest.mark.parametrize(
        ("value", "text"),
        [("  Spring ", "Spring"), ("春季活动", "春季活动"), ("a" * 10, "a" * 10)],
    )
    def test_trimmed(self, value: str, text: str) -> None:
        assert short_text(value, max_length=10, required=True) == text

    @pytest.mark.parametrize("value", ["", "   ", "\n"])
    def test_required(self, value: str) -> None:
        assert _refused(short_text, value, max_length=10, required=True).msgid == REQUIRED

    @pytest.mark.parametrize("value", ["", "  "])
    def test_optional_empty_is_none(self, value: str) -> None:
        assert short_text(value, max_length=10, required=False) is None

    @pytest.mark.parametrize("value", ["a" * 11, "a\nb", "a\rb", "a\tb", "a\x00b", "a\x7fb", "a\x1bb"])
    def test_too_long_or_control_characters(self, value: str) -> None:
        error = _refused(short_text, value, max_length=10, required=False)

        assert (error.msgid, error.params) == (TOO_LONG, {"max": 10})


class TestCurrencyCode:
    @pytest.mark.parametrize(
        ("value", "code"), [("cny", "CNY"), (" jpy ", "JPY"), ("", "USD"), ("  ", "USD")]
    )
    def test_any_case_or_the_default(self, value: str, code: str) -> None:
        assert currency_code(value, "USD") == code

    @pytest.mark.parametrize("value", ["ZZZ", "yuan", "C N Y", "12"])
    def test_unknown(self, value: str) -> None:
        assert _refused(currency_code, value, "USD").msgid == CURRENCY


class TestPercent:
    @pytest.mark.parametrize(
        ("value", "bps"),
        [
            ("12.5", 1250),
            ("10", 1000),
            ("0.01", 1),
            ("0.05", 5),
            ("7.25", 725),
            ("100", 10_000),
            ("100.00", 10_000),
            ("12.50", 1250),  # trailing zeros are not extra precision
            (" 33 ", 3300),
            ("0.29", 29),  # a float would give 28.999...
        ],
    )
    def test_exact_basis_points(self, value: str, bps: int) -> None:
        assert percent_bps(value) == bps

    @pytest.mark.parametrize("value", ["", "  "])
    def test_empty_is_none(self, value: str) -> None:
        assert percent_bps(value) is None

    @pytest.mark.parametrize(
        ("value", "msgid"),
        [
            ("100.01", PERCENT_RANGE),
            ("0", PERCENT_RANGE),
            ("0.00", PERCENT_RANGE),
            ("150", PERCENT_RANGE),
            ("12.345", PERCENT_DIGITS),
            ("0.001", PERCENT_DIGITS),
            ("-5", PERCENT),
            ("1e1", PERCENT),
            ("12%", PERCENT),
            ("12,5", PERCENT),
            (FULL_WIDTH_12, PERCENT),
            ("1000", PERCENT),
            ("NaN", PERCENT),
        ],
    )
    def test_refused(self, value: str, msgid: str) -> None:
        error = _refused(percent_bps, value)

        assert (error.msgid, error.params) == (msgid, {})

    @pytest.mark.parametrize(
        ("bps", "text"),
        [(1250, "12.5"), (1000, "10"), (5, "0.05"), (1, "0.01"), (10_000, "100"), (725, "7.25")],
    )
    def test_text(self, bps: int, text: str) -> None:
        assert percent_text(bps) == text

    @pytest.mark.parametrize("bps", [1, 5, 10, 99, 100, 101, 725, 1000, 1250, 3333, 9999, 10_000])
    def test_round_trip(self, bps: int) -> None:
        assert percent_bps(percent_text(bps)) == bps
