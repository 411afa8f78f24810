"""The reward-rule form of the campaign page, and the rules as the page shows them.

Pure, like ``rules.py``. Amounts are typed in major units of the campaign's currency ("20.00",
JPY "1200") and a percent discount as a percentage ("12.5"); both are converted exactly, with
``Decimal``, to minor units and basis points. Whether the rule makes sense is ``rules.rule_problem``'s
to say; this module only reads the fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from uuid import UUID

import msgspec

from campaigns.reward.errors import InvalidRewardRule
from campaigns.reward.models import RewardRule
from campaigns.reward.rules import (
    MAX_REWARD_AMOUNT,
    OutOfStock,
    RewardType,
    RuleSpec,
    Side,
)
from campaigns.reward.schemas import RewardRuleRead
from growth.core.errors import DomainError
from growth.core.money import Money, currency_exponent

if TYPE_CHECKING:
    from campaigns.reward.service import StockWarning

CAMPAIGN_PAGES = "/marketing/campaigns"
_AMOUNT = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,6})?")
_PERCENT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,6})?")
_WHOLE = re.compile(r"[0-9]{1,9}")
_SKU = re.compile(r"[A-Za-z0-9._-]{1,100}")
MAX_THRESHOLD = 100_000


class RuleForm(msgspec.Struct, kw_only=True):
    """The add-rule form as typed: all text; empty fields are not set."""

    side: str = ""
    reward_type: str = ""
    amount: str = ""
    rate_percent: str = ""
    max_amount: str = ""
    sku: str = ""
    threshold: str = ""
    out_of_stock: str = OutOfStock.wait.value
    alternative_sku: str = ""
    alternative_amount: str = ""


class _Bad(ValueError):
    pass


def _choice(value: str, options: type[StrEnum]) -> Any:
    try:
        return options(value)
    except ValueError:
        allowed = ", ".join(o.value for o in options)
        raise _Bad(f"choose one of {allowed}") from None


def minor_units(value: str, currency: str) -> int | None:
    """Minor units of a major-unit amount in ``currency``, exactly; None when the field is empty."""
    value = value.strip()
    if not value:
        return None
    if not _AMOUNT.fullmatch(value):
        example = Money(1200 * 10 ** currency_exponent(currency), currency).to_decimal()
        raise _Bad(f"enter an amount in {currency}, like {example}")
    try:
        minor = Money.from_decimal(value, currency).amount
    except ValueError:
        digits = currency_exponent(currency)
        raise _Bad(f"{currency} amounts have at most {digits} digits after the decimal point") from None
    if not 0 < minor <= MAX_REWARD_AMOUNT:
        raise _Bad("enter an amount above zero and not too large")
    return minor


def rate_bps(value: str) -> int | None:
    """Basis points of a percentage ("12.5" -> 1250), exactly; None when the field is empty."""
    value = value.strip()
    if not value:
        return None
    if not _PERCENT.fullmatch(value):
        raise _Bad("enter a percentage such as 10 or 12.5")
    bps = Decimal(value) * 100
    if bps != bps.to_integral_value():
        raise _Bad("a percentage has at most 2 digits after the decimal point")
    if not 1 <= bps <= 10_000:
        raise _Bad("enter a percentage from 0.01 to 100")
    return int(bps)


def _whole(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not _WHOLE.fullmatch(value) or not 1 <= int(value) <= MAX_THRESHOLD:
        raise _Bad(f"enter a whole number from 1 to {MAX_THRESHOLD}")
    return int(value)


def _sku(value: str) -> str | None:
    value = value.strip()
    if value and not _SKU.fullmatch(value):
        raise _Bad("use 1 to 100 letters, digits, dots, dashes or underscores")
    return value or None


def parse_rule(form: RuleForm, *, currency: str) -> RuleSpec:
    """The rule typed in the form, amounts read in the campaign's ``currency``; ``InvalidRewardRule``."""
    readers: dict[str, Any] = {
        "side": lambda: _choice(form.side, Side),
        "reward_type": lambda: _choice(form.reward_type, RewardType),
        "amount": lambda: minor_units(form.amount, currency),
        "rate_bps": lambda: rate_bps(form.rate_percent),
        "max_amount": lambda: minor_units(form.max_amount, currency),
        "sku": lambda: _sku(form.sku),
        "threshold": lambda: _whole(form.threshold),
        "out_of_stock": lambda: _choice(form.out_of_stock or OutOfStock.wait.value, OutOfStock),
        "alternative_sku": lambda: _sku(form.alternative_sku),
        "alternative_amount": lambda: minor_units(form.alternative_amount, currency),
    }
    fields = {"rate_bps": "rate_percent"}
    values: dict[str, Any] = {}
    for name, read in readers.items():
        try:
            values[name] = read()
        except _Bad as bad:
            raise InvalidRewardRule(
                f"{fields.get(name, name)}: {bad}", field=fields.get(name, name)
            ) from None
    return RuleSpec(**values)


def campaign_url(campaign_id: UUID, *, notice: str | None = None, error: DomainError | None = None) -> str:
    """The campaign page, with the rule form's outcome: a notice, or the error's code and message."""
    params = {"error": error.code(), "error_message": error.message} if error else {"notice": notice or ""}
    return f"{CAMPAIGN_PAGES}/{campaign_id}?{urlencode(params)}#reward-rules"


@dataclass(frozen=True, slots=True)
class RuleView:
    """A reward rule as the campaign page shows it: ``RewardRuleRead``'s fields, amounts as ``Money``."""

    id: UUID
    campaign_id: UUID
    side: str
    reward_type: str
    amount: Money | None
    rate_bps: int | None
    rate_percent: str | None
    """The rate as typed in the form: ``"12.5"`` for 1250 basis points."""
    max_amount: Money | None
    sku: str | None
    threshold: int | None
    out_of_stock: str
    alternative_sku: str | None
    alternative_amount: Money | None
    is_active: bool


def _money(amount: int | None, currency: str) -> Money | None:
    return None if amount is None else Money(amount, currency)


def percent_text(bps: int | None) -> str | None:
    """Basis points as a percentage without trailing zeros: 1250 -> ``"12.5"``, 1000 -> ``"10"``."""
    return None if bps is None else f"{(Decimal(bps) / 100).normalize():f}"


def rule_view(rule: RewardRule | RewardRuleRead, currency: str) -> RuleView:
    """The view of one rule of a campaign in ``currency``."""
    return RuleView(
        id=rule.id,
        campaign_id=rule.campaign_id,
        side=str(rule.side),
        reward_type=str(rule.reward_type),
        amount=_money(rule.amount, currency),
        rate_bps=rule.rate_bps,
        rate_percent=percent_text(rule.rate_bps),
        max_amount=_money(rule.max_amount, currency),
        sku=rule.sku,
        threshold=rule.threshold,
        out_of_stock=str(rule.out_of_stock),
        alternative_sku=rule.alternative_sku,
        alternative_amount=_money(rule.alternative_amount, currency),
        is_active=rule.is_active,
    )


def rule_views(rules: list[RewardRule], currency: str) -> list[RuleView]:
    """The views of a campaign's rules (``reward_service.list_rules``), for ``_rules.html.j2``."""
    return [rule_view(r, currency) for r in rules]


@dataclass(frozen=True, slots=True)
class StockWarningView:
    """A ``StockWarning`` as ``_stock_warnings.html.j2`` shows it, the alternative credit as ``Money``."""

    sku: str
    pack_name: str
    available: int
    is_out_of_stock: bool
    waiting: int
    """Rewards waiting for this pack's restock."""
    out_of_stock: str
    """What the rule gives meanwhile: ``wait``, ``store_credit``, ``gift_pack`` or ``none``."""
    alternative_sku: str | None
    alternative_credit: Money | None


def stock_warning_views(warnings: list[StockWarning]) -> list[StockWarningView]:
    """The views of ``reward_service.stock_warnings(...)``, for ``_stock_warnings.html.j2``."""
    return [
        StockWarningView(
            sku=w.sku,
            pack_name=w.pack_name,
            available=w.available,
            is_out_of_stock=w.is_out_of_stock,
            waiting=w.waiting,
            out_of_stock=str(w.out_of_stock),
            alternative_sku=w.alternative_sku,
            alternative_credit=_money(w.alternative_amount, w.currency),
        )
        for w in warnings
    ]
