"""The ``growth`` command line, run in-process against the test database.

The CLI calls ``asyncio.run``, so these tests are synchronous; they use ``engine`` so the tables
are emptied afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from growth.cli import main
from growth.settings import get_settings
from tests.conftest import BASE_URL
from tests.factories import bearer

_ID = re.compile(r"id=([0-9a-f-]{36})")


@pytest.fixture
def cli(database_url: str, engine: AsyncEngine) -> Iterator[CliRunner]:
    get_settings.cache_clear()
    yield CliRunner(env={"GROWTH_DATABASE_URL": database_url})
    get_settings.cache_clear()


def _create(cli: CliRunner, *args: str) -> tuple[str, str]:
    """Run ``keys create``; the key (stdout) and its id (from the note on stderr)."""
    result = cli.invoke(main, ["keys", "create", *args])
    assert result.exit_code == 0, result.output
    match = _ID.search(result.stderr)
    assert match is not None, result.stderr
    return result.stdout.strip(), match.group(1)


def _list(cli: CliRunner) -> Result:
    result = cli.invoke(main, ["keys", "list"])
    assert result.exit_code == 0, result.output
    return result


class TestKeysCreate:
    def test_prints_a_key_that_authenticates(self, cli: CliRunner, app: Litestar) -> None:
        key, key_id = _create(cli, "--role", "admin", "--name", "ops")

        assert re.fullmatch(r"gk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", key), key
        with TestClient(app, base_url=BASE_URL) as client:
            response = client.get("/api/keys", headers=bearer(key))
        assert response.status_code == 200
        assert [(k["id"], k["name"], k["role"]) for k in response.json()] == [(key_id, "ops", "admin")]

    def test_role_is_the_one_asked_for(self, cli: CliRunner, app: Litestar) -> None:
        key, _ = _create(cli, "--role", "marketing", "--name", "mkt")

        with TestClient(app, base_url=BASE_URL) as client:
            assert client.get("/api/campaigns", headers=bearer(key)).status_code == 200
            assert client.get("/api/keys", headers=bearer(key)).status_code == 403

    def test_the_key_is_printed_once_and_only_on_stdout(self, cli: CliRunner) -> None:
        result = cli.invoke(main, ["keys", "create", "--role", "finance", "--name", "books"])

        assert result.exit_code == 0
        lines = result.stdout.splitlines()
        assert len(lines) == 1 and lines[0].startswith("gk_")
        assert lines[0] not in result.stderr
        assert "not shown again" in result.stderr

    @pytest.mark.parametrize("args", [["--role", "superuser"], ["--role", "ADMIN"], [], ["--name", "x"]])
    def test_bad_role_fails(self, cli: CliRunner, args: list[str]) -> None:
        result = cli.invoke(main, ["keys", "create", *args])

        assert result.exit_code != 0
        assert "gk_" not in result.output
        assert _list(cli).stdout == ""


class TestKeysList:
    def test_lists_keys_without_secrets(self, cli: CliRunner) -> None:
        admin, admin_id = _create(cli, "--role", "admin", "--name", "ops")
        shop, shop_id = _create(cli, "--role", "shop", "--name", "shop-sync")

        output = _list(cli).output

        for key in (admin, shop):
            assert key not in output
            assert key.split("_", 2)[2] not in output
            assert f"gk_{key.split('_')[1]}_" in output  # the public prefix identifies it
        lines = output.splitlines()
        assert len(lines) == 2
        assert any(admin_id in line and "admin" in line and "ops" in line for line in lines)
        assert any(shop_id in line and "shop" in line and "shop-sync" in line for line in lines)
        assert all("active" in line for line in lines)


class TestKeysRevoke:
    def test_revoked_key_no_longer_authenticates(self, cli: CliRunner, app: Litestar) -> None:
        key, key_id = _create(cli, "--role", "admin", "--name", "ops")

        result = cli.invoke(main, ["keys", "revoke", key_id])

        assert result.exit_code == 0, result.output
        assert key_id in result.output
        (line,) = _list(cli).stdout.splitlines()
        assert key_id in line and "revoked" in line
        with TestClient(app, base_url=BASE_URL) as client:
            response = client.get("/api/keys", headers=bearer(key))
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_api_key"

    def test_revoking_an_unknown_id_fails(self, cli: CliRunner) -> None:
        result = cli.invoke(main, ["keys", "revoke", "0191b7a2-0000-7000-8000-000000000000"])

        assert result.exit_code != 0

    def test_revoking_a_non_uuid_is_a_usage_error(self, cli: CliRunner) -> None:
        result = cli.invoke(main, ["keys", "revoke", "not-a-uuid"])

        assert result.exit_code == 2


class TestDb:
    def test_check_passes_on_a_migrated_database(self, cli: CliRunner) -> None:
        result = cli.invoke(main, ["db", "check"])

        assert result.exit_code == 0, result.output
        assert "agree" in result.output

    def test_upgrade_is_idempotent(self, cli: CliRunner) -> None:
        result = cli.invoke(main, ["db", "upgrade"])

        assert result.exit_code == 0, result.output
        assert "newest migration" in result.output
