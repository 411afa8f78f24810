"""Payout runs (finance) and a partner's own payouts."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit import service as audit_service
from growth.core.auth.guards import api_key_guard, dashboard_context, dashboard_guard, roles
from growth.core.auth.rules import Role
from growth.core.errors import DomainError
from growth.core.money import Money
from growth.core.queue import PAYOUT_RUN_EXECUTE
from growth.core.time import utc_now
from growth.settings import Settings
from payouts.partner import service as partner_service
from payouts.payout_run import forms
from payouts.payout_run import service as payout_run_service
from payouts.payout_run.errors import PayoutRunExists
from payouts.payout_run.models import Payout, PayoutRun
from payouts.payout_run.rules import PayoutStatus, RunStatus, SkipReason, parse_minimums
from payouts.payout_run.schemas import (
    PayoutHoldReleaseCreate,
    PayoutHoldReleaseRead,
    PayoutRead,
    PayoutRunCreate,
    PayoutRunDetailRead,
    PayoutRunRead,
    PayoutSkipRead,
)
from payouts.provider import service as provider_service


def run_read(r: PayoutRun) -> PayoutRunRead:
    return PayoutRunRead(
        r.id, r.period, r.currency, RunStatus(r.status), r.created_at, r.started_at, r.finished_at
    )


def payout_read(p: Payout) -> PayoutRead:
    return PayoutRead(
        id=p.id,
        run_id=p.run_id,
        partner_id=p.partner_id,
        statement_id=p.statement_id,
        amount=p.amount,
        currency=p.currency,
        provider=p.provider,
        status=PayoutStatus(p.status),
        idempotency_key=p.idempotency_key,
        provider_reference=p.provider_reference,
        error=p.error,
        sent_at=p.sent_at,
        paid_at=p.paid_at,
    )


def bank_csv(rows: list[payout_run_service.BankFileRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["reference", "holder_name", "bank_name", "account_number", "amount", "currency"])
    for r in rows:
        amount = Money(r.amount, r.currency).to_decimal()
        writer.writerow([r.reference, r.holder_name, r.bank_name, r.account_number, str(amount), r.currency])
    return out.getvalue()


def execution(request: Request[Any, Any, Any], settings: Settings, run_id: UUID) -> BackgroundTask:
    """The run's transfers, started once the request's transaction is over (each payout commits on its
    own): a worker's job in the production profile (one per run while it waits or runs), else in-process."""
    if (job_queue := request.app.state.get("job_queue")) is not None:
        return BackgroundTask(
            job_queue.defer,
            PAYOUT_RUN_EXECUTE,
            key=f"payout-run:{run_id}",
            time_limit=3600,  # thousands of transfers; an interrupted run resumes when asked again
            run_id=str(run_id),
        )
    return BackgroundTask(
        payout_run_service.execute_run,
        request.app.state.session_maker,
        run_id,
        providers=provider_service.providers(settings),
        now=utc_now(),
        tiers=partner_service.tier_policy(settings),
    )


class PayoutRunController(Controller):
    """Payout runs (finance): create for a period, execute, inspect, and the bank file."""

    path = "/api/payout-runs"
    tags = ["Payouts"]
    guards = [api_key_guard]
    opt = roles(Role.finance)
    security = [{"ApiKey": []}]

    @post("/", summary="Create the run of a period and currency (409 when it exists)")
    async def create_run(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        data: PayoutRunCreate,
    ) -> PayoutRunRead:
        run = await payout_run_service.open_run(
            db_session,
            settings,
            period=data.period,
            currency=data.currency,
            actor=audit_service.actor_from_request(request),
            now=utc_now(),
        )
        return run_read(run)

    @get("/", summary="Payout runs, newest period first")
    async def list_runs(self, db_session: AsyncSession) -> list[PayoutRunRead]:
        return [run_read(r) for r in await payout_run_service.list_runs(db_session)]

    @get("/{run_id:uuid}", summary="A run with its payouts and the partners it held back")
    async def get_run(self, db_session: AsyncSession, run_id: UUID) -> PayoutRunDetailRead:
        d = await payout_run_service.run_detail(db_session, run_id)
        skips = [PayoutSkipRead(s.partner_id, s.amount, SkipReason(s.reason)) for s in d.skips]
        return PayoutRunDetailRead(run_read(d.run), [payout_read(p) for p in d.payouts], skips)

    @post("/{run_id:uuid}/execute", status_code=202, summary="Pay the run's pending payouts (safe to repeat)")
    async def execute(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, run_id: UUID
    ) -> Response[PayoutRunRead]:
        run = await payout_run_service.request_execution(
            db_session,
            run_id,
            has_stripe_key=bool(settings.stripe_api_key),
            actor=audit_service.actor_from_request(request),
        )
        return Response(run_read(run), status_code=202, background=execution(request, settings, run_id))

    @post(
        "/holds/release",
        status_code=200,
        summary="Release a partner's payout of a period from the trailing-average hold (audited)",
    )
    async def release_hold(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        data: PayoutHoldReleaseCreate,
    ) -> PayoutHoldReleaseRead:
        r = await payout_run_service.release_hold(
            db_session,
            partner_id=data.partner_id,
            period=data.period,
            currency=data.currency,
            reason=data.reason,
            actor=audit_service.actor_from_request(request),
            now=utc_now(),
            minimums=parse_minimums(settings.payout_minimums),
            cooling_off_days=settings.payout_cooling_off_days,
            gates=payout_run_service.gates(settings),
        )
        release = r.release
        return PayoutHoldReleaseRead(
            release.partner_id,
            release.period,
            release.currency,
            release.reason,
            release.released_by,
            release.released_at,
            r.run.id if r.run else None,
            r.payout.id if r.payout else None,
            r.skip_reason,
        )

    @get(
        "/{run_id:uuid}/bank-file.csv",
        summary="The run's bank payouts as a CSV file for the bank",
        media_type="text/csv",
    )
    async def bank_file(self, db_session: AsyncSession, run_id: UUID) -> Response[str]:
        rows = await payout_run_service.bank_file(db_session, run_id)
        return Response(
            bank_csv(rows),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="payout-run-{run_id}.csv"'},
        )


class PayoutController(Controller):
    path = "/api/payouts"
    tags = ["Payouts"]
    guards = [api_key_guard]
    opt = roles(Role.finance)
    security = [{"ApiKey": []}]

    @post("/{payout_id:uuid}/confirm", status_code=200, summary="Finance confirms a bank payout was paid")
    async def confirm(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, payout_id: UUID
    ) -> PayoutRead:
        payout = await payout_run_service.confirm_payout(
            db_session,
            payout_id,
            actor=audit_service.actor_from_request(request),
            now=utc_now(),
            tiers=partner_service.tier_policy(settings),
        )
        return payout_read(payout)


class PartnerPayoutController(Controller):
    path = "/api/partner/payouts"
    tags = ["Partner portal"]
    guards = [api_key_guard]
    opt = roles(Role.partner)
    security = [{"ApiKey": []}]

    @get("/", summary="This partner's payouts")
    async def my_payouts(self, request: Request[Any, Any, Any], db_session: AsyncSession) -> list[PayoutRead]:
        partner_id = partner_service.acting_partner_id(request.state.principal.subject_id)
        return [payout_read(p) for p in await payout_run_service.partner_payouts(db_session, partner_id)]


RunFormData = Annotated[forms.RunForm, Body(media_type=RequestEncodingType.URL_ENCODED)]


def _page(
    request: Request[Any, Any, Any], settings: Settings, name: str, *, status_code: int = 200, **values: Any
) -> Template:
    return Template(
        template_name=f"payouts/payout_run/{name}.html.j2",
        context=dashboard_context(request, settings)
        | {"notice": forms.read_notice(request.query_params), "error": None}
        | values,
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def _page_error(error: DomainError) -> dict[str, Any]:
    """The refusal a page shows: its code (the template words it) and its details (the period...)."""
    return {"code": error.code(), "details": {k: str(v) for k, v in error.details.items()}}


class PayoutRunPages(Controller):
    """Finance's payout-run pages: the runs and a form to create one; a run's payouts, Execute, the bank
    file and Confirm paid. Each action is the API's own code path (``payout_run_service``)."""

    path = forms.PAGES
    guards = [dashboard_guard]
    opt = roles(Role.finance)
    include_in_schema = False

    async def _list(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        *,
        form: forms.RunForm | None = None,
        error: DomainError | None = None,
        existing: PayoutRun | None = None,
    ) -> Template:
        form = form or forms.RunForm(
            period=forms.previous_period(utc_now(), settings.timezone), currency=settings.default_currency
        )
        return _page(
            request,
            settings,
            "list",
            runs=await payout_run_service.run_rows(db_session),
            form=form,
            existing_run=existing,
            error=_page_error(error) if error else None,
            status_code=error.status_code if error else 200,
        )

    @get("/")
    async def list_page(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings
    ) -> Template:
        return await self._list(request, db_session, settings)

    @post("/")
    async def create(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, data: RunFormData
    ) -> Response[Any]:
        """The new run's page; a refusal (bad period, month not over, run exists) re-renders the form."""
        form = forms.cleaned(data, default_currency=settings.default_currency)
        try:
            run = await payout_run_service.open_run(
                db_session,
                settings,
                period=form.period,
                currency=form.currency,
                actor=audit_service.actor_from_request(request),
                now=utc_now(),
            )
        except DomainError as error:
            await db_session.rollback()  # nothing of a refused run is kept (statements included)
            existing = (
                await payout_run_service.find_run(db_session, period=form.period, currency=form.currency)
                if isinstance(error, PayoutRunExists)
                else None
            )
            return await self._list(request, db_session, settings, form=form, error=error, existing=existing)
        return Redirect(forms.run_url(run.id, "created"), status_code=303)

    async def _detail(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        run_id: UUID,
        *,
        error: DomainError | None = None,
    ) -> Template:
        return _page(
            request,
            settings,
            "detail",
            view=await payout_run_service.run_page(db_session, run_id),
            error=_page_error(error) if error else None,
            status_code=error.status_code if error else 200,
        )

    @get("/{run_id:uuid}")
    async def detail_page(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, run_id: UUID
    ) -> Template:
        return await self._detail(request, db_session, settings, run_id)

    @post("/{run_id:uuid}/execute")
    async def execute(
        self, request: Request[Any, Any, Any], db_session: AsyncSession, settings: Settings, run_id: UUID
    ) -> Response[Any]:
        """Start the run's transfers as the API does; back to the run, which shows them as they go out."""
        try:
            await payout_run_service.request_execution(
                db_session,
                run_id,
                has_stripe_key=bool(settings.stripe_api_key),
                actor=audit_service.actor_from_request(request),
            )
        except DomainError as error:
            await db_session.rollback()
            return await self._detail(request, db_session, settings, run_id, error=error)
        return Redirect(
            forms.run_url(run_id, "executing"),
            status_code=303,
            background=execution(request, settings, run_id),
        )

    @post("/{run_id:uuid}/payouts/{payout_id:uuid}/confirm")
    async def confirm(
        self,
        request: Request[Any, Any, Any],
        db_session: AsyncSession,
        settings: Settings,
        run_id: UUID,
        payout_id: UUID,
    ) -> Response[Any]:
        """Finance confirms the bank paid a sent bank payout of this run."""
        try:
            await payout_run_service.confirm_payout(
                db_session,
                payout_id,
                actor=audit_service.actor_from_request(request),
                now=utc_now(),
                tiers=partner_service.tier_policy(settings),
                run_id=run_id,
            )
        except DomainError as error:
            await db_session.rollback()
            return await self._detail(request, db_session, settings, run_id, error=error)
        return Redirect(forms.run_url(run_id, "confirmed"), status_code=303)

    @get("/{run_id:uuid}/bank-file.csv", media_type="text/csv")
    async def bank_file(self, db_session: AsyncSession, run_id: UUID) -> Response[str]:
        """The API's bank file, for a signed-in finance person (the API's route takes an API key)."""
        rows = await payout_run_service.bank_file(db_session, run_id)
        return Response(
            bank_csv(rows),
            media_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="payout-run-{run_id}.csv"',
                "Cache-Control": "no-store",
            },
        )
