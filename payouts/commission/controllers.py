from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.params import Parameter
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit import service as audit_service
from growth.core.auth.guards import api_key_guard, roles
from growth.core.auth.rules import Role
from growth.core.paging import Offset
from growth.core.time import utc_now
from growth.risk import service as risk_service
from growth.settings import Settings
from payouts.commission import service as commission_service
from payouts.commission.models import Commission, CommissionPlan
from payouts.commission.rules import (
    CommissionStatus,
    LineRate,
    PlanKind,
    PlanSpec,
    Recurring,
    Tier,
    partner_reason,
)
from payouts.commission.schemas import (
    BalanceRead,
    CommissionRead,
    LineRateIn,
    PlanAssign,
    PlanAssignmentRead,
    PlanCreate,
    PlanRead,
    TierIn,
)
from payouts.partner import service as partner_service


def plan_read(plan: CommissionPlan, spec: PlanSpec) -> PlanRead:
    return PlanRead(
        id=plan.id,
        name=plan.name,
        kind=PlanKind(plan.kind),
        currency=plan.currency,
        rate_bps=plan.rate_bps,
        fixed_amount=plan.fixed_amount,
        hold_days=plan.hold_days,
        recurring=Recurring(plan.recurring),
        recurring_months=plan.recurring_months,
        line_rates=[LineRateIn(r.rate_bps, r.category, r.sku) for r in spec.line_rates],
        tiers=[TierIn(t.min_revenue, t.rate_bps) for t in spec.tiers],
        created_at=plan.created_at,
    )


def commission_read(c: Commission, *, for_partner: bool = False) -> CommissionRead:
    """A commission as the API shows it; its partner never reads the risk review's reasons (the rules
    that fired, a reviewer's note), only that the order is or was in review."""
    reason = (
        partner_reason(
            c.reason, is_order_held=c.is_order_held, by_review=risk_service.is_review_reason(c.reason)
        )
        if for_partner
        else c.reason
    )
    return CommissionRead(
        id=c.id,
        partner_id=c.partner_id,
        order_id=c.order_id,
        order_external_id=c.order_external_id,
        plan_id=c.plan_id,
        kind=c.kind,
        status=CommissionStatus(c.status),
        base_amount=c.base_amount,
        amount=c.amount,
        reversed_amount=c.reversed_amount,
        currency=c.currency,
        rate_bps=c.rate_bps,
        is_order_held=c.is_order_held,
        reason=reason,
        approve_after=c.approve_after,
        approved_at=c.approved_at,
        accrued_at=c.accrued_at,
    )


class CommissionPlanController(Controller):
    """Commission plans, and which plan each partner is on (finance)."""

    path = "/api"
    tags = ["Commissions"]
    guards = [api_key_guard]
    opt = roles(Role.finance)
    security = [{"ApiKey": []}]

    @post("/commission-plans", summary="Create a commission plan")
    async def create_plan(self, db_session: AsyncSession, data: PlanCreate) -> PlanRead:
        spec = PlanSpec(
            kind=data.kind,
            currency=data.currency,
            rate_bps=data.rate_bps,
            fixed_amount=data.fixed_amount,
            hold_days=data.hold_days,
            recurring=data.recurring,
            recurring_months=data.recurring_months,
            line_rates=tuple(LineRate(r.rate_bps, r.category, r.sku) for r in data.line_rates),
            tiers=tuple(Tier(t.min_revenue, t.rate_bps) for t in data.tiers),
        )
        plan = await commission_service.create_plan(db_session, name=data.name, spec=spec)
        return plan_read(plan, spec)

    @get("/commission-plans", summary="List commission plans")
    async def list_plans(self, db_session: AsyncSession) -> list[PlanRead]:
        return [plan_read(p, s) for p, s in await commission_service.list_plans(db_session)]

    @get("/commission-plans/{plan_id:uuid}", summary="Read a commission plan")
    async def get_plan(self, db_session: AsyncSession, plan_id: UUID) -> PlanRead:
        return plan_read(*await commission_service.get_plan(db_session, plan_id))

    @post("/partners/{partner_id:uuid}/plan", summary="Put a partner on a plan (orders attributed from now)")
    async def assign_plan(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, partner_id: UUID, data: PlanAssign
    ) -> PlanAssignmentRead:
        a = await commission_service.assign_plan(
            db_session, partner_id=partner_id, plan_id=data.plan_id, now=utc_now()
        )
        await audit_service.record(
            db_session,
            action="commission_plan.assigned",
            subject_type="partner",
            subject_id=str(partner_id),
            after={"plan_id": a.plan_id, "effective_at": a.effective_at},
            actor=audit_service.actor_from_request(request),
        )
        return PlanAssignmentRead(a.partner_id, a.plan_id, a.effective_at)


class CommissionController(Controller):
    """Commissions and partners' balances (finance); a partner key sees its own under /api/partner."""

    path = "/api"
    tags = ["Commissions"]
    guards = [api_key_guard]
    opt = roles(Role.finance)
    security = [{"ApiKey": []}]

    @get("/commissions", summary="List commissions, newest first")
    async def list_commissions(
        self,
        db_session: AsyncSession,
        partner_id: UUID | None = None,
        status: CommissionStatus | None = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        offset: Offset = 0,
    ) -> list[CommissionRead]:
        found = await commission_service.list_commissions(
            db_session, partner_id=partner_id, status=status, limit=limit, offset=offset
        )
        return [commission_read(c) for c in found]

    @get("/partners/{partner_id:uuid}/balances", summary="A partner's commission by state, from the ledger")
    async def balances(self, db_session: AsyncSession, partner_id: UUID) -> list[BalanceRead]:
        found = await commission_service.partner_balances(db_session, partner_id)
        return [BalanceRead(b.state, b.amount.amount, b.amount.currency) for b in found]

    @post("/commissions/approve-due", summary="Approve commissions past their hold (also runs periodically)")
    async def approve_due(self, db_session: AsyncSession, settings: Settings) -> dict[str, int]:
        tiers = partner_service.tier_policy(settings)
        return {"moved": await commission_service.approve_due(db_session, now=utc_now(), tiers=tiers)}


def _own_partner(request: Request[Any, Any, Any]) -> UUID:
    """The partner a partner key acts for (a partner key always names one)."""
    subject = request.state.principal.subject_id
    if subject is None:
        raise PermissionDeniedException("this key acts for no partner")
    return subject  # type: ignore[no-any-return]


class PartnerCommissionController(Controller):
    """A partner's own commissions and balances; the partner comes from the key, never from the URL."""

    path = "/api/partner"
    tags = ["Partner portal"]
    guards = [api_key_guard]
    opt = roles(Role.partner)
    security = [{"ApiKey": []}]

    @get("/commissions", summary="My commissions, newest first, with their expected approval date")
    async def my_commissions(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        status: CommissionStatus | None = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        offset: Offset = 0,
    ) -> list[CommissionRead]:
        found = await commission_service.list_commissions(
            db_session, partner_id=_own_partner(request), status=status, limit=limit, offset=offset
        )
        return [commission_read(c, for_partner=True) for c in found]

    @get("/balances", summary="My commission by state (pending, payable), from the ledger")
    async def my_balances(
        self, request: Request[Any, Any, Any], db_session: AsyncSession
    ) -> list[BalanceRead]:
        found = await commission_service.partner_balances(db_session, _own_partner(request))
        return [BalanceRead(b.state, b.amount.amount, b.amount.currency) for b in found]
