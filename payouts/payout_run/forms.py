"""Finance's payout-run pages: the create form, its default period, and the notices after an action.

Pure, like ``rules.py``. A refused form re-renders the page with the error's code and status; a done
action redirects (post/redirect/get) with a notice named in the query string. Only known notice codes
are read back, so nothing typed into a URL is ever shown on the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from uuid import UUID

import msgspec

from growth.core.time import to_local

PAGES = "/finance/payouts"
NOTICES = frozenset({"created", "executing", "confirmed"})


class RunForm(msgspec.Struct, kw_only=True):
    """Create the run of a month (``YYYY-MM``) in a currency."""

    period: str = ""
    currency: str = ""


def previous_period(now: datetime, tz: str) -> str:
    """The month before ``now``'s month in the zone ``tz``, as ``YYYY-MM``: the run finance usually makes."""
    local = to_local(now, tz)
    year, month = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
    return f"{year:04d}-{month:02d}"


def cleaned(form: RunForm, *, default_currency: str) -> RunForm:
    """The form as the service takes it: trimmed, the currency upper-case (empty: the default)."""
    return RunForm(
        period=form.period.strip()[:20], currency=(form.currency.strip().upper() or default_currency)[:10]
    )


def run_url(run_id: UUID, notice: str | None = None) -> str:
    return f"{PAGES}/{run_id}" + (f"?notice={notice}" if notice else "")


def read_notice(query: Mapping[str, str]) -> str | None:
    """The notice named in the query string, if it is one of ours."""
    notice = query.get("notice")
    return notice if notice in NOTICES else None
