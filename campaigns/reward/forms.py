"""The reward-rule form of the campaign page, and the rules as the page shows them.

Pure, like ``rules.py``. Amounts are typed in major units of the campaign's currency ("20.00",
JPY "1200") and a percent discount as a percentage ("12.5"); ``growth.core.forms`` converts both
exactly to minor units and basis points. Whether the rule makes sense is ``rules.rule_problem``'s
to say; this module only reads the fields. Its messages are English: the campaign page shows them
after a redirect, as they are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
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
from growth.core.forms import FieldError, minor_units, percent_bps, percent_text, whole_number
from growth.core.money import Money

if TYPE_CHECKING:
    from campaigns.reward.service import StockWarning

CAMPAIGN_PAGES = "/marketing/campaigns"
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


def _choice(value: str, options: type[StrEnum]) -> Any:
    try:
        return options(value)
    except ValueError:
        raise FieldError("choose one of %(options)s", options=", ".join(o.value for o in options)) from None


def _sku(value: str) -> str | None:
    value = value.strip()
    if value and not _SKU.fullmatch(value):
        raise FieldError("use 1 to 100 letters, digits, dots, dashes or underscores")
    return value or None


def parse_rule(form: RuleForm, *, currency: str) -> RuleSpec:
    """The rule typed in the form, amounts read in the campaign's ``currency``; ``InvalidRewardRule``.

    Its message is ``field: problem`` in English (``FieldError``'s text).
    """
    amount = partial(minor_units, currency=currency, maximum=MAX_REWARD_AMOUNT, optional=True, positive=True)
    readers: dict[str, Any] = {
        "side": lambda: _choice(form.side, Side),
        "reward_type": lambda: _choice(form.reward_type, RewardType),
        "amount": lambda: amount(form.amount),
        "rate_bps": lambda: percent_bps(form.rate_percent),
        "max_amount": lambda: amount(form.max_amount),
        "sku": lambda: _sku(form.sku),
        "threshold": lambda: whole_number(form.threshold, 1, MAX_THRESHOLD, optional=True),
        "out_of_stock": lambda: _choice(form.out_of_stock or OutOfStock.wait.value, OutOfStock),
        "alternative_sku": lambda: _sku(form.alternative_sku),
        "alternative_amount": lambda: amount(form.alternative_amount),
    }
    fields = {"rate_bps": "rate_percent"}
    values: dict[str, Any] = {}
    for name, read in readers.items():
        try:
            values[name] = read()
        except FieldError as bad:
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


def rule_view(rule: RewardRule | RewardRuleRead, currency: str) -> RuleView:
    """The view of one rule of a campaign in ``currency``."""
    return RuleView(
        id=rule.id,
        campaign_id=rule.campaign_id,
        side=str(rule.side),
        reward_type=str(rule.reward_type),
        amount=_money(rule.amount, currency),
        rate_bps=rule.rate_bps,
        rate_percent=None if rule.rate_bps is None else percent_text(rule.rate_bps),
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
