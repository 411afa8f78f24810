"""Share endpoints: the customer's API and form (signed token), marketing's moderation, the share page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from campaigns.campaign.rules import CampaignStatus
from growth.core.auth.rules import Role
from growth.referral_code.rules import share_token
from growth.settings import Settings
from tests.campaigns.share.factories import (
    POST,
    Sharer,
    add_sample_rule,
    create_sharer,
    post_url,
    social_share_campaign,
)
from tests.conftest import BASE_URL
from tests.factories import bearer, create_campaign, create_key
from tests.pages import csrf_token, post_form

Client = AsyncTestClient[Litestar]


@pytest.fixture
async def marketing(session: AsyncSession) -> dict[str, str]:
    key = await create_key(session, role=Role.marketing)
    await session.commit()
    return bearer(key)


async def sharer_in(session: AsyncSession, *, with_sample: bool = False, **campaign_fields: object) -> Sharer:
    """A customer of a new social-share campaign, committed so the app sees them."""
    campaign = await social_share_campaign(session, **campaign_fields)
    if with_sample:
        await add_sample_rule(session, campaign)
    sharer = await create_sharer(session, campaign)
    await session.commit()
    return sharer


async def submitted(client: Client, sharer: Sharer, url: str = POST) -> dict[str, object]:
    response = await client.post(f"/api/share/{sharer.token}/submissions", json={"url": url})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


class TestCustomerApi:
    async def test_submit_then_list(self, client: Client, session: AsyncSession) -> None:
        sharer = await sharer_in(session)

        created = await client.post(
            f"/api/share/{sharer.token}/submissions", json={"url": f"{POST}?utm_source=wechat"}
        )
        listed = await client.get(f"/api/share/{sharer.token}/submissions")

        assert created.status_code == 201, created.text
        body = created.json()
        assert {k: body[k] for k in ("url", "platform", "status", "reason", "reviewed_at", "reward")} == {
            "url": f"{POST}?utm_source=wechat",
            "platform": "weibo",
            "status": "pending",
            "reason": None,
            "reviewed_at": None,
            "reward": None,
        }
        assert "reviewed_by" not in body and "customer_id" not in body
        assert listed.status_code == 200 and [s["id"] for s in listed.json()] == [body["id"]]

    async def test_forged_token_is_404(self, client: Client, session: AsyncSession) -> None:
        sharer = await sharer_in(session)
        for token in (share_token("another-secret", sharer.code.code), sharer.code.code, f"{sharer.token}x"):
            posted = await client.post(f"/api/share/{token}/submissions", json={"url": POST})
            listed = await client.get(f"/api/share/{token}/submissions")
            assert posted.status_code == 404 and listed.status_code == 404, token
            assert posted.json()["error"]["code"] == "referral_code_not_found"

    async def test_the_same_post_twice_is_409(self, client: Client, session: AsyncSession) -> None:
        sharer = await sharer_in(session)
        await submitted(client, sharer)

        again = await client.post(f"/api/share/{sharer.token}/submissions", json={"url": f"{POST}/#top"})

        assert again.status_code == 409
        assert again.json()["error"]["code"] in {"post_already_submitted", "submission_already_open"}

    async def test_a_second_post_while_pending_is_409(self, client: Client, session: AsyncSession) -> None:
        sharer = await sharer_in(session)
        await submitted(client, sharer, post_url(1))

        again = await client.post(f"/api/share/{sharer.token}/submissions", json={"url": post_url(2)})

        assert again.status_code == 409 and again.json()["error"]["code"] == "submission_already_open"

    @pytest.mark.parametrize(
        ("url", "code"),
        [
            ("https://www.youtube.com/watch?v=abc", "unsupported_platform"),
            ("javascript:alert(1)", "invalid_post_url"),
            ("https://user:pw@weibo.com/1/abc", "invalid_post_url"),
            ("https://weibo.com/" + "a" * 2000, "invalid_post_url"),
        ],
    )
    async def test_refused_urls_are_422(
        self, client: Client, session: AsyncSession, url: str, code: str
    ) -> None:
        sharer = await sharer_in(session)

        response = await client.post(f"/api/share/{sharer.token}/submissions", json={"url": url})

        assert response.status_code == 422 and response.json()["error"]["code"] == code

    @pytest.mark.parametrize("body", [{}, {"url": ""}, {"url": POST, "extra": 1}, {"url": 5}])
    async def test_malformed_payload_is_400(
        self, client: Client, session: AsyncSession, body: object
    ) -> None:
        sharer = await sharer_in(session)

        response = await client.post(f"/api/share/{sharer.token}/submissions", json=body)

        assert response.status_code == 400

    async def test_not_a_social_share_campaign_is_409(self, client: Client, session: AsyncSession) -> None:
        campaign = await create_campaign(session, kind="referral")
        sharer = await create_sharer(session, campaign)
        await session.commit()

        response = await client.post(f"/api/share/{sharer.token}/submissions", json={"url": POST})

        assert (
            response.status_code == 409 and response.json()["error"]["code"] == "not_a_social_share_campaign"
        )

    async def test_paused_campaign_is_409(self, client: Client, session: AsyncSession) -> None:
        sharer = await sharer_in(session)
        await campaign_service.update_campaign(session, sharer.code.campaign_id, status=CampaignStatus.paused)
        await session.commit()

        response = await client.post(f"/api/share/{sharer.token}/submissions", json={"url": POST})

        assert response.status_code == 409 and response.json()["error"]["code"] == "campaign_not_active"


@pytest.fixture
async def weibo_only(settings: Settings) -> AsyncIterator[Client]:
    from growth.app import create_app

    async with AsyncTestClient(
        create_app(settings.with_overrides(share_platforms="weibo")), base_url=BASE_URL
    ) as c:
        yield c


async def test_platforms_are_a_setting(weibo_only: Client, session: AsyncSession) -> None:
    sharer = await sharer_in(session)

    refused = await weibo_only.post(f"/api/share/{sharer.token}/submissions", json={"url": post_url(1)})
    taken = await weibo_only.post(f"/api/share/{sharer.token}/submissions", json={"url": POST})

    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "unsupported_platform"
    assert refused.json()["error"]["details"] == {"supported": ["weibo"]}
    assert taken.status_code == 201


class TestModeration:
    async def test_needs_a_marketing_key(self, client: Client, session: AsyncSession) -> None:
        keys = {role: await create_key(session, role=role) for role in Role}
        sharer = await sharer_in(session)
        submission = await submitted(client, sharer)
        path = f"/api/share-submissions/{submission['id']}/reject"

        assert (await client.get("/api/share-submissions")).status_code == 401
        assert (await client.post(path, json={"reason": "x"})).status_code == 401
        assert (await client.get("/api/share-submissions", headers=bearer("gk_nope"))).status_code == 401
        for role in (Role.shop, Role.finance, Role.partner):
            assert (await client.get("/api/share-submissions", headers=bearer(keys[role]))).status_code == 403
            response = await client.post(path, json={"reason": "x"}, headers=bearer(keys[role]))
            assert response.status_code == 403, role
        for role in (Role.marketing, Role.admin):
            assert (await client.get("/api/share-submissions", headers=bearer(keys[role]))).status_code == 200

    async def test_queue_oldest_first_by_campaign(
        self, client: Client, session: AsyncSession, marketing: dict[str, str]
    ) -> None:
        first, other, second = await sharer_in(session), await sharer_in(session), None
        campaign = await campaign_service.get_campaign(session, first.code.campaign_id)
        second = await create_sharer(session, campaign)
        await session.commit()
        ids = [
            (await submitted(client, sharer, post_url(n)))["id"]
            for n, sharer in enumerate((first, other, second), 1)
        ]

        everything = await client.get("/api/share-submissions", headers=marketing)
        by_campaign = await client.get(
            "/api/share-submissions",
            params={"campaign_id": str(campaign.id), "status": "pending"},
            headers=marketing,
        )

        assert [s["id"] for s in everything.json()] == ids
        assert [s["id"] for s in by_campaign.json()] == [ids[0], ids[2]]
        assert by_campaign.json()[0]["url_key"] == "https://xiaohongshu.com/explore/64a1b2c3d4e5f600000001"

    async def test_reject_with_reason(
        self, client: Client, session: AsyncSession, marketing: dict[str, str]
    ) -> None:
        sharer = await sharer_in(session)
        submission = await submitted(client, sharer)

        response = await client.post(
            f"/api/share-submissions/{submission['id']}/reject",
            json={"reason": "Hashtag missing"},
            headers=marketing,
        )
        own = await client.get(f"/api/share/{sharer.token}/submissions")

        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["status"], body["reason"]) == ("rejected", "Hashtag missing")
        assert body["reviewed_by"].startswith("api_key:") and body["reviewed_at"] is not None
        assert (own.json()[0]["status"], own.json()[0]["reason"]) == ("rejected", "Hashtag missing")

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            (None, 400),
            ({}, 400),
            ({"reason": ""}, 400),
            ({"reason": "   "}, 422),
            ({"reason": "x" * 501}, 400),
        ],
    )
    async def test_reject_without_reason(
        self, client: Client, session: AsyncSession, marketing: dict[str, str], body: object, status: int
    ) -> None:
        submission = await submitted(client, await sharer_in(session))

        response = await client.post(
            f"/api/share-submissions/{submission['id']}/reject", json=body, headers=marketing
        )

        assert response.status_code == status, response.text
        queue = await client.get("/api/share-submissions", headers=marketing)
        assert [s["status"] for s in queue.json()] == ["pending"]

    async def test_approve_twice_is_idempotent(
        self, client: Client, session: AsyncSession, marketing: dict[str, str]
    ) -> None:
        sharer = await sharer_in(session, with_sample=True)
        submission = await submitted(client, sharer)
        path = f"/api/share-submissions/{submission['id']}/approve"

        first = await client.post(path, headers=marketing)  # no body: no note
        again = await client.post(path, json={"note": "looks great"}, headers=marketing)
        own = await client.get(f"/api/share/{sharer.token}/submissions")

        assert first.status_code == 200, first.text
        assert again.status_code == 200 and again.json() == first.json()
        reward = first.json()["reward"]
        assert first.json()["status"] == "approved" and reward["status"] == "approved"
        assert reward["reward_type"] == "free_sample" and reward["sku"].startswith("SAMPLE-")
        assert own.json()[0]["reward"] == reward

    async def test_approve_after_reject_is_409(
        self, client: Client, session: AsyncSession, marketing: dict[str, str]
    ) -> None:
        submission = await submitted(client, await sharer_in(session, with_sample=True))
        base = f"/api/share-submissions/{submission['id']}"
        await client.post(f"{base}/reject", json={"reason": "Private account"}, headers=marketing)

        response = await client.post(f"{base}/approve", json={}, headers=marketing)

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "submission_already_decided"
        assert response.json()["error"]["details"] == {"status": "rejected"}
        assert (await client.get(base, headers=marketing)).json()["status"] == "rejected"

    async def test_approval_without_a_share_reward_is_409_and_stays_pending(
        self, client: Client, session: AsyncSession, marketing: dict[str, str]
    ) -> None:
        submission = await submitted(client, await sharer_in(session))
        base = f"/api/share-submissions/{submission['id']}"

        response = await client.post(f"{base}/approve", headers=marketing)

        assert response.status_code == 409 and response.json()["error"]["code"] == "no_share_reward"
        assert (await client.get(base, headers=marketing)).json()["status"] == "pending"

    async def test_unknown_submission_is_404(self, client: Client, marketing: dict[str, str]) -> None:
        path = "/api/share-submissions/01937c4e-0000-7000-8000-000000000000"

        assert (await client.get(path, headers=marketing)).status_code == 404
        assert (await client.post(f"{path}/approve", headers=marketing)).status_code == 404

    async def test_bulk_decisions(
        self, client: Client, session: AsyncSession, marketing: dict[str, str]
    ) -> None:
        good, bad = await sharer_in(session, with_sample=True), await sharer_in(session)
        approve_me = await submitted(client, good, post_url(1))
        reject_me = await submitted(client, bad, post_url(2))
        missing = "01937c4e-0000-7000-8000-000000000000"

        response = await client.post(
            "/api/share-submissions/decisions",
            json={
                "approve": [approve_me["id"], missing],
                "reject": [{"id": reject_me["id"], "reason": "Not public"}],
            },
            headers=marketing,
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert [(s["id"], s["status"]) for s in body["decided"]] == [
            (approve_me["id"], "approved"),
            (reject_me["id"], "rejected"),
        ]
        assert body["failed"] == [
            {
                "id": missing,
                "decision": "approve",
                "code": "submission_not_found",
                "message": f"share submission {missing} not found",
            }
        ]

    async def test_bulk_reject_needs_reasons(
        self, client: Client, session: AsyncSession, marketing: dict[str, str]
    ) -> None:
        submission = await submitted(client, await sharer_in(session))

        response = await client.post(
            "/api/share-submissions/decisions", json={"reject": [{"id": submission["id"]}]}, headers=marketing
        )

        assert response.status_code == 400


class TestSharePageForm:
    async def test_page_shows_both_tags_the_form_and_no_posts_yet(
        self, client: Client, session: AsyncSession
    ) -> None:
        sharer = await sharer_in(session)

        page = (await client.get(f"/share/{sharer.token}", headers={"accept-language": "en"})).text

        assert 'value="#美妆新品"' in page
        assert f'value="#美妆新品_{sharer.code.code}"' in page and "Your personal hashtag" in page
        assert f'action="/share/{sharer.token}/submissions"' in page and 'name="url"' in page
        assert '<input type="hidden" name="lang" value="en">' in page
        assert "Your posts" not in page
        # The prefilled share text carries both tags.
        assert "%23%E7%BE%8E%E5%A6%86%E6%96%B0%E5%93%81_" in page

    async def test_a_referral_campaign_page_has_no_post_form(
        self, client: Client, session: AsyncSession
    ) -> None:
        sharer = await create_sharer(session, await create_campaign(session, kind="referral"))
        await session.commit()

        page = (await client.get(f"/share/{sharer.token}")).text

        assert "#春日好物" in page  # the campaign hashtag is still shown
        assert "submissions" not in page and "personal hashtag" not in page

    async def test_submit_redirects_back_with_thanks_and_lists_the_post(
        self, client: Client, session: AsyncSession
    ) -> None:
        sharer = await sharer_in(session)

        page = f"/share/{sharer.token}?lang=en"
        response = await post_form(
            client, page, f"/share/{sharer.token}/submissions", {"url": f" {POST} ", "lang": "en"}
        )

        assert response.status_code == 303, response.text
        location = urlsplit(response.headers["location"])
        assert location.path == f"/share/{sharer.token}"
        assert parse_qs(location.query) == {"submitted": ["1"], "lang": ["en"]}
        page = (await client.get(response.headers["location"])).text
        assert "Thank you! Your post was submitted" in page
        assert f'href="{POST}"' in page and "Weibo" in page and "In review" in page

    @pytest.mark.parametrize(
        ("url", "code", "message"),
        [
            ("not a link", "invalid_post_url", "That is not a link to a post"),
            (
                "https://www.youtube.com/watch?v=abc",
                "unsupported_platform",
                "Posts from that site are not accepted",
            ),
            ("", "invalid_post_url", "That is not a link to a post"),
        ],
    )
    async def test_refused_post_redirects_back_with_the_reason(
        self, client: Client, session: AsyncSession, url: str, code: str, message: str
    ) -> None:
        sharer = await sharer_in(session)

        response = await post_form(
            client, f"/share/{sharer.token}", f"/share/{sharer.token}/submissions", {"url": url, "lang": "en"}
        )

        assert response.status_code == 303
        assert parse_qs(urlsplit(response.headers["location"]).query)["error"] == [code]
        page = (await client.get(response.headers["location"])).text
        assert message in page
        assert (await client.get(f"/api/share/{sharer.token}/submissions")).json() == []

    async def test_second_post_in_chinese(self, client: Client, session: AsyncSession) -> None:
        sharer = await sharer_in(session)
        await submitted(client, sharer, post_url(1))

        redirect = await post_form(
            client,
            f"/share/{sharer.token}?lang=zh",
            f"/share/{sharer.token}/submissions",
            {"url": post_url(2), "lang": "zh_Hans"},
        )
        page = (await client.get(redirect.headers["location"])).text

        assert redirect.headers["location"].endswith("error=submission_already_open")
        assert "您在本活动中已有帖子正在审核或已通过审核" in page
        assert "您的专属话题标签" in page and "审核中" in page and "小红书" in page

    async def test_rejection_reason_and_reward_are_shown(
        self, client: Client, session: AsyncSession, marketing: dict[str, str]
    ) -> None:
        sharer = await sharer_in(session, with_sample=True)
        rejected = await submitted(client, sharer, post_url(1))
        await client.post(
            f"/api/share-submissions/{rejected['id']}/reject",
            json={"reason": "<b>Not public</b>"},
            headers=marketing,
        )
        approved = await submitted(client, sharer, post_url(2))
        await client.post(f"/api/share-submissions/{approved['id']}/approve", headers=marketing)

        page = (await client.get(f"/share/{sharer.token}", headers={"accept-language": "en"})).text

        assert "Reason: &lt;b&gt;Not public&lt;/b&gt;" in page and "Not approved" in page
        assert "Approved" in page and "Reward granted" in page

    async def test_forged_token_is_the_404_page(self, client: Client, session: AsyncSession) -> None:
        sharer = await sharer_in(session)

        forged = share_token("another-secret", sharer.code.code)
        response = await post_form(
            client, f"/share/{sharer.token}", f"/share/{forged}/submissions", {"url": POST}
        )

        assert response.status_code == 404 and "This link does not work" in response.text

    async def test_the_form_needs_its_csrf_token(self, client: Client, session: AsyncSession) -> None:
        sharer = await sharer_in(session)
        page = await client.get(f"/share/{sharer.token}")

        response = await client.post(
            f"/share/{sharer.token}/submissions", data={"url": POST}, follow_redirects=False
        )

        assert csrf_token(page.text)
        assert response.status_code == 403
        assert (await client.get(f"/api/share/{sharer.token}/submissions")).json() == []

    async def test_paused_campaign_takes_no_posts(self, client: Client, session: AsyncSession) -> None:
        sharer = await sharer_in(session)
        await campaign_service.update_campaign(session, sharer.code.campaign_id, status=CampaignStatus.paused)
        await session.commit()

        page = (await client.get(f"/share/{sharer.token}", headers={"accept-language": "en"})).text

        assert "This campaign is not taking posts right now." in page and 'name="url"' not in page

    @pytest.mark.parametrize("error", ["<script>alert(1)</script>", "validation_error", "x" * 5000])
    async def test_unknown_error_codes_are_not_reflected(
        self, client: Client, session: AsyncSession, error: str
    ) -> None:
        sharer = await sharer_in(session)

        response = await client.get(f"/share/{sharer.token}", params={"error": error, "lang": "en"})

        assert response.status_code == 200
        assert "Your post could not be submitted. Please try again." in response.text
        assert "<script>alert(1)" not in response.text


async def test_an_order_through_a_share_link_is_attributed(client: Client, session: AsyncSession) -> None:
    sharer = await sharer_in(session)
    shop = bearer(await create_key(session, role=Role.shop))
    await session.commit()
    await submitted(client, sharer)

    response = await client.post(
        "/api/orders",
        json={
            "external_id": "o-share-1",
            "customer": {"external_id": "friend", "email": "friend@example.com"},
            "amount": 19900,
            "currency": "CNY",
            "placed_at": "2026-11-20T10:00:00+08:00",
            "referral_code": sharer.code.code,
        },
        headers=shop,
    )

    assert response.status_code == 201, response.text
    attribution = response.json()["attribution"]
    assert attribution["method"] == "referral_code"
    assert attribution["referral_code_id"] == str(sharer.code.id)
    assert attribution["customer_referrer_id"] == str(sharer.customer.id)
    assert attribution["campaign_id"] == str(sharer.code.campaign_id)
