"""Pure rules of partners: the lifecycle, and checks of what an applicant or finance sends."""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import urlsplit

from babel import Locale

from growth.core.email import is_valid_email


class PartnerStatus(StrEnum):
    applied = "applied"
    approved = "approved"
    suspended = "suspended"
    closed = "closed"


TRANSITIONS: dict[PartnerStatus, frozenset[PartnerStatus]] = {
    PartnerStatus.applied: frozenset({PartnerStatus.approved, PartnerStatus.closed}),
    PartnerStatus.approved: frozenset({PartnerStatus.suspended, PartnerStatus.closed}),
    PartnerStatus.suspended: frozenset({PartnerStatus.approved, PartnerStatus.closed}),
    PartnerStatus.closed: frozenset(),
}
"""applied -> approved -> suspended <-> approved -> closed; an application may be declined (closed).
Closed is final."""

NEEDS_REASON = frozenset({PartnerStatus.suspended, PartnerStatus.closed})
"""Moves that stop a partner's codes are explained to whoever reads the record later."""

_NOT_COUNTRIES = frozenset({"ZZ", "EU", "EZ", "UN", "QO"})
"""Territories CLDR knows that are not countries (unknown region, EU, Eurozone, UN, Outlying Oceania)."""
COUNTRIES = frozenset(
    code
    for code in Locale("en").territories
    if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
)
"""ISO 3166-1 alpha-2 codes, from CLDR (Babel)."""


def may_share_links(status: PartnerStatus) -> bool:
    """Only an approved partner gets new referral codes (and registers leads)."""
    return status is PartnerStatus.approved


def transition_problem(current: PartnerStatus, target: PartnerStatus) -> str | None:
    """Why a partner cannot move from ``current`` to ``target``, or None (staying put is no move)."""
    if current is target or target in TRANSITIONS[current]:
        return None
    if current is PartnerStatus.closed:
        return "the partner is closed; closing is final"
    return f"a partner who is {current.value} cannot become {target.value}"


def reason_problem(target: PartnerStatus, reason: str | None) -> str | None:
    """Suspending or closing a partner needs a reason; other moves may have one."""
    if target in NEEDS_REASON and not (reason or "").strip():
        return f"say why the partner is {target.value} (reason)"
    return None


def reinstates_codes(current: PartnerStatus, target: PartnerStatus) -> bool:
    """Lifting a suspension gives back the codes the suspension revoked."""
    return current is PartnerStatus.suspended and target is PartnerStatus.approved


def revokes_codes(target: PartnerStatus) -> bool:
    """Suspending or closing a partner stops its codes (links stop redirecting, orders stop attributing)."""
    return target in (PartnerStatus.suspended, PartnerStatus.closed)


def releases_leads(target: PartnerStatus) -> bool:
    """A closed partner's leads stop holding their prospects, so other partners may register them."""
    return target is PartnerStatus.closed


def normalize_country(country: str | None) -> str | None:
    """``cn`` -> ``CN``; blank -> None."""
    cleaned = (country or "").strip().upper()
    return cleaned or None


def website_problem(website: str) -> str | None:
    """Why ``website`` is not an ``http(s)://host/...`` address, or None."""
    parts = urlsplit(website)
    if parts.scheme not in {"http", "https"} or not parts.hostname or "." not in parts.hostname:
        return "website must be an http:// or https:// address"
    if any(ch.isspace() for ch in website):
        return "website must not contain spaces"
    return None


def profile_problem(*, name: str, email: str, website: str | None, country: str | None) -> str | None:
    """Why a partner's name, e-mail, website or country cannot be stored, or None."""
    if not name.strip():
        return "name must not be blank"
    if not is_valid_email(email.strip()):
        return f"not an e-mail address: {email[:80]!r}"
    if website is not None and (problem := website_problem(website.strip())):
        return problem
    if country is not None and country not in COUNTRIES:
        return f"country must be an ISO 3166-1 alpha-2 code such as CN or DE, not {country[:10]!r}"
    return None
