"""Pure rules of partners: the lifecycle, checks of what an applicant or finance sends, credit tiers
and compliance gates. The only I/O is reading the blocked-country list, once per file."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
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


# Credit tiers: how long a partner's commission waits and how much of it may be payable at once.


class CreditTier(StrEnum):
    """A partner's credit tier, lowest first; every partner starts ``new``."""

    new = "new"
    standard = "standard"
    trusted = "trusted"

    @property
    def rank(self) -> int:
        return list(CreditTier).index(self)


@dataclass(frozen=True, slots=True)
class Promotion:
    """Move up to ``tier`` after ``paid_payouts`` paid payouts and ``days`` without a clawback."""

    tier: CreditTier
    paid_payouts: int
    days: int


@dataclass(frozen=True, slots=True)
class TierPolicy:
    """The tiers' holds (days), caps (minor units; per currency or for every currency) and promotions."""

    hold_days: Mapping[CreditTier, int] = field(default_factory=dict)
    caps: Mapping[CreditTier, Mapping[str, int]] = field(default_factory=dict)
    """``{"*": amount}`` caps every currency without an entry of its own."""
    promotions: tuple[Promotion, ...] = ()

    def hold_for(self, tier: CreditTier) -> int:
        """The tier's commission hold in days (0: the plan's hold alone)."""
        return self.hold_days.get(tier, 0)

    def cap_for(self, tier: CreditTier, currency: str) -> int | None:
        """The tier's cap on payable commission in ``currency`` (minor units), or None for no cap."""
        caps = self.caps.get(tier, {})
        return caps.get(currency, caps.get("*"))


def _tier(name: str, part: str) -> CreditTier:
    try:
        return CreditTier(name.strip())
    except ValueError:
        raise ValueError(f"{part!r}: unknown credit tier (new, standard or trusted)") from None


def _count(value: str, part: str, what: str) -> int:
    if not value.strip().isdigit():
        raise ValueError(f"{part!r}: {what} must be a whole number >= 0")
    return int(value)


def parse_tier_policy(*, hold_days: str, caps: str, promotions: str) -> TierPolicy:
    """The policy from its three settings; ``ValueError`` names the first part that is wrong.

    ``hold_days``: ``new:60,standard:30``; ``caps``: ``new:50000`` (every currency) or ``new:USD:50000``
    (``none`` for no cap); ``promotions``: ``standard:3:90`` (paid payouts, days), each tier above the last.
    """
    holds: dict[CreditTier, int] = {}
    for part in filter(None, (p.strip() for p in hold_days.split(","))):
        name, _, days = part.partition(":")
        holds[_tier(name, part)] = _count(days, part, "hold days")
        if holds[_tier(name, part)] > 365:
            raise ValueError(f"{part!r}: a hold is at most 365 days")
    tier_caps: dict[CreditTier, dict[str, int]] = {}
    for part in filter(None, (p.strip() for p in caps.split(","))):
        pieces = part.split(":")
        if len(pieces) not in (2, 3):
            raise ValueError(f"{part!r}: a cap is tier:amount or tier:CUR:amount")
        currency = pieces[1].strip() if len(pieces) == 3 else "*"
        if currency != "*" and not re.fullmatch(r"[A-Z]{3}", currency):
            raise ValueError(f"{part!r}: currency must be an upper-case ISO 4217 code")
        tier, amount = _tier(pieces[0], part), pieces[-1].strip()
        if amount != "none":
            tier_caps.setdefault(tier, {})[currency] = _count(amount, part, "the cap")
    steps: list[Promotion] = []
    for part in filter(None, (p.strip() for p in promotions.split(","))):
        pieces = part.split(":")
        if len(pieces) != 3:
            raise ValueError(f"{part!r}: a promotion is tier:paid_payouts:days")
        step = Promotion(
            _tier(pieces[0], part), _count(pieces[1], part, "paid payouts"), _count(pieces[2], part, "days")
        )
        if step.tier is CreditTier.new or (steps and step.tier.rank <= steps[-1].tier.rank):
            raise ValueError(f"{part!r}: promotions go up, to standard then trusted")
        steps.append(step)
    return TierPolicy(holds, tier_caps, tuple(steps))


def commission_hold_days(plan_hold_days: int, tier: CreditTier, policy: TierPolicy | None) -> int:
    """A commission waits the longer of its plan's hold and its partner's tier hold."""
    return max(plan_hold_days, policy.hold_for(tier) if policy else 0)


CAP_REASON_PREFIX = "waits for the partner's credit cap"
"""How a commission's reason starts while the cap keeps it pending (cleared when it moves)."""


def cap_problem(*, tier: CreditTier, cap: int | None, payable: int, amount: int, currency: str) -> str | None:
    """Why approving ``amount`` more would take the partner over its tier's cap, or None."""
    if cap is None or payable + amount <= cap:
        return None
    return (
        f"{CAP_REASON_PREFIX} ({tier.value} tier): {payable} {currency} payable plus {amount} would exceed "
        f"the cap of {cap} {currency} (minor units); it is approved once payouts bring the balance down"
    )


def promotion_for(
    tier: CreditTier,
    *,
    policy: TierPolicy,
    paid_payouts: int,
    approved_at: datetime | None,
    last_clawback_at: datetime | None,
    now: datetime,
) -> Promotion | None:
    """The highest promotion the partner has earned above ``tier`` (never a demotion), or None."""
    earned = None
    for step in policy.promotions:
        quiet_since = now - timedelta(days=step.days)
        if (
            step.tier.rank > tier.rank
            and paid_payouts >= step.paid_payouts
            and approved_at is not None
            and approved_at <= quiet_since
            and (last_clawback_at is None or last_clawback_at <= quiet_since)
        ):
            earned = step
    return earned


def promotion_reason(step: Promotion) -> str:
    return f"promoted: {step.paid_payouts} or more paid payouts and no clawback in the last {step.days} days"


# Compliance: what must be true before a partner is paid.


class Gate(StrEnum):
    """A compliance gate a partner must pass to be paid; the value is the payout run's skip reason."""

    identity_verified = "identity_not_verified"
    country_allowed = "country_blocked"
    payout_account = "no_payout_account"
    tax_form = "tax_form_missing"
    payout_account_verified = "payout_account_not_verified"


@dataclass(frozen=True, slots=True)
class ComplianceFacts:
    is_identity_verified: bool
    country: str | None
    has_account: bool
    has_tax_form: bool
    is_account_verified: bool


def failing_gates(facts: ComplianceFacts, *, blocked_countries: Collection[str]) -> tuple[Gate, ...]:
    """Every compliance gate ``facts`` fail, in the order a payout run checks them.

    A partner without a country on file passes the country gate: identity verification is where
    finance learns where the partner is.
    """
    failing = []
    if not facts.is_identity_verified:
        failing.append(Gate.identity_verified)
    if facts.country is not None and facts.country in blocked_countries:
        failing.append(Gate.country_allowed)
    if not facts.has_account:
        failing.append(Gate.payout_account)
    if facts.has_account and not facts.has_tax_form:
        failing.append(Gate.tax_form)
    if facts.has_account and not facts.is_account_verified:
        failing.append(Gate.payout_account_verified)
    return tuple(failing)


BLOCKED_COUNTRIES_FILE = Path(__file__).parent / "data" / "blocked_countries.txt"
"""The shipped list; ``GROWTH_BLOCKED_COUNTRIES_FILE`` may point at another file of the same format."""


@lru_cache(maxsize=8)
def load_blocked_countries(path: Path | str | None = None) -> frozenset[str]:
    """The countries listed in ``path`` (default: the shipped list), read once per file per process.

    One ISO 3166-1 alpha-2 code a line, upper case; ``#`` starts a comment. A line that is not a
    country code raises ``ValueError`` with its line number, so a broken update fails at start-up.
    """
    source = Path(path) if path else BLOCKED_COUNTRIES_FILE
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"blocked countries file {source}: {exc.strerror or exc}") from exc
    codes: set[str] = set()
    for number, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        if entry not in COUNTRIES:
            raise ValueError(f"{source}:{number}: not an upper-case ISO 3166-1 alpha-2 code: {entry[:20]!r}")
        codes.add(entry)
    return frozenset(codes)
