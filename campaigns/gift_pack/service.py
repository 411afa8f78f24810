"""Gift-pack use cases: the catalogue and its stock, reservations for rewards, and shipments.

The reward engine calls ``reserve_one`` / ``release_one`` / ``request_shipment`` inside its own
transaction; the shop moves shipments along (API or CSV export). Stock changes only under a row
lock on the pack, so concurrent rewards never promise more packs than there are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
import msgspec
import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.gift_pack import repository
from campaigns.gift_pack.errors import (
    GiftPackExists,
    GiftPackNotFound,
    IllegalShipmentChange,
    InvalidAddress,
    InvalidGiftPack,
    InvalidShipmentUpdate,
    InvalidStock,
    ShipmentNotFound,
    ShipmentWebhookFailed,
    StockBelowReserved,
)
from campaigns.gift_pack.models import GiftPack, Shipment
from campaigns.gift_pack.rules import (
    CSV_COLUMNS,
    SIGNATURE_HEADER,
    ShipmentDetails,
    ShipmentStatus,
    StockEffect,
    address_problem,
    after_release,
    after_shipping,
    available,
    can_move,
    csv_cell,
    is_replay,
    normalize_address,
    restock_problem,
    sign_payload,
    sku_problem,
    stock_effect,
    stock_problem,
    text_problem,
    update_problem,
    value_amount_problem,
)
from growth.core.events.service import DomainEvent, publish
from growth.core.money import is_known_currency
from growth.core.time import utc_now
from growth.settings import Settings

log = structlog.get_logger()

SHIPMENT_REQUESTED = "gift_pack.shipment_requested"
EDITABLE = frozenset({"name", "value_amount"})


# --- the catalogue ------------------------------------------------------------------------------


def _currency_problem(currency: Any) -> str | None:
    if isinstance(currency, str) and is_known_currency(currency):
        return None
    return f"unknown currency {currency!r} (an ISO 4217 code in upper case, e.g. CNY)"


def _check_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Check the pack fields being set and trim the name; raises ``InvalidGiftPack``."""
    checks = {
        "sku": sku_problem,
        "name": lambda v: text_problem("name", v, max_length=200),
        "value_amount": value_amount_problem,
        "currency": _currency_problem,
    }
    for key, check in checks.items():
        if key in values and (problem := check(values[key])):
            raise InvalidGiftPack(problem)
    if "name" in values:
        values["name"] = values["name"].strip()
    return values


async def create_pack(
    session: AsyncSession,
    *,
    sku: str,
    name: str,
    value_amount: int,
    currency: str,
    stock_on_hand: int = 0,
) -> GiftPack:
    """Add a pack to the catalogue; its sku is unique (``GiftPackExists``)."""
    fields = _check_fields({"sku": sku, "name": name, "value_amount": value_amount, "currency": currency})
    if problem := stock_problem(stock_on_hand):
        raise InvalidStock(problem)
    if await repository.get_pack(session, sku) is not None:
        raise GiftPackExists(f"gift pack {sku!r} already exists", sku=sku)
    pack = GiftPack(**fields, stock_on_hand=stock_on_hand, stock_reserved=0)
    try:
        async with session.begin_nested():
            session.add(pack)
    except IntegrityError as exc:
        # A concurrent create won the unique constraint.
        raise GiftPackExists(f"gift pack {sku!r} already exists", sku=sku) from exc
    return pack


async def get_pack(session: AsyncSession, sku: str) -> GiftPack:
    """One pack by its sku, or ``GiftPackNotFound``."""
    pack = await repository.get_pack(session, sku)
    if pack is None:
        raise GiftPackNotFound(f"gift pack {sku!r} not found", sku=sku)
    return pack


async def list_packs(session: AsyncSession) -> list[GiftPack]:
    """Every pack, by sku."""
    return await repository.list_packs(session)


async def update_pack(session: AsyncSession, sku: str, /, **changes: Any) -> GiftPack:
    """Rename or revalue a pack (``name``, ``value_amount``); the sku and currency stay."""
    if unknown := sorted(set(changes) - EDITABLE):
        raise InvalidGiftPack(f"cannot change {', '.join(unknown)}; only name and value_amount")
    pack = await get_pack(session, sku)
    for key, value in _check_fields(dict(changes)).items():
        setattr(pack, key, value)
    await session.flush()
    return pack


# --- stock --------------------------------------------------------------------------------------


async def _locked_pack(session: AsyncSession, sku: str) -> GiftPack:
    pack = await repository.get_pack(session, sku, for_update=True)
    if pack is None:
        raise GiftPackNotFound(f"gift pack {sku!r} not found", sku=sku)
    return pack


async def _publish_restocked(session: AsyncSession, pack: GiftPack, now: datetime) -> None:
    payload = {"sku": pack.sku, "available": available(pack.stock_on_hand, pack.stock_reserved)}
    await publish(session, "gift_pack.restocked", payload, now=now)


async def restock(session: AsyncSession, sku: str, *, quantity: int, now: datetime) -> GiftPack:
    """Add ``quantity`` packs that arrived at the warehouse; rewards waiting for stock hear of it."""
    pack = await _locked_pack(session, sku)
    if problem := restock_problem(pack.stock_on_hand, quantity):
        raise InvalidStock(problem)
    pack.stock_on_hand += quantity
    await session.flush()
    await _publish_restocked(session, pack, now)
    log.info("campaigns.gift_pack.restocked", sku=sku, quantity=quantity)
    return pack


async def set_stock(session: AsyncSession, sku: str, *, stock_on_hand: int, now: datetime) -> GiftPack:
    """Correct the counted stock; never below the packs already promised (``StockBelowReserved``)."""
    if problem := stock_problem(stock_on_hand):
        raise InvalidStock(problem)
    pack = await _locked_pack(session, sku)
    if stock_on_hand < pack.stock_reserved:
        raise StockBelowReserved(
            f"{pack.stock_reserved} packs of {sku!r} are reserved for rewards; stock cannot be lower",
            stock_reserved=pack.stock_reserved,
        )
    was_available = available(pack.stock_on_hand, pack.stock_reserved)
    pack.stock_on_hand = stock_on_hand
    await session.flush()
    if available(pack.stock_on_hand, pack.stock_reserved) > was_available:
        await _publish_restocked(session, pack, now)
    log.info("campaigns.gift_pack.stock_set", sku=sku, stock_on_hand=stock_on_hand)
    return pack


async def reserve_one(session: AsyncSession, sku: str) -> GiftPack | None:
    """Promise one pack to a reward; None when none is available (out of stock)."""
    pack = await _locked_pack(session, sku)
    if available(pack.stock_on_hand, pack.stock_reserved) < 1:
        return None
    pack.stock_reserved += 1
    await session.flush()
    return pack


async def release_one(session: AsyncSession, sku: str, *, now: datetime | None = None) -> None:
    """Give back one reservation (a voided reward); never below zero. Waiting rewards hear of it."""
    pack = await _locked_pack(session, sku)
    was_available = available(pack.stock_on_hand, pack.stock_reserved)
    pack.stock_reserved = after_release(pack.stock_on_hand, pack.stock_reserved).reserved
    await session.flush()
    if available(pack.stock_on_hand, pack.stock_reserved) > was_available:
        await _publish_restocked(session, pack, now or utc_now())


# --- shipments ----------------------------------------------------------------------------------


async def request_shipment(
    session: AsyncSession, *, reward_id: UUID, sku: str, address: dict[str, Any], now: datetime
) -> Shipment:
    """Ask the shop to send a reward's pack; asking again for the same reward returns the first request."""
    if (existing := await repository.get_shipment_for_reward(session, reward_id)) is not None:
        return existing
    if problem := address_problem(address):
        raise InvalidAddress(problem)
    await get_pack(session, sku)
    shipment = Shipment(
        reward_id=reward_id,
        sku=sku,
        address=normalize_address(address),
        status=ShipmentStatus.requested.value,
        requested_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(shipment)
    except IntegrityError:
        # A concurrent request for the same reward won UNIQUE(reward_id): that one stands.
        if (existing := await repository.get_shipment_for_reward(session, reward_id)) is None:
            raise
        return existing
    payload = {
        "shipment_id": str(shipment.id),
        "reward_id": str(reward_id),
        "sku": sku,
        "address": shipment.address,
        "requested_at": now.isoformat(),
    }
    await publish(session, SHIPMENT_REQUESTED, payload, now=now)
    log.info("campaigns.gift_pack.shipment_requested", shipment_id=str(shipment.id), sku=sku)
    return shipment


async def get_shipment(session: AsyncSession, shipment_id: UUID) -> Shipment:
    """One shipment, or ``ShipmentNotFound``."""
    shipment = await repository.get_shipment(session, shipment_id)
    if shipment is None:
        raise ShipmentNotFound(f"shipment {shipment_id} not found")
    return shipment


def _strip(value: str | None) -> str | None:
    return value.strip() if value is not None else None


async def update_shipment(
    session: AsyncSession,
    shipment_id: UUID,
    *,
    status: ShipmentStatus,
    carrier: str | None = None,
    tracking_number: str | None = None,
    failure_reason: str | None = None,
    now: datetime,
) -> Shipment:
    """Move a shipment along (requested -> shipped -> delivered, or failed); a replay is a no-op."""
    # Lock order everywhere: the shipment, then its pack; a retried shop call waits here.
    shipment = await repository.get_shipment(session, shipment_id, for_update=True)
    if shipment is None:
        raise ShipmentNotFound(f"shipment {shipment_id} not found")
    if status not in ShipmentStatus.__members__.values():
        raise InvalidShipmentUpdate(f"unknown status {status!r}")
    current, target = ShipmentStatus(shipment.status), ShipmentStatus(status)
    stored = ShipmentDetails(shipment.carrier, shipment.tracking_number, shipment.failure_reason)
    given = ShipmentDetails(_strip(carrier), _strip(tracking_number), _strip(failure_reason))
    if current is target and is_replay(target, stored, given):
        return shipment
    if not can_move(current, target):
        raise IllegalShipmentChange(
            f"shipment is {current}; it cannot become {target} (or change what was recorded)",
            current=current.value,
        )
    if problem := update_problem(target, stored, given):
        raise InvalidShipmentUpdate(problem)
    await _apply_stock(session, shipment.sku, stock_effect(current, target))
    _record(shipment, target, given, now)
    await session.flush()
    await _publish_moved(session, shipment, now)
    return shipment


async def _apply_stock(session: AsyncSession, sku: str, effect: StockEffect) -> None:
    if effect is StockEffect.none:
        return
    pack = await _locked_pack(session, sku)
    stock = (after_shipping if effect is StockEffect.consume else after_release)(
        pack.stock_on_hand, pack.stock_reserved
    )
    if effect is StockEffect.consume and pack.stock_reserved == 0:
        log.warning("campaigns.gift_pack.shipped_unreserved", sku=sku)
    pack.stock_on_hand, pack.stock_reserved = stock.on_hand, stock.reserved


def _record(shipment: Shipment, target: ShipmentStatus, given: ShipmentDetails, now: datetime) -> None:
    shipment.status = target.value
    if target is ShipmentStatus.shipped:
        shipment.tracking_number, shipment.shipped_at = given.tracking_number, now
        shipment.carrier = given.carrier or shipment.carrier
    elif target is ShipmentStatus.delivered:
        shipment.delivered_at = now
    elif target is ShipmentStatus.failed:
        shipment.failure_reason = given.failure_reason


async def _publish_moved(session: AsyncSession, shipment: Shipment, now: datetime) -> None:
    payload = {
        "shipment_id": str(shipment.id),
        "reward_id": str(shipment.reward_id),
        "sku": shipment.sku,
        "tracking_number": shipment.tracking_number,
        "carrier": shipment.carrier,
        "reason": shipment.failure_reason,
    }
    await publish(session, f"gift_pack.shipment_{shipment.status}", payload, now=now)
    log.info("campaigns.gift_pack.shipment_moved", shipment_id=str(shipment.id), status=shipment.status)


async def list_shipments(
    session: AsyncSession, *, status: ShipmentStatus | None = None, limit: int = 50, offset: int = 0
) -> list[Shipment]:
    """Shipments, oldest request first, optionally of one status."""
    return await repository.list_shipments(session, status=status, limit=limit, offset=offset)


async def export_shipments(
    session: AsyncSession,
    *,
    status: ShipmentStatus | None = ShipmentStatus.requested,
    limit: int = 10_000,
    offset: int = 0,
) -> list[list[str]]:
    """The CSV rows a warehouse works from (header first), cells safe to open in a spreadsheet."""
    rows = [list(CSV_COLUMNS)]
    for s in await repository.list_shipments(session, status=status, limit=limit, offset=offset):
        a = s.address
        cells = [str(s.id), str(s.reward_id), s.sku, s.status, a.get("name"), a.get("line1"), a.get("line2")]
        cells += [a.get("city"), a.get("postal_code"), a.get("country"), a.get("phone"), s.carrier]
        cells += [s.tracking_number, s.requested_at.isoformat()]
        rows.append([csv_cell(c) for c in cells])
    return rows


# --- the shipment webhook -----------------------------------------------------------------------

Handler = Callable[[AsyncSession, DomainEvent], Awaitable[None]]


async def deliver_shipment_request(
    session: AsyncSession, event: DomainEvent, *, settings: Settings, client: httpx.AsyncClient
) -> None:
    """POST a shipment request to the shop's webhook, signed; raises so the outbox retries.

    The receiver may see a request twice (a crash between its 2xx and our commit): the
    ``Idempotency-Key`` names the shipment, so it can ignore the repeat.
    """
    if not settings.shipment_webhook_url:
        return
    body = msgspec.json.encode(event.payload)
    secret = settings.shipment_webhook_secret or settings.resolved_secret()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign_payload(secret, int(utc_now().timestamp()), body),
        "X-Growth-Event": event.name,
        "X-Growth-Event-Id": str(event.id),
        "Idempotency-Key": f"shipment-{event.payload['shipment_id']}",
    }
    shipment_id = event.payload["shipment_id"]
    try:
        response = await client.post(settings.shipment_webhook_url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise ShipmentWebhookFailed(f"shipment webhook unreachable: {exc!r}") from exc
    if not response.is_success:
        raise ShipmentWebhookFailed(f"shipment webhook answered {response.status_code}")
    log.info("campaigns.gift_pack.webhook_delivered", shipment_id=shipment_id, status=response.status_code)


def make_shipment_webhook_handler(settings: Settings) -> Handler:
    """The outbox subscriber of ``gift_pack.shipment_requested``, bound to ``settings``."""

    async def deliver(session: AsyncSession, event: DomainEvent) -> None:
        if not settings.shipment_webhook_url:
            return  # no webhook: the shop works from the CSV export
        timeout = httpx.Timeout(settings.shipment_webhook_timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            await deliver_shipment_request(session, event, settings=settings, client=client)

    return deliver
