from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from campaigns.reward import forms
from campaigns.reward import service as reward_service
from campaigns.reward.models import Reward, RewardRule
from campaigns.reward.rules import OutOfStock, RewardStatus, RewardType, RuleSpec, Side
from campaigns.reward.schemas import (
    AddressIn,
    ApproveDueResult,
    CouponRead,
    RewardRead,
    RewardRuleCreate,
    RewardRuleRead,
    WelcomeClaim,
)
from growth.core.auth.guards import api_key_guard, dashboard_guard, roles
from growth.core.auth.rules import Role
from growth.core.errors import DomainError
from growth.core.paging import Offset
from growth.core.time import utc_now
from growth.referral_code import service as referral_code_service
from growth.settings import Settings


def rule_read(r: RewardRule) -> RewardRuleRead:
    return RewardRuleRead(
        id=r.id,
        campaign_id=r.campaign_id,
        side=Side(r.side),
        reward_type=RewardType(r.reward_type),
        amount=r.amount,
        rate_bps=r.rate_bps,
        max_amount=r.max_amount,
        sku=r.sku,
        threshold=r.threshold,
        out_of_stock=OutOfStock(r.out_of_stock),
        alternative_sku=r.alternative_sku,
        alternative_amount=r.alternative_amount,
        is_active=r.is_active,
    )


def reward_read(r: Reward) -> RewardRead:
    return RewardRead(
        id=r.id,
        campaign_id=r.campaign_id,
        rule_id=r.rule_id,
        customer_id=r.customer_id,
        side=Side(r.side),
        reward_type=RewardType(r.reward_type),
        status=RewardStatus(r.status),
        amount=r.amount,
        currency=r.currency,
        rate_bps=r.rate_bps,
        coupon_code=r.coupon_code,
        sku=r.sku,
        order_id=r.order_id,
        order_external_id=r.order_external_id,
        referee_customer_id=r.referee_customer_id,
        share_submission_id=r.share_submission_id,
        is_granted=r.is_granted,
        is_waiting_for_stock=r.is_waiting_for_stock,
        is_order_disputed=r.is_order_disputed,
        is_order_held=r.is_order_held,
        reason=r.reason,
        approve_after=r.approve_after,
        approved_at=r.approved_at,
        issued_at=r.issued_at,
        fulfilled_at=r.fulfilled_at,
        voided_at=r.voided_at,
        expires_at=r.expires_at,
        created_at=r.created_at,
    )


def coupon_read(r: Reward) -> CouponRead:
    assert r.coupon_code is not None
    return CouponRead(
        coupon_code=r.coupon_code,
        reward_type=RewardType(r.reward_type),
        status=RewardStatus(r.status),
        is_usable=r.status == RewardStatus.issued and r.order_id is None and not _expired(r),
        amount=r.amount if r.reward_type == RewardType.fixed_discount or r.order_id else None,
        rate_bps=r.rate_bps,
        currency=r.currency,
        campaign_id=r.campaign_id,
        customer_id=r.customer_id,
        expires_at=r.expires_at,
    )


def _expired(r: Reward) -> bool:
    return r.expires_at is not None and r.expires_at <= utc_now()


class RewardRuleController(Controller):
    """What a campaign gives: welcome coupons, referrer rewards, milestones, share samples."""

    path = "/api/campaigns/{campaign_id:uuid}/reward-rules"
    tags = ["Rewards"]
    guards = [api_key_guard]
    opt = roles(Role.marketing)
    security = [{"ApiKey": []}]

    @post("/", summary="Add a reward rule")
    async def add_rule(
        self, db_session: AsyncSession, campaign_id: UUID, data: RewardRuleCreate
    ) -> RewardRuleRead:
        spec = RuleSpec(**msgspec.structs.asdict(data))
        return rule_read(await reward_service.add_rule(db_session, campaign_id, spec))

    @get("/", summary="List a campaign's reward rules")
    async def list_rules(self, db_session: AsyncSession, campaign_id: UUID) -> list[RewardRuleRead]:
        return [rule_read(r) for r in await reward_service.list_rules(db_session, campaign_id)]

    @post("/{rule_id:uuid}/retire", summary="Retire a rule (rewards already earned go on)", status_code=200)
    async def retire_rule(self, db_session: AsyncSession, campaign_id: UUID, rule_id: UUID) -> RewardRuleRead:
        return rule_read(await reward_service.retire_rule(db_session, campaign_id, rule_id))


class RewardController(Controller):
    """Rewards earned by customers, with their status and reasons."""

    path = "/api/rewards"
    tags = ["Rewards"]
    guards = [api_key_guard]
    opt = roles(Role.marketing)
    security = [{"ApiKey": []}]

    @get("/", summary="List rewards, newest first")
    async def list_rewards(
        self,
        db_session: AsyncSession,
        campaign_id: UUID | None = None,
        customer_id: UUID | None = None,
        order_id: UUID | None = None,
        status: RewardStatus | None = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        offset: Offset = 0,
    ) -> list[RewardRead]:
        rewards = await reward_service.list_rewards(
            db_session,
            campaign_id=campaign_id,
            customer_id=customer_id,
            order_id=order_id,
            status=status,
            limit=limit,
            offset=offset,
        )
        return [reward_read(r) for r in rewards]

    @get("/{reward_id:uuid}", summary="Read a reward")
    async def get_reward(self, db_session: AsyncSession, reward_id: UUID) -> RewardRead:
        return reward_read(await reward_service.get_reward(db_session, reward_id))

    @post(
        "/approve-due", summary="Approve and issue the rewards whose hold has passed (also runs periodically)"
    )
    async def approve_due(self, db_session: AsyncSession) -> ApproveDueResult:
        return ApproveDueResult(moved=await reward_service.approve_due(db_session, now=utc_now()))


class WelcomeController(Controller):
    """The shop asks for a friend's welcome coupon, and checks coupons at checkout."""

    path = "/api"
    tags = ["Rewards"]
    guards = [api_key_guard]
    opt = roles(Role.shop, Role.marketing)
    security = [{"ApiKey": []}]

    @post(
        "/welcome-coupons",
        summary="Issue (or return) the welcome coupon of a friend who arrived through a code",
    )
    async def claim(self, db_session: AsyncSession, data: WelcomeClaim) -> CouponRead:
        reward = await reward_service.claim_welcome(
            db_session,
            code=data.referral_code,
            customer_external_id=data.customer.external_id,
            email=data.customer.email,
            now=utc_now(),
        )
        return coupon_read(reward)

    @get("/coupons/{coupon_code:str}", summary="Check a coupon before honouring it")
    async def coupon(self, db_session: AsyncSession, coupon_code: str) -> CouponRead:
        return coupon_read(await reward_service.get_coupon(db_session, coupon_code))


async def _share_customer(db_session: AsyncSession, token: str, settings: Settings) -> UUID:
    customer = await referral_code_service.customer_for_share_token(
        db_session, token, secret=settings.resolved_secret(), terms_lookup=campaign_service.get_terms
    )
    return customer.id


class CustomerRewardController(Controller):
    """A customer's own rewards, behind the signed link of their share page."""

    path = "/api/share/{token:str}/rewards"
    tags = ["Share page"]

    @get("/", summary="The customer's rewards")
    async def list_rewards(
        self, db_session: AsyncSession, settings: Settings, token: str
    ) -> list[RewardRead]:
        customer_id = await _share_customer(db_session, token, settings)
        return [reward_read(r) for r in await reward_service.rewards_of(db_session, customer_id)]

    @post("/{reward_id:uuid}/address", summary="Confirm or correct where a gift pack goes", status_code=200)
    async def confirm_address(
        self, db_session: AsyncSession, settings: Settings, token: str, reward_id: UUID, data: AddressIn
    ) -> RewardRead:
        customer_id = await _share_customer(db_session, token, settings)
        reward = await reward_service.confirm_address(
            db_session, reward_id=reward_id, customer_id=customer_id, address=data.as_dict(), now=utc_now()
        )
        return reward_read(reward)

    @post(
        "/{reward_id:uuid}/store-credit",
        summary="Take store credit now instead of waiting for a gift pack's restock (idempotent)",
        status_code=200,
    )
    async def take_store_credit(
        self, db_session: AsyncSession, settings: Settings, token: str, reward_id: UUID
    ) -> RewardRead:
        customer_id = await _share_customer(db_session, token, settings)
        reward = await reward_service.take_store_credit(
            db_session, reward_id=reward_id, customer_id=customer_id, now=utc_now()
        )
        return reward_read(reward)


class CustomerRewardPages(Controller):
    """The share page's reward forms: the address, store credit now (browser posts, with CSRF)."""

    path = "/share/{token:str}/rewards"
    include_in_schema = False

    @post("/{reward_id:uuid}/address", status_code=303)
    async def confirm_address(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        token: str,
        reward_id: UUID,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Redirect:
        fields = {
            k: (data.get(k) or "").strip() or None
            for k in ("name", "line1", "line2", "city", "postal_code", "country", "phone")
        }
        try:
            customer_id = await _share_customer(db_session, token, settings)
            await reward_service.confirm_address(
                db_session,
                reward_id=reward_id,
                customer_id=customer_id,
                address={k: v for k, v in fields.items() if v is not None},
                now=utc_now(),
            )
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            return Redirect(f"/share/{token}?address_error={exc.code()}#rewards", status_code=303)
        return Redirect(f"/share/{token}?address_saved=1#rewards", status_code=303)

    @post("/{reward_id:uuid}/store-credit", status_code=303)
    async def take_store_credit(
        self, db_session: AsyncSession, settings: Settings, token: str, reward_id: UUID
    ) -> Redirect:
        try:
            customer_id = await _share_customer(db_session, token, settings)
            await reward_service.take_store_credit(
                db_session, reward_id=reward_id, customer_id=customer_id, now=utc_now()
            )
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            await db_session.rollback()  # the redirect would commit: keep nothing of a refused choice
            return Redirect(f"/share/{token}?credit_error={exc.code()}#rewards", status_code=303)
        return Redirect(f"/share/{token}?credit_taken=1#rewards", status_code=303)


RuleFormData = Annotated[forms.RuleForm, Body(media_type=RequestEncodingType.URL_ENCODED)]


class RewardRulePages(Controller):
    """The campaign page's reward-rule forms: add a rule, retire one; back to the campaign page."""

    path = f"{forms.CAMPAIGN_PAGES}/{{campaign_id:uuid}}/reward-rules"
    guards = [dashboard_guard]
    opt = roles(Role.marketing)
    include_in_schema = False

    @post("/")
    async def add_rule(self, db_session: AsyncSession, campaign_id: UUID, data: RuleFormData) -> Redirect:
        try:
            # Amounts are typed in the campaign's own currency, so it is read first.
            campaign = await campaign_service.get_campaign(db_session, campaign_id)
            spec = forms.parse_rule(data, currency=campaign.currency)
            await reward_service.add_rule(db_session, campaign_id, spec)
        except DomainError as error:
            await db_session.rollback()  # the redirect would commit: keep nothing of a refused rule
            return Redirect(forms.campaign_url(campaign_id, error=error), status_code=303)
        return Redirect(forms.campaign_url(campaign_id, notice="rule_added"), status_code=303)

    @post("/{rule_id:uuid}/retire")
    async def retire_rule(self, db_session: AsyncSession, campaign_id: UUID, rule_id: UUID) -> Redirect:
        try:
            await reward_service.retire_rule(db_session, campaign_id, rule_id)
        except DomainError as error:
            await db_session.rollback()
            return Redirect(forms.campaign_url(campaign_id, error=error), status_code=303)
        return Redirect(forms.campaign_url(campaign_id, notice="rule_retired"), status_code=303)
