from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign.models import Campaign
from campaigns.campaign.rules import CampaignStatus
from growth.core.auth.rules import Role
from growth.customer.models import Customer
from growth.referral_code.models import ReferralCode
from growth.referral_code.rules import ALPHABET, share_token
from tests.conftest import BASE_URL, SECRET
from tests.factories import bearer, create_campaign, create_customer, create_key


@pytest.fixture
async def marketing_key(session: AsyncSession) -> str:
    key = await create_key(session, role=Role.marketing)
    await session.commit()
    return key


async def _setup(session: AsyncSession, **campaign_fields: object) -> tuple[Campaign, Customer]:
    campaign = await create_campaign(session, **campaign_fields)  # type: ignore[arg-type]
    customer = await create_customer(session, external_id="shop-cust-1")
    await session.commit()
    return campaign, customer


async def _codes(session: AsyncSession) -> int:
    count = await session.scalar(select(func.count()).select_from(ReferralCode)) or 0
    await session.rollback()  # end the read: on SQLite an open transaction holds the write lock
    return count


class TestIssueCode:
    async def test_issue_twice_returns_the_same_code(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, marketing_key: str
    ) -> None:
        campaign, customer = await _setup(session)
        payload = {"campaign_id": str(campaign.id), "customer_external_id": "shop-cust-1"}

        first = await client.post("/api/referral-codes", json=payload, headers=bearer(marketing_key))
        second = await client.post("/api/referral-codes", json=payload, headers=bearer(marketing_key))

        assert (first.status_code, second.status_code) == (201, 200)
        assert first.json() == second.json()
        body = first.json()
        code = body["code"]
        assert len(code) == 8 and set(code) <= set(ALPHABET)
        assert (body["campaign_id"], body["customer_id"], body["partner_id"]) == (
            str(campaign.id),
            str(customer.id),
            None,
        )
        assert (body["is_vanity"], body["revoked_at"]) == (False, None)
        assert await _codes(session) == 1

    async def test_response_links_live_under_the_base_url(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, marketing_key: str
    ) -> None:
        campaign, _ = await _setup(session)

        response = await client.post(
            "/api/referral-codes",
            json={
                "campaign_id": str(campaign.id),
                "customer_external_id": "shop-cust-1",
                "vanity_code": "Mei-Li",
            },
            headers=bearer(marketing_key),
        )

        assert response.status_code == 201
        body = response.json()
        assert body["code"] == "Mei-Li" and body["is_vanity"] is True
        assert body["link"] == f"{BASE_URL}/r/Mei-Li"
        assert body["qr_png_url"] == f"{BASE_URL}/r/Mei-Li/qr.png"
        assert body["qr_svg_url"] == f"{BASE_URL}/r/Mei-Li/qr.svg"
        assert body["share_url"] == f"{BASE_URL}/share/{share_token(SECRET, 'Mei-Li')}"
        followed = await client.get("/r/Mei-Li", follow_redirects=False)
        assert followed.status_code == 302
        assert (await client.get("/r/Mei-Li/qr.svg")).status_code == 200

    async def test_vanity_code_taken_case_insensitively(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, marketing_key: str
    ) -> None:
        campaign, _ = await _setup(session)
        await create_customer(session, external_id="shop-cust-2")
        await session.commit()
        first = await client.post(
            "/api/referral-codes",
            json={
                "campaign_id": str(campaign.id),
                "customer_external_id": "shop-cust-1",
                "vanity_code": "Spring",
            },
            headers=bearer(marketing_key),
        )

        taken = await client.post(
            "/api/referral-codes",
            json={
                "campaign_id": str(campaign.id),
                "customer_external_id": "shop-cust-2",
                "vanity_code": "SPRING",
            },
            headers=bearer(marketing_key),
        )

        assert first.status_code == 201
        assert taken.status_code == 409
        assert taken.json()["error"]["code"] == "vanity_code_taken"
        assert await _codes(session) == 1

    async def test_referrer_with_another_code_is_409(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, marketing_key: str
    ) -> None:
        campaign, _ = await _setup(session)
        payload = {"campaign_id": str(campaign.id), "customer_external_id": "shop-cust-1"}
        await client.post("/api/referral-codes", json=payload, headers=bearer(marketing_key))

        response = await client.post(
            "/api/referral-codes", json={**payload, "vanity_code": "Another"}, headers=bearer(marketing_key)
        )

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "referrer_has_code"

    @pytest.mark.parametrize(
        ("vanity", "status", "error"),
        [
            ("admin", 422, "invalid_vanity_code"),
            ("Schema", 422, "invalid_vanity_code"),
            ("has space", 422, "invalid_vanity_code"),
            ("emoji😀x", 422, "invalid_vanity_code"),
            ("ab", 400, "validation_error"),
            ("x" * 33, 400, "validation_error"),
            (12345, 400, "validation_error"),
        ],
    )
    async def test_bad_vanity_code(
        self,
        client: AsyncTestClient[Litestar],
        session: AsyncSession,
        marketing_key: str,
        vanity: object,
        status: int,
        error: str,
    ) -> None:
        campaign, _ = await _setup(session)

        response = await client.post(
            "/api/referral-codes",
            json={
                "campaign_id": str(campaign.id),
                "customer_external_id": "shop-cust-1",
                "vanity_code": vanity,
            },
            headers=bearer(marketing_key),
        )

        assert response.status_code == status
        assert response.json()["error"]["code"] == error
        assert await _codes(session) == 0

    async def test_ended_campaign_is_409(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, marketing_key: str
    ) -> None:
        campaign, _ = await _setup(session, status=CampaignStatus.ended)

        response = await client.post(
            "/api/referral-codes",
            json={"campaign_id": str(campaign.id), "customer_external_id": "shop-cust-1"},
            headers=bearer(marketing_key),
        )

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "campaign_ended"

    async def test_unknown_campaign_is_404(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, marketing_key: str
    ) -> None:
        await _setup(session)

        response = await client.post(
            "/api/referral-codes",
            json={
                "campaign_id": "0191b7a2-0000-7000-8000-000000000000",
                "customer_external_id": "shop-cust-1",
            },
            headers=bearer(marketing_key),
        )

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "campaign_unavailable"

    async def test_unknown_customer_is_404(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, marketing_key: str
    ) -> None:
        campaign, _ = await _setup(session)

        response = await client.post(
            "/api/referral-codes",
            json={"campaign_id": str(campaign.id), "customer_external_id": "nobody"},
            headers=bearer(marketing_key),
        )

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "customer_not_found"

    @pytest.mark.parametrize(
        "payload",
        [
            {"campaign_id": "not-a-uuid", "customer_external_id": "shop-cust-1"},
            {"customer_external_id": "shop-cust-1"},
            {"campaign_id": "0191b7a2-0000-7000-8000-000000000000", "customer_external_id": ""},
            {
                "campaign_id": "0191b7a2-0000-7000-8000-000000000000",
                "customer_external_id": "c",
                "partner_id": "x",
            },
        ],
        ids=["bad-uuid", "missing-campaign", "empty-customer", "unknown-field"],
    )
    async def test_malformed_payload_is_400(
        self, client: AsyncTestClient[Litestar], marketing_key: str, payload: dict[str, object]
    ) -> None:
        response = await client.post("/api/referral-codes", json=payload, headers=bearer(marketing_key))

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"

    async def test_no_key_is_401(self, client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
        campaign, _ = await _setup(session)

        response = await client.post(
            "/api/referral-codes",
            json={"campaign_id": str(campaign.id), "customer_external_id": "shop-cust-1"},
        )

        assert response.status_code == 401
        assert await _codes(session) == 0

    @pytest.mark.parametrize("role", [Role.finance, Role.shop, Role.partner])
    async def test_other_roles_get_403(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, role: Role
    ) -> None:
        campaign, _ = await _setup(session)
        key = await create_key(session, role=role)
        await session.commit()

        response = await client.post(
            "/api/referral-codes",
            json={"campaign_id": str(campaign.id), "customer_external_id": "shop-cust-1"},
            headers=bearer(key),
        )

        assert response.status_code == 403
        assert response.json()["error"]["code"] == "role_not_allowed"
        assert await _codes(session) == 0


class TestGetCode:
    async def test_case_insensitive_with_crockford_look_alikes(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, marketing_key: str
    ) -> None:
        campaign, _ = await _setup(session)
        created = await client.post(
            "/api/referral-codes",
            json={
                "campaign_id": str(campaign.id),
                "customer_external_id": "shop-cust-1",
                "vanity_code": "7K0M1QZ1",
            },
            headers=bearer(marketing_key),
        )

        for typed in ("7K0M1QZ1", "7k0m1qz1", "7KOMIQZL", "7komlqzi"):
            response = await client.get(f"/api/referral-codes/{typed}", headers=bearer(marketing_key))
            assert response.status_code == 200, typed
            assert response.json() == created.json()

    async def test_unknown_code_is_404(self, client: AsyncTestClient[Litestar], marketing_key: str) -> None:
        response = await client.get("/api/referral-codes/ZZZZ9999", headers=bearer(marketing_key))

        assert response.status_code == 404
        assert response.json() == {
            "error": {"code": "referral_code_not_found", "message": "no such referral code"}
        }

    async def test_finance_role_is_403(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key = await create_key(session, role=Role.finance)
        await session.commit()

        response = await client.get("/api/referral-codes/ZZZZ9999", headers=bearer(key))

        assert response.status_code == 403


class TestRevokeCode:
    async def test_revoked_code_stops_working(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, marketing_key: str
    ) -> None:
        campaign, _ = await _setup(session)
        code = (
            await client.post(
                "/api/referral-codes",
                json={"campaign_id": str(campaign.id), "customer_external_id": "shop-cust-1"},
                headers=bearer(marketing_key),
            )
        ).json()["code"]

        revoked = await client.delete(f"/api/referral-codes/{code.lower()}", headers=bearer(marketing_key))

        assert revoked.status_code == 200
        assert revoked.json()["code"] == code and revoked.json()["revoked_at"] is not None
        read = await client.get(f"/api/referral-codes/{code}", headers=bearer(marketing_key))
        assert read.status_code == 404
        followed = await client.get(
            f"/r/{code}", follow_redirects=False, headers={"accept": "application/json"}
        )
        assert followed.status_code == 404
        assert followed.json()["error"]["code"] == "referral_code_not_found"
        again = await client.delete(f"/api/referral-codes/{code}", headers=bearer(marketing_key))
        assert again.status_code == 404

    async def test_revoking_an_unknown_code_is_404(
        self, client: AsyncTestClient[Litestar], marketing_key: str
    ) -> None:
        response = await client.delete("/api/referral-codes/ZZZZ9999", headers=bearer(marketing_key))

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "referral_code_not_found"

    async def test_shop_role_may_not_revoke(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, marketing_key: str
    ) -> None:
        campaign, _ = await _setup(session)
        code = (
            await client.post(
                "/api/referral-codes",
                json={"campaign_id": str(campaign.id), "customer_external_id": "shop-cust-1"},
                headers=bearer(marketing_key),
            )
        ).json()["code"]
        shop = await create_key(session, role=Role.shop)
        await session.commit()

        response = await client.delete(f"/api/referral-codes/{code}", headers=bearer(shop))

        assert response.status_code == 403
        assert (
            await client.get(f"/api/referral-codes/{code}", headers=bearer(marketing_key))
        ).status_code == 200
