"""Orders for the review queue's tests, posted through the shop API, and what they left behind."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from growth.audit.models import AuditEntry
from growth.core.db import SessionMaker
from growth.core.events.models import OutboxEvent
from growth.core.time import utc_now
from growth.risk.models import OrderReview

Client = AsyncTestClient[Litestar]
NOW = utc_now().replace(microsecond=0)


async def place(
    client: Client, keys: dict[str, dict[str, str]], external_id: str, customer: str, **changes: Any
) -> str:
    """Post an order through the shop API; returns our order id."""
    minutes = changes.pop("minutes_ago", 5)
    body = {
        "external_id": external_id,
        "customer": {
            "external_id": customer,
            "email": changes.pop("email", f"{customer}@example.com"),
            "name": changes.pop("name", "Li Lei"),
        },
        "amount": changes.pop("amount", 10000),
        "currency": "CNY",
        "placed_at": (NOW - timedelta(minutes=minutes)).isoformat(),
    } | changes
    response = await client.post("/api/orders", json=body, headers=keys["shop"])
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def held(client: Client, keys: dict[str, dict[str, str]], code: str, n: int, **changes: Any) -> str:
    """A referred order held by the disposable e-mail rule."""
    return await place(
        client, keys, f"held-{n}", f"friend-{n}", referral_code=code, email=f"f{n}@mailinator.com", **changes
    )


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert body["message"]
    return body


async def events(session_maker: SessionMaker) -> list[OutboxEvent]:
    async with session_maker() as s:
        query = select(OutboxEvent).where(OutboxEvent.name == "order.review_decided")
        return list(await s.scalars(query.order_by(OutboxEvent.occurred_at)))


async def audit(session_maker: SessionMaker) -> list[AuditEntry]:
    async with session_maker() as s:
        query = select(AuditEntry).where(AuditEntry.action.like("order_review.%"))
        return list(await s.scalars(query.order_by(AuditEntry.sequence)))


async def review(session_maker: SessionMaker, order_id: str) -> OrderReview:
    async with session_maker() as s:
        found = await s.scalar(select(OrderReview).where(OrderReview.order_id == order_id))
    assert found is not None
    return found
