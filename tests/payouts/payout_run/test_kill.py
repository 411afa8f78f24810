"""A payout run killed with SIGKILL at random points, then run again: each partner is paid exactly
once, with the same idempotency keys, and the ledger balances."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time

from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.db import SessionMaker
from tests.payouts.payout_run.helpers import assert_ledger_sound, owed, partner_with
from tests.payouts.stripe_standin import API_KEY, StripeStandIn

PARTNERS = 12
KILLS = 24
"""Runs started and killed; at least ``KILLS_LANDED`` of them must still be running when the kill lands."""
KILLS_LANDED = 20


def _env(database_url: str, stand_in: StripeStandIn) -> dict[str, str]:
    return os.environ | {
        "GROWTH_DATABASE_URL": database_url,
        "GROWTH_STRIPE_API_KEY": API_KEY,
        "GROWTH_STRIPE_API_BASE": stand_in.base,
        "GROWTH_PAYOUT_MINIMUMS": "CNY:10000",
        "GROWTH_LOG_LEVEL": "WARNING",
    }


COMMAND = [sys.executable, "-c", "from growth.cli import main; main()", "payouts", "run"]
ARGS = ["--period", "2026-10", "--currency", "CNY"]


def _kill_at_a_random_point(database_url: str, stand_in: StripeStandIn, rng: random.Random) -> bool:
    """Start a run and SIGKILL it at a random point: most often after a random number of transfer
    requests (0: before any) plus a jitter, sometimes after a random time from its start (starting up,
    issuing statements, planning). Whether the kill landed (the run had not finished by itself)."""
    process = subprocess.Popen(
        COMMAND + ARGS, env=_env(database_url, stand_in), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    if rng.random() < 0.7:
        target = len(stand_in.requests) + rng.randint(0, 1)
        deadline = time.monotonic() + 30
        while len(stand_in.requests) < target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, stand_in.delay * 2))
    else:
        time.sleep(rng.uniform(0.2, 1.5))
    landed = process.poll() is None
    if landed:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    return landed


async def test_killed_runs_pay_each_partner_exactly_once(
    session: AsyncSession, session_maker: SessionMaker, database_url: str, stripe_standin: StripeStandIn
) -> None:
    partners = [await partner_with(session, payable=10_000 + n) for n in range(PARTNERS)]
    await session.commit()
    stripe_standin.delay = 0.05  # Stripe did the transfer; the answer is still on its way when the kill lands
    rng = random.Random(20261126)

    landed = 0
    for _ in range(KILLS):
        landed += await asyncio.to_thread(_kill_at_a_random_point, database_url, stripe_standin, rng)
    asked = len(stripe_standin.requests)
    print(
        f"payout run: {landed} of {KILLS} SIGKILLs landed mid-run; {asked} transfer requests before the rerun"
    )
    assert landed >= KILLS_LANDED
    stripe_standin.delay = 0
    done = await asyncio.to_thread(
        subprocess.run,
        COMMAND + ARGS,
        env=_env(database_url, stripe_standin),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    refused = {k: v for k, v in stripe_standin.responses.items() if v[0] != 200}
    assert f"sent {PARTNERS}, failed 0, pending 0" in done.stdout, (done.stdout, refused)
    transfers = stripe_standin.transfers()
    assert len(transfers) == PARTNERS  # one transfer per payout, however often it was asked for
    assert {t["metadata"]["partner_id"] for t in transfers.values()} == {str(p) for p in partners}
    # Some kills landed after Stripe had done a transfer, before the run recorded it: it was asked again.
    assert len(stripe_standin.requests) > PARTNERS
    keys = {r["idempotency_key"] for r in stripe_standin.requests}
    assert keys == set(transfers)  # every retry reused its payout's key
    assert sorted(t["amount"] for t in transfers.values()) == [10_000 + n for n in range(PARTNERS)]
    for partner in partners:
        assert await owed(session_maker, partner, "payable") == 0
    await assert_ledger_sound(session_maker)
