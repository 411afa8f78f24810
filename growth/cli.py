"""The ``growth`` command: serve, run the demo, migrate, and manage API keys."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from uuid import UUID

import click
import uvicorn
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit import service as audit_service
from growth.core.auth import service as auth_service
from growth.core.auth.rules import Role
from growth.core.db import check_models_match, make_db_config, make_engine, upgrade_head
from growth.core.logging import configure_logging
from growth.core.time import utc_now
from growth.settings import Settings, get_settings

T = TypeVar("T")


def _in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one transaction, committed when it returns."""

    async def run() -> T:
        engine = make_engine(settings.database_url)
        try:
            async with make_db_config(engine).create_session_maker()() as session, session.begin():
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _cli_actor() -> audit_service.Actor:
    """The CLI as the audit log's actor, named after the operating-system user running it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        user = "unknown"
    return audit_service.cli_actor(f"cli:{user}")


def _serve(settings: Settings, host: str, port: int) -> None:
    from growth.app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, proxy_headers=True, log_level="warning")


@click.group()
def main() -> None:
    """Referral and partner-commission growth platform."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Migrate the database to the newest schema and serve the app."""
    settings = get_settings()
    upgrade_head(settings.database_url)
    _serve(settings, host, port)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--serve/--no-serve", default=True, help="Serve the app after loading the demo.")
def demo(host: str, port: int, serve: bool) -> None:
    """Migrate, load the demo data, print where to look, and serve."""
    from growth.demo import DEMO_PARTNER, load_demo

    settings = get_settings().with_overrides(demo=True, base_url=f"http://{host}:{port}")
    upgrade_head(settings.database_url)
    # Loading the history logs hundreds of lines at info, which would bury what is printed below;
    # the app logs at the configured level once it serves.
    configure_logging("WARNING", json=settings.log_json)
    loaded = _in_transaction(settings, lambda session: load_demo(session, settings))
    base = settings.base_url
    click.echo(f"\nDemo loaded: campaign {loaded.campaign_name!r} on {settings.database_url}\n")
    for name, links in loaded.codes:
        click.echo(f"  {name}")
        click.echo(f"    share page : {links.share_url}")
        click.echo(f"    link       : {links.link}")
        click.echo(f"    QR code    : {links.qr_png_url}  {links.qr_svg_url}")
    click.echo(f"  Partner {loaded.partner_code[0]}: {base}/r/{loaded.partner_code[1]}")
    click.echo(f"\n  API docs   : {base}/schema")
    click.echo(f"  Health     : {base}/health")
    click.echo(f"  Marketing  : {base}/sign-in (sign in with the admin key below)")
    click.echo(f"  Reviews    : {base}/marketing/reviews (the order the risk check holds)")
    mailed = "e-mailed" if settings.smtp_url else "written to this log"
    click.echo(f"  Partners   : {base}/partner/sign-in (as {DEMO_PARTNER[1]}; the link is {mailed})")
    click.echo(f"  Admin key  : {loaded.admin_key}   (shown once; send as 'Authorization: Bearer <key>')\n")
    if serve:
        click.echo(f"Serving on {base} (Ctrl+C to stop)")
        _serve(settings, host, port)


@main.group()
def db() -> None:
    """Database schema (Alembic)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the schema to the newest migration."""
    upgrade_head(get_settings().database_url)
    click.echo("database is at the newest migration")


@db.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    check_models_match(get_settings().database_url)
    click.echo("models and migrations agree")


@main.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", default="cli", show_default=True, help="What the key is for.")
@click.option("--subject-id", type=click.UUID, default=None, help="Partner id, for partner keys.")
def keys_create(role: str, name: str, subject_id: UUID | None) -> None:
    """Create a key and print it once; only its hash is stored."""

    async def create(session: AsyncSession) -> auth_service.CreatedKey:
        created = await auth_service.create_key(session, name=name, role=Role(role), subject_id=subject_id)
        await audit_service.record(
            session,
            action="api_key.created",
            subject_type="api_key",
            subject_id=str(created.api_key.id),
            after=auth_service.audit_values(created.api_key),
            actor=_cli_actor(),
        )
        return created

    created = _in_transaction(get_settings(), create)
    click.echo(created.secret)
    click.echo(f"id={created.api_key.id} role={role} name={name} (the key is not shown again)", err=True)


@keys.command("list")
def keys_list() -> None:
    """List keys (never their secrets)."""
    for k in _in_transaction(get_settings(), auth_service.list_keys):
        state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
        click.echo(f"{k.id}  gk_{k.prefix}_…  {k.role:<9} {state:<18} {k.name}")


@keys.command("revoke")
@click.argument("key_id", type=click.UUID)
def keys_revoke(key_id: UUID) -> None:
    """Revoke a key by id."""

    async def revoke(session: AsyncSession) -> None:
        now = utc_now()
        api_key = await auth_service.revoke_key(session, key_id, now=now)
        if api_key.revoked_at == now:  # revoked by this command; revoking again changes nothing
            await audit_service.record(
                session,
                action="api_key.revoked",
                subject_type="api_key",
                subject_id=str(key_id),
                before={"revoked_at": None},
                after={"revoked_at": now},
                actor=_cli_actor(),
            )

    _in_transaction(get_settings(), revoke)
    click.echo(f"revoked {key_id}")


@main.group()
def orders() -> None:
    """Orders reported by the shop."""


@orders.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--events", is_flag=True, help="FILE holds order events (paid, refunded, ...), not orders.")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(min=1))
def orders_import(file: Path, events: bool, batch_size: int) -> None:
    """Import orders (or order events) from a CSV file, one transaction per batch of rows.

    Exits 1 when a row was refused or the file could not be read to its end.
    """
    from campaigns.campaign import service as campaign_service
    from growth.app import risk_policy
    from growth.order_import import tasks as order_import_tasks
    from growth.order_import.rules import Outcome, count_outcomes
    from growth.order_import.service import IntakeSettings
    from payouts.lead import service as lead_service

    settings = get_settings()
    try:
        intake = IntakeSettings(settings.resolved_secret(), risk_policy(settings))
    except ValueError as exc:
        raise click.ClickException(f"invalid setting: {exc}") from exc

    async def run() -> order_import_tasks.FileImport:
        engine = make_engine(settings.database_url)
        try:
            return await order_import_tasks.import_file(
                make_db_config(engine).create_session_maker(),
                file,
                events=events,
                batch_size=batch_size,
                terms_lookup=campaign_service.get_terms,
                lead_lookup=lead_service.find_lead,
                intake=intake,
                now=utc_now(),
            )
        finally:
            await engine.dispose()

    done = asyncio.run(run())
    for r in done.results:
        if r.error is not None:
            click.echo(f"line {r.line} {r.external_id or '-'}: refused: {r.error.code}: {r.error.message}")
    counts = count_outcomes(done.results)
    click.echo(", ".join(f"{outcome.value} {counts[outcome]}" for outcome in Outcome))
    if done.error is not None:
        click.echo(f"stopped: {done.error.message} (the rows before this batch are committed)", err=True)
    if done.error is not None or counts[Outcome.refused]:
        raise SystemExit(1)


@main.group()
def rewards() -> None:
    """Campaign rewards."""


@rewards.command("approve-due")
def rewards_approve_due() -> None:
    """Approve and issue the rewards whose hold period has passed (the server also does this periodically)."""
    from campaigns.reward import service as reward_service

    moved = _in_transaction(get_settings(), lambda s: reward_service.approve_due(s, now=utc_now()))
    click.echo(f"{moved} rewards approved, issued or fulfilled")


@main.group()
def statements() -> None:
    """Partner statements."""


@statements.command("issue")
@click.option("--period", required=True, help="Calendar month YYYY-MM in the program's time zone, once over.")
def statements_issue(period: str) -> None:
    """Issue every partner's statement for a month; running it again issues nothing new."""
    from growth.core.errors import DomainError
    from payouts.statement import service as statement_service

    settings = get_settings()
    try:
        result = _in_transaction(
            settings,
            lambda s: statement_service.issue_statements(
                s, period=period, now=utc_now(), tz=settings.timezone
            ),
        )
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{result.period}: {result.issued} statements issued, {result.skipped} already issued")


@main.group()
def payouts() -> None:
    """Partner payouts."""


@payouts.command("run")
@click.option("--period", required=True, help="Calendar month YYYY-MM.")
@click.option("--currency", required=True, help="ISO 4217 code, e.g. CNY.")
@click.option("--dry-run", is_flag=True, help="Show who would be paid and who is held; change nothing.")
def payouts_run(period: str, currency: str, dry_run: bool) -> None:
    """Create the period's payout run (or resume it) and pay it; running it again pays nobody twice."""
    from growth.core.errors import DomainError
    from payouts.partner import service as partner_service
    from payouts.payout_run import service as payout_run_service
    from payouts.payout_run.rules import parse_minimums
    from payouts.provider import service as provider_service

    settings = get_settings()
    minimums, cooling_off = parse_minimums(settings.payout_minimums), settings.payout_cooling_off_days
    gates, tiers = payout_run_service.gates(settings), partner_service.tier_policy(settings)

    async def create_or_find(session: AsyncSession) -> UUID:
        if (run := await payout_run_service.find_run(session, period=period, currency=currency)) is not None:
            return run.id
        run = await payout_run_service.create_run(
            session,
            period=period,
            currency=currency,
            now=utc_now(),
            minimums=minimums,
            cooling_off_days=cooling_off,
            tz=settings.timezone,
            blocked_countries=gates.blocked_countries,
            trailing=gates.trailing,
        )
        return run.id

    async def run() -> payout_run_service.RunSummary | payout_run_service.Selection:
        engine = make_engine(settings.database_url)
        session_maker = make_db_config(engine).create_session_maker()
        try:
            if dry_run:
                async with session_maker() as session:
                    return await payout_run_service.preview_run(
                        session,
                        period=period,
                        currency=currency,
                        now=utc_now(),
                        minimums=minimums,
                        cooling_off_days=cooling_off,
                        blocked_countries=gates.blocked_countries,
                        trailing=gates.trailing,
                    )
            async with session_maker() as session, session.begin():
                run_id = await create_or_find(session)
            return await payout_run_service.execute_run(
                session_maker,
                run_id,
                providers=provider_service.providers(settings),
                now=utc_now(),
                tiers=tiers,
            )
        finally:
            await engine.dispose()

    try:
        result = asyncio.run(run())
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    if isinstance(result, payout_run_service.Selection):
        for partner_id, amount in result.payouts:
            click.echo(f"pay  {partner_id} {amount} {currency}")
        for skip in result.skips:
            click.echo(f"hold {skip.partner_id} {skip.amount} {currency}: {skip.reason.value}")
        return
    click.echo(
        f"run {result.run_id}: {result.status.value}, sent {result.sent}, failed {result.failed}, "
        f"pending {result.pending}"
    )
    if result.pending:
        raise SystemExit(1)
