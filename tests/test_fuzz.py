"""API fuzzing (issue 9): schemathesis sends requests generated from the service's own OpenAPI document.

One live server (uvicorn on loopback) holds a small programme built through the public API: a gift
pack, a campaign with reward rules, a customer with a code and a welcome coupon, a partner on a
commission plan with its own code, and an order through each code, paid and closed. Every operation of
the document is fuzzed with valid (positive) and invalid (negative) data, and with valid data naming
the seeded records in its path, so requests reach past the 404. Each case is sent once per role, each
role with its own key (the partner's bound to the seeded partner): a role that may not call an
operation must answer 401/403, never 5xx. A negative case that leaves the key out is sent once, with none.

Checks: no 5xx; the status, the media type and the body are the ones the document gives; any failure
fails the test. Each bug found is replayed below. The figures of each run go to
``test-artifacts/fuzz-summary.txt``.

The number of requests is ``GROWTH_FUZZ_REQUESTS`` (10,000 on PostgreSQL, 2,000 on SQLite by default).
Generation is deterministic (fixed Hypothesis seeds, no example database), so a CI failure replays.
"""

from __future__ import annotations

import asyncio
import collections
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from litestar import Litestar
from litestar.testing import AsyncTestClient
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth import service as auth_service
from growth.core.auth.rules import Role
from growth.core.db import make_db_config, make_engine
from growth.settings import Settings
from tests.conftest import SECRET, create_admin_key, serve
from tests.factories import bearer, create_campaign, create_customer, create_key, issue_code

SUMMARY = Path(__file__).resolve().parent.parent / "test-artifacts" / "fuzz-summary.txt"
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]
ROLES = (Role.admin, Role.marketing, Role.finance, Role.partner, Role.shop)


def target_requests(is_postgres: bool) -> int:
    default = 10_000 if is_postgres else 2_000
    return int(os.environ.get("GROWTH_FUZZ_REQUESTS", default))


@dataclass
class Seed:
    """The records the fuzzer names in paths, and a key per role."""

    keys: dict[Role, str]
    path_values: dict[str, str]
    order_external_id: str


@dataclass
class Tally:
    requests: int = 0
    cases: int = 0
    operations: set[str] = field(default_factory=set)
    documented: set[str] = field(default_factory=set)
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    by_caller: collections.Counter[tuple[str, int]] = field(default_factory=collections.Counter)
    failures: dict[tuple[str, str, str], str] = field(default_factory=dict)
    server_errors: int = 0

    def record(self, label: str, who: str, case: Any, response: Any, error: BaseException | None) -> None:
        self.requests += 1
        self.statuses[response.status_code] += 1
        self.by_caller[who, response.status_code] += 1
        if response.status_code >= 500:
            self.server_errors += 1
        if error is None:
            return
        failures = error.exceptions if isinstance(error, FailureGroup) else (error,)
        for failure in failures:
            key = (label, who, type(failure).__name__)
            if key not in self.failures:
                self.failures[key] = describe(case, response, failure)


def describe(case: Any, response: Any, failure: BaseException) -> str:
    request = response.request
    body = request.body.decode(errors="replace") if isinstance(request.body, bytes) else request.body
    title = getattr(failure, "title", type(failure).__name__)
    return (
        f"{title}: {str(failure)[:400]}\n    {request.method} {request.url}\n    body: {str(body)[:400]}\n"
        f"    -> {response.status_code} {response.content[:400]!r}"
    )


async def _create_keys(url: str, partner_id: UUID) -> dict[Role, str]:
    engine = make_engine(url)
    try:
        async with make_db_config(engine).create_session_maker()() as session, session.begin():
            return {
                role: (
                    await auth_service.create_key(
                        session,
                        name=f"fuzz-{role.value}",
                        role=role,
                        subject_id=partner_id if role is Role.partner else None,
                    )
                ).secret
                for role in ROLES
            }
    finally:
        await engine.dispose()


def seed(base: str, database_url: str) -> Seed:
    """A small programme through the public API, so fuzzed requests meet real records."""
    admin = asyncio.run(create_admin_key(database_url))
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as api:

        def call(method: str, path: str, body: Any = None) -> Any:
            response = api.request(method, path, json=body)
            assert response.status_code < 300, (method, path, response.status_code, response.text)
            return response.json() if response.content else None

        call(
            "POST",
            "/api/gift-packs",
            {
                "sku": "HOME-CLEAN",
                "name": "Gift pack",
                "value_amount": 8800,
                "currency": "CNY",
                "stock_on_hand": 25,
            },
        )
        campaign = call(
            "POST",
            "/api/campaigns",
            {
                "name": "Give 20, get 20",
                "landing_url": "https://shop.example/tea",
                "status": "active",
                "currency": "CNY",
                "hold_days": 0,
                "budget_amount": 500000,
                "new_customers_only": False,
            },
        )
        cid = campaign["id"]
        call(
            "POST",
            f"/api/campaigns/{cid}/reward-rules",
            {"side": "referee", "reward_type": "fixed_discount", "amount": 2000},
        )
        rule = call(
            "POST",
            f"/api/campaigns/{cid}/reward-rules",
            {"side": "referrer", "reward_type": "store_credit", "amount": 2000},
        )
        call("PUT", "/api/customers/shop-42", {"email": "mei@example.com", "name": "Mei Wang"})
        code = call("POST", "/api/referral-codes", {"campaign_id": cid, "customer_external_id": "shop-42"})
        coupon = call(
            "POST",
            "/api/welcome-coupons",
            {
                "referral_code": code["code"],
                "customer": {"external_id": "shop-77", "email": "friend@example.com"},
            },
        )["coupon_code"]
        order = {"customer": {"external_id": "shop-77"}, "amount": 19900, "currency": "CNY", "placed_at": now}
        call("POST", "/api/orders", order | {"external_id": "order-1", "coupon_code": coupon})

        partner = call(
            "POST",
            "/api/partners",
            {"name": "Northwind", "email": "partner@example.com", "status": "approved"},
        )
        pid = partner["id"]
        plan = call(
            "POST",
            "/api/commission-plans",
            {"name": "Ten percent", "kind": "percent", "currency": "CNY", "rate_bps": 1000, "hold_days": 0},
        )
        call("POST", f"/api/partners/{pid}/plan", {"plan_id": plan["id"]})
        partner_code = call("POST", f"/api/partners/{pid}/referral-codes", {"campaign_id": cid})
        second = call(
            "POST",
            "/api/orders",
            order
            | {
                "external_id": "order-2",
                "customer": {"external_id": "shop-88", "email": "client@example.com"},
                "referral_code": partner_code["code"],
            },
        )
        for external_id in ("order-1", "order-2"):
            for event in ("paid", "closed"):
                call("POST", f"/api/orders/{external_id}/events", {"type": event})
        call("POST", "/api/rewards/approve-due")
        call("POST", "/api/commissions/approve-due")

        path_values = {
            "campaign_id": cid,
            "rule_id": rule["id"],
            "code": code["code"],
            "coupon_code": coupon,
            "token": urlsplit(code["share_url"]).path.rsplit("/", 1)[-1],
            "partner_id": pid,
            "plan_id": plan["id"],
            "sku": "HOME-CLEAN",
            "order_id": second["id"],
        }
    keys = asyncio.run(_create_keys(database_url, UUID(pid)))
    return Seed(keys=keys, path_values=path_values, order_external_id="order-2")


def seeded_path(operation: Any, seed_: Seed) -> dict[str, str] | None:
    """The seeded records this operation's path names, or None when it names none we hold."""
    names = [p.name for p in operation.path_parameters]
    if not names:
        return None
    values = dict(seed_.path_values)
    values["external_id"] = seed_.order_external_id if operation.path.startswith("/api/orders") else "shop-42"
    if not all(name in values for name in names):
        return None
    return {name: values[name] for name in names}


def strategies(operation: Any, seed_: Seed) -> list[Any]:
    found = [operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)]
    # A DELETE on a seeded record would remove it for every request after it.
    path = seeded_path(operation, seed_) if operation.method.upper() != "DELETE" else None
    if path is not None:
        found.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=path))
    return found


def fuzz_operation(
    operation: Any, strategy: Any, examples: int, seed_number: int, send: Callable[[Any], None]
) -> None:
    """Up to ``examples`` cases of ``strategy``, each sent by ``send``; Hypothesis stops early when
    the operation has fewer distinct inputs."""

    @hypothesis.seed(seed_number)
    @hypothesis.settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=hypothesis.Verbosity.quiet,
        print_blob=False,
    )
    @hypothesis.given(case=strategy)
    def run(case: Any) -> None:
        send(case)

    try:
        run()
    except hypothesis.errors.Unsatisfiable:
        # Negative data for an operation with no input to break (GET /health): nothing to send.
        pass


def run_fuzz(base: str, seed_: Seed, target: int) -> Tally:
    schema = schemathesis.openapi.from_url(f"{base}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    tally = Tally(documented={f"{op.method.upper()} {op.path}" for op in operations})
    session = requests.Session()

    def send_for(operation: Any) -> Callable[[Any], None]:
        label = f"{operation.method.upper()} {operation.path}"

        def send(case: Any) -> None:
            tally.cases += 1
            tally.operations.add(label)
            # A negative case that leaves the key out is sent without one, whatever the role.
            anonymous = operation.schema.is_security_param_negated(case)
            for who in ["anonymous"] if anonymous else [role.value for role in ROLES]:
                headers = {} if anonymous else {"Authorization": f"Bearer {seed_.keys[Role(who)]}"}
                response = case.call(base_url=base, session=session, headers=headers, timeout=30)
                try:
                    case.validate_response(response, checks=CHECKS, headers=headers)
                except (Failure, FailureGroup) as error:
                    tally.record(label, who, case, response, error)
                else:
                    tally.record(label, who, case, response, None)

        return send

    pairs = [(op, strategy) for op in operations for strategy in strategies(op, seed_)]
    # The first round fuzzes every operation; later ones (new seeds) top up to the target and stop there.
    round_number = 0
    while tally.requests < target:
        examples = max(1, (target - tally.requests) // (len(pairs) * len(ROLES)))
        before = tally.requests
        for index, (operation, strategy) in enumerate(pairs):
            if round_number and tally.requests >= target:
                break
            fuzz_operation(operation, strategy, examples, round_number * 10_000 + index, send_for(operation))
        round_number += 1
        assert tally.requests > before, "the fuzzer sent nothing in a round"
    return tally


def write_summary(tally: Tally, engine_name: str, target: int, seconds: float) -> str:
    lines = [
        f"engine: {engine_name}",
        f"requests: {tally.requests} (target {target})",
        f"cases: {tally.cases}",
        f"operations: {len(tally.operations)}",
        f"roles: {len(ROLES)} ({', '.join(role.value for role in ROLES)})",
        f"5xx responses: {tally.server_errors}",
        f"distinct failures: {len(tally.failures)}",
        f"seconds: {seconds:.1f} ({tally.requests / seconds:.0f} requests/s)",
        "statuses: " + ", ".join(f"{status}: {n}" for status, n in sorted(tally.statuses.items())),
    ]
    for who in ["anonymous", *(role.value for role in ROLES)]:
        seen = sorted((status, n) for (caller, status), n in tally.by_caller.items() if caller == who)
        lines.append(f"  as {who}: " + ", ".join(f"{status}: {n}" for status, n in seen))
    for (label, role, kind), text in sorted(tally.failures.items()):
        lines.append(f"FAIL {label} as {role} ({kind})\n  {text}")
    summary = "\n".join(lines) + "\n"
    SUMMARY.parent.mkdir(exist_ok=True)
    SUMMARY.write_text(summary)
    return summary


@pytest.fixture
def fuzz_server(database_url: str) -> Iterator[tuple[str, Seed]]:
    settings = Settings(
        database_url=database_url,
        secret_key=SECRET,
        base_url="http://placeholder",
        outbox_poll_seconds=0.05,
        log_level="CRITICAL",
        reward_job_interval_seconds=3600,
        partner_tier_hold_days="",
        partner_tier_caps="",
        # Configured, so fuzzed deliveries reach the signature check instead of the 503 for "off".
        stripe_webhook_secret="whsec_fuzz",
    )
    with serve(settings) as base:
        yield base, seed(base, database_url)


def test_every_operation_as_every_role(fuzz_server: tuple[str, Seed], database_url: str) -> None:
    base, seed_ = fuzz_server
    is_postgres = database_url.startswith("postgresql")
    target = target_requests(is_postgres)
    started = time.monotonic()
    tally = run_fuzz(base, seed_, target)
    summary = write_summary(
        tally, "postgresql" if is_postgres else "sqlite", target, time.monotonic() - started
    )
    print(summary)
    assert not tally.failures, "\n".join(f"{k}: {v}" for k, v in sorted(tally.failures.items()))
    assert tally.requests >= target
    assert tally.operations == tally.documented, sorted(tally.documented - tally.operations)


def documented_media_types(document: dict[str, Any], method: str, path: str, status: int) -> list[str]:
    """The media types the document gives this operation's response; [] when the status is undocumented."""
    responses = document["paths"][path][method.lower()]["responses"]
    return list((responses.get(str(status)) or {}).get("content") or {})


class TestFoundByTheFuzzer:
    """Bugs the fuzzer found after the first round of fixes, replayed: each request as it found it."""

    @pytest.mark.parametrize(("ext", "media_type"), [("png", "image/png"), ("svg", "image/svg+xml")])
    async def test_qr_code_media_type_is_documented(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, ext: str, media_type: str
    ) -> None:
        code = await issue_code(
            session, campaign=await create_campaign(session), customer=await create_customer(session)
        )
        await session.commit()
        document = (await client.get("/schema/openapi.json")).json()

        response = await client.get(f"/r/{code.code}/qr.{ext}")

        assert response.status_code == 200
        assert response.headers["content-type"] == media_type
        assert media_type in documented_media_types(document, "GET", f"/r/{{code}}/qr.{ext}", 200)

    async def test_analytics_csv_is_documented_and_has_one_charset(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key = await create_key(session, role=Role.admin)
        await session.commit()
        document = (await client.get("/schema/openapi.json")).json()

        response = await client.get("/api/analytics/daily.csv", headers=bearer(key))

        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert "text/csv" in documented_media_types(document, "GET", "/api/analytics/daily.csv", 200)

    async def test_customer_upsert_documents_its_201(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key = await create_key(session, role=Role.admin)
        await session.commit()
        document = (await client.get("/schema/openapi.json")).json()

        response = await client.put("/api/customers/0", json={}, headers=bearer(key))

        assert response.status_code == 201
        assert documented_media_types(document, "PUT", "/api/customers/{external_id}", 201)

    async def test_review_queue_refuses_an_offset_past_bigint(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key = await create_key(session, role=Role.admin)
        await session.commit()

        response = await client.get("/api/reviews", params={"offset": 2**70}, headers=bearer(key))

        assert response.status_code == 400
