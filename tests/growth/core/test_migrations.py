"""The schema exists only through Alembic: up from empty, models agree, down and up again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from growth.core.db import alembic_config, check_models_match, make_engine, metadata, upgrade_head
from growth.settings import test_database_url as server_url
from tests.conftest import pg_admin


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A brand-new empty database on the server under test."""
    server = server_url()
    if server is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    name = f"growth_migrations_{uuid.uuid4().hex[:8]}"
    asyncio.run(pg_admin(server, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(pg_admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


def test_upgrade_from_empty_creates_every_table_and_matches_the_models(empty_database: str) -> None:
    upgrade_head(empty_database)

    tables = asyncio.run(_tables(empty_database))
    assert {t.name for t in metadata.sorted_tables} <= tables
    check_models_match(empty_database)  # raises when autogenerate would find a difference


def test_downgrade_to_base_and_upgrade_again(empty_database: str) -> None:
    upgrade_head(empty_database)
    command.downgrade(alembic_config(empty_database), "base")

    assert asyncio.run(_tables(empty_database)) <= {"alembic_version"}
    upgrade_head(empty_database)
    check_models_match(empty_database)


def test_constraint_names_follow_the_naming_convention() -> None:
    for table in metadata.sorted_tables:
        for constraint in table.constraints:
            assert str(constraint.name).startswith(("pk_", "uq_", "fk_", "ck_")), (
                table.name,
                constraint.name,
            )
        for index in table.indexes:
            assert str(index.name).startswith("ix_"), (table.name, index.name)
