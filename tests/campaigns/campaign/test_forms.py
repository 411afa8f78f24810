"""The campaign form: exact amounts in each currency's units, local times to UTC, field problems."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from msgspec.structs import replace

from campaigns.campaign.errors import IllegalStatusChange, InvalidCampaign
from campaigns.campaign.forms import (
    CampaignForm,
    blank_form,
    page_error,
    parse_edit,
    parse_new,
    status_moves,
)
from campaigns.campaign.rules import CampaignStatus

FORM = CampaignForm(
    name="  Spring friends ",
    currency="cny",
    landing_url=" https://shop.example/spring ",
    starts_at="2026-12-01T09:30",
    min_order_amount="12.34",
    budget_amount="",
    new_customers_only="on",
)


def _problems(error: pytest.ExceptionInfo[InvalidCampaign]) -> dict[str, Any]:
    return error.value.details["problems"]


class TestParseNew:
    def test_reads_every_field(self) -> None:
        values = parse_new(FORM, default_currency="USD", tz="Asia/Shanghai")

        assert values == {
            "name": "Spring friends",
            "landing_url": "https://shop.example/spring",
            "hashtag": None,
            "attribution_window_days": 30,
            "attribution_model": "last_click",
            "new_customers_only": True,
            "starts_at": datetime(2026, 12, 1, 1, 30, tzinfo=UTC),
            "ends_at": None,
            "hold_days": 14,
            "per_referrer_cap": None,
            "locale": None,
            "min_order_amount": 1234,
            "budget_amount": None,
            "kind": "referral",
            "currency": "CNY",
            "status": CampaignStatus.draft,
        }

    def test_empty_currency_is_the_default(self) -> None:
        values = parse_new(replace(FORM, currency="", min_order_amount="5"), default_currency="JPY", tz="UTC")

        assert (values["currency"], values["min_order_amount"]) == ("JPY", 5)

    def test_reports_every_field_in_error(self) -> None:
        bad = replace(FORM, name="", hold_days="-1", budget_amount="1.234", ends_at="2026-12-01T09:00")

        with pytest.raises(InvalidCampaign) as error:
            parse_new(bad, default_currency="USD", tz="Asia/Shanghai")

        assert set(_problems(error)) == {"name", "hold_days", "budget_amount", "ends_at"}
        assert error.value.status_code == 422

    def test_unknown_currency_skips_the_amounts(self) -> None:
        with pytest.raises(InvalidCampaign) as error:
            parse_new(replace(FORM, currency="ZZZ"), default_currency="USD", tz="UTC")

        assert set(_problems(error)) == {"currency"}


class TestAmounts:
    @pytest.mark.parametrize(
        ("currency", "typed", "minor"),
        [
            ("CNY", "12.34", 1234),
            ("CNY", "12.3", 1230),
            ("CNY", "12", 1200),
            ("CNY", "0", 0),
            ("CNY", "0.01", 1),
            ("CNY", "12.340", 1234),  # trailing zeros are not extra precision
            ("CNY", "0.29", 29),  # a float would give 28.999...
            ("JPY", "1200", 1200),
            ("JPY", "1200.0", 1200),
            ("KWD", "1.234", 1234),
            ("USD", "1000000000.00", 100_000_000_000),
        ],
    )
    def test_major_units_to_minor_units_exactly(self, currency: str, typed: str, minor: int) -> None:
        values = parse_edit(replace(FORM, min_order_amount=typed), currency=currency, tz="UTC")

        assert values["min_order_amount"] == minor

    @pytest.mark.parametrize(
        ("currency", "typed", "message"),
        [
            ("CNY", "12.345", "CNY amounts have at most 2 digits after the decimal point."),
            ("JPY", "12.5", "JPY amounts have at most 0 digits after the decimal point."),
            ("CNY", "-1", "Enter an amount in CNY, like 1200.00."),
            ("JPY", "1,200", "Enter an amount in JPY, like 1200."),
            ("CNY", "1e3", "Enter an amount in CNY, like 1200.00."),
            ("CNY", "NaN", "Enter an amount in CNY, like 1200.00."),
            ("CNY", ".5", "Enter an amount in CNY, like 1200.00."),
            ("CNY", "١٢", "Enter an amount in CNY, like 1200.00."),  # Arabic-Indic digits
            ("USD", "1000000000.01", "This amount is too large."),
        ],
    )
    def test_refused(self, currency: str, typed: str, message: str) -> None:
        with pytest.raises(InvalidCampaign) as error:
            parse_edit(replace(FORM, budget_amount=typed), currency=currency, tz="UTC")

        msgid, params = _problems(error)["budget_amount"]
        assert msgid % params == message


class TestTimes:
    @pytest.mark.parametrize(
        ("typed", "tz", "utc"),
        [
            ("2026-12-01T09:30", "Asia/Shanghai", datetime(2026, 12, 1, 1, 30, tzinfo=UTC)),
            ("2026-12-01T00:00", "Asia/Shanghai", datetime(2026, 11, 30, 16, 0, tzinfo=UTC)),
            ("2026-07-01T12:00", "Europe/Berlin", datetime(2026, 7, 1, 10, 0, tzinfo=UTC)),  # summer time
            ("2026-01-01T12:00", "Europe/Berlin", datetime(2026, 1, 1, 11, 0, tzinfo=UTC)),
            ("2026-12-01T09:30:15", "UTC", datetime(2026, 12, 1, 9, 30, 15, tzinfo=UTC)),
            ("2026-12-01T09:30+08:00", "UTC", datetime(2026, 12, 1, 1, 30, tzinfo=UTC)),
        ],
    )
    def test_local_time_to_utc(self, typed: str, tz: str, utc: datetime) -> None:
        assert parse_edit(replace(FORM, starts_at=typed), currency="CNY", tz=tz)["starts_at"] == utc

    @pytest.mark.parametrize("typed", ["tomorrow", "2026-13-01T00:00", "0001-01-01T00:00"])
    def test_refused(self, typed: str) -> None:
        with pytest.raises(InvalidCampaign) as error:
            parse_edit(replace(FORM, starts_at=typed), currency="CNY", tz="Asia/Shanghai")

        assert set(_problems(error)) == {"starts_at"}

    def test_datetime_step_follows_seconds(self) -> None:
        assert FORM.datetime_step == 60
        assert replace(FORM, ends_at="2026-12-01T09:30:15").datetime_step == 1


@pytest.mark.parametrize(
    ("status", "buttons"),
    [
        (CampaignStatus.draft, [("active", "activate"), ("ended", "end")]),
        (CampaignStatus.active, [("paused", "pause"), ("ended", "end")]),
        (CampaignStatus.paused, [("active", "resume"), ("ended", "end")]),
        (CampaignStatus.ended, []),
    ],
)
def test_status_buttons(status: CampaignStatus, buttons: list[tuple[str, str]]) -> None:
    assert [(move.target.value, move.action) for move in status_moves(status)] == buttons


class TestPageError:
    def test_illegal_move_names_both_statuses(self) -> None:
        error = page_error(IllegalStatusChange("nope", current="ended"), target=CampaignStatus.active)

        assert error.code == "illegal_status_change"
        assert error.summary.params == {"current": "ended", "target": "active"}
        assert error.fields == {}

    def test_service_message_is_shown_as_is(self) -> None:
        error = page_error(InvalidCampaign("landing_url must not contain credentials"))

        assert (error.summary.msgid, error.summary.detail) == (
            None,
            "landing_url must not contain credentials",
        )


def test_blank_form_has_the_defaults() -> None:
    form = blank_form(default_currency="JPY", attribution_window_days=7)

    assert (form.currency, form.attribution_window_days, form.min_order_amount) == ("JPY", "7", "0")
    assert form.new_customers_only == "on"
