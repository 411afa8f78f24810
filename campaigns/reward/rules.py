"""Pure reward rules: what a rule may say, what a reward is worth, and how a reward moves.

A reward's life: ``pending`` (created when a referred order is attributed; the budget is reserved
when the order closes) -> ``approved`` (the hold period after closing has passed) -> ``issued``
(coupon handed out, credit posted, pack shipment requested) -> ``fulfilled`` (coupon used, pack
delivered). It ends ``voided`` (order refunded, cancelled or rejected by review) or ``not_granted``
(budget exhausted, cap reached, out of stock) with the reason.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from growth.core.money import Money

COUPON_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
COUPON_LENGTH = 10
MAX_REWARD_AMOUNT = 100_000_000_000


class Side(StrEnum):
    referee = "referee"
    """The friend: a welcome reward when arriving (coupons) or on the first qualifying order."""
    referrer = "referrer"
    """The customer who shared: a reward per referee's first qualifying order."""
    milestone = "milestone"
    """The referrer again, once, on reaching a number of successful referrals."""
    share = "share"
    """A customer whose hashtag post was approved (social-share campaigns)."""


class RewardType(StrEnum):
    percent_discount = "percent_discount"
    fixed_discount = "fixed_discount"
    store_credit = "store_credit"
    gift_pack = "gift_pack"
    free_sample = "free_sample"
    cash = "cash"

    @property
    def is_coupon(self) -> bool:
        return self in (RewardType.percent_discount, RewardType.fixed_discount)

    @property
    def ships(self) -> bool:
        return self in (RewardType.gift_pack, RewardType.free_sample)


class OutOfStock(StrEnum):
    wait = "wait"
    """Keep the reward waiting; it is granted when the pack is restocked."""
    store_credit = "store_credit"
    """Grant the rule's ``alternative_amount`` as store credit instead."""
    gift_pack = "gift_pack"
    """Grant the rule's ``alternative_sku`` instead (if that one is in stock)."""
    none = "none"
    """Do not grant it."""


class RewardStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    issued = "issued"
    fulfilled = "fulfilled"
    voided = "voided"
    not_granted = "not_granted"

    @property
    def is_final(self) -> bool:
        return self in (RewardStatus.fulfilled, RewardStatus.voided, RewardStatus.not_granted)

    @property
    def is_live(self) -> bool:
        """Counts as earned (for caps and milestones) unless it ended without value."""
        return self not in (RewardStatus.voided, RewardStatus.not_granted)


TRANSITIONS: dict[RewardStatus, frozenset[RewardStatus]] = {
    RewardStatus.pending: frozenset({RewardStatus.approved, RewardStatus.voided, RewardStatus.not_granted}),
    RewardStatus.approved: frozenset({RewardStatus.issued, RewardStatus.voided}),
    RewardStatus.issued: frozenset({RewardStatus.fulfilled, RewardStatus.voided}),
    RewardStatus.fulfilled: frozenset(),
    RewardStatus.voided: frozenset(),
    RewardStatus.not_granted: frozenset(),
}


def can_move(current: RewardStatus, target: RewardStatus) -> bool:
    """Whether a reward in ``current`` may become ``target``."""
    return target in TRANSITIONS[current]


class RewardOutcome(StrEnum):
    """What granting a reward came to, as the pages tell marketing."""

    granted = "granted"
    alternative = "alternative"
    """Granted as the rule's out-of-stock alternative (another pack, or store credit)."""
    waiting = "waiting"
    """The pack is out of stock and the rule waits: granted on restock."""
    budget_exhausted = "budget_exhausted"
    out_of_stock = "out_of_stock"
    not_granted = "not_granted"
    """Not granted for another reason (a referrer's cap)."""
    pending = "pending"
    voided = "voided"


def reward_outcome(
    status: RewardStatus, *, is_granted: bool, is_waiting_for_stock: bool, reason: str | None
) -> RewardOutcome:
    """What a reward came to: granted (perhaps as the alternative), waiting for a restock, or why not.

    The reasons are the service's own texts ("not granted: budget exhausted", "gift pack X out of
    stock: store credit instead"), so the words matched here are the ones it writes.
    """
    text = reason or ""
    if status is RewardStatus.voided:
        return RewardOutcome.voided
    if status is RewardStatus.not_granted:
        if "budget exhausted" in text:
            return RewardOutcome.budget_exhausted
        return RewardOutcome.out_of_stock if "out of stock" in text else RewardOutcome.not_granted
    if is_granted:
        is_alternative = text.endswith("instead") or text.startswith(STORE_CREDIT_CHOSEN)
        return RewardOutcome.alternative if is_alternative else RewardOutcome.granted
    return RewardOutcome.waiting if is_waiting_for_stock else RewardOutcome.pending


STORE_CREDIT_CHOSEN = "customer chose store credit instead of waiting for gift pack"
"""How the reason of a pack the customer took as store credit starts (it marks the choice as made)."""


def store_credit_chosen_reason(sku: str) -> str:
    """The reason recorded when the customer takes store credit instead of waiting for pack ``sku``."""
    return f"{STORE_CREDIT_CHOSEN} {sku}"


def has_chosen_store_credit(reward_type: RewardType, reason: str | None) -> bool:
    """Whether this reward is a pack its customer already took as store credit."""
    return reward_type is RewardType.store_credit and (reason or "").startswith(STORE_CREDIT_CHOSEN)


def store_credit_instead(*, alternative_amount: int | None, pack_value: int, currency: str) -> Money:
    """A waiting pack as store credit: the rule's alternative amount, else the pack's value."""
    return Money(alternative_amount or pack_value, currency)


def store_credit_problem(
    *, status: RewardStatus, reward_type: RewardType, is_waiting_for_stock: bool
) -> str | None:
    """Why this reward cannot be taken as store credit instead of waiting, or None."""
    if not reward_type.ships:
        return f"this reward is {reward_type.value.replace('_', ' ')}, not a gift pack"
    if status is not RewardStatus.pending or not is_waiting_for_stock:
        return f"this gift pack is {status.value.replace('_', ' ')} and not waiting for a restock"
    return None


# Which reward types each side may give.
ALLOWED_TYPES: dict[Side, frozenset[RewardType]] = {
    Side.referee: frozenset(RewardType),
    Side.referrer: frozenset(RewardType),
    Side.milestone: frozenset(RewardType) - {RewardType.percent_discount},
    Side.share: frozenset({RewardType.free_sample, RewardType.gift_pack, RewardType.store_credit}),
}


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """A reward rule as marketing writes it."""

    side: Side
    reward_type: RewardType
    amount: int | None = None
    rate_bps: int | None = None
    max_amount: int | None = None
    sku: str | None = None
    threshold: int | None = None
    out_of_stock: OutOfStock = OutOfStock.wait
    alternative_sku: str | None = None
    alternative_amount: int | None = None


def _positive(value: int | None) -> bool:
    return value is not None and 0 < value <= MAX_REWARD_AMOUNT


def rule_problem(spec: RuleSpec, *, campaign_kind: str) -> str | None:
    """Why ``spec`` is not a usable reward rule for a campaign of ``campaign_kind``, or None."""
    if spec.reward_type not in ALLOWED_TYPES[spec.side]:
        return f"a {spec.side} reward cannot be {spec.reward_type}"
    if campaign_kind == "social_share" and spec.side is not Side.share:
        return "a social_share campaign gives share rewards only"
    if campaign_kind != "social_share" and spec.side is Side.share:
        return "share rewards belong to social_share campaigns"
    if campaign_kind == "partner":
        return "partner programs pay commissions (payouts), not customer rewards"
    if (spec.threshold is not None) != (spec.side is Side.milestone):
        return "a threshold (number of referrals) is required for milestones and only for them"
    t = spec.reward_type
    if t is RewardType.percent_discount:
        if spec.rate_bps is None or not 1 <= spec.rate_bps <= 10_000:
            return "a percent discount needs rate_bps between 1 and 10000"
        if spec.amount is not None:
            return "a percent discount takes rate_bps, not amount"
        if spec.max_amount is not None and not _positive(spec.max_amount):
            return "max_amount must be positive"
    elif spec.rate_bps is not None or spec.max_amount is not None:
        return "rate_bps and max_amount are for percent discounts only"
    if t in (RewardType.fixed_discount, RewardType.store_credit, RewardType.cash) and not _positive(
        spec.amount
    ):
        return f"a {t} reward needs a positive amount (minor units)"
    if t.ships:
        if not spec.sku:
            return f"a {t} reward needs the sku that is shipped"
        if spec.amount is not None:
            return "a shipped reward is valued by its gift pack, not an amount"
        if spec.out_of_stock is OutOfStock.gift_pack and (
            not spec.alternative_sku or spec.alternative_sku == spec.sku
        ):
            return "out_of_stock gift_pack needs another alternative_sku"
        if spec.out_of_stock is OutOfStock.store_credit and not _positive(spec.alternative_amount):
            return "out_of_stock store_credit needs a positive alternative_amount"
    elif spec.sku is not None:
        return "only gift packs and samples have a sku"
    return None


def reward_value(spec: RuleSpec, *, order_amount: int | None, pack_value: int | None, currency: str) -> Money:
    """What granting ``spec`` costs, in the campaign's currency: the value counted against the budget."""
    t = spec.reward_type
    if t.ships:
        return Money(pack_value or 0, currency)
    if t is RewardType.percent_discount:
        if order_amount is None:
            return Money(spec.max_amount or 0, currency)
        value = Money(order_amount, currency).apply_bps(spec.rate_bps or 0)
        return Money(min(value.amount, spec.max_amount), currency) if spec.max_amount else value
    return Money(spec.amount or 0, currency)


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """What rewards need to know of the order that earns them (from ``order.*`` events)."""

    amount: int
    paid_amount: int
    refunded_amount: int
    status: str


def not_qualifying_reason(order: OrderFacts, *, min_order_amount: int, is_rejected: bool) -> str | None:
    """Why a referred order earns nothing, or None when it qualifies."""
    if is_rejected:
        return "attribution rejected"
    if order.amount < min_order_amount:
        return "order below the campaign's minimum amount"
    return None


def void_reason(order: OrderFacts, *, min_order_amount: int) -> str | None:
    """Why an order's event voids the rewards it earned, or None (a partial refund that keeps the minimum)."""
    if order.status == "cancelled":
        return "order cancelled"
    if order.status == "refunded" or (order.paid_amount and order.refunded_amount >= order.paid_amount):
        return "order refunded"
    if order.refunded_amount and order.paid_amount - order.refunded_amount < max(min_order_amount, 1):
        return "order partly refunded below the campaign's minimum amount"
    return None


@dataclass(frozen=True, slots=True)
class GrantDecision:
    is_granted: bool
    reason: str | None = None


def budget_decision(
    value: Money,
    *,
    budget_amount: int | None,
    budget_spent: int,
    cap: int | None,
    referrer_granted: int | None,
) -> GrantDecision:
    """Whether a reward worth ``value`` fits the campaign's budget and the referrer's cap."""
    if cap is not None and referrer_granted is not None and referrer_granted >= cap:
        return GrantDecision(False, "not granted: referrer cap reached")
    if budget_amount is not None and budget_spent + value.amount > budget_amount:
        return GrantDecision(False, "not granted: budget exhausted")
    return GrantDecision(True)


def approve_after(closed_at: datetime, hold_days: int) -> datetime:
    """When the hold period of an order closed at ``closed_at`` ends."""
    return closed_at + timedelta(days=hold_days)


def is_due(
    *,
    status: RewardStatus,
    is_granted: bool,
    approve_at: datetime | None,
    is_disputed: bool,
    is_held: bool,
    now: datetime,
) -> bool:
    """Whether a pending reward may be approved now: granted, hold passed, order not in dispute nor held
    for review (a held order's reward waits for a person's decision, whatever the hold period says)."""
    return (
        status is RewardStatus.pending
        and is_granted
        and approve_at is not None
        and approve_at <= now
        and not is_disputed
        and not is_held
    )


REVIEW_REASON_LENGTH = 300
"""The longest review reason kept on the row (its ``reason`` column)."""


def milestones_reached(thresholds: list[int], successful: int, already: set[int]) -> list[int]:
    """The milestone thresholds ``successful`` referrals reach that were not granted yet, lowest first."""
    return sorted(t for t in set(thresholds) if t <= successful and t not in already)


def generate_coupon_code() -> str:
    """A random 10-character coupon code from an alphabet without look-alikes (CSPRNG)."""
    return "".join(secrets.choice(COUPON_ALPHABET) for _ in range(COUPON_LENGTH))


def expected_date(
    *,
    status: RewardStatus,
    approve_at: datetime | None,
    issued_at: datetime | None,
    fulfilment_days: int,
    is_held: bool = False,
    ships: bool = True,
) -> datetime | None:
    """When the reward should reach its next stage, as shown to the customer (None: nothing expected).

    Pending: the end of the hold (none while the order is held for review: a person decides when).
    Issued: a shipped reward is expected ``fulfilment_days`` after the shipment was requested.
    """
    if status is RewardStatus.pending:
        return None if is_held else approve_at
    if status is RewardStatus.issued and ships and issued_at is not None and fulfilment_days:
        return issued_at + timedelta(days=fulfilment_days)
    return None


class DelayKind(StrEnum):
    """Why a reward is late (the values are ``growth.alert``'s alert kinds)."""

    gift_pack_not_shipped = "gift_pack_not_shipped"
    gift_pack_out_of_stock = "gift_pack_out_of_stock"
    reward_in_review = "reward_in_review"


@dataclass(frozen=True, slots=True)
class DelayFacts:
    """A reward as the delay check reads it."""

    status: RewardStatus
    reward_type: RewardType
    created_at: datetime
    has_order: bool
    approve_at: datetime | None
    approved_at: datetime | None
    issued_at: datetime | None
    is_waiting_for_stock: bool
    is_order_held: bool
    held_since: datetime | None
    """When the order's review held it (the firewall's ``reviewed_at``)."""
    is_shipped: bool
    """The pack's shipment left the warehouse (shipped or delivered)."""


@dataclass(frozen=True, slots=True)
class RewardDelay:
    kind: DelayKind
    expected_at: datetime


def reward_delay(
    facts: DelayFacts, *, fulfilment_days: int, review_days: int, now: datetime
) -> RewardDelay | None:
    """The reward's delay at ``now``: what is late and since when it was expected, or None when on time.

    - held for review longer than ``review_days``: ``reward_in_review``;
    - a pack waiting for restock ``fulfilment_days`` past the hold's end (or its grant, without an order):
      ``gift_pack_out_of_stock``;
    - a pack approved (waiting for the address) or issued (shipment requested) and not shipped
      ``fulfilment_days`` later: ``gift_pack_not_shipped``.
    """
    found: RewardDelay | None = None
    if facts.status is RewardStatus.pending and facts.is_order_held and facts.held_since is not None:
        found = RewardDelay(DelayKind.reward_in_review, facts.held_since + timedelta(days=review_days))
    elif facts.status is RewardStatus.pending and facts.is_waiting_for_stock and facts.reward_type.ships:
        start = facts.approve_at if facts.has_order else facts.created_at
        if start is not None:
            found = RewardDelay(DelayKind.gift_pack_out_of_stock, start + timedelta(days=fulfilment_days))
    elif facts.reward_type.ships and not facts.is_shipped:
        start = {RewardStatus.approved: facts.approved_at, RewardStatus.issued: facts.issued_at}.get(
            facts.status
        )
        if start is not None:
            found = RewardDelay(DelayKind.gift_pack_not_shipped, start + timedelta(days=fulfilment_days))
    return found if found is not None and found.expected_at < now else None
