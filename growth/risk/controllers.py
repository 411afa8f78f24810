"""The review queue: marketing decides held orders (API and pages); finance may read the API."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit import service as audit_service
from growth.core.auth.guards import api_key_guard, dashboard_context, dashboard_guard, roles
from growth.core.auth.rules import Role
from growth.core.errors import DomainError
from growth.core.paging import Offset
from growth.core.ports import CampaignTermsLookup
from growth.core.time import utc_now
from growth.risk import forms
from growth.risk import service as risk_service
from growth.risk.errors import InvalidOrderId
from growth.risk.rules import ReviewStatus
from growth.risk.schemas import (
    OrderReviewRead,
    RelatedOrderRead,
    ReviewAttributionRead,
    ReviewDecisionCreate,
    ReviewDecisionRead,
    ReviewDecisionsCreate,
    ReviewDecisionsRead,
    ReviewOrderRead,
    ReviewReasonRead,
)
from growth.settings import Settings


def review_read(v: risk_service.ReviewView) -> OrderReviewRead:
    r, o, a = v.review, v.order, v.attribution
    return OrderReviewRead(
        order_id=r.order_id,
        status=r.status,
        verdict=r.verdict,
        reasons=[
            ReviewReasonRead(code=x["code"], verdict=x["verdict"], message=x["message"], details=x["details"])
            for x in r.reasons
        ],
        reviewed_at=r.reviewed_at,
        decided_by=r.decided_by,
        decided_at=r.decided_at,
        note=r.note,
        order=ReviewOrderRead(
            id=o.id,
            external_id=o.external_id,
            amount=o.amount,
            currency=o.currency,
            placed_at=o.placed_at,
            status=o.status,
            customer_id=o.customer_id,
            customer_initials=v.customer_initials,
            customer_email=v.customer_email,
        ),
        attribution=ReviewAttributionRead(
            method=a.method,
            campaign_id=a.campaign_id,
            campaign_name=v.campaign_name,
            referral_code_id=a.referral_code_id,
            referrer_customer_id=a.customer_referrer_id,
            referrer_external_id=v.referrer_external_id,
            referrer_initials=v.referrer_initials,
            partner_id=a.partner_id,
            explanation=a.explanation,
        ),
        related={
            kind: [
                RelatedOrderRead(
                    order_id=x.order_id,
                    external_id=x.external_id,
                    amount=x.amount,
                    currency=x.currency,
                    placed_at=x.placed_at,
                    order_status=x.order_status,
                    review_status=x.review_status,
                )
                for x in orders
            ]
            for kind, orders in v.related.items()
        },
    )


def order_uuid(value: str) -> UUID:
    """The order id in the path; a malformed one is a 400 that says so (not a 404 of no route)."""
    try:
        return UUID(value)
    except ValueError:
        raise InvalidOrderId(f"not an order id (a UUID): {value[:100]!r}") from None


def decision_read(d: risk_service.DecisionResult) -> ReviewDecisionRead:
    r = d.review
    return ReviewDecisionRead(
        order_id=r.order_id,
        status=r.status,
        previous_status=d.previous_status,
        is_changed=d.is_changed,
        decided_by=r.decided_by,
        decided_at=r.decided_at,
        note=r.note,
    )


class ReviewController(Controller):
    """Held orders and their signals; marketing approves or rejects them, finance may read."""

    path = "/api/reviews"
    tags = ["Order reviews"]
    guards = [api_key_guard]
    opt = roles(Role.marketing, Role.finance)
    security = [{"ApiKey": []}]

    @get("/", summary="The review queue: orders in a review status (held by default), oldest first")
    async def list_reviews(
        self,
        db_session: AsyncSession,
        terms_lookup: CampaignTermsLookup,
        status: ReviewStatus = ReviewStatus.held,
        campaign_id: UUID | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Offset = 0,
    ) -> list[OrderReviewRead]:
        views = await risk_service.list_queue(
            db_session,
            terms_lookup=terms_lookup,
            status=status,
            campaign_id=campaign_id,
            limit=limit,
            offset=offset,
        )
        return [review_read(v) for v in views]

    @get("/{order_id:str}", summary="An order's review: signals, order, attribution and related orders")
    async def get_review(
        self, db_session: AsyncSession, terms_lookup: CampaignTermsLookup, order_id: str
    ) -> OrderReviewRead:
        view = await risk_service.review_detail(db_session, order_uuid(order_id), terms_lookup=terms_lookup)
        return review_read(view)

    @post(
        "/{order_id:str}/decision",
        summary="Approve or reject a held order (a note is required to reject)",
        status_code=200,
        opt=roles(Role.marketing),
    )
    async def decide(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        order_id: str,
        data: ReviewDecisionCreate,
    ) -> ReviewDecisionRead:
        """Deciding the same way again changes nothing; deciding the other way is a 409."""
        result = await risk_service.decide(
            db_session,
            order_id=order_uuid(order_id),
            approve=data.decision == "approve",
            note=data.note,
            actor=audit_service.actor_from_request(request),
            now=utc_now(),
        )
        return decision_read(result)

    @post(
        "/decisions",
        summary="Approve or reject up to 200 held orders at once: all of them or none",
        status_code=200,
        opt=roles(Role.marketing),
    )
    async def decide_many(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, data: ReviewDecisionsCreate
    ) -> ReviewDecisionsRead:
        """404 names the unknown orders, 409 those not held; already decided the same way counts as done."""
        results = await risk_service.decide_many(
            db_session,
            order_ids=data.order_ids,
            approve=data.decision == "approve",
            note=data.note,
            actor=audit_service.actor_from_request(request),
            now=utc_now(),
        )
        return ReviewDecisionsRead(
            decided=[decision_read(r) for r in results], changed=sum(r.is_changed for r in results)
        )


DecisionFormData = Annotated[forms.DecisionForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
BatchFormData = Annotated[forms.BatchForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
QUEUE_PAGE_SIZE = 100


class ReviewPages(Controller):
    """Marketing's review queue pages: held orders with their signals, decided one by one or in bulk."""

    path = forms.PAGES
    guards = [dashboard_guard]
    opt = roles(Role.marketing)
    include_in_schema = False

    @get("/")
    async def queue_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        terms_lookup: CampaignTermsLookup,
        status: ReviewStatus = ReviewStatus.held,
        campaign_id: UUID | None = None,
    ) -> Template:
        queue = await risk_service.review_queue(
            db_session,
            terms_lookup=terms_lookup,
            status=status,
            campaign_id=campaign_id,
            limit=QUEUE_PAGE_SIZE,
        )
        return Template(
            template_name="growth/risk/queue.html.j2",
            context=dashboard_context(request, settings)
            | {
                "queue": queue,
                "status_filter": status.value,
                "campaign_filter": campaign_id,
                "notice": forms.read_notice(request.query_params),
                "error": forms.read_error(request.query_params),
                "page_size": QUEUE_PAGE_SIZE,
            },
            headers={"Cache-Control": "no-store"},
        )

    @get("/{order_id:uuid}")
    async def detail_page(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        terms_lookup: CampaignTermsLookup,
        order_id: UUID,
    ) -> Template:
        view = await risk_service.review_detail(db_session, order_id, terms_lookup=terms_lookup)
        return Template(
            template_name="growth/risk/detail.html.j2",
            context=dashboard_context(request, settings)
            | {"view": view, "error": forms.read_error(request.query_params)},
            headers={"Cache-Control": "no-store"},
        )

    @post("/{order_id:uuid}/decision")
    async def decide(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        order_id: UUID,
        data: DecisionFormData,
    ) -> Redirect:
        """Back to the queue with what happened; after a refusal, back to the order's page with why."""
        if problem := forms.form_problem(data.decision, data.note):
            return Redirect(forms.detail_url(order_id, {"error": problem}), status_code=303)
        approve = forms.DECISIONS[data.decision]
        try:
            result = await risk_service.decide(
                db_session,
                order_id=order_id,
                approve=approve,
                note=data.note,
                actor=audit_service.actor_from_request(request),
                now=utc_now(),
            )
        except DomainError as error:
            await db_session.rollback()  # the redirect would commit: keep nothing of a refused decision
            return Redirect(forms.detail_url(order_id, {"error": error.code()}), status_code=303)
        notice = forms.after_decision(approve, int(result.is_changed))
        return Redirect(forms.queue_url("", notice), status_code=303)

    @post("/decisions")
    async def decide_many(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, data: BatchFormData
    ) -> Redirect:
        """Every ticked order decided the same way, all or none (post/redirect/get)."""
        chosen = data.chosen
        if problem := forms.form_problem(data.decision, data.note, len(chosen)):
            return Redirect(forms.queue_url(data.filter_campaign_id, {"error": problem}), status_code=303)
        approve = forms.DECISIONS[data.decision]
        try:
            results = await risk_service.decide_many(
                db_session,
                order_ids=chosen,
                approve=approve,
                note=data.note,
                actor=audit_service.actor_from_request(request),
                now=utc_now(),
            )
        except DomainError as error:
            await db_session.rollback()
            return Redirect(
                forms.queue_url(data.filter_campaign_id, {"error": error.code()}), status_code=303
            )
        notice = forms.after_decision(approve, sum(r.is_changed for r in results))
        return Redirect(forms.queue_url(data.filter_campaign_id, notice), status_code=303)
