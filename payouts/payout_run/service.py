"""Payout runs: create a run for a period (reserving each payout in the ledger), then pay each
payout exactly once through its provider, one transaction per payout.

Exactly once rests on three things: ``UNIQUE(period, currency)`` on runs, the ledger's unique
references (``payout:<id>:reserved|sent|returned``), and the provider idempotency key
``payout-<id>`` that every retry of a pending payout carries.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from growth.alert import service as alert_service
from growth.audit import service as audit_service
from growth.core.db import SessionMaker
from growth.core.events.service import publish
from growth.core.money import is_known_currency
from growth.ledger import service as ledger_service
from growth.settings import Settings
from payouts.partner import service as partner_service
from payouts.partner.rules import TierPolicy
from payouts.payout_run import repository
from payouts.payout_run.errors import (
    HoldNotReleasable,
    InvalidPayoutRun,
    PayoutNotConfirmable,
    PayoutNotFound,
    PayoutRunExists,
    PayoutRunNotFound,
)
from payouts.payout_run.models import Payout, PayoutHoldRelease, PayoutRun, PayoutSkip
from payouts.payout_run.rules import (
    LEFT,
    Candidate,
    PayoutStatus,
    RunStatus,
    Selection,
    SkipReason,
    StatusTotal,
    TrailingAverage,
    clearing_account,
    confirm_problem,
    idempotency_key,
    minimum_for,
    parse_minimums,
    period_problem,
    reserved_ref,
    returned_ref,
    run_totals,
    select,
    sent_ref,
    trailing_problem,
)
from payouts.provider import service as provider_service
from payouts.statement import service as statement_service

log = structlog.get_logger()
PAYOUT_SENT = "payout.sent"
PAYOUT_FAILED = "payout.failed"
Line = ledger_service.Line


def _check(period: str, currency: str) -> None:
    if problem := period_problem(period):
        raise InvalidPayoutRun(problem)
    if not is_known_currency(currency) or currency != currency.upper():
        raise InvalidPayoutRun("currency must be an upper-case ISO 4217 code")


@dataclass(frozen=True, slots=True)
class Gates:
    """The compliance gates a run checks beyond minimums and the cooling-off, from the settings."""

    blocked_countries: frozenset[str]
    trailing: TrailingAverage


def gates(settings: Settings) -> Gates:
    """The run's gates from the settings; ``ValueError`` names a setting that makes no sense."""
    trailing = TrailingAverage(
        settings.payout_trailing_ratio_bps,
        settings.payout_trailing_payouts,
        settings.payout_trailing_min_payouts,
    )
    if problem := trailing_problem(trailing):
        raise ValueError(problem)
    return Gates(partner_service.blocked_countries(settings), trailing)


async def plan_run(
    session: AsyncSession,
    *,
    currency: str,
    now: datetime,
    minimums: Mapping[str, int],
    cooling_off_days: int,
    lock: bool = False,
    stated: Mapping[UUID, int] | None = None,
    period: str | None = None,
    blocked_countries: Collection[str] = frozenset(),
    trailing: TrailingAverage | None = None,
) -> Selection:
    """Who would be paid in ``currency`` now, and who is held back and why (writes nothing).

    With ``stated`` (each partner's approved balance on the month's statement), a partner is paid what
    its statement shows, or less when a later refund took some back: never money the statement does
    not show (that is the next month's), and nobody without a statement of the month."""
    owed_now = {
        UUID(account.split(":")[1]): owed
        for account, cur, owed in await ledger_service.balances(session, "partner:")
        if cur == currency and account.endswith(":payable") and owed > 0
    }
    payable = {
        partner_id: owed if stated is None else min(owed, stated.get(partner_id, 0))
        for partner_id, owed in owed_now.items()
    }
    payable = {partner_id: owed for partner_id, owed in payable.items() if owed > 0}
    accounts = await provider_service.account_facts(session, payable)
    released = await repository.released_partners(session, period, currency, payable) if period else set()
    candidates = []
    # Lock partners in primary-key order: two runs (or a run and a status change) never deadlock.
    for partner_id in sorted(payable):
        partner = await partner_service.get_partner(session, partner_id, for_update=lock)
        account = accounts.get(partner_id)
        history = (
            await repository.recent_paid_amounts(session, partner_id, currency, limit=trailing.payouts)
            if trailing and trailing.ratio_bps
            else ()
        )
        candidates.append(
            Candidate(
                partner_id=partner_id,
                payable=payable[partner_id],
                is_approved=partner.status == "approved",
                has_account=account is not None,
                has_tax_form=account is not None and account.has_tax_form,
                account_changed_at=account.changed_at if account else None,
                is_identity_verified=partner.is_identity_verified,
                is_account_verified=account is not None and account.is_verified,
                country=partner.country,
                previous_payouts=history,
                is_hold_released=partner_id in released,
            )
        )
    minimum = minimum_for(dict(minimums), currency)
    return select(
        candidates,
        minimum=minimum,
        now=now,
        cooling_off_days=cooling_off_days,
        blocked_countries=blocked_countries,
        trailing=trailing,
    )


async def preview_run(
    session: AsyncSession,
    *,
    period: str,
    currency: str,
    now: datetime,
    minimums: Mapping[str, int],
    cooling_off_days: int,
    blocked_countries: Collection[str] = frozenset(),
    trailing: TrailingAverage | None = None,
) -> Selection:
    """What the month's run would pay and hold, by the month's statements when they are issued (before
    that, by the approved balances now, which the statements will show once the month is over)."""
    _check(period, currency)
    statements = await statement_service.statements_of_period(session, period=period, currency=currency)
    stated = {partner_id: s.closing_payable for partner_id, s in statements.items()} or None
    return await plan_run(
        session,
        currency=currency,
        now=now,
        minimums=minimums,
        cooling_off_days=cooling_off_days,
        stated=stated,
        period=period,
        blocked_countries=blocked_countries,
        trailing=trailing,
    )


async def create_run(
    session: AsyncSession,
    *,
    period: str,
    currency: str,
    now: datetime,
    minimums: Mapping[str, int] | None = None,
    cooling_off_days: int = 7,
    tz: str = "UTC",
    blocked_countries: Collection[str] = frozenset(),
    trailing: TrailingAverage | None = None,
) -> PayoutRun:
    """Create the run of a month that is over: its statements are issued first (if they were not), then
    one payout per partner paid (reserved in the ledger, naming the partner's statement), skips listed."""
    _check(period, currency)
    if await repository.find_run(session, period, currency) is not None:
        raise PayoutRunExists(f"a payout run for {period} {currency} already exists")
    await statement_service.issue_statements(session, period=period, now=now, tz=tz)
    statements = await statement_service.statements_of_period(session, period=period, currency=currency)
    stated = {partner_id: s.closing_payable for partner_id, s in statements.items()}
    run = PayoutRun(period=period, currency=currency, status=RunStatus.created.value)
    try:
        # The unique constraint decides a race: a concurrent insert waits for ours, then fails here.
        async with session.begin_nested():
            session.add(run)
            await session.flush()
    except IntegrityError as exc:
        raise PayoutRunExists(f"a payout run for {period} {currency} already exists") from exc
    selection = await plan_run(
        session,
        currency=currency,
        now=now,
        minimums=minimums or {},
        cooling_off_days=cooling_off_days,
        lock=True,
        stated=stated,
        period=period,
        blocked_countries=blocked_countries,
        trailing=trailing,
    )
    accounts = await provider_service.account_facts(session, [p for p, _ in selection.payouts])
    for partner_id, amount in selection.payouts:
        account = accounts[partner_id]
        await _reserve(
            session,
            run,
            partner_id,
            amount,
            account.provider.value,
            account.destination,
            statements[partner_id].id,
            now,
        )
    session.add_all(
        PayoutSkip(run_id=run.id, partner_id=s.partner_id, amount=s.amount, reason=s.reason.value)
        for s in selection.skips
    )
    await session.flush()
    log.info("payouts.run.created", run_id=str(run.id), payouts=len(selection.payouts))
    return run


async def _reserve(
    session: AsyncSession,
    run: PayoutRun,
    partner_id: UUID,
    amount: int,
    provider: str,
    destination: str | None,
    statement_id: UUID | None,
    now: datetime,
) -> None:
    payout = Payout(
        run_id=run.id,
        partner_id=partner_id,
        statement_id=statement_id,
        amount=amount,
        currency=run.currency,
        provider=provider,
        destination=destination,
        status=PayoutStatus.pending.value,
    )
    session.add(payout)
    await session.flush()
    payout.idempotency_key = idempotency_key(payout.id)
    await ledger_service.post_entry(
        session,
        reference=reserved_ref(payout.id),
        kind="payout_reserved",
        lines=[
            Line(ledger_service.partner_account(partner_id, "payable"), amount, run.currency),
            Line(ledger_service.partner_account(partner_id, "in_payout"), -amount, run.currency),
        ],
        occurred_at=now,
    )


async def check_executable(session: AsyncSession, run_id: UUID, *, has_stripe_key: bool) -> PayoutRun:
    """The run, or ``StripeNotConfigured`` when it has pending Stripe payouts and no API key is set."""
    run = await get_run(session, run_id)
    pending = await repository.payouts_of(session, run_id, status=PayoutStatus.pending.value)
    if not has_stripe_key and any(p.provider == "stripe" for p in pending):
        raise provider_service.StripeNotConfigured(
            "Stripe payouts need GROWTH_STRIPE_API_KEY; no transfer was made"
        )
    return run


@dataclass(frozen=True, slots=True)
class RunSummary:
    run_id: UUID
    status: RunStatus
    sent: int
    failed: int
    pending: int


async def execute_run(
    session_maker: SessionMaker,
    run_id: UUID,
    *,
    providers: Mapping[str, provider_service.PayoutProvider],
    now: datetime,
    tiers: TierPolicy | None = None,
) -> RunSummary:
    """Pay every pending payout of the run, each in its own transaction; safe to run again. Once the
    run is complete, the partners it paid are promoted to the credit tier their record earned."""
    async with session_maker() as session, session.begin():
        run = await get_run(session, run_id, for_update=True)
        if run.status == RunStatus.created.value:
            run.status, run.started_at = RunStatus.executing.value, now
        pending = [p.id for p in await repository.payouts_of(session, run_id, status="pending")]
        period = run.period
    for payout_id in pending:
        async with session_maker() as session, session.begin():
            await _execute_one(session, payout_id, period=period, providers=providers, now=now)
    async with session_maker() as session, session.begin():
        run = await get_run(session, run_id, for_update=True)
        payouts = await repository.payouts_of(session, run_id)
        left = sum(p.status == PayoutStatus.pending.value for p in payouts)
        if left == 0 and run.status != RunStatus.completed.value:
            run.status, run.finished_at = RunStatus.completed.value, now
        if left == 0 and tiers is not None:
            paid = await repository.partners_paid_in_run(session, run_id)
            await promote_partners(session, paid, policy=tiers, now=now)
        return RunSummary(
            run_id,
            RunStatus(run.status),
            sent=sum(p.status in (PayoutStatus.sent.value, PayoutStatus.paid.value) for p in payouts),
            failed=sum(p.status == PayoutStatus.failed.value for p in payouts),
            pending=left,
        )


async def _execute_one(
    session: AsyncSession,
    payout_id: UUID,
    *,
    period: str,
    providers: Mapping[str, provider_service.PayoutProvider],
    now: datetime,
) -> None:
    # The row lock makes a second executor wait, then see the payout is no longer pending.
    payout = await repository.get_payout(session, payout_id, for_update=True)
    if payout is None or payout.status != PayoutStatus.pending.value:
        return
    request = provider_service.TransferRequest(
        payout_id=payout.id,
        partner_id=payout.partner_id,
        run_id=payout.run_id,
        period=period,
        amount=payout.amount,
        currency=payout.currency,
        destination=payout.destination,
        idempotency_key=payout.idempotency_key or idempotency_key(payout.id),
        statement_id=payout.statement_id,
    )
    in_payout = ledger_service.partner_account(payout.partner_id, "in_payout")
    try:
        reference = await providers[payout.provider].transfer(request)
    except provider_service.ProviderUnavailable as exc:
        payout.error = exc.message[:500]
        log.warning("payouts.run.transfer_unknown", payout_id=str(payout.id), error=exc.message)
        return
    except provider_service.TransferDeclined as exc:
        payout.status, payout.error = PayoutStatus.failed.value, exc.message[:500]
        back_to = ledger_service.partner_account(payout.partner_id, "payable")
        await _move(session, returned_ref(payout.id), "payout_returned", payout, in_payout, back_to, now)
        await _publish_outcome(session, PAYOUT_FAILED, payout, now)
        log.warning("payouts.run.transfer_failed", payout_id=str(payout.id), error=exc.message)
        return
    payout.status, payout.provider_reference = PayoutStatus.sent.value, reference
    payout.sent_at, payout.error = now, None
    await _move(
        session, sent_ref(payout.id), "payout_sent", payout, in_payout, clearing_account(payout.provider), now
    )
    await _publish_outcome(session, PAYOUT_SENT, payout, now)
    log.info("payouts.run.transfer_sent", payout_id=str(payout.id), reference=reference)


async def _publish_outcome(session: AsyncSession, name: str, payout: Payout, now: datetime) -> None:
    """``payout.sent`` or ``payout.failed``: the partner is notified (e-mail, webhooks)."""
    payload = {
        "payout_id": str(payout.id),
        "partner_id": str(payout.partner_id),
        "run_id": str(payout.run_id),
        "amount": payout.amount,
        "currency": payout.currency,
        "provider": payout.provider,
        "error": payout.error,
        "at": now.isoformat(),
    }
    await publish(session, name, payload, now=now)


async def _move(
    session: AsyncSession, reference: str, kind: str, payout: Payout, source: str, target: str, now: datetime
) -> None:
    """Move the payout's amount out of liability ``source`` into ``target``."""
    await ledger_service.post_entry(
        session,
        reference=reference,
        kind=kind,
        lines=[Line(source, payout.amount, payout.currency), Line(target, -payout.amount, payout.currency)],
        occurred_at=now,
    )


async def get_run(session: AsyncSession, run_id: UUID, *, for_update: bool = False) -> PayoutRun:
    """One run, or ``PayoutRunNotFound``."""
    run = await repository.get_run(session, run_id, for_update=for_update)
    if run is None:
        raise PayoutRunNotFound(f"payout run {run_id} not found")
    return run


async def find_run(session: AsyncSession, *, period: str, currency: str) -> PayoutRun | None:
    """The run of a period and currency, if there is one."""
    return await repository.find_run(session, period, currency)


async def list_runs(session: AsyncSession, *, limit: int = 50, offset: int = 0) -> list[PayoutRun]:
    """Runs, newest period first."""
    return await repository.list_runs(session, limit=limit, offset=offset)


@dataclass(frozen=True, slots=True)
class RunDetail:
    run: PayoutRun
    payouts: list[Payout]
    skips: list[PayoutSkip]


async def run_detail(session: AsyncSession, run_id: UUID) -> RunDetail:
    """A run with its payouts and the partners it held back (with reasons)."""
    run = await get_run(session, run_id)
    return RunDetail(
        run, await repository.payouts_of(session, run_id), await repository.skips_of(session, run_id)
    )


@dataclass(frozen=True, slots=True)
class BankFileRow:
    payout_id: UUID
    partner_id: UUID
    holder_name: str
    bank_name: str
    account_number: str
    amount: int
    """Minor units."""
    currency: str
    reference: str


async def bank_file(session: AsyncSession, run_id: UUID) -> list[BankFileRow]:
    """The run's sent bank payouts, with the full account numbers finance uploads to the bank."""
    await get_run(session, run_id)
    payouts = [
        p
        for p in await repository.payouts_of(session, run_id)
        if p.provider == "bank" and p.status in (PayoutStatus.sent.value, PayoutStatus.paid.value)
    ]
    accounts = await provider_service.accounts_of(session, [p.partner_id for p in payouts])
    return [
        BankFileRow(
            p.id,
            p.partner_id,
            accounts[p.partner_id].bank_holder_name or "",
            accounts[p.partner_id].bank_name or "",
            accounts[p.partner_id].bank_account_number or "",
            p.amount,
            p.currency,
            p.idempotency_key or idempotency_key(p.id),
        )
        for p in payouts
        if p.partner_id in accounts
    ]


async def confirm_paid(
    session: AsyncSession, payout_id: UUID, *, now: datetime, tiers: TierPolicy | None = None
) -> Payout:
    """Finance confirms the bank paid a payout (the partner may earn a promotion); confirming again is
    no move."""
    payout = await repository.get_payout(session, payout_id, for_update=True)
    if payout is None:
        raise PayoutNotFound(f"payout {payout_id} not found")
    if problem := confirm_problem(PayoutStatus(payout.status), payout.provider):
        raise PayoutNotConfirmable(problem, status=payout.status)
    if payout.status != PayoutStatus.paid.value:
        payout.status, payout.paid_at = PayoutStatus.paid.value, now
        await session.flush()
    if tiers is not None:
        await promote_partners(session, [payout.partner_id], policy=tiers, now=now)
    return payout


async def partner_payouts(session: AsyncSession, partner_id: UUID) -> list[Payout]:
    """A partner's own payouts, newest first."""
    return await repository.payouts_of_partner(session, partner_id)


# ------------------------------------------------------------------- credit tiers and trailing holds


async def _last_clawback_at(session: AsyncSession, partner_id: UUID, now: datetime) -> datetime | None:
    lines = await ledger_service.lines_before(
        session,
        account_prefix=ledger_service.partner_account(partner_id, ""),
        account_suffixes=("payable",),
        before=now,
    )
    return max((line.occurred_at for line in lines if line.kind == "commission_clawback"), default=None)


async def promote_partners(
    session: AsyncSession,
    partner_ids: Collection[UUID],
    *,
    policy: TierPolicy,
    now: datetime,
    actor: audit_service.Actor | None = None,
) -> int:
    """Promote each partner to the highest credit tier its paid payouts and clawback-free days earned;
    returns how many moved (each move is audited as ``partner.tier_changed``)."""
    records = {
        partner_id: partner_service.TrackRecord(
            await repository.count_paid(session, partner_id),
            await _last_clawback_at(session, partner_id, now),
        )
        for partner_id in partner_ids
    }
    promoted = await partner_service.promote(
        session,
        list(records),
        policy=policy,
        records=records,
        actor=actor or audit_service.system_actor("payouts.promote_partners"),
        now=now,
    )
    return len(promoted)


async def promote_due(session: AsyncSession, *, policy: TierPolicy, now: datetime) -> int:
    """The periodic job: every partner ever paid may have earned a promotion by time passing alone."""
    return await promote_partners(
        session, await repository.partners_ever_paid(session), policy=policy, now=now
    )


@dataclass(frozen=True, slots=True)
class Released:
    release: PayoutHoldRelease
    run: PayoutRun | None
    """The period's run, if it was already created."""
    payout: Payout | None
    """The payout added to that run (None: no run yet, or another gate still holds the partner)."""
    skip_reason: SkipReason | None
    """What still holds the partner in that run, if anything."""


async def release_hold(
    session: AsyncSession,
    *,
    partner_id: UUID,
    period: str,
    currency: str,
    reason: str,
    actor: audit_service.Actor,
    now: datetime,
    minimums: Mapping[str, int],
    cooling_off_days: int,
    gates: Gates,
) -> Released:
    """Finance lets a partner's payout of ``period`` through the trailing-average hold: before the run,
    the run pays it; after, it joins the run (when no other gate holds it). Releasing again is no move."""
    _check(period, currency)
    if not reason.strip() or len(reason.strip()) > 500:
        raise InvalidPayoutRun("say why the payout is released (reason, at most 500 characters)")
    await partner_service.get_partner(session, partner_id)
    run = await repository.find_run(session, period, currency)
    if (existing := await repository.find_release(session, partner_id, period, currency)) is not None:
        return Released(existing, run, None, None)
    skip = await repository.find_skip(session, run.id, partner_id) if run else None
    if run is not None and (skip is None or skip.reason != SkipReason.amount_above_trailing_average.value):
        raise HoldNotReleasable(
            f"the {period} {currency} run does not hold this partner for its trailing average",
            reason=skip.reason if skip else None,
        )
    release = PayoutHoldRelease(
        partner_id=partner_id,
        period=period,
        currency=currency,
        reason=reason.strip(),
        released_by=actor.name[:200],
        released_at=now,
    )
    session.add(release)
    await session.flush()
    payout, still = (
        (await _pay_released(session, run, partner_id, minimums, cooling_off_days, gates, now))
        if run
        else (None, None)
    )
    await audit_service.record(
        session,
        action="payout.hold_released",
        subject_type="partner",
        subject_id=str(partner_id),
        after={
            "period": period,
            "currency": currency,
            "reason": release.reason,
            "run_id": str(run.id) if run else None,
            "payout_id": str(payout.id) if payout else None,
            "still_held": still.value if still else None,
        },
        actor=actor,
        now=now,
    )
    return Released(release, run, payout, still)


async def _pay_released(
    session: AsyncSession,
    run: PayoutRun,
    partner_id: UUID,
    minimums: Mapping[str, int],
    cooling_off_days: int,
    gates: Gates,
    now: datetime,
) -> tuple[Payout | None, SkipReason | None]:
    """Add the released partner's payout to ``run`` (reopening it), or update why it is still held."""
    run = await get_run(session, run.id, for_update=True)
    statements = await statement_service.statements_of_period(
        session, period=run.period, currency=run.currency
    )
    selection = await plan_run(
        session,
        currency=run.currency,
        now=now,
        minimums=minimums,
        cooling_off_days=cooling_off_days,
        lock=True,
        stated={p: s.closing_payable for p, s in statements.items()},
        period=run.period,
        blocked_countries=gates.blocked_countries,
        trailing=gates.trailing,
    )
    skip = await repository.find_skip(session, run.id, partner_id)
    assert skip is not None  # checked by the caller under the same transaction
    still = next((s for s in selection.skips if s.partner_id == partner_id), None)
    amount = next((a for p, a in selection.payouts if p == partner_id), None)
    if amount is None:
        skip.reason = still.reason.value if still else skip.reason
        await session.flush()
        return None, SkipReason(skip.reason)
    account = (await provider_service.account_facts(session, [partner_id]))[partner_id]
    await repository.delete_skip(session, skip)
    await _reserve(
        session,
        run,
        partner_id,
        amount,
        account.provider.value,
        account.destination,
        statements[partner_id].id,
        now,
    )
    if run.status == RunStatus.completed.value:
        run.status, run.finished_at = RunStatus.executing.value, None  # a payout is pending again
    payouts = await repository.payouts_of(session, run.id)
    return next(p for p in payouts if p.partner_id == partner_id), None


# ------------------------------------------------------------------------------------- delay alerts


async def find_delays(session: AsyncSession, *, limit: int = 1000) -> list[alert_service.Delay]:
    """Failed payouts: the partner is told and may update the payout account (the run retries it)."""
    return [
        alert_service.delay(
            alert_service.AlertKind.payout_failed,
            recipient_type=alert_service.RecipientType.partner,
            recipient_id=payout.partner_id,
            subject_id=payout.id,
            # The payout was due when the run created it.
            expected_at=payout.created_at,
            detail=f"payout failed: {payout.error or 'no reason given'}",
            context={
                "run_id": str(payout.run_id),
                "amount": payout.amount,
                "currency": payout.currency,
                "provider": payout.provider,
            },
        )
        for payout in await repository.failed_payouts(session, limit=limit)
    ]


# ------------------------------------------------------------- finance's actions (the API and the pages)


async def open_run(
    session: AsyncSession,
    settings: Settings,
    *,
    period: str,
    currency: str,
    actor: audit_service.Actor,
    now: datetime,
) -> PayoutRun:
    """Finance creates the run of a period and currency with the configured gates, audited with whom it
    pays and whom it holds back (the API and the pages both call this)."""
    run_gates = gates(settings)
    run = await create_run(
        session,
        period=period,
        currency=currency,
        now=now,
        minimums=parse_minimums(settings.payout_minimums),
        cooling_off_days=settings.payout_cooling_off_days,
        tz=settings.timezone,
        blocked_countries=run_gates.blocked_countries,
        trailing=run_gates.trailing,
    )
    detail = await run_detail(session, run.id)
    await audit_service.record(
        session,
        action="payout_run.created",
        subject_type="payout_run",
        subject_id=str(run.id),
        after={
            "period": run.period,
            "currency": run.currency,
            "payouts": [{"partner_id": p.partner_id, "amount": p.amount} for p in detail.payouts],
            "held": [{"partner_id": s.partner_id, "reason": s.reason} for s in detail.skips],
        },
        actor=actor,
    )
    return run


async def request_execution(
    session: AsyncSession, run_id: UUID, *, has_stripe_key: bool, actor: audit_service.Actor
) -> PayoutRun:
    """Finance asks for the run's transfers: checked and audited here; the caller starts ``execute_run``
    once this transaction is committed (the API and the pages both call this)."""
    run = await check_executable(session, run_id, has_stripe_key=has_stripe_key)
    await audit_service.record(
        session,
        action="payout_run.execution_requested",
        subject_type="payout_run",
        subject_id=str(run_id),
        actor=actor,
    )
    return run


async def confirm_payout(
    session: AsyncSession,
    payout_id: UUID,
    *,
    actor: audit_service.Actor,
    now: datetime,
    tiers: TierPolicy | None = None,
    run_id: UUID | None = None,
) -> Payout:
    """Finance confirms the bank paid a payout, audited; with ``run_id``, another run's payout is not found
    (the API and the pages both call this)."""
    if run_id is not None:
        found = await repository.get_payout(session, payout_id)
        if found is None or found.run_id != run_id:
            raise PayoutNotFound(f"payout {payout_id} not found in run {run_id}")
    payout = await confirm_paid(session, payout_id, now=now, tiers=tiers)
    await audit_service.record(
        session,
        action="payout.confirmed_paid",
        subject_type="payout",
        subject_id=str(payout_id),
        after={"status": payout.status, "amount": payout.amount, "currency": payout.currency},
        actor=actor,
    )
    return payout


@dataclass(frozen=True, slots=True)
class RunRow:
    """A run with how many payouts, and how much, left (sent or confirmed paid), wait and failed."""

    run: PayoutRun
    sent: StatusTotal
    pending: StatusTotal
    failed: StatusTotal


def _row(run: PayoutRun, totals: Mapping[str, tuple[int, int]]) -> RunRow:
    return RunRow(run, *run_totals(totals))


async def run_rows(session: AsyncSession, *, limit: int = 50) -> list[RunRow]:
    """Runs, newest period first, each with its sent, pending and failed payouts counted and summed."""
    runs = await repository.list_runs(session, limit=limit, offset=0)
    totals = await repository.totals_by_run(session, [r.id for r in runs])
    return [_row(r, totals.get(r.id, {})) for r in runs]


@dataclass(frozen=True, slots=True)
class PayoutLine:
    payout: Payout
    partner_name: str


@dataclass(frozen=True, slots=True)
class SkipLine:
    skip: PayoutSkip
    partner_name: str


@dataclass(frozen=True, slots=True)
class RunPage:
    """What finance sees of one run: its totals, its payouts and the partners held back, by name."""

    row: RunRow
    payouts: list[PayoutLine]
    skips: list[SkipLine]
    has_pending: bool
    """Execute has transfers to start."""
    has_bank_file: bool
    """Some bank payouts were sent: the bank file has rows."""


async def run_page(session: AsyncSession, run_id: UUID) -> RunPage:
    """One run for finance's page (``PayoutRunNotFound`` when there is none)."""
    detail = await run_detail(session, run_id)
    totals = await repository.totals_by_run(session, [run_id])
    names = await partner_service.partner_names(
        session, sorted({p.partner_id for p in detail.payouts} | {s.partner_id for s in detail.skips})
    )
    return RunPage(
        _row(detail.run, totals.get(run_id, {})),
        [PayoutLine(p, names.get(p.partner_id, str(p.partner_id))) for p in detail.payouts],
        [SkipLine(s, names.get(s.partner_id, str(s.partner_id))) for s in detail.skips],
        has_pending=any(p.status == PayoutStatus.pending.value for p in detail.payouts),
        has_bank_file=any(p.provider == "bank" and p.status in LEFT for p in detail.payouts),
    )
