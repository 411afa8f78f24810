"""The risk firewall's use case: gather an attributed order's facts and history, score them, and keep
the decision (``order_reviews``), so every attributed order passes review before it earns anything."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from growth.attribution.models import Attribution
from growth.attribution.rules import Method
from growth.audit import service as audit_service
from growth.core.audit_port import Actor
from growth.core.email import mask_email
from growth.core.errors import DomainError
from growth.core.events.service import publish
from growth.core.ports import (
    CampaignTermsLookup,
    EstimateFacts,
    EstimateLine,
    RewardsEstimate,
    no_rewards_estimate,
)
from growth.customer.models import Customer
from growth.customer.rules import initials
from growth.order.models import Order
from growth.risk import repository
from growth.risk.errors import InvalidReviewDecision, ReviewAlreadyDecided, ReviewNotFound, ReviewNotHeld
from growth.risk.models import OrderReview
from growth.risk.rules import (
    Decision,
    Move,
    ReviewEffect,
    ReviewFacts,
    ReviewStatus,
    Thresholds,
    Verdict,
    clean_note,
    decided_status,
    decision_move,
    is_review_reason,
    load_disposable_domains,
    review_line,
    review_outcome,
    score,
)

# What rewards and commissions read a review with, and tell apart the reasons it wrote.
__all__ = ["ReviewEffect", "is_review_reason", "review_outcome"]

log = structlog.get_logger()
STATUS_OF = {Verdict.allow: "allowed", Verdict.hold: "held", Verdict.reject: "rejected"}
DECIDED_BY_PEOPLE = ("approved", "declined")
"""Statuses a person set: a later re-score never changes them."""


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    """The program's side of the firewall: its default rules, its disposable domains, and how to
    estimate what an order would grant. The app factory builds one from settings (``configured``)."""

    program: Thresholds = field(default_factory=Thresholds)
    """The program's rules and thresholds, under every campaign's overrides."""
    disposable_domains: frozenset[str] = field(default_factory=load_disposable_domains)
    estimate: RewardsEstimate = no_rewards_estimate
    """The rewards and commissions an order would grant (``ReviewFacts.rewards_amount``)."""

    @classmethod
    def configured(
        cls,
        risk_settings: str,
        disposable_domains_file: str,
        *,
        estimate: RewardsEstimate = no_rewards_estimate,
    ) -> RiskPolicy:
        """From the settings' text; ``ValueError`` naming the setting and what is wrong with it."""
        return cls(program_thresholds(risk_settings), disposable_domains(disposable_domains_file), estimate)

    def thresholds(self, campaign_overrides: Mapping[str, object] | None) -> Thresholds:
        """A campaign's rules: its overrides over the program's."""
        return Thresholds.from_overrides(campaign_overrides, base=self.program)


def program_thresholds(risk_settings: str) -> Thresholds:
    """``GROWTH_RISK_SETTINGS`` (a JSON object; empty: none) over the built-in defaults."""
    if not risk_settings.strip():
        return Thresholds()
    try:
        overrides = json.loads(risk_settings)
    except json.JSONDecodeError as exc:
        raise ValueError(f"GROWTH_RISK_SETTINGS is not JSON: {exc}") from exc
    try:
        return Thresholds.from_overrides(overrides)
    except ValueError as exc:
        raise ValueError(f"GROWTH_RISK_SETTINGS: {exc}") from exc


def disposable_domains(path: str) -> frozenset[str]:
    """The domains listed in ``GROWTH_DISPOSABLE_DOMAINS_FILE`` (empty: the shipped list)."""
    try:
        return load_disposable_domains(Path(path) if path.strip() else None)
    except (OSError, ValueError) as exc:
        raise ValueError(f"GROWTH_DISPOSABLE_DOMAINS_FILE: {exc}") from exc


def effective_settings(
    campaign_overrides: Mapping[str, object] | None, *, program: Thresholds
) -> dict[str, str | int]:
    """Every rule action and threshold a campaign runs with, its overrides over ``program``."""
    return Thresholds.from_overrides(campaign_overrides, base=program).as_dict()


def checked_overrides(overrides: Mapping[str, Any]) -> dict[str, str | int]:
    """A campaign's overrides as stored: the keys given, checked (``ValueError`` names a bad key or value)."""
    whole = Thresholds.from_overrides(overrides).as_dict()
    return {key: whole[key] for key in overrides}


def _median(amounts: Sequence[int]) -> int | None:
    """The lower median: an amount some order really had (no halves, no floats)."""
    if not amounts:
        return None
    ordered = sorted(amounts)
    return ordered[(len(ordered) - 1) // 2]


async def gather_facts(
    session: AsyncSession,
    *,
    order: Order,
    customer: Customer,
    attribution: Attribution,
    click_ids: Sequence[UUID],
    coupon_code: str | None,
    thresholds: Thresholds,
    estimate: RewardsEstimate = no_rewards_estimate,
    now: datetime | None = None,
) -> ReviewFacts:
    """Everything the rules look at, read from the order, its attribution and the history."""
    method = Method(attribution.method)
    referrer_id = attribution.customer_referrer_id
    referrer = await session.get(Customer, referrer_id) if referrer_id else None
    payments, addresses, devices = (
        await repository.own_identities(session, referrer_id) if referrer_id else (set(), set(), set())
    )
    click = None
    if attribution.referral_code_id is not None:
        wanted = [attribution.click_id] if attribution.click_id else list(click_ids)
        click = await repository.latest_click(
            session, referral_code_id=attribution.referral_code_id, click_ids=wanted, before=order.placed_at
        )

    async def sharing(column: object, value: str | None) -> int:
        if referrer_id is None or value is None:
            return 0
        return await repository.other_referees_sharing(
            session,
            referrer_id=referrer_id,
            customer_id=customer.id,
            column=column,
            value=value,  # type: ignore[arg-type]
        )

    since = order.placed_at - timedelta(hours=thresholds.velocity_window_hours)
    window = {"order_id": order.id, "since": since, "until": order.placed_at}
    amounts = (
        await repository.campaign_amounts(
            session, campaign_id=attribution.campaign_id, currency=order.currency, order_id=order.id
        )
        if attribution.campaign_id
        else []
    )
    typed_code = method in (Method.coupon, Method.referral_code) and attribution.referral_code_id is not None
    estimate_facts = EstimateFacts(
        order_id=order.id,
        amount=order.amount,
        currency=order.currency,
        placed_at=order.placed_at,
        method=method.value,
        campaign_id=attribution.campaign_id,
        customer_referrer_id=referrer_id,
        partner_id=attribution.partner_id,
        lines=tuple(EstimateLine(*line) for line in await repository.order_lines(session, order.id)),
        at=now,
    )
    return ReviewFacts(
        customer_id=customer.id,
        amount=order.amount,
        currency=order.currency,
        placed_at=order.placed_at,
        method=method,
        email_key=customer.email_key,
        payment_fingerprint=order.payment_fingerprint,
        address_hash=order.address_hash,
        device_id=order.device_id,
        ip_hash=order.ip_hash,
        margin_amount=order.margin_amount,
        coupon_code=coupon_code if typed_code else None,
        rewards_amount=await estimate(session, estimate_facts) if method is not Method.none else 0,
        referrer_customer_id=referrer_id,
        referrer_email_key=referrer.email_key if referrer else None,
        referrer_payment_fingerprints=frozenset(payments),
        referrer_address_hashes=frozenset(addresses),
        referrer_device_ids=frozenset(devices),
        partner_id=attribution.partner_id,
        click_ip_hash=click.ip_hash if click else None,
        clicked_at=click.clicked_at if click else None,
        other_referees_same_payment=await sharing(Order.payment_fingerprint, order.payment_fingerprint),
        other_referees_same_address=await sharing(Order.address_hash, order.address_hash),
        other_referees_same_device=await sharing(Order.device_id, order.device_id),
        referrer_other_orders_in_window=(
            await repository.referred_orders_between(session, referrer_id=referrer_id, **window)
            if referrer_id
            else 0
        ),
        partner_other_orders_in_window=(
            await repository.referred_orders_between(session, partner_id=attribution.partner_id, **window)
            if attribution.partner_id
            else 0
        ),
        campaign_median_amount=_median(amounts),
        campaign_order_count=len(amounts),
        coupon_other_unrelated_customers=(
            await repository.code_users_without_click(
                session, referral_code_id=attribution.referral_code_id, customer_id=customer.id
            )
            if typed_code and attribution.referral_code_id
            else 0
        ),
    )


async def review_order(
    session: AsyncSession,
    *,
    order: Order,
    customer: Customer,
    attribution: Attribution,
    click_ids: Sequence[UUID] = (),
    coupon_code: str | None = None,
    thresholds: Thresholds,
    disposable_domains: Collection[str],
    estimate: RewardsEstimate = no_rewards_estimate,
    now: datetime,
) -> tuple[OrderReview, Decision]:
    """Score the attributed order and keep the decision; the attribution's explanation says it too."""
    facts = await gather_facts(
        session,
        order=order,
        customer=customer,
        attribution=attribution,
        click_ids=click_ids,
        coupon_code=coupon_code,
        thresholds=thresholds,
        estimate=estimate,
        now=now,
    )
    decision = score(facts, thresholds, disposable_domains=disposable_domains)
    review = OrderReview(
        order_id=order.id,
        verdict=decision.verdict.value,
        reasons=[reason.as_dict() for reason in decision.reasons],
        status=STATUS_OF[decision.verdict],
        reviewed_at=now,
    )
    session.add(review)
    if decision.reasons:
        attribution.explanation = f"{attribution.explanation} {decision.explanation()}"
        log.info(
            "risk.order_reviewed",
            order_id=str(order.id),
            verdict=decision.verdict.value,
            reasons=[r.code.value for r in decision.reasons],
        )
    return review, decision


async def get_review(session: AsyncSession, order_id: UUID) -> OrderReview | None:
    """The firewall's (and any person's) decision on an order."""
    return await repository.get_review(session, order_id)


async def rescore_order(
    session: AsyncSession,
    order: Order,
    *,
    terms_lookup: CampaignTermsLookup,
    policy: RiskPolicy,
    now: datetime,
) -> OrderReview | None:
    """Score an attributed order again on what is known now (a card fingerprint that came later).

    Only a more severe verdict changes the review (allowed -> held or rejected, held -> rejected),
    never a person's decision; a change publishes ``order.review_decided``. Running it again on the
    same facts changes nothing. Returns the review when it changed.
    """
    review = await repository.get_review(session, order.id, for_update=True)
    if review is None or review.status in DECIDED_BY_PEOPLE:
        return None
    attribution = await repository.attribution_of(session, order.id)
    customer = await session.get(Customer, order.customer_id)
    if attribution is None or customer is None:
        return None
    hints = order.content.get("hints") or {}
    terms = await terms_lookup(session, attribution.campaign_id) if attribution.campaign_id else None
    thresholds = policy.thresholds(terms.risk_overrides if terms else None)
    facts = await gather_facts(
        session,
        order=order,
        customer=customer,
        attribution=attribution,
        click_ids=[UUID(c) for c in hints.get("click_ids") or []],
        coupon_code=typed_code(hints.get("coupon_code"), hints.get("referral_code")),
        thresholds=thresholds,
        estimate=policy.estimate,
        now=now,
    )
    decision = score(facts, thresholds, disposable_domains=policy.disposable_domains)
    if decision.verdict.severity <= Verdict(review.verdict).severity:
        return None
    previous = review.status
    review.verdict, review.status = decision.verdict.value, STATUS_OF[decision.verdict]
    review.reasons = [reason.as_dict() for reason in decision.reasons]
    review.reviewed_at = now
    attribution.explanation = f"{attribution.explanation} Scored again: {decision.explanation()}"
    codes = [reason.code.value for reason in decision.reasons]
    payload = {"order_id": str(order.id), "external_id": order.external_id, "status": review.status}
    payload |= {"previous_status": previous, "note": None, "decided_by": None, "reasons": codes}
    await publish(session, ORDER_REVIEW_DECIDED, payload, now=now)
    log.info("risk.order_rescored", order_id=str(order.id), status=review.status, previous=previous)
    return review


def typed_code(coupon_code: str | None, referral_code: str | None) -> str | None:
    """The code typed at checkout as the firewall compares it: the coupon, else the referral code."""
    return (coupon_code or "").strip().upper() or (referral_code or "").strip().upper() or None


# ------------------------------------------------------------------------------------- review queue

RELATED_PER_KIND = 20
"""How many related orders of each kind the queue shows per reviewed order."""
MAX_BATCH = 200
"""How many orders one bulk decision may name."""
ORDER_REVIEW_DECIDED = "order.review_decided"


@dataclass(frozen=True, slots=True)
class RelatedOrder:
    """Another order that shares a card, address or device with the reviewed one, or its referrer."""

    kind: str
    """``same_payment``, ``same_address``, ``same_device``, ``same_referrer`` or ``same_partner``."""
    order_id: UUID
    external_id: str
    amount: int
    """Minor units of ``currency``."""
    currency: str
    placed_at: datetime
    order_status: str
    review_status: str | None
    """Its own review's status; None when it was not attributed (never reviewed)."""


@dataclass(frozen=True, slots=True)
class ReviewView:
    """An order under review as the queue shows it: signals, order, attribution and related orders.

    The customer is shown by initials and a masked e-mail only; ``related`` lists, per kind that
    applies to the order (it has a card fingerprint, an address, ...), at most ``RELATED_PER_KIND``
    other orders, newest first.
    """

    review: OrderReview
    order: Order
    attribution: Attribution
    customer_initials: str | None
    customer_email: str | None
    referrer_external_id: str | None
    referrer_initials: str | None
    campaign_name: str | None
    related: dict[str, list[RelatedOrder]]


@dataclass(frozen=True, slots=True)
class DecisionResult:
    """One order's review after a decision; ``is_changed`` is False for a repeated decision."""

    review: OrderReview
    previous_status: str
    is_changed: bool


async def _related(
    session: AsyncSession, rows: Sequence[tuple[Order, Attribution]]
) -> dict[UUID, dict[str, list[RelatedOrder]]]:
    """The related orders of every reviewed order, one query per kind for the whole page."""
    keys = {
        order.id: {
            "same_payment": order.payment_fingerprint,
            "same_address": order.address_hash,
            "same_device": order.device_id,
            "same_referrer": attribution.customer_referrer_id,
            "same_partner": attribution.partner_id,
        }
        for order, attribution in rows
    }
    related: dict[UUID, dict[str, list[RelatedOrder]]] = {order_id: {} for order_id in keys}
    for kind in repository.RELATED_COLUMNS:
        values = {k[kind] for k in keys.values() if k[kind] is not None}
        if not values:
            continue
        # One more than shown: the reviewed order itself may be among the newest.
        found: dict[object, list[Row[Any]]] = {}
        for row in await repository.related_orders(
            session, kind=kind, values=values, per_value=RELATED_PER_KIND + 1
        ):
            found.setdefault(row.key, []).append(row)
        for order_id, k in keys.items():
            if k[kind] is None:
                continue
            others = [r for r in found.get(k[kind], []) if r.order_id != order_id][:RELATED_PER_KIND]
            related[order_id][kind] = [
                RelatedOrder(
                    kind,
                    r.order_id,
                    r.external_id,
                    r.amount,
                    r.currency,
                    r.placed_at,
                    r.order_status,
                    r.review_status,
                )
                for r in others
            ]
    return related


async def _views(
    session: AsyncSession,
    rows: Sequence[tuple[OrderReview, Order, Attribution, Customer, Customer | None]],
    terms_lookup: CampaignTermsLookup,
) -> list[ReviewView]:
    related = await _related(session, [(order, attribution) for _, order, attribution, _, _ in rows])
    names: dict[UUID, str | None] = {}
    for campaign_id in {a.campaign_id for _, _, a, _, _ in rows if a.campaign_id is not None}:
        terms = await terms_lookup(session, campaign_id)
        names[campaign_id] = terms.name if terms else None
    return [
        ReviewView(
            review=review,
            order=order,
            attribution=attribution,
            customer_initials=None if customer.is_deleted else initials(customer.name),
            customer_email=None if customer.is_deleted else mask_email(customer.email),
            referrer_external_id=referrer.external_id if referrer and not referrer.is_deleted else None,
            referrer_initials=initials(referrer.name) if referrer and not referrer.is_deleted else None,
            campaign_name=names.get(attribution.campaign_id) if attribution.campaign_id else None,
            related=related[order.id],
        )
        for review, order, attribution, customer, referrer in rows
    ]


async def list_queue(
    session: AsyncSession,
    *,
    terms_lookup: CampaignTermsLookup,
    status: ReviewStatus = ReviewStatus.held,
    campaign_id: UUID | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[ReviewView]:
    """The review queue: orders whose review is in ``status`` (held by default), oldest first."""
    rows = await repository.queue_rows(
        session, status=status.value, campaign_id=campaign_id, limit=limit, offset=offset
    )
    return await _views(session, rows, terms_lookup)


async def queue_campaigns(
    session: AsyncSession, *, terms_lookup: CampaignTermsLookup, status: ReviewStatus
) -> list[tuple[UUID, str]]:
    """The campaigns the queue in ``status`` can be filtered by: (id, name), by name."""
    choices = []
    for campaign_id in await repository.queue_campaign_ids(session, status=status.value):
        terms = await terms_lookup(session, campaign_id)
        choices.append((campaign_id, terms.name if terms else str(campaign_id)))
    return sorted(choices, key=lambda choice: choice[1].casefold())


@dataclass(frozen=True, slots=True)
class ReviewQueue:
    """The queue page's content: the orders, and the campaigns to filter them by."""

    rows: list[ReviewView]
    campaigns: list[tuple[UUID, str]]


async def review_queue(
    session: AsyncSession,
    *,
    terms_lookup: CampaignTermsLookup,
    status: ReviewStatus = ReviewStatus.held,
    campaign_id: UUID | None = None,
    limit: int = 100,
) -> ReviewQueue:
    """The queue as marketing's page shows it, with the campaigns of the orders in ``status``."""
    rows = await list_queue(
        session, terms_lookup=terms_lookup, status=status, campaign_id=campaign_id, limit=limit
    )
    return ReviewQueue(rows, await queue_campaigns(session, terms_lookup=terms_lookup, status=status))


async def review_detail(
    session: AsyncSession, order_id: UUID, *, terms_lookup: CampaignTermsLookup
) -> ReviewView:
    """One order's review with its signals and related orders, or ``ReviewNotFound``."""
    rows = await repository.queue_rows(session, order_ids=[order_id], limit=1)
    if not rows:
        raise ReviewNotFound(f"order {order_id} has no review (unknown, or not attributed)")
    return (await _views(session, rows, terms_lookup))[0]


def _checked_batch(
    order_ids: Sequence[UUID], note: str | None, approve: bool
) -> tuple[list[UUID], str | None]:
    try:
        cleaned = clean_note(note, approve)
    except ValueError as exc:
        raise InvalidReviewDecision(str(exc)) from exc
    wanted = list(dict.fromkeys(order_ids))  # a repeated id is the same decision, taken once
    if not wanted or len(wanted) > MAX_BATCH:
        raise InvalidReviewDecision(f"name 1 to {MAX_BATCH} orders to decide, not {len(wanted)}")
    return wanted, cleaned


def _refused(reviews: dict[UUID, OrderReview], moves: dict[UUID, Move]) -> DomainError | None:
    """All or nothing: the error naming every order the decision cannot apply to, or None."""
    refused = {i: reviews[i].status for i, move in moves.items() if move in (Move.not_held, Move.conflict)}
    if not refused:
        return None
    listed = ", ".join(f"{i} ({status})" for i, status in refused.items())
    details = {"order_ids": [str(i) for i in refused], "statuses": {str(i): s for i, s in refused.items()}}
    if all(moves[i] is Move.conflict for i in refused):
        return ReviewAlreadyDecided(f"already decided the other way: {listed}", **details)
    return ReviewNotHeld(f"only held orders can be decided; not held: {listed}", **details)


async def decide_many(
    session: AsyncSession,
    *,
    order_ids: Sequence[UUID],
    approve: bool,
    note: str | None,
    actor: Actor,
    now: datetime,
) -> list[DecisionResult]:
    """Approve or decline held orders, all or none; the same decision again is a quiet success.

    Each change is told in the attribution's explanation, published as ``order.review_decided``
    and recorded in the audit log (``order_review.approved`` / ``order_review.declined``).
    """
    wanted, cleaned = _checked_batch(order_ids, note, approve)
    reviews = {r.order_id: r for r in await repository.lock_reviews(session, wanted)}
    if missing := [str(i) for i in wanted if i not in reviews]:
        raise ReviewNotFound(f"no review for order(s) {', '.join(missing)}", order_ids=missing)
    moves = {i: decision_move(ReviewStatus(reviews[i].status), approve) for i in wanted}
    if error := _refused(reviews, moves):
        raise error
    changing = [i for i in wanted if moves[i] is Move.change]
    orders = await repository.orders_and_attributions(session, changing)
    decided_by = actor.name[:200]
    for order_id in changing:
        order, attribution = orders[order_id]
        review = reviews[order_id]
        review.status = decided_status(approve).value
        review.decided_by, review.decided_at, review.note = decided_by, now, cleaned
        attribution.explanation = f"{attribution.explanation} {review_line(approve, decided_by, cleaned)}"
        await publish(
            session,
            ORDER_REVIEW_DECIDED,
            {
                "order_id": str(order_id),
                "external_id": order.external_id,
                "status": review.status,
                "previous_status": ReviewStatus.held.value,
                "note": cleaned,
                "decided_by": decided_by,
                "reasons": [reason["code"] for reason in review.reasons],
            },
            now=now,
        )
    # The audit entries last: record() holds the chain's lock until the transaction ends.
    for order_id in changing:
        await audit_service.record(
            session,
            action=f"order_review.{decided_status(approve).value}",
            subject_type="order_review",
            subject_id=str(order_id),
            before={"status": ReviewStatus.held.value},
            after=audit_service.snapshot(reviews[order_id], "status", "note", "decided_by"),
            actor=actor,
            now=now,
        )
    if changing:
        log.info("risk.orders_decided", status=decided_status(approve).value, count=len(changing))
    return [
        DecisionResult(
            reviews[i],
            ReviewStatus.held.value if moves[i] is Move.change else reviews[i].status,
            moves[i] is Move.change,
        )
        for i in wanted
    ]


async def decide(
    session: AsyncSession, *, order_id: UUID, approve: bool, note: str | None, actor: Actor, now: datetime
) -> DecisionResult:
    """Approve or decline one held order (a note is required to decline); see ``decide_many``."""
    results = await decide_many(
        session, order_ids=[order_id], approve=approve, note=note, actor=actor, now=now
    )
    return results[0]
