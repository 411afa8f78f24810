from __future__ import annotations

import pytest
from httpx import Response
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


class TestCreatePartnerProfile:
    async def test_company_website_and_country(
        self, client: AsyncTestClient[Litestar], finance_key: str
    ) -> None:
        response = await client.post(
            "/api/partners",
            json={
                "name": "Northwind",
                "email": "ops@northwind.example",
                "company": "Northwind Consulting GmbH",
                "website": "https://northwind.example",
                "country": "de",
            },
            headers=bearer(finance_key),
        )

        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["company"], body["website"], body["country"]) == (
            "Northwind Consulting GmbH",
            "https://northwind.example",
            "DE",
        )
        assert body["approved_at"] is not None and body["status_changed_at"] is not None

    @pytest.mark.parametrize(("field", "value"), [("country", "ZZ"), ("website", "javascript:alert(1)")])
    async def test_bad_country_or_website_is_422(
        self, client: AsyncTestClient[Litestar], finance_key: str, field: str, value: str
    ) -> None:
        response = await client.post(
            "/api/partners",
            json={"name": "N", "email": "a@example.com", field: value},
            headers=bearer(finance_key),
        )

        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_partner"

    async def test_country_longer_than_two_is_400(
        self, client: AsyncTestClient[Litestar], finance_key: str
    ) -> None:
        response = await client.post(
            "/api/partners",
            json={"name": "N", "email": "a@example.com", "country": "DEU"},
            headers=bearer(finance_key),
        )

        assert response.status_code == 400


APPLICATION = {
    "name": "Jane Consulting",
    "email": "jane@consult.example",
    "company": "Jane Consulting Ltd",
    "website": "https://consult.example",
    "message": "We advise forty retailers in Shanghai.",
}


class TestApply:
    async def test_anyone_may_apply_without_a_key(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, finance_key: str
    ) -> None:
        response = await client.post("/api/partners/applications", json=APPLICATION)

        assert response.status_code == 202, response.text
        assert response.json()["status"] == "received" and "id" not in response.json()
        listed = await client.get("/api/partners", params={"status": "applied"}, headers=bearer(finance_key))
        [applicant] = listed.json()
        assert (applicant["email"], applicant["status"], applicant["application_message"]) == (
            "jane@consult.example",
            "applied",
            "We advise forty retailers in Shanghai.",
        )
        assert applicant["approved_at"] is None

    async def test_applying_again_answers_the_same_and_creates_nothing(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        first = await client.post("/api/partners/applications", json=APPLICATION)
        again = await client.post(
            "/api/partners/applications", json={**APPLICATION, "email": "JANE@consult.example", "name": "J"}
        )

        assert (first.status_code, again.status_code) == (202, 202)
        assert first.json() == again.json()
        assert await _count(session, Partner) == 1

    async def test_invalid_email_is_422(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        response = await client.post("/api/partners/applications", json={**APPLICATION, "email": "jane"})

        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_partner"
        assert await _count(session, Partner) == 0

    @pytest.mark.parametrize(
        "payload",
        [
            {"name": "Jane"},
            {**APPLICATION, "message": "x" * 2001},
            {**APPLICATION, "website": "https://" + "x" * 500 + ".example"},
            {**APPLICATION, "status": "approved"},
            {**APPLICATION, "name": "Ja\x00ne"},
        ],
        ids=["missing-email", "long-message", "long-website", "status-is-not-the-applicants", "nul"],
    )
    async def test_malformed_application_is_400(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, payload: dict[str, str]
    ) -> None:
        response = await client.post("/api/partners/applications", json=payload)

        assert response.status_code == 400
        assert await _count(session, Partner) == 0


class TestListPartners:
    async def test_filter_by_status(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, finance_key: str
    ) -> None:
        applied = await create_partner(session, status=PartnerStatus.applied)
        await create_partner(session)
        await session.commit()

        everyone = await client.get("/api/partners", headers=bearer(finance_key))
        applicants = await client.get("/api/partners?status=applied", headers=bearer(finance_key))

        assert len(everyone.json()) == 2
        assert [p["id"] for p in applicants.json()] == [str(applied.id)]

    # offset=2**70: found by fuzzing (issue 9), it reached PostgreSQL as an out-of-range BIGINT: 500.
    @pytest.mark.parametrize("query", ["status=vip", "limit=0", "limit=201", "offset=-1", f"offset={2**70}"])
    async def test_bad_query_is_400(
        self, client: AsyncTestClient[Litestar], finance_key: str, query: str
    ) -> None:
        assert (await client.get(f"/api/partners?{query}", headers=bearer(finance_key))).status_code == 400

    @pytest.mark.parametrize("role", [Role.marketing, Role.partner, Role.shop])
    async def test_other_roles_may_not_list(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, role: Role
    ) -> None:
        key = await create_key(session, role=role)
        await session.commit()

        assert (await client.get("/api/partners", headers=bearer(key))).status_code == 403


class TestChangeStatus:
    async def _status(
        self, client: AsyncTestClient[Litestar], key: str, partner_id: object, payload: dict[str, str]
    ) -> Response:
        return await client.post(f"/api/partners/{partner_id}/status", json=payload, headers=bearer(key))

    async def test_approve_suspend_reinstate_close(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, finance_key: str
    ) -> None:
        partner = await create_partner(session, status=PartnerStatus.applied)
        await session.commit()

        steps = [
            ("approved", None),
            ("suspended", "chargebacks under review"),
            ("approved", "cleared"),
            ("closed", "contract ended"),
        ]
        for status, reason in steps:
            response = await self._status(
                client, finance_key, partner.id, {"status": status, **({"reason": reason} if reason else {})}
            )
            assert response.status_code == 200, response.text
            assert (response.json()["status"], response.json()["status_reason"]) == (status, reason)

    @pytest.mark.parametrize(
        ("start", "target"),
        [
            (PartnerStatus.closed, "approved"),
            (PartnerStatus.closed, "suspended"),
            (PartnerStatus.applied, "suspended"),
            (PartnerStatus.approved, "applied"),
        ],
    )
    async def test_illegal_move_is_409_with_the_current_status(
        self,
        client: AsyncTestClient[Litestar],
        session: AsyncSession,
        finance_key: str,
        start: PartnerStatus,
        target: str,
    ) -> None:
        partner = await create_partner(session, status=start)
        await session.commit()

        response = await self._status(client, finance_key, partner.id, {"status": target, "reason": "x"})

        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == "partner_status_change_refused"
        assert error["details"] == {"current_status": start.value}

    async def test_suspending_without_a_reason_is_422(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, finance_key: str
    ) -> None:
        partner = await create_partner(session)
        await session.commit()

        response = await self._status(client, finance_key, partner.id, {"status": "suspended"})

        assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_partner"

    @pytest.mark.parametrize(
        "payload",
        [{"status": "vip"}, {}, {"status": "closed", "reason": "x" * 501}, {"status": "closed", "x": 1}],
    )
    async def test_malformed_is_400(
        self,
        client: AsyncTestClient[Litestar],
        session: AsyncSession,
        finance_key: str,
        payload: dict[str, str],
    ) -> None:
        partner = await create_partner(session)
        await session.commit()

        assert (await self._status(client, finance_key, partner.id, payload)).status_code == 400

    async def test_unknown_partner_is_404(self, client: AsyncTestClient[Litestar], finance_key: str) -> None:
        response = await self._status(client, finance_key, UNKNOWN_ID, {"status": "approved"})

        assert response.status_code == 404

    @pytest.mark.parametrize("role", [Role.marketing, Role.partner, Role.shop])
    async def test_only_finance_changes_status(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, role: Role
    ) -> None:
        partner = await create_partner(session)
        key = await create_key(session, role=role, subject_id=partner.id if role is Role.partner else None)
        await session.commit()

        response = await self._status(client, key, partner.id, {"status": "closed", "reason": "mine"})

        assert response.status_code == 403

    async def test_suspension_stops_the_link_and_reapproval_restores_it(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, finance_key: str, campaign: Campaign
    ) -> None:
        partner = await create_partner(session)
        await session.commit()
        issued = await client.post(
            f"/api/partners/{partner.id}/referral-codes",
            json={"campaign_id": str(campaign.id)},
            headers=bearer(finance_key),
        )
        link = f"/r/{issued.json()['code']}"
        assert (await client.get(link, follow_redirects=False)).status_code == 302

        await self._status(client, finance_key, partner.id, {"status": "suspended", "reason": "review"})
        assert (await client.get(link, follow_redirects=False)).status_code == 404

        await self._status(client, finance_key, partner.id, {"status": "approved"})
        assert (await client.get(link, follow_redirects=False)).status_code == 302


class TestPartnerMe:
    async def test_a_partner_key_reads_its_own_partner(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        partner = await create_partner(session, name="Northwind")
        key = await create_key(session, role=Role.partner, subject_id=partner.id)
        await session.commit()

        response = await client.get("/api/partner/me", headers=bearer(key))

        assert response.status_code == 200
        assert (response.json()["id"], response.json()["name"]) == (str(partner.id), "Northwind")

    async def test_a_partner_key_cannot_read_another_partner_by_id(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        mine, theirs = await create_partner(session), await create_partner(session)
        key = await create_key(session, role=Role.partner, subject_id=mine.id)
        await session.commit()

        assert (await client.get(f"/api/partners/{theirs.id}", headers=bearer(key))).status_code == 403
        assert (await client.get(f"/api/partners/{mine.id}", headers=bearer(key))).status_code == 403
        assert (await client.get(f"/api/partner/me?partner_id={theirs.id}", headers=bearer(key))).json()[
            "id"
        ] == str(mine.id)

    async def test_an_admin_key_acts_for_no_partner(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key = await create_key(session, role=Role.admin)
        await session.commit()

        response = await client.get("/api/partner/me", headers=bearer(key))

        assert response.status_code == 403 and response.json()["error"]["code"] == "not_a_partner_key"

    @pytest.mark.parametrize("role", [Role.finance, Role.marketing, Role.shop])
    async def test_staff_keys_are_403(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, role: Role
    ) -> None:
        key = await create_key(session, role=role)
        await session.commit()

        assert (await client.get("/api/partner/me", headers=bearer(key))).status_code == 403

    async def test_no_key_is_401(self, client: AsyncTestClient[Litestar]) -> None:
        assert (await client.get("/api/partner/me")).status_code == 401
