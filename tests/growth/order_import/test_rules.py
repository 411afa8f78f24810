from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from growth.order.rules import OrderEventType
from growth.order.service import LineIn, OrderEventIn, OrderIntake
from growth.order_import.errors import MalformedCsv
from growth.order_import.rules import (
    MAX_ROW_CHARS,
    CsvReader,
    Kind,
    Outcome,
    Refusal,
    RowResult,
    count_outcomes,
    ends_quoted,
    event_from_row,
    is_blank,
    order_from_rows,
    read_header,
    row_cells,
)

CLICK = "0191b7a2-0000-7000-8000-000000000001"


def order_cells(**changes: str) -> dict[str, str]:
    cells = {
        "external_id": "o-1",
        "customer_external_id": "mei",
        "customer_email": "mei@example.com",
        "customer_name": "Mei Wang",
        "amount": "19900",
        "currency": "CNY",
        "placed_at": "2026-11-20T10:00:00+08:00",
        "referral_code": "",
        "coupon_code": "",
        "click_id": "",
        "lead_reference": "",
        "payment_reference": "",
        "subscription_id": "",
        "sku": "",
        "quantity": "",
        "unit_amount": "",
        "category": "",
    }
    return {**cells, **changes}


def major_cells(amount_major: str, **changes: str) -> dict[str, str]:
    """A row of a file in major units: ``amount_major`` and ``unit_amount_major`` columns."""
    cells = order_cells(**changes)
    del cells["amount"]
    cells["unit_amount_major"] = cells.pop("unit_amount")
    return {**cells, "amount_major": amount_major}


def read_all(data: bytes, chunk: int) -> list[tuple[int, list[str] | Refusal]]:
    reader = CsvReader()
    rows = []
    for start in range(0, len(data), chunk):
        rows += reader.feed(data[start : start + chunk])
    return rows + reader.feed(b"", final=True)


class TestEndsQuoted:
    @pytest.mark.parametrize(
        ("line", "quoted", "expected"),
        [
            ("a,b,c\n", False, False),
            ('"a,b",c\n', False, False),
            ('a,"b\n', False, True),
            ('"a ""quoted"" word\n', False, True),
            ('"a ""quoted"" word",x\n', False, False),
            ('""\n', False, False),
            ('a"b,c\n', False, False),  # a quote inside an unquoted cell is just a character
            ('a,"b"c,"d\n', False, True),
            ("still inside\n", True, True),
            ('the end",x\n', True, False),
            ('"" still inside\n', True, True),
        ],
    )
    def test_follows_the_csv_module(self, line: str, quoted: bool, expected: bool) -> None:
        assert ends_quoted(line, quoted) is expected
        if not quoted:
            # csv itself: the next line belongs to this row exactly when a quoted cell is open.
            runs_on = len(list(csv.reader([line, "next\n"]))) == 1
            assert runs_on is expected


FILE = (
    "\ufeffexternal_id,customer_name,amount\r\n"
    'o-1,"Wang, Mei",100\r\n'
    'o-2,"Li\r\nLei ""LL""",200\r\n'
    "\r\n"
    "o-3,测试,300"
).encode()


class TestCsvReader:
    @pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64, 10_000])
    def test_rows_and_lines_whatever_the_chunks(self, chunk: int) -> None:
        assert read_all(FILE, chunk) == [
            (1, ["external_id", "customer_name", "amount"]),
            (2, ["o-1", "Wang, Mei", "100"]),
            (3, ["o-2", 'Li\r\nLei "LL"', "200"]),
            (5, []),
            (6, ["o-3", "测试", "300"]),
        ]

    def test_lf_line_ends_and_a_final_line_break(self) -> None:
        assert read_all(b"a,b\n1,2\n", 3) == [(1, ["a", "b"]), (2, ["1", "2"])]

    def test_a_bom_is_skipped_only_at_the_start(self) -> None:
        rows = read_all("\ufeffa\n\ufeffb\n".encode(), 1)
        assert rows == [(1, ["a"]), (2, ["\ufeffb"])]

    @pytest.mark.parametrize(
        ("data", "line"),
        [
            (b"a,b\n1,2\n\xff,3\n", 3),
            ("a\ncaf\xe9\n".encode("latin-1"), 2),
            (b"a\nb\n\xe4\xb8", 3),  # a character cut off at the end
        ],
    )
    def test_not_utf8_is_malformed_with_the_line(self, data: bytes, line: int) -> None:
        with pytest.raises(MalformedCsv, match=f"not UTF-8 \\(line {line}\\)") as raised:
            read_all(data, 2)
        assert raised.value.details == {"line": line}

    def test_a_quote_never_closed(self) -> None:
        with pytest.raises(MalformedCsv, match="quote opened on line 2 is never closed"):
            read_all(b'a,b\n1,"2\n3,4\n', 4)

    def test_an_endless_row(self) -> None:
        with pytest.raises(MalformedCsv, match="longer than"):
            read_all(b'a,b\n1,"' + b"x\n" * MAX_ROW_CHARS, 4096)
        with pytest.raises(MalformedCsv, match="line 2 is longer than"):
            read_all(b"a,b\n" + b"x" * (MAX_ROW_CHARS + 1), 4096)

    def test_a_row_csv_cannot_read_is_refused_alone(self) -> None:
        rows = read_all(b"a,b\n1,2\rx\n3,4\n", 100)
        assert rows[0] == (1, ["a", "b"]) and rows[2] == (3, ["3", "4"])
        line, refusal = rows[1]
        assert line == 2 and isinstance(refusal, Refusal) and refusal.code == "malformed_row"


class TestReadHeader:
    @pytest.mark.parametrize(
        ("kind", "header", "problem"),
        [
            (Kind.orders, "external_id,customer_external_id,amount,currency,placed_at", None),
            (Kind.orders, " External_ID ,CUSTOMER_EXTERNAL_ID,amount_major,currency,placed_at", None),
            (
                Kind.orders,
                "external_id,customer_external_id,amount,currency,placed_at,colour,size",
                "'colour', 'size'",
            ),
            (
                Kind.orders,
                "external_id,customer_external_id,amount,currency,placed_at,",
                "unknown columns ''",
            ),
            (Kind.orders, "external_id,customer_external_id,amount,currency", "missing columns: placed_at"),
            (
                Kind.orders,
                "external_id,customer_external_id,amount,currency,placed_at,currency",
                "twice: currency",
            ),
            (Kind.orders, "external_id,customer_external_id,currency,placed_at", "exactly one of"),
            (
                Kind.orders,
                "external_id,customer_external_id,amount,amount_major,currency,placed_at",
                "exactly one",
            ),
            (
                Kind.orders,
                "external_id,customer_external_id,amount_major,currency,placed_at,sku,quantity,unit_amount",
                "unit price column is unit_amount_major",
            ),
            (
                Kind.orders,
                "external_id,customer_external_id,amount,currency,placed_at,sku",
                "need all the columns",
            ),
            (
                Kind.orders,
                "external_id,customer_external_id,amount,currency,placed_at,sku,quantity,unit_amount,category",
                None,
            ),
            (Kind.orders, "o-1,mei,19900,CNY,2026-11-20T10:00:00Z", "unknown columns 'o-1'"),
            (Kind.events, "order_external_id,type,occurred_at", None),
            (Kind.events, "order_external_id,type,amount,occurred_at,event_id", None),
            (Kind.events, "order_external_id,type", "missing columns: occurred_at"),
            (Kind.events, "external_id,type,occurred_at", "unknown columns 'external_id'"),
        ],
    )
    def test_header(self, kind: Kind, header: str, problem: str | None) -> None:
        cells = header.split(",")
        if problem is None:
            assert read_header(kind, cells) == tuple(c.strip().lower() for c in cells)
        else:
            with pytest.raises(MalformedCsv, match="header") as raised:
                read_header(kind, cells)
            assert problem in raised.value.message


class TestRowCells:
    def test_trimmed_by_column_with_missing_trailing_cells_empty(self) -> None:
        assert row_cells(("a", "b", "c"), [" 1 ", "2"]) == ({"a": "1", "b": "2"}, None)
        assert row_cells(("a",), ["1", "", " "]) == ({"a": "1"}, None)

    def test_extra_cells_are_refused(self) -> None:
        cells, refusal = row_cells(("a",), ["1", "2"])
        assert cells == {"a": "1"}
        assert isinstance(refusal, Refusal) and "2 cells but the header names 1" in refusal.message

    def test_blank(self) -> None:
        assert is_blank([]) and is_blank(["", " "]) and not is_blank(["", "x"])


def one(cells: dict[str, str]) -> OrderIntake | Refusal:
    return order_from_rows([(2, cells)])


class TestOrderRow:
    def test_a_full_row(self) -> None:
        intake = one(
            order_cells(
                referral_code="ab12cd34",
                coupon_code="SPRING",
                click_id=CLICK,
                lead_reference="L-9",
                payment_reference="pi_1",
                subscription_id="sub_1",
                sku="TEA-1",
                quantity="2",
                unit_amount="9950",
                category="tea",
            )
        )

        assert isinstance(intake, OrderIntake)
        assert (intake.external_id, intake.customer_external_id, intake.amount, intake.currency) == (
            "o-1",
            "mei",
            19900,
            "CNY",
        )
        assert intake.placed_at == datetime(2026, 11, 20, 2, tzinfo=UTC)
        assert intake.placed_at.utcoffset() == timedelta(hours=8)  # kept as sent, like the API
        assert (intake.source, intake.customer_email, intake.customer_name) == (
            "csv",
            "mei@example.com",
            "Mei Wang",
        )
        assert intake.lines == (LineIn("TEA-1", 2, 9950, "tea"),)
        assert intake.hints.referral_code == "ab12cd34" and intake.hints.coupon_code == "SPRING"
        assert intake.hints.click_ids == (UUID(CLICK),) and intake.hints.lead_reference == "L-9"
        assert (intake.payment_reference, intake.subscription_id) == ("pi_1", "sub_1")

    def test_empty_cells_are_absent_values(self) -> None:
        intake = one(order_cells(customer_email="", customer_name=""))

        assert isinstance(intake, OrderIntake)
        assert intake.customer_email is None and intake.customer_name is None and intake.lines == ()
        assert intake.hints.click_ids == () and intake.hints.referral_code is None

    def test_a_multi_line_name_is_one_line(self) -> None:
        intake = one(order_cells(customer_name="Mei \r\n Wang\nJr"))
        assert isinstance(intake, OrderIntake) and intake.customer_name == "Mei Wang Jr"

    def test_lower_case_currency_and_utc_z(self) -> None:
        intake = one(order_cells(currency="eur", placed_at="2026-11-20T02:00:00Z"))
        assert isinstance(intake, OrderIntake)
        assert intake.currency == "EUR" and intake.placed_at.tzinfo == UTC

    @pytest.mark.parametrize(
        ("amount", "minor"),
        [("-100", -100), ("100000000000000000000", 10**20), ("0", 0)],
    )
    def test_amounts_the_order_rules_judge_are_passed_on(self, amount: str, minor: int) -> None:
        # Negative and absurd amounts are refused by the order intake, with the API's message.
        intake = one(order_cells(amount=amount))
        assert isinstance(intake, OrderIntake) and intake.amount == minor

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"amount": "12.50"}, "amount must be a whole number of minor units: '12.50'"),
            ({"amount": "lots"}, "amount must be a whole number of minor units"),
            ({"amount": "1 000"}, "amount must be a whole number"),
            ({"amount": ""}, "amount is required"),
            ({"amount": "1" * 31}, "amount must be a whole number"),
            ({"currency": ""}, "currency is required"),
            ({"currency": "XYZ"}, "unknown currency 'XYZ' (ISO 4217 expected)"),
            ({"currency": "yuan"}, "unknown currency 'YUAN'"),
            ({"placed_at": "yesterday"}, "placed_at must be an ISO 8601 time"),
            ({"placed_at": "20/11/2026 10:00"}, "placed_at must be an ISO 8601 time"),
            ({"placed_at": "2026-11-20T10:00:00"}, "placed_at needs a time zone"),
            ({"placed_at": "2026-11-20"}, "placed_at needs a time zone"),
            ({"placed_at": "0001-01-01T00:00:00+14:00"}, "placed_at is out of range"),
            ({"placed_at": ""}, "placed_at is required"),
            ({"external_id": ""}, "external_id is required"),
            ({"external_id": "x" * 201}, "external_id is longer than 200 characters"),
            ({"customer_external_id": ""}, "customer_external_id is required"),
            ({"customer_email": "mei\x00@example.com"}, "customer_email contains a line break"),
            ({"referral_code": "AB\nCD"}, "referral_code contains a line break"),
            ({"click_id": "not-a-uuid"}, "click_id must be a UUID"),
            (
                {"quantity": "2", "unit_amount": "1"},
                "quantity, unit_amount and category belong to a line item",
            ),
            ({"category": "tea"}, "give its sku"),
            ({"sku": "TEA-1", "unit_amount": "100"}, "quantity is required"),
            ({"sku": "TEA-1", "quantity": "2"}, "unit_amount is required"),
            (
                {"sku": "TEA-1", "quantity": "1.5", "unit_amount": "1"},
                "quantity must be a whole number: '1.5'",
            ),
            (
                {"sku": "TEA-1", "quantity": str(2**31), "unit_amount": "0"},
                "quantity 2147483648 is too large",
            ),
        ],
    )
    def test_refused(self, changes: dict[str, str], message: str) -> None:
        refusal = one(order_cells(**changes))

        assert isinstance(refusal, Refusal), refusal
        assert refusal.code == "invalid_row"
        assert message in refusal.message

    @pytest.mark.parametrize(
        ("amount", "currency", "minor"),
        [
            ("199.00", "CNY", 19900),
            ("199", "CNY", 19900),
            ("0.5", "EUR", 50),
            ("1000", "JPY", 1000),
            ("1.234", "KWD", 1234),
            ("-5.00", "EUR", -500),
            ("12345678901234567.89", "USD", 1234567890123456789),
        ],
    )
    def test_major_units_are_converted_exactly(self, amount: str, currency: str, minor: int) -> None:
        intake = one(
            major_cells(amount_major=amount, currency=currency, sku="A", quantity="1", unit_amount=amount)
        )
        assert isinstance(intake, OrderIntake), intake
        assert intake.amount == minor and intake.lines[0].unit_amount == minor

    @pytest.mark.parametrize(
        ("amount", "currency", "message"),
        [
            ("199.001", "EUR", "has more decimals than EUR allows"),
            ("10.5", "JPY", "has more decimals than JPY allows"),
            ("1e3", "EUR", "must be a decimal number like 199.00"),
            ("1,000.00", "EUR", "must be a decimal number"),
            ("¥199", "CNY", "must be a decimal number"),
            (".5", "EUR", "must be a decimal number"),
        ],
    )
    def test_major_units_refused(self, amount: str, currency: str, message: str) -> None:
        refusal = one(major_cells(amount_major=amount, currency=currency))
        assert isinstance(refusal, Refusal) and message in refusal.message
        assert refusal.message.startswith("amount_major")


class TestOrderOfSeveralRows:
    def test_each_row_adds_a_line_item(self) -> None:
        intake = order_from_rows(
            [
                (2, order_cells(sku="TEA-1", quantity="2", unit_amount="5000", category="tea")),
                (3, order_cells(sku="CUP-1", quantity="1", unit_amount="9900")),
            ]
        )
        assert isinstance(intake, OrderIntake)
        assert intake.lines == (LineIn("TEA-1", 2, 5000, "tea"), LineIn("CUP-1", 1, 9900, None))

    def test_order_cells_must_agree(self) -> None:
        refusal = order_from_rows(
            [
                (2, order_cells(sku="TEA-1", quantity="2", unit_amount="5000")),
                (3, order_cells(amount="1", currency="USD", sku="CUP-1", quantity="1", unit_amount="9900")),
            ]
        )
        assert refusal == Refusal(
            "invalid_row", "line 3 repeats order o-1 with a different amount, currency than line 2"
        )

    def test_a_repeated_row_must_add_a_line_item(self) -> None:
        refusal = order_from_rows(
            [(2, order_cells(sku="TEA-1", quantity="1", unit_amount="1")), (4, order_cells())]
        )
        assert refusal == Refusal("invalid_row", "line 4: a repeated order row must add a line item (sku)")

    def test_a_bad_line_names_its_line(self) -> None:
        refusal = order_from_rows(
            [
                (2, order_cells(sku="TEA-1", quantity="1", unit_amount="1")),
                (3, order_cells(sku="TEA-2", quantity="x", unit_amount="1")),
            ]
        )
        assert isinstance(refusal, Refusal) and refusal.message.startswith("line 3: quantity must be")


def event_cells(**changes: str) -> dict[str, str]:
    cells = {
        "order_external_id": "o-1",
        "type": "paid",
        "amount": "",
        "occurred_at": "2026-11-21T10:00:00+08:00",
        "event_id": "",
    }
    return {**cells, **changes}


class TestEventRow:
    @pytest.mark.parametrize(
        ("changes", "expected"),
        [
            ({}, ("o-1", OrderEventType.paid, None, None)),
            ({"type": "PAID", "event_id": "ev-1"}, ("o-1", OrderEventType.paid, None, "ev-1")),
            ({"type": "refunded", "amount": "5000"}, ("o-1", OrderEventType.refunded, 5000, None)),
            ({"type": "refunded"}, ("o-1", OrderEventType.refunded, None, None)),
            ({"type": "dispute_lost", "amount": "-1"}, ("o-1", OrderEventType.dispute_lost, -1, None)),
            ({"type": "dispute_won"}, ("o-1", OrderEventType.dispute_won, None, None)),
        ],
    )
    def test_read(self, changes: dict[str, str], expected: tuple[Any, ...]) -> None:
        parsed = event_from_row(event_cells(**changes))

        assert not isinstance(parsed, Refusal), parsed
        external_id, event = parsed
        assert (external_id, event.type, event.amount, event.event_key) == expected
        assert event.source == "csv"
        assert event.occurred_at == datetime(2026, 11, 21, 2, tzinfo=UTC)

    def test_without_an_event_id_the_key_is_stable(self) -> None:
        first, second = event_from_row(event_cells()), event_from_row(event_cells())
        assert isinstance(first, tuple) and isinstance(second, tuple)
        assert isinstance(first[1], OrderEventIn) and first[1].key() == second[1].key()

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"type": "shipped"}, "type must be one of paid, fulfilled, closed, refunded"),
            ({"type": ""}, "type must be one of"),
            ({"amount": "100"}, "amount is given only for refunded and dispute_lost events"),
            ({"type": "refunded", "amount": "1.5"}, "amount must be a whole number of minor units"),
            ({"occurred_at": ""}, "occurred_at is required"),
            ({"occurred_at": "2026-11-21 10:00"}, "occurred_at needs a time zone"),
            ({"order_external_id": ""}, "order_external_id is required"),
            ({"event_id": "x" * 201}, "event_id is longer than 200"),
        ],
    )
    def test_refused(self, changes: dict[str, str], message: str) -> None:
        refusal = event_from_row(event_cells(**changes))
        assert isinstance(refusal, Refusal) and refusal.code == "invalid_row"
        assert message in refusal.message


def test_count_outcomes() -> None:
    results = [
        RowResult(2, "a", Outcome.created),
        RowResult(3, "b", Outcome.refused, Refusal("x", "y")),
        RowResult(4, "c", Outcome.created),
    ]
    assert count_outcomes(results) == {Outcome.created: 2, Outcome.duplicate: 0, Outcome.refused: 1}
    assert count_outcomes([]) == dict.fromkeys(Outcome, 0)
