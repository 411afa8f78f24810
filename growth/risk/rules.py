"""The risk firewall's scoring. Pure: facts about a referred order in, ``allow``, ``hold`` or ``reject`` out.

``hold`` keeps the order's rewards and commissions pending until a person reviews it, ``reject``
voids them with the reasons, ``allow`` lets them proceed. Each rule has a per-campaign action
(``off``, ``hold`` or ``reject``, named as the rule's code) and its numbers in ``Thresholds``;
every rule that fires is listed, and the verdict is the most severe of them.

An unattributed order (method ``none``) is always allowed, with no reason: the firewall guards
rewards and commissions, such an order earns neither, so a hold would only fill the review queue
with orders that have nothing to decide.

Money is in integer minor units of the order's currency and ratios in basis points; no float.
The only I/O is reading the disposable e-mail domain list, once per file.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from uuid import UUID

from growth.attribution.rules import Method
from growth.core.money import BPS_PER_UNIT, currency_exponent

DISPOSABLE_DOMAINS_FILE = Path(__file__).parent / "data" / "disposable_domains.txt"
"""The shipped list; a setting may point ``load_disposable_domains`` at another file of the same format."""


class Verdict(StrEnum):
    """What happens to the order's rewards and commissions; members in order of severity."""

    allow = "allow"
    hold = "hold"
    reject = "reject"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {verdict: rank for rank, verdict in enumerate(Verdict)}
_VERDICT_LABELS = {Verdict.allow: "allowed", Verdict.hold: "held for review", Verdict.reject: "rejected"}


def most_severe(verdicts: Iterable[Verdict]) -> Verdict:
    """The most severe of ``verdicts``; ``allow`` when there are none."""
    return max(verdicts, key=lambda verdict: verdict.severity, default=Verdict.allow)


class Action(StrEnum):
    """What a campaign does when a rule fires."""

    off = "off"
    hold = "hold"
    reject = "reject"


class Rule(StrEnum):
    """The rules, by the code their reason carries; reasons are listed in this order."""

    self_referral_same_customer = "self_referral_same_customer"
    self_referral_same_email = "self_referral_same_email"
    self_referral_same_payment = "self_referral_same_payment"
    self_referral_same_address = "self_referral_same_address"
    self_referral_same_device = "self_referral_same_device"
    self_referral_same_ip = "self_referral_same_ip"
    duplicate_identity_payment = "duplicate_identity_payment"
    duplicate_identity_address = "duplicate_identity_address"
    duplicate_identity_device = "duplicate_identity_device"
    disposable_email = "disposable_email"
    velocity_referrer = "velocity_referrer"
    velocity_partner = "velocity_partner"
    amount_above_usual = "amount_above_usual"
    reward_above_margin = "reward_above_margin"
    coupon_leakage = "coupon_leakage"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """One campaign's rules: each rule's action, under the rule's code, and the rules' numbers.

    The defaults are the program's. Build a campaign's from its stored JSON with ``from_overrides``.
    """

    self_referral_same_customer: Action = Action.reject
    self_referral_same_email: Action = Action.reject
    self_referral_same_payment: Action = Action.reject
    self_referral_same_address: Action = Action.hold
    self_referral_same_device: Action = Action.hold
    self_referral_same_ip: Action = Action.hold
    duplicate_identity_payment: Action = Action.hold
    duplicate_identity_address: Action = Action.hold
    duplicate_identity_device: Action = Action.hold
    disposable_email: Action = Action.hold
    velocity_referrer: Action = Action.hold
    velocity_partner: Action = Action.hold
    amount_above_usual: Action = Action.hold
    reward_above_margin: Action = Action.hold
    coupon_leakage: Action = Action.hold

    same_ip_minutes: int = 30
    """An order from the referral click's IP this many minutes or less from the click is a self-referral."""
    duplicate_identity_min: int = 2
    """Fires when at least this many *other* referees of the referrer share the card, address or device."""
    velocity_max_orders: int = 10
    """Referred orders allowed per referrer in the window, this one included; one more fires."""
    partner_velocity_max_orders: int = 50
    """Referred orders allowed per partner in the window, this one included; one more fires."""
    velocity_window_hours: int = 24
    """The rolling window of both velocity rules; the service counts the other orders over it."""
    amount_max_ratio_bps: int = 50_000
    """An order above this ratio of the campaign's median order amount fires (50 000 bps = 5x)."""
    amount_min_sample: int = 20
    """The amount rule waits until the campaign has at least this many other orders."""
    coupon_max_customers: int = 5
    """Customers allowed to use one coupon without a click on its referrer's link; one more fires."""

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, _checked_setting(f.name, getattr(self, f.name)))

    def action(self, rule: Rule) -> Action:
        """What this campaign does when ``rule`` fires."""
        action: Action = getattr(self, rule.value)
        return action

    @classmethod
    def from_overrides(
        cls, overrides: Mapping[str, object] | None, *, base: Thresholds | None = None
    ) -> Thresholds:
        """``base`` (the defaults) with a campaign's stored overrides; raises ``ValueError`` naming a bad key.

        Program-wide defaults from settings layer the same way:
        ``Thresholds.from_overrides(campaign, base=Thresholds.from_overrides(program))``.
        """
        start = base if base is not None else cls()
        if overrides is None:
            return start
        if not isinstance(overrides, Mapping):
            raise ValueError(
                f"risk settings must be an object of setting names, not {type(overrides).__name__}"
            )
        for key in overrides:
            if key not in _SETTING_NAMES:
                raise ValueError(f"unknown risk setting {key!r}")
        return replace(start, **overrides)

    def as_dict(self) -> dict[str, str | int]:
        """Every setting as JSON-able values; ``from_overrides`` reads it back."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}


_SETTING_NAMES = frozenset(f.name for f in fields(Thresholds))
_MINIMUMS = {"duplicate_identity_min": 1, "velocity_window_hours": 1}
"""At zero these two would fire on every order (or count nothing); the other numbers may be 0."""


def _plain(value: object) -> str | int:
    if isinstance(value, Action):
        return value.value
    assert isinstance(value, int)
    return value


def _checked_setting(name: str, value: object) -> Action | int:
    if name in Rule.__members__:
        if isinstance(value, str) and value in Action.__members__:
            return Action(value)
        raise ValueError(f"risk setting {name!r} must be one of off, hold, reject; got {value!r}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"risk setting {name!r} must be a whole number; got {value!r}")
    minimum = _MINIMUMS.get(name, 0)
    if value < minimum:
        raise ValueError(f"risk setting {name!r} must be at least {minimum}; got {value}")
    return value


@dataclass(frozen=True, slots=True)
class ReviewFacts:
    """Everything the rules look at, as plain values gathered by the service.

    Amounts are minor units of ``currency`` (the campaign's, which attribution made sure of).
    Counts named ``other_*`` never include this order or its customer.
    """

    # The order.
    customer_id: UUID
    amount: int
    currency: str
    placed_at: datetime
    method: Method
    """How the order was attributed; ``none`` is allowed without looking further."""
    email_key: str | None = None
    """The customer's mailbox key (``growth.core.email.normalize_email``)."""
    payment_fingerprint: str | None = None
    """Stripe's card fingerprint of the payment, when the shop or Stripe sends one."""
    address_hash: str | None = None
    """``address_hash`` of the shipping address."""
    device_id: str | None = None
    """The shop's device id, if it sends one."""
    ip_hash: str | None = None
    """``growth.click.rules.hash_ip`` of the buyer's IP, keyed like the clicks'."""
    margin_amount: int | None = None
    """The order's margin, when the shop sends costs; unknown: the margin rule does not fire."""
    coupon_code: str | None = None
    """The referral coupon typed at checkout, if the order came with one."""
    rewards_amount: int = 0
    """Rewards and commissions the order would grant, in total."""

    # The attribution. ``referrer_*`` describe whoever is credited: the referring customer, or the
    # partner's own contact when the order is a partner's.
    referrer_customer_id: UUID | None = None
    referrer_email_key: str | None = None
    referrer_payment_fingerprints: frozenset[str] = frozenset()
    """Card fingerprints of the referrer's own orders."""
    referrer_address_hashes: frozenset[str] = frozenset()
    """Shipping address hashes of the referrer's own orders."""
    referrer_device_ids: frozenset[str] = frozenset()
    """Device ids of the referrer's own orders."""
    partner_id: UUID | None = None
    click_ip_hash: str | None = None
    clicked_at: datetime | None = None
    """The click on the credited code that came with the order: the winning click, or for a coupon or
    code attribution the latest click on the same code among the order's clicks; None without one."""

    # The history.
    other_referees_same_payment: int = 0
    """Other customers referred by the same referrer who paid with ``payment_fingerprint``."""
    other_referees_same_address: int = 0
    """Other customers referred by the same referrer who shipped to ``address_hash``."""
    other_referees_same_device: int = 0
    """Other customers referred by the same referrer who ordered from ``device_id``."""
    referrer_other_orders_in_window: int = 0
    """The referrer's other referred orders placed in the ``velocity_window_hours`` before this one."""
    partner_other_orders_in_window: int = 0
    """The partner's other referred orders placed in the ``velocity_window_hours`` before this one."""
    campaign_median_amount: int | None = None
    """Median amount of the campaign's other orders; None before it has any."""
    campaign_order_count: int = 0
    """How many other orders ``campaign_median_amount`` was taken over."""
    coupon_other_unrelated_customers: int = 0
    """Other customers who used ``coupon_code`` without a click on its referrer's link."""


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule that fired: its code, what it does to the order, and why, with the figures."""

    code: Rule
    verdict: Verdict
    message: str
    """English, with the figures: ``12 referred orders for this referrer in 24 h; the limit is 10``."""
    details: Mapping[str, object] = field(default_factory=dict, hash=False)
    """The figures as JSON-able values (str, int, None)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code.value,
            "verdict": self.verdict.value,
            "message": self.message,
            "details": dict(self.details),
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict (the most severe reason's, ``allow`` without one) and every reason that fired."""

    verdict: Verdict
    reasons: tuple[Reason, ...] = ()

    @classmethod
    def from_reasons(cls, reasons: Iterable[Reason]) -> Decision:
        listed = tuple(reasons)
        return cls(most_severe(reason.verdict for reason in listed), listed)

    @property
    def codes(self) -> tuple[Rule, ...]:
        return tuple(reason.code for reason in self.reasons)

    def explanation(self) -> str:
        """One line for the attribution explanation."""
        if not self.reasons:
            return "Risk check: allowed; no rule fired."
        listed = " ".join(f"{r.code} ({r.verdict}): {r.message}." for r in self.reasons)
        return f"Risk check: {_VERDICT_LABELS[self.verdict]}. {listed}"

    def as_dict(self) -> dict[str, object]:
        """JSON-able, to store next to the attribution."""
        return {"verdict": self.verdict.value, "reasons": [reason.as_dict() for reason in self.reasons]}


_Hit = tuple[str, dict[str, object]]
_Check = Callable[[ReviewFacts, Thresholds, Collection[str]], _Hit | None]


def score(facts: ReviewFacts, thresholds: Thresholds, *, disposable_domains: Collection[str]) -> Decision:
    """The verdict on an order and every reason that fired, in ``Rule`` order."""
    if facts.method is Method.none:
        return Decision(Verdict.allow)
    reasons: list[Reason] = []
    for rule in Rule:
        action = thresholds.action(rule)
        if action is Action.off:
            continue
        hit = _CHECKS[rule](facts, thresholds, disposable_domains)
        if hit is not None:
            message, details = hit
            reasons.append(Reason(rule, Verdict(action.value), message, details))
    return Decision.from_reasons(reasons)


# The rules, each alone: None when it does not fire, else the message and its figures.


def _same_customer(f: ReviewFacts, t: Thresholds, domains: Collection[str]) -> _Hit | None:
    if f.referrer_customer_id is None or f.referrer_customer_id != f.customer_id:
        return None
    return "the referrer is the customer who placed the order", {"customer_id": str(f.customer_id)}


def _same_email(f: ReviewFacts, t: Thresholds, domains: Collection[str]) -> _Hit | None:
    if f.email_key is None or f.email_key != f.referrer_email_key:
        return None
    # The address itself stays out of the message: explanations are shown on the dashboard.
    return "the referrer and the customer have the same e-mail address", {}


def _same_payment(f: ReviewFacts, t: Thresholds, domains: Collection[str]) -> _Hit | None:
    if f.payment_fingerprint is None or f.payment_fingerprint not in f.referrer_payment_fingerprints:
        return None
    return (
        "the order was paid with a card the referrer paid their own orders with",
        {"payment_fingerprint": f.payment_fingerprint},
    )


def _same_address(f: ReviewFacts, t: Thresholds, domains: Collection[str]) -> _Hit | None:
    if f.address_hash is None or f.address_hash not in f.referrer_address_hashes:
        return None
    return (
        "the order ships to an address the referrer's own orders shipped to",
        {"address_hash": f.address_hash},
    )


def _same_device(f: ReviewFacts, t: Thresholds, domains: Collection[str]) -> _Hit | None:
    if f.device_id is None or f.device_id not in f.referrer_device_ids:
        return None
    return "the order was placed from a device the referrer ordered from", {"device_id": f.device_id}


def _same_ip(f: ReviewFacts, t: Thresholds, domains: Collection[str]) -> _Hit | None:
    if f.ip_hash is None or f.clicked_at is None or f.ip_hash != f.click_ip_hash:
        return None
    # abs(): the shop's clock and ours may disagree by a little.
    elapsed = abs(f.placed_at - f.clicked_at)
    if elapsed > timedelta(minutes=t.same_ip_minutes):
        return None
    minutes = elapsed // timedelta(minutes=1)
    return (
        f"the order came from the IP address of the referral click, {minutes} min apart; "
        f"the window is {t.same_ip_minutes} min",
        {"minutes_apart": minutes, "window_minutes": t.same_ip_minutes},
    )


def _shared(value: str | None, others: int, t: Thresholds, what: str) -> _Hit | None:
    if value is None or others < t.duplicate_identity_min:
        return None
    return (
        f"{others} other referees of this referrer {what}; the threshold is {t.duplicate_identity_min}",
        {"other_referees": others, "threshold": t.duplicate_identity_min},
    )


def _duplicate_payment(f: ReviewFacts, t: Thresholds, domains: Collection[str]) -> _Hit | None:
    return _shared(f.payment_fingerprint, f.other_referees_same_payment, t, "paid with the same card")


def _duplicate_address(f: ReviewFacts, t: Thresholds, domains: Collection[str]) -> _Hit | None:
    return _shared(f.address_hash, f.other_referees_same_address, t, "ship to the same address")


def _duplicate_device(f: ReviewFacts, t: Thresholds, domains: Collection[str]) -> _Hit | None:
    return _shared(f.device_id, f.other_referees_same_device, t, "ordered from the same device")


def _disposable_email(f: ReviewFacts, t: Thresholds, domains: Collection[str]) -> _Hit | None:
    if f.email_key is None:
        return None
    domain = _clean_domain(f.email_key)
    listed = _listed_domain(domain, domains)
    if listed is None:
        return None
    return (
        f"the e-mail address is at {domain}, a disposable e-mail domain",
        {"domain": domain, "listed_domain": listed},
    )


def _velocity(others: int, limit: int, t: Thresholds, whom: str) -> _Hit | None:
    orders = others + 1
    if orders <= limit:
        return None
    hours = t.velocity_window_hours
    return (
        f"{orders} referred orders for this {whom} in {hours} h; the limit is {limit}",
        {"orders": orders, "limit": limit, "window_hours": hours},
    )


def _velocity_referrer(f: ReviewFacts, t: Thresholds, domains: Collection[str]) -> _Hit | None:
    if f.referrer_customer_id is None:
        return None
    return _velocity(f.referrer_other_orders_in_window, t.velocity_max_orders, t, "referrer")


def _velocity_partner(f: ReviewFacts, t: Thresholds, domains: Collection[str]) -> _Hit | None:
    if f.partner_id is None:
        return None
    return _velocity(f.partner_other_orders_in_window, t.partner_velocity_max_orders, t, "partner")


def _amount_above_usual(f: ReviewFacts, t: Thresholds, domains: Collection[str]) -> _Hit | None:
    median = f.campaign_median_amount
    # A median of zero (mostly free orders) gives no usual amount to compare with.
    if median is None or median <= 0 or f.campaign_order_count < t.amount_min_sample:
        return None
    if f.amount * BPS_PER_UNIT <= median * t.amount_max_ratio_bps:
        return None
    # Rounded up, so that an order just over the limit never reads as "5.00x; the limit is 5x".
    hundredths = -(-f.amount * 100 // median)
    return (
        f"the order amount of {_money(f.amount, f.currency)} is {hundredths // 100}.{hundredths % 100:02d}x "
        f"the campaign's median of {_money(median, f.currency)} over {f.campaign_order_count} orders; "
        f"the limit is {_ratio(t.amount_max_ratio_bps)}x",
        {
            "amount": f.amount,
            "median_amount": median,
            "currency": f.currency,
            "sample": f.campaign_order_count,
            "limit_bps": t.amount_max_ratio_bps,
        },
    )


def _reward_above_margin(f: ReviewFacts, t: Thresholds, domains: Collection[str]) -> _Hit | None:
    margin = f.margin_amount
    if margin is None or f.rewards_amount <= 0 or f.rewards_amount <= margin:
        return None
    return (
        f"the rewards and commissions of {_money(f.rewards_amount, f.currency)} exceed "
        f"the order's margin of {_money(margin, f.currency)}",
        {"rewards_amount": f.rewards_amount, "margin_amount": margin, "currency": f.currency},
    )


def _coupon_leakage(f: ReviewFacts, t: Thresholds, domains: Collection[str]) -> _Hit | None:
    # A customer who clicked the referrer's link was referred by them, whatever became of the coupon.
    # A partner's code is meant to be typed by many clients it never sent a link (velocity_partner
    # watches partners): only a customer's referral coupon leaks.
    if f.coupon_code is None or f.clicked_at is not None or f.referrer_customer_id is None:
        return None
    customers = f.coupon_other_unrelated_customers + 1
    if customers <= t.coupon_max_customers:
        return None
    return (
        f"coupon {f.coupon_code} has been used by {customers} customers without a click on its "
        f"referrer's link; the limit is {t.coupon_max_customers}",
        {"coupon_code": f.coupon_code, "customers": customers, "limit": t.coupon_max_customers},
    )


_CHECKS: Mapping[Rule, _Check] = {
    Rule.self_referral_same_customer: _same_customer,
    Rule.self_referral_same_email: _same_email,
    Rule.self_referral_same_payment: _same_payment,
    Rule.self_referral_same_address: _same_address,
    Rule.self_referral_same_device: _same_device,
    Rule.self_referral_same_ip: _same_ip,
    Rule.duplicate_identity_payment: _duplicate_payment,
    Rule.duplicate_identity_address: _duplicate_address,
    Rule.duplicate_identity_device: _duplicate_device,
    Rule.disposable_email: _disposable_email,
    Rule.velocity_referrer: _velocity_referrer,
    Rule.velocity_partner: _velocity_partner,
    Rule.amount_above_usual: _amount_above_usual,
    Rule.reward_above_margin: _reward_above_margin,
    Rule.coupon_leakage: _coupon_leakage,
}


def _money(amount: int, currency: str) -> str:
    return f"{Decimal(amount).scaleb(-currency_exponent(currency))} {currency}"


def _ratio(bps: int) -> str:
    """Basis points as a ratio without trailing zeros: 50000 -> ``5``, 25000 -> ``2.5``."""
    whole, fraction = divmod(bps, BPS_PER_UNIT)
    return f"{whole}.{fraction:04d}".rstrip("0").rstrip(".")


# Shipping addresses: one spelling per address, kept only as a keyed hash.

_SEPARATORS = re.compile(r"[\W_]+")
_CJK = "\u2e80-\u2fdf\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SPACE_NEXT_TO_CJK = re.compile(rf" (?=[{_CJK}])|(?<=[{_CJK}]) ")


def normalize_address(parts: Iterable[str | None]) -> str:
    """One spelling per address: width, accents and case folded, punctuation and spacing collapsed.

    ``parts`` are the address lines, postal code, city, region and country, in that order; empty
    parts are skipped, so moving "Apt 4" from line 1 to line 2 changes nothing.
    """
    words: list[str] = []
    for part in parts:
        if not part:
            continue
        decomposed = unicodedata.normalize("NFKD", part)
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
        if cleaned := _SEPARATORS.sub(" ", folded).strip():
            words.append(cleaned)
    # Chinese and Japanese addresses are written without spaces and often typed with a few.
    return _SPACE_NEXT_TO_CJK.sub("", " ".join(words))


def address_hash(secret: str, parts: Iterable[str | None]) -> str | None:
    """A keyed hash of the normalized address: equal addresses match, the address cannot be read back."""
    normalized = normalize_address(parts)
    if not normalized:
        return None
    return hmac.new(secret.encode(), f"address:{normalized}".encode(), hashlib.sha256).hexdigest()


# Disposable e-mail domains.

_DOMAIN = re.compile(r"(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}")


def _clean_domain(email_or_domain: str) -> str:
    return email_or_domain.strip().rpartition("@")[2].rstrip(".").lower()


def _listed_domain(email_domain: str, domains: Collection[str]) -> str | None:
    labels = _clean_domain(email_domain).split(".")
    # Parents down to the registrable name; a bare top-level domain is never a match.
    for start in range(len(labels) - 1):
        candidate = ".".join(labels[start:])
        if candidate in domains:
            return candidate
    return None


def is_disposable(email_domain: str, domains: Collection[str]) -> bool:
    """True when the domain (or an address's domain) is listed in ``domains``, or is a subdomain of one."""
    return _listed_domain(email_domain, domains) is not None


@lru_cache(maxsize=8)
def load_disposable_domains(path: Path | str | None = None) -> frozenset[str]:
    """The domains listed in ``path`` (default: the shipped list), read once per file per process.

    One domain per line, lower-cased; ``#`` starts a comment. A line that is not a domain name
    raises ``ValueError`` with its line number, so a broken update fails at start-up.
    """
    source = Path(path) if path is not None else DISPOSABLE_DOMAINS_FILE
    domains: set[str] = set()
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        entry = line.split("#", 1)[0].strip().lower().rstrip(".")
        if not entry:
            continue
        if _DOMAIN.fullmatch(entry) is None:
            raise ValueError(f"{source}:{number}: not a domain name: {entry!r}")
        domains.add(entry)
    return frozenset(domains)


# The review queue: a person's decision on a held order.


class ReviewStatus(StrEnum):
    """An order review's status: the rules' (``allowed``, ``held``, ``rejected``), then a person's."""

    allowed = "allowed"
    held = "held"
    rejected = "rejected"
    approved = "approved"
    declined = "declined"


class Move(StrEnum):
    """What a reviewer's decision does to a review."""

    change = "change"
    unchanged = "unchanged"
    """The same decision again (a retried request or a double click): nothing to do."""
    not_held = "not_held"
    """The rules did not hold the order: there is nothing for a person to decide."""
    conflict = "conflict"
    """Already decided the other way."""


MAX_NOTE_LENGTH = 2000


def decided_status(approve: bool) -> ReviewStatus:
    """What a held review becomes: ``approved`` or ``declined``."""
    return ReviewStatus.approved if approve else ReviewStatus.declined


def decision_move(current: ReviewStatus, approve: bool) -> Move:
    """Held moves to approved or declined; the same decision again is no move; anything else refuses."""
    if current is ReviewStatus.held:
        return Move.change
    if current is decided_status(approve):
        return Move.unchanged
    if current in (ReviewStatus.approved, ReviewStatus.declined):
        return Move.conflict
    return Move.not_held


def clean_note(note: str | None, approve: bool) -> str | None:
    """The reviewer's note, trimmed (None when empty); ``ValueError`` when it cannot go with the decision."""
    text = (note or "").strip()
    if any((ord(ch) < 32 and ch not in "\n\r\t") or ord(ch) == 127 for ch in text):
        raise ValueError("the note may not contain control characters")
    if not approve and not text:
        raise ValueError("a note is required to decline an order: say why")
    if len(text) > MAX_NOTE_LENGTH:
        raise ValueError(f"the note is longer than {MAX_NOTE_LENGTH} characters ({len(text)})")
    return text or None


def review_line(approve: bool, decided_by: str, note: str | None) -> str:
    """The sentence appended to the attribution's explanation: ``Review: approved by <who>: <note>.``"""
    line = f"Review: {decided_status(approve).value} by {decided_by}"
    if note is None:
        return f"{line}."
    return f"{line}: {note}" + ("" if note[-1] in ".!?。！？" else ".")


# What a review means for what the order earns (rewards in ``campaigns``, commissions in ``payouts``).


class ReviewEffect(StrEnum):
    """What an order's review does to the rewards and commissions it earns."""

    proceed = "proceed"
    """``allowed`` by the rules or ``approved`` by a person (or never reviewed): as usual."""
    hold = "hold"
    """``held``: pending, never approved, until a person decides."""
    void = "void"
    """``rejected`` by the rules or ``declined`` by a person: rewards voided, commissions reversed to 0
    (clawed back once approved), with the reason."""


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    effect: ReviewEffect
    reason: str | None = None
    """Why they are held or voided (None: they proceed)."""


REVIEW_HELD = "held for review by the risk check"
REVIEW_REJECTED = "rejected by the risk check"
REVIEW_DECLINED = "declined in review"


def is_review_reason(reason: str | None) -> bool:
    """Whether ``reason`` was written by ``review_outcome``: it names the rules that fired or a
    reviewer's note, which are for staff, never for the partner or customer."""
    return reason is not None and reason.startswith((REVIEW_HELD, REVIEW_REJECTED, REVIEW_DECLINED))


def review_outcome(
    status: str | None, *, reasons: Sequence[str], note: str | None, max_length: int
) -> ReviewOutcome:
    """What an order's review status (``order_reviews.status``; None: not reviewed) means for what it
    earns; the reason is cut to ``max_length`` (the column that keeps it)."""
    codes = ", ".join(reasons) or "no reason given"
    if status == ReviewStatus.held:
        return ReviewOutcome(ReviewEffect.hold, f"{REVIEW_HELD}: {codes}"[:max_length])
    if status == ReviewStatus.rejected:
        text = f"{REVIEW_REJECTED}: {codes}"
    elif status == ReviewStatus.declined:
        text = f"{REVIEW_DECLINED}: {note.strip() if note and note.strip() else 'no note given'}"
    else:
        return ReviewOutcome(ReviewEffect.proceed)
    return ReviewOutcome(ReviewEffect.void, text[:max_length])
