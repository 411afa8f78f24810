"""The ``growth`` command: serve, run the demo, migrate, and manage API keys."""

from __future__ import annotations

import asyncio
import getpass
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
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

if TYPE_CHECKING:
    from litestar import Litestar

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
@click.option(
    "--max-transaction-seconds",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.01),
    help="End a batch sooner when its transaction has run this long (SQLite: others wait for its lock).",
)
def orders_import(file: Path, events: bool, batch_size: int, max_transaction_seconds: float) -> None:
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
                max_transaction_seconds=max_transaction_seconds,
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
        run = await payout_run_service.open_run(
            session, settings, period=period, currency=currency, actor=_cli_actor(), now=utc_now()
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


# The production profile: granian web workers, SAQ queue workers, and a supervisor for both.

_SELF = [sys.executable, "-c", "from growth.cli import main; main()"]
"""How the supervisor starts this command line in a child process."""


def _metrics_dir(settings: Settings, *, fresh: bool) -> str:
    """The directory this host's processes share their Prometheus values in, exported to children.

    ``fresh``: emptied first (values of processes of an earlier start would be added in otherwise).
    """
    path = Path(settings.metrics_dir or tempfile.mkdtemp(prefix="growth-metrics-"))
    path.mkdir(parents=True, exist_ok=True)
    if fresh:
        for stale in path.glob("*.db"):
            stale.unlink()
    # prometheus_client reads its variable when a child imports it; GROWTH_METRICS_DIR tells /metrics.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ["GROWTH_METRICS_DIR"] = str(path)
    return str(path)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Web processes.")
@click.option("--migrate/--no-migrate", default=False, help="Migrate the database first.")
def serve(host: str, port: int, workers: int, migrate: bool) -> None:
    """Serve the app with granian and N worker processes (the production web server).

    With GROWTH_REDIS_URL set, the web processes leave jobs to `growth worker` processes.
    SIGTERM stops gracefully: requests in flight finish and buffered clicks are written.
    """
    from granian import Granian
    from granian.constants import Interfaces
    from granian.log import LogLevels

    settings = get_settings()
    if migrate:
        upgrade_head(settings.database_url)
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:  # set by `growth production` for all its children
        _metrics_dir(settings, fresh=not settings.metrics_dir)
    Granian(
        "growth.cli:web_app",
        factory=True,
        interface=Interfaces.ASGI,
        address=host,
        port=port,
        workers=workers,
        log_level=LogLevels.warning,
        respawn_failed_workers=True,
        # A worker that has not stopped this long after SIGTERM is killed (the click writer's last
        # flush takes at most 30 s).
        workers_kill_timeout=45,
    ).serve()


def web_app() -> Litestar:
    """The app as each granian worker process of ``growth serve`` builds it."""
    # The worker is forked with granian's server-side signal handlers, which would swallow a SIGTERM
    # arriving before the worker installs its own (while the app is built): it would then never stop.
    # Until then the default action, exit, is right: nothing is served or buffered yet.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    from growth.app import create_app

    get_settings.cache_clear()  # read again: `serve` exported GROWTH_METRICS_DIR after reading them
    return create_app()


@main.command()
@click.option(
    "--concurrency", default=None, type=click.IntRange(min=1), help="Jobs at once [GROWTH_WORKER_CONCURRENCY]"
)
def worker(concurrency: int | None) -> None:
    """Run a queue worker (production profile, needs GROWTH_REDIS_URL) until SIGTERM.

    It drains the outbox, delivers notifications and webhooks, runs the periodic jobs and executes payout
    runs. Start as many as needed on any host; each job is done once. A running job finishes on SIGTERM.
    """
    settings = get_settings()
    if not settings.redis_url:
        raise click.ClickException("GROWTH_REDIS_URL is not set (the embedded profile needs no worker)")
    if settings.metrics_dir:  # share the job metrics with the web processes of this host
        _metrics_dir(settings, fresh=False)
    from growth.worker import run_worker  # imports prometheus_client: after its directory is set

    asyncio.run(run_worker(settings, concurrency=concurrency))


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--web-workers", default=2, show_default=True, type=click.IntRange(min=1))
@click.option("--queue-workers", default=2, show_default=True, type=click.IntRange(min=0))
@click.option("--concurrency", default=None, type=click.IntRange(min=1), help="Jobs at once per worker.")
def production(host: str, port: int, web_workers: int, queue_workers: int, concurrency: int | None) -> None:
    """Start the production profile: migrate once, then the web server and the queue workers.

    Reads GROWTH_DATABASE_URL (PostgreSQL) and GROWTH_REDIS_URL. SIGTERM or Ctrl+C stops every process
    gracefully; if one of them exits on its own, the others are stopped too and the exit code says so.
    """
    settings = get_settings()
    if not settings.redis_url:
        raise click.ClickException("GROWTH_REDIS_URL is not set")
    if settings.is_sqlite:
        raise click.ClickException("the production profile needs PostgreSQL in GROWTH_DATABASE_URL")
    upgrade_head(settings.database_url)
    metrics_dir = _metrics_dir(settings, fresh=True)
    web = [*_SELF, "serve", "--host", host, "--port", str(port), "--workers", str(web_workers)]
    queue = [*_SELF, "worker", *(["--concurrency", str(concurrency)] if concurrency else [])]
    commands = [web, *[queue] * queue_workers]
    click.echo(
        f"production profile: web on http://{host}:{port} ({web_workers} workers), "
        f"{queue_workers} queue workers, metrics in {metrics_dir}"
    )
    raise SystemExit(supervise(commands))


def supervise(commands: list[list[str]], *, grace_seconds: float = 90.0) -> int:
    """Run ``commands`` as child processes until SIGTERM/SIGINT or until one exits; returns the exit code.

    A stop is forwarded to every child as SIGTERM (each finishes what it is doing); a child still
    running after ``grace_seconds`` is killed.
    """
    children = [subprocess.Popen(command) for command in commands]
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.2)
        failed = [child for child in children if child.poll() not in (None, 0)]
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if failed:
        click.echo(f"stopped: process {failed[0].args[-1]!r} exited with {failed[0].returncode}", err=True)
        return failed[0].returncode or 1
    return 0 if stopping else 1
