"""The API-key cache: a hit needs no query; a revoked key stops at once here and after the TTL elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core import cache
from growth.core.auth import service as auth_service
from growth.core.auth.errors import InvalidApiKey
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def count_statements(session: AsyncSession) -> list[str]:
    statements: list[str] = []
    event.listen(
        session.bind.sync_engine,  # type: ignore[union-attr]
        "before_cursor_execute",
        lambda *args: statements.append(args[2]),
    )
    return statements


async def _key(session_maker: SessionMaker, role: Role = Role.shop) -> auth_service.CreatedKey:
    async with session_maker() as session, session.begin():
        return await auth_service.create_key(session, name="shop", role=role)


async def _revoke(session_maker: SessionMaker, created: auth_service.CreatedKey) -> None:
    async with session_maker() as session, session.begin():
        await auth_service.revoke_key(session, created.api_key.id, now=NOW)


class TestKeyCache:
    async def test_a_cached_key_is_checked_without_a_query(self, session_maker: SessionMaker) -> None:
        created = await _key(session_maker)
        keys = auth_service.KeyCache()
        async with session_maker() as session:
            first = await keys.authenticate(session, created.secret, now=NOW)
            await session.commit()
            statements = count_statements(session)
            again = await keys.authenticate(session, created.secret, now=NOW + timedelta(seconds=5))

        assert first == again and again.role is Role.shop
        assert statements == []

    async def test_the_use_is_still_recorded_once_a_minute(self, session_maker: SessionMaker) -> None:
        created = await _key(session_maker)
        keys = auth_service.KeyCache()
        later = NOW + timedelta(minutes=2)
        async with session_maker() as session, session.begin():
            await keys.authenticate(session, created.secret, now=NOW)
        async with session_maker() as session, session.begin():
            await keys.authenticate(session, created.secret, now=later)

        async with session_maker() as session:
            row = await session.get(auth_service.ApiKey, created.api_key.id)
            assert row is not None and row.last_used_at == later

    async def test_a_revoked_key_stops_at_once_in_this_process(self, session_maker: SessionMaker) -> None:
        created = await _key(session_maker)
        keys = auth_service.KeyCache()
        stop = cache.subscribe(keys.invalidate)
        try:
            async with session_maker() as session:
                await keys.authenticate(session, created.secret, now=NOW)
            await _revoke(session_maker, created)

            async with session_maker() as session:
                with pytest.raises(InvalidApiKey):
                    await keys.authenticate(session, created.secret, now=NOW)
        finally:
            stop()

    async def test_a_process_the_revocation_missed_stops_after_the_ttl(
        self, session_maker: SessionMaker
    ) -> None:
        created = await _key(session_maker)
        clock = Clock()
        elsewhere = auth_service.KeyCache(ttl=10, clock=clock)  # not subscribed: the message was lost
        async with session_maker() as session:
            await elsewhere.authenticate(session, created.secret, now=NOW)
        await _revoke(session_maker, created)

        async with session_maker() as session:
            assert (
                await elsewhere.authenticate(session, created.secret, now=NOW)
            ).key_id == created.api_key.id
            clock.now = 10.5
            with pytest.raises(InvalidApiKey):
                await elsewhere.authenticate(session, created.secret, now=NOW)

    async def test_dropping_everything_forgets_every_key(self, session_maker: SessionMaker) -> None:
        created = await _key(session_maker)
        keys = auth_service.KeyCache()
        async with session_maker() as session:
            await keys.authenticate(session, created.secret, now=NOW)
        await _revoke(session_maker, created)

        keys.invalidate(cache.ALL, cache.ALL)

        async with session_maker() as session:
            with pytest.raises(InvalidApiKey):
                await keys.authenticate(session, created.secret, now=NOW)

    async def test_other_topics_keep_the_keys(self, session_maker: SessionMaker) -> None:
        created = await _key(session_maker)
        keys = auth_service.KeyCache()
        async with session_maker() as session:
            await keys.authenticate(session, created.secret, now=NOW)
        await _revoke(session_maker, created)

        keys.invalidate(cache.CAMPAIGN_CHANGED, str(created.api_key.id))

        async with session_maker() as session:
            assert (await keys.authenticate(session, created.secret, now=NOW)).key_id == created.api_key.id

    async def test_unknown_keys_are_not_cached(self, session_maker: SessionMaker) -> None:
        created = await _key(session_maker)
        keys = auth_service.KeyCache()
        await _revoke(session_maker, created)
        async with session_maker() as session:
            for _ in range(2):
                with pytest.raises(InvalidApiKey):
                    await keys.authenticate(session, created.secret, now=NOW)
