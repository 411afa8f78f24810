"""Reward use cases: rules, welcome coupons, and the lifecycle driven by ``growth``'s order events.

Every handler is idempotent: rewards are found again by their ``grant_key``, and a status only
moves forward (``rules.can_move``), so replaying any event changes nothing. Budget and stock are
reserved under row locks (campaign, then gift pack), so concurrent grants cannot overspend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from campaigns.campaign.models import Campaign
from campaigns.gift_pack import service as gift_pack_service
from campaigns.reward import repository
from campaigns.reward.errors import (
    CouponNotFound,
    InvalidRewardRule,
    NoShareReward,
    NoWelcomeReward,
    RewardNotAwaitingAddress,
    RewardNotFound,
    RewardNotWaitingForStock,
    RewardRuleNotFound,
    StoreCreditNotAvailable,
    WelcomeNotAllowed,
)
from campaigns.reward.models import Reward, RewardRule
from campaigns.reward.rules import (
    REVIEW_REASON_LENGTH,
    DelayFacts,
    OrderFacts,
    OutOfStock,
    RewardStatus,
    RewardType,
    RuleSpec,
    Side,
    approve_after,
    budget_decision,
    can_move,
    expected_date,
    generate_coupon_code,
    has_chosen_store_credit,
    is_due,
    milestones_reached,
    not_qualifying_reason,
    reward_delay,
    reward_value,
    rule_problem,
    store_credit_chosen_reason,
    store_credit_instead,
    store_credit_problem,
    void_reason,
)
from growth.alert import service as alert_service
from growth.core.events.service import DomainEvent, publish
from growth.core.money import Money
from growth.core.ports import RewardFacts
from growth.customer import service as customer_service
from growth.ledger import service as ledger_service
from growth.order import service as order_service
from growth.referral_code import service as referral_code_service
from growth.risk import service as risk_service

log = structlog.get_logger()

# Order events that can change a reward: closing starts the hold; the others may void or pause it.
ORDER_EVENTS = (
    "order.closed",
    "order.refunded",
    "order.cancelled",
    "order.disputed",
    "order.dispute_won",
    "order.dispute_lost",
)


def spec_of(rule: RewardRule) -> RuleSpec:
    """The rule row as the pure rules read it."""
    return RuleSpec(
        side=Side(rule.side),
        reward_type=RewardType(rule.reward_type),
        amount=rule.amount,
        rate_bps=rule.rate_bps,
        max_amount=rule.max_amount,
        sku=rule.sku,
        threshold=rule.threshold,
        out_of_stock=OutOfStock(rule.out_of_stock),
        alternative_sku=rule.alternative_sku,
        alternative_amount=rule.alternative_amount,
    )


# ---------------------------------------------------------------------------------------------- rules


async def add_rule(session: AsyncSession, campaign_id: UUID, spec: RuleSpec) -> RewardRule:
    """Add a reward rule to a campaign (gift packs must exist, in the campaign's currency)."""
    campaign = await campaign_service.get_campaign(session, campaign_id)
    if problem := rule_problem(spec, campaign_kind=campaign.kind):
        raise InvalidRewardRule(problem)
    for sku in filter(None, (spec.sku, spec.alternative_sku)):
        pack = await gift_pack_service.get_pack(session, sku)
        if pack.currency != campaign.currency:
            raise InvalidRewardRule(
                f"gift pack {sku} is valued in {pack.currency}, the campaign in {campaign.currency}"
            )
    if spec.reward_type is RewardType.percent_discount and spec.max_amount is None and campaign.budget_amount:
        # A percent coupon's cost is known only at the order: without a cap the budget cannot hold.
        raise InvalidRewardRule("a percent discount needs max_amount when the campaign has a budget")
    if spec.side is Side.milestone:
        taken = {r.threshold for r in await repository.active_rules(session, campaign_id, Side.milestone)}
        if spec.threshold in taken:
            raise InvalidRewardRule(f"the campaign already has a milestone at {spec.threshold} referrals")
    rule = RewardRule(
        campaign_id=campaign_id,
        side=spec.side.value,
        reward_type=spec.reward_type.value,
        amount=spec.amount,
        rate_bps=spec.rate_bps,
        max_amount=spec.max_amount,
        sku=spec.sku,
        threshold=spec.threshold,
        out_of_stock=spec.out_of_stock.value,
        alternative_sku=spec.alternative_sku,
        alternative_amount=spec.alternative_amount,
    )
    session.add(rule)
    await session.flush()
    return rule


async def list_rules(session: AsyncSession, campaign_id: UUID) -> list[RewardRule]:
    """A campaign's reward rules, retired ones included."""
    await campaign_service.get_campaign(session, campaign_id)
    return await repository.all_rules(session, campaign_id)


async def retire_rule(session: AsyncSession, campaign_id: UUID, rule_id: UUID) -> RewardRule:
    """Stop a rule granting anything new; rewards already earned under it go on."""
    rule = await session.get(RewardRule, rule_id)
    if rule is None or rule.campaign_id != campaign_id:
        raise RewardRuleNotFound(f"reward rule {rule_id} not found in campaign {campaign_id}")
    rule.is_active = False
    await session.flush()
    return rule


# ------------------------------------------------------------------------------------ welcome coupons


def _welcome_coupon(referral_code: str) -> str:
    # The referral code leads the coupon, so that attribution finds the referrer from the coupon alone.
    return f"{referral_code.upper()}-{generate_coupon_code()[:6]}"


async def claim_welcome(
    session: AsyncSession, *, code: str, customer_external_id: str, email: str | None, now: datetime
) -> Reward:
    """The referee's welcome coupon, issued when they arrive through ``code``; asking again returns it."""
    resolved = await referral_code_service.resolve_code(
        session, code, terms_lookup=campaign_service.get_terms
    )
    if not resolved.terms.accepts_clicks:
        raise NoWelcomeReward("the campaign is not running")
    rule = next(
        (
            r
            for r in await repository.active_rules(session, resolved.terms.id, Side.referee)
            if RewardType(r.reward_type).is_coupon
        ),
        None,
    )
    if rule is None:
        raise NoWelcomeReward("the campaign gives no welcome coupon")
    customer = (
        await customer_service.upsert_customer(session, external_id=customer_external_id, email=email)
    ).customer
    referrer = resolved.customer
    if referrer is not None and (
        referrer.id == customer.id
        or (customer.email_key is not None and customer.email_key == referrer.email_key)
    ):
        raise WelcomeNotAllowed("a customer cannot take a welcome reward through their own code")
    # The campaign lock serialises claims: a second claim of the same customer then finds the first.
    campaign = await campaign_service.lock_campaign(session, resolved.terms.id)
    grant_key = f"welcome:{resolved.terms.id}:{customer.id}"
    if (existing := await repository.get_by_grant_key(session, grant_key)) is not None:
        return existing
    if resolved.terms.new_customers_only and await order_service.has_paid_order(session, customer.id):
        raise WelcomeNotAllowed("welcome rewards are for new customers; this customer has ordered before")
    spec = spec_of(rule)
    value = reward_value(spec, order_amount=None, pack_value=None, currency=campaign.currency)
    decision = budget_decision(
        value,
        budget_amount=campaign.budget_amount,
        budget_spent=campaign.budget_spent,
        cap=None,
        referrer_granted=None,
    )
    if not decision.is_granted:
        raise WelcomeNotAllowed(f"no welcome coupon: {decision.reason}")
    campaign.budget_spent += value.amount
    reward = Reward(
        grant_key=grant_key,
        campaign_id=campaign.id,
        rule_id=rule.id,
        customer_id=customer.id,
        side=Side.referee.value,
        reward_type=rule.reward_type,
        referee_customer_id=customer.id,
        referral_code_id=resolved.referral_code.id,
        amount=value.amount,
        currency=campaign.currency,
        rate_bps=rule.rate_bps,
        coupon_code=_welcome_coupon(resolved.referral_code.code),
        status=RewardStatus.issued.value,
        is_granted=True,
        issued_at=now,
        # A welcome coupon lasts as long as the click that brought the friend could claim an order.
        expires_at=now + timedelta(days=campaign.attribution_window_days),
    )
    session.add(reward)
    await session.flush()
    log.info("campaigns.reward.welcome_issued", reward_id=str(reward.id), campaign_id=str(campaign.id))
    return reward


async def get_coupon(session: AsyncSession, coupon_code: str) -> Reward:
    """The reward behind a coupon code (any case), or ``CouponNotFound``."""
    reward = await repository.get_by_coupon(session, coupon_code.strip().upper())
    if reward is None:
        raise CouponNotFound("no such coupon")
    return reward


# ----------------------------------------------------------------------------- granting and voiding


@dataclass(frozen=True, slots=True)
class _Earned:
    """One order's facts as the rewards it earns need them."""

    campaign: Campaign
    order_id: UUID | None
    """None for rewards no order earned (approved shares)."""
    order_external_id: str | None
    amount: int
    referee_id: UUID
    referral_code_id: UUID | None
    placed_at: datetime | None = None
    """When the order was placed (a welcome coupon must still be valid then)."""


async def _pack_value(session: AsyncSession, sku: str | None) -> int | None:
    return None if sku is None else (await gift_pack_service.get_pack(session, sku)).value_amount


async def _create(
    session: AsyncSession,
    rule: RewardRule,
    earned: _Earned,
    *,
    beneficiary: UUID,
    grant_key: str,
    reason: str | None,
) -> Reward:
    spec = spec_of(rule)
    value = reward_value(
        spec,
        order_amount=earned.amount,
        pack_value=await _pack_value(session, spec.sku),
        currency=earned.campaign.currency,
    )
    reward = Reward(
        grant_key=grant_key,
        campaign_id=earned.campaign.id,
        rule_id=rule.id,
        customer_id=beneficiary,
        side=rule.side,
        reward_type=rule.reward_type,
        order_id=earned.order_id,
        order_external_id=earned.order_external_id,
        referee_customer_id=earned.referee_id,
        referral_code_id=earned.referral_code_id,
        amount=value.amount,
        currency=value.currency,
        rate_bps=rule.rate_bps,
        sku=rule.sku,
        status=RewardStatus.not_granted.value if reason else RewardStatus.pending.value,
        reason=f"not granted: {reason}" if reason else None,
    )
    session.add(reward)
    await session.flush()
    return reward


async def _reserve_stock(session: AsyncSession, reward: Reward, rule: RewardRule) -> str | None:
    """Reserve the pack (or the rule's alternative); None when reserved, else why not."""
    assert reward.sku is not None
    if await gift_pack_service.reserve_one(session, reward.sku) is not None:
        reward.is_stock_reserved = True
        return None
    wanted = reward.sku
    match OutOfStock(rule.out_of_stock):
        case OutOfStock.gift_pack if rule.alternative_sku and (
            alternative := await gift_pack_service.reserve_one(session, rule.alternative_sku)
        ):
            reward.sku, reward.amount, reward.is_stock_reserved = (
                alternative.sku,
                alternative.value_amount,
                True,
            )
            reward.reason = f"gift pack {wanted} out of stock: {alternative.sku} instead"
            return None
        case OutOfStock.store_credit if rule.alternative_amount:
            reward.reward_type, reward.sku, reward.amount = (
                RewardType.store_credit.value,
                None,
                rule.alternative_amount,
            )
            reward.reason = f"gift pack {wanted} out of stock: store credit instead"
            return None
        case OutOfStock.wait:
            reward.is_waiting_for_stock = True
            reward.reason = f"waiting for restock of gift pack {wanted}"
            return "waiting"
    return f"not granted: gift pack {wanted} out of stock"


async def _grant(session: AsyncSession, reward: Reward) -> bool:
    """Reserve stock and budget for a pending reward; records why when it cannot be granted."""
    if reward.is_granted or reward.status != RewardStatus.pending:
        return reward.is_granted
    campaign = await campaign_service.lock_campaign(session, reward.campaign_id)
    granted = None
    if reward.side == Side.referrer:
        granted = await repository.count_granted_referrals(session, campaign.id, reward.customer_id)
    rule = await session.get(RewardRule, reward.rule_id)
    assert rule is not None
    if RewardType(reward.reward_type).ships:
        # Check the budget for the pack first, so a pack is never reserved for a reward that cannot be paid.
        pre = budget_decision(
            Money(reward.amount, reward.currency),
            budget_amount=campaign.budget_amount,
            budget_spent=campaign.budget_spent,
            cap=campaign.per_referrer_cap,
            referrer_granted=granted,
        )
        if pre.is_granted and (problem := await _reserve_stock(session, reward, rule)) is not None:
            if problem != "waiting":
                reward.status, reward.reason = RewardStatus.not_granted.value, problem
            return False
    decision = budget_decision(
        Money(reward.amount, reward.currency),
        budget_amount=campaign.budget_amount,
        budget_spent=campaign.budget_spent,
        cap=campaign.per_referrer_cap,
        referrer_granted=granted,
    )
    if not decision.is_granted:
        if reward.is_stock_reserved and reward.sku:
            await gift_pack_service.release_one(session, reward.sku)
            reward.is_stock_reserved = False
        reward.status, reward.reason = RewardStatus.not_granted.value, decision.reason
        log.info("campaigns.reward.not_granted", reward_id=str(reward.id), reason=decision.reason)
        return False
    campaign.budget_spent += reward.amount
    reward.is_granted, reward.is_waiting_for_stock = True, False
    if reward.reason and reward.reason.startswith("waiting"):
        reward.reason = None
    log.info("campaigns.reward.granted", reward_id=str(reward.id), amount=reward.amount)
    return True


def _ledger_lines(reward: Reward) -> tuple[str, list[ledger_service.Line]] | None:
    bucket = {RewardType.store_credit: "store_credit", RewardType.cash: "cash_payable"}.get(
        RewardType(reward.reward_type)
    )
    if bucket is None:
        return None
    return (
        f"reward_{'credit' if bucket == 'store_credit' else 'cash'}",
        [
            ledger_service.Line(
                ledger_service.campaign_expense_account(reward.campaign_id), reward.amount, reward.currency
            ),
            ledger_service.Line(
                ledger_service.customer_account(reward.customer_id, bucket), -reward.amount, reward.currency
            ),
        ],
    )


async def _issue(session: AsyncSession, reward: Reward, now: datetime) -> None:
    """Hand an approved reward over: a coupon code, a ledger credit; packs wait for the address."""
    kind = RewardType(reward.reward_type)
    if kind.ships:
        return  # issued when the customer confirms the shipping address
    if kind.is_coupon and reward.coupon_code is None:
        reward.coupon_code = generate_coupon_code()
    if (posting := _ledger_lines(reward)) is not None:
        entry_kind, lines = posting
        await ledger_service.post_entry(
            session, reference=f"reward:{reward.id}:issued", kind=entry_kind, lines=lines, occurred_at=now
        )
    await _move_and_tell(session, reward, RewardStatus.issued, now)


def _move(reward: Reward, target: RewardStatus, now: datetime) -> bool:
    if not can_move(RewardStatus(reward.status), target):
        return False
    reward.status = target.value
    setattr(reward, f"{target.value}_at", now)
    return True


async def _move_and_tell(session: AsyncSession, reward: Reward, target: RewardStatus, now: datetime) -> None:
    """Move a reward to approved or issued and publish ``reward.<status>`` (the customer is notified)."""
    if not _move(reward, target, now):
        return
    if reward.id is None:
        await session.flush()
    payload = {
        "reward_id": str(reward.id),
        "customer_id": str(reward.customer_id),
        "campaign_id": str(reward.campaign_id),
        "reward_type": reward.reward_type,
        "side": reward.side,
        "amount": reward.amount,
        "currency": reward.currency,
        "coupon_code": reward.coupon_code,
        "sku": reward.sku,
        "order_external_id": reward.order_external_id,
        "share_submission_id": str(reward.share_submission_id) if reward.share_submission_id else None,
        "at": now.isoformat(),
    }
    await publish(session, f"reward.{target.value}", payload, now=now)


async def _approve(session: AsyncSession, reward: Reward, now: datetime) -> None:
    await _move_and_tell(session, reward, RewardStatus.approved, now)
    await _issue(session, reward, now)


async def _void(session: AsyncSession, reward: Reward, reason: str, now: datetime) -> None:
    """Void a reward, releasing its budget and stock and reversing any credit it posted."""
    status = RewardStatus(reward.status)
    if not can_move(status, RewardStatus.voided):
        return
    if status is RewardStatus.issued and RewardType(reward.reward_type).ships:
        # The pack is on its way: it cannot be taken back here; marketing sees the reason.
        reward.reason = f"{reason} after the pack was sent for shipping"
        return
    if reward.is_granted:
        campaign = await campaign_service.lock_campaign(session, reward.campaign_id)
        campaign.budget_spent -= reward.amount
        if reward.is_stock_reserved and reward.sku:
            await gift_pack_service.release_one(session, reward.sku)
            reward.is_stock_reserved = False
    if status is RewardStatus.issued and _ledger_lines(reward) is not None:
        await ledger_service.reverse_entry(
            session,
            reference=f"reward:{reward.id}:issued",
            reversal_reference=f"reward:{reward.id}:voided",
            occurred_at=now,
            memo=reason,
        )
    reward.is_waiting_for_stock = False
    reward.reason = reason
    _move(reward, RewardStatus.voided, now)
    log.info("campaigns.reward.voided", reward_id=str(reward.id), reason=reason)


# ------------------------------------------------------------------------------ order event handlers


async def on_order_attributed(session: AsyncSession, event: DomainEvent) -> None:
    """A referred order: pending rewards for the referrer (and referee), or the welcome coupon it used."""
    p = event.payload
    if not p.get("campaign_id") or p.get("method") in (None, "none", "lead"):
        return
    campaign = await campaign_service.get_campaign(session, UUID(p["campaign_id"]))
    if campaign.kind != "referral":
        return
    earned = _Earned(
        campaign=campaign,
        order_id=UUID(p["order_id"]),
        order_external_id=p["external_id"],
        amount=int(p["amount"]),
        referee_id=UUID(p["referee_customer_id"]),
        referral_code_id=UUID(p["referral_code_id"]) if p.get("referral_code_id") else None,
        placed_at=datetime.fromisoformat(p["placed_at"]) if p.get("placed_at") else event.occurred_at,
    )
    reason = not_qualifying_reason(
        OrderFacts(earned.amount, 0, 0, "placed"),
        min_order_amount=campaign.min_order_amount,
        is_rejected=False,
    )
    if p.get("coupon_code"):
        await _redeem_welcome(session, p["coupon_code"], earned)
    for rule in await repository.active_rules(session, campaign.id):
        side = Side(rule.side)
        if side is Side.referrer and p.get("customer_referrer_id"):
            beneficiary = UUID(p["customer_referrer_id"])
        elif side is Side.referee and not RewardType(rule.reward_type).is_coupon:
            beneficiary = earned.referee_id
        else:
            continue
        grant_key = f"{side.value}:{rule.id}:{earned.order_id}"
        if await repository.get_by_grant_key(session, grant_key) is not None:
            continue
        if await repository.has_live(
            session,
            campaign_id=campaign.id,
            side=side.value,
            referee_id=earned.referee_id,
            exclude_order=earned.order_id,
        ):
            continue  # only the referee's first qualifying order earns
        await _create(session, rule, earned, beneficiary=beneficiary, grant_key=grant_key, reason=reason)
    # The review before the catch-up: a held order's close must not approve anything.
    await _apply_review(session, earned.campaign, earned.order_id, now=event.occurred_at)
    await _catch_up(session, earned, event)


async def _catch_up(session: AsyncSession, earned: _Earned, event: DomainEvent) -> None:
    """Apply what the order went through before this (retried) event was handled: close, refund."""
    order = await order_service.get_order(session, earned.order_external_id or "")
    if order.status == "placed" or (order.status == "paid" and not order.refunded_amount):
        return  # nothing happened yet that rewards react to (the usual case)
    rewards = await repository.for_order(session, order.id)
    if closed := await order_service.closed_at(session, order.id):
        await _on_closed(
            session, [r for r in rewards if r.order_closed_at is None], earned.campaign, closed_at=closed
        )
    if order.status == "disputed":
        for reward in rewards:
            reward.is_order_disputed = True
    facts = OrderFacts(order.amount, order.paid_amount, order.refunded_amount, order.status)
    if (reason := void_reason(facts, min_order_amount=earned.campaign.min_order_amount)) is not None:
        for reward in rewards:
            await _void(session, reward, reason, event.occurred_at)


async def _redeem_welcome(session: AsyncSession, coupon_code: str, earned: _Earned) -> None:
    """Tie a welcome coupon to the first order of its holder that used it; percent coupons get their value."""
    reward = await repository.get_by_coupon(session, coupon_code.strip().upper(), for_update=True)
    if (
        reward is None
        or reward.side != Side.referee
        or reward.order_id is not None
        or reward.customer_id != earned.referee_id
        or reward.status != RewardStatus.issued
        or (
            reward.expires_at is not None
            and earned.placed_at is not None
            and earned.placed_at >= reward.expires_at
        )
    ):
        # Unknown, used, expired, or used by someone else (the firewall looks at leaked coupons).
        return
    reward.order_id, reward.order_external_id = earned.order_id, earned.order_external_id
    rule = await session.get(RewardRule, reward.rule_id)
    assert rule is not None
    if RewardType(reward.reward_type) is RewardType.percent_discount:
        value = reward_value(
            spec_of(rule), order_amount=earned.amount, pack_value=None, currency=reward.currency
        )
        campaign = await campaign_service.lock_campaign(session, reward.campaign_id)
        # The shop already took the discount off: the budget counts what it really cost.
        campaign.budget_spent += value.amount - reward.amount
        reward.amount = value.amount


async def on_order_event(session: AsyncSession, event: DomainEvent) -> None:
    """Closing starts the hold (and grants); refunds, cancellations and lost disputes void; disputes pause."""
    p = event.payload
    rewards = await repository.for_order(session, UUID(p["order_id"]))
    if not rewards:
        return
    now = datetime.fromisoformat(p["occurred_at"]) if p.get("occurred_at") else event.occurred_at
    facts = OrderFacts(int(p["amount"]), int(p["paid_amount"]), int(p["refunded_amount"]), p["status"])
    campaign = await campaign_service.get_campaign(session, rewards[0].campaign_id)
    if event.name == "order.closed":
        await _on_closed(session, rewards, campaign, closed_at=now)
    elif event.name in ("order.disputed", "order.dispute_won", "order.dispute_lost"):
        for reward in rewards:
            reward.is_order_disputed = event.name == "order.disputed"
    if (reason := void_reason(facts, min_order_amount=campaign.min_order_amount)) is not None:
        for reward in rewards:
            await _void(session, reward, reason, event.occurred_at)
    await session.flush()


async def _on_closed(
    session: AsyncSession, rewards: list[Reward], campaign: Campaign, *, closed_at: datetime
) -> None:
    if not rewards:
        return
    due_at = approve_after(closed_at, campaign.hold_days)
    for reward in rewards:
        if reward.order_closed_at is not None:
            continue  # this close was seen already
        reward.order_closed_at, reward.approve_after = closed_at, due_at
        if (
            reward.status == RewardStatus.pending
            and await _grant(session, reward)
            and reward.side == Side.referrer
        ):
            await _milestones(session, campaign, reward)
    await _approve_without_hold(session, campaign, rewards[0].order_id, now=closed_at)


def _is_due(reward: Reward, now: datetime) -> bool:
    return is_due(
        status=RewardStatus(reward.status),
        is_granted=reward.is_granted,
        approve_at=reward.approve_after,
        is_disputed=reward.is_order_disputed,
        is_held=reward.is_order_held,
        now=now,
    )


async def _approve_without_hold(
    session: AsyncSession, campaign: Campaign, order_id: UUID | None, *, now: datetime
) -> None:
    """No hold: what the closed order granted is approved (and issued) at once, unless held for review."""
    if campaign.hold_days != 0 or order_id is None:
        return
    for reward in await repository.for_order(session, order_id):  # milestones included
        if _is_due(reward, now):
            await _approve(session, reward, now)


async def _apply_review(
    session: AsyncSession, campaign: Campaign, order_id: UUID | None, *, now: datetime
) -> None:
    """Hold, release or void the order's rewards as its review stands now (read, not taken from an event)."""
    if order_id is None or not (rewards := await repository.for_order(session, order_id)):
        return
    review = await risk_service.get_review(session, order_id)
    outcome = risk_service.review_outcome(
        review.status if review else None,
        reasons=[r["code"] for r in review.reasons] if review else [],
        note=review.note if review else None,
        max_length=REVIEW_REASON_LENGTH,
    )
    for reward in rewards:
        reward.is_order_held = outcome.effect is risk_service.ReviewEffect.hold
        if outcome.effect is risk_service.ReviewEffect.void and outcome.reason:
            await _void(session, reward, outcome.reason, now)
    if outcome.effect is risk_service.ReviewEffect.proceed:
        await _approve_without_hold(session, campaign, order_id, now=now)


async def on_order_review_decided(session: AsyncSession, event: DomainEvent) -> None:
    """The order's review changed (a person's decision, a re-score): its rewards follow the current review."""
    rewards = await repository.for_order(session, UUID(event.payload["order_id"]))
    if not rewards:
        return  # not handled order.attributed yet: it reads the review when it creates them
    campaign = await campaign_service.get_campaign(session, rewards[0].campaign_id)
    await _apply_review(session, campaign, rewards[0].order_id, now=event.occurred_at)
    await session.flush()


async def _milestones(session: AsyncSession, campaign: Campaign, crossing: Reward) -> None:
    """Grant each milestone tier the referrer's successful referrals now reach, once per tier."""
    rules = await repository.active_rules(session, campaign.id, Side.milestone)
    if not rules:
        return
    successful = await repository.count_granted_referrals(session, campaign.id, crossing.customer_id)
    already = await repository.live_milestone_rule_ids(session, campaign.id, crossing.customer_id)
    thresholds = [r.threshold for r in rules if r.threshold and r.id not in already]
    for threshold in milestones_reached(thresholds, successful, set()):
        rule = next(r for r in rules if r.threshold == threshold)
        earned = _Earned(
            campaign,
            crossing.order_id,
            crossing.order_external_id,
            0,
            crossing.referee_customer_id or crossing.customer_id,
            crossing.referral_code_id,
        )
        grant_key = f"milestone:{rule.id}:{crossing.customer_id}:{crossing.order_id}"
        if await repository.get_by_grant_key(session, grant_key) is not None:
            continue
        reward = await _create(
            session, rule, earned, beneficiary=crossing.customer_id, grant_key=grant_key, reason=None
        )
        reward.order_closed_at, reward.approve_after = crossing.order_closed_at, crossing.approve_after
        reward.is_order_held = crossing.is_order_held
        if await _grant(session, reward):
            log.info("campaigns.reward.milestone", customer_id=str(crossing.customer_id), threshold=threshold)


async def approve_due(session: AsyncSession, *, now: datetime, limit: int = 500) -> int:
    """Approve (and issue) rewards whose hold has passed; returns how many moved."""
    moved = 0
    for reward in await repository.expired_coupons(session, now, limit):
        await _void(session, reward, "coupon expired unused", now)
        moved += 1
    for reward in await repository.due(session, now, limit):
        if reward.status == RewardStatus.pending:
            if not _is_due(reward, now):
                continue
            await _approve(session, reward, now)
        else:  # a welcome coupon used on an order that was kept
            _move(reward, RewardStatus.fulfilled, now)
        moved += 1
    await session.flush()
    if moved:
        log.info("campaigns.reward.approved_due", count=moved)
    return moved


# ------------------------------------------------------------------------- share rewards and packs


async def grant_share_reward(
    session: AsyncSession, *, campaign_id: UUID, customer_id: UUID, submission_id: UUID, now: datetime
) -> Reward:
    """What an approved share earns (sample, pack or credit): granted at once, moderation being the review."""
    rules = await repository.active_rules(session, campaign_id, Side.share)
    if not rules:
        raise NoShareReward("the campaign has no share reward rule")
    rule = rules[0]
    # Lock the campaign before inserting: the reward's foreign key would otherwise share-lock it first,
    # and two approvals upgrading that lock to take the budget deadlock each other (PostgreSQL).
    campaign = await campaign_service.lock_campaign(session, campaign_id)
    grant_key = f"share:{rule.id}:{submission_id}"
    if (existing := await repository.get_by_grant_key(session, grant_key)) is not None:
        return existing
    earned = _Earned(campaign, None, None, 0, customer_id, None)
    reward = await _create(session, rule, earned, beneficiary=customer_id, grant_key=grant_key, reason=None)
    reward.share_submission_id = submission_id
    if await _grant(session, reward):
        await _approve(session, reward, now)
    await session.flush()
    return reward


async def on_gift_pack_restocked(session: AsyncSession, event: DomainEvent) -> None:
    """Grant the rewards waiting for this pack, oldest first, while stock lasts."""
    for reward in await repository.waiting_for(session, event.payload["sku"]):
        reward.is_waiting_for_stock = False
        if not await _grant(session, reward):
            if reward.is_waiting_for_stock:
                break  # out of stock again: the rest keep waiting
            continue
        if reward.share_submission_id is not None:
            await _approve(session, reward, event.occurred_at)


async def take_store_credit(
    session: AsyncSession, *, reward_id: UUID, customer_id: UUID, now: datetime
) -> Reward:
    """The customer takes store credit now instead of waiting for a pack's restock; asking again returns it.

    The waiting pack reserved neither stock nor budget, so the credit is granted as any reward is
    (budget and referrer cap under the campaign lock), then proceeds as a restocked pack would:
    approved and issued at once when nothing holds it any more, else by the approval job.
    """
    reward = await repository.get(session, reward_id, for_update=True)
    if reward is None or reward.customer_id != customer_id:
        raise RewardNotFound("no such reward")
    if has_chosen_store_credit(RewardType(reward.reward_type), reward.reason):
        return reward  # chosen already: the same answer, nothing changes
    problem = store_credit_problem(
        status=RewardStatus(reward.status),
        reward_type=RewardType(reward.reward_type),
        is_waiting_for_stock=reward.is_waiting_for_stock,
    )
    if problem:
        raise RewardNotWaitingForStock(problem)
    assert reward.sku is not None
    credit = await _credit_instead(session, reward)
    if credit.amount <= 0:
        raise StoreCreditNotAvailable("this gift pack has no value to take as store credit")
    campaign = await campaign_service.lock_campaign(session, reward.campaign_id)
    granted = None
    if reward.side == Side.referrer:
        granted = await repository.count_granted_referrals(session, campaign.id, reward.customer_id)
    decision = budget_decision(
        credit,
        budget_amount=campaign.budget_amount,
        budget_spent=campaign.budget_spent,
        cap=campaign.per_referrer_cap,
        referrer_granted=granted,
    )
    if not decision.is_granted:
        # Nothing is written: the pack keeps waiting for its restock.
        raise StoreCreditNotAvailable(
            f"store credit cannot be given now ({decision.reason}); the gift pack keeps waiting"
        )
    reward.reward_type, reward.amount = RewardType.store_credit.value, credit.amount
    reward.reason, reward.sku = store_credit_chosen_reason(reward.sku), None
    reward.is_waiting_for_stock = False
    if not await _grant(session, reward):  # the same decision, taken under the same lock
        raise RuntimeError(f"reward {reward.id}: store credit passed the budget check but was not granted")
    if reward.share_submission_id is not None or _is_due(reward, now):
        await _approve(session, reward, now)
    await session.flush()
    log.info("campaigns.reward.store_credit_taken", reward_id=str(reward.id), amount=reward.amount)
    return reward


async def _credit_instead(session: AsyncSession, reward: Reward) -> Money:
    """The store credit a waiting pack is worth now (the rule's alternative, else the pack's value)."""
    assert reward.sku is not None
    rule = await session.get(RewardRule, reward.rule_id)
    assert rule is not None
    pack = await gift_pack_service.get_pack(session, reward.sku)
    return store_credit_instead(
        alternative_amount=rule.alternative_amount, pack_value=pack.value_amount, currency=reward.currency
    )


async def confirm_address(
    session: AsyncSession, *, reward_id: UUID, customer_id: UUID, address: dict[str, Any], now: datetime
) -> Reward:
    """The customer confirms (or corrects) where their pack goes: the shipment is requested."""
    reward = await repository.get(session, reward_id, for_update=True)
    if reward is None or reward.customer_id != customer_id:
        raise RewardNotFound("no such reward")
    if not RewardType(reward.reward_type).ships or reward.status not in (
        RewardStatus.approved,
        RewardStatus.issued,
    ):
        raise RewardNotAwaitingAddress(f"this reward is {reward.status}; it does not wait for an address")
    assert reward.sku is not None
    await gift_pack_service.request_shipment(
        session, reward_id=reward.id, sku=reward.sku, address=address, now=now
    )
    await _move_and_tell(session, reward, RewardStatus.issued, now)
    await session.flush()
    return reward


async def on_shipment_event(session: AsyncSession, event: DomainEvent) -> None:
    """A pack was shipped, delivered, or failed: the reward follows."""
    reward = await repository.get(session, UUID(event.payload["reward_id"]), for_update=True)
    if reward is None:
        return
    if event.name == "gift_pack.shipment_delivered":
        _move(reward, RewardStatus.fulfilled, event.occurred_at)
        reward.is_stock_reserved = False
    elif event.name == "gift_pack.shipment_shipped":
        reward.is_stock_reserved = False  # the pack left the warehouse; nothing reserved is left to release
    elif event.name == "gift_pack.shipment_failed":
        reward.is_stock_reserved = False  # the failed shipment gave its reservation back (or had shipped)
        reward.reason = f"shipment failed: {event.payload.get('reason') or 'no reason given'}"


# ------------------------------------------------------------------------------------------- reading


async def get_reward(session: AsyncSession, reward_id: UUID) -> Reward:
    """One reward, or ``RewardNotFound``."""
    reward = await repository.get(session, reward_id)
    if reward is None:
        raise RewardNotFound(f"reward {reward_id} not found")
    return reward


async def list_rewards(
    session: AsyncSession,
    *,
    campaign_id: UUID | None = None,
    customer_id: UUID | None = None,
    status: RewardStatus | None = None,
    order_id: UUID | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Reward]:
    """Rewards, newest first, filtered."""
    return await repository.search(
        session,
        campaign_id=campaign_id,
        customer_id=customer_id,
        status=status.value if status else None,
        order_id=order_id,
        limit=limit,
        offset=offset,
    )


async def rewards_of(
    session: AsyncSession, customer_id: UUID, campaign_id: UUID | None = None
) -> list[Reward]:
    """A customer's rewards, newest first."""
    return await repository.of_customer(session, customer_id, campaign_id)


async def share_page_rewards(
    session: AsyncSession, customer_id: UUID, campaign_id: UUID, *, fulfilment_days: int = 0
) -> list[RewardFacts]:
    """The customer's rewards in a campaign as their share page shows them, with the date each is expected.

    A reward held by the risk review is "in review" without its reasons (they are the firewall's)."""
    facts = []
    for reward in await repository.of_customer(session, customer_id, campaign_id):
        status = RewardStatus(reward.status)
        ships = RewardType(reward.reward_type).ships
        needs_address = ships and status is RewardStatus.approved
        is_in_review = status is RewardStatus.pending and reward.is_order_held
        is_waiting = status is RewardStatus.pending and reward.is_waiting_for_stock
        # The customer's own choice needs no explanation (the reason is marketing's words).
        is_chosen = has_chosen_store_credit(RewardType(reward.reward_type), reward.reason)
        facts.append(
            RewardFacts(
                id=reward.id,
                side=reward.side,
                reward_type=reward.reward_type,
                status=reward.status,
                amount=reward.amount,
                currency=reward.currency,
                rate_bps=reward.rate_bps,
                coupon_code=reward.coupon_code if status is RewardStatus.issued else None,
                sku=reward.sku,
                reason=None if is_in_review or is_chosen else reward.reason,
                expected_at=expected_date(
                    status=status,
                    approve_at=reward.approve_after,
                    issued_at=reward.issued_at,
                    fulfilment_days=fulfilment_days,
                    is_held=reward.is_order_held,
                    ships=ships,
                ),
                referee_customer_id=reward.referee_customer_id,
                needs_address=needs_address,
                item_name=(await gift_pack_service.get_pack(session, reward.sku)).name
                if reward.sku
                else None,
                is_in_review=is_in_review,
                is_waiting_for_stock=is_waiting,
                store_credit_offer=(await _credit_instead(session, reward)).amount
                if is_waiting and ships and reward.sku
                else None,
            )
        )
    return facts


@dataclass(frozen=True, slots=True)
class StockWarning:
    """A gift pack a campaign's rules give that has run out (or nearly): what marketing must see."""

    rule_id: UUID
    sku: str
    pack_name: str
    available: int
    is_out_of_stock: bool
    waiting: int
    """Rewards waiting for this pack's restock."""
    out_of_stock: OutOfStock
    """What the rule does meanwhile: wait, store credit, another pack, or nothing."""
    alternative_sku: str | None
    alternative_amount: int | None
    currency: str


async def stock_warnings(
    session: AsyncSession, campaign_id: UUID, *, low_stock: int = 5
) -> list[StockWarning]:
    """The campaign's gift packs that are out of stock or below ``low_stock``, with the rule's alternative."""
    campaign = await campaign_service.get_campaign(session, campaign_id)
    waiting = await repository.waiting_counts(session, campaign_id)
    warnings = []
    for rule in await repository.active_rules(session, campaign_id):
        if rule.sku is None:
            continue
        pack = await gift_pack_service.get_pack(session, rule.sku)
        available = pack.stock_on_hand - pack.stock_reserved
        if available >= low_stock and not waiting.get(rule.sku):
            continue
        warnings.append(
            StockWarning(
                rule_id=rule.id,
                sku=pack.sku,
                pack_name=pack.name,
                available=available,
                is_out_of_stock=available <= 0,
                waiting=waiting.get(rule.sku, 0),
                out_of_stock=OutOfStock(rule.out_of_stock),
                alternative_sku=rule.alternative_sku,
                alternative_amount=rule.alternative_amount,
                currency=campaign.currency,
            )
        )
    return warnings


async def estimate_rewards(
    session: AsyncSession, *, campaign_id: UUID, order_amount: int, currency: str, has_referrer: bool
) -> int:
    """What the campaign's active rules would grant for a referred order of ``order_amount``, in minor
    units: the referrer's rewards (when a customer referred it) and the referee's non-coupon rewards,
    gift packs at their value (the risk firewall's ``reward_above_margin``)."""
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None or campaign.kind != "referral" or campaign.currency != currency:
        return 0
    facts = OrderFacts(order_amount, 0, 0, "placed")
    if not_qualifying_reason(facts, min_order_amount=campaign.min_order_amount, is_rejected=False):
        return 0
    total = 0
    for rule in await repository.active_rules(session, campaign_id):
        side, spec = Side(rule.side), spec_of(rule)
        if (side is Side.referrer and has_referrer) or (
            side is Side.referee and not RewardType(rule.reward_type).is_coupon
        ):
            pack_value = await _pack_value(session, spec.sku)
            total += reward_value(
                spec, order_amount=order_amount, pack_value=pack_value, currency=currency
            ).amount
    return total


# -------------------------------------------------------------------------------------------- delays


async def find_delays(
    session: AsyncSession, *, now: datetime, fulfilment_days: int, review_days: int, limit: int = 1000
) -> list[alert_service.Delay]:
    """Rewards past their expected time: packs not shipped or out of stock, orders in review too long."""
    delays = []
    for reward, is_shipped in await repository.delay_candidates(session, limit=limit):
        review = (
            await risk_service.get_review(session, reward.order_id)
            if reward.is_order_held and reward.order_id
            else None
        )
        found = reward_delay(
            DelayFacts(
                status=RewardStatus(reward.status),
                reward_type=RewardType(reward.reward_type),
                created_at=reward.created_at,
                has_order=reward.order_id is not None,
                approve_at=reward.approve_after,
                approved_at=reward.approved_at,
                issued_at=reward.issued_at,
                is_waiting_for_stock=reward.is_waiting_for_stock,
                is_order_held=reward.is_order_held,
                held_since=review.reviewed_at if review else None,
                is_shipped=is_shipped,
            ),
            fulfilment_days=fulfilment_days,
            review_days=review_days,
            now=now,
        )
        if found is not None:
            delays.append(await _delay_of(session, reward, found.kind.value, found.expected_at))
    return delays


async def _delay_of(
    session: AsyncSession, reward: Reward, kind: str, expected_at: datetime
) -> alert_service.Delay:
    """The alert of a late reward: the customer is told what happened and what they may do."""
    alert_kind = alert_service.AlertKind(kind)
    options = None
    if alert_kind is alert_service.AlertKind.gift_pack_not_shipped and reward.status == RewardStatus.approved:
        # Approved packs wait for the customer's address: confirming it is what moves them.
        options = (alert_service.AlertOption.confirm_address, alert_service.AlertOption.contact_support)
    # The e-mail links the share page (by the customer's code) where they confirm or take credit.
    share_code = await referral_code_service.share_code_of(session, reward.campaign_id, reward.customer_id)
    credit = None
    if alert_kind is alert_service.AlertKind.gift_pack_out_of_stock and reward.sku:
        credit = (await _credit_instead(session, reward)).amount
        if not (credit and share_code):
            # Store credit is taken on the share page: without one (or without value) only waiting is left.
            options = (alert_service.AlertOption.wait_for_restock, alert_service.AlertOption.contact_support)
    pack_name = (await gift_pack_service.get_pack(session, reward.sku)).name if reward.sku else None
    detail = {
        alert_service.AlertKind.gift_pack_not_shipped: f"{pack_name or reward.sku} not shipped yet",
        alert_service.AlertKind.gift_pack_out_of_stock: f"{pack_name or reward.sku} is out of stock",
        alert_service.AlertKind.reward_in_review: "the reward's order is still in review",
    }[alert_kind]
    return alert_service.delay(
        alert_kind,
        recipient_type=alert_service.RecipientType.customer,
        recipient_id=reward.customer_id,
        subject_id=reward.id,
        expected_at=expected_at,
        detail=detail,
        options=options,
        context={
            "campaign_id": str(reward.campaign_id),
            "reward_type": reward.reward_type,
            "sku": reward.sku,
            "item_name": pack_name,
            "amount": reward.amount,
            "currency": reward.currency,
            "store_credit_amount": credit,
            "share_code": share_code,
        },
    )


async def cost_by_kind(
    session: AsyncSession, *, since: datetime, until: datetime, campaign_id: UUID | None
) -> list[tuple[str, str, int]]:
    """``(campaign kind, currency, amount)`` of the rewards granted in a range (the analytics)."""
    return await repository.cost_by_kind(session, since=since, until=until, campaign_id=campaign_id)


async def count_rewarded_orders(session: AsyncSession, order_ids: Any) -> int:
    """How many of these orders (a SELECT of ids) earned an approved reward (the analytics' funnel)."""
    return await repository.count_rewarded_orders(session, order_ids)
