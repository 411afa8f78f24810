"""The audit log's pure rules: JSON-able values, masking secrets, the hash chain and the CSV export."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

GENESIS_HASH = "0" * 64
"""What the first entry's hash is chained to."""
MAX_LIMIT = 500
DEFAULT_LIMIT = 100

REDACTED = "[redacted]"
SECRET_FIELDS = frozenset({"secret", "key", "key_hash", "password", "token", "token_hash", "api_key"})
"""Fields never stored, whatever the caller passes: replaced by ``[redacted]``."""
ACCOUNT_FIELDS = frozenset({"account_number", "bank_account_number", "iban"})
"""Fields stored masked to their last four characters."""

ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
"""Dotted verbs: ``api_key.created``, ``payout_run.created``, ``partner.status_changed``."""
ACTION_FILTER_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?$")
"""An exact verb, or a prefix of whole dotted parts ending in ``.*``."""


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: UUIDs, decimals, enums and aware datetimes become strings.

    Floats are refused (money is integer minor units, and a float would not survive a round trip
    through PostgreSQL's ``jsonb`` unchanged, which the hash chain needs); so are naive datetimes.
    """
    if isinstance(value, Enum):
        return jsonable(value.value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        raise TypeError("floats are not stored in the audit log: use minor units or a string")
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise TypeError("naive datetime in an audit value: a timezone is required")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=canonical_json) if isinstance(value, set | frozenset) else items
    raise TypeError(f"{type(value).__name__} is not a JSON-able audit value")


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError("audit values are objects with string keys")
    return key


def mask_tail(value: str, keep: int = 4) -> str:
    """``****6789``: only the last ``keep`` characters (none of a value that short) are shown."""
    tail = value[-keep:] if len(value) > keep else ""
    return f"****{tail}"


def redact(value: Any) -> Any:
    """``value`` (JSON-able) with secrets replaced and account numbers masked, at any depth."""
    if isinstance(value, dict):
        return {k: _redacted_field(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _redacted_field(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name.lower() in SECRET_FIELDS:
        return REDACTED
    if name.lower() in ACCOUNT_FIELDS:
        return mask_tail(str(value))
    return redact(value)


def canonical_json(value: Any) -> str:
    """One text for one value: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


@dataclass(frozen=True, slots=True)
class EntryFacts:
    """An audit entry as the hash chain sees it (every column but the hash and the row timestamps)."""

    id: UUID
    sequence: int
    occurred_at: datetime
    actor_kind: str
    actor_id: str | None
    actor_name: str
    action: str
    subject_type: str
    subject_id: str
    before: Any
    after: Any
    request_id: str | None


def entry_hash(previous_hash: str, facts: EntryFacts) -> str:
    """SHA-256 over the previous entry's hash and this entry's canonical JSON."""
    body = canonical_json(
        {
            "id": str(facts.id),
            "sequence": facts.sequence,
            "occurred_at": facts.occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor_kind": facts.actor_kind,
            "actor_id": facts.actor_id,
            "actor_name": facts.actor_name,
            "action": facts.action,
            "subject_type": facts.subject_type,
            "subject_id": facts.subject_id,
            "before": facts.before,
            "after": facts.after,
            "request_id": facts.request_id,
        }
    )
    return hashlib.sha256(f"{previous_hash}\n{body}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    sequence: int
    """The sequence of the first entry that does not follow from the ones before it."""
    reason: str


@dataclass(slots=True)
class ChainWalk:
    """Verifies entries handed over in sequence order, a batch at a time; remembers the first break."""

    checked: int = 0
    previous_hash: str = GENESIS_HASH
    broken: ChainBreak | None = None

    def feed(self, entries: Iterable[tuple[EntryFacts, str]]) -> None:
        """Check ``(facts, stored hash)`` pairs that follow the ones fed before."""
        for facts, stored in entries:
            if self.broken is not None:
                return
            expected_sequence = self.checked + 1
            if facts.sequence != expected_sequence:
                self.broken = ChainBreak(
                    expected_sequence, f"entry {expected_sequence} is missing (next is {facts.sequence})"
                )
                return
            if entry_hash(self.previous_hash, facts) != stored:
                self.broken = ChainBreak(facts.sequence, f"entry {facts.sequence} does not match its hash")
                return
            self.checked, self.previous_hash = facts.sequence, stored


@dataclass(frozen=True, slots=True)
class Filters:
    """Which entries to read; every field that is set must match."""

    action: str | None = None
    action_is_prefix: bool = False
    """``action`` is a prefix (``payout.`` from ``payout.*``) rather than one exact verb."""
    subject_type: str | None = None
    subject_id: str | None = None
    actor_id: str | None = None
    request_id: str | None = None
    since: datetime | None = None
    """Inclusive lower bound of ``occurred_at``."""
    until: datetime | None = None
    """Exclusive upper bound of ``occurred_at``."""


def parse_filters(
    *,
    action: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    actor_id: str | None = None,
    request_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Filters:
    """Filters from query values; ``ValueError`` names the first one that makes no sense.

    ``action`` is one dotted verb (``payout_run.created``) or a prefix ending in ``.*`` (``payout.*``
    matches ``payout.confirmed`` and ``payout.sent``, not ``payout_run.created``).
    """
    is_prefix = False
    if action is not None:
        if len(action) > 100 or not ACTION_FILTER_PATTERN.fullmatch(action):
            raise ValueError(f"action must be a dotted verb or a prefix ending in '.*', not {action!r}")
        is_prefix = action.endswith(".*")
        action = action[:-1] if is_prefix else action
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and (moment.tzinfo is None or moment.utcoffset() is None):
            raise ValueError(f"{name} needs a time zone, e.g. 2026-11-20T08:00:00Z")
    if since is not None and until is not None and since > until:
        raise ValueError("since is after until")
    texts = {"subject_type": subject_type, "subject_id": subject_id, "actor_id": actor_id}
    for name, value in {**texts, "request_id": request_id}.items():
        if value is not None and not 0 < len(value) <= 100:
            raise ValueError(f"{name} must be 1 to 100 characters")
    return Filters(
        action=action,
        action_is_prefix=is_prefix,
        subject_type=subject_type,
        subject_id=subject_id,
        actor_id=actor_id,
        request_id=request_id,
        since=since.astimezone(UTC) if since else None,
        until=until.astimezone(UTC) if until else None,
    )


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_HEADER = (
    "sequence",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "actor_name",
    "action",
    "subject_type",
    "subject_id",
    "before",
    "after",
    "request_id",
    "entry_hash",
)


def spreadsheet_safe(cell: str) -> str:
    """Text a spreadsheet would run as a formula (``=`` ``+`` ``-`` ``@`` tab CR) gets a leading ``'``."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def csv_cells(facts: EntryFacts, stored_hash: str) -> list[str]:
    """One entry as CSV cells, every text cell spreadsheet-safe; JSON values as canonical JSON."""
    cells = [
        str(facts.sequence),
        facts.occurred_at.astimezone(UTC).isoformat(),
        facts.actor_kind,
        facts.actor_id or "",
        facts.actor_name,
        facts.action,
        facts.subject_type,
        facts.subject_id,
        "" if facts.before is None else canonical_json(facts.before),
        "" if facts.after is None else canonical_json(facts.after),
        facts.request_id or "",
        stored_hash,
    ]
    return [spreadsheet_safe(cell) for cell in cells]


def csv_text(rows: Iterable[Iterable[str]]) -> str:
    """Rows as CSV text with CRLF line ends (what spreadsheets expect)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()
