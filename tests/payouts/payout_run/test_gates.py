"""The payout run's compliance gates: each one alone holds a partner back and the run names it; the
trailing-average hold and finance's release of it."""

from __future__ import annotations

import itertools
from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit import service as audit_service
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from payouts.partner import service as partner_service
from payouts.payout_run import service as payout_run_service
from payouts.payout_run.errors import HoldNotReleasable, InvalidPayoutRun
from payouts.payout_run.models import Payout, PayoutRun
from payouts.payout_run.rules import (
    Candidate,
    PayoutStatus,
    SkipReason,
    TrailingAverage,
    hold_reason,
    is_above_trailing_average,
    trailing_problem,
)
from payouts.provider import service as provider_service
from payouts.provider.rules import Destination, ProviderName
from tests.factories import bearer, create_key
from tests.payouts.payout_run.helpers import LONG_AGO, MINIMUMS, NOW, assert_ledger_sound, owed, partner_with

ACTOR = audit_service.system_actor("tests")
_months = itertools.count()
BLOCKED = frozenset({"KP", "IR"})
TRAILING = TrailingAverage(ratio_bps=30_000, payouts=6, min_payouts=3)


def cand(**over: object) -> Candidate:
    fields: dict[str, object] = {
        "partner_id": UUID(int=1),
        "payable": 20_000,
        "is_approved": True,
        "has_account": True,
        "has_tax_form": True,
        "account_changed_at": NOW - timedelta(days=30),
        "is_identity_verified": True,
        "is_account_verified": True,
        "country": "DE",
    }
    return Candidate(**(fields | over))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("candidate", "reason"),
    [
        (cand(), None),
        (cand(is_identity_verified=False), SkipReason.identity_not_verified),
        (cand(country="KP"), SkipReason.country_blocked),
        (cand(country=None), None),  # no country on file: identity verification is where it is learnt
        (cand(is_account_verified=False), SkipReason.payout_account_not_verified),
        (cand(previous_payouts=(5_000, 6_000, 7_000)), SkipReason.amount_above_trailing_average),
        (cand(previous_payouts=(5_000, 6_000, 7_000), is_hold_released=True), None),
        (cand(previous_payouts=(7_000, 7_000)), None),  # too few payouts for an average
        (cand(is_identity_verified=False, country="KP"), SkipReason.identity_not_verified),  # first gate
    ],
)
def test_each_gate_alone_holds(candidate: Candidate, reason: SkipReason | None) -> None:
    got = hold_reason(
        candidate, minimum=100, now=NOW, cooling_off_days=7, blocked_countries=BLOCKED, trailing=TRAILING
    )
    assert got is reason


@pytest.mark.parametrize(
    ("amount", "previous", "above"),
    [
        (18_000, (6_000, 6_000, 6_000), False),  # exactly 3x the average is not above it
        (18_001, (6_000, 6_000, 6_000), True),
        (1, (), False),
        # Only the last 6 count: the old large payout (newest first, so last here) is out of the window.
        (30_000, (9_000, 9_000, 9_000, 9_000, 9_000, 9_000, 1_000_000), True),
    ],
)
def test_trailing_average(amount: int, previous: tuple[int, ...], above: bool) -> None:
    assert is_above_trailing_average(amount, previous, TRAILING) is above
    assert is_above_trailing_average(amount, previous, TrailingAverage(0, 6, 3)) is False  # off


@pytest.mark.parametrize(
    ("rule", "ok"),
    [
        (TrailingAverage(30_000, 6, 3), True),
        (TrailingAverage(0, 6, 3), True),
        (TrailingAverage(9_999, 6, 3), False),
        (TrailingAverage(30_000, 0, 0), False),
        (TrailingAverage(30_000, 3, 4), False),
    ],
)
def test_trailing_settings(rule: TrailingAverage, ok: bool) -> None:
    assert (trailing_problem(rule) is None) is ok


async def _run(session: AsyncSession, period: str = "2026-11") -> payout_run_service.RunDetail:
    run = await payout_run_service.create_run(
        session,
        period=period,
        currency="CNY",
        now=NOW,
        minimums=MINIMUMS,
        cooling_off_days=7,
        blocked_countries=BLOCKED,
        trailing=TRAILING,
    )
    await session.commit()
    detail = await payout_run_service.run_detail(session, run.id)
    await session.commit()  # lets go of SQLite's only connection
    return detail


class TestGatesInARun:
    async def test_each_gate_holds_its_partner_and_the_run_names_it(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        paid = await partner_with(session)
        unverified = await partner_with(session)
        await partner_service.set_identity_verified(
            session, unverified, is_verified=False, actor=ACTOR, now=LONG_AGO
        )
        blocked = await partner_with(session)
        (await partner_service.get_partner(session, blocked)).country = "KP"
        elsewhere = await partner_with(session)  # a country not on the list is paid
        (await partner_service.get_partner(session, elsewhere)).country = "CN"
        unchecked_account = await partner_with(session)
        await provider_service.set_account_verified(
            session, unchecked_account, is_verified=False, actor=ACTOR, now=LONG_AGO
        )

        d = await _run(session)
        assert sorted((p.partner_id, p.amount) for p in d.payouts) == sorted(
            [(paid, 20_000), (elsewhere, 20_000)]
        )
        assert {s.partner_id: s.reason for s in d.skips} == {
            unverified: "identity_not_verified",
            blocked: "country_blocked",
            unchecked_account: "payout_account_not_verified",
        }
        for partner_id in (unverified, blocked, unchecked_account):
            assert await owed(session_maker, partner_id, "payable") == 20_000
        await assert_ledger_sound(session_maker)

    async def test_a_new_destination_needs_verifying_again(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        partner = await partner_with(session)
        await provider_service.set_account(
            session,
            partner,
            destination=Destination(ProviderName.bank, None, "Li Wei", "ICBC", "6222 0000 1111 2222"),
            tax_form_type="W-8BEN",
            tax_form_on=LONG_AGO.date(),
            now=LONG_AGO,  # long enough ago that the cooling-off is not what holds it
        )
        d = await _run(session)
        assert [(s.partner_id, s.reason) for s in d.skips] == [(partner, "payout_account_not_verified")]


async def _paid_history(session: AsyncSession, partner_id: UUID, amounts: list[int]) -> None:
    """Payouts the partner was paid in earlier runs (oldest first)."""
    for amount in amounts:
        n = next(_months)
        run = PayoutRun(period=f"{2020 + n // 12}-{n % 12 + 1:02d}", currency="CNY", status="completed")
        session.add(run)
        await session.flush()
        session.add(
            Payout(
                run_id=run.id,
                partner_id=partner_id,
                amount=amount,
                currency="CNY",
                provider="stripe",
                status=PayoutStatus.sent.value,
                idempotency_key=f"test-{uuid4()}",
            )
        )
        await session.flush()


class TestTrailingAverage:
    async def test_far_above_the_average_is_held_until_finance_releases_it(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        usual = await partner_with(session, payable=15_000)
        await _paid_history(session, usual, [5_000, 5_000, 5_000])
        jump = await partner_with(session, payable=15_001)
        await _paid_history(session, jump, [5_000, 5_000, 5_000])
        await session.commit()

        d = await _run(session)
        assert [(p.partner_id, p.amount) for p in d.payouts if p.run_id == d.run.id] == [(usual, 15_000)]
        assert [(s.partner_id, s.amount, s.reason) for s in d.skips] == [
            (jump, 15_001, "amount_above_trailing_average")
        ]

        released = await payout_run_service.release_hold(
            session,
            partner_id=jump,
            period="2026-11",
            currency="CNY",
            reason="a large customer renewed; checked with the account manager",
            actor=ACTOR,
            now=NOW,
            minimums=MINIMUMS,
            cooling_off_days=7,
            gates=payout_run_service.Gates(BLOCKED, TRAILING),
        )
        await session.commit()
        assert released.payout is not None and released.skip_reason is None
        after = await payout_run_service.run_detail(session, d.run.id)
        await session.commit()
        assert sorted((p.partner_id, p.amount) for p in after.payouts) == sorted(
            [(usual, 15_000), (jump, 15_001)]
        )
        assert after.skips == []
        assert await owed(session_maker, jump, "in_payout") == 15_001
        entries = await audit_service.list_entries(
            session, audit_service.filters(action="payout.hold_released"), limit=10, offset=0
        )
        assert [(e.subject_id, e.after["period"], e.after["payout_id"]) for e in entries] == [
            (str(jump), "2026-11", str(released.payout.id))
        ]
        await session.commit()

        # Releasing again is no move: no second payout, no second entry.
        again = await payout_run_service.release_hold(
            session,
            partner_id=jump,
            period="2026-11",
            currency="CNY",
            reason="again",
            actor=ACTOR,
            now=NOW,
            minimums=MINIMUMS,
            cooling_off_days=7,
            gates=payout_run_service.Gates(BLOCKED, TRAILING),
        )
        await session.commit()
        assert (
            again.payout is None
            and len((await payout_run_service.run_detail(session, d.run.id)).payouts) == 2
        )
        await session.commit()
        await assert_ledger_sound(session_maker)

    async def test_released_before_the_run_is_paid_by_it(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        jump = await partner_with(session, payable=50_000)
        await _paid_history(session, jump, [5_000, 5_000, 5_000])
        r = await payout_run_service.release_hold(
            session,
            partner_id=jump,
            period="2026-11",
            currency="CNY",
            reason="expected: a year-end bonus",
            actor=ACTOR,
            now=NOW,
            minimums=MINIMUMS,
            cooling_off_days=7,
            gates=payout_run_service.Gates(BLOCKED, TRAILING),
        )
        assert r.run is None and r.payout is None
        d = await _run(session)
        assert [(p.partner_id, p.amount) for p in d.payouts] == [(jump, 50_000)]
        # Only for that period: the next month's run would hold a jump again.

    async def test_release_refused_when_the_run_does_not_hold_the_partner_so(
        self, session: AsyncSession
    ) -> None:
        unverified = await partner_with(session)
        await partner_service.set_identity_verified(
            session, unverified, is_verified=False, actor=ACTOR, now=LONG_AGO
        )
        await _run(session)
        with pytest.raises(HoldNotReleasable, match="trailing average"):
            await payout_run_service.release_hold(
                session,
                partner_id=unverified,
                period="2026-11",
                currency="CNY",
                reason="please",
                actor=ACTOR,
                now=NOW,
                minimums=MINIMUMS,
                cooling_off_days=7,
                gates=payout_run_service.Gates(BLOCKED, TRAILING),
            )
        with pytest.raises(InvalidPayoutRun, match="reason"):
            await payout_run_service.release_hold(
                session,
                partner_id=unverified,
                period="2026-12",
                currency="CNY",
                reason="  ",
                actor=ACTOR,
                now=NOW,
                minimums=MINIMUMS,
                cooling_off_days=7,
                gates=payout_run_service.Gates(BLOCKED, TRAILING),
            )


async def test_release_through_the_api(client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
    jump = await partner_with(session, payable=50_000)
    await _paid_history(session, jump, [5_000, 5_000, 5_000])
    finance = bearer(await create_key(session, role=Role.finance))
    marketing = bearer(await create_key(session, role=Role.marketing))
    await session.commit()

    run = (
        await client.post("/api/payout-runs", json={"period": "2026-10", "currency": "CNY"}, headers=finance)
    ).json()
    d = (await client.get(f"/api/payout-runs/{run['id']}", headers=finance)).json()
    assert d["payouts"] == []
    assert d["skips"] == [
        {"partner_id": str(jump), "amount": 50_000, "reason": "amount_above_trailing_average"}
    ]

    body = {"partner_id": str(jump), "period": "2026-10", "currency": "CNY", "reason": "checked the orders"}
    assert (
        await client.post("/api/payout-runs/holds/release", json=body, headers=marketing)
    ).status_code == 403
    bad = await client.post(
        "/api/payout-runs/holds/release", json=body | {"period": "October"}, headers=finance
    )
    assert bad.status_code == 400 and "period" in bad.text
    unknown = await client.post(
        "/api/payout-runs/holds/release", json=body | {"partner_id": str(uuid4())}, headers=finance
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "partner_not_found"

    r = await client.post("/api/payout-runs/holds/release", json=body, headers=finance)
    assert r.status_code == 200, r.text
    assert r.json()["run_id"] == run["id"] and r.json()["payout_id"] and r.json()["still_held"] is None
    d = (await client.get(f"/api/payout-runs/{run['id']}", headers=finance)).json()
    assert [(p["partner_id"], p["amount"], p["status"]) for p in d["payouts"]] == [
        (str(jump), 50_000, "pending")
    ]
    assert d["skips"] == []
    trail = (
        await client.get("/api/audit", params={"action": "payout.hold_released"}, headers=finance)
    ).json()
    assert [(e["subject_id"], e["actor_kind"]) for e in trail] == [(str(jump), "api_key")]
