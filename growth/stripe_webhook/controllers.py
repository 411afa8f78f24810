from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.ports import CampaignTermsLookup, LeadLookup
from growth.core.time import utc_now
from growth.risk.service import RiskPolicy
from growth.settings import Settings
from growth.stripe_webhook import service as stripe_webhook_service
from growth.stripe_webhook.schemas import StripeWebhookReceipt


class StripeWebhookController(Controller):
    """Stripe's signed event deliveries; authenticated by the signature, not by an API key."""

    path = "/webhooks/stripe"
    tags = ["Webhooks"]

    @post(
        "/",
        status_code=200,
        summary="Receive a Stripe event (200 applied or ignored; 400 bad signature; 503 not configured)",
    )
    async def receive(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        terms_lookup: CampaignTermsLookup,
        lead_lookup: LeadLookup,
        risk_policy: RiskPolicy,
    ) -> StripeWebhookReceipt:
        received = await stripe_webhook_service.receive_event(
            db_session,
            await request.body(),
            request.headers.get("stripe-signature"),
            secret=settings.stripe_webhook_secret,
            terms_lookup=terms_lookup,
            lead_lookup=lead_lookup,
            risk_policy=risk_policy,
            now=utc_now(),
        )
        return StripeWebhookReceipt(received=True, duplicate=received.duplicate, note=received.note)
