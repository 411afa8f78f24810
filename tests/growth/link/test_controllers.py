from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from campaigns.campaign.rules import CampaignStatus
from growth.click.models import Click
from growth.core.metrics import REQUEST_LATENCY
from growth.core.time import utc_now
from growth.referral_code import service as referral_code_service
from tests.conftest import flush_clicks
from tests.factories import create_campaign, create_customer, issue_code


class TestFollowLink:
    async def test_redirects_with_code_and_sets_cookie(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        campaign = await create_campaign(session, attribution_window_days=14)
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()

        response = await client.get(f"/r/{code.code.lower()}", follow_redirects=False)

        assert response.status_code == 302
        location = urlsplit(response.headers["location"])
        assert (location.scheme, location.netloc, location.path, location.fragment) == (
            "https",
            "shop.example",
            "/spring",
            "top",
        )
        query = parse_qs(location.query)
        assert query["utm_source"] == ["ref"] and query["ref"] == [code.code]
        cookie = response.headers["set-cookie"]
        assert f"growth_ref={query['ref_click'][0]}" in cookie
        for attribute in ("HttpOnly", "Max-Age=1209600", "SameSite=lax", "Secure", "Path=/"):
            assert attribute in cookie
        assert response.headers["cache-control"] == "no-store"

    async def test_n_redirects_record_n_clicks(
        self, app: Litestar, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        campaign = await create_campaign(session)
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()

        n = 300
        responses = await asyncio.gather(
            *[
                client.get(
                    f"/r/{code.code}",
                    follow_redirects=False,
                    headers={"user-agent": f"agent-{i}", "x-forwarded-for": "203.0.113.9"},
                )
                for i in range(n)
            ]
        )
        assert {r.status_code for r in responses} == {302}
        await flush_clicks(client)

        assert await session.scalar(select(func.count()).select_from(Click)) == n
        agents = set(await session.scalars(select(Click.user_agent)))
        assert agents == {f"agent-{i}" for i in range(n)}

    async def test_clicks_queued_at_shutdown_are_written(self, app: Litestar, session: AsyncSession) -> None:
        campaign = await create_campaign(session)
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()

        async with AsyncTestClient(app) as client:
            for _ in range(50):
                await client.get(f"/r/{code.code}", follow_redirects=False)
        # Leaving the client ran the shutdown: the writer flushed its queue.

        assert await session.scalar(select(func.count()).select_from(Click)) == 50

    async def test_raw_ip_is_never_stored(
        self, app: Litestar, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        campaign = await create_campaign(session)
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()

        await client.get(
            f"/r/{code.code}", follow_redirects=False, headers={"referer": "https://weibo.com/x"}
        )
        await flush_clicks(client)

        click = await session.scalar(select(Click))
        assert click is not None
        assert click.ip_hash is not None and len(click.ip_hash) == 64
        assert "127.0.0.1" not in click.ip_hash and "testclient" not in click.ip_hash
        assert click.referer == "https://weibo.com/x"

    async def test_paused_and_ended_campaigns_redirect_without_attribution(
        self, app: Litestar, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        campaign = await create_campaign(session)
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await campaign_service.update_campaign(session, campaign.id, status=CampaignStatus.paused)
        await session.commit()

        paused = await client.get(f"/r/{code.code}", follow_redirects=False)
        await campaign_service.update_campaign(session, campaign.id, status=CampaignStatus.ended)
        await session.commit()
        ended = await client.get(f"/r/{code.code}", follow_redirects=False)
        await flush_clicks(client)

        for response in (paused, ended):
            assert response.status_code == 302
            assert response.headers["location"] == campaign.landing_url
            assert "set-cookie" not in response.headers
        assert await session.scalar(select(func.count()).select_from(Click)) == 0

    async def test_unknown_code_is_json_404_for_api_clients(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.get("/r/ZZZZ9999", headers={"accept": "application/json"})

        assert response.status_code == 404
        assert response.json() == {
            "error": {"code": "referral_code_not_found", "message": "no such referral code"}
        }

    async def test_unknown_code_is_a_friendly_page_for_browsers(
        self, client: AsyncTestClient[Litestar]
    ) -> None:
        response = await client.get(
            "/r/ZZZZ9999", headers={"accept": "text/html,*/*", "accept-language": "zh-CN"}
        )

        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "此链接无效" in response.text

    async def test_malformed_codes_are_404(self, client: AsyncTestClient[Litestar]) -> None:
        for code in ("ab", "x" * 40, "bad%20code", "%E7%BE%8E%E5%A6%86", "a.b", "%00abc"):
            response = await client.get(f"/r/{code}", headers={"accept": "application/json"})
            assert response.status_code == 404, code

    async def test_code_of_deleted_customer_is_404(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        from growth.core.time import utc_now
        from growth.customer import service as customer_service

        customer = await create_customer(session)
        code = await issue_code(session, campaign=await create_campaign(session), customer=customer)
        await customer_service.delete_customer(session, customer.external_id, now=utc_now())
        await session.commit()

        response = await client.get(
            f"/r/{code.code}", follow_redirects=False, headers={"accept": "text/html"}
        )

        assert response.status_code == 404
        assert "This link does not work" in response.text


def _latency_count(route: str, status: str) -> float:
    """How many requests the latency histogram counted for ``route`` answered with ``status``."""
    for metric in REQUEST_LATENCY.collect():
        for sample in metric.samples:
            labels = sample.labels
            if sample.name.endswith("_count") and (labels["route"], labels["status"]) == (route, status):
                return float(sample.value)
    return 0.0


class TestCachedRedirects:
    """A code's first redirect loads it through Litestar's route; the next ones are answered from the
    cache ahead of the router (``CachedRedirects``): the visitor must not see the difference."""

    async def test_a_cached_redirect_answers_like_the_first(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        campaign = await create_campaign(session)
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()
        app: Litestar = client.app

        first = await client.get(f"/r/{code.code}", follow_redirects=False)
        assert app.state.links.cached(code.code) is not None
        second = await client.get(f"/r/{code.code}", follow_redirects=False)
        await flush_clicks(client)

        assert first.status_code == second.status_code == 302
        assert sorted(first.headers.keys()) == sorted(second.headers.keys())
        for name in ("cache-control", "content-type", "content-length", "x-frame-options", "referrer-policy"):
            assert first.headers[name] == second.headers[name], name
        assert "nonce-" in second.headers["content-security-policy"]
        clicks = {c.id: c for c in await session.scalars(select(Click))}
        for response in (first, second):
            click_id = parse_qs(urlsplit(response.headers["location"]).query)["ref_click"][0]
            assert response.headers["set-cookie"].startswith(f"growth_ref={click_id};")
            assert clicks[UUID(click_id)].referral_code_id == code.id
        assert first.headers["set-cookie"].split(";", 1)[1] == second.headers["set-cookie"].split(";", 1)[1]
        assert first.headers["x-request-id"] != second.headers["x-request-id"]

    async def test_a_cached_redirect_echoes_the_request_id_and_remembers_the_language(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        campaign = await create_campaign(session)
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()
        await client.get(f"/r/{code.code}", follow_redirects=False)

        response = await client.get(
            f"/r/{code.code}?lang=zh", follow_redirects=False, headers={"X-Request-ID": "req-r-1"}
        )

        assert response.status_code == 302
        assert response.headers["x-request-id"] == "req-r-1"
        assert response.cookies["growth_lang"] == "zh_Hans"
        assert "growth_ref" in response.cookies

    async def test_cached_and_routed_redirects_are_timed_under_one_route(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        campaign = await create_campaign(session)
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()
        redirects, not_found = _latency_count("/r/{code}", "3xx"), _latency_count("/r/{code}", "4xx")

        for _ in range(3):  # the first through the router, then from the cache
            await client.get(f"/r/{code.code}", follow_redirects=False)
        await client.get("/r/ZZZZ9999", headers={"accept": "application/json"})

        assert _latency_count("/r/{code}", "3xx") - redirects == 3
        assert _latency_count("/r/{code}", "4xx") - not_found == 1

    async def test_a_revoked_code_stops_at_once(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        campaign = await create_campaign(session)
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()
        assert (await client.get(f"/r/{code.code}", follow_redirects=False)).status_code == 302

        await referral_code_service.revoke_code(
            session, code.code, terms_lookup=campaign_service.get_terms, now=utc_now()
        )
        await session.commit()
        response = await client.get(
            f"/r/{code.code}", headers={"accept": "text/html", "accept-language": "zh-CN"}
        )

        assert response.status_code == 404
        assert "此链接无效" in response.text

    async def test_other_methods_and_paths_are_left_to_the_router(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        campaign = await create_campaign(session)
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()
        await client.get(f"/r/{code.code}", follow_redirects=False)

        head = await client.head(f"/r/{code.code}")
        svg = await client.get(f"/r/{code.code}/qr.svg")

        assert head.status_code == 405
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")


class TestFirstClickCookie:
    async def test_first_click_campaign_keeps_the_first_cookie(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        campaign = await create_campaign(session, attribution_model="first_click")
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()

        first = await client.get(f"/r/{code.code}", follow_redirects=False)
        second = await client.get(
            f"/r/{code.code}",
            follow_redirects=False,
            headers={"cookie": f"growth_ref={first.cookies['growth_ref']}"},
        )

        assert "set-cookie" in first.headers and "set-cookie" not in second.headers
        assert "ref_click=" in second.headers["location"]

    async def test_last_click_campaign_replaces_the_cookie(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        campaign = await create_campaign(session)
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()

        first = await client.get(f"/r/{code.code}", follow_redirects=False)
        second = await client.get(
            f"/r/{code.code}",
            follow_redirects=False,
            headers={"cookie": f"growth_ref={first.cookies['growth_ref']}"},
        )

        assert second.cookies["growth_ref"] != first.cookies["growth_ref"]
