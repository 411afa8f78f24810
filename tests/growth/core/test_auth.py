"""API keys: shown once, stored as a hash, checked by role on every API route."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth import service as auth_service
from growth.core.auth.errors import ApiKeyNotFound, InvalidApiKey
from growth.core.auth.models import ApiKey
from growth.core.auth.rules import Role, hash_key
from growth.core.db import SessionMaker
from tests.factories import bearer, create_key, create_partner

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)

# A route per role and what a fresh key of that role gets there: proof that the key authenticates
# (a 404 from the domain, or the partner's 403, is not the guard's 401).
ROLE_PROBE = {
    Role.admin: ("/api/keys", 200),
    Role.marketing: ("/api/campaigns", 200),
    Role.finance: ("/api/partners/00000000-0000-0000-0000-000000000000", 404),
    Role.shop: ("/api/customers/nobody", 404),
    Role.partner: ("/api/campaigns", 403),
}


async def _key_row(session_maker: SessionMaker, prefix: str) -> ApiKey:
    async with session_maker() as fresh:
        row = await fresh.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        assert row is not None
        return row


class TestCreateKey:
    async def test_only_the_hash_is_stored(self, session: AsyncSession) -> None:
        created = await auth_service.create_key(session, name="ops", role=Role.marketing)
        await session.commit()

        secret = created.secret
        assert secret.startswith(f"gk_{created.api_key.prefix}_")
        rows = (await session.execute(text("SELECT * FROM api_keys"))).mappings().all()
        assert len(rows) == 1
        row = rows[0]
        assert row["key_hash"] == hash_key(secret) and row["key_hash"] != secret
        assert (row["name"], row["role"], row["prefix"]) == ("ops", "marketing", created.api_key.prefix)
        random_part = secret.split("_", 2)[2]  # the part after gk_<prefix>_
        for column, value in row.items():
            assert secret not in str(value), column
            assert random_part not in str(value), column

    async def test_each_key_is_different(self, session: AsyncSession) -> None:
        first = await auth_service.create_key(session, name="a", role=Role.admin)
        second = await auth_service.create_key(session, name="a", role=Role.admin)

        assert first.secret != second.secret
        assert first.api_key.key_hash != second.api_key.key_hash


class TestAuthenticate:
    async def test_valid_key_gives_its_principal_and_records_use(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        created = await auth_service.create_key(session, name="shop-sync", role=Role.shop)
        await session.commit()
        assert created.api_key.last_used_at is None

        principal = await auth_service.authenticate(session, created.secret, now=NOW)
        await session.commit()

        assert principal == auth_service.Principal(created.api_key.id, "shop-sync", Role.shop, None)
        assert (await _key_row(session_maker, created.api_key.prefix)).last_used_at == NOW

    async def test_last_used_at_moves_with_each_use(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        created = await auth_service.create_key(session, name="ops", role=Role.admin)
        await auth_service.authenticate(session, created.secret, now=NOW)
        await auth_service.authenticate(session, created.secret, now=NOW + timedelta(hours=1))
        await session.commit()

        assert (await _key_row(session_maker, created.api_key.prefix)).last_used_at == NOW + timedelta(
            hours=1
        )

    async def test_revoked_key_is_refused(self, session: AsyncSession) -> None:
        created = await auth_service.create_key(session, name="old", role=Role.admin)
        await auth_service.revoke_key(session, created.api_key.id, now=NOW)
        await session.commit()

        with pytest.raises(InvalidApiKey) as excinfo:
            await auth_service.authenticate(session, created.secret, now=NOW + timedelta(seconds=1))
        assert excinfo.value.status_code == 401

    async def test_revoking_twice_keeps_the_first_time(self, session: AsyncSession) -> None:
        created = await auth_service.create_key(session, name="old", role=Role.admin)
        await auth_service.revoke_key(session, created.api_key.id, now=NOW)
        again = await auth_service.revoke_key(session, created.api_key.id, now=NOW + timedelta(days=1))

        assert again.revoked_at == NOW

    async def test_revoking_an_unknown_key_is_not_found(self, session: AsyncSession) -> None:
        created = await auth_service.create_key(session, name="x", role=Role.admin)
        await session.delete(created.api_key)
        await session.flush()

        with pytest.raises(ApiKeyNotFound):
            await auth_service.revoke_key(session, created.api_key.id, now=NOW)

    @pytest.mark.parametrize(
        "secret",
        [
            "",
            "not-a-key",
            "gk_short_abc",
            "xx_0123abcd_" + "a" * 43,
            "gk_0123abcd",
            "gk_0123abcd_" + "a" * 300,
        ],
    )
    async def test_malformed_key_is_refused(self, session: AsyncSession, secret: str) -> None:
        await create_key(session)

        with pytest.raises(InvalidApiKey) as excinfo:
            await auth_service.authenticate(session, secret, now=NOW)
        assert excinfo.value.status_code == 401

    async def test_well_formed_unknown_key_is_refused(self, session: AsyncSession) -> None:
        created = await auth_service.create_key(session, name="x", role=Role.admin)
        forged = created.secret[:-1] + ("A" if created.secret[-1] != "A" else "B")

        with pytest.raises(InvalidApiKey):
            await auth_service.authenticate(session, forged, now=NOW)

    async def test_list_is_newest_first(self, session: AsyncSession) -> None:
        first = await auth_service.create_key(session, name="first", role=Role.admin)
        second = await auth_service.create_key(session, name="second", role=Role.finance)

        assert [k.id for k in await auth_service.list_keys(session)] == [second.api_key.id, first.api_key.id]


class TestApiKeyController:
    @pytest.mark.parametrize(
        ("role", "with_subject"), [(Role.partner, False), (Role.marketing, True), (Role.admin, True)]
    )
    async def test_subject_only_and_always_for_partner_keys(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, role: Role, with_subject: bool
    ) -> None:
        admin = await create_key(session, role=Role.admin)
        subject = {"subject_id": str((await create_partner(session)).id)} if with_subject else {}
        await session.commit()

        response = await client.post(
            "/api/keys", json={"name": "k", "role": role.value, **subject}, headers=bearer(admin)
        )

        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "invalid_key_request"

    @pytest.mark.parametrize("role", list(Role))
    async def test_admin_creates_a_key_of_each_role_and_sees_it_once(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, role: Role
    ) -> None:
        admin = await create_key(session, role=Role.admin)
        subject = {"subject_id": str((await create_partner(session)).id)} if role is Role.partner else {}
        await session.commit()

        response = await client.post(
            "/api/keys",
            json={"name": f"{role.value} key", "role": role.value, **subject},
            headers=bearer(admin),
        )

        assert response.status_code == 201
        body = response.json()
        secret = body["key"]
        assert secret.startswith(f"gk_{body['prefix']}_")
        assert (body["name"], body["role"], body["revoked_at"]) == (f"{role.value} key", role.value, None)
        listed = await client.get("/api/keys", headers=bearer(admin))
        assert listed.status_code == 200
        assert secret not in listed.text and secret.split("_", 2)[2] not in listed.text
        item = next(k for k in listed.json() if k["id"] == body["id"])
        assert "key" not in item and "key_hash" not in item
        assert (item["prefix"], item["role"]) == (body["prefix"], role.value)
        path, status = ROLE_PROBE[role]
        probe = await client.get(path, headers=bearer(secret))
        assert probe.status_code == status, probe.text

    async def test_the_new_key_authenticates(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        admin = await create_key(session, role=Role.admin)
        await session.commit()

        created = await client.post(
            "/api/keys", json={"name": "mkt", "role": "marketing"}, headers=bearer(admin)
        )
        response = await client.get("/api/campaigns", headers=bearer(created.json()["key"]))

        assert response.status_code == 200 and response.json() == []

    async def test_list_shows_every_key_without_secrets(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        admin = await create_key(session, role=Role.admin, name="admin")
        others = [await create_key(session, role=role, name=role.value) for role in (Role.shop, Role.finance)]
        await session.commit()

        response = await client.get("/api/keys", headers=bearer(admin))

        assert response.status_code == 200
        assert {(k["name"], k["role"]) for k in response.json()} == {
            ("admin", "admin"),
            ("shop", "shop"),
            ("finance", "finance"),
        }
        for secret in [admin, *others]:
            assert secret not in response.text
        for item in response.json():
            assert set(item) == {
                "id",
                "name",
                "role",
                "prefix",
                "created_at",
                "revoked_at",
                "last_used_at",
                "subject_id",
            }

    async def test_revoked_key_gets_401(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        admin = await create_key(session, role=Role.admin)
        await session.commit()
        created = (
            await client.post("/api/keys", json={"name": "temp", "role": "marketing"}, headers=bearer(admin))
        ).json()
        assert (await client.get("/api/campaigns", headers=bearer(created["key"]))).status_code == 200

        revoked = await client.delete(f"/api/keys/{created['id']}", headers=bearer(admin))

        assert revoked.status_code == 200
        assert revoked.json()["id"] == created["id"] and revoked.json()["revoked_at"] is not None
        after = await client.get("/api/campaigns", headers=bearer(created["key"]))
        assert after.status_code == 401
        assert after.json()["error"]["code"] == "invalid_api_key"

    async def test_revoking_an_unknown_key_is_404(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        admin = await create_key(session, role=Role.admin)
        await session.commit()

        response = await client.delete(
            "/api/keys/0191b7a2-0000-7000-8000-000000000000", headers=bearer(admin)
        )

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "api_key_not_found"

    async def test_use_is_recorded(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        created = await auth_service.create_key(session, name="mkt", role=Role.marketing)
        await session.commit()
        before = datetime.now(UTC)

        assert (await client.get("/api/campaigns", headers=bearer(created.secret))).status_code == 200

        last_used = (await _key_row(session_maker, created.api_key.prefix)).last_used_at
        assert last_used is not None and before - timedelta(seconds=1) <= last_used <= datetime.now(UTC)

    @pytest.mark.parametrize("role", [Role.marketing, Role.finance, Role.shop, Role.partner])
    async def test_other_roles_get_403(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, role: Role
    ) -> None:
        key = await create_key(session, role=role)
        await session.commit()

        listed = await client.get("/api/keys", headers=bearer(key))
        created = await client.post("/api/keys", json={"name": "x", "role": "admin"}, headers=bearer(key))

        for response in (listed, created):
            assert response.status_code == 403
            assert response.json()["error"]["code"] == "role_not_allowed"

    async def test_no_key_is_401(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.get("/api/keys")

        assert response.status_code == 401
        assert set(response.json()) == {"error"}
        assert response.json()["error"]["code"] == "invalid_api_key"
        assert response.json()["error"]["message"]

    @pytest.mark.parametrize(
        "headers",
        [
            {"Authorization": "Bearer "},
            {"Authorization": "Bearer nonsense"},
            {"Authorization": "Bearer gk_0123abcd_" + "x" * 43},
            {"Authorization": "Basic YWRtaW46YWRtaW4="},
            {"X-API-Key": "gk_nope"},
        ],
    )
    async def test_malformed_or_unknown_key_is_401(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, headers: dict[str, str]
    ) -> None:
        await create_key(session, role=Role.admin)
        await session.commit()

        response = await client.get("/api/keys", headers=headers)

        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"

    async def test_x_api_key_header_also_works(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        admin = await create_key(session, role=Role.admin)
        await session.commit()

        response = await client.get("/api/keys", headers={"X-API-Key": admin})

        assert response.status_code == 200 and len(response.json()) == 1

    async def test_bearer_scheme_is_case_insensitive(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        admin = await create_key(session, role=Role.admin)
        await session.commit()

        response = await client.get("/api/keys", headers={"Authorization": f"bearer {admin}"})

        assert response.status_code == 200

    @pytest.mark.parametrize(
        "payload",
        [
            {"name": "x", "role": "superuser"},
            {"name": "", "role": "admin"},
            {"name": "x" * 101, "role": "admin"},
            {"role": "admin"},
            {"name": "x", "role": "admin", "scopes": ["all"]},
            {"name": 7, "role": "admin"},
        ],
    )
    async def test_bad_input_is_400(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, payload: dict[str, object]
    ) -> None:
        admin = await create_key(session, role=Role.admin)
        await session.commit()

        response = await client.post("/api/keys", json=payload, headers=bearer(admin))

        assert response.status_code == 400
        assert response.json()["error"]["code"] == "validation_error"

    async def test_nul_character_in_the_name_is_refused(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        admin = await create_key(session, role=Role.admin)
        await session.commit()

        response = await client.post(
            "/api/keys", json={"name": "ops\x00", "role": "admin"}, headers=bearer(admin)
        )

        assert response.status_code in {400, 422}, response.text
        listed = await client.get("/api/keys", headers=bearer(admin))
        assert [k["name"] for k in listed.json()] == ["test"]
