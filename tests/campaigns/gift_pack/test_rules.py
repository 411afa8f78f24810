from __future__ import annotations

from typing import Any

import pytest

from campaigns.gift_pack.rules import (
    CSV_COLUMNS,
    ShipmentDetails,
    ShipmentStatus,
    Stock,
    StockEffect,
    address_problem,
    after_release,
    after_shipping,
    available,
    can_move,
    csv_cell,
    is_replay,
    normalize_address,
    restock_problem,
    sign_payload,
    sku_problem,
    stock_effect,
    stock_problem,
    update_problem,
    value_amount_problem,
    verify_signature,
)
from tests.campaigns.gift_pack.factories import address

R, S, D, F = (
    ShipmentStatus.requested,
    ShipmentStatus.shipped,
    ShipmentStatus.delivered,
    ShipmentStatus.failed,
)


class TestCanMove:
    @pytest.mark.parametrize(
        ("current", "target", "allowed"),
        [
            (R, S, True),
            (R, F, True),
            (S, D, True),
            (S, F, True),
            (R, D, False),  # delivered without ever being shipped
            (R, R, False),
            (S, R, False),
            (S, S, False),
            (D, S, False),
            (D, F, False),
            (D, R, False),
            (F, S, False),
            (F, R, False),
            (F, D, False),
        ],
    )
    def test_moves(self, current: ShipmentStatus, target: ShipmentStatus, allowed: bool) -> None:
        assert can_move(current, target) is allowed


class TestStock:
    @pytest.mark.parametrize(
        ("on_hand", "reserved", "expected"), [(10, 0, 10), (10, 10, 0), (3, 1, 2), (0, 0, 0), (1, 2, 0)]
    )
    def test_available_is_never_negative(self, on_hand: int, reserved: int, expected: int) -> None:
        assert available(on_hand, reserved) == expected

    @pytest.mark.parametrize(
        ("current", "target", "effect"),
        [
            (R, S, StockEffect.consume),
            (R, F, StockEffect.release),
            (S, F, StockEffect.none),  # lost in transit: it left the warehouse already
            (S, D, StockEffect.none),
        ],
    )
    def test_stock_effect(self, current: ShipmentStatus, target: ShipmentStatus, effect: StockEffect) -> None:
        assert stock_effect(current, target) is effect

    @pytest.mark.parametrize(
        ("on_hand", "reserved", "after"), [(5, 2, Stock(4, 1)), (1, 1, Stock(0, 0)), (0, 0, Stock(0, 0))]
    )
    def test_after_shipping_never_negative(self, on_hand: int, reserved: int, after: Stock) -> None:
        assert after_shipping(on_hand, reserved) == after

    @pytest.mark.parametrize(("on_hand", "reserved", "after"), [(5, 2, Stock(5, 1)), (5, 0, Stock(5, 0))])
    def test_after_release_never_negative(self, on_hand: int, reserved: int, after: Stock) -> None:
        assert after_release(on_hand, reserved) == after

    @pytest.mark.parametrize(
        ("on_hand", "quantity", "ok"),
        [
            (0, 1, True),
            (0, 1_000_000, True),
            (0, 0, False),
            (0, -5, False),
            (0, 1_000_001, False),
            (99_999_999, 1, True),
            (100_000_000, 1, False),
            (0, True, False),
            (0, 2.0, False),
        ],
    )
    def test_restock_problem(self, on_hand: int, quantity: Any, ok: bool) -> None:
        assert (restock_problem(on_hand, quantity) is None) is ok

    @pytest.mark.parametrize(
        ("stock", "ok"), [(0, True), (100_000_000, True), (-1, False), (100_000_001, False), ("3", False)]
    )
    def test_stock_problem(self, stock: Any, ok: bool) -> None:
        assert (stock_problem(stock) is None) is ok


class TestPackFields:
    @pytest.mark.parametrize("sku", ["A", "TEA-01", "tea_sampler.v2", "x" * 100, "0"])
    def test_good_skus(self, sku: str) -> None:
        assert sku_problem(sku) is None

    @pytest.mark.parametrize(
        "sku", ["", "x" * 101, "has space", "../etc", "tea/01", "茶叶", "TEA\n", "TEA\x00", "a?b", None, 42]
    )
    def test_bad_skus(self, sku: Any) -> None:
        assert sku_problem(sku) is not None

    @pytest.mark.parametrize(
        ("value", "ok"),
        [(0, True), (3500, True), (-1, False), (True, False), (1.5, False), (10**12, False), ("35", False)],
    )
    def test_value_amount(self, value: Any, ok: bool) -> None:
        assert (value_amount_problem(value) is None) is ok


class TestAddress:
    def test_a_full_address_is_fine(self) -> None:
        assert address_problem(address()) is None

    def test_the_optional_fields_may_be_left_out_or_empty(self) -> None:
        assert address_problem(address(line2=None, phone=None)) is None
        assert address_problem(address(line2="", phone="  ")) is None

    @pytest.mark.parametrize("field", ["name", "line1", "city", "postal_code", "country"])
    def test_required_fields(self, field: str) -> None:
        assert address_problem(address(**{field: None})) == f"address.{field} is required"

    @pytest.mark.parametrize(
        ("changes", "fragment"),
        [
            ({"name": "   "}, "name must not be blank"),
            ({"name": "x" * 201}, "longer than 200"),
            ({"line1": "Line\nBreak"}, "control characters"),
            ({"city": "Shang\x00hai"}, "control characters"),
            ({"line2": "C1 control \x85"}, "control characters"),
            ({"name": "lone \ud800 surrogate"}, "control characters"),
            ({"city": 42}, "must be a string"),
            ({"name": ["a"]}, "must be a string"),
            ({"country": "CHN"}, "longer than 2"),
            ({"country": "XX"}, "ISO 3166-1"),
            ({"country": "EU"}, "ISO 3166-1"),
            ({"postal_code": "2000<40"}, "postal_code"),
            ({"postal_code": "x" * 17}, "longer than 16"),
            ({"phone": "call me"}, "phone"),
            ({"phone": "+-()"}, "phone"),
            ({"email": "a@example.com"}, "unknown fields: email"),
        ],
    )
    def test_problems(self, changes: dict[str, Any], fragment: str) -> None:
        problem = address_problem(address(**changes))
        assert problem is not None and fragment in problem

    @pytest.mark.parametrize("value", [None, "Shanghai", ["CN"], 5])
    def test_not_an_object(self, value: Any) -> None:
        assert address_problem(value) == "address must be an object"

    @pytest.mark.parametrize("postal_code", ["200040", "SW1A 1AA", "K1A 0B1", "01310-100"])
    def test_postal_codes_of_several_countries(self, postal_code: str) -> None:
        assert address_problem(address(postal_code=postal_code)) is None

    def test_normalized_trimmed_country_upper_empty_optional_dropped(self) -> None:
        raw = address(name="  王小美 ", country=" cn ", line2="  ", phone=None)

        assert address_problem(raw) is None
        assert normalize_address(raw) == {
            "name": "王小美",
            "line1": "南京西路 1266 号",
            "city": "上海",
            "postal_code": "200040",
            "country": "CN",
        }


class TestShipmentUpdate:
    NONE = ShipmentDetails()
    SHIPPED = ShipmentDetails("SF Express", "SF1234567890")

    @pytest.mark.parametrize(
        ("target", "stored", "given", "fragment"),
        [
            (S, NONE, ShipmentDetails(carrier="SF Express"), "needs its tracking_number"),
            (S, NONE, ShipmentDetails(tracking_number=""), "must not be blank"),
            (S, NONE, ShipmentDetails(tracking_number="x" * 101), "longer than 100"),
            (S, NONE, ShipmentDetails(tracking_number="SF1\n"), "control characters"),
            (D, SHIPPED, ShipmentDetails(failure_reason="late"), "only set with status failed"),
            (D, SHIPPED, ShipmentDetails(tracking_number="OTHER"), "tracking_number is set when"),
            (F, SHIPPED, ShipmentDetails(carrier="EMS"), "carrier is set when"),
            (F, NONE, ShipmentDetails(failure_reason="x" * 301), "longer than 300"),
        ],
    )
    def test_problems(
        self, target: ShipmentStatus, stored: ShipmentDetails, given: ShipmentDetails, fragment: str
    ) -> None:
        problem = update_problem(target, stored, given)
        assert problem is not None and fragment in problem

    @pytest.mark.parametrize(
        ("target", "stored", "given"),
        [
            (S, NONE, ShipmentDetails(tracking_number="SF1234567890")),
            (S, NONE, ShipmentDetails("SF Express", "SF1234567890")),
            (D, SHIPPED, NONE),
            (D, SHIPPED, SHIPPED),  # repeating what was recorded is fine
            (F, NONE, ShipmentDetails(failure_reason="address does not exist")),
            (F, SHIPPED, NONE),
        ],
    )
    def test_fine(self, target: ShipmentStatus, stored: ShipmentDetails, given: ShipmentDetails) -> None:
        assert update_problem(target, stored, given) is None

    @pytest.mark.parametrize(
        ("target", "given", "replay"),
        [
            (S, ShipmentDetails("SF Express", "SF1234567890"), True),
            (S, ShipmentDetails(tracking_number="SF1234567890"), True),
            (S, ShipmentDetails(tracking_number="SF0000000000"), False),
            (S, ShipmentDetails(carrier="EMS", tracking_number="SF1234567890"), False),
            (S, NONE, False),
            (D, NONE, True),
            (D, ShipmentDetails(tracking_number="SF1234567890"), True),
            (D, ShipmentDetails(tracking_number="OTHER"), False),
        ],
    )
    def test_is_replay(self, target: ShipmentStatus, given: ShipmentDetails, replay: bool) -> None:
        assert is_replay(target, self.SHIPPED, given) is replay

    def test_failed_replay_with_another_reason_is_not_a_replay(self) -> None:
        stored = ShipmentDetails(failure_reason="address does not exist")

        assert is_replay(F, stored, ShipmentDetails(failure_reason="address does not exist"))
        assert is_replay(F, stored, self.NONE)
        assert not is_replay(F, stored, ShipmentDetails(failure_reason="refused"))


class TestCsvCell:
    @pytest.mark.parametrize(
        ("value", "cell"),
        [
            (None, ""),
            ("", ""),
            ("王小美", "王小美"),
            ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")'),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("-2+3", "'-2+3"),
            ("-42", "-42"),  # a plain number cannot run anything
            ("-SUM(A1)", "'-SUM(A1)"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("+86 138 0013 8000", "+86 138 0013 8000"),
        ],
    )
    def test_formula_cells_are_neutralised(self, value: str | None, cell: str) -> None:
        assert csv_cell(value) == cell

    def test_columns(self) -> None:
        assert CSV_COLUMNS[:4] == ("shipment_id", "reward_id", "sku", "status")
        assert CSV_COLUMNS[-1] == "requested_at"


class TestSignature:
    SECRET = "whsec_test"
    BODY = b'{"shipment_id":"1","sku":"TEA-01"}'
    T = 1_800_000_000

    def test_header_format(self) -> None:
        header = sign_payload(self.SECRET, self.T, self.BODY)

        assert header.startswith(f"t={self.T},v1=")
        assert len(header.split("v1=")[1]) == 64

    def test_known_vector(self) -> None:
        import hashlib
        import hmac

        expected = hmac.new(b"k", b"1." + b"{}", hashlib.sha256).hexdigest()
        assert sign_payload("k", 1, b"{}") == f"t=1,v1={expected}"

    @pytest.mark.parametrize("skew", [0, 300, -300, 120])
    def test_verifies_within_tolerance(self, skew: int) -> None:
        header = sign_payload(self.SECRET, self.T, self.BODY)
        assert verify_signature(self.SECRET, header, self.BODY, self.T + skew)

    @pytest.mark.parametrize("skew", [301, -301, 10_000])
    def test_refuses_outside_tolerance(self, skew: int) -> None:
        header = sign_payload(self.SECRET, self.T, self.BODY)
        assert not verify_signature(self.SECRET, header, self.BODY, self.T + skew)

    def test_refuses_another_body_or_secret(self) -> None:
        header = sign_payload(self.SECRET, self.T, self.BODY)

        assert not verify_signature(self.SECRET, header, self.BODY + b" ", self.T)
        assert not verify_signature("other", header, self.BODY, self.T)

    def test_a_changed_timestamp_breaks_the_signature(self) -> None:
        mac = sign_payload(self.SECRET, self.T, self.BODY).split("v1=")[1]
        assert not verify_signature(self.SECRET, f"t={self.T + 1},v1={mac}", self.BODY, self.T)

    def test_any_of_several_v1_values_may_match(self) -> None:
        mac = sign_payload(self.SECRET, self.T, self.BODY).split("v1=")[1]
        header = f"t={self.T}, v1={'0' * 64}, v1={mac}"
        assert verify_signature(self.SECRET, header, self.BODY, self.T)

    @pytest.mark.parametrize(
        "header",
        [
            "",
            "garbage",
            "t=abc,v1=00",
            "v1=00",
            f"t={T}",
            f"t={T},t={T},v1=00",
            f"t=-{T},v1=00",
            f"t={T},v1=ünïcode",
            "t=١٢٣,v1=00",  # Arabic-Indic digits are digits to str.isdigit, not to us
            "t=1," + "v1=0," * 400,
        ],
    )
    def test_malformed_headers_are_refused(self, header: str) -> None:
        assert not verify_signature(self.SECRET, header, self.BODY, self.T)


class TestStockLevel:
    @pytest.mark.parametrize(
        ("available_packs", "level"),
        [(-1, "out"), (0, "out"), (1, "low"), (4, "low"), (5, "ok"), (500, "ok")],
    )
    def test_levels(self, available_packs: int, level: str) -> None:
        from campaigns.gift_pack.rules import stock_level

        assert stock_level(available_packs) == level

    def test_threshold_is_a_parameter(self) -> None:
        from campaigns.gift_pack.rules import StockLevel, stock_level

        assert stock_level(9, low_stock=10) is StockLevel.low
        assert stock_level(10, low_stock=10) is StockLevel.ok
