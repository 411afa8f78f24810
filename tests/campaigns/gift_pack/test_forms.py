"""The gift-pack pages' pure helpers: values typed in major units, quantities, and what the list shows."""

from __future__ import annotations

import pytest

from campaigns.gift_pack import forms
from campaigns.gift_pack.errors import InvalidGiftPack, InvalidStock
from growth.core.forms import AMOUNT_DIGITS


class TestParseNewPack:
    def test_exact_minor_units(self) -> None:
        form = forms.PackForm(
            sku=" HOME-CLEAN ", name=" Home ", value="88.00", currency="cny", stock_on_hand=""
        )

        assert forms.parse_new_pack(form, default_currency="USD") == {
            "sku": "HOME-CLEAN",
            "name": "Home",
            "currency": "CNY",
            "stock_on_hand": 0,
            "value_amount": 8800,
        }

    @pytest.mark.parametrize(
        ("value", "currency", "amount"),
        [
            ("88", "CNY", 8800),
            ("0.01", "CNY", 1),
            ("1200", "JPY", 1200),
            ("1.005", "KWD", 1005),
            ("0", "CNY", 0),
        ],
    )
    def test_per_currency_exponent(self, value: str, currency: str, amount: int) -> None:
        assert forms.minor_units(value, currency) == amount

    def test_every_field_problem_is_listed(self) -> None:
        form = forms.PackForm(sku="a b", name="", value="88.001", currency="CNY", stock_on_hand="x")

        with pytest.raises(InvalidGiftPack) as refused:
            forms.parse_new_pack(form, default_currency="CNY")

        problems = refused.value.details["problems"]
        assert sorted(problems) == ["name", "sku", "stock_on_hand", "value"]
        assert problems["value"] == forms.Problem(AMOUNT_DIGITS, {"currency": "CNY", "digits": 2})

    def test_value_is_not_read_in_an_unknown_currency(self) -> None:
        with pytest.raises(InvalidGiftPack) as refused:
            forms.parse_new_pack(
                forms.PackForm(sku="A", name="A", value="1", currency="XXY"), default_currency="CNY"
            )

        assert sorted(refused.value.details["problems"]) == ["currency"]


class TestQuantities:
    @pytest.mark.parametrize(("typed", "quantity"), [("1", 1), (" 12 ", 12), ("1000000", 1_000_000)])
    def test_quantity(self, typed: str, quantity: int) -> None:
        assert forms.parse_quantity(typed) == quantity

    @pytest.mark.parametrize("typed", ["0", "-1", "1.5", "", "1e3", "1000001", "٣"])
    def test_bad_quantity(self, typed: str) -> None:
        with pytest.raises(InvalidStock):
            forms.parse_quantity(typed)

    @pytest.mark.parametrize(("typed", "stock"), [("0", 0), ("100000000", 100_000_000)])
    def test_stock(self, typed: str, stock: int) -> None:
        assert forms.parse_stock(typed) == stock

    def test_bad_stock(self) -> None:
        with pytest.raises(InvalidStock):
            forms.parse_stock("100000001")


class TestMessages:
    @pytest.mark.parametrize(
        ("query", "message"),
        [
            ({"notice": "created", "sku": "TEA-1"}, forms.PackMessage("created", "TEA-1")),
            ({"notice": "created", "sku": "<b>"}, forms.PackMessage("created", None)),
            ({"notice": "<b>"}, None),
            ({}, None),
        ],
    )
    def test_read_notice(self, query: dict[str, str], message: forms.PackMessage | None) -> None:
        assert forms.read_message(query, forms.PACK_NOTICES, "notice") == message
