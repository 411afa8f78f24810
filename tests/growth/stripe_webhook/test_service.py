from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from growth.attribution import service as attribution_service
from growth.attribution.models import Attribution
from growth.click.models import Click
from growth.core.ports import CampaignTermsLookup, no_leads
from growth.core.time import utc_now
from growth.order import repository as order_repository
from growth.order.models import Order, OrderTransition, PendingOrderEvent
from growth.stripe_webhook import service as stripe_webhook_service
from growth.stripe_webhook.models import ExternalEvent
from tests.factories import create_campaign, create_customer, issue_code
from tests.growth.stripe_webhook import builders as b


async def deliver(
    session: AsyncSession,
    payload: dict[str, Any],
    *,
    terms_lookup: CampaignTermsLookup = campaign_service.get_terms,
) -> stripe_webhook_service.Received:
    """One delivery through the service, committed as the request would commit it."""
    body, headers = b.signed(payload)
    received = await stripe_webhook_service.receive_event(
        session,
        body,
        headers["stripe-signature"],
        secret=b.WEBHOOK_SECRET,
        terms_lookup=terms_lookup,
        lead_lookup=no_leads,
        now=utc_now(),
    )
    await session.commit()
    return received


async def order(session: AsyncSession, external_id: str) -> Order:
    found = await order_repository.get_by_external_id(session, external_id)
    assert found is not None, external_id
    return found


async def attribution(session: AsyncSession, external_id: str) -> Attribution:
    found = await attribution_service.get_attribution(session, (await order(session, external_id)).id)
    assert found is not None
    return found


async def count(session: AsyncSession, model: Any) -> int:
    return await session.scalar(select(func.count()).select_from(model)) or 0


def checkout(session: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    return b.event("checkout.session.completed", session or b.checkout_session(**fields))


def refund(payment_intent: str, total: int, *, amount: int = 19900) -> dict[str, Any]:
    return b.event(
        "charge.refunded", b.charge(payment_intent=payment_intent, amount=amount, amount_refunded=total)
    )


@dataclass
class Referral:
    code: str
    code_id: UUID
    campaign_id: UUID


@pytest.fixture
async def referral(session: AsyncSession) -> Referral:
    campaign = await create_campaign(session, currency="USD")
    code = await issue_code(session, campaign=campaign, customer=await create_customer(session))
    await session.commit()
    return Referral(code.code, code.id, campaign.id)


class TestCheckout:
    async def test_referral_code_as_client_reference_attributes_and_pays(
        self, session: AsyncSession, referral: Referral
    ) -> None:
        received = await deliver(session, checkout(id="cs_1", client_reference_id=referral.code))

        assert received == stripe_webhook_service.Received(duplicate=False)
        placed = await order(session, "cs_1")
        assert (placed.status, placed.paid_amount, placed.source, placed.currency) == (
            "paid",
            19900,
            "stripe",
            "USD",
        )
        decided = await attribution(session, "cs_1")
        assert (decided.method, decided.referral_code_id) == ("referral_code", referral.code_id)

    async def test_click_id_in_metadata_attributes_by_click(
        self, session: AsyncSession, referral: Referral
    ) -> None:
        click = Click(
            referral_code_id=referral.code_id,
            campaign_id=referral.campaign_id,
            clicked_at=utc_now() - timedelta(hours=2),
        )
        session.add(click)
        await session.commit()

        await deliver(session, checkout(id="cs_1", metadata={"click_id": str(click.id)}))

        decided = await attribution(session, "cs_1")
        assert (decided.method, decided.click_id) == ("click", click.id)

    async def test_unpaid_checkout_is_paid_by_the_delayed_payment(self, session: AsyncSession) -> None:
        session_object = b.checkout_session(id="cs_1", payment_status="unpaid")

        await deliver(session, checkout(session_object))
        assert (await order(session, "cs_1")).status == "placed"
        await deliver(session, b.event("checkout.session.async_payment_succeeded", session_object))

        assert (await order(session, "cs_1")).status == "paid"

    async def test_delayed_payment_before_its_checkout_is_kept(self, session: AsyncSession) -> None:
        session_object = b.checkout_session(id="cs_1", payment_status="unpaid")

        early = await deliver(session, b.event("checkout.session.async_payment_succeeded", session_object))
        await deliver(session, checkout(session_object))

        assert early.note == "kept until order cs_1 arrives"
        assert (await order(session, "cs_1")).status == "paid"


class TestRefunds:
    async def test_partial_then_full_refund_from_cumulative_totals(self, session: AsyncSession) -> None:
        await deliver(session, checkout(id="cs_1", payment_intent="pi_1"))

        await deliver(session, refund("pi_1", 5000))
        partial = await order(session, "cs_1")
        assert (partial.status, partial.refunded_amount) == ("paid", 5000)
        await deliver(session, refund("pi_1", 19900))

        full = await order(session, "cs_1")
        assert (full.status, full.refunded_amount) == ("refunded", 19900)
        amounts = await session.scalars(
            select(OrderTransition.amount)
            .where(OrderTransition.event == "refunded")
            .order_by(OrderTransition.id)
        )
        assert list(amounts) == [5000, 14900]

    async def test_an_older_total_arriving_late_counts_once(self, session: AsyncSession) -> None:
        await deliver(session, checkout(id="cs_1", payment_intent="pi_1"))

        await deliver(session, refund("pi_1", 8000))
        late = await deliver(session, refund("pi_1", 5000))

        assert late.note == "refunds of pi_1 already counted (8000; this total: 5000)"
        assert (await order(session, "cs_1")).refunded_amount == 8000

    async def test_refunds_before_the_checkout_are_kept_then_applied(self, session: AsyncSession) -> None:
        first = await deliver(session, refund("pi_1", 5000))
        second = await deliver(session, refund("pi_1", 8000))
        stale = await deliver(session, refund("pi_1", 5000))
        assert first.note == second.note == "kept until the order of pi_1 is paid"
        assert stale.note == "refunds of pi_1 already counted (8000; this total: 5000)"
        assert list(await session.scalars(select(PendingOrderEvent.amount))) == [5000, 3000]

        await deliver(session, checkout(id="cs_1", payment_intent="pi_1"))
        kept = await order(session, "cs_1")
        assert (kept.status, kept.refunded_amount) == ("paid", 8000)
        await deliver(session, refund("pi_1", 19900))

        assert (await order(session, "cs_1")).status == "refunded"
        assert (await order(session, "cs_1")).refunded_amount == 19900

    async def test_refund_of_an_unknown_charge_waits_under_its_id(self, session: AsyncSession) -> None:
        received = await deliver(
            session, b.event("charge.refunded", b.charge(id="ch_1", payment_intent=None, amount_refunded=10))
        )

        assert received.note == "kept until the order of ch_1 is paid"
        assert await session.scalar(select(PendingOrderEvent.match_key)) == "payment:ch_1"


class TestDisputes:
    @pytest.mark.parametrize(
        ("status", "expected", "refunded"), [("won", "paid", 0), ("lost", "refunded", 19900)]
    )
    async def test_created_then_closed(
        self, session: AsyncSession, status: str, expected: str, refunded: int
    ) -> None:
        await deliver(session, checkout(id="cs_1", payment_intent="pi_1"))

        await deliver(session, b.event("charge.dispute.created", b.dispute(payment_intent="pi_1")))
        assert (await order(session, "cs_1")).status == "disputed"
        await deliver(
            session, b.event("charge.dispute.closed", b.dispute(payment_intent="pi_1", status=status))
        )

        closed = await order(session, "cs_1")
        assert (closed.status, closed.refunded_amount) == (expected, refunded)

    async def test_found_by_charge_when_the_order_carries_it(self, session: AsyncSession) -> None:
        legacy_invoice = {**b.invoice(id="in_1", amount_paid=1000), "charge": "ch_1"}
        await deliver(session, b.event("invoice.paid", legacy_invoice))

        await deliver(
            session, b.event("charge.dispute.created", b.dispute(charge="ch_1", payment_intent=None))
        )

        assert (await order(session, "in_1")).status == "disputed"

    async def test_closing_an_undisputed_order_is_acknowledged_with_a_note(
        self, session: AsyncSession
    ) -> None:
        await deliver(session, checkout(id="cs_1", payment_intent="pi_1"))
        closing = b.event("charge.dispute.closed", b.dispute(payment_intent="pi_1", status="lost"))

        received = await deliver(session, closing)

        assert (
            received.note
            == "not applied: cannot apply dispute_lost to a paid order: the order is not disputed"
        )
        marker = await session.scalar(select(ExternalEvent).where(ExternalEvent.external_id == closing["id"]))
        assert marker is not None and marker.handled_at is not None and marker.note == received.note
        assert (await order(session, "cs_1")).status == "paid"

    async def test_dispute_before_the_order_is_kept(self, session: AsyncSession) -> None:
        await deliver(session, b.event("charge.dispute.created", b.dispute(payment_intent="pi_1")))

        await deliver(session, checkout(id="cs_1", payment_intent="pi_1"))

        assert (await order(session, "cs_1")).status == "disputed"


class TestSubscriptions:
    async def test_renewals_inherit_the_first_orders_attribution(
        self, session: AsyncSession, referral: Referral
    ) -> None:
        start = b.checkout_session(
            id="cs_1",
            mode="subscription",
            subscription="sub_1",
            customer="cus_1",
            client_reference_id=referral.code,
        )
        await deliver(session, checkout(start))

        first_invoice = b.invoice(
            id="in_1", subscription="sub_1", customer="cus_1", billing_reason="subscription_create"
        )
        same_payment = await deliver(session, b.event("invoice.paid", first_invoice))
        for invoice_id in ("in_2", "in_3"):
            renewal = b.invoice(id=invoice_id, subscription="sub_1", customer="cus_1")
            await deliver(session, b.event("invoice.paid", renewal))

        assert same_payment.note == "subscription sub_1 started with order cs_1; order cs_1 is already paid"
        assert await count(session, Order) == 3
        assert (await attribution(session, "cs_1")).method == "referral_code"
        for invoice_id in ("in_2", "in_3"):
            renewal_order = await order(session, invoice_id)
            assert (renewal_order.status, renewal_order.subscription_id) == ("paid", "sub_1")
            decided = await attribution(session, invoice_id)
            assert (decided.method, decided.referral_code_id) == ("subscription", referral.code_id)

    async def test_first_invoice_before_its_checkout_is_the_only_order(self, session: AsyncSession) -> None:
        first_invoice = b.invoice(id="in_1", subscription="sub_1", billing_reason="subscription_create")
        await deliver(session, b.event("invoice.paid", first_invoice))

        late = await deliver(session, checkout(mode="subscription", subscription="sub_1", customer="cus_mei"))

        assert late.note == "subscription sub_1 started with order in_1; order in_1 is already paid"
        assert await count(session, Order) == 1

    async def test_first_invoice_pays_an_unpaid_subscription_checkout(self, session: AsyncSession) -> None:
        await deliver(
            session, checkout(id="cs_1", mode="subscription", subscription="sub_1", payment_status="unpaid")
        )

        first_invoice = b.invoice(id="in_1", subscription="sub_1", billing_reason="subscription_create")
        await deliver(session, b.event("invoice.paid", first_invoice))

        assert (await order(session, "cs_1")).status == "paid"
        assert await count(session, Order) == 1


class TestRecording:
    async def test_every_event_is_recorded_handled(self, session: AsyncSession) -> None:
        delivered = checkout(id="cs_1")

        await deliver(session, delivered)

        marker = await session.scalar(select(ExternalEvent))
        assert marker is not None
        assert (marker.source, marker.external_id, marker.type, marker.note) == (
            "stripe",
            delivered["id"],
            "checkout.session.completed",
            None,
        )
        assert marker.handled_at is not None and marker.received_at <= marker.handled_at

    async def test_a_failure_rolls_back_the_marker_so_the_retry_processes_it(
        self, session: AsyncSession, referral: Referral
    ) -> None:
        async def terms_unavailable(_session: AsyncSession, _campaign_id: UUID) -> Any:
            raise ConnectionError("campaigns are unreachable")

        delivered = checkout(id="cs_1", client_reference_id=referral.code)
        with pytest.raises(ConnectionError):
            await deliver(session, delivered, terms_lookup=terms_unavailable)
        await session.rollback()
        assert (await count(session, ExternalEvent), await count(session, Order)) == (0, 0)

        retried = await deliver(session, delivered)

        assert retried.duplicate is False
        assert (await attribution(session, "cs_1")).method == "referral_code"

    async def test_an_unusable_event_is_recorded_with_its_reason(self, session: AsyncSession) -> None:
        received = await deliver(session, checkout(b.checkout_session(currency=None)))  # type: ignore[arg-type]

        assert received.note == "not applied: checkout.session.currency is missing"
        assert await count(session, Order) == 0
        assert await count(session, ExternalEvent) == 1

    async def test_an_invalid_customer_is_acknowledged_not_retried(self, session: AsyncSession) -> None:
        received = await deliver(session, checkout(customer=None, email="not an address"))

        assert received.note is not None and received.note.startswith("not applied: ")
        assert await count(session, Order) == 0
