"""The redirect's link cache: what it serves, and every change that drops an entry (same process,
other processes through Redis, and the TTL / bulk re-check when an invalidation is lost)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
import redis
import redis.asyncio as aredis
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from campaigns.campaign.models import Campaign
from campaigns.campaign.rules import CampaignStatus
from growth.core import cache
from growth.core.db import SessionMaker
from growth.core.time import utc_now
from growth.customer import service as customer_service
from growth.link.service import LinkCache
from growth.referral_code import service as referral_code_service
from growth.referral_code.errors import ReferralCodeNotFound
from growth.referral_code.models import ReferralCode
from tests.factories import bearer, create_campaign, create_customer, create_key, create_partner, issue_code

REDIS_URL = "redis://127.0.0.1:6379/0"
TTL = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def links(session_maker: SessionMaker, clock: Clock) -> Iterator[LinkCache]:
    """A cache listening to this process's invalidations, as the app's is."""
    links = LinkCache(
        session_maker,
        campaign_service.get_terms,
        ttl=TTL,
        code_param="ref",
        click_param="ref_click",
        clock=clock,
    )
    stop = cache.subscribe(links.invalidate)
    yield links
    stop()


async def _working_code(session: AsyncSession) -> ReferralCode:
    campaign = await create_campaign(session, landing_url="https://shop.example/spring?utm_source=ref#top")
    code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
    await session.commit()
    return code


class TestServing:
    async def test_a_cached_code_is_served_without_the_database(
        self, links: LinkCache, session: AsyncSession
    ) -> None:
        code = await _working_code(session)
        target = await links.target(code.code)
        # Changed behind the services' back (no invalidation): the cache keeps answering.
        await session.execute(update(ReferralCode).values(revoked_at=utc_now()))
        await session.commit()

        assert await links.target(code.code) is not None
        assert target.code.referral_code_id == code.id
        assert (
            target.location("CLICK")
            == f"https://shop.example/spring?utm_source=ref&ref={code.code}&ref_click=CLICK#top"
        )

    async def test_cached_answers_only_what_is_loaded_and_fresh(
        self, links: LinkCache, session: AsyncSession, clock: Clock
    ) -> None:
        code = await _working_code(session)
        assert links.cached(code.code) is None  # never asked: only ``target`` reads the database

        loaded = await links.target(code.code)
        assert links.cached(code.code) == loaded
        clock.now += TTL + 1  # the campaign's terms are due for a reload

        assert links.cached(code.code) is None
        await links.target(code.code)
        assert links.cached(code.code) is not None

    async def test_cached_never_answers_for_codes_that_do_not_work(self, links: LinkCache) -> None:
        with pytest.raises(ReferralCodeNotFound):
            await links.target("ZZZZ9999")

        assert links.cached("ZZZZ9999") is None  # remembered as missing: ``target`` raises for it

    async def test_preload_loads_the_working_codes(self, links: LinkCache, session: AsyncSession) -> None:
        code = await _working_code(session)
        revoked = await issue_code(
            session, campaign=await create_campaign(session), customer=await create_customer(session)
        )
        revoked.revoked_at = utc_now()
        await session.commit()

        assert await links.preload() == 1
        assert len(links) == 1
        assert (await links.target(code.code)).code.referral_code_id == code.id

    async def test_unknown_and_malformed_codes_are_not_found(self, links: LinkCache) -> None:
        for typed in ("ZZZZ9999", "a.b", "x" * 40):
            with pytest.raises(ReferralCodeNotFound):
                await links.target(typed)
        assert len(links) == 1  # only the well-formed one is remembered


class TestInvalidation:
    async def test_revoking_a_code_drops_it_after_commit(
        self, links: LinkCache, session: AsyncSession
    ) -> None:
        code = await _working_code(session)
        await links.target(code.code)

        await referral_code_service.revoke_code(
            session, code.code, terms_lookup=campaign_service.get_terms, now=utc_now()
        )
        assert await links.target(code.code)  # not committed yet: others still see it working
        await session.commit()

        assert links.cached(code.code) is None

        with pytest.raises(ReferralCodeNotFound):
            await links.target(code.code)

    async def test_a_rolled_back_change_drops_nothing(self, links: LinkCache, session: AsyncSession) -> None:
        typed = (await _working_code(session)).code
        await links.target(typed)
        await referral_code_service.revoke_code(
            session, typed, terms_lookup=campaign_service.get_terms, now=utc_now()
        )
        await session.rollback()
        await session.execute(update(ReferralCode).values(revoked_at=utc_now()))  # proves no reload
        await session.commit()

        assert await links.target(typed)

    async def test_a_code_typed_in_lower_case_is_dropped_too(
        self, links: LinkCache, session: AsyncSession
    ) -> None:
        code = await _working_code(session)
        await links.target(code.code.lower())
        await referral_code_service.revoke_code(
            session, code.code, terms_lookup=campaign_service.get_terms, now=utc_now()
        )
        await session.commit()

        with pytest.raises(ReferralCodeNotFound):
            await links.target(code.code.lower())

    @pytest.mark.parametrize("status", [CampaignStatus.paused, CampaignStatus.ended])
    async def test_pausing_or_ending_the_campaign_stops_attribution(
        self, links: LinkCache, session: AsyncSession, status: CampaignStatus
    ) -> None:
        code = await _working_code(session)
        assert (await links.target(code.code)).campaign.accepts_clicks

        await campaign_service.update_campaign(session, code.campaign_id, status=status)
        await session.commit()

        assert not (await links.target(code.code)).campaign.accepts_clicks

    async def test_a_new_landing_page_is_followed(self, links: LinkCache, session: AsyncSession) -> None:
        code = await _working_code(session)
        await links.target(code.code)

        await campaign_service.update_campaign(
            session, code.campaign_id, landing_url="https://shop.example/new"
        )
        await session.commit()

        assert (await links.target(code.code)).location("C").startswith("https://shop.example/new?ref=")

    async def test_deleting_the_customer_stops_the_code(
        self, links: LinkCache, session: AsyncSession
    ) -> None:
        customer = await create_customer(session)
        code = await issue_code(session, campaign=await create_campaign(session), customer=customer)
        await session.commit()
        await links.target(code.code)

        await customer_service.delete_customer(session, customer.external_id, now=utc_now())
        await session.commit()

        with pytest.raises(ReferralCodeNotFound):
            await links.target(code.code)

    async def test_a_code_issued_after_a_miss_works_at_once(
        self, links: LinkCache, session: AsyncSession
    ) -> None:
        campaign = await create_campaign(session)
        customer = await create_customer(session)
        await session.commit()
        with pytest.raises(ReferralCodeNotFound):
            await links.target("SPRING-ALICE")

        await issue_code(session, campaign=campaign, customer=customer, vanity_code="SPRING-ALICE")
        await session.commit()

        assert await links.target("SPRING-ALICE")

    async def test_suspending_and_reinstating_a_partner_stops_and_restarts_its_codes(
        self, links: LinkCache, session: AsyncSession
    ) -> None:
        partner = await create_partner(session)
        issued = await referral_code_service.issue_code(
            session,
            campaign_id=(await create_campaign(session)).id,
            referrer=referral_code_service.Referrer(partner_id=partner.id),
            terms_lookup=campaign_service.get_terms,
        )
        await session.commit()
        code = issued.referral_code.code
        await links.target(code)
        now = utc_now()

        await referral_code_service.revoke_partner_codes(session, partner.id, now=now)
        await session.commit()
        with pytest.raises(ReferralCodeNotFound):
            await links.target(code)

        await referral_code_service.reinstate_partner_codes(session, partner.id, revoked_at=now)
        await session.commit()
        assert await links.target(code)  # the remembered "no such code" went with the change


class TestStopping:
    async def test_an_app_stopped_right_after_it_started_stops_at_once(self, app: Litestar) -> None:
        """The sweeper's first preload is still running when a test (or a deploy) stops the app: it is
        let finish, not cancelled mid-query. Cancelled, it held every shutdown up for about 60 s, and
        in one CI run for ever."""
        started = asyncio.get_running_loop().time()
        async with AsyncTestClient(app) as client:
            assert (await client.get("/schema/openapi.json")).status_code == 200
        assert asyncio.get_running_loop().time() - started < 20


class TestSafetyNet:
    """An invalidation lost (another process, no Redis): the change shows within the TTL."""

    async def test_campaign_terms_expire_after_the_ttl(
        self, links: LinkCache, session: AsyncSession, clock: Clock
    ) -> None:
        code = await _working_code(session)
        await links.target(code.code)
        await session.execute(update(Campaign).values(status="paused"))
        await session.commit()

        clock.now += TTL - 1
        assert (await links.target(code.code)).campaign.accepts_clicks
        clock.now += 2
        assert not (await links.target(code.code)).campaign.accepts_clicks

    async def test_campaign_terms_expire_when_the_period_ends(
        self, links: LinkCache, session: AsyncSession, clock: Clock
    ) -> None:
        campaign = await create_campaign(session, ends_at=utc_now() + timedelta(seconds=5))
        code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
        await session.commit()

        target = await links.target(code.code)

        assert target.campaign.accepts_clicks
        assert target.campaign.expires <= clock.now + 5

    async def test_the_sweep_drops_codes_that_stopped_working(
        self, links: LinkCache, session: AsyncSession
    ) -> None:
        code = await _working_code(session)
        other = await _working_code(session)
        await links.target(code.code)
        await links.target(other.code)
        await session.execute(
            update(ReferralCode).where(ReferralCode.id == code.id).values(revoked_at=utc_now())
        )
        await session.commit()

        assert await links.sweep() == 1
        with pytest.raises(ReferralCodeNotFound):
            await links.target(code.code)
        assert await links.target(other.code)

    async def test_not_found_is_remembered_only_briefly(
        self, links: LinkCache, session: AsyncSession, clock: Clock
    ) -> None:
        code = await _working_code(session)
        await session.execute(update(ReferralCode).values(revoked_at=utc_now()))
        await session.commit()
        with pytest.raises(ReferralCodeNotFound):
            await links.target(code.code)
        await session.execute(update(ReferralCode).values(revoked_at=None))
        await session.commit()

        clock.now += 6
        assert await links.target(code.code)


class TestAcrossProcesses:
    async def test_the_redirect_follows_a_pause_through_the_api_at_once(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        code = await _working_code(session)
        key = await create_key(session)
        await session.commit()
        assert "set-cookie" in (await client.get(f"/r/{code.code}", follow_redirects=False)).headers

        response = await client.patch(
            f"/api/campaigns/{code.campaign_id}", json={"status": "paused"}, headers=bearer(key)
        )
        assert response.status_code == 200
        paused = await client.get(f"/r/{code.code}", follow_redirects=False)

        assert paused.status_code == 302 and "set-cookie" not in paused.headers
        assert paused.headers["location"] == "https://shop.example/spring?utm_source=ref#top"


def _redis_is_up() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
async def relay() -> AsyncIterator[cache.RedisInvalidationRelay]:
    if not _redis_is_up():
        pytest.skip("needs Redis on 127.0.0.1:6379")
    relay = cache.RedisInvalidationRelay(REDIS_URL, f"growth-test:{uuid.uuid4().hex}:cache")
    await relay.start()
    yield relay
    await relay.stop()


class TestRedisRelay:
    async def test_another_process_invalidation_reaches_this_cache(
        self, links: LinkCache, session: AsyncSession, relay: cache.RedisInvalidationRelay
    ) -> None:
        code = await _working_code(session)
        await links.target(code.code)
        await session.execute(update(ReferralCode).values(revoked_at=utc_now()))
        await session.commit()  # as another process would: its invalidation arrives through Redis

        client = aredis.Redis.from_url(REDIS_URL)
        message = {"origin": "another-process", "topic": cache.REFERRAL_CODE_CHANGED, "key": code.code_key}
        await client.publish(relay.channel, json.dumps(message))
        await client.aclose()

        for _ in range(100):
            try:
                await links.target(code.code)
            except ReferralCodeNotFound:
                return
            await asyncio.sleep(0.02)
        pytest.fail("the invalidation from Redis never arrived")

    async def test_this_process_invalidations_are_published(
        self, session: AsyncSession, relay: cache.RedisInvalidationRelay
    ) -> None:
        client = aredis.Redis.from_url(REDIS_URL)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(relay.channel)
        code = await _working_code(session)

        await referral_code_service.revoke_code(
            session, code.code, terms_lookup=campaign_service.get_terms, now=utc_now()
        )
        await session.commit()

        message = await pubsub.get_message(timeout=2)
        for _ in range(20):
            if message is not None:
                break
            message = await pubsub.get_message(timeout=0.1)
        await pubsub.aclose()
        await client.aclose()
        assert message is not None
        assert json.loads(message["data"])["topic"] == cache.REFERRAL_CODE_CHANGED
        assert json.loads(message["data"])["key"] == code.code_key
