"""Statements over HTTP: finance issues and reads, partners read only their own, people print them."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from growth.settings import Settings
from tests.factories import bearer, create_key
from tests.pages import HTML, sign_in
from tests.payouts.statement.conftest import SHANGHAI, Partner, Program, at, october

UNKNOWN_ID = "0191b7a2-0000-7000-8000-000000000000"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(timezone=SHANGHAI)


class Books:
    """October issued for two partners, and the keys to read it."""

    def __init__(
        self, client: AsyncTestClient[Litestar], keys: dict[str, dict[str, str]], mine: Partner
    ) -> None:
        self.client, self.keys, self.mine = client, keys, mine

    async def issue(self, period: str = "2025-10", key: str = "finance") -> Any:
        return await self.client.post("/api/statements", json={"period": period}, headers=self.keys[key])

    async def statement_id(self) -> str:
        response = await self.client.get(
            "/api/statements", params={"partner_id": str(self.mine.id)}, headers=self.keys["finance"]
        )
        [statement] = response.json()
        return str(statement["id"])


@pytest.fixture
async def october_books(session: AsyncSession, program: Program) -> tuple[Partner, dict[str, dict[str, str]]]:
    """The ledger written before the app starts: its periodic approval job (real clock) finds nothing due."""
    mine = await october(program)
    other = await program.partner("Other Partner")
    await program.order(other, "x-1", 20000, at("2025-10-20T10:00+08:00"))
    keys = {
        "finance": bearer(await create_key(session, role=Role.finance)),
        "mine": bearer(await create_key(session, role=Role.partner, subject_id=mine.id)),
        "other": bearer(await create_key(session, role=Role.partner, subject_id=other.id)),
        "shop": bearer(await create_key(session, role=Role.shop)),
    }
    await session.commit()
    return mine, keys


@pytest.fixture
async def books(
    october_books: tuple[Partner, dict[str, dict[str, str]]], client: AsyncTestClient[Litestar]
) -> Books:
    mine, keys = october_books
    return Books(client, keys, mine)


class TestIssue:
    async def test_finance_issues_a_month_once(self, books: Books) -> None:
        first = await books.issue()
        again = await books.issue()

        assert first.status_code == 200, first.text
        assert first.json() == {"period": "2025-10", "issued": 2, "skipped": 0}
        assert again.json() == {"period": "2025-10", "issued": 0, "skipped": 2}

    @pytest.mark.parametrize("period", ["2026-13", "26-11", "2999-01"])
    async def test_a_bad_or_unfinished_month_is_422(self, books: Books, period: str) -> None:
        response = await books.issue(period)

        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] in {"invalid_period", "period_not_over"}

    async def test_only_finance_issues(self, books: Books) -> None:
        assert (await books.issue(key="mine")).status_code == 403
        assert (await books.issue(key="shop")).status_code == 403
        assert (await books.client.post("/api/statements", json={"period": "2025-10"})).status_code == 401


class TestFinanceReads:
    async def test_list_detail_and_csv(self, books: Books) -> None:
        await books.issue()
        c, finance = books.client, books.keys["finance"]

        listed = (await c.get("/api/statements", params={"period": "2025-10"}, headers=finance)).json()
        assert len(listed) == 2
        statement_id = await books.statement_id()
        detail = await c.get(f"/api/statements/{statement_id}", headers=finance)
        assert detail.status_code == 200
        body = detail.json()
        assert (body["period"], body["currency"], body["closing_pending"], body["closing_payable"]) == (
            "2025-10",
            "CNY",
            3000,
            10000,
        )
        assert body["period_start"].startswith("2025-09-30T16:00:00")
        assert [(line["kind"], line["order_external_id"]) for line in body["lines"]] == [
            ("commission_accrued", "o-1"),
            ("commission_accrued", "o-2"),
            ("commission_approved", "o-1"),
            ("commission_reversed", "o-2"),
        ]
        assert body["lines"][0]["description"] == "Commission earned, order o-1"

        download = await c.get(f"/api/statements/{statement_id}.csv", headers=finance)
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("text/csv")
        assert download.headers["content-disposition"] == (
            f'attachment; filename="statement-2025-10-CNY-{books.mine.id}.csv"'
        )
        assert download.headers["cache-control"] == "no-store"
        rows = list(csv.reader(io.StringIO(download.text)))
        assert [row[4] for row in rows[1:]] == [
            "opening_balance",
            "commission_accrued",
            "commission_accrued",
            "commission_approved",
            "commission_reversed",
            "closing_balance",
        ]
        assert rows[-1][-2:] == ["30.00", "100.00"]

    async def test_filters_are_checked(self, books: Books) -> None:
        response = await books.client.get(
            "/api/statements", params={"period": "2025-1"}, headers=books.keys["finance"]
        )
        assert response.status_code == 422

    @pytest.mark.parametrize("ref", [UNKNOWN_ID, f"{UNKNOWN_ID}.csv", "not-an-id", f"{UNKNOWN_ID}.pdf"])
    async def test_unknown_statement_is_404(self, books: Books, ref: str) -> None:
        response = await books.client.get(f"/api/statements/{ref}", headers=books.keys["finance"])
        assert response.status_code == 404


class TestPartnerReads:
    async def test_a_partner_sees_only_its_own(self, books: Books) -> None:
        await books.issue()
        statement_id = await books.statement_id()
        c = books.client

        mine = (await c.get("/api/partner/statements", headers=books.keys["mine"])).json()
        assert [s["id"] for s in mine] == [statement_id]
        theirs = (await c.get("/api/partner/statements", headers=books.keys["other"])).json()
        assert len(theirs) == 1 and theirs[0]["id"] != statement_id
        for suffix in ("", ".csv", ".html"):
            own = await c.get(f"/api/partner/statements/{statement_id}{suffix}", headers=books.keys["mine"])
            assert own.status_code == 200, (suffix, own.text)
            other = await c.get(
                f"/api/partner/statements/{statement_id}{suffix}", headers=books.keys["other"]
            )
            assert other.status_code == 404, suffix  # never 403: whether it exists is not told
            assert other.json()["error"]["code"] == "statement_not_found"

    async def test_partner_keys_cannot_use_finance_routes(self, books: Books) -> None:
        await books.issue()
        statement_id = await books.statement_id()
        response = await books.client.get(f"/api/statements/{statement_id}", headers=books.keys["mine"])
        assert response.status_code == 403


class TestPrintablePage:
    @pytest.mark.parametrize(
        ("lang", "expected"),
        [
            (
                "en",
                ["Commission statement", "Opening balance", "Commission earned", "CN¥30.00", "Download CSV"],
            ),
            ("zh", ["佣金对账单", "期初余额", "佣金入账", "¥30.00", "下载 CSV"]),
        ],
    )
    async def test_renders_in_english_and_chinese(self, books: Books, lang: str, expected: list[str]) -> None:
        await books.issue()
        statement_id = await books.statement_id()

        page = await books.client.get(
            f"/api/statements/{statement_id}.html",
            params={"lang": lang},
            headers=books.keys["finance"] | HTML,
        )

        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        for text in expected:
            assert text in page.text, text
        assert "o-1" in page.text and "Northwind Consulting" in page.text
        assert (
            "2025/10/1" in page.text or "10/1/25" in page.text
        )  # the period starts 1 October, Shanghai time

    async def test_signed_in_finance_opens_it_and_others_sign_in_first(
        self, books: Books, session: AsyncSession
    ) -> None:
        await books.issue()
        statement_id = await books.statement_id()
        c = books.client

        anonymous = await c.get(f"/statements/{statement_id}", headers=HTML, follow_redirects=False)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/sign-in")

        finance_key = await create_key(session, role=Role.finance)
        await session.commit()
        await sign_in(c, finance_key)
        page = await c.get(f"/statements/{statement_id}", headers=HTML)
        assert page.status_code == 200 and "Commission statement" in page.text
        download = await c.get(f"/statements/{statement_id}.csv", headers=HTML)
        assert download.status_code == 200 and download.text.startswith("partner_id,period,")

    async def test_late_lines_are_marked(self, books: Books, program: Program) -> None:
        await books.issue()
        await program.event("o-1", "refunded", at("2025-10-30T10:00+08:00"), amount=10000)
        assert (await books.issue("2025-11")).json()["issued"] == 2  # a late clawback; a balance carried over
        response = await books.client.get(
            "/api/statements",
            params={"partner_id": str(books.mine.id), "period": "2025-11"},
            headers=books.keys["finance"],
        )
        [november] = response.json()

        page = await books.client.get(f"/api/statements/{november['id']}.html", headers=books.keys["finance"])

        assert 'id="late-note"' in page.text and "Commission clawed back" in page.text
