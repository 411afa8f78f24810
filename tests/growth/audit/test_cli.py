"""Keys created and revoked at the command line are audited, with the CLI as the actor.

The CLI calls ``asyncio.run``, so the test is synchronous and reads the log the same way.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import AsyncEngine

from growth.audit import service as audit_service
from growth.audit.models import AuditEntry
from growth.cli import main
from growth.core.db import make_db_config, make_engine
from growth.settings import get_settings


@pytest.fixture
def cli(database_url: str, engine: AsyncEngine) -> Iterator[CliRunner]:
    get_settings.cache_clear()
    yield CliRunner(env={"GROWTH_DATABASE_URL": database_url})
    get_settings.cache_clear()


def _entries(url: str, key_id: str) -> tuple[list[AuditEntry], bool]:
    async def read() -> tuple[list[AuditEntry], bool]:
        engine = make_engine(url)
        try:
            async with make_db_config(engine).create_session_maker()() as session:
                query = audit_service.filters(subject_id=key_id)
                entries = await audit_service.list_entries(session, query, limit=10, offset=0)
                return entries, (await audit_service.verify_chain(session)).is_valid
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_key_create_and_revoke_are_recorded(cli: CliRunner, database_url: str) -> None:
    created = cli.invoke(main, ["keys", "create", "--role", "admin", "--name", "ops"])
    assert created.exit_code == 0, created.output
    match = re.search(r"id=([0-9a-f-]{36})", created.stderr)
    assert match is not None
    key_id = match.group(1)
    for _ in range(2):  # the second revoke changes nothing, so records nothing
        assert cli.invoke(main, ["keys", "revoke", key_id]).exit_code == 0

    entries, chain_holds = _entries(database_url, key_id)

    assert [(e.action, e.actor_kind, e.actor_id) for e in entries] == [
        ("api_key.revoked", "cli", None),
        ("api_key.created", "cli", None),
    ]
    assert entries[0].actor_name.startswith("cli:")
    assert entries[1].after is not None and entries[1].after["role"] == "admin"
    assert created.stdout.strip() not in str(entries[1].after)
    assert chain_holds
