"""The review queue pages' forms and the messages shown after a decision (post/redirect/get).

Pure, like ``rules.py``. A decision redirects back to the queue (or the order's page, after an error
there) with what happened in the query string: a notice with a count, or an error code. Only known
codes and small whole numbers are read back, so nothing typed into a URL is ever shown on the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode
from uuid import UUID

import msgspec

PAGES = "/marketing/reviews"
DECISIONS = {"approve": True, "reject": False}
"""The form's decision values, as ``approve`` for the service."""


class DecisionForm(msgspec.Struct, kw_only=True):
    """Approve or Reject on an order's page."""

    decision: str = ""
    note: str = ""


class BatchForm(msgspec.Struct, kw_only=True):
    """The ticked orders and what to do with them (one note for all)."""

    ids: list[UUID] | UUID = []
    """One ticked box arrives as a single value, several as a list."""
    decision: str = ""
    note: str = ""
    filter_campaign_id: str = ""

    @property
    def chosen(self) -> list[UUID]:
        return self.ids if isinstance(self.ids, list) else [self.ids]


def form_problem(decision: str, note: str, count: int = 1) -> str | None:
    """The error code of a form that cannot be sent to the service as it is, or None."""
    if count == 0:
        return "nothing_selected"
    if decision not in DECISIONS:
        return "choose_a_decision"
    if decision == "reject" and not note.strip():
        return "note_required"
    return None


def queue_url(filter_campaign_id: str, params: Mapping[str, object]) -> str:
    """The queue (still filtered by its campaign, if it was) with ``params`` in the query string."""
    query = {k: str(v) for k, v in params.items()}
    try:
        query = {"campaign_id": str(UUID(filter_campaign_id))} | query
    except ValueError:
        pass  # no filter, or not an id: the whole queue
    return f"{PAGES}?{urlencode(query)}" if query else PAGES


def detail_url(order_id: UUID, params: Mapping[str, object]) -> str:
    query = urlencode({k: str(v) for k, v in params.items()})
    return f"{PAGES}/{order_id}" + (f"?{query}" if query else "")


def after_decision(approve: bool, changed: int) -> dict[str, str]:
    """The notice of a decision on ``changed`` orders (0: they were already decided so)."""
    return {"notice": "approved" if approve else "declined", "count": str(changed)}


KNOWN_ERRORS = frozenset(
    {
        "nothing_selected",
        "choose_a_decision",
        "note_required",
        "invalid_review_decision",
        "review_not_found",
        "review_not_held",
        "review_already_decided",
    }
)


@dataclass(frozen=True, slots=True)
class QueueNotice:
    kind: str
    """``approved`` or ``declined``."""
    count: int


def _count(query: Mapping[str, str], key: str) -> int:
    value = query.get(key, "")
    return int(value) if value.isdigit() and len(value) <= 4 else 0


def read_notice(query: Mapping[str, str]) -> QueueNotice | None:
    """The notice named in the query string, with a small whole number."""
    kind = query.get("notice")
    if kind in ("approved", "declined"):
        return QueueNotice(kind, _count(query, "count"))
    return None


def read_error(query: Mapping[str, str]) -> str | None:
    """The error code named in the query string; an unknown code is not reflected."""
    code = query.get("error")
    if code is None:
        return None
    return code if code in KNOWN_ERRORS else "unknown"
