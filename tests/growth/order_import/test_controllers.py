from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from growth.customer.models import Customer
from growth.order.models import Order, OrderLine
from growth.order_import.rules import MAX_FILE_BYTES
from tests.factories import bearer, create_key

ORDERS = "external_id,customer_external_id,customer_email,amount,currency,placed_at"
EVENTS = "order_external_id,type,amount,occurred_at,event_id"
CSV = {"content-type": "text/csv"}


def order_row(external_id: str, amount: str = "19900", **cells: str) -> str:
    customer = cells.get("customer_external_id", "mei")
    placed_at = cells.get("placed_at", "2026-11-20T10:00:00+08:00")
    return f"{external_id},{customer},mei@example.com,{amount},{cells.get('currency', 'CNY')},{placed_at}"


def csv_file(header: str, *rows: str, newline: str = "\n") -> bytes:
    return newline.join([header, *rows, ""]).encode()


@pytest.fixture
async def shop(session: AsyncSession) -> dict[str, str]:
    key = await create_key(session, role=Role.shop)
    await session.commit()
    return {**bearer(key), **CSV}


async def _count(session: AsyncSession, model: Any) -> int:
    count = await session.scalar(select(func.count()).select_from(model)) or 0
    await session.rollback()  # end the read: SQLite's open transaction would hold the write lock
    return count


def outcomes(response: Any) -> list[tuple[int, str | None, str, str | None]]:
    return [
        (r["line"], r["external_id"], r["outcome"], r["error"]["code"] if r["error"] else None)
        for r in response.json()["rows"]
    ]


class TestImportOrders:
    async def test_a_good_file(self, client: AsyncTestClient[Litestar], shop: dict[str, str]) -> None:
        data = csv_file(
            f"{ORDERS},sku,quantity,unit_amount,category",
            f"{order_row('o-1')},TEA-1,2,5000,tea",
            f"{order_row('o-1')},CUP-1,1,9900,",
            f"{order_row('o-2', '500', currency='EUR')},,,,",
        )

        response = await client.post("/api/orders/import", content=data, headers=shop)
        order = await client.get("/api/orders/o-1", headers=shop)

        assert response.status_code == 200, response.text
        assert response.json() == {
            "counts": {"created": 2, "duplicate": 0, "refused": 0},
            "rows": [
                {"line": 2, "external_id": "o-1", "outcome": "created", "error": None},
                {"line": 4, "external_id": "o-2", "outcome": "created", "error": None},
            ],
        }
        assert order.json()["source"] == "csv" and order.json()["amount"] == 19900
        assert order.json()["attribution"]["method"] == "none"
        assert sorted((x["sku"], x["quantity"]) for x in order.json()["lines"]) == [
            ("CUP-1", 1),
            ("TEA-1", 2),
        ]

    async def test_broken_rows_in_the_middle_are_named_and_the_good_ones_created(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        data = csv_file(
            ORDERS,
            order_row("good-1"),
            order_row("bad-amount", "12,50"),
            order_row("bad-currency", currency="ABC"),
            order_row("negative", "-1"),
            order_row("absurd", "999999999999999999"),
            order_row("bad-date", placed_at="next tuesday"),
            order_row("naive-date", placed_at="2026-11-20T10:00:00"),
            order_row("no-customer", customer_external_id=""),
            order_row("good-2"),
        )

        response = await client.post("/api/orders/import", content=data, headers=shop)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["counts"] == {"created": 2, "duplicate": 0, "refused": 7}
        assert outcomes(response) == [
            (2, "good-1", "created", None),
            (3, "bad-amount", "refused", "invalid_row"),
            (4, "bad-currency", "refused", "invalid_row"),
            (5, "negative", "refused", "invalid_order"),
            (6, "absurd", "refused", "invalid_order"),
            (7, "bad-date", "refused", "invalid_row"),
            (8, "naive-date", "refused", "invalid_row"),
            (9, "no-customer", "refused", "invalid_row"),
            (10, "good-2", "created", None),
        ]
        # "12,50" is two cells: the row has more cells than the header.
        assert "7 cells but the header names 6" in body["rows"][1]["error"]["message"]
        assert body["rows"][2]["error"]["message"] == "unknown currency 'ABC' (ISO 4217 expected)"
        assert body["rows"][6]["error"]["message"].startswith("placed_at needs a time zone")
        assert await _count(session, Order) == 2

    async def test_importing_the_same_file_twice(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        data = csv_file(ORDERS, order_row("o-1"), order_row("o-2"), order_row("o-3"))

        first = await client.post("/api/orders/import", content=data, headers=shop)
        again = await client.post("/api/orders/import", content=data, headers=shop)

        assert first.json()["counts"] == {"created": 3, "duplicate": 0, "refused": 0}
        assert again.status_code == 200
        assert again.json()["counts"] == {"created": 0, "duplicate": 3, "refused": 0}
        assert {r["outcome"] for r in again.json()["rows"]} == {"duplicate"}
        assert await _count(session, Order) == 3

    async def test_same_external_id_with_different_content(
        self, client: AsyncTestClient[Litestar], shop: dict[str, str]
    ) -> None:
        await client.post("/api/orders/import", content=csv_file(ORDERS, order_row("o-1")), headers=shop)

        response = await client.post(
            "/api/orders/import",
            content=csv_file(ORDERS, order_row("o-1", "100", placed_at="2026-11-21T00:00:00Z")),
            headers=shop,
        )

        (row,) = response.json()["rows"]
        assert row["outcome"] == "refused"
        assert row["error"] == {
            "code": "order_conflict",
            "message": "order o-1 was already reported with different amount, placed_at",
        }

    async def test_bom_crlf_and_quoted_commas_and_line_breaks(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        data = b"\xef\xbb\xbf" + csv_file(
            f"{ORDERS},customer_name,sku,quantity,unit_amount,category",
            f'{order_row("o-1")},"Wang, Mei\r\nJr.",TEA-1,1,19900,"tea, green"',
            f'{order_row("o-2")},"She said ""hi""",TEA-1,1,19900,tea',
            newline="\r\n",
        )

        response = await client.post("/api/orders/import", content=data, headers=shop)

        assert outcomes(response) == [(2, "o-1", "created", None), (4, "o-2", "created", None)]
        order = (await client.get("/api/orders/o-1", headers=shop)).json()
        assert order["lines"][0]["category"] == "tea, green"
        # The same customer, named twice: the last name wins.
        name = await session.scalar(select(Customer.name).where(Customer.external_id == "mei"))
        await session.rollback()
        assert name == 'She said "hi"'

    async def test_a_name_with_a_line_break(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        data = csv_file(f"{ORDERS},customer_name", f'{order_row("o-1")},"Wang, Mei\nJr."')

        await client.post("/api/orders/import", content=data, headers=shop)

        name = await session.scalar(select(Customer.name))
        await session.rollback()
        assert name == "Wang, Mei Jr."

    async def test_five_thousand_rows(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        rows = [
            order_row(f"o-{i}", str(100 + i), customer_external_id=f"c-{i % 700}")
            if i % 1000 != 999
            else order_row(f"o-{i}", "oops")
            for i in range(5000)
        ]
        data = csv_file(
            f"{ORDERS},sku,quantity,unit_amount", *(f"{r},SKU-{i},1,1" for i, r in enumerate(rows))
        )

        # Its speed is measured by `python -m benchmarks.orders` (CSV import vs bulk INSERT), not here:
        # a wall-clock limit in a test fails on a busy machine.
        response = await client.post("/api/orders/import", content=data, headers=shop)

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["counts"] == {"created": 4995, "duplicate": 0, "refused": 5}
        assert [r["line"] for r in body["rows"] if r["outcome"] == "refused"] == [
            1001,
            2001,
            3001,
            4001,
            5001,
        ]
        assert await _count(session, Order) == 4995
        assert await _count(session, OrderLine) == 4995

    async def test_auth(self, client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
        marketing = await create_key(session, role=Role.marketing)
        admin = await create_key(session, role=Role.admin)
        await session.commit()
        data = csv_file(ORDERS, order_row("o-1"))

        for path in ("/api/orders/import", "/api/orders/events/import"):
            anonymous = await client.post(path, content=data, headers=CSV)
            wrong_role = await client.post(path, content=data, headers={**bearer(marketing), **CSV})
            assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "invalid_api_key"
            assert wrong_role.status_code == 403 and wrong_role.json()["error"]["code"] == "role_not_allowed"
        allowed = await client.post("/api/orders/import", content=data, headers={**bearer(admin), **CSV})
        assert allowed.status_code == 200

    async def test_an_oversized_file_is_413(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, shop: dict[str, str]
    ) -> None:
        data = csv_file(ORDERS, order_row("o-1"))
        data += b"x" * (MAX_FILE_BYTES + 1 - len(data))

        response = await client.post("/api/orders/import", content=data, headers=shop)

        assert response.status_code == 413
        assert set(response.json()["error"]) == {"code", "message"}
        assert response.json()["error"]["code"] == "payload_too_large"
        assert await _count(session, Order) == 0

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            (csv_file(ORDERS, order_row("o-1")) + b"o-2,M\xfcller\n", "not UTF-8 (line 3)"),
            ("external_id,amount\n".encode("utf-16"), "not UTF-8"),
            (csv_file(f"{ORDERS},colour", order_row("o-1") + ",red"), "unknown columns 'colour'"),
            (csv_file("external_id,amount,currency", "o-1,1,CNY"), "missing columns: customer_external_id"),
            (b"", "the file is empty"),
            (csv_file(ORDERS, order_row("o-1"), '"o-2,mei'), "quote opened on line 3 is never closed"),
        ],
    )
    async def test_a_malformed_file_is_400_and_takes_nothing(
        self,
        client: AsyncTestClient[Litestar],
        session: AsyncSession,
        shop: dict[str, str],
        data: bytes,
        message: str,
    ) -> None:
        response = await client.post("/api/orders/import", content=data, headers=shop)

        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "malformed_csv" and message in error["message"]
        assert await _count(session, Order) == 0

    @pytest.mark.parametrize(
        "content_type", ["application/json", "text/csv; charset=latin-1", "multipart/form-data; boundary=x"]
    )
    async def test_only_utf8_csv_is_taken(
        self, client: AsyncTestClient[Litestar], shop: dict[str, str], content_type: str
    ) -> None:
        response = await client.post(
            "/api/orders/import",
            content=csv_file(ORDERS, order_row("o-1")),
            headers={**shop, "content-type": content_type},
        )

        assert response.status_code == 415
        assert response.json()["error"]["code"] == "unsupported_media_type"

    async def test_charset_utf8_is_fine(
        self, client: AsyncTestClient[Litestar], shop: dict[str, str]
    ) -> None:
        response = await client.post(
            "/api/orders/import",
            content=csv_file(ORDERS, order_row("o-1")),
            headers={**shop, "content-type": "text/csv; charset=UTF-8"},
        )

        assert response.json()["counts"]["created"] == 1


class TestImportEvents:
    async def test_paid_then_refunded_and_an_illegal_transition(
        self, client: AsyncTestClient[Litestar], shop: dict[str, str]
    ) -> None:
        await client.post(
            "/api/orders/import", content=csv_file(ORDERS, order_row("o-1"), order_row("o-2")), headers=shop
        )
        data = csv_file(
            EVENTS,
            "o-1,paid,,2026-11-21T10:00:00+08:00,ev-1",
            "o-1,refunded,4900,2026-11-22T10:00:00+08:00,ev-2",
            "o-1,cancelled,,2026-11-22T11:00:00+08:00,ev-3",
            "o-2,refunded,,2026-11-22T10:00:00+08:00,",
            "o-9,paid,,2026-11-22T10:00:00+08:00,",
        )

        response = await client.post("/api/orders/events/import", content=data, headers=shop)
        again = await client.post("/api/orders/events/import", content=data, headers=shop)

        assert response.status_code == 200, response.text
        assert response.json()["counts"] == {"created": 2, "duplicate": 0, "refused": 3}
        assert outcomes(response) == [
            (2, "o-1", "created", None),
            (3, "o-1", "created", None),
            (4, "o-1", "refused", "illegal_order_transition"),
            (5, "o-2", "refused", "illegal_order_transition"),
            (6, "o-9", "refused", "order_not_found"),
        ]
        assert response.json()["rows"][2]["error"]["message"].startswith(
            "cannot apply cancelled to a paid order"
        )
        assert again.json()["counts"] == {"created": 0, "duplicate": 2, "refused": 3}
        order = (await client.get("/api/orders/o-1", headers=shop)).json()
        assert (order["status"], order["paid_amount"], order["refunded_amount"]) == ("paid", 19900, 4900)
        assert [(h["event"], h["amount"], h["source"]) for h in order["history"]] == [
            ("paid", None, "csv"),
            ("refunded", 4900, "csv"),
        ]

    async def test_an_unknown_column_is_400(
        self, client: AsyncTestClient[Litestar], shop: dict[str, str]
    ) -> None:
        response = await client.post(
            "/api/orders/events/import",
            content=csv_file(f"{EVENTS},note", "o-1,paid,,2026-11-21T10:00:00Z,,hi"),
            headers=shop,
        )

        assert response.status_code == 400
        assert "unknown columns 'note'" in response.json()["error"]["message"]


async def test_the_csv_body_is_documented(client: AsyncTestClient[Litestar]) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]

    for path in ("/api/orders/import", "/api/orders/events/import"):
        body = paths[path]["post"]["requestBody"]
        assert body["required"] is True and body["content"]["text/csv"]["schema"] == {"type": "string"}


def readme_example() -> bytes:
    """The example orders file of the README's CSV section."""
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    example = re.search(r"```csv\n(.*?)```", readme[readme.index("## Importing orders from CSV") :], re.S)
    assert example is not None
    return example.group(1).encode()


async def test_the_readme_example_file_imports(
    client: AsyncTestClient[Litestar], shop: dict[str, str]
) -> None:
    response = await client.post("/api/orders/import", content=readme_example(), headers=shop)

    assert response.json()["counts"] == {"created": 2, "duplicate": 0, "refused": 0}, response.text
    order = (await client.get("/api/orders/order-2002", headers=shop)).json()
    assert order["amount"] == 30000 and len(order["lines"]) == 2
