"""Pure rules of CSV import: the columns, reading a file chunk by chunk, and a row into an intake.

A file is UTF-8 (a byte-order mark is skipped) and starts with a header row naming its columns, in
any order. Cells are trimmed and an empty cell is an absent value. An order with several line
items repeats its order cells on consecutive rows, one line item (``sku``, ``quantity``, unit price,
``category``) per row. Every row becomes the same ``OrderIntake`` or ``OrderEventIn`` the API builds.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from uuid import UUID

import msgspec

from growth.attribution.service import Hints
from growth.core.money import Money, is_known_currency
from growth.order.rules import OrderEventType, identity_hashes
from growth.order.schemas import ShippingAddress
from growth.order.service import LineIn, OrderEventIn, OrderIntake
from growth.order_import.errors import MalformedCsv

MAX_FILE_BYTES = 50 * 1024 * 1024
"""Largest body one request takes (413 beyond); ``growth orders import`` has no limit."""
MAX_ROWS = 10_000
"""Most data rows one request takes (413 beyond). An order takes about 8 ms to take in, so this is
a request of a minute or two, all in one transaction; larger files go through the CLI."""
MAX_ROW_CHARS = 100_000
"""Longest row: a longer one is a quote left open that would swallow the rest of the file."""
MAX_QUANTITY = 2**31 - 1
"""A line's quantity is stored in a 32-bit column."""
SOURCE = "csv"

LINE_COLUMNS = ("sku", "quantity", "unit_amount", "unit_amount_major", "category")
SHIPPING_COLUMNS = {
    "shipping_line1": "line1",
    "shipping_line2": "line2",
    "shipping_city": "city",
    "shipping_region": "region",
    "shipping_postal_code": "postal_code",
    "shipping_country": "country",
}
"""The shipping address's columns, by the order API's ``shipping_address`` field."""
IDENTITY_COLUMNS = (
    "payment_fingerprint",
    "device_id",
    "customer_ip",
    "margin_amount",
    "margin_amount_major",
    *SHIPPING_COLUMNS,
)
"""What the risk firewall compares, as the order API takes it; the address and IP are kept only as
keyed hashes (``growth.order.rules.identity_hashes``)."""
ORDER_COLUMNS = (
    "external_id",
    "customer_external_id",
    "customer_email",
    "customer_name",
    "amount",
    "amount_major",
    "currency",
    "placed_at",
    "referral_code",
    "coupon_code",
    "click_id",
    "lead_reference",
    "payment_reference",
    "subscription_id",
    *IDENTITY_COLUMNS,
    *LINE_COLUMNS,
)
ORDER_REQUIRED = ("external_id", "customer_external_id", "currency", "placed_at")
EVENT_COLUMNS = ("order_external_id", "type", "amount", "occurred_at", "event_id")
EVENT_REQUIRED = ("order_external_id", "type", "occurred_at")
_REFUNDS = (OrderEventType.refunded, OrderEventType.dispute_lost)

Row = tuple[int, Mapping[str, str]]
"""A data row: its first line in the file and its cells by column."""

_MAX_LENGTH = {
    "external_id": 200,
    "customer_external_id": 100,
    "customer_email": 320,
    "customer_name": 200,
    "referral_code": 64,
    "coupon_code": 64,
    "lead_reference": 100,
    "payment_reference": 200,
    "subscription_id": 200,
    "payment_fingerprint": 100,
    "device_id": 200,
    "customer_ip": 45,
    "sku": 100,
    "category": 100,
    "order_external_id": 200,
    "event_id": 200,
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_LINE_BREAK = re.compile(r"[ \t]*(?:\r\n|\r|\n)[ \t]*")
_WHOLE = re.compile(r"-?[0-9]{1,30}")
_DECIMAL = re.compile(r"-?[0-9]{1,30}(?:\.[0-9]{1,30})?")


class Kind(StrEnum):
    orders = "orders"
    events = "events"


class Outcome(StrEnum):
    created = "created"
    duplicate = "duplicate"
    refused = "refused"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a row was not taken: a snake-case code and a message for people."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class RowResult:
    line: int
    """Line of the file where the row (an order's first row) starts; the header is line 1."""
    external_id: str | None
    """The order's external id (of the event's order, for events), when the row names one."""
    outcome: Outcome
    error: Refusal | None = None


def count_outcomes(results: Iterable[RowResult]) -> dict[Outcome, int]:
    """How many rows had each outcome."""
    tally = dict.fromkeys(Outcome, 0)
    for result in results:
        tally[result.outcome] += 1
    return tally


# Reading the file


def ends_quoted(line: str, quoted: bool) -> bool:
    """Whether a quoted cell is still open at the end of ``line`` (``quoted``: open at its start).

    Follows the csv module: a quote opens a cell only as its first character, and ``""`` inside a
    quoted cell is a literal quote, so the row goes on to the next line exactly when csv would.
    """
    if '"' not in line:
        return quoted
    state = "quoted" if quoted else "start"
    for ch in line:
        if state == "quoted":
            if ch == '"':
                state = "quote_in_quoted"
        elif ch == ",":
            state = "start"
        elif ch == '"' and state != "field":
            state = "quoted"
        else:
            state = "field"
    return state == "quoted"


def parse_row(lines: list[str]) -> list[list[str]] | Refusal:
    """The cells of one row's lines (a blank line is ``[[]]``)."""
    try:
        return list(csv.reader(lines))
    except csv.Error as exc:
        return Refusal("malformed_row", f"the row cannot be read as CSV: {exc}")


class CsvReader:
    """Turns a CSV file's byte chunks, as they arrive, into rows of cells with their line numbers.

    Chunks may split a line or a multi-byte character anywhere; a row ends at a line break outside
    quotes, so quoted cells may hold commas and line breaks. Line ends are LF or CRLF.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._partial = ""
        """Text after the last line break."""
        self._row: list[str] = []
        """Lines of the row being read, while a quoted cell is open."""
        self._row_chars = 0
        self._quoted = False
        self._lines = 0
        self._start = 0

    def feed(self, chunk: bytes, *, final: bool = False) -> list[tuple[int, list[str] | Refusal]]:
        """The rows ``chunk`` completes, each with its first line; ``final`` for the end of the file."""
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            line = self._lines + 1 + bytes(exc.object[: exc.start]).count(b"\n")
            raise MalformedCsv(
                f"the file is not UTF-8 (line {line}); save it as CSV UTF-8", line=line
            ) from exc
        *lines, self._partial = (self._partial + text).split("\n")
        if len(self._partial) > MAX_ROW_CHARS:
            raise self._too_long(self._lines + 1)
        rows: list[tuple[int, list[str] | Refusal]] = []
        for line in lines:
            self._add(line + "\n", rows)
        if final:
            if self._partial:
                self._add(self._partial, rows)
                self._partial = ""
            if self._row:
                raise MalformedCsv(
                    f"the quote opened on line {self._start} is never closed", line=self._start
                )
        return rows

    def _add(self, line: str, rows: list[tuple[int, list[str] | Refusal]]) -> None:
        self._lines += 1
        if not self._row:
            self._start, self._row_chars = self._lines, 0
        self._row.append(line)
        self._row_chars += len(line)
        if self._row_chars > MAX_ROW_CHARS:
            raise self._too_long(self._start)
        self._quoted = ends_quoted(line, self._quoted)
        if self._quoted:
            return
        parsed = parse_row(self._row)
        if isinstance(parsed, Refusal):
            rows.append((self._start, parsed))
        else:
            rows.extend((self._start, cells) for cells in parsed)
        self._row = []

    @staticmethod
    def _too_long(line: int) -> MalformedCsv:
        return MalformedCsv(
            f"the row on line {line} is longer than {MAX_ROW_CHARS} characters (a quote left open?)",
            line=line,
        )


def is_blank(cells: Sequence[str]) -> bool:
    """An empty line, or a row of empty cells (spreadsheets export those)."""
    return not any(cell.strip() for cell in cells)


def read_header(kind: Kind, cells: Sequence[str]) -> tuple[str, ...]:
    """The column names of the header row; raises ``MalformedCsv`` naming every problem."""
    names = tuple(cell.strip().lower() for cell in cells)
    known, required = (
        (ORDER_COLUMNS, ORDER_REQUIRED) if kind is Kind.orders else (EVENT_COLUMNS, EVENT_REQUIRED)
    )
    problems = []
    if unknown := [name for name in names if name not in known]:
        problems.append(
            f"unknown columns {', '.join(repr(n) for n in unknown)} (the columns are {', '.join(known)})"
        )
    if twice := sorted({name for name in names if names.count(name) > 1}):
        problems.append(f"columns given twice: {', '.join(twice)}")
    if missing := [name for name in required if name not in names]:
        problems.append(f"missing columns: {', '.join(missing)}")
    if kind is Kind.orders:
        problems += _order_header_problems(set(names))
    if problems:
        raise MalformedCsv("the first row must be a header naming the columns: " + "; ".join(problems))
    return names


def _order_header_problems(names: set[str]) -> list[str]:
    major = "amount_major" in names
    if major == ("amount" in names):
        return ["give exactly one of the columns amount (minor units) and amount_major (like 199.00)"]
    unit, other = ("unit_amount_major", "unit_amount") if major else ("unit_amount", "unit_amount_major")
    if other in names:
        return [f"with {'amount_major' if major else 'amount'} the unit price column is {unit}"]
    margin, other = (
        ("margin_amount_major", "margin_amount") if major else ("margin_amount", "margin_amount_major")
    )
    if other in names:
        return [f"with {'amount_major' if major else 'amount'} the margin column is {margin}"]
    items = {"sku", "quantity", unit}
    if names & (items | {"category"}) and not items <= names:
        return [f"line items need all the columns sku, quantity and {unit}"]
    return []


def row_cells(header: Sequence[str], cells: Sequence[str]) -> tuple[dict[str, str], Refusal | None]:
    """The row's trimmed cells by column (missing trailing cells are empty), refused if it has extra ones."""
    by_column = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
    if any(cell.strip() for cell in cells[len(header) :]):
        return by_column, _invalid(
            f"the row has {len(cells)} cells but the header names {len(header)} columns"
        )
    return by_column, None


# One row into an intake


class _Bad(ValueError):
    """A cell that cannot be read; the row is refused with this message."""


def _invalid(message: str) -> Refusal:
    return Refusal("invalid_row", message)


def _text(cells: Mapping[str, str], name: str) -> str | None:
    value = cells.get(name, "")
    if name == "customer_name":
        value = _LINE_BREAK.sub(" ", value)  # a multi-line spreadsheet cell is one name
    if not value:
        return None
    if len(value) > _MAX_LENGTH[name]:
        raise _Bad(f"{name} is longer than {_MAX_LENGTH[name]} characters")
    if _CONTROL.search(value):
        raise _Bad(f"{name} contains a line break or another control character")
    return value


def _required(cells: Mapping[str, str], name: str) -> str:
    if (value := _text(cells, name)) is None:
        raise _Bad(f"{name} is required")
    return value


def _whole(cells: Mapping[str, str], name: str) -> int | None:
    value = cells.get(name, "")
    if not value:
        return None
    if not _WHOLE.fullmatch(value):
        raise _Bad(
            f"{name} must be a whole number{' of minor units' if 'amount' in name else ''}: {value[:40]!r}"
        )
    return int(value)


def _required_whole(cells: Mapping[str, str], name: str) -> int:
    if (value := _whole(cells, name)) is None:
        raise _Bad(f"{name} is required")
    return value


def _major(cells: Mapping[str, str], name: str, currency: str) -> int:
    value = cells.get(name, "")
    if not value:
        raise _Bad(f"{name} is required")
    if not _DECIMAL.fullmatch(value):
        raise _Bad(f"{name} must be a decimal number like 199.00: {value[:40]!r}")
    try:
        return Money.from_decimal(value, currency).amount
    except ValueError as exc:
        raise _Bad(f"{name} {exc}") from exc


def _instant(cells: Mapping[str, str], name: str) -> datetime:
    value = cells.get(name, "")
    if not value:
        raise _Bad(f"{name} is required")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise _Bad(f"{name} must be an ISO 8601 time like 2026-03-01T10:00:00+08:00: {value[:40]!r}") from exc
    if parsed.utcoffset() is None:
        raise _Bad(f"{name} needs a time zone, like 2026-03-01T10:00:00+08:00 or 2026-03-01T02:00:00Z")
    try:
        parsed.astimezone(UTC)
    except OverflowError as exc:
        raise _Bad(f"{name} is out of range: {value!r}") from exc
    return parsed


def _currency(cells: Mapping[str, str]) -> str:
    value = cells.get("currency", "").upper()
    if not value:
        raise _Bad("currency is required")
    if not is_known_currency(value):
        raise _Bad(f"unknown currency {value[:10]!r} (ISO 4217 expected)")
    return value


def _click(cells: Mapping[str, str]) -> tuple[UUID, ...]:
    value = cells.get("click_id", "")
    try:
        return (UUID(value),) if value else ()
    except ValueError as exc:
        raise _Bad(f"click_id must be a UUID: {value[:40]!r}") from exc


def _shipping_address(cells: Mapping[str, str]) -> tuple[str | None, ...] | None:
    """The address parts, checked as the order API checks ``shipping_address``; None without one."""
    given = {field: cells[column] for column, field in SHIPPING_COLUMNS.items() if cells.get(column)}
    if not given:
        return None
    try:
        return msgspec.convert(given, ShippingAddress).parts()
    except msgspec.ValidationError as exc:
        message = str(exc)
        for column, field in SHIPPING_COLUMNS.items():
            message = message.replace(f"`$.{field}`", column).replace(f"`{field}`", column)
        raise _Bad(f"shipping address: {message}") from exc


def _identity(cells: Mapping[str, str], currency: str, secret: str | None) -> dict[str, object]:
    """The firewall's columns as ``OrderIntake`` fields, the address and IP hashed as the API does."""
    margin = (
        (_major(cells, "margin_amount_major", currency) if cells.get("margin_amount_major") else None)
        if "amount_major" in cells
        else _whole(cells, "margin_amount")
    )
    parts, ip = _shipping_address(cells), _text(cells, "customer_ip")
    if (parts is not None or ip is not None) and secret is None:
        raise _Bad("the shipping address and customer_ip need the service's secret to be hashed")
    try:
        address, ip_hash = identity_hashes(secret or "", address_parts=parts, customer_ip=ip)
    except ValueError as exc:
        raise _Bad(str(exc)) from exc
    return {
        "payment_fingerprint": _text(cells, "payment_fingerprint"),
        "device_id": _text(cells, "device_id"),
        "margin_amount": margin,
        "address_hash": address,
        "ip_hash": ip_hash,
    }


def _order(cells: Mapping[str, str], secret: str | None) -> OrderIntake:
    currency = _currency(cells)
    if "amount_major" in cells:
        amount = _major(cells, "amount_major", currency)
    else:
        amount = _required_whole(cells, "amount")
    return OrderIntake(
        external_id=_required(cells, "external_id"),
        customer_external_id=_required(cells, "customer_external_id"),
        amount=amount,
        currency=currency,
        placed_at=_instant(cells, "placed_at"),
        source=SOURCE,
        customer_email=_text(cells, "customer_email"),
        customer_name=_text(cells, "customer_name"),
        hints=Hints(
            _text(cells, "referral_code"),
            _text(cells, "coupon_code"),
            _click(cells),
            _text(cells, "lead_reference"),
        ),
        payment_reference=_text(cells, "payment_reference"),
        subscription_id=_text(cells, "subscription_id"),
        **_identity(cells, currency, secret),  # type: ignore[arg-type]
    )


def _line_item(cells: Mapping[str, str], currency: str) -> LineIn | None:
    unit = "unit_amount_major" if "amount_major" in cells else "unit_amount"
    sku = _text(cells, "sku")
    if sku is None:
        if any(cells.get(name) for name in ("quantity", unit, "category")):
            raise _Bad(f"quantity, {unit} and category belong to a line item: give its sku")
        return None
    quantity = _required_whole(cells, "quantity")
    if quantity > MAX_QUANTITY:
        raise _Bad(f"quantity {quantity} is too large")
    unit_amount = (
        _major(cells, unit, currency) if unit == "unit_amount_major" else _required_whole(cells, unit)
    )
    return LineIn(sku, quantity, unit_amount, _text(cells, "category"))


def continues_order(first: Mapping[str, str], cells: Mapping[str, str]) -> bool:
    """Whether ``cells`` is one more row (line item) of the order whose first row is ``first``."""
    return bool(first.get("external_id")) and cells.get("external_id") == first.get("external_id")


def order_from_rows(rows: Sequence[Row], *, secret: str | None = None) -> OrderIntake | Refusal:
    """One order from its consecutive rows: the order cells agree, each row adds one line item.

    ``secret`` keys the hashes of the shipping address and customer IP (the service's secret).
    """
    first_line, first = rows[0]
    order_columns = [c for c in ORDER_COLUMNS if c not in LINE_COLUMNS]
    for line, cells in rows[1:]:
        if differ := [c for c in order_columns if cells.get(c, "") != first.get(c, "")]:
            return _invalid(
                f"line {line} repeats order {first.get('external_id')} with a different "
                f"{', '.join(differ)} than line {first_line}"
            )
    try:
        intake = _order(first, secret)
    except _Bad as exc:
        return _invalid(_at(first_line, exc, rows))
    items = []
    for line, cells in rows:
        try:
            if (item := _line_item(cells, intake.currency)) is None and len(rows) > 1:
                raise _Bad("a repeated order row must add a line item (sku)")
        except _Bad as exc:
            return _invalid(_at(line, exc, rows))
        items += [item] if item else []
    return replace(intake, lines=tuple(items))


def _at(line: int, problem: _Bad, rows: Sequence[Row]) -> str:
    return f"line {line}: {problem}" if len(rows) > 1 else str(problem)


def event_from_row(cells: Mapping[str, str]) -> tuple[str, OrderEventIn] | Refusal:
    """The order's external id and the lifecycle event a row reports."""
    try:
        external_id = _required(cells, "order_external_id")
        try:
            event_type = OrderEventType(cells.get("type", "").lower())
        except ValueError as exc:
            names = ", ".join(t.value for t in OrderEventType)
            raise _Bad(f"type must be one of {names}: {cells.get('type', '')[:40]!r}") from exc
        amount = _whole(cells, "amount")
        if amount is not None and event_type not in _REFUNDS:
            raise _Bad("amount is given only for refunded and dispute_lost events")
        occurred_at = _instant(cells, "occurred_at")
        event_id = _text(cells, "event_id")
    except _Bad as exc:
        return _invalid(str(exc))
    return external_id, OrderEventIn(event_type, occurred_at, SOURCE, amount, event_id)
