"""Pure gift-pack rules: shipment status moves, stock arithmetic, address checks, webhook signatures."""

from __future__ import annotations

import hmac
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from growth.core.signing import webhook_mac


class ShipmentStatus(StrEnum):
    requested = "requested"
    shipped = "shipped"
    delivered = "delivered"
    failed = "failed"


TRANSITIONS: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    ShipmentStatus.requested: frozenset({ShipmentStatus.shipped, ShipmentStatus.failed}),
    ShipmentStatus.shipped: frozenset({ShipmentStatus.delivered, ShipmentStatus.failed}),
    ShipmentStatus.delivered: frozenset(),
    ShipmentStatus.failed: frozenset(),
}


def can_move(current: ShipmentStatus, target: ShipmentStatus) -> bool:
    """Whether ``current -> target`` is a legal move (staying put is a replay, not a move)."""
    return target in TRANSITIONS[current]


class StockEffect(StrEnum):
    none = "none"
    consume = "consume"
    """The pack left the warehouse: one less on hand, one less reserved."""
    release = "release"
    """The pack will not be sent: its reservation is given back."""


def stock_effect(current: ShipmentStatus, target: ShipmentStatus) -> StockEffect:
    """What a legal move does to the pack's stock."""
    if target is ShipmentStatus.shipped:
        return StockEffect.consume
    if target is ShipmentStatus.failed and current is ShipmentStatus.requested:
        return StockEffect.release
    # Failing after shipping (lost in transit) or delivering: the stock was counted when it left.
    return StockEffect.none


@dataclass(frozen=True, slots=True)
class Stock:
    on_hand: int
    reserved: int


def available(on_hand: int, reserved: int) -> int:
    """Packs that can still be promised; never negative."""
    return max(on_hand - reserved, 0)


LOW_STOCK = 5
"""Fewer packs available than this is "low": marketing is warned before rewards start waiting."""


class StockLevel(StrEnum):
    out = "out"
    low = "low"
    ok = "ok"


def stock_level(available_packs: int, *, low_stock: int = LOW_STOCK) -> StockLevel:
    """How urgently a pack needs restocking: none left, fewer than ``low_stock``, or enough."""
    if available_packs <= 0:
        return StockLevel.out
    return StockLevel.low if available_packs < low_stock else StockLevel.ok


def after_shipping(on_hand: int, reserved: int) -> Stock:
    """Stock once one reserved pack has shipped; clamped at zero, so stock is never negative."""
    return Stock(max(on_hand - 1, 0), max(reserved - 1, 0))


def after_release(on_hand: int, reserved: int) -> Stock:
    """Stock once one reservation is given back; releasing nothing is a no-op."""
    return Stock(on_hand, max(reserved - 1, 0))


MAX_RESTOCK = 1_000_000
MAX_STOCK = 100_000_000
"""Far below the column's 32-bit limit; a typo of a few extra digits is refused, not stored."""


def restock_problem(on_hand: int, quantity: int) -> str | None:
    """Why ``quantity`` packs cannot be added to ``on_hand``, or None."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_RESTOCK:
        return f"quantity must be a whole number from 1 to {MAX_RESTOCK:,}"
    if on_hand + quantity > MAX_STOCK:
        return f"stock would exceed {MAX_STOCK:,} packs"
    return None


def stock_problem(stock_on_hand: int) -> str | None:
    """Why ``stock_on_hand`` cannot be the counted stock, or None (the reserved check is a conflict)."""
    if isinstance(stock_on_hand, bool) or not isinstance(stock_on_hand, int):
        return "stock_on_hand must be a whole number"
    if not 0 <= stock_on_hand <= MAX_STOCK:
        return f"stock_on_hand must be from 0 to {MAX_STOCK:,}"
    return None


SKU = re.compile(r"[A-Za-z0-9._-]{1,100}")
MAX_VALUE_AMOUNT = 100_000_000_000


def sku_problem(sku: Any) -> str | None:
    """Why ``sku`` cannot name a gift pack, or None: 1-100 of ``A-Z a-z 0-9 . _ -``."""
    if not isinstance(sku, str) or not SKU.fullmatch(sku):
        return "sku must be 1-100 characters of A-Z, a-z, 0-9, '.', '_' or '-'"
    return None


def _bad_character(value: str) -> bool:
    # Control characters break labels and CSV rows; lone surrogates are refused by PostgreSQL's JSONB.
    return any(unicodedata.category(ch) in {"Cc", "Cs", "Zl", "Zp"} for ch in value)


def text_problem(field: str, value: Any, *, max_length: int) -> str | None:
    """Why ``value`` is not a non-blank single-line text of at most ``max_length`` characters, trimmed."""
    if not isinstance(value, str):
        return f"{field} must be a string"
    if not value.strip():
        return f"{field} must not be blank"
    if len(value.strip()) > max_length:
        return f"{field} is longer than {max_length} characters"
    if _bad_character(value):
        return f"{field} contains control characters"
    return None


def value_amount_problem(value_amount: Any) -> str | None:
    """Why ``value_amount`` is not a pack value in minor units, or None."""
    if isinstance(value_amount, bool) or not isinstance(value_amount, int):
        return "value_amount must be a whole number of minor units"
    if not 0 <= value_amount <= MAX_VALUE_AMOUNT:
        return f"value_amount must be from 0 to {MAX_VALUE_AMOUNT:,} minor units"
    return None


# --- shipping addresses -------------------------------------------------------------------------

ADDRESS_FIELDS: dict[str, tuple[bool, int]] = {
    "name": (True, 200),
    "line1": (True, 200),
    "line2": (False, 200),
    "city": (True, 100),
    "postal_code": (True, 16),
    "country": (True, 2),
    "phone": (False, 40),
}
"""Field -> (required, most characters)."""

POSTAL_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]*")
PHONE = re.compile(r"\+?[0-9 ().-]*[0-9][0-9 ().-]*")

COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
    """.split()
)
"""ISO 3166-1 alpha-2 country codes."""


def address_problem(address: Any) -> str | None:
    """Why ``address`` cannot be shipped to, or None.

    Required: name, line1, city, postal_code, country (ISO 3166-1 alpha-2); optional: line2, phone.
    """
    if not isinstance(address, Mapping):
        return "address must be an object"
    if unknown := sorted(str(k) for k in address if k not in ADDRESS_FIELDS):
        return f"address has unknown fields: {', '.join(unknown)}"
    for field, (required, max_length) in ADDRESS_FIELDS.items():
        value = address.get(field)
        if value is None or (not required and isinstance(value, str) and not value.strip()):
            if required:
                return f"address.{field} is required"
            continue
        if problem := text_problem(f"address.{field}", value, max_length=max_length):
            return problem
    if address["country"].strip().upper() not in COUNTRIES:
        return "address.country must be an ISO 3166-1 alpha-2 code such as CN or US"
    if not POSTAL_CODE.fullmatch(address["postal_code"].strip()):
        return "address.postal_code may only hold letters, digits, spaces and '-'"
    if (phone := address.get("phone")) and phone.strip() and not PHONE.fullmatch(phone.strip()):
        return "address.phone may only hold digits, spaces, '+', '-', '.', '(' and ')'"
    return None


def normalize_address(address: Mapping[str, Any]) -> dict[str, str]:
    """A valid address as stored: trimmed, country upper case, empty optional fields dropped."""
    out = {k: address[k].strip() for k in ADDRESS_FIELDS if isinstance(address.get(k), str)}
    out["country"] = out["country"].upper()
    return {k: v for k, v in out.items() if v}


# --- shipment updates ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShipmentDetails:
    """What the shop tells about a shipment besides its status (trimmed)."""

    carrier: str | None = None
    tracking_number: str | None = None
    failure_reason: str | None = None


def update_problem(target: ShipmentStatus, stored: ShipmentDetails, given: ShipmentDetails) -> str | None:
    """Why ``given`` cannot come with a move to ``target``, or None.

    Shipping needs a tracking number; afterwards carrier and tracking may only be repeated, not
    changed; a failure reason comes only with ``failed``.
    """
    for field, limit in (("carrier", 100), ("tracking_number", 100), ("failure_reason", 300)):
        value = getattr(given, field)
        if value is not None and (problem := text_problem(field, value, max_length=limit)):
            return problem
    if target is ShipmentStatus.shipped:
        return None if given.tracking_number else "a shipped shipment needs its tracking_number"
    if given.failure_reason is not None and target is not ShipmentStatus.failed:
        return "failure_reason is only set with status failed"
    if given.tracking_number is not None and given.tracking_number != stored.tracking_number:
        return "tracking_number is set when the shipment is shipped"
    if given.carrier is not None and given.carrier != stored.carrier:
        return "carrier is set when the shipment is shipped"
    return None


def is_replay(target: ShipmentStatus, stored: ShipmentDetails, given: ShipmentDetails) -> bool:
    """Whether asking for the current status again repeats what was recorded (a no-op).

    Fields left out count as repeated; shipping again must name the same tracking number.
    """
    if target is ShipmentStatus.shipped and given.tracking_number is None:
        return False
    return all(
        getattr(given, f) is None or getattr(given, f) == getattr(stored, f)
        for f in ("carrier", "tracking_number", "failure_reason")
    )


# --- CSV export ---------------------------------------------------------------------------------

CSV_COLUMNS = (
    "shipment_id",
    "reward_id",
    "sku",
    "status",
    "name",
    "line1",
    "line2",
    "city",
    "postal_code",
    "country",
    "phone",
    "carrier",
    "tracking_number",
    "requested_at",
)
_NUMBER_LIKE = re.compile(r"[+-]?[0-9 ().-]*")


def csv_cell(value: str | None) -> str:
    """``value`` safe to open in a spreadsheet: text that would run as a formula gets a leading ``'``."""
    if not value:
        return ""
    # Phone numbers such as +86 138 0000 0000 cannot form a formula; keep them readable.
    if value[0] in "=+-@\t\r" and not _NUMBER_LIKE.fullmatch(value):
        return "'" + value
    return value


# --- webhook signatures -------------------------------------------------------------------------

SIGNATURE_HEADER = "X-Growth-Signature"
MAX_SIGNATURE_HEADER = 1000


def sign_payload(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>``."""
    return f"t={timestamp},v1={webhook_mac(secret, timestamp, body)}"


def verify_signature(secret: str, header: str, body: bytes, now_ts: int, tolerance_s: int = 300) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and is at most ``tolerance_s`` seconds off."""
    if not header or len(header) > MAX_SIGNATURE_HEADER:
        return False
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if key == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                return False
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures or abs(now_ts - timestamp) > tolerance_s:
        return False
    expected = webhook_mac(secret, timestamp, body)
    # Several v1 values let a receiver rotate secrets; compare each in constant time.
    return any(hmac.compare_digest(expected.encode(), s.encode()) for s in signatures)
