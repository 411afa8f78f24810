"""The Stripe payout provider: a Connect transfer to the partner's connected account.

This module and ``growth/stripe_webhook/service.py`` are the only ones that import ``stripe``.
"""

from __future__ import annotations

import asyncio

import stripe

from payouts.provider.errors import ProviderUnavailable, StripeNotConfigured, TransferDeclined
from payouts.provider.rules import TransferRequest, transfer_metadata


class StripeProvider:
    """Pays with ``POST /v1/transfers``; the idempotency key makes a retried call return the same transfer."""

    name = "stripe"

    def __init__(self, api_key: str, api_base: str) -> None:
        self._api_key, self._api_base = api_key, api_base.rstrip("/")

    def _client(self) -> stripe.StripeClient:
        if not self._api_key:
            raise StripeNotConfigured("Stripe payouts need GROWTH_STRIPE_API_KEY; no transfer was made")
        return stripe.StripeClient(
            self._api_key,
            base_addresses={"api": self._api_base},
            max_network_retries=2,  # the same idempotency key on every retry
        )

    def _create(self, request: TransferRequest) -> str:
        client = self._client()
        try:
            transfer = client.v1.transfers.create(
                {
                    "amount": request.amount,
                    "currency": request.currency.lower(),  # the one place currencies are lower case
                    "destination": request.destination or "",
                    "transfer_group": f"run-{request.run_id}",
                    "metadata": transfer_metadata(request),
                },
                {"idempotency_key": request.idempotency_key},
            )
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
            # Unknown outcome: the payout stays pending and is retried with the same key.
            raise ProviderUnavailable(exc.user_message or str(exc)) from exc
        except stripe.StripeError as exc:
            raise TransferDeclined(exc.user_message or str(exc)) from exc
        return str(transfer.id)

    async def transfer(self, request: TransferRequest) -> str:
        """Create the transfer and return its id (``tr_...``)."""
        return await asyncio.to_thread(self._create, request)
