"""Why a notification request cannot be done."""

from __future__ import annotations

from growth.core.errors import DomainError, NotFound


class InvalidWebhookEndpoint(DomainError):
    """A webhook endpoint's url or event kinds are not acceptable."""


class InvalidNotificationFilter(DomainError):
    """A list was asked for with a kind or status that does not exist."""


class NotificationEmailNotFound(NotFound):
    pass


class WebhookEndpointNotFound(NotFound):
    pass


class WebhookDeliveryNotFound(NotFound):
    pass
