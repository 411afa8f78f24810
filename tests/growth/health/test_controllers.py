"""/health, /ready and /metrics of the composed app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from growth.app import create_app
from growth.core.db import SessionMaker
from growth.core.events.models import OutboxEvent
from growth.core.time import utc_now
from growth.settings import Settings
from tests.conftest import flush_clicks
from tests.factories import create_campaign, create_customer, issue_code


async def _client(settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


class TestReady:
    async def test_ready_in_the_embedded_profile(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.get("/ready")

        assert response.status_code == 200
        assert response.json() == {
            "status": "ready",
            "database": "ok",
            "migrations": "ok",
            "redis": "not_configured",
            "failed": [],
        }
        assert response.headers["cache-control"] == "no-store"

    async def test_a_schema_behind_the_code_is_not_ready(
        self, client: AsyncTestClient[Litestar], engine: AsyncEngine
    ) -> None:
        async with engine.begin() as connection:
            [head] = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars()
            await connection.execute(text("UPDATE alembic_version SET version_num = 'an_older_one'"))
        try:
            response = await client.get("/ready")
        finally:
            async with engine.begin() as connection:
                await connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})

        assert response.status_code == 503
        assert response.json()["failed"] == ["migrations"]
        assert response.json()["migrations"] == "behind_or_ahead"

    async def test_redis_out_of_reach_is_not_ready(self, settings: Settings) -> None:
        # Nothing listens on port 1: the app starts (the queue connects lazily) and says what is wrong.
        async for client in _client(settings.with_overrides(redis_url="redis://127.0.0.1:1/0")):
            response = await client.get("/ready")

            assert response.status_code == 503
            assert response.json()["failed"] == ["redis"] and response.json()["database"] == "ok"


def _families(body: str) -> dict[str, object]:
    return {family.name: family for family in text_string_to_metric_families(body)}


class TestMetrics:
    async def test_prometheus_text_with_latency_outbox_and_jobs(
        self, client: AsyncTestClient[Litestar]
    ) -> None:
        assert (await client.get("/health")).status_code == 200

        response = await client.get("/metrics")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        families = _families(response.text)
        latency = families["growth_http_request_duration_seconds"]
        counts = [
            s
            for s in latency.samples  # type: ignore[attr-defined]
            if s.name.endswith("_count") and s.labels.get("route") == "/health"
        ]
        assert counts and counts[0].labels["status"] == "2xx" and counts[0].value >= 1
        for name in ("growth_outbox_pending", "growth_outbox_lag_seconds", "growth_click_queue_depth"):
            assert name in families, name
        assert "growth_clicks_flushed" in families and "growth_job_runs" in families
        assert "growth_job_queue_depth" not in families  # no queue in the embedded profile

    async def test_the_outbox_lag_is_the_oldest_pending_event(
        self, client: AsyncTestClient[Litestar], session_maker: SessionMaker
    ) -> None:
        now = utc_now()
        async with session_maker() as session, session.begin():
            # A subscribed event whose retry is not due yet: it waits, and so does the lag.
            session.add(
                OutboxEvent(
                    name="order.attributed",
                    payload={},
                    occurred_at=now - timedelta(seconds=90),
                    next_attempt_at=now + timedelta(hours=1),
                )
            )

        families = _families((await client.get("/metrics")).text)

        [pending] = families["growth_outbox_pending"].samples  # type: ignore[attr-defined]
        [lag] = families["growth_outbox_lag_seconds"].samples  # type: ignore[attr-defined]
        assert pending.value == 1 and 90 <= lag.value < 120

    @pytest.mark.parametrize(
        ("header", "status"),
        [(None, 401), ("Bearer wrong", 401), ("Bearer s3cret-scrape", 200)],
    )
    async def test_a_token_guards_it_when_set(
        self, settings: Settings, header: str | None, status: int
    ) -> None:
        async for client in _client(settings.with_overrides(metrics_token="s3cret-scrape")):
            headers = {"Authorization": header} if header else {}
            response = await client.get("/metrics", headers=headers)

            assert response.status_code == status
            if status == 401:
                assert response.json()["error"]["code"] == "unauthorized"


def _value(families: dict[str, object], name: str) -> float:
    family = families[name.removesuffix("_total")]
    [sample] = [s for s in family.samples if s.name == name]  # type: ignore[attr-defined]
    return float(sample.value)


async def test_clicks_buffered_and_flushed_are_counted(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    campaign = await create_campaign(session)
    code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
    await session.commit()
    before = _families((await client.get("/metrics")).text)

    for _ in range(3):
        assert (await client.get(f"/r/{code.code}", follow_redirects=False)).status_code == 302
    await flush_clicks(client)
    after = _families((await client.get("/metrics")).text)

    for name in ("growth_clicks_buffered_total", "growth_clicks_flushed_total"):
        assert _value(after, name) - _value(before, name) == 3, name
    assert _value(after, "growth_click_queue_depth") == 0
