"""``growth payouts run`` in a separate process, paying through the Stripe stand-in; run twice."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit.models import AuditEntry
from growth.core.db import SessionMaker
from payouts.payout_run import service as payout_run_service
from tests.payouts.payout_run.helpers import assert_ledger_sound, owed, partner_with
from tests.payouts.stripe_standin import API_KEY, StripeStandIn


def growth(database_url: str, stand_in: StripeStandIn, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "GROWTH_DATABASE_URL": database_url,
        "GROWTH_STRIPE_API_KEY": API_KEY,
        "GROWTH_STRIPE_API_BASE": stand_in.base,
        "GROWTH_PAYOUT_MINIMUMS": "CNY:10000",
        "GROWTH_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-c", "from growth.cli import main; main()", "payouts", "run", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)


async def test_run_twice_pays_each_partner_once(
    session: AsyncSession, session_maker: SessionMaker, database_url: str, stripe_standin: StripeStandIn
) -> None:
    partners = [await partner_with(session) for _ in range(2)]
    held = await partner_with(session, tax_form=False)
    await session.commit()
    args = ("--period", "2026-10", "--currency", "CNY")

    dry = await asyncio.to_thread(growth, database_url, stripe_standin, *args, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"hold {held} 20000 CNY: tax_form_missing" in dry.stdout and stripe_standin.requests == []

    for _ in range(2):
        done = await asyncio.to_thread(growth, database_url, stripe_standin, *args)
        assert done.returncode == 0, done.stderr
        assert "completed, sent 2, failed 0, pending 0" in done.stdout
    assert len(stripe_standin.requests) == 2 and len(stripe_standin.transfers()) == 2
    async with session_maker() as s:
        runs = await payout_run_service.list_runs(s)
        created = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "payout_run.created")))
    assert len(runs) == 1
    # The CLI's run is audited as the API's and the pages' are, once, by the CLI.
    assert [(e.actor_kind, e.subject_id) for e in created] == [("cli", str(runs[0].id))]
    for partner in partners:
        assert await owed(session_maker, partner, "payable") == 0
    assert await owed(session_maker, held, "payable") == 20_000
    await assert_ledger_sound(session_maker)
