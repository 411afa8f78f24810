from growth.core.errors import Conflict, Invalid, NotFound


class GiftPackNotFound(NotFound):
    pass


class GiftPackExists(Conflict):
    """A gift pack with this sku already exists."""


class InvalidGiftPack(Invalid):
    pass


class InvalidStock(Invalid):
    """A restock quantity or a counted stock out of range."""


class StockBelowReserved(Conflict):
    """A stock correction below the packs already promised to rewards."""


class ShipmentNotFound(NotFound):
    pass


class InvalidAddress(Invalid):
    pass


class InvalidShipmentUpdate(Invalid):
    """Fields that do not fit the status asked for (shipped without a tracking number, ...)."""


class IllegalShipmentChange(Conflict):
    """The shipment cannot move from its current status to the one asked for."""


class ShipmentWebhookFailed(RuntimeError):
    """The shop's shipment webhook did not accept a request; raised so the outbox retries it."""
