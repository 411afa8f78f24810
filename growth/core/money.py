"""Money: an integer number of minor units and an ISO 4217 currency code.

Rates are integer basis points. There is one rounding rule, half away from zero, applied once
per line, so a full refund reverses exactly what was accrued. No float touches a money path.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation, localcontext
from functools import lru_cache

from babel.numbers import get_currency_precision, list_currencies

BPS_PER_UNIT = 10_000


@lru_cache(maxsize=1)
def _iso_currencies() -> frozenset[str]:
    return frozenset(
        code for code in list_currencies() if len(code) == 3 and code.isalpha() and code.isupper()
    )


def is_known_currency(code: str) -> bool:
    """True for an uppercase ISO 4217 code that Babel knows."""
    return code in _iso_currencies()


def currency_exponent(currency: str) -> int:
    """Digits after the decimal point of ``currency`` (JPY 0, EUR 2, KWD 3)."""
    return get_currency_precision(currency)


def round_half_away_from_zero(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to an integer, halves away from zero."""
    if denominator == 0:
        raise ZeroDivisionError("denominator is zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


class CurrencyMismatch(ValueError):
    """Raised when amounts of different currencies would be combined."""


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in minor units (cents, fen) of ``currency``."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError("Money.amount must be an int of minor units")
        if not is_known_currency(self.currency):
            raise ValueError(f"unknown currency {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def from_decimal(cls, value: str | Decimal, currency: str) -> Money:
        """Parse a major-unit string (``"12.50"``); more digits than the currency has are refused."""
        if not isinstance(value, str | Decimal):
            raise TypeError("amounts are parsed from strings or Decimals, never floats")
        try:
            major = Decimal(value)
        except InvalidOperation as exc:
            raise ValueError(f"not a number: {value!r}") from exc
        if not major.is_finite():
            raise ValueError(f"not a finite amount: {value!r}")
        # Exact scaling whatever the number of digits (the default context rounds at 28).
        with localcontext(Context(prec=len(major.as_tuple().digits) + 10, traps=[Inexact])):
            minor = major.scaleb(currency_exponent(currency))
        if minor != minor.to_integral_value():
            raise ValueError(f"{value!r} has more decimals than {currency} allows")
        return cls(int(minor), currency)

    def to_decimal(self) -> Decimal:
        """The amount in major units, exact."""
        return Decimal(self.amount).scaleb(-currency_exponent(self.currency))

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} and {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def apply_bps(self, rate_bps: int) -> Money:
        """``rate_bps`` basis points of this amount, rounded once, half away from zero."""
        return Money(round_half_away_from_zero(self.amount * rate_bps, BPS_PER_UNIT), self.currency)

    def allocate(self, weights: list[int]) -> list[Money]:
        """Split into parts proportional to ``weights`` whose sum is exactly this amount."""
        if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
            raise ValueError("weights must be non-negative and not all zero")
        total = sum(weights)
        sign = -1 if self.amount < 0 else 1
        magnitude = abs(self.amount)
        parts = [magnitude * w // total for w in weights]
        # Hand the leftover minor units to the largest remainders, earliest first on ties.
        order = sorted(range(len(weights)), key=lambda i: (-(magnitude * weights[i] % total), i))
        for i in order[: magnitude - sum(parts)]:
            parts[i] += 1
        return [Money(sign * p, self.currency) for p in parts]
