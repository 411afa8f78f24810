"""Reading what people type into HTML forms: amounts, whole numbers, percentages and short texts.

Pure. Amounts are typed in major units of a currency ("20.00", JPY "1200") and converted exactly
with ``Money.from_decimal``, never through a float; a percentage ("12.5") becomes basis points the
same way. Only ASCII digits are read. A problem is a ``FieldError``: a translatable message id and
its parameters, which the page translates where it shows them (see ``messages.po``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Literal, overload

from growth.core.money import Money, currency_exponent, is_known_currency
from growth.core.text import NO_CONTROL_CHARACTERS

_AMOUNT = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,6})?")
_PERCENT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,6})?")
_WHOLE = re.compile(r"[0-9]{1,9}")
_NO_CONTROL = re.compile(NO_CONTROL_CHARACTERS)


def N_(message: str) -> str:
    """Mark a message for the catalog (Babel extracts `N_`); the page translates it where shown."""
    return message


REQUIRED = N_("Enter a name.")
TOO_LONG = N_("Use at most %(max)s characters, without line breaks or control characters.")
WHOLE_NUMBER = N_("Enter a whole number from %(min)s to %(max)s.")
AMOUNT = N_("Enter an amount in %(currency)s, like %(example)s.")
AMOUNT_DIGITS = N_("%(currency)s amounts have at most %(digits)s digits after the decimal point.")
AMOUNT_TOO_LARGE = N_("This amount is too large.")
AMOUNT_POSITIVE = N_("Enter an amount above zero.")
CURRENCY = N_("Enter an ISO 4217 currency code, such as CNY, USD or JPY.")
PERCENT = N_("Enter a percentage such as 10 or 12.5.")
PERCENT_DIGITS = N_("A percentage has at most 2 digits after the decimal point.")
PERCENT_RANGE = N_("Enter a percentage from 0.01 to 100.")


class FieldError(ValueError):
    """Why a field was refused: ``msgid`` and ``params``; ``str()`` is the English text."""

    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid % params)
        self.msgid, self.params = msgid, params


def example_amount(currency: str, major: int = 1200) -> str:
    """How an amount is typed in ``currency``: ``1200.00`` (CNY), ``1200`` (JPY), ``1200.000`` (KWD)."""
    return str(Money(major * 10 ** currency_exponent(currency), currency).to_decimal())


@overload
def minor_units(
    value: str,
    currency: str,
    *,
    maximum: int,
    optional: Literal[False] = False,
    positive: bool = False,
    example: int = 1200,
) -> int: ...
@overload
def minor_units(
    value: str, currency: str, *, maximum: int, optional: bool, positive: bool = False, example: int = 1200
) -> int | None: ...
def minor_units(
    value: str,
    currency: str,
    *,
    maximum: int,
    optional: bool = False,
    positive: bool = False,
    example: int = 1200,
) -> int | None:
    """Minor units of an amount typed in major units of ``currency``, exactly; at most ``maximum``.

    An empty field is None when ``optional``; ``positive`` refuses zero; ``example`` is the major
    amount the message shows as what to type.
    """
    value = value.strip()
    if optional and not value:
        return None
    if not _AMOUNT.fullmatch(value):
        raise FieldError(AMOUNT, currency=currency, example=example_amount(currency, example))
    try:
        minor = Money.from_decimal(value, currency).amount
    except ValueError:
        raise FieldError(AMOUNT_DIGITS, currency=currency, digits=currency_exponent(currency)) from None
    if minor > maximum:
        raise FieldError(AMOUNT_TOO_LARGE)
    if positive and minor == 0:
        raise FieldError(AMOUNT_POSITIVE)
    return minor


@overload
def whole_number(value: str, low: int, high: int, *, optional: Literal[False] = False) -> int: ...
@overload
def whole_number(value: str, low: int, high: int, *, optional: bool) -> int | None: ...
def whole_number(value: str, low: int, high: int, *, optional: bool = False) -> int | None:
    """A whole number from ``low`` to ``high``; an empty field is None when ``optional``."""
    value = value.strip()
    if optional and not value:
        return None
    if not _WHOLE.fullmatch(value) or not low <= int(value) <= high:
        raise FieldError(WHOLE_NUMBER, min=f"{low:,}", max=f"{high:,}")
    return int(value)


def short_text(value: str, *, max_length: int, required: bool) -> str | None:
    """A one-line text, trimmed: at most ``max_length`` characters, none of them control; empty: None."""
    value = value.strip()
    if required and not value:
        raise FieldError(REQUIRED)
    if len(value) > max_length or not _NO_CONTROL.match(value):
        raise FieldError(TOO_LONG, max=max_length)
    return value or None


def currency_code(value: str, default: str) -> str:
    """An ISO 4217 code typed in any case; an empty field is ``default``."""
    value = value.strip().upper() or default
    if not is_known_currency(value):
        raise FieldError(CURRENCY)
    return value


def percent_bps(value: str) -> int | None:
    """Basis points of a percentage ("12.5" -> 1250), exactly, from 0.01 to 100; empty: None."""
    value = value.strip()
    if not value:
        return None
    if not _PERCENT.fullmatch(value):
        raise FieldError(PERCENT)
    bps = Decimal(value) * 100
    if bps != bps.to_integral_value():
        raise FieldError(PERCENT_DIGITS)
    if not 1 <= bps <= 10_000:
        raise FieldError(PERCENT_RANGE)
    return int(bps)


def percent_text(bps: int) -> str:
    """Basis points as a percentage, no trailing zeros: 1250 -> ``12.5``, 1000 -> ``10``, 5 -> ``0.05``."""
    return f"{Decimal(bps).scaleb(-2).normalize():f}"
