"""The gift-pack pages' forms and views: text in, typed values out; packs and shipments as shown.

Pure, like ``rules.py``. A pack's value is typed in major units of its currency ("88.00", JPY
"1200") and read with ``growth.core.forms``, exactly, never through a float. Problems carry a
translatable message (the shared texts of ``growth.core.forms``, so the catalog has them once).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import msgspec

from campaigns.gift_pack.errors import InvalidGiftPack, InvalidStock
from campaigns.gift_pack.models import GiftPack, Shipment
from campaigns.gift_pack.rules import (
    MAX_RESTOCK,
    MAX_STOCK,
    MAX_VALUE_AMOUNT,
    SKU,
    StockLevel,
    available,
    stock_level,
)
from growth.core import forms as core
from growth.core.errors import DomainError
from growth.core.forms import N_, FieldError, currency_code, short_text, whole_number
from growth.core.money import Money

PAGES = "/marketing/gift-packs"
MAX_NAME = 200
EXAMPLE_VALUE = 88
"""The value the amount message shows as an example, in major units: ``88.00`` (CNY)."""
SKU_FORMAT = N_("Use 1 to 100 letters, digits, dots, dashes or underscores.")


class PackForm(msgspec.Struct, kw_only=True):
    """The new-pack form as typed: all text (the CSRF token and other fields are ignored)."""

    sku: str = ""
    name: str = ""
    value: str = ""
    currency: str = ""
    stock_on_hand: str = "0"


class QuantityForm(msgspec.Struct, kw_only=True):
    """The restock form of one pack: how many arrived."""

    quantity: str = ""


class StockForm(msgspec.Struct, kw_only=True):
    """The stock-correction form of one pack: the counted stock, reserved packs included."""

    stock_on_hand: str = ""


@dataclass(frozen=True, slots=True)
class Problem:
    """A message for people: ``msgid`` translated with ``params`` where it is shown."""

    msgid: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FormError:
    """Why the new-pack form was refused: per field, or one message (``detail``) for the form."""

    code: str
    detail: str
    fields: dict[str, Problem] = field(default_factory=dict)


def minor_units(value: str, currency: str) -> int:
    """Minor units of a pack's value typed in major units of ``currency``, exactly; required."""
    return core.minor_units(value, currency, maximum=MAX_VALUE_AMOUNT, example=EXAMPLE_VALUE)


def _sku(value: str) -> str:
    value = value.strip()
    if not SKU.fullmatch(value):
        raise FieldError(SKU_FORMAT)
    return value


def parse_new_pack(form: PackForm, *, default_currency: str) -> dict[str, Any]:
    """The fields of ``create_pack``; ``InvalidGiftPack`` lists the problem of each field."""
    problems: dict[str, Problem] = {}
    values: dict[str, Any] = {}
    parsers: dict[str, Any] = {
        "sku": lambda: _sku(form.sku),
        "name": lambda: short_text(form.name, max_length=MAX_NAME, required=True),
        "currency": lambda: currency_code(form.currency, default_currency),
        "stock_on_hand": lambda: whole_number(form.stock_on_hand or "0", 0, MAX_STOCK),
    }
    for name, parse in parsers.items():
        try:
            values[name] = parse()
        except FieldError as bad:
            problems[name] = Problem(bad.msgid, bad.params)
    if "currency" in values:  # the value cannot be read in an unknown currency
        try:
            values["value_amount"] = minor_units(form.value, values["currency"])
        except FieldError as bad:
            problems["value"] = Problem(bad.msgid, bad.params)
    if problems:
        first, problem = next(iter(problems.items()))
        raise InvalidGiftPack(f"{first}: {problem.msgid % problem.params}", problems=problems)
    return values


def parse_quantity(value: str) -> int:
    """A restock quantity typed in the form; ``InvalidStock`` when it is not 1 to ``MAX_RESTOCK``."""
    try:
        return whole_number(value, 1, MAX_RESTOCK)
    except FieldError as bad:
        raise InvalidStock(str(bad)) from None


def parse_stock(value: str) -> int:
    """A counted stock typed in the form; ``InvalidStock`` when it is not 0 to ``MAX_STOCK``."""
    try:
        return whole_number(value, 0, MAX_STOCK)
    except FieldError as bad:
        raise InvalidStock(str(bad)) from None


def form_error(error: DomainError) -> FormError:
    """What a refused new-pack form shows: its field problems, or the error's message."""
    fields: dict[str, Problem] = error.details.get("problems", {})
    return FormError(error.code(), error.message, fields)


def blank_form(*, default_currency: str) -> PackForm:
    """The new-pack form with the program's currency filled in."""
    return PackForm(currency=default_currency)


def list_url(**params: str) -> str:
    """The pack list, with a notice or an error code (and the sku it is about)."""
    return f"{PAGES}?{urlencode(params)}" if params else PAGES


def back_to_list(*, sku: str, notice: str | None = None, error: DomainError | None = None) -> str:
    """Where a pack's form goes back to: the list, with the outcome and the pack named."""
    outcome = {"error": error.code()} if error else {"notice": notice or "saved"}
    return f"{list_url(**outcome, sku=sku)}#pack-{sku}"


PACK_NOTICES = frozenset({"created", "restocked", "stock_set"})
PACK_ERRORS = frozenset({"invalid_stock", "stock_below_reserved", "gift_pack_not_found"})


@dataclass(frozen=True, slots=True)
class PackMessage:
    """A notice or an error the list shows after a form, about one pack; only known codes."""

    code: str
    sku: str | None


def read_message(query: Mapping[str, str], known: frozenset[str], key: str) -> PackMessage | None:
    """The ``notice`` or ``error`` of the query string when it is a known code (never reflected)."""
    code = query.get(key)
    if code not in known:
        return None
    sku = query.get("sku")
    return PackMessage(code, sku if sku and SKU.fullmatch(sku) else None)


@dataclass(frozen=True, slots=True)
class PackView:
    """A pack as the list shows it: its value as ``Money`` and how urgently it needs stock."""

    id: UUID
    sku: str
    name: str
    value: Money
    stock_on_hand: int
    stock_reserved: int
    available: int
    level: StockLevel


def pack_view(pack: GiftPack) -> PackView:
    """The view of one pack."""
    left = available(pack.stock_on_hand, pack.stock_reserved)
    return PackView(
        id=pack.id,
        sku=pack.sku,
        name=pack.name,
        value=Money(pack.value_amount, pack.currency),
        stock_on_hand=pack.stock_on_hand,
        stock_reserved=pack.stock_reserved,
        available=left,
        level=stock_level(left),
    )


@dataclass(frozen=True, slots=True)
class ShipmentView:
    """A shipment as the list shows it: where it goes (no phone) and how far it got."""

    id: UUID
    sku: str
    status: str
    recipient: str
    city: str
    country: str
    carrier: str | None
    tracking_number: str | None
    failure_reason: str | None
    requested_at: datetime
    shipped_at: datetime | None
    delivered_at: datetime | None


def shipment_view(shipment: Shipment) -> ShipmentView:
    """The view of one shipment."""
    address = shipment.address
    return ShipmentView(
        id=shipment.id,
        sku=shipment.sku,
        status=shipment.status,
        recipient=address.get("name", ""),
        city=address.get("city", ""),
        country=address.get("country", ""),
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        failure_reason=shipment.failure_reason,
        requested_at=shipment.requested_at,
        shipped_at=shipment.shipped_at,
        delivered_at=shipment.delivered_at,
    )
