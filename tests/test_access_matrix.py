"""Access control matrix (issue 9): every route x every principal, against a policy written here by hand.

The table below is the policy, not a copy of the handlers' guards and ``opt``: deriving it from them would
only test that the code agrees with itself. ``test_the_policy_covers_every_route`` keeps it complete: a new
route fails until it is classified, a removed one until its row goes.

Principals: anonymous, a well-formed key that does not exist, a revoked key, a key of each role (the
partner key acts for partner A), a dashboard session of each staff role (signed in on /sign-in), one whose
key was revoked after sign-in, and partner A's portal session
(the signed cookie the e-mailed link's handler sets; the link flow itself is tests/payouts/portal's).
What each kind of route answers a principal it does not admit, exactly:
- ``api`` (bearer API keys): 401 without a valid key (cookies never count), 403 for a key of another role;
- ``page`` (dashboard session): 303 to ``/sign-in?next=...`` without a session, 403 for a session of
  another role;
- ``portal`` (partner portal session): 303 to ``/partner/sign-in`` without a portal session;
- ``public``: every principal gets the answer an anonymous visitor gets (credentials neither open nor
  close it).
An admitted principal gets neither 401/403, nor a sign-in redirect, nor a 5xx. Seeding takes ~1.5 s and
the fixtures cannot share a database between tests, so there is one test per principal that sends all its
requests and reports every wrong cell together ("METHOD /template as principal: ...").

Then own/other objects: partner A's key and portal session get 404 for partner B's statements (JSON, CSV,
page) and leads by id, the same 404 as for a random id, and A's lists (commissions, payouts, statements,
leads, balances; API and portal) hold no B id, name, e-mail, code, order or amount, even when the query
names B. Customer alice's share link gets 404 for bob's reward (and a random one), moving nothing of his.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from growth.core.db import SessionMaker
from growth.core.time import utc_now
from growth.settings import Settings
from payouts.lead import service as lead_service
from payouts.partner import service as partner_service
from payouts.payout_run import service as payout_run_service
from payouts.portal.controllers import portal_cookie
from payouts.portal.rules import PortalSession
from payouts.provider import service as provider_service
from payouts.provider.rules import Destination, ProviderName
from tests.campaigns.reward.test_flow import Shop
from tests.factories import bearer, create_key, verify_for_payouts
from tests.pages import sign_in
from tests.payouts.statement.conftest import Partner, Program, at

# ------------------------------------------------------------------------------------------ the policy

ANONYMOUS = "anonymous"
BAD_KEY = "key:invalid"
REVOKED_KEY = "key:revoked"
REVOKED_SESSION = "session:revoked"
"""An admin key used (so cached) then revoked; a marketing session whose key was revoked after sign-in."""
PORTAL = "portal"
KEY_ROLES = (Role.admin, Role.marketing, Role.finance, Role.partner, Role.shop)
SESSION_ROLES = (Role.admin, Role.marketing, Role.finance)
"""Only staff keys sign in to the dashboard (partner and shop keys are refused at /sign-in)."""
PRINCIPALS = (
    ANONYMOUS,
    BAD_KEY,
    REVOKED_KEY,
    *(f"key:{r.value}" for r in KEY_ROLES),
    *(f"session:{r.value}" for r in SESSION_ROLES),
    REVOKED_SESSION,
    PORTAL,
)
VALID_KEYS = frozenset(f"key:{r.value}" for r in KEY_ROLES)
VALID_SESSIONS = frozenset(f"session:{r.value}" for r in SESSION_ROLES)


@dataclass(frozen=True)
class Rule:
    kind: str  # api, page, portal or public
    allowed: frozenset[str]
    signs_out: bool = False
    """Sends everyone, admitted or not, to the sign-in page: which of them was admitted does not show."""


def api(*roles: Role) -> Rule:
    """Keys of these roles, and admin keys."""
    return Rule("api", frozenset(f"key:{r.value}" for r in (Role.admin, *roles)))


def page(*roles: Role) -> Rule:
    """Dashboard sessions of these roles, and admin sessions."""
    return Rule("page", frozenset(f"session:{r.value}" for r in (Role.admin, *roles)))


PUBLIC = Rule("public", frozenset(PRINCIPALS))
PARTNER_API = Rule("api", frozenset({"key:partner"}))
"""A partner's own API: only a partner key names a partner to act for; even an admin key gets 403."""
PARTNER_PORTAL = Rule("portal", frozenset({PORTAL}))
M, F, S = Role.marketing, Role.finance, Role.shop

POLICY: dict[tuple[str, str], Rule] = {
    # Staff, machines
    ("GET", "/api/alerts"): api(M, F),
    **{("GET", f"/api/analytics/{r}{ext}"): api(M, F) for r in (
        "daily", "funnel", "heatmap", "summary", "top-partners", "top-referrers") for ext in ("", ".csv")},
    ("GET", "/api/audit"): api(F),
    ("GET", "/api/audit/export.csv"): api(F),
    ("GET", "/api/audit/verify"): api(F),
    ("GET", "/api/audit/{entry_id:uuid}"): api(F),
    ("GET", "/api/campaigns"): api(M),
    ("POST", "/api/campaigns"): api(M),
    ("GET", "/api/campaigns/{campaign_id:uuid}"): api(M),
    ("PATCH", "/api/campaigns/{campaign_id:uuid}"): api(M),
    ("GET", "/api/campaigns/{campaign_id:uuid}/reward-rules"): api(M),
    ("POST", "/api/campaigns/{campaign_id:uuid}/reward-rules"): api(M),
    ("POST", "/api/campaigns/{campaign_id:uuid}/reward-rules/{rule_id:uuid}/retire"): api(M),
    ("GET", "/api/commission-plans"): api(F),
    ("POST", "/api/commission-plans"): api(F),
    ("GET", "/api/commission-plans/{plan_id:uuid}"): api(F),
    ("GET", "/api/commissions"): api(F),
    ("POST", "/api/commissions/approve-due"): api(F),
    ("GET", "/api/coupons/{coupon_code:str}"): api(M, S),
    ("GET", "/api/customers/{external_id:str}"): api(M, S),
    ("PUT", "/api/customers/{external_id:str}"): api(M, S),
    ("DELETE", "/api/customers/{external_id:str}"): api(M, S),
    ("GET", "/api/customers/{external_id:str}/balances"): api(M, F, S),
    ("POST", "/api/customers/{external_id:str}/store-credit/redemptions"): api(M, F, S),
    ("GET", "/api/gift-packs"): api(M),
    ("POST", "/api/gift-packs"): api(M),
    ("GET", "/api/gift-packs/{sku:str}"): api(M),
    ("PATCH", "/api/gift-packs/{sku:str}"): api(M),
    ("POST", "/api/gift-packs/{sku:str}/restock"): api(M),
    ("POST", "/api/gift-packs/{sku:str}/stock"): api(M),
    ("GET", "/api/keys"): api(),
    ("POST", "/api/keys"): api(),
    ("DELETE", "/api/keys/{key_id:uuid}"): api(),
    ("GET", "/api/notifications/emails"): api(M),
    ("POST", "/api/orders"): api(S),
    ("POST", "/api/orders/import"): api(S),
    ("POST", "/api/orders/events/import"): api(S),
    ("GET", "/api/orders/{external_id:str}"): api(M, F, S),
    ("GET", "/api/orders/{external_id:str}/attribution"): api(M, F, S),
    ("POST", "/api/orders/{external_id:str}/events"): api(S),
    ("GET", "/api/partners"): api(F),
    ("POST", "/api/partners"): api(F),
    ("GET", "/api/partners/{partner_id:uuid}"): api(F),
    ("GET", "/api/partners/{partner_id:uuid}/balances"): api(F),
    ("POST", "/api/partners/{partner_id:uuid}/identity-verification"): api(F),
    ("GET", "/api/partners/{partner_id:uuid}/leads"): api(F),
    ("POST", "/api/partners/{partner_id:uuid}/leads"): api(F),
    ("GET", "/api/partners/{partner_id:uuid}/payout-account"): api(F),
    ("PUT", "/api/partners/{partner_id:uuid}/payout-account"): api(F),
    ("POST", "/api/partners/{partner_id:uuid}/payout-account/verification"): api(F),
    ("POST", "/api/partners/{partner_id:uuid}/plan"): api(F),
    ("POST", "/api/partners/{partner_id:uuid}/referral-codes"): api(M, F),
    ("POST", "/api/partners/{partner_id:uuid}/status"): api(F),
    ("POST", "/api/partners/{partner_id:uuid}/tier"): api(F),
    ("GET", "/api/payout-runs"): api(F),
    ("POST", "/api/payout-runs"): api(F),
    ("POST", "/api/payout-runs/holds/release"): api(F),
    ("GET", "/api/payout-runs/{run_id:uuid}"): api(F),
    ("GET", "/api/payout-runs/{run_id:uuid}/bank-file.csv"): api(F),
    ("POST", "/api/payout-runs/{run_id:uuid}/execute"): api(F),
    ("POST", "/api/payouts/{payout_id:uuid}/confirm"): api(F),
    ("POST", "/api/referral-codes"): api(M),
    ("GET", "/api/referral-codes/{code:str}"): api(M),
    ("DELETE", "/api/referral-codes/{code:str}"): api(M),
    ("GET", "/api/reviews"): api(M, F),
    ("POST", "/api/reviews/decisions"): api(M),
    ("GET", "/api/reviews/{order_id:str}"): api(M, F),
    ("POST", "/api/reviews/{order_id:str}/decision"): api(M),
    ("GET", "/api/rewards"): api(M),
    ("POST", "/api/rewards/approve-due"): api(M),
    ("GET", "/api/rewards/{reward_id:uuid}"): api(M),
    ("GET", "/api/share-submissions"): api(M),
    ("POST", "/api/share-submissions/decisions"): api(M),
    ("GET", "/api/share-submissions/{submission_id:uuid}"): api(M),
    ("POST", "/api/share-submissions/{submission_id:uuid}/approve"): api(M),
    ("POST", "/api/share-submissions/{submission_id:uuid}/reject"): api(M),
    ("GET", "/api/shipments"): api(M, S),
    ("GET", "/api/shipments/export.csv"): api(M, S),
    ("GET", "/api/shipments/{shipment_id:uuid}"): api(M, S),
    ("POST", "/api/shipments/{shipment_id:uuid}/status"): api(M, S),
    ("GET", "/api/statements"): api(F),
    ("POST", "/api/statements"): api(F),
    ("GET", "/api/statements/{statement:str}"): api(F),
    ("GET", "/api/webhooks/deliveries"): api(),
    ("POST", "/api/webhooks/deliveries/{delivery_id:uuid}/resend"): api(),
    ("GET", "/api/webhooks/endpoints"): api(),
    ("POST", "/api/webhooks/endpoints"): api(),
    ("DELETE", "/api/webhooks/endpoints/{endpoint_id:uuid}"): api(),
    ("POST", "/api/welcome-coupons"): api(M, S),
    # A partner's own API (its key acts for it alone)
    ("GET", "/api/partner/balances"): PARTNER_API,
    ("GET", "/api/partner/commissions"): PARTNER_API,
    ("GET", "/api/partner/leads"): PARTNER_API,
    ("POST", "/api/partner/leads"): PARTNER_API,
    ("GET", "/api/partner/leads/{lead_id:uuid}"): PARTNER_API,
    ("GET", "/api/partner/me"): PARTNER_API,
    ("GET", "/api/partner/payouts"): PARTNER_API,
    ("GET", "/api/partner/referral-codes"): PARTNER_API,
    ("GET", "/api/partner/statements"): PARTNER_API,
    ("GET", "/api/partner/statements/{statement:str}"): PARTNER_API,
    # Dashboard pages
    ("GET", "/dashboard"): page(M, F),
    ("GET", "/marketing/alerts"): page(M, F),
    ("GET", "/marketing/analytics"): page(M),
    **{("GET", f"/marketing/analytics/{r}.csv"): page(M) for r in (
        "daily", "funnel", "heatmap", "summary", "top-partners", "top-referrers")},
    ("GET", "/finance/payouts"): page(F),
    ("POST", "/finance/payouts"): page(F),
    ("GET", "/finance/payouts/{run_id:uuid}"): page(F),
    ("GET", "/finance/payouts/{run_id:uuid}/bank-file.csv"): page(F),
    ("POST", "/finance/payouts/{run_id:uuid}/execute"): page(F),
    ("POST", "/finance/payouts/{run_id:uuid}/payouts/{payout_id:uuid}/confirm"): page(F),
    ("GET", "/marketing/campaigns"): page(M),
    ("POST", "/marketing/campaigns"): page(M),
    ("GET", "/marketing/campaigns/new"): page(M),
    ("GET", "/marketing/campaigns/{campaign_id:uuid}"): page(M),
    ("POST", "/marketing/campaigns/{campaign_id:uuid}"): page(M),
    ("POST", "/marketing/campaigns/{campaign_id:uuid}/reward-rules"): page(M),
    ("POST", "/marketing/campaigns/{campaign_id:uuid}/reward-rules/{rule_id:uuid}/retire"): page(M),
    ("POST", "/marketing/campaigns/{campaign_id:uuid}/status"): page(M),
    ("GET", "/marketing/gift-packs"): page(M),
    ("POST", "/marketing/gift-packs"): page(M),
    ("GET", "/marketing/gift-packs/shipments"): page(M),
    ("GET", "/marketing/gift-packs/shipments.csv"): page(M),
    ("POST", "/marketing/gift-packs/{sku:str}/restock"): page(M),
    ("POST", "/marketing/gift-packs/{sku:str}/stock"): page(M),
    ("GET", "/marketing/notifications/emails"): page(M),
    ("GET", "/marketing/notifications/emails/{email_id:uuid}"): page(M),
    ("GET", "/marketing/reviews"): page(M),
    ("POST", "/marketing/reviews/decisions"): page(M),
    ("GET", "/marketing/reviews/{order_id:uuid}"): page(M),
    ("POST", "/marketing/reviews/{order_id:uuid}/decision"): page(M),
    ("GET", "/marketing/shares"): page(M),
    ("POST", "/marketing/shares/decisions"): page(M),
    ("POST", "/marketing/shares/{submission_id:uuid}/approve"): page(M),
    ("POST", "/marketing/shares/{submission_id:uuid}/reject"): page(M),
    ("GET", "/marketing/webhooks"): page(),
    ("POST", "/marketing/webhooks/deliveries/{delivery_id:uuid}/resend"): page(),
    ("POST", "/marketing/webhooks/endpoints"): page(),
    ("POST", "/marketing/webhooks/endpoints/{endpoint_id:uuid}/delete"): page(),
    ("GET", "/statements/{statement:str}"): page(F),
    # The partner portal
    ("GET", "/partner"): PARTNER_PORTAL,
    ("GET", "/partner/leads"): PARTNER_PORTAL,
    ("POST", "/partner/leads"): PARTNER_PORTAL,
    ("GET", "/partner/orders"): PARTNER_PORTAL,
    ("GET", "/partner/payouts"): PARTNER_PORTAL,
    ("GET", "/partner/statements"): PARTNER_PORTAL,
    ("GET", "/partner/statements/{statement:str}"): PARTNER_PORTAL,
    ("POST", "/partner/sign-out"): Rule("portal", frozenset({PORTAL}), signs_out=True),
    # Public: sign-in forms, referral links, a customer's signed share link, signed webhooks, probes
    ("GET", "/sign-in"): PUBLIC,
    ("POST", "/sign-in"): PUBLIC,
    ("POST", "/sign-out"): PUBLIC,
    ("GET", "/partner/sign-in"): PUBLIC,
    ("POST", "/partner/sign-in"): PUBLIC,
    ("GET", "/partner/sign-in/{token:str}"): PUBLIC,
    ("POST", "/partner/sign-in/{token:str}"): PUBLIC,
    ("POST", "/api/partners/applications"): PUBLIC,
    ("GET", "/r/{code:str}"): PUBLIC,
    ("GET", "/r/{code:str}/qr.png"): PUBLIC,
    ("GET", "/r/{code:str}/qr.svg"): PUBLIC,
    ("GET", "/share/{token:str}"): PUBLIC,
    ("POST", "/share/{token:str}/submissions"): PUBLIC,
    ("POST", "/share/{token:str}/rewards/{reward_id:uuid}/address"): PUBLIC,
    ("POST", "/share/{token:str}/rewards/{reward_id:uuid}/store-credit"): PUBLIC,
    ("GET", "/api/share/{token:str}/rewards"): PUBLIC,
    ("POST", "/api/share/{token:str}/rewards/{reward_id:uuid}/address"): PUBLIC,
    ("POST", "/api/share/{token:str}/rewards/{reward_id:uuid}/store-credit"): PUBLIC,
    ("GET", "/api/share/{token:str}/submissions"): PUBLIC,
    ("POST", "/api/share/{token:str}/submissions"): PUBLIC,
    ("POST", "/webhooks/stripe"): PUBLIC,
    ("GET", "/health"): PUBLIC,
    ("GET", "/ready"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
}  # fmt: skip

PUBLIC_GROUPS = {
    "/schema": ("GET", "/schema/openapi.json"),
    "/static/analytics/": ("GET", "/static/analytics/dashboard.js"),
    "/static/swagger-ui/": ("GET", "/static/swagger-ui/swagger-ui.css"),
}
"""Generated documentation and static files: public as groups, each checked by one representative."""


def app_routes(app: Litestar) -> set[tuple[str, str]]:
    """(method, path template) of every route the app serves, HEAD and OPTIONS aside."""
    return {
        (method, route.path)
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        for method in handler.http_methods
        if method not in ("HEAD", "OPTIONS")
    }


def test_the_policy_covers_every_route(app: Litestar) -> None:
    served = {r for r in app_routes(app) if not r[1].startswith(tuple(PUBLIC_GROUPS))}
    assert sorted(served - POLICY.keys()) == [], "routes with no row in POLICY: classify them"
    assert sorted(POLICY.keys() - served) == [], "rows in POLICY for routes the app no longer serves"
    for prefix in PUBLIC_GROUPS:
        assert any(path.startswith(prefix) for _, path in app_routes(app)), f"no route under {prefix}"


# ---------------------------------------------------------------------------------------- the seed data

SECRET_AMOUNT_B = 777_700
"""Partner B's order (¥7,777.00; commission 77,770 minor units): a figure no page of A's may show."""


@dataclass
class Seed:
    """Two partners with commissions, statements, a payout and a lead each; two customers with rewards."""

    program: Program
    a: Partner
    b: Partner
    b_email: str
    statements: dict[str, str]  # partner letter -> statement id
    leads: dict[str, str]
    payouts: dict[str, str]
    run_id: str
    customers: dict[str, dict[str, Any]]  # alice/bob -> {"token", "code", "reward"}
    campaign_id: str
    rule_id: str
    keys: dict[Role, str]
    spare_key_id: str


async def seed_partners(
    session_maker: SessionMaker, settings: Settings
) -> tuple[Program, Partner, Partner, dict[str, str], dict[str, str], dict[str, str], str]:
    from growth.app import build_subscriptions

    program = Program(session_maker, build_subscriptions(settings=settings))
    a = await program.partner("Northwind Consulting")
    b = await program.partner("Blackwood Secret Partners")
    for p, external_id, amount in ((a, "oa-1", 100_000), (b, "ob-1", SECRET_AMOUNT_B)):
        await program.order(p, external_id, amount, at("2025-10-10T10:00+08:00"))
        await program.event(external_id, "paid", at("2025-10-11T10:00+08:00"))
        await program.event(external_id, "closed", at("2025-10-12T10:00+08:00"))
    assert await program.approve(at("2025-10-20T10:00+08:00")) == 2
    leads = {}
    async with session_maker() as s, s.begin():
        for letter, p in (("a", a), ("b", b)):
            await provider_service.set_account(
                s,
                p.id,
                destination=Destination(
                    ProviderName.bank, None, f"Holder {letter}", "ICBC", f"6222 {letter}"
                ),
                tax_form_type="W-8BEN",
                tax_form_on=datetime(2025, 1, 1, tzinfo=UTC).date(),
                now=datetime(2025, 1, 1, tzinfo=UTC),
            )
            await verify_for_payouts(s, p.id, now=datetime(2025, 1, 1, tzinfo=UTC))
            registered = await lead_service.register_lead(
                s,
                partner_id=p.id,
                email=f"prospect-{letter}@lead-{letter}.example",
                company=f"Prospect {letter.upper()} Holdings",
                valid_days=90,
                now=utc_now(),
            )
            leads[letter] = str(registered.lead.id)
    async with session_maker() as s, s.begin():
        run = await payout_run_service.create_run(
            s, period="2025-10", currency="CNY", now=at("2025-11-02T10:00+08:00"), minimums={"CNY": 5000}
        )
    await payout_run_service.execute_run(
        session_maker,
        run.id,
        providers=provider_service.providers(settings),
        now=at("2025-11-02T10:05+08:00"),
    )
    statements = {
        letter: str((await program.statements(p))[0].statement.id) for letter, p in (("a", a), ("b", b))
    }
    async with session_maker() as s:
        payouts = {
            letter: str((await payout_run_service.partner_payouts(s, p.id))[0].id)
            for letter, p in (("a", a), ("b", b))
        }
    return program, a, b, statements, leads, payouts, str(run.id)


def share_token(issued: dict[str, Any]) -> str:
    return str(issued["share_url"]).rsplit("/share/", 1)[1]


async def seed_customers(
    client: AsyncTestClient[Litestar], keys: dict[Role, str]
) -> tuple[dict[str, Any], str, str]:
    """A referral campaign whose referrers earn the VIP pack (out of stock: waiting, with a store-credit
    alternative); alice's and bob's friends each ordered and the orders closed."""
    headers = {r.value: bearer(k) for r, k in keys.items()}
    shop = Shop(client, headers)
    pack = {"sku": "VIP", "name": "VIP pack", "value_amount": 30000, "currency": "CNY"}
    assert (await client.post("/api/gift-packs", json=pack, headers=headers["marketing"])).status_code == 201
    campaign = await shop.campaign(hold_days=0, budget_amount=100_000)
    rule = await shop.rule(
        campaign["id"],
        side="referrer",
        reward_type="gift_pack",
        sku="VIP",
        out_of_stock="wait",
        alternative_amount=25000,
    )
    customers: dict[str, Any] = {}
    for name, amount in (("alice", 19900), ("bob", 48800)):
        issued = await shop.code(campaign["id"], name, f"{name}@{name}-mail.example")
        await shop.order(f"o-{name}", f"friend-of-{name}", amount, referral_code=issued["code"])
        for event_type in ("paid", "closed"):
            await shop.event(f"o-{name}", event_type)
        customers[name] = {"token": share_token(issued), "code": issued["code"]}
    owners = {await customer_id(client, keys, name): name for name in customers}
    for reward in await shop.rewards(campaign_id=campaign["id"]):
        customers[owners[reward["customer_id"]]]["reward"] = reward["id"]
    return customers, campaign["id"], rule["id"]


async def customer_id(client: AsyncTestClient[Litestar], keys: dict[Role, str], external_id: str) -> str:
    found = await client.get(f"/api/customers/{external_id}", headers=bearer(keys[Role.admin]))
    assert found.status_code == 200, found.text
    return str(found.json()["id"])


@pytest.fixture
async def seed(
    client: AsyncTestClient[Litestar], session: AsyncSession, session_maker: SessionMaker, settings: Settings
) -> Seed:
    program, a, b, statements, leads, payouts, run_id = await seed_partners(session_maker, settings)
    keys = {
        role: await create_key(session, role=role, subject_id=a.id if role is Role.partner else None)
        for role in KEY_ROLES
    }
    spare = await create_key(session, role=Role.shop, name="spare")
    await session.commit()
    async with session_maker() as s:
        b_email = (await partner_service.get_partner(s, b.id)).email
    keys_listed = await client.get("/api/keys", headers=bearer(keys[Role.admin]))
    spare_key_id = next(k["id"] for k in keys_listed.json() if k["prefix"] == spare.split("_")[1])
    customers, campaign_id, rule_id = await seed_customers(client, keys)
    return Seed(
        program, a, b, b_email, statements, leads, payouts, run_id, customers, campaign_id, rule_id, keys,
        spare_key_id,
    )  # fmt: skip


# ------------------------------------------------------------------------------------- the requests


def concrete(path: str, seed: Seed) -> str:
    """The template's path with the parameters of seeded objects (partner A's, customer alice's); ids of
    objects the seed has none of are random, which a route admitting the principal answers with 404."""
    on_orders = path.startswith(("/api/orders/", "/api/reviews/"))
    values = {
        "entry_id:uuid": str(uuid.uuid4()),
        "campaign_id:uuid": seed.campaign_id,
        "rule_id:uuid": seed.rule_id,
        "plan_id:uuid": str(seed.program.plan_id),
        "coupon_code:str": "ALICE-0000",
        "external_id:str": "o-alice" if on_orders else "alice",
        "order_id:str": "o-alice",
        "order_id:uuid": str(uuid.uuid4()),
        "sku:str": "VIP",
        "key_id:uuid": seed.spare_key_id,
        "partner_id:uuid": str(seed.a.id),
        "lead_id:uuid": seed.leads["a"],
        "statement:str": seed.statements["a"] + (".html" if path.startswith("/partner/") else ""),
        "run_id:uuid": seed.run_id,
        "payout_id:uuid": seed.payouts["a"],
        "code:str": seed.a.code,
        "reward_id:uuid": seed.customers["alice"]["reward"],
        "submission_id:uuid": str(uuid.uuid4()),
        "shipment_id:uuid": str(uuid.uuid4()),
        "delivery_id:uuid": str(uuid.uuid4()),
        "endpoint_id:uuid": str(uuid.uuid4()),
        "email_id:uuid": str(uuid.uuid4()),
        "token:str": seed.customers["alice"]["token"],
    }
    if path.startswith("/partner/sign-in/"):
        values["token:str"] = "x" * 43  # a well-formed sign-in token that was never sent
    return re.sub(r"\{([^}]+)\}", lambda m: values[m.group(1)], path)


@dataclass
class Credentials:
    headers: dict[str, str]
    cookies: dict[str, str]


async def credentials(
    principal: str, client: AsyncTestClient[Litestar], seed: Seed, settings: Settings
) -> Credentials:
    if principal == ANONYMOUS:
        return Credentials({}, {})
    if principal == BAD_KEY:
        return Credentials(bearer("gk_deadbeef_" + "A" * 43), {})
    if principal in (REVOKED_KEY, REVOKED_SESSION):
        return await revoked(principal, client, seed)
    kind, role = principal.split(":") if ":" in principal else (principal, "")
    if kind == "key":
        return Credentials(bearer(seed.keys[Role(role)]), {})
    if kind == "session":
        signed_in = await sign_in(client, seed.keys[Role(role)])
        assert signed_in.status_code == 303, signed_in.text
        return Credentials({}, {"growth_session": signed_in.cookies["growth_session"]})
    cookie = portal_cookie(settings, PortalSession(seed.a.id, utc_now()))
    return Credentials({}, {cookie.key: str(cookie.value)})


async def revoked(principal: str, client: AsyncTestClient[Litestar], seed: Seed) -> Credentials:
    """A new key (admin, or marketing signed in to the dashboard), used once, then revoked by an admin."""
    admin = bearer(seed.keys[Role.admin])
    role = Role.admin if principal == REVOKED_KEY else Role.marketing
    client.cookies.clear()
    created = await client.post("/api/keys", json={"name": "to revoke", "role": role.value}, headers=admin)
    assert created.status_code == 201, created.text
    key_id, secret = created.json()["id"], created.json()["key"]
    if principal == REVOKED_KEY:
        who = Credentials(bearer(secret), {})
        used = await client.get("/api/alerts", headers=who.headers)
    else:
        signed_in = await sign_in(client, secret)
        assert signed_in.status_code == 303, signed_in.text
        who = Credentials({}, {"growth_session": signed_in.cookies["growth_session"]})
        used = await send(client, "GET", "/marketing/campaigns", who, "")
    assert used.status_code == 200, used.text
    client.cookies.clear()
    assert (await client.delete(f"/api/keys/{key_id}", headers=admin)).status_code in (200, 204)
    return who


async def send(
    client: AsyncTestClient[Litestar], method: str, path: str, who: Credentials, csrf: str
) -> Response:
    """One request as ``who``: JSON ``{}`` to the API, an empty form with a valid CSRF token to pages
    (so a refusal is the guard's, never the CSRF check's). The client keeps no cookies in between."""
    client.cookies.clear()
    cookies = who.cookies | {"growth_csrf": csrf}
    headers = who.headers | {"cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    kwargs: dict[str, Any] = {}
    if method in ("POST", "PUT", "PATCH"):
        if path.startswith(("/api/", "/webhooks/")):
            kwargs["json"] = {}
        else:
            headers["x-csrftoken"] = csrf
            kwargs["data"] = {"_csrf_token": csrf}
    else:
        headers["accept"] = "text/html,application/json"
    return await client.request(method, path, headers=headers, follow_redirects=False, **kwargs)


def verdict(rule: Rule, principal: str, response: Response, anonymous: Response | None) -> str | None:
    """What is wrong with this answer, or None. A public route must answer every principal as it answers
    an anonymous visitor (``anonymous``): credentials neither open nor close it."""
    status, location = response.status_code, response.headers.get("location", "")
    if rule.kind == "public":
        if anonymous is None:
            return None
        # The path only: a referral redirect's query carries a new click id each time.
        answer = (status, location.split("?")[0])
        same = answer == (anonymous.status_code, anonymous.headers.get("location", "").split("?")[0])
        return (
            None if same else f"public, but {status} {location} where anonymous got {anonymous.status_code}"
        )
    if principal in rule.allowed:
        redirected_to_sign_in = status in (302, 303) and "sign-in" in location and not rule.signs_out
        if status in (401, 403) or redirected_to_sign_in:
            return f"allowed but refused: {status} {location}"
        if status >= 500:
            return f"allowed, but the server failed: {status}"
        return None
    if rule.kind == "api":
        expected = 403 if principal in VALID_KEYS else 401
        return None if status == expected else f"expected {expected}, got {status}"
    if rule.kind == "page":
        if principal in VALID_SESSIONS:
            return None if status == 403 else f"expected 403, got {status}"
        wanted = "/sign-in?next="
        ok = status == 303 and location.startswith(wanted)
        return None if ok else f"expected 303 to {wanted}..., got {status} {location}"
    ok = status == 303 and location == "/partner/sign-in"
    return None if ok else f"expected 303 to /partner/sign-in, got {status} {location}"


@pytest.mark.parametrize("principal", PRINCIPALS)
async def test_every_route_answers_the_principal_as_the_policy_says(
    principal: str, client: AsyncTestClient[Litestar], seed: Seed, settings: Settings
) -> None:
    """One principal against every route (one seeded data set per principal): all failures together."""
    who = await credentials(principal, client, seed, settings)
    client.cookies.clear()
    form = await client.get("/sign-in")
    csrf = form.cookies["growth_csrf"]
    cells = [(method, template, rule) for (method, template), rule in POLICY.items()]
    cells += [(method, path, PUBLIC) for method, path in PUBLIC_GROUPS.values()]
    failures = []
    for method, template, rule in cells:
        path = concrete(template, seed)
        response = await send(client, method, path, who, csrf)
        anonymous = None
        if rule.kind == "public" and principal != ANONYMOUS:
            anonymous = await send(client, method, path, Credentials({}, {}), csrf)
        if (problem := verdict(rule, principal, response, anonymous)) is not None:
            failures.append(f"{method} {template} as {principal}: {problem}")
    size = f"{len(cells)} routes x {len(PRINCIPALS)} principals = {len(cells) * len(PRINCIPALS)} cells"
    print(f"\naccess matrix: {size}; this test: the {len(cells)} cells of {principal}")
    assert failures == [], "\n".join(failures)


# ------------------------------------------------------------------------------- own and other objects


def b_traces(seed: Seed) -> list[str]:
    """What would show partner B's data: its ids, name, e-mail, code, order, prospect and amounts."""
    commission = SECRET_AMOUNT_B // 10
    return [
        str(seed.b.id),
        seed.statements["b"],
        seed.leads["b"],
        seed.payouts["b"],
        "Blackwood",
        seed.b_email,
        seed.b.code,
        "ob-1",
        "Prospect B",
        "lead-b.example",
        str(commission),
        f"{commission // 100:,}.{commission % 100:02d}",
        f"{commission // 100}.{commission % 100:02d}",
    ]


NONCE = re.compile(r' nonce="[^"]*"')


def leaks(body: str, traces: list[str]) -> list[str]:
    return [t for t in traces if t in body]


async def test_partner_a_reaches_none_of_partner_b_objects(
    client: AsyncTestClient[Litestar], seed: Seed, settings: Settings
) -> None:
    key = bearer(seed.keys[Role.partner])  # partner A's
    portal = await credentials(PORTAL, client, seed, settings)
    finance = bearer(seed.keys[Role.finance])
    b_commissions = await client.get(
        "/api/commissions", params={"partner_id": str(seed.b.id)}, headers=finance
    )
    assert b_commissions.status_code == 200 and len(b_commissions.json()) == 1, b_commissions.text
    traces = b_traces(seed) + [c[k] for c in b_commissions.json() for k in ("id", "order_id")]
    guessed = str(uuid.uuid4())
    # B's objects by id, and guessed ids: 404, exactly as for an id that does not exist, and nothing of B's.
    by_id = {
        "/api/partner/statements/{}": [seed.statements["b"], guessed],
        "/api/partner/statements/{}.csv": [seed.statements["b"], guessed],
        "/api/partner/statements/{}.html": [seed.statements["b"], guessed],
        "/api/partner/leads/{}": [seed.leads["b"], guessed],
    }
    for template in ("/partner/statements/{}.html", "/partner/statements/{}.csv", "/partner/statements/{}"):
        by_id[template] = [seed.statements["b"], guessed]
    for template, ids in by_id.items():
        answers = set()
        for object_id in ids:
            who = portal if template.startswith("/partner/") else Credentials(key, {})
            response = await send(client, "GET", template.format(object_id), who, "")
            assert response.status_code == 404, (template, object_id, response.text)
            # The requested id may be echoed back (nothing else of B's may be); a page's CSP nonce varies.
            text = NONCE.sub("", response.text.replace(object_id, "{id}"))
            assert leaks(text, traces) == [], (template, text)
            answers.add(text)
        assert len(answers) == 1, f"{template}: B's id and a guessed one answer differently: {answers}"
    # Staff routes naming B (or B's payout) stay closed to a partner key: the role decides, not the id.
    for method, path in (
        ("GET", f"/api/partners/{seed.b.id}"),
        ("GET", f"/api/partners/{seed.b.id}/balances"),
        ("GET", f"/api/partners/{seed.b.id}/leads"),
        ("GET", f"/api/statements/{seed.statements['b']}"),
        ("POST", f"/api/payouts/{seed.payouts['b']}/confirm"),
        ("GET", f"/api/payout-runs/{seed.run_id}/bank-file.csv"),
        ("GET", "/api/commissions"),
    ):
        response = await send(client, method, path, Credentials(key, {}), "")
        assert response.status_code == 403, (method, path, response.text)
        assert leaks(response.text, traces) == [], path

    # A's own objects are there (so the lists below are the real ones), and hold nothing of B's.
    own = {
        "/api/partner/statements": seed.statements["a"],
        f"/api/partner/statements/{seed.statements['a']}": seed.statements["a"],
        f"/api/partner/statements/{seed.statements['a']}.csv": "oa-1",
        "/api/partner/commissions": "oa-1",
        "/api/partner/payouts": seed.payouts["a"],
        "/api/partner/leads": seed.leads["a"],
        f"/api/partner/leads/{seed.leads['a']}": seed.leads["a"],
        "/api/partner/balances": "CNY",
        "/api/partner/me": str(seed.a.id),
        "/api/partner/referral-codes": seed.a.code,
    }
    for path, mine in own.items():
        # Naming B in the query (as the staff API's filters do) changes nothing: the key decides.
        for params in ({}, {"partner_id": str(seed.b.id)}):
            client.cookies.clear()
            response = await client.get(path, params=params, headers=key)
            assert response.status_code == 200, (path, params, response.text)
            assert mine in response.text, (path, params)
            assert leaks(response.text, traces) == [], (path, params)
    pages = {
        "/partner": seed.a.code,
        "/partner/orders": "oa-1",
        "/partner/statements": seed.statements["a"],
        f"/partner/statements/{seed.statements['a']}.csv": "oa-1",
        "/partner/payouts": seed.statements["a"],
        "/partner/leads": "Prospect A",
    }
    for path, mine in pages.items():
        response = await send(client, "GET", path, portal, "")
        assert response.status_code == 200, (path, response.text)
        assert mine in response.text, path
        assert leaks(response.text, traces) == [], path


async def test_a_customer_share_link_reaches_none_of_another_customers_rewards(
    client: AsyncTestClient[Litestar], seed: Seed
) -> None:
    alice, bob = seed.customers["alice"], seed.customers["bob"]
    marketing = bearer(seed.keys[Role.marketing])
    traces = [bob["reward"], "bob@bob-mail.example", "friend-of-bob", "o-bob", bob["code"]]
    address = {"name": "Alice Chen", "line1": "1 Tea Road", "city": "Hangzhou", "postal_code": "310000"}
    address |= {"country": "CN"}
    client.cookies.clear()
    csrf = (await client.get("/sign-in")).cookies["growth_csrf"]
    anyone = Credentials({}, {})
    for reward_id in (bob["reward"], str(uuid.uuid4())):
        for base in (f"/api/share/{alice['token']}", f"/share/{alice['token']}"):
            for action, body in (("address", address), ("store-credit", {})):
                path = f"{base}/rewards/{reward_id}/{action}"
                client.cookies.clear()
                if base.startswith("/api/"):
                    response = await client.post(path, json=body)
                else:
                    form = body | {"_csrf_token": csrf}
                    headers = {"cookie": f"growth_csrf={csrf}", "x-csrftoken": csrf}
                    response = await client.post(path, data=form, headers=headers, follow_redirects=False)
                assert response.status_code == 404, (path, response.text)
                assert leaks(response.text, traces) == [], path
    # Bob's pack still waits, untouched: no address, no store credit taken in his name.
    untouched = await client.get(f"/api/rewards/{bob['reward']}", headers=marketing)
    assert untouched.status_code == 200, untouched.text
    assert (untouched.json()["reward_type"], untouched.json()["is_waiting_for_stock"]) == ("gift_pack", True)

    # Alice's lists show only her reward, and her own reward is hers to act on (the same request succeeds).
    for path in (f"/api/share/{alice['token']}/rewards", f"/share/{alice['token']}"):
        response = await send(client, "GET", path, anyone, csrf)
        assert response.status_code == 200, (path, response.text)
        assert leaks(response.text, traces) == [], path
    listed = await client.get(f"/api/share/{alice['token']}/rewards")
    assert [r["id"] for r in listed.json()] == [alice["reward"]]
    mine = await client.post(f"/api/share/{alice['token']}/rewards/{alice['reward']}/store-credit")
    assert mine.status_code == 200, mine.text
    assert mine.json()["reward_type"] == "store_credit"
