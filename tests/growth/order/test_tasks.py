"""The order intake's group commit: each order atomic, idempotent, and answered only once durable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from campaigns.campaign import service as campaign_service
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.core.ports import no_leads
from growth.core.time import utc_now
from growth.order import service as order_service
from growth.order.errors import InvalidOrder, OrderConflict, OrderIntakeUnavailable
from growth.order.models import Order, OrderLine
from growth.order.service import Ingested, LineIn, OrderIntake
from growth.order.tasks import OrderIntakeBatcher
from tests.factories import bearer, create_key
from tests.growth.order.test_controllers import order_body


def intake(external_id: str, *, amount: int = 19900, customer: str = "mei") -> OrderIntake:
    return OrderIntake(
        external_id=external_id,
        customer_external_id=customer,
        customer_email=f"{customer}@example.com",
        amount=amount,
        currency="CNY",
        placed_at=datetime.fromisoformat("2026-11-20T10:00:00+08:00"),
        source="api",
        lines=(LineIn("TEA-1", 1, amount),) if amount > 0 else (),
    )


def take_in(order: OrderIntake) -> Any:
    async def work(session: AsyncSession) -> Ingested:
        return await order_service.ingest_order(
            session, order, terms_lookup=campaign_service.get_terms, lead_lookup=no_leads, now=utc_now()
        )

    return work


async def _orders(session_maker: SessionMaker) -> list[str]:
    async with session_maker() as session:
        return list(await session.scalars(select(Order.external_id).order_by(Order.external_id)))


async def _lines(session_maker: SessionMaker) -> int:
    async with session_maker() as session:
        return await session.scalar(select(func.count()).select_from(OrderLine)) or 0


@pytest.fixture
async def batcher(session_maker: SessionMaker) -> AsyncIterator[OrderIntakeBatcher]:
    batcher = OrderIntakeBatcher(session_maker)
    batcher.start()
    yield batcher
    await batcher.stop()


async def _submit_all(batcher: OrderIntakeBatcher, *orders: OrderIntake) -> list[Any]:
    return await asyncio.gather(*(batcher.submit(take_in(o)) for o in orders), return_exceptions=True)


class TestGroupCommit:
    async def test_a_bad_order_fails_alone(
        self, batcher: OrderIntakeBatcher, session_maker: SessionMaker
    ) -> None:
        results = await _submit_all(batcher, intake("o-1"), intake("o-bad", amount=-5), intake("o-2"))

        assert batcher.groups == 1
        assert isinstance(results[1], InvalidOrder)
        assert [r.created for r in (results[0], results[2])] == [True, True]
        assert await _orders(session_maker) == ["o-1", "o-2"]
        assert await _lines(session_maker) == 2

    async def test_the_same_order_twice_in_one_group_and_again_later(
        self, batcher: OrderIntakeBatcher, session_maker: SessionMaker
    ) -> None:
        first, again, different = await _submit_all(
            batcher, intake("o-1"), intake("o-1"), intake("o-1", amount=29900)
        )
        later = await batcher.submit(take_in(intake("o-1")))

        assert batcher.groups == 2
        assert (first.created, again.created, later.created) == (True, False, False)
        assert again.order.id == first.order.id == later.order.id
        assert isinstance(different, OrderConflict)
        assert await _orders(session_maker) == ["o-1"]

    async def test_answered_only_after_the_commit(self, session_maker: SessionMaker) -> None:
        futures_done_at_commit: list[bool] = []
        tasks: list[asyncio.Task[Any]] = []

        def before_commit(session: Session) -> None:
            if not session.in_nested_transaction():
                futures_done_at_commit.extend(t.done() for t in tasks)

        batcher = OrderIntakeBatcher(_with_listener(session_maker, "before_commit", before_commit))
        batcher.start()
        tasks.extend(asyncio.create_task(batcher.submit(take_in(intake(f"o-{i}")))) for i in range(3))
        results = await asyncio.gather(*tasks)
        await batcher.stop()

        assert futures_done_at_commit == [False, False, False]
        assert all(r.created for r in results)

    async def test_a_failed_commit_answers_retry_and_stores_nothing(
        self, session_maker: SessionMaker
    ) -> None:
        def fail(session: Session) -> None:
            if not session.in_nested_transaction():  # the group's COMMIT, not a savepoint's release
                raise OSError("disk full")

        batcher = OrderIntakeBatcher(_with_listener(session_maker, "before_commit", fail))
        batcher.start()
        results = await _submit_all(batcher, intake("o-1"), intake("o-bad", amount=-5), intake("o-2"))
        await batcher.stop()

        assert [type(r) for r in results] == [OrderIntakeUnavailable, InvalidOrder, OrderIntakeUnavailable]
        assert OrderIntakeUnavailable.status_code == 503
        assert await _orders(session_maker) == []
        assert await _lines(session_maker) == 0

    async def test_stop_takes_in_what_is_queued(self, session_maker: SessionMaker) -> None:
        batcher = OrderIntakeBatcher(session_maker, max_batch=2)
        batcher.start()
        pending = [asyncio.create_task(batcher.submit(take_in(intake(f"o-{i}")))) for i in range(5)]
        await asyncio.sleep(0)
        await batcher.stop()

        assert all(t.result().created for t in pending)
        assert await _orders(session_maker) == [f"o-{i}" for i in range(5)]

    async def test_not_running(self, session_maker: SessionMaker) -> None:
        with pytest.raises(RuntimeError):
            await OrderIntakeBatcher(session_maker).submit(take_in(intake("o-1")))


def _with_listener(session_maker: SessionMaker, name: str, listener: Any) -> SessionMaker:
    """Sessions of ``session_maker`` with a SQLAlchemy session event (a fault at the commit, say)."""

    def make() -> AsyncSession:
        session = session_maker()
        event.listen(session.sync_session, name, listener)
        return session

    return make


class TestConcurrentRequests:
    async def test_each_request_gets_its_own_answer(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        shop = bearer(await create_key(session, role=Role.shop))
        await session.commit()
        bodies = [order_body(f"o-{i}") for i in range(8)]
        other_email = {"external_id": "mei", "email": "other@example.com"}
        bodies += [order_body("o-0"), order_body("o-1", customer=other_email), order_body("o-bad", amount=-1)]

        responses = await asyncio.gather(*(client.post("/api/orders", json=b, headers=shop) for b in bodies))

        statuses = [r.status_code for r in responses]
        # Which of two requests for one order came first is up to the scheduler: one is new, one is not.
        assert statuses[2:8] == [201] * 6
        assert sorted([statuses[0], statuses[8]]) == [200, 201]
        assert sorted([statuses[1], statuses[9]]) == [201, 409]
        assert statuses[10] == 422
        assert responses[0].json()["id"] == responses[8].json()["id"]
        count = await session.scalar(select(func.count()).select_from(Order))
        await session.rollback()
        assert count == 8
