"""Payout runs (finance) and a partner's own payouts."""

from __future__ import annotations

import csv
import io
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit import service as audit_service
from growth.core.auth.guards import api_key_guard, roles
from growth.core.auth.rules import Role
from growth.core.money import Money
from growth.core.queue import PAYOUT_RUN_EXECUTE
from growth.core.time import utc_now
from growth.settings import Settings
from payouts.partner import service as partner_service
from payouts.payout_run import service as payout_run_service
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
        gates = payout_run_service.gates(settings)
        run = await payout_run_service.create_run(
            db_session,
            period=data.period,
            currency=data.currency,
            now=utc_now(),
            minimums=parse_minimums(settings.payout_minimums),
            cooling_off_days=settings.payout_cooling_off_days,
            tz=settings.timezone,
            blocked_countries=gates.blocked_countries,
            trailing=gates.trailing,
        )
        payouts = await payout_run_service.run_detail(db_session, run.id)
        await audit_service.record(
            db_session,
            action="payout_run.created",
            subject_type="payout_run",
            subject_id=str(run.id),
            after={
                "period": run.period,
                "currency": run.currency,
                "payouts": [{"partner_id": p.partner_id, "amount": p.amount} for p in payouts.payouts],
                "held": [{"partner_id": s.partner_id, "reason": s.reason} for s in payouts.skips],
            },
            actor=audit_service.actor_from_request(request),
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
        run = await payout_run_service.check_executable(
            db_session, run_id, has_stripe_key=bool(settings.stripe_api_key)
        )
        await audit_service.record(
            db_session,
            action="payout_run.execution_requested",
            subject_type="payout_run",
            subject_id=str(run_id),
            actor=audit_service.actor_from_request(request),
        )
        # Transfers start after this request's transaction is over; each payout commits on its own.
        if (job_queue := request.app.state.get("job_queue")) is not None:
            # Production profile: a worker pays the run; one job per run while it waits or runs.
            return Response(
                run_read(run),
                status_code=202,
                background=BackgroundTask(
                    job_queue.defer,
                    PAYOUT_RUN_EXECUTE,
                    key=f"payout-run:{run_id}",
                    time_limit=3600,  # thousands of transfers; an interrupted run resumes when asked again
                    run_id=str(run_id),
                ),
            )
        work = BackgroundTask(
            payout_run_service.execute_run,
            request.app.state.session_maker,
            run_id,
            providers=provider_service.providers(settings),
            now=utc_now(),
            tiers=partner_service.tier_policy(settings),
        )
        return Response(run_read(run), status_code=202, background=work)

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
        payout = await payout_run_service.confirm_paid(
            db_session, payout_id, now=utc_now(), tiers=partner_service.tier_policy(settings)
        )
        await audit_service.record(
            db_session,
            action="payout.confirmed_paid",
            subject_type="payout",
            subject_id=str(payout_id),
            after={"status": payout.status, "amount": payout.amount, "currency": payout.currency},
            actor=audit_service.actor_from_request(request),
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
