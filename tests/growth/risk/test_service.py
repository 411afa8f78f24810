"""The firewall on real orders: each signal's history is gathered from the database, the decision is
kept per order, told in the attribution's explanation and carried by ``order.attributed``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.click.models import Click
from growth.click.rules import hash_ip
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.core.events.models import OutboxEvent
from growth.core.time import utc_now
from growth.order.models import Order
from growth.risk.models import OrderReview
from tests.conftest import SECRET
from tests.factories import bearer, create_campaign, create_customer, create_key, issue_code

NOW = utc_now().replace(microsecond=0)


@pytest.fixture
async def shop(session: AsyncSession) -> dict[str, str]:
    key = await create_key(session, role=Role.shop)
    await session.commit()
    return bearer(key)


@pytest.fixture
async def code(session: AsyncSession) -> str:
    campaign = await create_campaign(session, name="Spring")
    referrer = await create_customer(session, external_id="mei", email="mei@example.com")
    issued = await issue_code(session, campaign=campaign, customer=referrer)
    await session.commit()
    return issued.code


def order(external_id: str, customer: str, **changes: Any) -> dict[str, Any]:
    when = changes.pop("placed_at", NOW - timedelta(minutes=5))
    return {
        "external_id": external_id,
        "customer": {"external_id": customer, "email": changes.pop("email", f"{customer}@example.com")},
        "amount": changes.pop("amount", 10000),
        "currency": "CNY",
        "placed_at": when.isoformat(),
    } | changes


async def review_of(session_maker: SessionMaker, external_id: str) -> OrderReview | None:
    async with session_maker() as s:
        return await s.scalar(
            select(OrderReview)
            .join(Order, Order.id == OrderReview.order_id)
            .where(Order.external_id == external_id)
        )


async def post(
    client: AsyncTestClient[Litestar], shop: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    r = await client.post("/api/orders", json=body, headers=shop)
    assert r.status_code == 201, r.text
    return r.json()


async def codes_of(session_maker: SessionMaker, external_id: str) -> list[str]:
    review = await review_of(session_maker, external_id)
    assert review is not None
    return [reason["code"] for reason in review.reasons]


async def test_a_clean_referral_is_allowed_and_its_explanation_unchanged(
    client: AsyncTestClient[Litestar], shop: dict[str, str], code: str, session_maker: SessionMaker
) -> None:
    created = await post(client, shop, order("o-1", "friend", referral_code=code))
    review = await review_of(session_maker, "o-1")
    assert review and (review.verdict, review.status, review.reasons) == ("allow", "allowed", [])
    assert "Risk check" not in created["attribution"]["explanation"]
    async with session_maker() as s:
        event = await s.scalar(select(OutboxEvent).where(OutboxEvent.name == "order.attributed"))
    assert event and event.payload["review"] == "allowed" and event.payload["review_reasons"] == []


async def test_an_unattributed_order_is_not_reviewed(
    client: AsyncTestClient[Litestar], shop: dict[str, str], session_maker: SessionMaker
) -> None:
    await post(client, shop, order("o-1", "walk-in", email="x@mailinator.com"))
    assert await review_of(session_maker, "o-1") is None


async def test_the_referrers_own_card_is_rejected_and_explained(
    client: AsyncTestClient[Litestar], shop: dict[str, str], code: str, session_maker: SessionMaker
) -> None:
    await post(client, shop, order("own", "mei", email="mei@example.com", payment_fingerprint="FP-MEI"))
    created = await post(client, shop, order("o-1", "alt", referral_code=code, payment_fingerprint="FP-MEI"))
    review = await review_of(session_maker, "o-1")
    assert review and (review.verdict, review.status) == ("reject", "rejected")
    assert await codes_of(session_maker, "o-1") == ["self_referral_same_payment"]
    assert "Risk check" in created["attribution"]["explanation"]
    other = await post(client, shop, order("o-2", "friend", referral_code=code, payment_fingerprint="FP-2"))
    assert "Risk check" not in other["attribution"]["explanation"]


async def test_same_address_and_device_as_the_referrer_are_held(
    client: AsyncTestClient[Litestar], shop: dict[str, str], code: str, session_maker: SessionMaker
) -> None:
    home = {"line1": "88 Century Avenue", "city": "Shanghai", "country": "CN"}
    await post(
        client, shop, order("own", "mei", email="mei@example.com", shipping_address=home, device_id="D1")
    )
    await post(
        client,
        shop,
        order("o-1", "f1", referral_code=code, shipping_address=home | {"line1": "88 CENTURY  avenue"}),
    )
    await post(client, shop, order("o-2", "f2", referral_code=code, device_id="D1"))
    await post(
        client,
        shop,
        order(
            "o-3",
            "f3",
            referral_code=code,
            device_id="D9",
            shipping_address=home | {"line1": "1 Nanjing Road"},
        ),
    )
    assert await codes_of(session_maker, "o-1") == ["self_referral_same_address"]
    assert await codes_of(session_maker, "o-2") == ["self_referral_same_device"]
    assert await codes_of(session_maker, "o-3") == []


async def test_click_and_order_from_the_same_ip(
    client: AsyncTestClient[Litestar],
    shop: dict[str, str],
    code: str,
    session: AsyncSession,
    session_maker: SessionMaker,
) -> None:
    from growth.referral_code.models import ReferralCode

    rc = await session.scalar(select(ReferralCode).where(ReferralCode.code == code))
    assert rc is not None
    clicks = []
    for minutes, ip in ((10, "203.0.113.9"), (10, "198.51.100.1"), (120, "203.0.113.9")):
        click = Click(
            referral_code_id=rc.id,
            campaign_id=rc.campaign_id,
            clicked_at=NOW - timedelta(minutes=minutes),
            ip_hash=hash_ip(SECRET, ip),
        )
        session.add(click)
        clicks.append(click)
    await session.commit()
    await post(client, shop, order("o-1", "f1", click_ids=[str(clicks[0].id)], customer_ip="203.0.113.9"))
    await post(client, shop, order("o-2", "f2", click_ids=[str(clicks[1].id)], customer_ip="203.0.113.9"))
    await post(client, shop, order("o-3", "f3", click_ids=[str(clicks[2].id)], customer_ip="203.0.113.9"))
    assert await codes_of(session_maker, "o-1") == ["self_referral_same_ip"]
    assert await codes_of(session_maker, "o-2") == []  # another IP
    assert await codes_of(session_maker, "o-3") == []  # two hours apart


async def test_several_friends_on_one_card_are_held(
    client: AsyncTestClient[Litestar], shop: dict[str, str], code: str, session_maker: SessionMaker
) -> None:
    for n in range(1, 4):
        await post(client, shop, order(f"o-{n}", f"f{n}", referral_code=code, payment_fingerprint="SHARED"))
    assert await codes_of(session_maker, "o-2") == []  # one other referee shares it: not yet
    assert await codes_of(session_maker, "o-3") == ["duplicate_identity_payment"]


async def test_disposable_email_is_held(
    client: AsyncTestClient[Litestar], shop: dict[str, str], code: str, session_maker: SessionMaker
) -> None:
    await post(client, shop, order("o-1", "f1", referral_code=code, email="someone@mailinator.com"))
    await post(client, shop, order("o-2", "f2", referral_code=code, email="someone@gmail.com"))
    assert await codes_of(session_maker, "o-1") == ["disposable_email"]
    assert await codes_of(session_maker, "o-2") == []


async def test_velocity_holds_the_eleventh_order_in_a_day(
    client: AsyncTestClient[Litestar], shop: dict[str, str], code: str, session_maker: SessionMaker
) -> None:
    # The orders carry the typed code and no click, so the coupon-leakage rule fires from the 6th too.
    for n in range(1, 12):
        await post(
            client,
            shop,
            order(
                f"o-{n}",
                f"f{n}",
                referral_code=code,
                placed_at=NOW - timedelta(hours=30) + timedelta(minutes=n),
            ),
        )
    assert "velocity_referrer" not in await codes_of(session_maker, "o-10")
    assert "velocity_referrer" in await codes_of(session_maker, "o-11")
    assert await codes_of(session_maker, "o-5") == []
    assert await codes_of(session_maker, "o-6") == [
        "coupon_leakage"
    ]  # the typed code, 6 customers, no clicks
    # A day later the window has moved on.
    await post(
        client, shop, order("o-late", "late", referral_code=code, placed_at=NOW - timedelta(minutes=1))
    )
    assert "velocity_referrer" not in await codes_of(session_maker, "o-late")


async def test_an_order_far_above_the_usual_is_held_once_there_is_a_usual(
    client: AsyncTestClient[Litestar],
    shop: dict[str, str],
    session: AsyncSession,
    session_maker: SessionMaker,
) -> None:
    campaign = await create_campaign(session, name="Big")
    referrers = [await create_customer(session, external_id=f"r{n}") for n in range(22)]
    codes = [(await issue_code(session, campaign=campaign, customer=r)).code for r in referrers]
    await session.commit()
    await post(client, shop, order("early-big", "b0", referral_code=codes[0], amount=90000))
    for n in range(1, 21):
        await post(client, shop, order(f"o-{n}", f"c{n}", referral_code=codes[n], amount=10000 + n))
    await post(client, shop, order("big", "b1", referral_code=codes[21], amount=60000))
    await post(client, shop, order("fine", "b2", referral_code=codes[21], amount=50000))
    assert await codes_of(session_maker, "early-big") == []  # no usual amount yet
    assert await codes_of(session_maker, "big") == ["amount_above_usual"]
    assert await codes_of(session_maker, "fine") == []  # exactly 5x the median is not "far above"
