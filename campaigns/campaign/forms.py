"""The campaign form of the marketing pages: text in, typed fields out, and the views the pages show.

Pure, like ``rules.py``: people type amounts in major units of the campaign's currency ("20.00",
JPY "1200") and times in the program's time zone; campaigns keep minor units and UTC. Every
problem names its field and carries a translatable message, so the page can show it in red next
to what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import msgspec

from campaigns.campaign.errors import IllegalStatusChange, InvalidCampaign
from campaigns.campaign.models import Campaign
from campaigns.campaign.rules import (
    TRANSITIONS,
    AttributionModel,
    CampaignKind,
    CampaignStatus,
    hashtag_problem,
    landing_url_problem,
    period_problem,
)
from growth.core.errors import DomainError
from growth.core.forms import N_, FieldError, currency_code, minor_units, short_text, whole_number
from growth.core.money import Money

MAX_NAME = 200
MAX_MINOR_UNITS = 100_000_000_000
"""Largest amount a form may set, in minor units (the API's limit too)."""
LOCALES = ("", "en", "zh_Hans")
"""Campaign page languages; empty: the visitor's."""

# Messages shown next to a field, besides those of growth.core.forms; the templates translate them.
DATETIME = N_("Enter a date and time.")
CHOICE = N_("Choose one of the options.")
LANDING_URL = N_("Enter a full web address starting with http:// or https://.")
HASHTAG = N_("A hashtag is # followed by 1 to 100 letters, digits or underscores.")
PERIOD = N_("The end must be after the start.")


class CampaignForm(msgspec.Struct, kw_only=True):
    """The campaign form as typed: all text. An unticked checkbox is absent, so it reads as ``""``."""

    name: str = ""
    kind: str = CampaignKind.referral.value
    currency: str = ""
    landing_url: str = ""
    hashtag: str = ""
    attribution_window_days: str = "30"
    attribution_model: str = AttributionModel.last_click.value
    new_customers_only: str = ""
    starts_at: str = ""
    ends_at: str = ""
    hold_days: str = "14"
    min_order_amount: str = ""
    budget_amount: str = ""
    per_referrer_cap: str = ""
    locale: str = ""

    @property
    def datetime_step(self) -> int:
        """Step of the datetime inputs: 1 second when a time has seconds, or the browser refuses it."""
        return 1 if len(self.starts_at) > 16 or len(self.ends_at) > 16 else 60


class StatusForm(msgspec.Struct):
    """A status button: the status to move to."""

    status: CampaignStatus


@dataclass(frozen=True, slots=True)
class Problem:
    """A message for people: ``msgid`` (translated with ``params``), or ``detail`` shown as is."""

    msgid: str | None
    params: dict[str, Any]
    detail: str


@dataclass(frozen=True, slots=True)
class PageError:
    """Why the form or the status button was refused: per field, or for the page as a whole."""

    code: str
    summary: Problem
    fields: dict[str, Problem] = field(default_factory=dict)


def _instant(value: str, tz: str) -> datetime | None:
    """A ``datetime-local`` value read in the program's time zone, as UTC."""
    value = value.strip()
    if not value:
        return None
    try:
        local = datetime.fromisoformat(value)
        if local.tzinfo is None:
            local = local.replace(tzinfo=ZoneInfo(tz))
        return local.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 shifted out of range
        raise FieldError(DATETIME) from None


def _choice(value: str, allowed: type[StrEnum] | tuple[str, ...]) -> str:
    options = [str(option) for option in allowed]
    if value not in options:
        raise FieldError(CHOICE)
    return value


def _landing_url(value: str) -> str:
    value = value.strip()
    if landing_url_problem(value):
        raise FieldError(LANDING_URL)
    return value


def _hashtag(value: str) -> str | None:
    value = value.strip()
    if value and hashtag_problem(value):
        raise FieldError(HASHTAG)
    return value or None


class _Checker:
    """Runs each field's parser, keeping the first problem of every field."""

    def __init__(self) -> None:
        self.problems: dict[str, FieldError] = {}

    def __call__(self, name: str, parse: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return parse(*args, **kwargs)
        except FieldError as bad:
            self.problems.setdefault(name, bad)
            return None

    def raise_if_any(self) -> None:
        if self.problems:
            name, first = next(iter(self.problems.items()))
            problems = {key: (bad.msgid, bad.params) for key, bad in self.problems.items()}
            raise InvalidCampaign(f"{name}: {first}", problems=problems)


def _editable(form: CampaignForm, check: _Checker, *, currency: str | None, tz: str) -> dict[str, Any]:
    values = {
        "name": check("name", short_text, form.name, max_length=MAX_NAME, required=True),
        "landing_url": check("landing_url", _landing_url, form.landing_url),
        "hashtag": check("hashtag", _hashtag, form.hashtag),
        "attribution_window_days": check(
            "attribution_window_days", whole_number, form.attribution_window_days, 1, 365
        ),
        "attribution_model": check("attribution_model", _choice, form.attribution_model, AttributionModel),
        "new_customers_only": bool(form.new_customers_only),
        "starts_at": check("starts_at", _instant, form.starts_at, tz),
        "ends_at": check("ends_at", _instant, form.ends_at, tz),
        "hold_days": check("hold_days", whole_number, form.hold_days, 0, 365),
        "per_referrer_cap": check(
            "per_referrer_cap", whole_number, form.per_referrer_cap, 1, 1_000_000, optional=True
        ),
        "locale": check("locale", _choice, form.locale, LOCALES) or None,
    }
    if currency is not None:  # amounts cannot be read in an unknown currency; no minimum is 0
        values["min_order_amount"] = check(
            "min_order_amount",
            minor_units,
            form.min_order_amount.strip() or "0",
            currency,
            maximum=MAX_MINOR_UNITS,
        )
        values["budget_amount"] = check(
            "budget_amount", minor_units, form.budget_amount, currency, maximum=MAX_MINOR_UNITS, optional=True
        )
    if period_problem(values["starts_at"], values["ends_at"]):
        check.problems.setdefault("ends_at", FieldError(PERIOD))
    return values


def parse_new(form: CampaignForm, *, default_currency: str, tz: str) -> dict[str, Any]:
    """The fields of a new (draft) campaign; ``InvalidCampaign`` lists the problem of each field."""
    check = _Checker()
    currency = check("currency", currency_code, form.currency, default_currency)
    kind = check("kind", _choice, form.kind, CampaignKind)
    values = _editable(form, check, currency=currency, tz=tz)
    check.raise_if_any()
    return values | {"kind": kind, "currency": currency, "status": CampaignStatus.draft}


def parse_edit(form: CampaignForm, *, currency: str, tz: str) -> dict[str, Any]:
    """The changed fields of a campaign in ``currency`` (kind and currency are fixed once created)."""
    check = _Checker()
    values = _editable(form, check, currency=currency, tz=tz)
    check.raise_if_any()
    return values


def page_error(error: DomainError, *, target: CampaignStatus | None = None) -> PageError:
    """What a refused form or status move shows: the field problems, or one message for the page."""
    if isinstance(error, IllegalStatusChange):
        params = {"current": error.details.get("current") or "", "target": target.value if target else ""}
        return PageError(error.code(), Problem(None, params, error.message))
    problems: dict[str, tuple[str, dict[str, Any]]] = error.details.get("problems", {})
    fields = {name: Problem(msgid, params, msgid % params) for name, (msgid, params) in problems.items()}
    return PageError(error.code(), Problem(None, {}, error.message), fields)


def _local_input(value: datetime | None, tz: str) -> str:
    """A ``datetime-local`` value in ``tz``; seconds only when there are some."""
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(tz))
    return local.strftime("%Y-%m-%dT%H:%M:%S" if local.second else "%Y-%m-%dT%H:%M")


def _major(amount: int | None, currency: str) -> str:
    return "" if amount is None else str(Money(amount, currency).to_decimal())


def blank_form(*, default_currency: str, attribution_window_days: int) -> CampaignForm:
    """The new-campaign form with the program's defaults filled in."""
    return CampaignForm(
        currency=default_currency,
        attribution_window_days=str(attribution_window_days),
        new_customers_only="on",
        min_order_amount=_major(0, default_currency),
    )


def form_of(campaign: Campaign, *, tz: str) -> CampaignForm:
    """The edit form filled with a campaign's current values."""
    return CampaignForm(
        name=campaign.name,
        kind=campaign.kind,
        currency=campaign.currency,
        landing_url=campaign.landing_url,
        hashtag=campaign.hashtag or "",
        attribution_window_days=str(campaign.attribution_window_days),
        attribution_model=campaign.attribution_model,
        new_customers_only="on" if campaign.new_customers_only else "",
        starts_at=_local_input(campaign.starts_at, tz),
        ends_at=_local_input(campaign.ends_at, tz),
        hold_days=str(campaign.hold_days),
        min_order_amount=_major(campaign.min_order_amount, campaign.currency),
        budget_amount=_major(campaign.budget_amount, campaign.currency),
        per_referrer_cap="" if campaign.per_referrer_cap is None else str(campaign.per_referrer_cap),
        locale=campaign.locale or "",
    )


@dataclass(frozen=True, slots=True)
class StatusMove:
    """A status button: the status it moves to, and its action (activate, pause, resume, end)."""

    target: CampaignStatus
    action: str


def status_moves(status: CampaignStatus) -> tuple[StatusMove, ...]:
    """The buttons of a campaign in ``status``, in the order they are shown."""
    actions = {
        CampaignStatus.active: "resume" if status is CampaignStatus.paused else "activate",
        CampaignStatus.paused: "pause",
        CampaignStatus.ended: "end",
    }
    return tuple(
        StatusMove(target, action) for target, action in actions.items() if target in TRANSITIONS[status]
    )


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    """A campaign as the list and the detail page show it; amounts as ``Money``, times in UTC."""

    id: UUID
    name: str
    kind: str
    status: str
    currency: str
    landing_url: str
    hashtag: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    budget_spent: Money
    budget_amount: Money | None
    min_order_amount: Money
    codes_issued: int
    created_at: datetime
    moves: tuple[StatusMove, ...]


def summary(campaign: Campaign) -> CampaignSummary:
    """The view of one campaign."""
    currency = campaign.currency
    return CampaignSummary(
        id=campaign.id,
        name=campaign.name,
        kind=campaign.kind,
        status=campaign.status,
        currency=currency,
        landing_url=campaign.landing_url,
        hashtag=campaign.hashtag,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        budget_spent=Money(campaign.budget_spent, currency),
        budget_amount=None if campaign.budget_amount is None else Money(campaign.budget_amount, currency),
        min_order_amount=Money(campaign.min_order_amount, currency),
        codes_issued=campaign.codes_issued,
        created_at=campaign.created_at,
        moves=status_moves(CampaignStatus(campaign.status)),
    )
