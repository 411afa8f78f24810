"""A partner never sees another partner's anything.

Two partners, Alpha and Beta, each with orders, commissions, a statement, a payout, a lead, a code
and a key. Beta then calls every route the app has (taken from the app itself, so a route added
later is tried too), with every method, Alpha's ids in the path, first with Beta's partner key and
then with Beta's portal session. No answer may carry anything of Alpha's, and nothing of Alpha's may
change. Beta's own ids on the same routes are the control: they must answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from growth.core.auth.models import ApiKey
from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.ledger.models import LedgerEntry
from growth.settings import Settings
from payouts.commission.models import Commission
from payouts.lead import service as lead_service
from payouts.lead.models import Lead
from payouts.partner import service as partner_service
from payouts.payout_run import service as payout_run_service
from payouts.payout_run.models import Payout
from payouts.provider import service as provider_service
from payouts.provider.rules import Destination, ProviderName
from payouts.statement.models import Statement
from tests.factories import bearer, create_key, verify_for_payouts
from tests.pages import HTML
from tests.payouts.portal.conftest import Inbox, sign_in_partner
from tests.payouts.statement.conftest import Partner, Program, at
from tests.payouts.statement.conftest import program as program  # the fixture


@dataclass
class Holdings:
    """Everything of one partner that another must never see."""

    partner: Partner
    name: str
    email: str
    key: str
    key_id: UUID
    statement_id: UUID
    payout_id: UUID
    run_id: UUID
    lead_id: UUID
    lead_reference: str
    prospect: str
    order_ids: tuple[str, ...]
    commission_ids: tuple[UUID, ...]
    plan_id: UUID

    def secrets(self) -> list[str]:
        """Strings whose appearance in an answer to the other partner is a leak."""
        values: list[Any] = [
            self.partner.id,
            self.name,
            self.email,
            self.statement_id,
            self.payout_id,
            self.lead_id,
            self.lead_reference,
            self.prospect,
            *self.order_ids,
            *self.commission_ids,
            self.key_id,
        ]
        return [str(v) for v in values] + [self.partner.id.hex, self.statement_id.hex]


async def _holdings(
    program: Program, session_maker: SessionMaker, name: str, tag: str, prospect: str
) -> tuple[Partner, dict[str, Any]]:
    p = await program.partner(name)
    orders = (f"ORDER-{tag}-1", f"ORDER-{tag}-2")
    await program.order(p, orders[0], 100000, at("2025-10-10T10:00+08:00"))
    await program.event(orders[0], "paid", at("2025-10-11T10:00+08:00"))
    await program.event(orders[0], "closed", at("2025-10-12T10:00+08:00"))
    await program.order(p, orders[1], 40000, at("2025-10-15T10:00+08:00"))
    async with session_maker() as s, s.begin():
        await provider_service.set_account(
            s,
            p.id,
            destination=Destination(ProviderName.bank, None, f"{name} Ltd", "ICBC", "6222 0212 3456 7890"),
            tax_form_type="W-8BEN",
            tax_form_on=datetime(2025, 1, 1, tzinfo=UTC).date(),
            now=datetime(2025, 1, 1, tzinfo=UTC),
        )
        await verify_for_payouts(s, p.id, now=datetime(2025, 1, 1, tzinfo=UTC))
        lead = await lead_service.register_lead(
            s,
            partner_id=p.id,
            email=prospect,
            company=None,
            valid_days=90,
            now=datetime(2025, 10, 1, tzinfo=UTC),
        )
        key = await create_key(s, role=Role.partner, subject_id=p.id, name=f"{name} key")
        partner = await partner_service.get_partner(s, p.id)
        facts = {
            "name": name,
            "email": partner.email,
            "key": key,
            "lead_id": lead.lead.id,
            "lead_reference": lead.lead.reference,
            "prospect": prospect,
            "order_ids": orders,
        }
    return p, facts


@pytest.fixture
async def alpha_beta(
    program: Program, session_maker: SessionMaker, settings: Settings
) -> tuple[Holdings, Holdings]:
    made = [
        await _holdings(program, session_maker, "Alpha Partners", "ALPHA", "cio@alpha-prospect.example"),
        await _holdings(program, session_maker, "Beta Partners", "BETA", "cio@beta-prospect.example"),
    ]
    assert await program.approve(at("2025-10-20T10:00+08:00")) == 2
    async with session_maker() as s, s.begin():
        run = await payout_run_service.create_run(
            s, period="2025-10", currency="CNY", now=at("2025-11-02T10:00+08:00"), minimums={}
        )
    await payout_run_service.execute_run(
        session_maker,
        run.id,
        providers=provider_service.providers(settings),
        now=at("2025-11-02T10:05+08:00"),
    )
    held = []
    async with session_maker() as s:
        for p, facts in made:
            statement = await s.scalar(select(Statement).where(Statement.partner_id == p.id))
            payout = await s.scalar(select(Payout).where(Payout.partner_id == p.id))
            key = await s.scalar(select(ApiKey).where(ApiKey.subject_id == p.id))
            commissions = tuple(await s.scalars(select(Commission.id).where(Commission.partner_id == p.id)))
            assert statement and payout and key and len(commissions) == 2
            plan_id = (
                await s.scalars(select(Commission.plan_id).where(Commission.partner_id == p.id))
            ).first()
            held.append(
                Holdings(
                    partner=p,
                    key_id=key.id,
                    statement_id=statement.id,
                    payout_id=payout.id,
                    run_id=run.id,
                    commission_ids=commissions,
                    plan_id=plan_id,  # type: ignore[arg-type]
                    **facts,
                )
            )
    return held[0], held[1]


PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def _value(name: str, owner: Holdings) -> str:
    """What to put in a path parameter: the owner's id where the parameter names one of its things."""
    return {
        "partner_id": str(owner.partner.id),
        "statement": str(owner.statement_id),
        "lead_id": str(owner.lead_id),
        "payout_id": str(owner.payout_id),
        "run_id": str(owner.run_id),
        "key_id": str(owner.key_id),
        "external_id": owner.order_ids[0],
        "code": owner.partner.code,
        "plan_id": str(owner.plan_id),
        "coupon_code": f"{owner.partner.code}-AAAAAA",
    }.get(name, "00000000-0000-7000-8000-000000000000" if name.endswith("_id") else "x")


def routes(app: Litestar) -> list[tuple[str, str]]:
    """Every (method, path template) the app serves, OPTIONS and HEAD aside."""
    found = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in getattr(handler, "http_methods", ()):
                if method not in ("OPTIONS", "HEAD"):
                    found.add((method, route.path))
    return sorted(found)


def urls(template: str, owner: Holdings) -> list[str]:
    url = PARAM.sub(lambda m: _value(m.group(1), owner), template)
    if "{statement" in template:  # the statement routes also answer CSV and the printable page
        return [url, f"{url}.csv", f"{url}.html"]
    return [url]


async def _snapshot(session_maker: SessionMaker, alpha: Holdings) -> tuple[Any, ...]:
    async with session_maker() as s:
        pid = alpha.partner.id
        return (
            await s.scalar(select(func.count()).select_from(LedgerEntry)),
            await s.scalar(select(func.count()).select_from(Lead).where(Lead.partner_id == pid)),
            await s.scalar(select(func.count()).select_from(Statement).where(Statement.partner_id == pid)),
            tuple(await s.execute(select(Payout.status, Payout.amount).where(Payout.partner_id == pid))),
            (await partner_service.get_partner(s, pid)).status,
            tuple(await s.execute(select(ApiKey.revoked_at).where(ApiKey.subject_id == pid))),
        )


def _leaks(body: str, alpha: Holdings) -> list[str]:
    return [secret for secret in alpha.secrets() if secret.lower() in body.lower()]


async def _try_everything(
    client: AsyncTestClient[Litestar], alpha: Holdings, headers: dict[str, str]
) -> dict[str, int]:
    """Call every route with Alpha's ids; fail on any answer that shows something of Alpha's."""
    statuses: dict[str, int] = {}
    for method, template in routes(client.app):
        if template.startswith(("/static/", "/schema")):
            continue
        for url in urls(template, alpha):
            body = {} if method in ("POST", "PUT", "PATCH") else None
            r = await client.request(method, url, json=body, headers=headers, follow_redirects=False)
            statuses[f"{method} {url}"] = r.status_code
            # 503: a feature this test's settings leave unconfigured (Stripe webhooks); never a 500.
            assert r.status_code < 500 or r.status_code == 503, f"{method} {url}: {r.text[:300]}"
            for part, text in [("body", r.text), *r.headers.items()]:
                if r.status_code >= 300:  # an error or a redirect may repeat the URL it was asked
                    for segment in url.split("/"):
                        text = text.replace(segment.removesuffix(".csv").removesuffix(".html"), "")
                assert _leaks(text, alpha) == [], f"{method} {url} {part} shows Alpha's {_leaks(text, alpha)}"
    return statuses


async def test_a_partner_key_reaches_nothing_of_another_partner(
    client: AsyncTestClient[Litestar], alpha_beta: tuple[Holdings, Holdings], session_maker: SessionMaker
) -> None:
    alpha, beta = alpha_beta
    before = await _snapshot(session_maker, alpha)
    statuses = await _try_everything(client, alpha, bearer(beta.key) | {"accept": "application/json"})
    assert await _snapshot(session_maker, alpha) == before

    # The partner routes that take an id answer "not found" for Alpha's, as for an id that never was.
    for url in (
        f"/api/partner/statements/{alpha.statement_id}",
        f"/api/partner/statements/{alpha.statement_id}.csv",
        f"/api/partner/leads/{alpha.lead_id}",
    ):
        assert statuses[f"GET {url}"] == 404, url
    # Finance's routes about a partner refuse a partner key outright.
    for url in (f"/api/partners/{alpha.partner.id}", f"/api/partners/{alpha.partner.id}/balances"):
        assert statuses[f"GET {url}"] == 403, url

    # Control: the same routes with Beta's own ids answer, with Beta's data.
    own = bearer(beta.key)
    for url in (
        f"/api/partner/statements/{beta.statement_id}",
        f"/api/partner/statements/{beta.statement_id}.csv",
        f"/api/partner/leads/{beta.lead_id}",
    ):
        r = await client.get(url, headers=own)
        assert (r.status_code == 200 and beta.order_ids[0] in r.text) or beta.lead_reference in r.text, url
    for url in (
        "/api/partner/me",
        "/api/partner/commissions",
        "/api/partner/balances",
        "/api/partner/statements",
        "/api/partner/payouts",
        "/api/partner/leads",
        "/api/partner/referral-codes",
    ):
        r = await client.get(url, headers=own)
        assert r.status_code == 200 and r.json(), url
        assert _leaks(r.text, alpha) == []
    codes = (await client.get("/api/partner/referral-codes", headers=own)).json()
    assert [c["code"] for c in codes] == [beta.partner.code] and codes[0]["qr_png_url"].endswith("/qr.png")


async def test_a_partner_session_reaches_nothing_of_another_partner(
    client: AsyncTestClient[Litestar],
    alpha_beta: tuple[Holdings, Holdings],
    session_maker: SessionMaker,
    mails: Inbox,
) -> None:
    alpha, beta = alpha_beta
    await sign_in_partner(client, mails, beta.email)
    before = await _snapshot(session_maker, alpha)
    statuses = await _try_everything(client, alpha, HTML)
    assert await _snapshot(session_maker, alpha) == before

    for suffix in ("", ".csv", ".html"):
        assert statuses[f"GET /partner/statements/{alpha.statement_id}{suffix}"] == 404
    # The session is the portal's only: the dashboard and the JSON API do not take it.
    assert statuses[f"GET /statements/{alpha.statement_id}"] == 303
    assert statuses["GET /api/partner/me"] == 401

    # Control: Beta's own statement and pages answer, and show Beta's money.
    for suffix in ("", ".csv", ".html"):
        r = await client.get(f"/partner/statements/{beta.statement_id}{suffix}", headers=HTML)
        assert r.status_code == 200 and beta.order_ids[0] in r.text
    for path in ("/partner", "/partner/orders", "/partner/statements", "/partner/payouts", "/partner/leads"):
        r = await client.get(path, headers=HTML)
        assert r.status_code == 200 and beta.name in r.text, path
    orders = await client.get("/partner/orders", headers=HTML)
    assert all(order in orders.text for order in beta.order_ids)
    leads = await client.get("/partner/leads", headers=HTML)
    assert beta.lead_reference in leads.text
