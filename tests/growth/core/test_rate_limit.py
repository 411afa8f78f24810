"""Rate limits: the window arithmetic, counters in the process and in a real Redis, and sign-in by key."""

from __future__ import annotations

import uuid

import pytest
import redis
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.app import check_settings
from growth.core.auth.rules import Role
from growth.core.rate_limit import (
    Limit,
    MemoryCounters,
    RateLimits,
    RedisCounters,
    TooManyRequests,
    parse_limit,
)
from growth.settings import Settings
from tests.factories import create_key
from tests.growth.core.test_queue import REDIS_URL, needs_redis
from tests.pages import HTML, sign_in


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10/600", Limit(10, 600)), (" 1/1 ", Limit(1, 1)), ("", None), ("off", None)],
)
def test_a_limit_is_count_per_seconds(text: str, expected: Limit | None) -> None:
    assert parse_limit(text) == expected


@pytest.mark.parametrize("text", ["10", "ten/600", "10/0", "0/60", "-1/60", "10/60/2", "10 per 60"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        parse_limit(text)


def test_the_service_refuses_to_start_on_a_bad_limit(settings: Settings) -> None:
    with pytest.raises(ValueError, match="invalid setting: a rate limit"):
        check_settings(settings.with_overrides(rate_limit_sign_in="lots"))


async def test_a_window_counts_per_bucket_and_key_then_starts_again() -> None:
    clock = Clock(1_000_000.0)  # a window of 60 s starts at 999,960
    counters = MemoryCounters(clock)
    limit = Limit(2, 60)
    assert [await counters.count("b", "1.2.3.4", limit) for _ in range(2)] == [None, None]
    assert await counters.count("other", "1.2.3.4", limit) is None  # another bucket
    assert await counters.count("b", "5.6.7.8", limit) is None  # another client
    assert await counters.count("b", "1.2.3.4", limit) == 20  # the third: wait for the next window
    clock.now += 19.5
    assert await counters.count("b", "1.2.3.4", limit) == 1
    clock.now += 0.5  # the next window
    assert await counters.count("b", "1.2.3.4", limit) is None


async def test_a_refused_client_is_refused_everything_until_its_wait_is_over() -> None:
    clock = Clock(0.0)
    limits = RateLimits(MemoryCounters(clock), {"codes": Limit(1, 60), "open": None}, clock=clock)
    limits.refuse_if_refused("codes", "1.2.3.4", "x")  # nothing refused yet
    await limits.check("codes", "1.2.3.4", "too many")
    with pytest.raises(TooManyRequests) as refused:
        await limits.check("codes", "1.2.3.4", "too many")
    assert (refused.value.status_code, refused.value.retry_after) == (429, 60)
    with pytest.raises(TooManyRequests):  # a success would tell a guesser something: refused too
        limits.refuse_if_refused("codes", "1.2.3.4", "too many")
    limits.refuse_if_refused("codes", "5.6.7.8", "x")  # only that client
    for _ in range(100):
        await limits.check("open", "1.2.3.4", "x")  # a bucket without a limit never refuses
    clock.now = 60.0
    limits.refuse_if_refused("codes", "1.2.3.4", "x")


@needs_redis
async def test_processes_share_their_counts_in_redis_under_hashed_keys() -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    clock = Clock(1_000_000.0)
    one, two = RedisCounters(REDIS_URL, prefix, clock), RedisCounters(REDIS_URL, prefix, clock)
    probe = redis.Redis.from_url(REDIS_URL)
    try:
        limit = Limit(3, 60)
        results = [await c.count("email", "ada@northwind.example", limit) for c in (one, two, one)]
        assert results == [None, None, None]
        assert await two.count("email", "ada@northwind.example", limit) == 20  # the fourth, in either
        keys = [k.decode() for k in probe.scan_iter(f"{prefix}:*")]
        assert len(keys) == 1 and "northwind" not in keys[0] and "@" not in keys[0]
        assert 0 < probe.ttl(keys[0]) <= 61  # gone with its window
    finally:
        await one.close()
        await two.close()
        probe.delete(*probe.keys(f"{prefix}:*") or [b"none"])
        probe.close()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.with_overrides(rate_limit_sign_in="3/600")


async def test_signing_in_by_key_is_limited_per_client(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    key = await create_key(session, role=Role.marketing)
    await session.commit()
    for _ in range(2):
        assert (await sign_in(client, "gk_wrong_key")).status_code == 401
    assert (await sign_in(client, key)).status_code == 303  # the third: still within the limit
    refused = await sign_in(client, key)  # even the right key, once past it: guessing stays slow
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    page = await client.get("/sign-in", headers=HTML)
    assert page.status_code == 200  # the form itself is not an attempt
