"""Why a notification request cannot be done."""

from __future__ import annotations

from growth.core.errors import DomainError, NotFound


class InvalidWebhookEndpoint(DomainError):
    """A webhook endpoint's url or event kinds are not acceptable."""


class WebhookEndpointNotFound(NotFound):
    pass


class WebhookDeliveryNotFound(NotFound):
    pass
