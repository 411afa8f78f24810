"""The notification pages' forms, paging and filter links, and the notice shown after a re-send or a
deletion (post/redirect/get).

Pure, like ``rules.py``. A re-send redirects back to the delivery log (with its filters) and names the
outcome in the query string; only known words, a UUID and a three-digit status are read back, so
nothing typed into a URL is ever shown on the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode
from uuid import UUID

import msgspec

from growth.notification.rules import DeliveryStatus

EMAILS_PAGE = "/marketing/notifications/emails"
WEBHOOKS_PAGE = "/marketing/webhooks"
PAGE_SIZE = 50
MAX_PAGE = 20_000


@dataclass(frozen=True, slots=True)
class Paging:
    """Where a page is in a filtered list: its number, the number of pages and the neighbours' links."""

    page: int
    pages: int
    offset: int
    previous_url: str | None
    next_url: str | None


def paging(path: str, filters: Mapping[str, str | None], *, page: int, total: int, size: int) -> Paging:
    """Page ``page`` of ``total`` rows, ``size`` a page, with links that keep the ``filters``."""
    pages = max(1, -(-total // size))
    kept = {k: v for k, v in filters.items() if v}

    def url(n: int) -> str:
        query = urlencode(kept | ({"page": str(n)} if n > 1 else {}))
        return f"{path}?{query}" if query else path

    return Paging(
        page=page,
        pages=pages,
        offset=(page - 1) * size,
        previous_url=url(page - 1) if page > 1 else None,
        next_url=url(page + 1) if page < pages else None,
    )


class LogForm(msgspec.Struct, kw_only=True):
    """The log's filters, sent along by the Re-send button's form to come back to the same view."""

    endpoint_id: str = ""
    status: str = ""
    page: str = ""


class EndpointForm(msgspec.Struct, kw_only=True):
    """Register an endpoint: its URL and the ticked notification kinds."""

    url: str = ""
    event_kinds: list[str] | str = []
    """One ticked box arrives as a single value, several as a list."""

    @property
    def kinds(self) -> list[str]:
        return self.event_kinds if isinstance(self.event_kinds, list) else [self.event_kinds]


def _uuid(value: str) -> str | None:
    try:
        return str(UUID(value))
    except ValueError:
        return None


def webhooks_url(form: LogForm, params: Mapping[str, str]) -> str:
    """The delivery log, filtered as the form says (unknown values dropped), with ``params``."""
    query: dict[str, str] = {}
    if endpoint_id := _uuid(form.endpoint_id):
        query["endpoint_id"] = endpoint_id
    if form.status in DeliveryStatus.__members__:
        query["status"] = form.status
    if form.page.isdigit() and 1 < int(form.page) <= MAX_PAGE:
        query["page"] = str(int(form.page))
    query |= params
    return f"{WEBHOOKS_PAGE}?{urlencode(query)}" if query else WEBHOOKS_PAGE


def after_resend(delivery_id: UUID, status: str, status_code: int | None) -> dict[str, str]:
    """The notice of a re-send: the delivery, whether the endpoint took it, and what it answered."""
    notice = {"resent": "delivered" if status == DeliveryStatus.delivered else "not_delivered"}
    notice["delivery"] = str(delivery_id)
    if status_code is not None:
        notice["code"] = str(status_code)
    return notice


@dataclass(frozen=True, slots=True)
class ResendNotice:
    is_delivered: bool
    delivery_id: str | None
    status_code: int | None
    """The endpoint's HTTP status; None when it could not be reached."""


def read_notice(query: Mapping[str, str]) -> ResendNotice | None:
    """The re-send notice named in the query string, or None."""
    outcome = query.get("resent")
    if outcome not in ("delivered", "not_delivered"):
        return None
    code = query.get("code", "")
    status_code = int(code) if code.isdigit() and len(code) == 3 else None
    return ResendNotice(outcome == "delivered", _uuid(query.get("delivery", "")), status_code)


def is_endpoint_deleted(query: Mapping[str, str]) -> bool:
    """Whether the query string says an endpoint was just deleted."""
    return query.get("done") == "endpoint_deleted"


KNOWN_ERRORS = frozenset(
    {"webhook_delivery_not_found", "webhook_endpoint_not_found", "invalid_webhook_endpoint"}
)


def read_error(query: Mapping[str, str]) -> str | None:
    """The error code named in the query string; an unknown code is not reflected."""
    code = query.get("error")
    if code is None:
        return None
    return code if code in KNOWN_ERRORS else "unknown"
