"""The app factory: the composition root, and the only module that imports every package."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import structlog
import swagger_ui
from advanced_alchemy.exceptions import DuplicateKeyError
from advanced_alchemy.exceptions import NotFoundError as RepositoryNotFound
from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from jinja2 import Environment
from litestar import Litestar, MediaType, Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.campaign import service as campaign_service
from campaigns.campaign.controllers import CampaignController, CampaignPages
from campaigns.gift_pack import service as gift_pack_service
from campaigns.gift_pack.controllers import GiftPackController, GiftPackPages, ShipmentController
from campaigns.reward import service as reward_service
from campaigns.reward.controllers import (
    CustomerRewardController,
    CustomerRewardPages,
    RewardController,
    RewardRuleController,
    RewardRulePages,
    WelcomeController,
)
from campaigns.share import models as _share_models  # noqa: F401
from campaigns.share import service as share_service
from campaigns.share.controllers import (
    ShareModerationController,
    ShareModerationPages,
    ShareSubmissionController,
)
from growth.alert import service as alert_service
from growth.alert.controllers import AlertController, AlertPages
from growth.analytics.controllers import AnalyticsController, AnalyticsPages
from growth.audit.controllers import AuditController
from growth.click.service import ClickWriter
from growth.core.auth.controllers import ApiKeyController, DashboardController
from growth.core.auth.errors import SignInRequired
from growth.core.auth.guards import DB_CONFIG_STATE_KEY, KEY_CACHE_STATE_KEY, sign_in_redirect
from growth.core.auth.rules import derived_secret
from growth.core.auth.service import KeyCache
from growth.core.cache import RedisInvalidationRelay
from growth.core.cache import subscribe as subscribe_invalidations
from growth.core.db import PROJECT_ROOT, make_db_config, make_engine
from growth.core.errors import DomainError
from growth.core.events.service import NOTIFIER_KEY, Subscriptions
from growth.core.events.worker import Notifier, OutboxWorker
from growth.core.i18n import HTML_LANG, chosen_language, install, negotiate_locale, remember_language
from growth.core.jobs import Job, PeriodicJob
from growth.core.logging import configure_logging, echo_request_id, request_id_middleware
from growth.core.mail import parse_smtp_url
from growth.core.metrics import ClickSampler, latency_middleware
from growth.core.ports import CostLine, CostQuery, EstimateFacts, GrowthCosts
from growth.core.queue import JobQueue, make_queue
from growth.core.rate_limit import (
    CODE_LOOKUP,
    SIGN_IN,
    MemoryCounters,
    RateLimits,
    RedisCounters,
    TooManyRequests,
    parse_limit,
)
from growth.core.security import csp_nonce, security_headers
from growth.customer import service as customer_service
from growth.customer.controllers import CustomerController
from growth.demo import demo_shop
from growth.health.controllers import health, metrics, ready
from growth.ledger.controllers import CustomerBalanceController
from growth.link.controllers import CachedRedirects, LinkController
from growth.link.service import LinkCache, Redirects
from growth.notification import service as notification_service
from growth.notification.controllers import (
    NotificationController,
    NotificationPages,
    WebhookController,
    WebhookPages,
)
from growth.notification.rules import Recipient, RecipientType
from growth.order.controllers import OrderController
from growth.order.tasks import OrderIntakeBatcher
from growth.order_import.controllers import OrderImportController
from growth.referral_code.controllers import ReferralCodeController
from growth.risk.controllers import ReviewController, ReviewPages
from growth.risk.service import RiskPolicy
from growth.settings import Settings, get_settings
from growth.stripe_webhook.controllers import StripeWebhookController
from payouts.commission import service as commission_service
from payouts.commission.controllers import (
    CommissionController,
    CommissionPlanController,
    PartnerCommissionController,
)
from payouts.lead import service as lead_service
from payouts.lead.controllers import PartnerLeadAdminController, PartnerLeadController
from payouts.partner import service as partner_service
from payouts.partner.controllers import (
    PartnerApplicationController,
    PartnerController,
    PartnerSelfController,
)
from payouts.partner.rules import TierPolicy
from payouts.payout_run import service as payout_run_service
from payouts.payout_run.controllers import (
    PartnerPayoutController,
    PayoutController,
    PayoutRunController,
    PayoutRunPages,
)
from payouts.payout_run.rules import parse_minimums
from payouts.portal.controllers import PortalController, PortalSignInController
from payouts.portal.controllers import sign_in_redirect as portal_sign_in_redirect
from payouts.portal.errors import PartnerSignInRequired
from payouts.provider import service as provider_service
from payouts.provider.controllers import PayoutAccountController
from payouts.provider.rules import mail_locale
from payouts.statement.controllers import PartnerStatementController, StatementController, StatementPages

log = structlog.get_logger()
SWAGGER_ASSETS = "/static/swagger-ui"
SWAGGER_UI_STATIC = Path(swagger_ui.__file__).parent / "static"
ANALYTICS_ASSETS = "/static/analytics"
ANALYTICS_STATIC = Path(__file__).parent / "analytics" / "static"
CSRF_EXEMPT = [
    # Litestar searches the request path for these (re.findall), hence the anchors.
    r"^/api/",  # the JSON API: bearer API keys, never cookies
    r"^/webhooks/",  # signed by the sender (Stripe)
    r"^/r/",  # referral redirects and QR codes
    r"^/schema",  # the OpenAPI document and Swagger UI
    r"^/health",
    r"^/static/",
]
"""Paths without CSRF checks: machines authenticated by keys or signatures, and read-only routes."""


def build_subscriptions(*, settings: Settings | None = None) -> Subscriptions:
    """Which package reacts to which of growth's domain events."""
    subscriptions = Subscriptions()
    subscriptions.add(
        "referral_code.issued", "campaigns.count_code_issued", campaign_service.on_referral_code_issued
    )
    subscriptions.add(
        gift_pack_service.SHIPMENT_REQUESTED,
        "campaigns.gift_pack.shipment_webhook",
        gift_pack_service.make_shipment_webhook_handler(settings or get_settings()),
    )
    for event_name in ("order.attributed", *reward_service.ORDER_EVENTS):
        handler = (
            reward_service.on_order_attributed
            if event_name == "order.attributed"
            else reward_service.on_order_event
        )
        subscriptions.add(event_name, "campaigns.rewards", handler)
    subscriptions.add("gift_pack.restocked", "campaigns.rewards", reward_service.on_gift_pack_restocked)
    for event_name in (
        "gift_pack.shipment_shipped",
        "gift_pack.shipment_delivered",
        "gift_pack.shipment_failed",
    ):
        subscriptions.add(event_name, "campaigns.rewards", reward_service.on_shipment_event)
    subscriptions.add("order.attributed", "payouts.commissions", commission_service.on_order_attributed)
    tiers = partner_service.tier_policy(settings or get_settings())
    for event_name in commission_service.ORDER_EVENTS:
        subscriptions.add(
            event_name, "payouts.commissions", partial(commission_service.on_order_event, tiers=tiers)
        )
    subscriptions.add(
        provider_service.ACCOUNT_CHANGED,
        "payouts.account_change_mail",
        provider_service.make_account_change_mail_handler(settings or get_settings()),
    )
    notify = notification_service.make_event_handler(
        settings or get_settings(), notification_recipients(settings)
    )
    for event_name in notification_service.NOTIFYING_EVENTS:
        subscriptions.add(event_name, "growth.notifications", notify)
    # The risk firewall's later decisions: both read the order's current review, so replays change nothing.
    subscriptions.add("order.review_decided", "campaigns.rewards", reward_service.on_order_review_decided)
    subscriptions.add(
        "order.review_decided", "payouts.commissions", commission_service.on_order_review_decided
    )
    return subscriptions


def notification_recipients(settings: Settings | None = None) -> notification_service.RecipientLookup:
    """Where customers and partners are told: their address, name and language (partners by country)."""
    default_locale = (settings or get_settings()).default_locale

    async def lookup(session: AsyncSession, kind: RecipientType, recipient_id: str) -> Recipient | None:
        if kind is RecipientType.customer:
            customer = (await customer_service.customers_by_id(session, [UUID(recipient_id)])).get(
                UUID(recipient_id)
            )
            if customer is None or customer.deleted_at is not None:
                return None
            locale = negotiate_locale(customer.locale, default=default_locale)
            return Recipient(customer.email, customer.name, locale)
        try:
            partner = await partner_service.get_partner(session, UUID(recipient_id))
        except DomainError:  # gone: nobody to e-mail, and retrying the event would not bring it back
            return None
        return Recipient(partner.email, partner.name, mail_locale(partner.country, default_locale))

    return lookup


def _deliver_webhooks(session: AsyncSession, now: datetime, *, settings: Settings) -> Awaitable[int]:
    return notification_service.deliver_due(session, now=now, settings=settings)


def _approve_due_commissions(session: AsyncSession, now: datetime, *, tiers: TierPolicy) -> Awaitable[int]:
    return commission_service.approve_due(session, now=now, tiers=tiers)


def _promote_partners(session: AsyncSession, now: datetime, *, tiers: TierPolicy) -> Awaitable[int]:
    return payout_run_service.promote_due(session, policy=tiers, now=now)


def _approve_due_rewards(session: AsyncSession, now: datetime) -> Awaitable[int]:
    return reward_service.approve_due(session, now=now)


async def check_delays(session: AsyncSession, now: datetime, *, settings: Settings) -> int:
    """The delay check: late rewards (``campaigns``) and failed payouts (``payouts``) alert once each."""
    delays = await reward_service.find_delays(
        session,
        now=now,
        fulfilment_days=settings.gift_pack_fulfilment_days,
        review_days=settings.review_alert_days,
    )
    delays += await payout_run_service.find_delays(session)
    return await alert_service.raise_alerts(session, delays, now=now)


def periodic_jobs(settings: Settings) -> list[tuple[str, Job, float]]:
    """The periodic jobs as (name, job, interval in seconds): in-process loops in the embedded profile,
    SAQ cron jobs of ``growth worker`` in production."""
    tiers = partner_service.tier_policy(settings)
    every_reward_interval = settings.reward_job_interval_seconds
    return [
        ("rewards.approve_due", _approve_due_rewards, every_reward_interval),
        ("commissions.approve_due", partial(_approve_due_commissions, tiers=tiers), every_reward_interval),
        ("payouts.promote_partners", partial(_promote_partners, tiers=tiers), every_reward_interval),
        (
            "notifications.deliver_webhooks",
            partial(_deliver_webhooks, settings=settings),
            settings.webhook_job_interval_seconds,
        ),
        (
            "alerts.check_delays",
            partial(check_delays, settings=settings),
            settings.delay_job_interval_seconds,
        ),
    ]


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept", "")
    return not request.url.path.startswith("/api/") and "text/html" in accept


def error_response(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
) -> Response[Any]:
    """Every error, one shape: ``{"error": {"code", "message"}}``; browsers get a page instead."""
    if _wants_html(request):
        settings: Settings = request.app.state.settings
        locale = negotiate_locale(
            request.headers.get("accept-language"),
            override=chosen_language(None, request.cookies),
            default=settings.default_locale,
        )
        return Template(
            template_name="errors/error.html.j2",
            status_code=status,
            context={"status": status, "code": code, "locale": locale, "html_lang": HTML_LANG[locale]},
        )
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return Response({"error": body}, status_code=status, media_type=MediaType.JSON)


class ErrorDetail(msgspec.Struct):
    code: str
    message: str
    details: dict[str, Any] | None = None


class ErrorRead(msgspec.Struct):
    """What ``error_response`` sends, as the OpenAPI document shows it."""

    error: ErrorDetail


_ERROR_SPEC = ResponseSpec(data_container=ErrorRead, description="Error", generate_examples=False)
# What an API route can answer besides its success (README "Errors"); other routes answer 400 and 404.
_API_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422, 429)
_PAGE_ERRORS = (400, 404)
_LINK_ERRORS = (400, 404, 429)
"""The referral links and their QR codes: also 429 for a client trying too many unknown codes."""


def document_errors(app: Litestar) -> None:
    """Give every operation the error statuses it can answer, in the one shape ``error_response`` sends.

    Without it the document shows Litestar's own 400 body (``status_code``, ``detail``), which the
    exception handlers above never send, and no 401/403/404 at all.
    """
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        if route.path.startswith("/api/"):
            statuses = _API_ERRORS
        else:
            statuses = _LINK_ERRORS if route.path.startswith("/r/") else _PAGE_ERRORS
        for handler in route.route_handlers:
            handler.responses = {status: _ERROR_SPEC for status in statuses} | (handler.responses or {})


def _domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    response = error_response(request, exc.status_code, exc.code(), exc.message, exc.details or None)
    if isinstance(exc, TooManyRequests):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    details = {"problems": exc.extra} if exc.extra else None
    return error_response(request, 400, "validation_error", str(exc.detail), details)  # type: ignore[arg-type]


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def _http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    code = _HTTP_CODES.get(exc.status_code, "http_error" if exc.status_code < 500 else "internal_error")
    return error_response(request, exc.status_code, code, str(exc.detail))


def _repository_not_found(request: Request[Any, Any, Any], exc: RepositoryNotFound) -> Response[Any]:
    return error_response(request, 404, "not_found", str(exc))


def _duplicate_key(request: Request[Any, Any, Any], exc: DuplicateKeyError) -> Response[Any]:
    return error_response(request, 409, "conflict", "a record with the same key already exists")


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("growth.unhandled_error", path=request.url.path, error=repr(exc))
    return error_response(request, 500, "internal_error", "an unexpected error occurred")


async def estimate_rewards(session: AsyncSession, order: EstimateFacts) -> int:
    """What an attributed order would grant: its campaign's rewards plus its partner's commission."""
    total = 0
    if order.campaign_id is not None and order.method not in ("none", "lead"):
        total += await reward_service.estimate_rewards(
            session,
            campaign_id=order.campaign_id,
            order_amount=order.amount,
            currency=order.currency,
            has_referrer=order.customer_referrer_id is not None,
        )
    if order.partner_id is not None:
        total += await commission_service.estimate_commission(
            session,
            partner_id=order.partner_id,
            order_amount=order.amount,
            currency=order.currency,
            lines=[(line.sku, line.category, line.amount) for line in order.lines],
            at=order.at or order.placed_at,
        )
    return total


async def analytics_costs(session: AsyncSession, query: CostQuery) -> GrowthCosts:
    """The analytics' costs: rewards (by campaign kind) and shares from ``campaigns``, commissions."""
    rewards = await reward_service.cost_by_kind(
        session, since=query.since, until=query.until, campaign_id=query.campaign_id
    )
    commissions = await commission_service.cost_by_currency(
        session, since=query.since, until=query.until, order_ids=query.campaign_orders
    )
    submitted, approved = await share_service.count_submissions(
        session, since=query.since, until=query.until, campaign_id=query.campaign_id
    )
    return GrowthCosts(
        rewards=tuple(CostLine(kind, currency, amount) for kind, currency, amount in rewards),
        commissions=tuple(CostLine("partner", currency, amount) for currency, amount in commissions),
        rewarded_orders=await reward_service.count_rewarded_orders(session, query.referred_orders),
        share_submissions=submitted,
        share_approvals=approved,
    )


def risk_policy(settings: Settings) -> RiskPolicy:
    """The risk firewall's program settings, with the estimate of rewards; ``ValueError`` when invalid."""
    return RiskPolicy.configured(
        settings.risk_settings, settings.disposable_domains_file, estimate=estimate_rewards
    )


def check_settings(settings: Settings) -> None:
    """Refuse to start on a setting that would only fail later, inside a request."""
    try:
        parse_smtp_url(settings.smtp_url)
        parse_minimums(settings.payout_minimums)
        partner_service.tier_policy(settings)
        payout_run_service.gates(settings)
        risk_policy(settings)
        rate_limit_settings(settings)
    except ValueError as exc:
        raise ValueError(f"invalid setting: {exc}") from exc


def rate_limit_settings(settings: Settings) -> dict[str, Any]:
    return {
        CODE_LOOKUP: parse_limit(settings.rate_limit_code_lookups),
        SIGN_IN: parse_limit(settings.rate_limit_sign_in),
    }


def make_rate_limits(settings: Settings) -> RateLimits:
    """Counters in Redis when the production profile shares one, else in this process."""
    counters = (
        RedisCounters(settings.redis_url, settings.queue_name) if settings.redis_url else MemoryCounters()
    )
    return RateLimits(counters, rate_limit_settings(settings))


def _install_template_globals(env: Environment) -> None:
    install(env)  # gettext, money and date filters, language links
    env.globals["csp_nonce"] = csp_nonce  # <script nonce="{{ csp_nonce() }}">


def create_app(settings: Settings | None = None, *, subscriptions: Subscriptions | None = None) -> Litestar:
    """Compose the service: database, workers, routes, templates, OpenAPI and error handling."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    check_settings(settings)
    policy = risk_policy(settings)
    notifier = Notifier()
    db_config = make_db_config(make_engine(settings.database_url), info={NOTIFIER_KEY: notifier})
    session_maker = db_config.create_session_maker()
    order_intake = OrderIntakeBatcher(session_maker)
    clicks = ClickWriter(
        session_maker,
        secret=settings.resolved_secret(),
        max_queue=settings.click_queue_size,
        batch_size=settings.click_batch_size,
        flush_interval_ms=settings.click_flush_interval_ms,
    )
    links = LinkCache(
        session_maker,
        campaign_service.get_terms,
        ttl=settings.link_cache_seconds,
        code_param=settings.referral_param,
        click_param=settings.click_param,
    )
    redirects = Redirects(links, clicks, settings.cookie_name)
    api_keys = KeyCache()
    invalidations = (
        RedisInvalidationRelay(settings.redis_url, f"growth:{settings.queue_name}:cache")
        if settings.redis_url
        else None
    )
    outbox = OutboxWorker(
        session_maker,
        subscriptions or build_subscriptions(settings=settings),
        notifier,
        poll_seconds=settings.outbox_poll_seconds,
    )

    periodic = [
        PeriodicJob(session_maker, name, job, interval) for name, job, interval in periodic_jobs(settings)
    ]
    job_queue = JobQueue(make_queue(settings.redis_url, settings.queue_name)) if settings.redis_url else None

    click_metrics = ClickSampler(clicks)
    rate_limits = make_rate_limits(settings)

    @asynccontextmanager
    async def workers(_: Litestar) -> AsyncIterator[None]:
        clicks.start()
        order_intake.start()
        click_metrics.start()
        stop_listening = subscribe_invalidations(links.invalidate)
        stop_listening_keys = subscribe_invalidations(api_keys.invalidate)
        if invalidations is not None:
            await invalidations.start()
        links.start()  # after the relay: subscribing drops everything cached
        if job_queue is not None:
            # Production profile: `growth worker` processes drain the outbox and run the periodic jobs.
            await job_queue.connect()
            notifier.forward_to(job_queue.kick_outbox)
        else:
            outbox.start()
            for job in periodic:
                job.start()
        if not gc.get_freeze_count():
            # What the process's first startup loaded (modules, mappers, templates) lives as long as
            # the process: frozen out of the collector's sight, full collections stop walking it
            # (250 ms+ pauses under load, the redirects' p99 in issue 8). Once per process: later
            # apps (tests) would freeze their predecessors' garbage.
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            for job in reversed(periodic):
                await job.stop()
            await order_intake.stop()
            await clicks.stop()
            await click_metrics.stop()
            await links.stop()
            stop_listening()
            stop_listening_keys()
            if invalidations is not None:
                await invalidations.stop()
            await outbox.stop()
            if job_queue is not None:
                notifier.forward_to(None)
                await job_queue.disconnect()
            await rate_limits.close()

    route_handlers: list[Any] = [
        create_static_files_router(
            path=SWAGGER_ASSETS, directories=[SWAGGER_UI_STATIC], include_in_schema=False
        ),
        create_static_files_router(
            path=ANALYTICS_ASSETS, directories=[ANALYTICS_STATIC], include_in_schema=False
        ),
        health,
        ready,
        metrics,
        AuditController,
        NotificationController,
        NotificationPages,
        WebhookController,
        WebhookPages,
        AlertController,
        AlertPages,
        ApiKeyController,
        DashboardController,
        CustomerController,
        CustomerBalanceController,
        CampaignController,
        CampaignPages,
        ReferralCodeController,
        PartnerApplicationController,
        PartnerController,
        PartnerSelfController,
        PartnerLeadController,
        PartnerLeadAdminController,
        CommissionPlanController,
        CommissionController,
        PartnerCommissionController,
        StatementController,
        PartnerStatementController,
        StatementPages,
        PayoutAccountController,
        PayoutRunController,
        PayoutRunPages,
        PayoutController,
        PartnerPayoutController,
        PortalSignInController,
        PortalController,
        LinkController,
        OrderController,
        OrderImportController,
        StripeWebhookController,
        GiftPackController,
        ShipmentController,
        RewardRuleController,
        RewardController,
        WelcomeController,
        CustomerRewardController,
        CustomerRewardPages,
        ShareSubmissionController,
        ShareModerationController,
        ShareModerationPages,
        GiftPackPages,
        RewardRulePages,
        ReviewController,
        ReviewPages,
        AnalyticsController,
        AnalyticsPages,
    ]
    if settings.demo:
        route_handlers.append(demo_shop)
    app = Litestar(
        route_handlers=route_handlers,
        plugins=[SQLAlchemyPlugin(config=db_config)],
        lifespan=[workers],
        middleware=[request_id_middleware, latency_middleware],
        before_send=[
            echo_request_id,
            remember_language,
            security_headers(https=settings.base_url.startswith("https://")),
        ],
        csrf_config=CSRFConfig(
            secret=derived_secret(settings.resolved_secret(), "csrf").hex(),
            cookie_name="growth_csrf",
            cookie_samesite="lax",
            cookie_secure=settings.base_url.startswith("https://"),
            cookie_httponly=True,  # forms carry the token in a hidden field; no script reads the cookie
            exclude=CSRF_EXEMPT,
        ),
        dependencies={
            "settings": Provide(lambda: settings, use_cache=True, sync_to_thread=False),
            "risk_policy": Provide(lambda: policy, use_cache=True, sync_to_thread=False),
            "terms_lookup": Provide(lambda: campaign_service.get_terms, use_cache=True, sync_to_thread=False),
            "clicks": Provide(lambda: clicks, use_cache=True, sync_to_thread=False),
            "order_intake": Provide(lambda: order_intake, use_cache=True, sync_to_thread=False),
            "redirects": Provide(lambda: redirects, use_cache=True, sync_to_thread=False),
            "rate_limits": Provide(lambda: rate_limits, use_cache=True, sync_to_thread=False),
            "lead_lookup": Provide(lambda: lead_service.find_lead, use_cache=True, sync_to_thread=False),
            "submissions_lookup": Provide(
                lambda: share_service.submission_facts, use_cache=True, sync_to_thread=False
            ),
            "analytics_costs": Provide(lambda: analytics_costs, use_cache=True, sync_to_thread=False),
            "partner_names": Provide(
                lambda: partner_service.partner_names, use_cache=True, sync_to_thread=False
            ),
            "campaign_choices": Provide(
                lambda: campaign_service.campaign_choices, use_cache=True, sync_to_thread=False
            ),
            "rewards_lookup": Provide(
                lambda: partial(
                    reward_service.share_page_rewards, fulfilment_days=settings.gift_pack_fulfilment_days
                ),
                use_cache=True,
                sync_to_thread=False,
            ),
        },
        state=State(
            {
                "settings": settings,
                DB_CONFIG_STATE_KEY: db_config,
                KEY_CACHE_STATE_KEY: api_keys,
                "clicks": clicks,
                "links": links,
                "outbox": outbox,
                "session_maker": session_maker,
                "job_queue": job_queue,
                "click_metrics": click_metrics,
            }
        ),
        template_config=TemplateConfig(
            directory=PROJECT_ROOT / "templates",
            engine=JinjaTemplateEngine,
            engine_callback=lambda engine: _install_template_globals(engine.engine),
        ),
        openapi_config=OpenAPIConfig(
            title="Growth platform API",
            version="0.1.0",
            path="/schema",
            description="Referral links, codes, campaigns and partners. Authenticate with an API key "
            "(`growth keys create --role admin`) as `Authorization: Bearer <key>`.",
            components=Components(
                security_schemes={
                    "ApiKey": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="An API key created with `growth keys create`",
                    )
                }
            ),
            render_plugins=[
                SwaggerRenderPlugin(
                    path=["/", "/swagger"],
                    js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
                    css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
                    standalone_preset_js_url=f"{SWAGGER_ASSETS}/swagger-ui-standalone-preset.js",
                ),
                JsonRenderPlugin(),
            ],
        ),
        exception_handlers={
            SignInRequired: sign_in_redirect,
            PartnerSignInRequired: portal_sign_in_redirect,
            DomainError: _domain_error,
            ValidationException: _validation_error,
            HTTPException: _http_error,
            RepositoryNotFound: _repository_not_found,
            DuplicateKeyError: _duplicate_key,
            Exception: _unexpected,
        },
        debug=settings.debug,
    )
    # Cached redirects are answered ahead of the router, inside Litestar's ``before_send`` hooks.
    app.asgi_handler = CachedRedirects(app.asgi_handler, redirects, rate_limits)
    document_errors(app)
    return app
