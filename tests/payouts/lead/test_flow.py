"""End to end: a partner registers a lead, the prospect's order arrives, attribution credits the partner."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from growth.attribution.models import Attribution
from growth.cli import main
from growth.core.auth.rules import Role
from growth.core.db import make_db_config, make_engine
from growth.core.time import utc_now
from growth.settings import get_settings
from payouts.lead import service as lead_service
from payouts.partner import service as partner_service
from payouts.partner.rules import PartnerStatus
from tests.factories import bearer, create_key, create_partner

_orders = iter(range(1, 10_000))


def order(email: str, **fields: Any) -> dict[str, Any]:
    n = next(_orders)
    return {
        "external_id": f"order-{n}",
        "customer": {"external_id": f"cust-{n}", "email": email},
        "amount": 19900,
        "currency": "CNY",
        "placed_at": utc_now().isoformat(),
        **fields,
    }


async def _lead_id(session: AsyncSession, order_id: str) -> object:
    lead_id = await session.scalar(select(Attribution.lead_id).where(Attribution.order_id == order_id))
    await session.rollback()
    return lead_id


class TestLeadAttribution:
    async def test_the_prospects_order_is_the_partners(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        partner = await create_partner(session)
        partner_key = await create_key(session, role=Role.partner, subject_id=partner.id)
        shop_key = await create_key(session, role=Role.shop)
        await session.commit()
        lead = await client.post(
            "/api/partner/leads", json={"email": "prospect@example.com"}, headers=bearer(partner_key)
        )
        assert lead.status_code == 201

        response = await client.post(
            "/api/orders", json=order("Prospect@Example.com"), headers=bearer(shop_key)
        )

        assert response.status_code == 201, response.text
        attribution = response.json()["attribution"]
        assert (attribution["method"], attribution["partner_id"]) == ("lead", str(partner.id))
        assert lead.json()["reference"] in attribution["explanation"]
        assert str(await _lead_id(session, response.json()["id"])) == lead.json()["id"]

    async def test_the_reference_quoted_at_checkout(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        partner = await create_partner(session)
        partner_key = await create_key(session, role=Role.partner, subject_id=partner.id)
        shop_key = await create_key(session, role=Role.shop)
        await session.commit()
        lead = await client.post(
            "/api/partner/leads", json={"company": "Acme Ltd"}, headers=bearer(partner_key)
        )
        reference = lead.json()["reference"]

        response = await client.post(
            "/api/orders",
            json=order("buyer@acme.example", lead_reference=reference.lower()),
            headers=bearer(shop_key),
        )

        attribution = response.json()["attribution"]
        assert (attribution["method"], attribution["partner_id"]) == ("lead", str(partner.id))

    async def test_an_expired_lead_does_not_attribute(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        partner = await create_partner(session)
        registered = await lead_service.register_lead(
            session,
            partner_id=partner.id,
            email="prospect@example.com",
            company=None,
            valid_days=90,
            now=utc_now() - timedelta(days=91),
        )
        shop_key = await create_key(session, role=Role.shop)
        await session.commit()

        response = await client.post(
            "/api/orders", json=order("prospect@example.com"), headers=bearer(shop_key)
        )

        attribution = response.json()["attribution"]
        assert attribution["method"] == "none" and attribution["partner_id"] is None
        assert attribution["rejected"] == [
            f"lead {registered.lead.reference} expired on {registered.lead.expires_at:%Y-%m-%d} UTC"
        ]

    async def test_a_suspended_partners_lead_does_not_attribute(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        partner = await create_partner(session)
        await lead_service.register_lead(
            session,
            partner_id=partner.id,
            email="prospect@example.com",
            company=None,
            valid_days=90,
            now=utc_now() - timedelta(minutes=1),
        )
        await partner_service.change_status(
            session, partner.id, status=PartnerStatus.suspended, reason="review", now=utc_now()
        )
        shop_key = await create_key(session, role=Role.shop)
        await session.commit()

        response = await client.post(
            "/api/orders", json=order("prospect@example.com"), headers=bearer(shop_key)
        )

        assert response.json()["attribution"]["method"] == "none"

    async def test_a_prospect_who_ordered_is_a_customer_now(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        partner_key = await create_key(session, role=Role.partner)
        shop_key = await create_key(session, role=Role.shop)
        await session.commit()
        await client.post("/api/orders", json=order("new.buyer@example.com"), headers=bearer(shop_key))

        response = await client.post(
            "/api/partner/leads", json={"email": "New.Buyer@example.com"}, headers=bearer(partner_key)
        )

        assert response.status_code == 409 and response.json()["error"]["code"] == "prospect_is_customer"


@pytest.fixture
def cli(database_url: str, engine: AsyncEngine) -> Iterator[CliRunner]:
    get_settings.cache_clear()
    yield CliRunner(env={"GROWTH_DATABASE_URL": database_url})
    get_settings.cache_clear()


async def _prepare(database_url: str) -> str:
    engine = make_engine(database_url)
    try:
        async with make_db_config(engine).create_session_maker()() as s, s.begin():
            partner = await create_partner(s)
            await lead_service.register_lead(
                s,
                partner_id=partner.id,
                email="prospect@example.com",
                company=None,
                valid_days=90,
                now=utc_now() - timedelta(days=1),
            )
            return str(partner.id)
    finally:
        await engine.dispose()


async def _attribution(database_url: str) -> tuple[str, str | None]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            row = (await connection.execute(select(Attribution.method, Attribution.partner_id))).one()
            return row[0], str(row[1]) if row[1] else None
    finally:
        await engine.dispose()


class TestCsvImport:
    def test_the_cli_finds_leads(self, cli: CliRunner, database_url: str, tmp_path: Path) -> None:
        partner_id = asyncio.run(_prepare(database_url))
        path = tmp_path / "orders.csv"
        placed_at = utc_now().isoformat()
        path.write_text(
            "external_id,customer_external_id,customer_email,amount_major,currency,placed_at\n"
            f"o-1,prospect,PROSPECT@example.com,199.00,CNY,{placed_at}\n"
        )

        result = cli.invoke(main, ["orders", "import", str(path)])

        assert result.exit_code == 0, result.output
        assert asyncio.run(_attribution(database_url)) == ("lead", partner_id)
