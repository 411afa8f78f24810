"""Lead endpoints: a partner's key registers and reads its own leads only; finance registers for a partner."""

from __future__ import annotations

from uuid import UUID

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from payouts.lead.models import Lead
from payouts.partner.models import Partner
from payouts.partner.rules import PartnerStatus
from tests.factories import bearer, create_customer, create_key, create_partner

UNKNOWN_ID = "0191b7a2-0000-7000-8000-000000000000"
PROSPECT = {"email": "prospect@example.com", "company": "Acme Ltd", "contact_name": "Jane Doe"}


async def _leads(session: AsyncSession) -> int:
    count = await session.scalar(select(func.count()).select_from(Lead)) or 0
    await session.rollback()  # end the read: on SQLite an open transaction holds the write lock
    return count


async def partner_with_key(session: AsyncSession, **fields: object) -> tuple[Partner, str]:
    partner = await create_partner(session, **fields)  # type: ignore[arg-type]
    key = await create_key(session, role=Role.partner, subject_id=partner.id)
    return partner, key


@pytest.fixture
async def finance_key(session: AsyncSession) -> str:
    key = await create_key(session, role=Role.finance)
    await session.commit()
    return key


class TestPartnerRegistersLead:
    async def test_register_then_the_same_lead_again(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        partner, key = await partner_with_key(session)
        await session.commit()

        first = await client.post("/api/partner/leads", json=PROSPECT, headers=bearer(key))
        again = await client.post(
            "/api/partner/leads", json={"email": "Prospect@Example.com"}, headers=bearer(key)
        )

        assert (first.status_code, again.status_code) == (201, 200), first.text
        body = first.json()
        assert again.json() == body
        assert (body["partner_id"], body["email"], body["company"], body["status"]) == (
            str(partner.id),
            "prospect@example.com",
            "Acme Ltd",
            "active",
        )
        assert body["reference"].startswith("L-")
        assert await _leads(session) == 1

    async def test_another_partner_is_told_without_being_told_who(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        winner, winner_key = await partner_with_key(session, name="Winner Consulting")
        _, key = await partner_with_key(session)
        await session.commit()
        await client.post("/api/partner/leads", json=PROSPECT, headers=bearer(winner_key))

        response = await client.post(
            "/api/partner/leads", json={"company": "ACME, Inc."}, headers=bearer(key)
        )

        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "lead_already_registered"
        assert error["message"] == "this prospect is already registered by another partner"
        assert "details" not in error
        assert str(winner.id) not in response.text and "Winner" not in response.text

    async def test_lead_for_an_existing_customer_is_409(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        await create_customer(session, email="prospect@example.com")
        _, key = await partner_with_key(session)
        await session.commit()

        response = await client.post("/api/partner/leads", json=PROSPECT, headers=bearer(key))

        assert response.status_code == 409 and response.json()["error"]["code"] == "prospect_is_customer"
        assert await _leads(session) == 0

    @pytest.mark.parametrize("status", [PartnerStatus.suspended, PartnerStatus.closed, PartnerStatus.applied])
    async def test_a_partner_that_is_not_approved_is_409(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, status: PartnerStatus
    ) -> None:
        _, key = await partner_with_key(session, status=status)
        await session.commit()

        response = await client.post("/api/partner/leads", json=PROSPECT, headers=bearer(key))

        assert response.status_code == 409 and response.json()["error"]["code"] == "partner_not_approved"

    @pytest.mark.parametrize(
        "payload",
        [{}, {"email": "not-an-email"}, {"company": "..."}, {"email": " ", "company": " "}],
        ids=["nothing", "bad-email", "no-letters", "blank"],
    )
    async def test_invalid_prospect_is_422(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, payload: dict[str, str]
    ) -> None:
        _, key = await partner_with_key(session)
        await session.commit()

        response = await client.post("/api/partner/leads", json=payload, headers=bearer(key))

        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_lead"
        assert await _leads(session) == 0

    @pytest.mark.parametrize(
        "payload",
        [
            {"email": "a@" + "x" * 320 + ".com"},
            {"company": "x" * 201},
            {"email": "a@example.com", "note": "x" * 1001},
            {"email": "a@example.com", "partner_id": UNKNOWN_ID},
            {"email": ["a@example.com"]},
            {"company": "Ac\x00me"},
        ],
        ids=[
            "long-email",
            "long-company",
            "long-note",
            "partner-id-is-not-the-callers-to-choose",
            "list",
            "nul",
        ],
    )
    async def test_malformed_payload_is_400(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, payload: dict[str, object]
    ) -> None:
        _, key = await partner_with_key(session)
        await session.commit()

        response = await client.post("/api/partner/leads", json=payload, headers=bearer(key))

        assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error"
        assert await _leads(session) == 0

    async def test_no_key_is_401(self, client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
        response = await client.post("/api/partner/leads", json=PROSPECT)

        assert response.status_code == 401
        assert await _leads(session) == 0

    @pytest.mark.parametrize("role", [Role.finance, Role.marketing, Role.shop])
    async def test_staff_keys_use_the_finance_endpoint(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, role: Role
    ) -> None:
        key = await create_key(session, role=role)
        await session.commit()

        response = await client.post("/api/partner/leads", json=PROSPECT, headers=bearer(key))

        assert response.status_code == 403

    async def test_an_admin_key_acts_for_no_partner(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key = await create_key(session, role=Role.admin)
        await session.commit()

        response = await client.post("/api/partner/leads", json=PROSPECT, headers=bearer(key))

        assert response.status_code == 403 and response.json()["error"]["code"] == "not_a_partner_key"


class TestPartnerReadsLeads:
    async def test_lists_and_reads_only_its_own(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        _, key = await partner_with_key(session)
        _, other_key = await partner_with_key(session)
        await session.commit()
        mine = [
            (
                await client.post(
                    "/api/partner/leads", json={"email": f"p{i}@example.com"}, headers=bearer(key)
                )
            ).json()
            for i in range(3)
        ]
        theirs = (
            await client.post(
                "/api/partner/leads", json={"email": "t@example.com"}, headers=bearer(other_key)
            )
        ).json()

        listed = await client.get("/api/partner/leads", headers=bearer(key))
        page = await client.get("/api/partner/leads?limit=1&offset=1", headers=bearer(key))
        own = await client.get(f"/api/partner/leads/{mine[0]['id']}", headers=bearer(key))
        other = await client.get(f"/api/partner/leads/{theirs['id']}", headers=bearer(key))

        assert [x["id"] for x in listed.json()] == [x["id"] for x in reversed(mine)]
        assert [x["id"] for x in page.json()] == [mine[1]["id"]]
        assert own.status_code == 200 and own.json() == mine[0]
        assert other.status_code == 404 and other.json()["error"]["code"] == "lead_not_found"
        assert theirs["email"] not in listed.text

    async def test_a_partner_key_cannot_use_the_finance_endpoints_with_another_id(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        _, key = await partner_with_key(session)
        theirs, their_key = await partner_with_key(session)
        await session.commit()
        await client.post("/api/partner/leads", json=PROSPECT, headers=bearer(their_key))

        listed = await client.get(f"/api/partners/{theirs.id}/leads", headers=bearer(key))
        registered = await client.post(f"/api/partners/{theirs.id}/leads", json=PROSPECT, headers=bearer(key))

        assert (listed.status_code, registered.status_code) == (403, 403)
        assert "prospect@example.com" not in listed.text

    async def test_unknown_lead_is_404(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        _, key = await partner_with_key(session)
        await session.commit()

        response = await client.get(f"/api/partner/leads/{UNKNOWN_ID}", headers=bearer(key))

        assert response.status_code == 404

    async def test_no_key_is_401(self, client: AsyncTestClient[Litestar]) -> None:
        assert (await client.get("/api/partner/leads")).status_code == 401


class TestFinanceRegistersLead:
    async def test_for_a_partner(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, finance_key: str
    ) -> None:
        partner, key = await partner_with_key(session)
        await session.commit()

        created = await client.post(
            f"/api/partners/{partner.id}/leads", json=PROSPECT, headers=bearer(finance_key)
        )
        listed = await client.get(f"/api/partners/{partner.id}/leads", headers=bearer(finance_key))
        seen_by_partner = await client.get("/api/partner/leads", headers=bearer(key))

        assert created.status_code == 201 and created.json()["partner_id"] == str(partner.id)
        assert listed.json() == [created.json()] == seen_by_partner.json()

    async def test_first_partner_wins_for_finance_too(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, finance_key: str
    ) -> None:
        first, second = await create_partner(session), await create_partner(session)
        await session.commit()
        await client.post(f"/api/partners/{first.id}/leads", json=PROSPECT, headers=bearer(finance_key))

        response = await client.post(
            f"/api/partners/{second.id}/leads", json=PROSPECT, headers=bearer(finance_key)
        )

        assert response.status_code == 409

    @pytest.mark.parametrize("method", ["get", "post"])
    async def test_unknown_partner_is_404(
        self, client: AsyncTestClient[Litestar], finance_key: str, method: str
    ) -> None:
        path = f"/api/partners/{UNKNOWN_ID}/leads"
        response = await (
            client.get(path, headers=bearer(finance_key))
            if method == "get"
            else client.post(path, json=PROSPECT, headers=bearer(finance_key))
        )

        assert response.status_code == 404 and response.json()["error"]["code"] == "partner_not_found"

    async def test_marketing_may_not(self, client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
        partner = await create_partner(session)
        key = await create_key(session, role=Role.marketing)
        await session.commit()

        response = await client.post(f"/api/partners/{partner.id}/leads", json=PROSPECT, headers=bearer(key))

        assert response.status_code == 403

    async def test_not_a_uuid_is_404(self, client: AsyncTestClient[Litestar], finance_key: str) -> None:
        response = await client.get("/api/partners/not-a-uuid/leads", headers=bearer(finance_key))

        assert response.status_code == 404
        assert UUID(UNKNOWN_ID)  # the well-formed unknown id is covered above
