"""Stripe's card fingerprint, arriving with ``charge.succeeded`` after the order: kept on the order,
and the firewall scores the order again (only ever more severe, never over a person's decision)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from growth.core.events.models import OutboxEvent
from growth.core.time import utc_now
from growth.order.models import Order
from growth.risk.models import OrderReview
from tests.factories import bearer, create_campaign, create_customer, create_key, issue_code
from tests.growth.stripe_webhook import builders as b

URL = "/webhooks/stripe"
MEI_CARD = "Xt5EWLLDS7FJjR1c"


@pytest.fixture
async def code(session: AsyncSession) -> str:
    """A USD campaign's code for Mei, who once paid for her own order with ``MEI_CARD``."""
    campaign = await create_campaign(session, name="Spring", currency="USD")
    mei = await create_customer(session, external_id="cus_mei", email="mei@example.com")
    code = (await issue_code(session, campaign=campaign, customer=mei)).code
    shop = await create_key(session, role=Role.shop)
    await session.commit()
    return f"{code} {shop}"


async def deliver(client: AsyncTestClient[Litestar], event: dict[str, Any]) -> dict[str, Any]:
    body, headers = b.signed(event)
    r = await client.post(URL, content=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def setup_orders(client: AsyncTestClient[Litestar], code_and_key: str, *, friend_email: str) -> None:
    code, shop = code_and_key.split()
    own = {
        "external_id": "mei-own",
        "customer": {"external_id": "cus_mei", "email": "mei@example.com"},
        "amount": 5000,
        "currency": "USD",
        "placed_at": utc_now().isoformat(),
        "payment_fingerprint": MEI_CARD,
    }
    r = await client.post("/api/orders", json=own, headers=bearer(shop))
    assert r.status_code == 201, r.text
    checkout = b.checkout_session(
        id="cs_friend",
        customer="cus_friend",
        email=friend_email,
        payment_intent="pi_friend",
        metadata={"referral_code": code},
    )
    await deliver(client, b.event("checkout.session.completed", checkout))


async def state(session: AsyncSession) -> tuple[Order, OrderReview | None, list[OutboxEvent]]:
    order = await session.scalar(
        select(Order).where(Order.external_id == "cs_friend").execution_options(populate_existing=True)
    )
    assert order is not None
    review = await session.scalar(
        select(OrderReview).where(OrderReview.order_id == order.id).execution_options(populate_existing=True)
    )
    decided = list(
        await session.scalars(
            select(OutboxEvent).where(OutboxEvent.name == "order.review_decided").order_by(OutboxEvent.id)
        )
    )
    for loaded in [order, review, *decided]:
        if loaded is not None:
            session.expunge(loaded)  # keep what was read: the rollback expires what is attached
    await session.rollback()
    return order, review, decided


def charge(fingerprint: str | None, **fields: Any) -> dict[str, Any]:
    return b.event(
        "charge.succeeded", b.charge(payment_intent="pi_friend", fingerprint=fingerprint, **fields)
    )


async def test_the_referrers_own_card_rejects_the_friends_order(
    client: AsyncTestClient[Litestar], session: AsyncSession, code: str
) -> None:
    await setup_orders(client, code, friend_email="friend@example.com")
    order, review, _ = await state(session)
    assert (order.payment_fingerprint, review and review.status) == (None, "allowed")

    event = charge(MEI_CARD)
    receipt = await deliver(client, event)

    order, review, decided = await state(session)
    assert order.payment_fingerprint == MEI_CARD
    assert review is not None and (review.verdict, review.status) == ("reject", "rejected")
    assert [r["code"] for r in review.reasons] == ["self_referral_same_payment"]
    assert receipt["note"] == "order cs_friend is now rejected by the risk check"
    assert [e.payload for e in decided] == [
        {
            "order_id": str(order.id),
            "external_id": "cs_friend",
            "status": "rejected",
            "previous_status": "allowed",
            "note": None,
            "decided_by": None,
            "reasons": ["self_referral_same_payment"],
        }
    ]
    # The same delivery again, and the same card in another event: nothing more.
    assert (await deliver(client, event))["duplicate"] is True
    again = await deliver(client, charge(MEI_CARD))
    assert again == {"received": True, "duplicate": False}
    assert len((await state(session))[2]) == 1


async def test_a_held_order_becomes_rejected(
    client: AsyncTestClient[Litestar], session: AsyncSession, code: str
) -> None:
    await setup_orders(client, code, friend_email="friend@mailinator.com")
    assert (await state(session))[1].status == "held"  # type: ignore[union-attr]

    await deliver(client, charge(MEI_CARD))

    _, review, decided = await state(session)
    assert review is not None and review.status == "rejected"
    assert [r["code"] for r in review.reasons] == ["self_referral_same_payment", "disposable_email"]
    assert [(e.payload["previous_status"], e.payload["status"]) for e in decided] == [("held", "rejected")]


async def test_another_card_changes_nothing_but_is_kept(
    client: AsyncTestClient[Litestar], session: AsyncSession, code: str
) -> None:
    await setup_orders(client, code, friend_email="friend@mailinator.com")

    receipt = await deliver(client, charge("OtherCard0000001"))

    order, review, decided = await state(session)
    assert order.payment_fingerprint == "OtherCard0000001"
    assert review is not None and review.status == "held"  # never less severe, and nothing new fired
    assert decided == [] and receipt.get("note") is None
    # A later charge with another card does not replace the one kept.
    later = await deliver(client, charge(MEI_CARD))
    assert later["note"] == "order cs_friend already has another card fingerprint"
    assert (await state(session))[0].payment_fingerprint == "OtherCard0000001"


async def test_a_persons_decision_stands(
    client: AsyncTestClient[Litestar], session: AsyncSession, code: str
) -> None:
    await setup_orders(client, code, friend_email="friend@mailinator.com")
    order, _, _ = await state(session)
    await session.execute(
        update(OrderReview)
        .where(OrderReview.order_id == order.id)
        .values(status="approved", decided_by="lin")
    )
    await session.commit()

    await deliver(client, charge(MEI_CARD))

    order, review, decided = await state(session)
    assert order.payment_fingerprint == MEI_CARD
    assert review is not None and (review.status, review.verdict) == ("approved", "hold")
    assert decided == []


async def test_charges_without_a_card_or_an_order(
    client: AsyncTestClient[Litestar], session: AsyncSession, code: str
) -> None:
    no_card = await deliver(client, charge(None))
    assert no_card["note"].endswith("carries no card fingerprint (not a card payment)")

    early = await deliver(client, charge(MEI_CARD))
    assert early["note"] == "no order of pi_friend yet: its card fingerprint is kept for it"


async def test_a_card_reported_before_its_order_is_scored_with_the_order(
    client: AsyncTestClient[Litestar], session: AsyncSession, code: str
) -> None:
    # Checkout's usual order: the charge, then the session that makes the order.
    first = await deliver(client, charge(MEI_CARD, id="ch_friend"))
    assert first["note"] == "no order of pi_friend yet: its card fingerprint is kept for it"
    assert (await deliver(client, charge("LaterCard0000001", id="ch_friend")))["note"].endswith("kept for it")

    await setup_orders(client, code, friend_email="friend@example.com")

    order, review, decided = await state(session)
    # The first card reported wins; the firewall saw it when the order arrived, so no re-score event.
    assert order.payment_fingerprint == MEI_CARD
    assert review is not None and (review.verdict, review.status) == ("reject", "rejected")
    assert [r["code"] for r in review.reasons] == ["self_referral_same_payment"]
    assert decided == []


async def test_a_shop_order_takes_the_card_of_its_payment_reference(
    client: AsyncTestClient[Litestar], session: AsyncSession, code: str
) -> None:
    await deliver(client, charge(MEI_CARD, id="ch_shop"))
    _, shop = code.split()
    friend = {
        "external_id": "shop-friend",
        "customer": {"external_id": "cus_shop_friend", "email": "pal@example.com"},
        "amount": 5000,
        "currency": "USD",
        "placed_at": utc_now().isoformat(),
        "payment_reference": "ch_shop",  # the charge id is one of the references the card is kept under
    }
    r = await client.post("/api/orders", json=friend, headers=bearer(shop))
    assert r.status_code == 201, r.text
    stored = await session.scalar(select(Order).where(Order.external_id == "shop-friend"))
    assert stored is not None and stored.payment_fingerprint == MEI_CARD
