"""The audit log over HTTP: who may read it, filters, CSV export, verification, and that nothing writes it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from uuid import UUID

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from growth.audit import service as audit_service
from growth.core.auth import service as auth_service
from growth.core.auth.rules import Role
from tests.conftest import triggers_bypassed
from tests.factories import bearer, create_key
from tests.pages import sign_in

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
URL = "/api/audit"


class Keys:
    def __init__(self, admin_id: UUID, admin: str, finance: str) -> None:
        self.admin_id, self.admin, self.finance = admin_id, bearer(admin), bearer(finance)


@pytest.fixture
async def keys(session: AsyncSession) -> Keys:
    admin = await auth_service.create_key(session, name="root", role=Role.admin)
    finance = await create_key(session, role=Role.finance)
    await session.commit()
    return Keys(admin.api_key.id, admin.secret, finance)


async def _record(session: AsyncSession, action: str, subject_id: str, **fields: object) -> None:
    values: dict[str, object] = {"subject_type": action.split(".")[0], "now": NOW, "actor": None}
    await audit_service.record(session, action=action, subject_id=subject_id, **{**values, **fields})  # type: ignore[arg-type]


class TestRead:
    async def test_finance_filters_the_log(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, keys: Keys
    ) -> None:
        await _record(session, "payout.confirmed", "po-1")
        await _record(session, "payout.sent", "po-2")
        await _record(session, "payout_run.created", "r-1", after={"period": "2026-11"})
        await session.commit()

        response = await client.get(URL, params={"action": "payout.*"}, headers=keys.finance)
        assert response.status_code == 200, response.text
        assert [e["subject_id"] for e in response.json()] == ["po-2", "po-1"]

        response = await client.get(
            URL, params={"subject_type": "payout_run", "limit": 1}, headers=keys.admin
        )
        [entry] = response.json()
        assert entry | {"id": None, "entry_hash": None} == {
            "id": None,
            "sequence": 3,
            "occurred_at": "2026-11-20T08:00:00Z",
            "actor_kind": "system",
            "actor_id": None,
            "actor_name": "system",
            "action": "payout_run.created",
            "subject_type": "payout_run",
            "subject_id": "r-1",
            "before": None,
            "after": {"period": "2026-11"},
            "request_id": None,
            "entry_hash": None,
        }
        one = await client.get(f"{URL}/{entry['id']}", headers=keys.finance)
        assert one.json() == entry
        since = await client.get(URL, params={"since": "2026-11-20T16:00:00+08:00"}, headers=keys.finance)
        assert len(since.json()) == 3

    @pytest.mark.parametrize(
        ("params", "code"),
        [
            ({"since": "yesterday"}, "validation_error"),
            ({"until": "2026-13-01T00:00:00Z"}, "validation_error"),
            ({"limit": 0}, "validation_error"),
            ({"limit": 501}, "validation_error"),
            ({"offset": -1}, "validation_error"),
            ({"since": "2026-11-20T08:00:00"}, "invalid_audit_filter"),
            ({"since": "2026-11-21T00:00:00Z", "until": "2026-11-20T00:00:00Z"}, "invalid_audit_filter"),
            ({"action": "payout*"}, "invalid_audit_filter"),
        ],
    )
    async def test_bad_filters_are_400(
        self, client: AsyncTestClient[Litestar], keys: Keys, params: dict[str, object], code: str
    ) -> None:
        paging = "limit" in params or "offset" in params  # the export has no pages
        for path in (URL,) if paging else (URL, f"{URL}/export.csv"):
            response = await client.get(path, params=params, headers=keys.finance)
            assert response.status_code == 400, response.text
            assert response.json()["error"]["code"] == code
            assert response.json()["error"]["message"]

    async def test_an_unknown_entry_is_404(self, client: AsyncTestClient[Litestar], keys: Keys) -> None:
        response = await client.get(f"{URL}/00000000-0000-7000-8000-000000000000", headers=keys.finance)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "audit_entry_not_found"


class TestWhoMayRead:
    @pytest.mark.parametrize("path", ["", "/export.csv", "/verify"])
    async def test_only_admin_and_finance(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, keys: Keys, path: str
    ) -> None:
        others = {
            role: await create_key(session, role=role) for role in (Role.marketing, Role.shop, Role.partner)
        }
        await session.commit()

        for role, key in others.items():
            response = await client.get(URL + path, headers=bearer(key))
            assert response.status_code == 403, role
            assert response.json()["error"]["code"] == "role_not_allowed"
        anonymous = await client.get(URL + path)
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "invalid_api_key"
        for allowed in (keys.admin, keys.finance):
            assert (await client.get(URL + path, headers=allowed)).status_code == 200


class TestExport:
    async def test_csv_is_filtered_and_spreadsheet_safe(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, keys: Keys
    ) -> None:
        await _record(session, "partner.status_changed", '=HYPERLINK("http://evil.example")')
        await _record(session, "partner.status_changed", "p-2", after={"note": "@SUM(A1)"})
        await _record(session, "api_key.created", "k-1")
        await session.commit()

        response = await client.get(f"{URL}/export.csv", params={"action": "partner.*"}, headers=keys.finance)

        assert response.status_code == 200, response.text
        # One charset parameter: the handler once named it and Litestar appended it again (issue 9 fuzzing).
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert "attachment" in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [r["sequence"] for r in rows] == ["1", "2"]
        assert rows[0]["subject_id"] == '\'=HYPERLINK("http://evil.example")'
        assert rows[1]["after"] == '{"note":"@SUM(A1)"}'  # JSON cells start with { and stay as they are
        assert rows[0]["actor_kind"] == "system"
        assert all(not cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r.values())


class TestVerify:
    async def test_the_chain_holds_until_a_row_is_changed_in_the_database(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, engine: AsyncEngine, keys: Keys
    ) -> None:
        for n in range(3):
            await _record(session, "partner.status_changed", f"p-{n}")
        await session.commit()
        assert (await client.get(f"{URL}/verify", headers=keys.finance)).json() == {
            "is_valid": True,
            "checked": 3,
            "first_broken_sequence": None,
            "reason": None,
        }

        async with triggers_bypassed(engine) as connection:  # what only a database owner could do
            await connection.execute(text("UPDATE audit_entries SET actor_name = 'root' WHERE sequence = 3"))

        body = (await client.get(f"{URL}/verify", headers=keys.finance)).json()
        assert (body["is_valid"], body["checked"], body["first_broken_sequence"]) == (False, 2, 3)


def _audit_routes(app: Litestar) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in getattr(handler, "http_methods", ()):
                if route.path == URL or route.path.startswith(URL + "/"):
                    found.append((method, route.path))
    return found


class TestNothingWritesTheLog:
    async def test_every_audit_route_only_reads(self, client: AsyncTestClient[Litestar]) -> None:
        routes = _audit_routes(client.app)
        assert ("GET", URL) in routes and ("GET", f"{URL}/export.csv") in routes
        assert {method for method, _ in routes} <= {"GET", "HEAD", "OPTIONS"}, routes

    async def test_changing_or_deleting_an_entry_over_http_is_not_allowed(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, keys: Keys
    ) -> None:
        await _record(session, "partner.status_changed", "p-1", after={"status": "approved"})
        await session.commit()
        entry = (await client.get(URL, headers=keys.admin)).json()[0]

        for method in ("PUT", "PATCH", "DELETE", "POST"):
            for path in (f"{URL}/{entry['id']}", URL, f"{URL}/verify"):
                response = await client.request(method, path, json={"after": None}, headers=keys.admin)
                assert response.status_code in (404, 405), (method, path, response.status_code)

        assert (await client.get(URL, headers=keys.admin)).json() == [entry]
        assert (await client.get(f"{URL}/verify", headers=keys.admin)).json()["is_valid"] is True


class TestAccessActionsAreRecorded:
    async def test_creating_a_key_records_who_created_which_key_with_the_request_id(
        self, client: AsyncTestClient[Litestar], keys: Keys
    ) -> None:
        created = await client.post(
            "/api/keys",
            json={"name": "ops-bot", "role": "finance"},
            headers=keys.admin | {"X-Request-ID": "req-key-1"},
        )
        assert created.status_code == 201, created.text
        request_id = created.headers["x-request-id"]
        assert request_id == "req-key-1"

        response = await client.get(URL, params={"request_id": request_id}, headers=keys.finance)
        [entry] = response.json()
        assert (entry["action"], entry["subject_type"], entry["subject_id"]) == (
            "api_key.created",
            "api_key",
            created.json()["id"],
        )
        assert (entry["actor_kind"], entry["actor_id"], entry["actor_name"]) == (
            "api_key",
            str(keys.admin_id),
            "root (admin)",
        )
        assert entry["before"] is None
        assert entry["after"] == {
            "name": "ops-bot",
            "role": "finance",
            "prefix": created.json()["prefix"],
            "subject_id": None,
            "revoked_at": None,
        }
        secret = created.json()["key"]
        assert secret not in response.text and secret.split("_", 2)[2] not in response.text

    async def test_a_generated_request_id_is_the_one_echoed(
        self, client: AsyncTestClient[Litestar], keys: Keys
    ) -> None:
        created = await client.post("/api/keys", json={"name": "x", "role": "shop"}, headers=keys.admin)
        entries = (await client.get(URL, params={"action": "api_key.created"}, headers=keys.admin)).json()
        assert [e["request_id"] for e in entries] == [created.headers["x-request-id"]]

    async def test_revoking_a_key_is_recorded_once(
        self, client: AsyncTestClient[Litestar], keys: Keys
    ) -> None:
        key_id = (
            await client.post("/api/keys", json={"name": "x", "role": "shop"}, headers=keys.admin)
        ).json()["id"]
        for _ in range(2):
            assert (await client.delete(f"/api/keys/{key_id}", headers=keys.admin)).status_code == 200

        entries = (await client.get(URL, params={"subject_id": key_id}, headers=keys.admin)).json()
        assert [e["action"] for e in entries] == ["api_key.revoked", "api_key.created"]
        assert entries[0]["before"] == {"revoked_at": None}
        assert entries[0]["after"]["revoked_at"] is not None

    async def test_a_failed_key_creation_leaves_no_entry(
        self, client: AsyncTestClient[Litestar], keys: Keys
    ) -> None:
        response = await client.post("/api/keys", json={"name": "p", "role": "partner"}, headers=keys.admin)
        assert response.status_code == 422
        assert (await client.get(URL, headers=keys.admin)).json() == []

    async def test_a_dashboard_sign_in_is_recorded(
        self, client: AsyncTestClient[Litestar], keys: Keys
    ) -> None:
        response = await sign_in(client, keys.finance["Authorization"].removeprefix("Bearer "))
        assert response.status_code == 303

        entries = (await client.get(URL, params={"action": "dashboard.signed_in"}, headers=keys.admin)).json()
        assert len(entries) == 1 and entries[0]["actor_kind"] == "api_key"
