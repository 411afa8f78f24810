from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign.models import Campaign
from campaigns.campaign.rules import CampaignStatus
from growth.core.auth.rules import Role
from growth.referral_code.models import ReferralCode
from payouts.partner.models import Partner
from payouts.partner.rules import PartnerStatus
from tests.conftest import BASE_URL
from tests.factories import bearer, create_campaign, create_key, create_partner

UNKNOWN_ID = "0191b7a2-0000-7000-8000-000000000000"


@pytest.fixture
async def finance_key(session: AsyncSession) -> str:
    key = await create_key(session, role=Role.finance)
    await session.commit()
    return key


@pytest.fixture
async def campaign(session: AsyncSession) -> Campaign:
    campaign = await create_campaign(session)
    await session.commit()
    return campaign


async def _count(session: AsyncSession, model: type) -> int:
    count = await session.scalar(select(func.count()).select_from(model)) or 0
    await session.rollback()  # end the read: on SQLite an open transaction holds the write lock
    return count


class TestCreatePartner:
    async def test_finance_creates_a_partner(
        self, client: AsyncTestClient[Litestar], finance_key: str
    ) -> None:
        response = await client.post(
            "/api/partners",
            json={"name": " Northwind Consulting ", "email": "ops@northwind.example"},
            headers=bearer(finance_key),
        )

        assert response.status_code == 201
        body = response.json()
        assert (body["name"], body["email"], body["status"]) == (
            "Northwind Consulting",
            "ops@northwind.example",
            "approved",
        )
        fetched = await client.get(f"/api/partners/{body['id']}", headers=bearer(finance_key))
        assert fetched.status_code == 200 and fetched.json() == body

    async def test_status_may_be_given(self, client: AsyncTestClient[Litestar], finance_key: str) -> None:
        response = await client.post(
            "/api/partners",
            json={"name": "Applicant", "email": "a@example.com", "status": "applied"},
            headers=bearer(finance_key),
        )

        assert response.status_code == 201 and response.json()["status"] == "applied"

    @pytest.mark.parametrize("email", ["not-an-email", "two@@example.com", "a b@example.com"])
    async def test_invalid_email_is_422(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, finance_key: str, email: str
    ) -> None:
        response = await client.post(
            "/api/partners", json={"name": "Northwind", "email": email}, headers=bearer(finance_key)
        )

        assert response.status_code == 422
        assert response.json()["error"]["code"] == "invalid_partner"
        assert await _count(session, Partner) == 0

    async def test_blank_name_is_422(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, finance_key: str
    ) -> None:
        response = await client.post(
            "/api/partners", json={"name": "   ", "email": "a@example.com"}, headers=bearer(finance_key)
        )

        assert response.status_code == 422
        assert await _count(session, Partner) == 0

    @pytest.mark.parametrize(
        "payload",
        [
            {"name": "x" * 201, "email": "a@example.com"},
            {"name": "N", "email": "a@" + "x" * 320 + ".com"},
            {"name": "N"},
            {"name": "N", "email": "a@example.com", "status": "vip"},
            {"name": "N", "email": "a@example.com", "rate_bps": 1000},
            {"name": ["N"], "email": "a@example.com"},
        ],
        ids=["long-name", "long-email", "missing-email", "bad-status", "unknown-field", "wrong-type"],
    )
    async def test_malformed_payload_is_400(
        self,
        client: AsyncTestClient[Litestar],
        session: AsyncSession,
        finance_key: str,
        payload: dict[str, object],
    ) -> None:
        response = await client.post("/api/partners", json=payload, headers=bearer(finance_key))

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"
        assert await _count(session, Partner) == 0

    @pytest.mark.parametrize(
        "payload",
        [{"name": "North\x00wind", "email": "a@example.com"}, {"name": "N", "email": "a\x00@example.com"}],
    )
    async def test_nul_character_is_refused(
        self,
        client: AsyncTestClient[Litestar],
        session: AsyncSession,
        finance_key: str,
        payload: dict[str, str],
    ) -> None:
        response = await client.post("/api/partners", json=payload, headers=bearer(finance_key))

        assert response.status_code in {400, 422}, response.text
        assert await _count(session, Partner) == 0

    async def test_marketing_may_not_create_partners(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key = await create_key(session, role=Role.marketing)
        await session.commit()

        response = await client.post(
            "/api/partners", json={"name": "Northwind", "email": "a@example.com"}, headers=bearer(key)
        )

        assert response.status_code == 403
        assert response.json()["error"]["code"] == "role_not_allowed"
        assert await _count(session, Partner) == 0

    async def test_no_key_is_401(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.post("/api/partners", json={"name": "Northwind", "email": "a@example.com"})

        assert response.status_code == 401


class TestGetPartner:
    async def test_unknown_partner_is_404(self, client: AsyncTestClient[Litestar], finance_key: str) -> None:
        response = await client.get(f"/api/partners/{UNKNOWN_ID}", headers=bearer(finance_key))

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "partner_not_found"

    async def test_shop_may_not_read_partners(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        partner = await create_partner(session)
        key = await create_key(session, role=Role.shop)
        await session.commit()

        response = await client.get(f"/api/partners/{partner.id}", headers=bearer(key))

        assert response.status_code == 403


class TestIssuePartnerCode:
    async def test_issue_then_the_same_code(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, finance_key: str, campaign: Campaign
    ) -> None:
        partner = await create_partner(session)
        await session.commit()
        path = f"/api/partners/{partner.id}/referral-codes"

        first = await client.post(path, json={"campaign_id": str(campaign.id)}, headers=bearer(finance_key))
        second = await client.post(path, json={"campaign_id": str(campaign.id)}, headers=bearer(finance_key))

        assert (first.status_code, second.status_code) == (201, 200)
        assert first.json() == second.json()
        body = first.json()
        assert (body["partner_id"], body["campaign_id"]) == (str(partner.id), str(campaign.id))
        assert body["link"] == f"{BASE_URL}/r/{body['code']}"
        assert body["qr_png_url"] == f"{BASE_URL}/r/{body['code']}/qr.png"
        assert body["qr_svg_url"] == f"{BASE_URL}/r/{body['code']}/qr.svg"
        assert "share_url" not in body
        assert await _count(session, ReferralCode) == 1

    async def test_vanity_partner_code(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, finance_key: str, campaign: Campaign
    ) -> None:
        partner = await create_partner(session)
        await session.commit()

        response = await client.post(
            f"/api/partners/{partner.id}/referral-codes",
            json={"campaign_id": str(campaign.id), "vanity_code": "Northwind"},
            headers=bearer(finance_key),
        )

        assert response.status_code == 201 and response.json()["code"] == "Northwind"
        assert (await client.get("/r/northwind", follow_redirects=False)).status_code == 302

    @pytest.mark.parametrize("status", [PartnerStatus.suspended, PartnerStatus.applied, PartnerStatus.closed])
    async def test_partner_that_is_not_approved_is_409(
        self,
        client: AsyncTestClient[Litestar],
        session: AsyncSession,
        finance_key: str,
        campaign: Campaign,
        status: PartnerStatus,
    ) -> None:
        partner = await create_partner(session, status=status)
        await session.commit()

        response = await client.post(
            f"/api/partners/{partner.id}/referral-codes",
            json={"campaign_id": str(campaign.id)},
            headers=bearer(finance_key),
        )

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "partner_not_approved"
        assert await _count(session, ReferralCode) == 0

    async def test_unknown_partner_is_404(
        self, client: AsyncTestClient[Litestar], finance_key: str, campaign: Campaign
    ) -> None:
        response = await client.post(
            f"/api/partners/{UNKNOWN_ID}/referral-codes",
            json={"campaign_id": str(campaign.id)},
            headers=bearer(finance_key),
        )

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "partner_not_found"

    async def test_ended_campaign_is_409(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, finance_key: str
    ) -> None:
        partner = await create_partner(session)
        ended = await create_campaign(session, status=CampaignStatus.ended)
        await session.commit()

        response = await client.post(
            f"/api/partners/{partner.id}/referral-codes",
            json={"campaign_id": str(ended.id)},
            headers=bearer(finance_key),
        )

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "campaign_ended"

    async def test_marketing_may_issue_partner_codes(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, campaign: Campaign
    ) -> None:
        partner = await create_partner(session)
        key = await create_key(session, role=Role.marketing)
        await session.commit()

        response = await client.post(
            f"/api/partners/{partner.id}/referral-codes",
            json={"campaign_id": str(campaign.id)},
            headers=bearer(key),
        )

        assert response.status_code == 201

    @pytest.mark.parametrize("role", [Role.shop, Role.partner])
    async def test_other_roles_may_not_issue(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, campaign: Campaign, role: Role
    ) -> None:
        partner = await create_partner(session)
        key = await create_key(session, role=role)
        await session.commit()

        response = await client.post(
            f"/api/partners/{partner.id}/referral-codes",
            json={"campaign_id": str(campaign.id)},
            headers=bearer(key),
        )

        assert response.status_code == 403
        assert await _count(session, ReferralCode) == 0
