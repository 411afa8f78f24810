"""Marketing's gift-pack pages: stock in colour, restock and correct, new packs in major units, shipments."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.gift_pack import service as gift_pack_service
from campaigns.gift_pack.models import GiftPack
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.settings import Settings
from tests.campaigns.gift_pack.factories import create_pack, create_shipment
from tests.factories import create_key
from tests.pages import HTML, post_form, sign_in

Client = AsyncTestClient[Litestar]
PAGE = "/marketing/gift-packs"
NEW_PACK = {"sku": "HOME-CLEAN", "name": "Home-cleaning gift pack", "value": "88.00", "currency": "CNY"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(timezone="Asia/Shanghai", default_currency="CNY")


async def stored(session_maker: SessionMaker, sku: str) -> GiftPack | None:
    async with session_maker() as fresh:
        return next((p for p in await gift_pack_service.list_packs(fresh) if p.sku == sku), None)


def row_of(html: str, sku: str) -> str:
    """The table row of pack ``sku``."""
    match = re.search(rf'<tr id="pack-{re.escape(sku)}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"no row for {sku}"
    return match.group(0)


def css_rule(html: str, selector: str) -> str:
    match = re.search(rf"{re.escape(selector)} \{{([^}}]*)\}}", html)
    assert match, f"no CSS rule for {selector}"
    return match.group(1)


class TestAccess:
    @pytest.mark.parametrize("path", [PAGE, f"{PAGE}/shipments", f"{PAGE}/shipments.csv"])
    async def test_signed_out_is_sent_to_sign_in(self, client: Client, path: str) -> None:
        response = await client.get(path, headers=HTML, follow_redirects=False)

        assert response.status_code == 303
        assert response.headers["location"].startswith("/sign-in?next=")

    async def test_finance_may_not_open_it(self, client: Client, session: AsyncSession) -> None:
        key = await create_key(session, role=Role.finance)
        await session.commit()
        await sign_in(client, key)

        assert (await client.get(PAGE, headers=HTML)).status_code == 403
        assert (await client.get(f"{PAGE}/shipments.csv", headers=HTML)).status_code == 403

    @pytest.mark.parametrize(
        ("action", "data"),
        [
            (PAGE, NEW_PACK),
            (f"{PAGE}/TEA-1/restock", {"quantity": "5"}),
            (f"{PAGE}/TEA-1/stock", {"stock_on_hand": "9"}),
        ],
    )
    async def test_forms_need_the_csrf_token(
        self,
        marketing: Client,
        session: AsyncSession,
        session_maker: SessionMaker,
        action: str,
        data: dict[str, str],
    ) -> None:
        await create_pack(session, sku="TEA-1", stock_on_hand=2)
        await session.commit()

        response = await marketing.post(action, data=data, headers=HTML, follow_redirects=False)

        assert response.status_code == 403
        pack = await stored(session_maker, "TEA-1")
        assert pack is not None and pack.stock_on_hand == 2
        assert await stored(session_maker, "HOME-CLEAN") is None


class TestList:
    async def test_out_of_stock_is_red_and_low_stock_amber(
        self, marketing: Client, session: AsyncSession
    ) -> None:
        await create_pack(session, sku="EMPTY", name="Empty pack", stock_on_hand=0)
        await create_pack(session, sku="LOW", stock_on_hand=4)
        await create_pack(session, sku="PLENTY", value_amount=8800, stock_on_hand=50)
        reserved = await create_pack(session, sku="ALL-PROMISED", stock_on_hand=1)
        await create_shipment(session, pack=reserved)  # its only pack is reserved
        await session.commit()

        page = await marketing.get(PAGE, headers=HTML)

        assert page.status_code == 200
        empty, low, plenty = row_of(page.text, "EMPTY"), row_of(page.text, "LOW"), row_of(page.text, "PLENTY")
        assert 'class="stock-out"' in empty
        assert '<span class="stock-badge out">Out of stock</span>' in empty
        assert "color: #c92a2a" in css_rule(page.text, ".stock-badge.out")  # red
        assert "#fff5f5" in css_rule(page.text, "tr.stock-out td")
        assert 'class="stock-low"' in low and '<span class="stock-badge low">Low stock</span>' in low
        assert "#fff9db" in css_rule(page.text, "tr.stock-low td")  # amber
        assert 'class="stock-ok"' in plenty and "stock-badge" not in plenty
        assert "CN¥88.00" in plenty and "Out of stock" not in plenty
        promised = row_of(page.text, "ALL-PROMISED")
        assert "Out of stock" in promised  # on hand 1, reserved 1: nothing left to promise
        assert re.findall(r'<td class="num">\s*(\d+)', promised) == ["1", "1", "0"]

    async def test_in_chinese(self, marketing: Client, session: AsyncSession) -> None:
        await create_pack(session, sku="EMPTY", stock_on_hand=0, value_amount=12345)
        await session.commit()

        page = await marketing.get(PAGE, headers=HTML | {"accept-language": "zh-CN,zh;q=0.9"})

        assert '<html lang="zh-Hans">' in page.text
        for label in ("礼包", "缺货", "补货", "新建礼包", "可用", "¥123.45", "退出登录"):
            assert label in page.text, label


class TestStockForms:
    async def test_restock(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        await create_pack(session, sku="TEA-1", stock_on_hand=0)
        await session.commit()

        response = await post_form(marketing, PAGE, f"{PAGE}/TEA-1/restock", {"quantity": "12"})
        page = await marketing.get(response.headers["location"], headers=HTML)

        assert response.status_code == 303
        assert response.headers["location"] == f"{PAGE}?notice=restocked&sku=TEA-1#pack-TEA-1"
        pack = await stored(session_maker, "TEA-1")
        assert pack is not None and (pack.stock_on_hand, pack.stock_reserved) == (12, 0)
        assert "Stock of TEA-1 added." in page.text
        assert "Out of stock" not in row_of(page.text, "TEA-1")

    @pytest.mark.parametrize("quantity", ["0", "-3", "two", "2.5", "", "1000001"])
    async def test_bad_quantity_changes_nothing(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker, quantity: str
    ) -> None:
        await create_pack(session, sku="TEA-1", stock_on_hand=3)
        await session.commit()

        response = await post_form(marketing, PAGE, f"{PAGE}/TEA-1/restock", {"quantity": quantity})
        page = await marketing.get(response.headers["location"], headers=HTML)

        assert response.headers["location"] == f"{PAGE}?error=invalid_stock&sku=TEA-1#pack-TEA-1"
        assert 'class="error"' in page.text and "TEA-1: enter a whole number of packs" in page.text
        pack = await stored(session_maker, "TEA-1")
        assert pack is not None and pack.stock_on_hand == 3

    async def test_unknown_pack(self, marketing: Client) -> None:
        response = await post_form(marketing, PAGE, f"{PAGE}/NOPE/restock", {"quantity": "1"})
        page = await marketing.get(response.headers["location"], headers=HTML)

        assert "Gift pack NOPE does not exist." in page.text

    async def test_correct_the_count(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        pack = await create_pack(session, sku="TEA-1", stock_on_hand=10)
        await create_shipment(session, pack=pack)
        await create_shipment(session, pack=pack)
        await session.commit()

        lowered = await post_form(marketing, PAGE, f"{PAGE}/TEA-1/stock", {"stock_on_hand": "3"})
        too_low = await post_form(marketing, PAGE, f"{PAGE}/TEA-1/stock", {"stock_on_hand": "1"})
        page = await marketing.get(too_low.headers["location"], headers=HTML)

        assert lowered.headers["location"] == f"{PAGE}?notice=stock_set&sku=TEA-1#pack-TEA-1"
        assert too_low.headers["location"] == f"{PAGE}?error=stock_below_reserved&sku=TEA-1#pack-TEA-1"
        assert "cannot be lower than the packs already reserved" in page.text
        stock = await stored(session_maker, "TEA-1")
        assert stock is not None and (stock.stock_on_hand, stock.stock_reserved) == (3, 2)
        assert "Low stock" in row_of(page.text, "TEA-1")  # 1 available

    async def test_unknown_codes_are_not_reflected(self, marketing: Client) -> None:
        page = await marketing.get(
            PAGE, params={"error": "<b>x</b>", "notice": "pwned", "sku": "<i>"}, headers=HTML
        )

        assert 'id="page-error"' not in page.text and 'id="notice"' not in page.text
        assert "<b>x" not in page.text and "<i>" not in page.text


class TestNewPack:
    async def test_value_typed_in_major_units_is_stored_exactly(
        self, marketing: Client, session_maker: SessionMaker
    ) -> None:
        response = await post_form(marketing, PAGE, PAGE, NEW_PACK | {"stock_on_hand": "7"})

        assert response.status_code == 303
        assert response.headers["location"] == f"{PAGE}?notice=created&sku=HOME-CLEAN#pack-HOME-CLEAN"
        pack = await stored(session_maker, "HOME-CLEAN")
        assert pack is not None
        assert (pack.name, pack.value_amount, pack.currency, pack.stock_on_hand) == (
            "Home-cleaning gift pack",
            8800,
            "CNY",
            7,
        )
        page = await marketing.get(response.headers["location"], headers=HTML)
        assert "Gift pack HOME-CLEAN added." in page.text and "CN¥88.00" in page.text

    @pytest.mark.parametrize(
        ("fields", "amount"),
        [
            ({"value": "0.1"}, 10),
            ({"value": "19999999.99"}, 1_999_999_999),
            ({"value": "1200", "currency": "jpy"}, 1200),
            ({"value": "1.234", "currency": "KWD"}, 1234),
            ({"value": "88", "currency": ""}, 8800),  # the program's currency
        ],
    )
    async def test_per_currency_exponent(
        self, marketing: Client, session_maker: SessionMaker, fields: dict[str, str], amount: int
    ) -> None:
        response = await post_form(marketing, PAGE, PAGE, NEW_PACK | fields)

        assert response.status_code == 303, response.text
        pack = await stored(session_maker, "HOME-CLEAN")
        assert pack is not None and pack.value_amount == amount

    @pytest.mark.parametrize(
        ("fields", "field", "message"),
        [
            ({"value": "88.001"}, "value", "CNY amounts have at most 2 digits after the decimal point."),
            ({"value": "88.5", "currency": "JPY"}, "value", "JPY amounts have at most 0 digits"),
            ({"value": "8.8e1"}, "value", "Enter an amount in CNY, like 88.00."),
            ({"value": "-1"}, "value", "Enter an amount in CNY"),
            ({"value": "88,00"}, "value", "Enter an amount in CNY"),
            ({"value": ""}, "value", "Enter an amount in CNY"),
            ({"value": "9999999999"}, "value", "This amount is too large."),
            ({"sku": "HOME CLEAN"}, "sku", "Use 1 to 100 letters, digits"),
            ({"name": "  "}, "name", "Enter a name."),
            ({"currency": "XXY"}, "currency", "ISO 4217 currency code"),
            ({"stock_on_hand": "lots"}, "stock_on_hand", "Enter a whole number from 0 to 100,000,000."),
        ],
    )
    async def test_refused_with_the_typed_values(
        self,
        marketing: Client,
        session_maker: SessionMaker,
        fields: dict[str, str],
        field: str,
        message: str,
    ) -> None:
        response = await post_form(marketing, PAGE, PAGE, NEW_PACK | fields)

        assert response.status_code == 422
        assert 'id="form-error"' in response.text and "Some fields need attention" in response.text
        assert f'id="{field}-problem"' in response.text and message in response.text
        assert f'value="{(NEW_PACK | fields)["value"]}"' in response.text  # what was typed stays
        assert await stored(session_maker, "HOME-CLEAN") is None
        assert await stored(session_maker, "HOME CLEAN") is None

    async def test_duplicate_sku_is_a_409(
        self, marketing: Client, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        await create_pack(session, sku="HOME-CLEAN", value_amount=100)
        await session.commit()

        response = await post_form(marketing, PAGE, PAGE, NEW_PACK)

        assert response.status_code == 409
        assert "A gift pack with this SKU already exists." in response.text
        pack = await stored(session_maker, "HOME-CLEAN")
        assert pack is not None and pack.value_amount == 100


class TestShipments:
    async def test_list_filter_and_csv(self, marketing: Client, session: AsyncSession) -> None:
        pack = await create_pack(session, sku="TEA-1", stock_on_hand=5)
        shipment = await create_shipment(session, pack=pack)
        await session.commit()

        requested = await marketing.get(f"{PAGE}/shipments", params={"status": "requested"}, headers=HTML)
        shipped = await marketing.get(f"{PAGE}/shipments", params={"status": "shipped"}, headers=HTML)
        exported = await marketing.get(f"{PAGE}/shipments.csv", params={"status": "requested"})

        assert requested.status_code == 200
        assert f'id="shipment-{shipment.id}"' in requested.text and "王小美" in requested.text
        assert "+86 138" not in requested.text  # phone numbers stay in the CSV
        assert 'href="/marketing/gift-packs/shipments.csv?status=requested"' in requested.text
        assert "No shipments here." in shipped.text
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        assert exported.headers["content-disposition"] == 'attachment; filename="shipments-requested.csv"'
        rows = list(csv.reader(io.StringIO(exported.text)))
        assert rows[0][:4] == ["shipment_id", "reward_id", "sku", "status"]
        assert [r[0] for r in rows[1:]] == [str(shipment.id)]

    async def test_page_csv_is_the_api_csv(self, marketing: Client, session: AsyncSession) -> None:
        pack = await create_pack(session, sku="TEA-1", stock_on_hand=5)
        await create_shipment(session, pack=pack, name='=HYPERLINK("x")')
        key = await create_key(session, role=Role.marketing)
        await session.commit()

        page_csv = await marketing.get(f"{PAGE}/shipments.csv")
        api_csv = await marketing.get("/api/shipments/export.csv", headers={"Authorization": f"Bearer {key}"})

        assert page_csv.text == api_csv.text
        assert "'=HYPERLINK" in page_csv.text  # cells stay safe to open in a spreadsheet

    async def test_csv_in_bad_status_is_a_400(self, marketing: Client) -> None:
        response: Any = await marketing.get(f"{PAGE}/shipments.csv", params={"status": "lost"})

        assert response.status_code == 400
