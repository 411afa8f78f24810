"""Partner credit tiers (hold, cap, promotion, finance's hand), compliance status, and the settings
that configure them, refused at start-up when they are wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.audit import service as audit_service
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.ledger import service as ledger_service
from growth.settings import Settings
from payouts.commission import service as commission_service
from payouts.commission.models import Commission
from payouts.partner import service as partner_service
from payouts.partner.rules import (
    CreditTier,
    Promotion,
    cap_problem,
    commission_hold_days,
    load_blocked_countries,
    parse_tier_policy,
    promotion_for,
)
from payouts.payout_run import service as payout_run_service
from payouts.payout_run.models import Payout, PayoutRun
from tests.factories import bearer, create_key, create_partner
from tests.payouts.payout_run.helpers import partner_with
from tests.payouts.statement.conftest import Program, at

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
DEFAULTS = Settings()
POLICY = partner_service.tier_policy(DEFAULTS)
ACTOR = audit_service.system_actor("tests")


class TestRules:
    def test_the_default_policy(self) -> None:
        assert [POLICY.hold_for(t) for t in CreditTier] == [60, 30, 14]
        assert [POLICY.cap_for(t, "USD") for t in CreditTier] == [50_000, 500_000, None]
        assert POLICY.promotions == (
            Promotion(CreditTier.standard, 3, 90),
            Promotion(CreditTier.trusted, 12, 180),
        )

    def test_a_cap_for_one_currency(self) -> None:
        policy = parse_tier_policy(hold_days="", caps="new:50000,new:JPY:8000,standard:none", promotions="")
        assert (policy.cap_for(CreditTier.new, "USD"), policy.cap_for(CreditTier.new, "JPY")) == (
            50_000,
            8_000,
        )
        assert policy.cap_for(CreditTier.standard, "USD") is None

    @pytest.mark.parametrize(
        ("hold_days", "caps", "promotions", "problem"),
        [
            ("gold:10", "", "", "unknown credit tier"),
            ("new:-1", "", "", "whole number"),
            ("new:400", "", "", "365"),
            ("", "new:usd:100", "", "ISO 4217"),
            ("", "new:1.5", "", "whole number"),
            ("", "", "trusted:3:90,standard:1:1", "go up"),
            ("", "", "new:1:1", "go up"),
            ("", "", "standard:3", "tier:paid_payouts:days"),
        ],
    )
    def test_nonsense_is_refused(self, hold_days: str, caps: str, promotions: str, problem: str) -> None:
        with pytest.raises(ValueError, match=problem):
            parse_tier_policy(hold_days=hold_days, caps=caps, promotions=promotions)

    @pytest.mark.parametrize(
        ("plan", "tier", "expected"),
        [(30, CreditTier.new, 60), (90, CreditTier.new, 90), (0, CreditTier.trusted, 14)],
    )
    def test_the_longer_hold_wins(self, plan: int, tier: CreditTier, expected: int) -> None:
        assert commission_hold_days(plan, tier, POLICY) == expected
        assert commission_hold_days(plan, tier, None) == plan

    def test_cap(self) -> None:
        assert (
            cap_problem(tier=CreditTier.new, cap=50_000, payable=40_000, amount=10_000, currency="USD")
            is None
        )
        problem = cap_problem(tier=CreditTier.new, cap=50_000, payable=40_000, amount=10_001, currency="USD")
        assert problem is not None and "credit cap (new tier)" in problem and "50000 USD" in problem
        assert cap_problem(tier=CreditTier.trusted, cap=None, payable=10**9, amount=1, currency="USD") is None

    @pytest.mark.parametrize(
        ("tier", "paid", "approved_days_ago", "clawback_days_ago", "expected"),
        [
            (CreditTier.new, 3, 91, None, CreditTier.standard),
            (CreditTier.new, 2, 91, None, None),  # too few payouts
            (CreditTier.new, 3, 89, None, None),  # too young
            (CreditTier.new, 3, 365, 30, None),  # a recent clawback
            (CreditTier.new, 3, 365, 100, CreditTier.standard),
            (CreditTier.new, 12, 200, None, CreditTier.trusted),  # both steps at once
            (CreditTier.trusted, 0, 0, None, None),  # never down
        ],
    )
    def test_promotion(
        self,
        tier: CreditTier,
        paid: int,
        approved_days_ago: int,
        clawback_days_ago: int | None,
        expected: CreditTier | None,
    ) -> None:
        step = promotion_for(
            tier,
            policy=POLICY,
            paid_payouts=paid,
            approved_at=NOW - timedelta(days=approved_days_ago),
            last_clawback_at=NOW - timedelta(days=clawback_days_ago) if clawback_days_ago else None,
            now=NOW,
        )
        assert (step.tier if step else None) is expected

    def test_the_blocked_countries_file(self, tmp_path: Path) -> None:
        assert {"KP", "IR", "CU", "SY"} <= load_blocked_countries()
        good = tmp_path / "good.txt"
        good.write_text("# ours\nRU  # for now\n\nBY\n")
        assert load_blocked_countries(str(good)) == {"RU", "BY"}
        bad = tmp_path / "bad.txt"
        bad.write_text("RU\nRussia\n")
        with pytest.raises(ValueError, match=r"bad.txt:2: not an upper-case ISO 3166-1 alpha-2 code"):
            load_blocked_countries(str(bad))
        with pytest.raises(ValueError, match="blocked countries file"):
            load_blocked_countries(str(tmp_path / "missing.txt"))


@pytest.mark.parametrize(
    "change",
    [
        {"partner_tier_caps": "gold:100"},
        {"partner_tier_hold_days": "new:sixty"},
        {"partner_tier_promotions": "standard:3"},
        {"payout_trailing_ratio_bps": 5_000},
        {"payout_trailing_min_payouts": 9},
        {"blocked_countries_file": "/nonexistent/blocked.txt"},
    ],
)
def test_bad_settings_are_refused_at_start_up(change: dict[str, object]) -> None:
    from growth.app import create_app

    with pytest.raises(ValueError, match="invalid setting"):
        create_app(Settings(database_url="sqlite+aiosqlite:///:memory:", secret_key="x", **change))  # type: ignore[arg-type]


class TestHoldAndCap:
    """Orders through the real order service and commission handlers (10%, plan hold 0)."""

    async def test_the_tier_hold_and_the_cap(self, session_maker: SessionMaker, settings: Settings) -> None:
        from growth.app import build_subscriptions

        tiered = settings.with_overrides(partner_tier_hold_days="new:20", partner_tier_caps="new:15000")
        policy = partner_service.tier_policy(tiered)
        program = Program(session_maker, build_subscriptions(settings=tiered))
        p = await program.partner()
        for n, when in enumerate(("2025-10-01T10:00+08:00", "2025-10-02T10:00+08:00")):
            await program.order(p, f"t-{n}", 100_000, at(when))
            await program.event(f"t-{n}", "paid", at(when))
            await program.event(f"t-{n}", "closed", at(when))

        async def approve(when: datetime) -> int:
            async with session_maker() as s, s.begin():
                return await commission_service.approve_due(s, now=when, tiers=policy)

        # The plan holds nothing, the new tier 20 days.
        assert await approve(at("2025-10-20T10:00+08:00")) == 0
        assert await approve(at("2025-10-21T10:00+08:00")) == 1
        # The second would bring payable to 200.00, over the cap of 150.00: it waits, saying why.
        assert await approve(at("2025-10-25T10:00+08:00")) == 0
        async with session_maker() as s:
            waiting = await commission_service.list_commissions(s, partner_id=p.id, status=None)
        held = [c for c in waiting if c.status == "pending"]
        assert len(held) == 1 and held[0].reason is not None and "credit cap (new tier)" in held[0].reason
        # A payout takes the payable balance down: now it moves, and its reason is gone.
        await program.post(
            "test:payout",
            "payout_reserved",
            [
                (ledger_service.partner_account(p.id, "payable"), 10_000, "CNY"),
                (ledger_service.partner_account(p.id, "in_payout"), -10_000, "CNY"),
            ],
            at("2025-10-26T10:00+08:00"),
        )
        assert await approve(at("2025-10-27T10:00+08:00")) == 1
        async with session_maker() as s:
            c = await s.get(Commission, held[0].id)
            assert c is not None and c.status == "approved" and c.reason is None


async def _paid_payouts(session: AsyncSession, partner_id: UUID, count: int) -> None:
    for n in range(count):
        run = PayoutRun(period=f"2019-{n + 1:02d}", currency="CNY", status="completed")
        session.add(run)
        await session.flush()
        session.add(
            Payout(
                run_id=run.id,
                partner_id=partner_id,
                amount=1_000,
                currency="CNY",
                provider="bank",
                status="paid",
                idempotency_key=f"test-{uuid4()}",
            )
        )
    await session.flush()


class TestPromotion:
    async def test_paid_payouts_and_quiet_days_promote(self, session: AsyncSession) -> None:
        partner_id = await partner_with(session, payable=0)
        (await partner_service.get_partner(session, partner_id)).approved_at = NOW - timedelta(days=120)
        await _paid_payouts(session, partner_id, 3)
        unpaid = await partner_with(session, payable=0)
        (await partner_service.get_partner(session, unpaid)).approved_at = NOW - timedelta(days=120)
        await _paid_payouts(session, unpaid, 0)
        await session.commit()

        assert await payout_run_service.promote_due(session, policy=POLICY, now=NOW) == 1
        partner = await partner_service.get_partner(session, partner_id)
        assert partner.credit_tier == "standard" and "3 or more paid payouts" in (
            partner.credit_tier_reason or ""
        )
        assert (await partner_service.get_partner(session, unpaid)).credit_tier == "new"
        # Again: nothing more to do.
        assert await payout_run_service.promote_due(session, policy=POLICY, now=NOW) == 0
        entries = await audit_service.list_entries(
            session, audit_service.filters(action="partner.tier_changed"), limit=10, offset=0
        )
        assert [
            (e.subject_id, e.before["credit_tier"], e.after["credit_tier"], e.actor_kind) for e in entries
        ] == [(str(partner_id), "new", "standard", "system")]
        await session.commit()

    async def test_a_recent_clawback_stops_a_promotion(self, session: AsyncSession) -> None:
        partner_id = await partner_with(session, payable=0)
        (await partner_service.get_partner(session, partner_id)).approved_at = NOW - timedelta(days=365)
        await _paid_payouts(session, partner_id, 5)
        await ledger_service.post_entry(
            session,
            reference="test:clawback",
            kind="commission_clawback",
            lines=[
                ledger_service.Line(ledger_service.partner_account(partner_id, "payable"), 500, "CNY"),
                ledger_service.Line(ledger_service.COMMISSION_EXPENSE, -500, "CNY"),
            ],
            occurred_at=NOW - timedelta(days=10),
        )
        assert await payout_run_service.promote_partners(session, [partner_id], policy=POLICY, now=NOW) == 0
        later = NOW + timedelta(days=85)
        assert await payout_run_service.promote_partners(session, [partner_id], policy=POLICY, now=later) == 1
        await session.commit()


class TestApi:
    async def test_finance_sets_a_tier_by_hand(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        partner = await create_partner(session)
        finance = bearer(await create_key(session, role=Role.finance))
        own = bearer(await create_key(session, role=Role.partner, subject_id=partner.id))
        await session.commit()
        url = f"/api/partners/{partner.id}/tier"

        r = await client.post(
            url, json={"tier": "trusted", "reason": "a reseller we have known for years"}, headers=finance
        )
        assert r.status_code == 200, r.text
        assert r.json()["credit_tier"] == "trusted" and r.json()["credit_tier_reason"].startswith(
            "a reseller"
        )
        unknown_tier = await client.post(url, json={"tier": "gold", "reason": "x"}, headers=finance)
        assert unknown_tier.status_code == 400 and "tier" in unknown_tier.text
        no_reason = await client.post(url, json={"tier": "new"}, headers=finance)
        assert no_reason.status_code == 400
        blank_reason = await client.post(url, json={"tier": "new", "reason": "   "}, headers=finance)
        assert blank_reason.status_code in (400, 422) and "reason" in blank_reason.text
        unknown = await client.post(
            f"/api/partners/{uuid4()}/tier", json={"tier": "new", "reason": "x"}, headers=finance
        )
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "partner_not_found"
        assert (
            await client.post(url, json={"tier": "new", "reason": "mine"}, headers=own)
        ).status_code == 403

        trail = (
            await client.get("/api/audit", params={"action": "partner.tier_changed"}, headers=finance)
        ).json()
        assert [(e["before"]["credit_tier"], e["after"]["credit_tier"], e["actor_kind"]) for e in trail] == [
            ("new", "trusted", "api_key")
        ]
        detail = (await client.get(f"/api/partners/{partner.id}", headers=finance)).json()
        assert detail["compliance"]["credit_tier"] == "trusted"
        assert detail["compliance"]["commission_hold_days"] == 0  # the test settings name no tier holds

    async def test_the_partner_detail_names_the_gates_it_fails(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        partner = await partner_service.create_partner(
            session, name="Pyongyang Trading", email="a@b.example", country="KP"
        )
        finance = bearer(await create_key(session, role=Role.finance))
        await session.commit()
        detail = (await client.get(f"/api/partners/{partner.id}", headers=finance)).json()
        c = detail["compliance"]
        assert c["is_payable"] is False and c["is_country_blocked"] is True
        assert c["failing_gates"] == ["identity_not_verified", "country_blocked", "no_payout_account"]

        r = await client.post(
            f"/api/partners/{partner.id}/identity-verification", json={"is_verified": True}, headers=finance
        )
        assert r.status_code == 200, r.text
        c = r.json()["compliance"]
        assert c["is_identity_verified"] is True and c["identity_verified_by"].startswith("test (finance)")
        assert c["failing_gates"] == ["country_blocked", "no_payout_account"]
        trail = (
            await client.get("/api/audit", params={"action": "partner.identity_verified"}, headers=finance)
        ).json()
        assert [(e["subject_id"], e["after"]["is_identity_verified"]) for e in trail] == [
            (str(partner.id), True)
        ]
        unknown = await client.post(
            f"/api/partners/{uuid4()}/identity-verification", json={"is_verified": True}, headers=finance
        )
        assert unknown.status_code == 404
