from __future__ import annotations

from collections.abc import Sequence

from litestar import Controller, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from growth.attribution.models import Attribution
from growth.attribution.service import Hints
from growth.core.auth.guards import api_key_guard, roles
from growth.core.auth.rules import Role
from growth.core.errors import NotFound
from growth.core.ports import CampaignTermsLookup, LeadLookup
from growth.core.time import utc_now
from growth.order import service as order_service
from growth.order.errors import InvalidOrder
from growth.order.models import Order, OrderLine, OrderTransition
from growth.order.rules import identity_hashes
from growth.order.schemas import (
    AttributionRead,
    OrderCreate,
    OrderEventCreate,
    OrderLineRead,
    OrderRead,
    OrderTransitionRead,
)
from growth.order.tasks import OrderIntakeBatcher
from growth.risk.service import RiskPolicy
from growth.settings import Settings

READERS = roles(Role.shop, Role.marketing, Role.finance)


def to_intake(data: OrderCreate, *, source: str, secret: str) -> order_service.OrderIntake:
    """The API payload as the one intake every source builds; the address and IP only as keyed hashes."""
    try:
        address, ip_hash = identity_hashes(
            secret,
            address_parts=data.shipping_address.parts() if data.shipping_address else None,
            customer_ip=data.customer_ip,
        )
    except ValueError as exc:
        raise InvalidOrder(str(exc)) from exc
    return order_service.OrderIntake(
        external_id=data.external_id,
        customer_external_id=data.customer.external_id,
        amount=data.amount,
        currency=data.currency,
        placed_at=data.placed_at,
        source=source,
        customer_email=data.customer.email,
        customer_name=data.customer.name,
        lines=tuple(order_service.LineIn(x.sku, x.quantity, x.unit_amount, x.category) for x in data.lines),
        hints=Hints(data.referral_code, data.coupon_code, tuple(data.click_ids), data.lead_reference),
        payment_reference=data.payment_reference,
        subscription_id=data.subscription_id,
        payment_fingerprint=data.payment_fingerprint,
        address_hash=address,
        device_id=data.device_id,
        ip_hash=ip_hash,
        margin_amount=data.margin_amount,
    )


def attribution_read(a: Attribution) -> AttributionRead:
    return AttributionRead(
        method=a.method,
        explanation=a.explanation,
        rejected=list(a.rejected),
        campaign_id=a.campaign_id,
        referral_code_id=a.referral_code_id,
        customer_referrer_id=a.customer_referrer_id,
        partner_id=a.partner_id,
        click_id=a.click_id,
        decided_at=a.decided_at,
    )


def order_read(
    o: Order,
    attribution: Attribution | None,
    lines: Sequence[OrderLine] = (),
    history: Sequence[OrderTransition] = (),
) -> OrderRead:
    return OrderRead(
        id=o.id,
        external_id=o.external_id,
        customer_id=o.customer_id,
        amount=o.amount,
        currency=o.currency,
        placed_at=o.placed_at,
        status=o.status,
        paid_amount=o.paid_amount,
        refunded_amount=o.refunded_amount,
        source=o.source,
        attribution=attribution_read(attribution) if attribution else None,
        lines=[OrderLineRead(x.sku, x.category, x.quantity, x.unit_amount) for x in lines],
        history=[
            OrderTransitionRead(t.event, t.from_status, t.to_status, t.amount, t.occurred_at, t.source)
            for t in history
        ],
    )


class OrderController(Controller):
    """Orders reported by the shop, their lifecycle events, and why they were attributed."""

    path = "/api/orders"
    tags = ["Orders"]
    guards = [api_key_guard]
    opt = roles(Role.shop)
    security = [{"ApiKey": []}]

    @post("/", summary="Report an order (201 new; 200 the same again; 409 different content)")
    async def create_order(
        self,
        db_session: AsyncSession,
        data: OrderCreate,
        terms_lookup: CampaignTermsLookup,
        lead_lookup: LeadLookup,
        settings: Settings,
        risk_policy: RiskPolicy,
        order_intake: OrderIntakeBatcher,
    ) -> Response[OrderRead]:
        intake = to_intake(data, source="api", secret=settings.resolved_secret())
        now = utc_now()

        async def take_in(session: AsyncSession) -> Response[OrderRead]:
            result = await order_service.ingest_order(
                session,
                intake,
                terms_lookup=order_service.group_terms(session, terms_lookup),
                lead_lookup=lead_lookup,
                risk_policy=risk_policy,
                now=now,
            )
            return Response(
                order_read(result.order, result.attribution), status_code=201 if result.created else 200
            )

        # The order commits with its group (growth.order.tasks); end the key check's transaction first,
        # which holds SQLite's one connection.
        await db_session.commit()
        result: Response[OrderRead] = await order_intake.submit(take_in)
        return result

    @get("/{external_id:str}", summary="Read an order with its lines, history and attribution", opt=READERS)
    async def get_order(self, db_session: AsyncSession, external_id: str) -> OrderRead:
        view = await order_service.order_view(db_session, external_id)
        return order_read(view.order, view.attribution, view.lines, view.history)

    @post(
        "/{external_id:str}/events",
        summary="Report a lifecycle event (paid, fulfilled, closed, refunded, ...)",
    )
    async def add_event(
        self, db_session: AsyncSession, external_id: str, data: OrderEventCreate
    ) -> Response[OrderTransitionRead]:
        now = utc_now()
        event = order_service.OrderEventIn(
            data.type, data.occurred_at or now, "api", data.amount, data.event_id
        )
        applied = await order_service.apply_event_by_external_id(db_session, external_id, event, now=now)
        t = applied.transition
        body = OrderTransitionRead(t.event, t.from_status, t.to_status, t.amount, t.occurred_at, t.source)
        return Response(body, status_code=201 if applied.created else 200)

    @get(
        "/{external_id:str}/attribution",
        summary="Why the order was attributed to someone, or to nobody",
        opt=READERS,
    )
    async def get_attribution(self, db_session: AsyncSession, external_id: str) -> AttributionRead:
        view = await order_service.order_view(db_session, external_id)
        if view.attribution is None:
            raise NotFound(f"order {external_id!r} has no attribution")
        return attribution_read(view.attribution)
