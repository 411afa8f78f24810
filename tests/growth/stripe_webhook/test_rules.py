from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from growth.attribution.service import Hints
from growth.order.rules import OrderEventType
from growth.stripe_webhook.rules import (
    Envelope,
    Ignore,
    MalformedEvent,
    NewOrder,
    OrderPaid,
    PaymentEvent,
    UnusableEvent,
    action_for,
    hints_from,
    lock_keys,
    note,
    read_envelope,
    refund_amount,
)
from tests.growth.stripe_webhook import builders as b

CLICK = "0192f0a4-5b7e-7c3d-8e9f-0a1b2c3d4e5f"
CLICK_2 = "0192f0a4-5b7e-7c3d-8e9f-aaaaaaaaaaaa"
T = 1_795_000_000


def act(type: str, obj: dict[str, Any], *, event_id: str = "evt_1") -> Any:
    return action_for(read_envelope(b.event(type, obj, id=event_id, created=T)), source="stripe")


class TestReadEnvelope:
    def test_reads_id_type_time_and_object(self) -> None:
        envelope = read_envelope(b.event("charge.refunded", {"id": "ch_1"}, id="evt_9", created=T))

        assert envelope == Envelope(
            "evt_9", "charge.refunded", datetime.fromtimestamp(T, UTC), {"id": "ch_1"}
        )

    @pytest.mark.parametrize(
        "event",
        [
            {},
            {"id": "evt_1", "type": "x", "created": T},
            {"id": "evt_1", "type": "x", "created": T, "data": {"object": []}},
            {"id": "", "type": "x", "created": T, "data": {"object": {}}},
            {"id": "evt_1", "type": 7, "created": T, "data": {"object": {}}},
            {"id": "evt_1", "type": "x", "created": "yesterday", "data": {"object": {}}},
            {"id": "evt_1", "type": "x", "created": True, "data": {"object": {}}},
        ],
    )
    def test_refuses_what_is_not_an_event(self, event: dict[str, Any]) -> None:
        with pytest.raises(MalformedEvent):
            read_envelope(event)


class TestHints:
    @pytest.mark.parametrize(
        ("reference", "metadata", "expected"),
        [
            (None, None, Hints()),
            ("", {}, Hints()),
            ("ANNA2026", {}, Hints(referral_code="ANNA2026")),
            (CLICK, {}, Hints(click_ids=(UUID(CLICK),))),
            ("ANNA2026", {"referral_code": "BOB12345"}, Hints(referral_code="BOB12345")),
            (CLICK, {"click_id": CLICK_2}, Hints(click_ids=(UUID(CLICK), UUID(CLICK_2)))),
            (CLICK, {"click_id": CLICK}, Hints(click_ids=(UUID(CLICK),))),
            (None, {"click_id": "not-a-uuid"}, Hints()),
            (
                None,
                {"coupon_code": " SPRING ", "lead_reference": "L-7", "referral_code": "  "},
                Hints(coupon_code="SPRING", lead_reference="L-7"),
            ),
            (None, {"unrelated": "x"}, Hints()),
        ],
    )
    def test_client_reference_and_metadata(
        self, reference: str | None, metadata: dict[str, str] | None, expected: Hints
    ) -> None:
        assert hints_from(reference, metadata) == expected


class TestCheckoutCompleted:
    def test_maps_the_session_to_an_intake_and_paid(self) -> None:
        session = b.checkout_session(
            id="cs_1",
            amount_total=12345,
            currency="cny",
            customer="cus_9",
            payment_intent="pi_1",
            client_reference_id="ANNA2026",
            metadata={"click_id": CLICK},
            created=T - 60,
        )

        action = act("checkout.session.completed", session, event_id="evt_7")

        assert isinstance(action, NewOrder)
        intake = action.intake
        assert (intake.external_id, intake.amount, intake.currency, intake.source) == (
            "cs_1",
            12345,
            "CNY",
            "stripe",
        )
        assert intake.placed_at == datetime.fromtimestamp(T - 60, UTC)
        assert (intake.customer_external_id, intake.customer_email, intake.customer_name) == (
            "cus_9",
            "mei@example.com",
            "Mei Wang",
        )
        assert intake.payment_reference == "pi_1" and intake.subscription_id is None
        assert intake.hints == Hints(referral_code="ANNA2026", click_ids=(UUID(CLICK),))
        assert action.paid is not None
        assert (action.paid.type, action.paid.event_key) == (OrderEventType.paid, "evt_7:paid")
        assert action.starts_subscription is False

    def test_guest_is_known_by_normalised_email(self) -> None:
        session = b.checkout_session(customer=None, email="Mei.Wang+shop@Gmail.com")

        assert (
            act("checkout.session.completed", session).intake.customer_external_id
            == "email:meiwang@gmail.com"
        )

    def test_expanded_customer_object_gives_its_id(self) -> None:
        session = b.checkout_session(customer={"id": "cus_x", "object": "customer"})  # type: ignore[arg-type]

        assert act("checkout.session.completed", session).intake.customer_external_id == "cus_x"

    @pytest.mark.parametrize("status", ["unpaid", "no_payment_required"])
    def test_not_paid_yet_is_only_placed(self, status: str) -> None:
        action = act("checkout.session.completed", b.checkout_session(payment_status=status))

        assert isinstance(action, NewOrder) and action.paid is None

    def test_subscription_checkout_starts_a_subscription(self) -> None:
        session = b.checkout_session(mode="subscription", subscription="sub_1", customer="cus_1")

        action = act("checkout.session.completed", session)

        assert action.starts_subscription and action.intake.subscription_id == "sub_1"
        assert action.intake.payment_reference is None

    def test_setup_mode_is_ignored(self) -> None:
        assert isinstance(act("checkout.session.completed", b.checkout_session(mode="setup")), Ignore)

    @pytest.mark.parametrize(
        ("changes", "missing"),
        [
            ({"currency": None}, "currency"),
            ({"amount_total": None}, "amount_total"),
            ({"customer": None, "customer_details": {"email": None}}, "neither a customer nor an e-mail"),
        ],
    )
    def test_unusable_without_what_an_order_needs(self, changes: dict[str, Any], missing: str) -> None:
        with pytest.raises(UnusableEvent, match=missing):
            act("checkout.session.completed", {**b.checkout_session(), **changes})

    def test_delayed_payment_pays_the_session_order(self) -> None:
        action = act(
            "checkout.session.async_payment_succeeded", b.checkout_session(id="cs_2"), event_id="evt_3"
        )

        assert isinstance(action, OrderPaid)
        assert (action.external_id, action.event.type, action.event.event_key) == (
            "cs_2",
            OrderEventType.paid,
            "evt_3:paid",
        )


class TestInvoicePaid:
    def test_renewal_of_a_subscription(self) -> None:
        invoice = b.invoice(
            id="in_1", amount_paid=9900, subscription="sub_1", customer="cus_1", paid_at=T - 5, created=T - 99
        )

        action = act("invoice.paid", invoice, event_id="evt_5")

        assert isinstance(action, NewOrder)
        intake = action.intake
        assert (intake.external_id, intake.amount, intake.currency, intake.customer_external_id) == (
            "in_1",
            9900,
            "USD",
            "cus_1",
        )
        assert intake.subscription_id == "sub_1" and intake.payment_reference is None
        assert intake.placed_at == datetime.fromtimestamp(T - 5, UTC)
        assert action.paid is not None and action.paid.event_key == "evt_5:paid"
        assert action.paid.occurred_at == intake.placed_at
        assert action.starts_subscription is False

    def test_without_paid_at_the_invoice_was_placed_when_created(self) -> None:
        action = act("invoice.paid", b.invoice(paid_at=None, created=T - 99))

        assert action.intake.placed_at == datetime.fromtimestamp(T - 99, UTC)

    def test_first_invoice_starts_the_subscription(self) -> None:
        action = act("invoice.paid", b.invoice(subscription="sub_1", billing_reason="subscription_create"))

        assert action.starts_subscription is True

    def test_one_off_invoice_is_a_plain_order(self) -> None:
        action = act("invoice.paid", b.invoice(subscription=None, billing_reason="manual"))

        assert action.intake.subscription_id is None and action.starts_subscription is False

    def test_older_api_versions_keep_subscription_and_payment_on_the_invoice(self) -> None:
        legacy = {**b.invoice(), "subscription": "sub_old", "payment_intent": None, "charge": "ch_old"}

        action = act("invoice.paid", legacy)

        assert (action.intake.subscription_id, action.intake.payment_reference) == ("sub_old", "ch_old")

    def test_subscription_metadata_carries_hints(self) -> None:
        invoice = b.invoice(subscription="sub_1", subscription_metadata={"referral_code": "ANNA2026"})

        assert act("invoice.paid", invoice).intake.hints == Hints(referral_code="ANNA2026")

    def test_nothing_collected_is_ignored(self) -> None:
        assert isinstance(act("invoice.paid", b.invoice(amount_paid=0)), Ignore)


class TestPaymentEvents:
    def test_refund_carries_the_cumulative_total(self) -> None:
        action = act(
            "charge.refunded", b.charge(id="ch_1", payment_intent="pi_1", amount_refunded=500), event_id="e"
        )

        assert isinstance(action, PaymentEvent)
        assert action.references == ("pi_1", "ch_1") and action.match_key == "payment:pi_1"
        assert action.refunded_total == 500
        assert (action.event.type, action.event.amount, action.event.event_key) == (
            OrderEventType.refunded,
            None,
            "e",
        )

    def test_charge_without_payment_intent_is_matched_by_its_id(self) -> None:
        action = act("charge.refunded", b.charge(id="ch_1", payment_intent=None, amount_refunded=1))

        assert action.references == ("ch_1",) and action.match_key == "payment:ch_1"

    def test_dispute_created(self) -> None:
        action = act("charge.dispute.created", b.dispute(charge="ch_1", payment_intent="pi_1"), event_id="e")

        assert action.references == ("pi_1", "ch_1")
        assert (action.event.type, action.event.amount, action.event.event_key) == (
            OrderEventType.disputed,
            None,
            "e",
        )

    @pytest.mark.parametrize(
        ("status", "event", "amount"),
        [
            ("won", OrderEventType.dispute_won, None),
            ("warning_closed", OrderEventType.dispute_won, None),
            ("prevented", OrderEventType.dispute_won, None),
            ("lost", OrderEventType.dispute_lost, 700),
            ("something_new", OrderEventType.dispute_lost, 700),
        ],
    )
    def test_dispute_closed(self, status: str, event: OrderEventType, amount: int | None) -> None:
        action = act("charge.dispute.closed", b.dispute(charge="ch_1", amount=700, status=status))

        assert (action.event.type, action.event.amount) == (event, amount)

    def test_dispute_without_payment_is_unusable(self) -> None:
        with pytest.raises(UnusableEvent):
            act("charge.dispute.created", {**b.dispute(), "charge": None, "payment_intent": None})


class TestRefundAmount:
    @pytest.mark.parametrize(
        ("total", "counted", "expected"),
        [
            (500, 0, 500),
            (19900, 500, 19400),
            (500, 500, None),  # a redelivered total adds nothing
            (300, 500, None),  # an older total arriving late adds nothing
            (0, 0, None),
        ],
    )
    def test_only_what_exceeds_the_counted_refunds(
        self, total: int, counted: int, expected: int | None
    ) -> None:
        assert refund_amount(total, counted) == expected


def test_unknown_types_are_ignored() -> None:
    action = act("customer.created", {"id": "cus_1", "object": "customer"})

    assert action == Ignore("event type customer.created is not used")


def test_lock_keys_are_sorted_and_cover_order_payment_and_subscription() -> None:
    session = b.checkout_session(id="cs_1", mode="subscription", subscription="sub_1", payment_intent="pi_1")

    assert lock_keys(act("checkout.session.completed", session)) == [
        "order:cs_1",
        "payment:pi_1",
        "subscription:sub_1",
    ]
    assert lock_keys(Ignore("x")) == []


def test_note_fits_its_column() -> None:
    assert note("short") == "short"
    assert len(note("x" * 600)) == 500 and note("x" * 600).endswith("…")
