"""Hashtag posts: customers submit theirs through their share token; marketing moderates them."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.reward.models import Reward
from campaigns.share import forms
from campaigns.share import service as share_service
from campaigns.share.rules import Decision, SubmissionStatus
from campaigns.share.schemas import (
    ApproveCreate,
    CustomerSubmissionRead,
    DecisionFailure,
    DecisionsCreate,
    DecisionsRead,
    RejectCreate,
    ShareRewardRead,
    ShareSubmissionRead,
    SubmissionCreate,
    SubmissionForm,
)
from growth.audit import service as audit_service
from growth.core.audit_port import Actor
from growth.core.auth.guards import api_key_guard, dashboard_context, dashboard_guard, roles
from growth.core.auth.rules import Role
from growth.core.errors import DomainError, NotFound
from growth.core.i18n import SUPPORTED
from growth.core.paging import Offset
from growth.core.time import utc_now
from growth.settings import Settings


def reward_read(r: Reward | None) -> ShareRewardRead | None:
    if r is None:
        return None
    return ShareRewardRead(id=r.id, status=r.status, reward_type=r.reward_type, sku=r.sku, reason=r.reason)


def customer_read(v: share_service.SubmissionView) -> CustomerSubmissionRead:
    s = v.submission
    return CustomerSubmissionRead(
        id=s.id,
        campaign_id=s.campaign_id,
        url=s.url,
        platform=s.platform,
        status=SubmissionStatus(s.status),
        reason=share_service.customer_reason(s),
        submitted_at=s.submitted_at,
        reviewed_at=s.reviewed_at,
        reward=reward_read(v.reward),
    )


def moderation_read(v: share_service.SubmissionView) -> ShareSubmissionRead:
    s = v.submission
    return ShareSubmissionRead(
        id=s.id,
        campaign_id=s.campaign_id,
        customer_id=s.customer_id,
        referral_code_id=s.referral_code_id,
        url=s.url,
        url_key=s.url_key,
        platform=s.platform,
        status=SubmissionStatus(s.status),
        reason=s.reason,
        submitted_at=s.submitted_at,
        reviewed_at=s.reviewed_at,
        reviewed_by=s.reviewed_by,
        reward=reward_read(v.reward),
    )


def reviewer_of(request: Request[Any, Any, Any]) -> Actor:
    """Who decides: the API key the guard authenticated (or the dashboard session opened with it)."""
    return audit_service.actor_from_request(request)


class ShareSubmissionController(Controller):
    """A customer's own posts; the signed share token is the customer's credential (no API key)."""

    tags = ["Share submissions"]

    @post("/api/share/{token:str}/submissions", summary="Submit the URL of a public post", status_code=201)
    async def submit_post(
        self, db_session: AsyncSession, settings: Settings, token: str, data: SubmissionCreate
    ) -> CustomerSubmissionRead:
        view = await share_service.submit_post(
            db_session,
            token=token,
            url=data.url,
            secret=settings.resolved_secret(),
            platforms=settings.share_platforms,
            now=utc_now(),
        )
        return customer_read(view)

    @get("/api/share/{token:str}/submissions", summary="The posts this customer submitted, newest first")
    async def list_own_submissions(
        self, db_session: AsyncSession, settings: Settings, token: str
    ) -> list[CustomerSubmissionRead]:
        views = await share_service.list_own_submissions(
            db_session, token=token, secret=settings.resolved_secret()
        )
        return [customer_read(v) for v in views]

    @post("/share/{token:str}/submissions", include_in_schema=False, status_code=303)
    async def submit_post_form(
        self,
        db_session: AsyncSession,
        settings: Settings,
        token: str,
        data: Annotated[SubmissionForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Redirect:
        """The share page's form: back to the page (post/redirect/get) with the outcome in the query."""
        query: dict[str, str] = {"lang": data.lang} if data.lang in SUPPORTED else {}
        try:
            await share_service.submit_post(
                db_session,
                token=token,
                url=data.url,
                secret=settings.resolved_secret(),
                platforms=settings.share_platforms,
                now=utc_now(),
            )
            query["submitted"] = "1"
        except DomainError as exc:
            if isinstance(exc, NotFound):
                raise  # a forged or stale token: the error page, not the share page
            await db_session.rollback()  # the redirect would commit: keep nothing of a refused post
            query["error"] = exc.code()
        return Redirect(f"/share/{quote(token, safe='')}?{urlencode(query)}", status_code=303)


class ShareModerationController(Controller):
    """Marketing's moderation queue of submitted posts."""

    path = "/api/share-submissions"
    tags = ["Share submissions"]
    guards = [api_key_guard]
    opt = roles(Role.marketing)
    security = [{"ApiKey": []}]

    @get("/", summary="The moderation queue, oldest first")
    async def list_queue(
        self,
        db_session: AsyncSession,
        status: SubmissionStatus = SubmissionStatus.pending,
        campaign_id: UUID | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Offset = 0,
    ) -> list[ShareSubmissionRead]:
        views = await share_service.list_queue(
            db_session, status=status, campaign_id=campaign_id, limit=limit, offset=offset
        )
        return [moderation_read(v) for v in views]

    @get("/{submission_id:uuid}", summary="Read a submission and its reward")
    async def get_submission(self, db_session: AsyncSession, submission_id: UUID) -> ShareSubmissionRead:
        return moderation_read(await share_service.get_submission(db_session, submission_id))

    @post("/{submission_id:uuid}/approve", summary="Approve a post: grants the share reward", status_code=200)
    async def approve(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        submission_id: UUID,
        data: ApproveCreate | None = None,
    ) -> ShareSubmissionRead:
        view = await share_service.decide_submission(
            db_session,
            submission_id,
            Decision.approve,
            reason=data.note if data else None,
            reviewer=reviewer_of(request),
            now=utc_now(),
        )
        return moderation_read(view)

    @post("/{submission_id:uuid}/reject", summary="Reject a post, saying why", status_code=200)
    async def reject(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        submission_id: UUID,
        data: RejectCreate,
    ) -> ShareSubmissionRead:
        view = await share_service.decide_submission(
            db_session,
            submission_id,
            Decision.reject,
            reason=data.reason,
            reviewer=reviewer_of(request),
            now=utc_now(),
        )
        return moderation_read(view)

    @post("/decisions", summary="Approve and reject several posts; each stands on its own", status_code=200)
    async def decide_many(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, data: DecisionsCreate
    ) -> DecisionsRead:
        results = await share_service.decide_many(
            db_session,
            approve=data.approve,
            reject=[(item.id, item.reason) for item in data.reject],
            reviewer=reviewer_of(request),
            now=utc_now(),
        )
        return DecisionsRead(
            decided=[moderation_read(r.view) for r in results if r.view],
            failed=[
                DecisionFailure(
                    id=r.submission_id, decision=r.decision, code=r.error.code(), message=r.error.message
                )
                for r in results
                if r.error
            ],
        )


DecisionFormData = Annotated[forms.DecisionForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
BatchFormData = Annotated[forms.BatchForm, Body(media_type=RequestEncodingType.URL_ENCODED)]
QUEUE_PAGE_SIZE = 200


async def _refused(db_session: AsyncSession, filter_campaign_id: str, error: DomainError) -> Redirect:
    """Back to the queue with the error; nothing of the refused decision is kept."""
    await db_session.rollback()  # the redirect would commit an approval whose reward failed
    return Redirect(forms.queue_url(filter_campaign_id, {"error": error.code()}), status_code=303)


class ShareModerationPages(Controller):
    """Marketing's moderation queue page: approve (granting the reward) or reject posts, one or many."""

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
        status: SubmissionStatus = SubmissionStatus.pending,
        campaign_id: UUID | None = None,
    ) -> Template:
        queue = await share_service.moderation_queue(
            db_session, status=status, campaign_id=campaign_id, limit=QUEUE_PAGE_SIZE
        )
        return Template(
            template_name="campaigns/share/queue.html.j2",
            context=dashboard_context(request, settings)
            | {
                "queue": queue,
                "status_filter": status,
                "campaign_filter": campaign_id,
                "notice": forms.read_notice(request.query_params),
                "error": forms.read_error(request.query_params),
                "page_size": QUEUE_PAGE_SIZE,
            },
            headers={"Cache-Control": "no-store"},
        )

    @post("/{submission_id:uuid}/approve")
    async def approve(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        submission_id: UUID,
        data: DecisionFormData,
    ) -> Redirect:
        try:
            view = await share_service.decide_submission(
                db_session, submission_id, Decision.approve, reviewer=reviewer_of(request), now=utc_now()
            )
        except DomainError as error:
            return await _refused(db_session, data.filter_campaign_id, error)
        notice = forms.after_decision(Decision.approve, share_service.outcome_of(view.reward))
        return Redirect(forms.queue_url(data.filter_campaign_id, notice), status_code=303)

    @post("/{submission_id:uuid}/reject")
    async def reject(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        submission_id: UUID,
        data: DecisionFormData,
    ) -> Redirect:
        try:
            await share_service.decide_submission(
                db_session,
                submission_id,
                Decision.reject,
                reason=data.reason,
                reviewer=reviewer_of(request),
                now=utc_now(),
            )
        except DomainError as error:
            return await _refused(db_session, data.filter_campaign_id, error)
        notice = forms.after_decision(Decision.reject, None)
        return Redirect(forms.queue_url(data.filter_campaign_id, notice), status_code=303)

    @post("/decisions")
    async def decide_many(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, data: BatchFormData
    ) -> Redirect:
        try:
            batch = forms.parse_batch(data)
            results = await share_service.decide_many(
                db_session,
                approve=batch.approve,
                reject=batch.reject,
                reviewer=reviewer_of(request),
                now=utc_now(),
            )
        except DomainError as error:
            return await _refused(db_session, data.filter_campaign_id, error)
        # Each decision stood or failed on its own (a savepoint each): the decided ones are kept.
        decided = [(r.decision, share_service.outcome_of(r.view.reward)) for r in results if r.view]
        notice = forms.after_batch(decided, [r.error for r in results if r.error])
        return Redirect(forms.queue_url(data.filter_campaign_id, notice), status_code=303)
