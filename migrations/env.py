"""Alembic environment: runs migrations over the async engine of the configured database."""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from sqlalchemy import JSON
from sqlalchemy.engine import Connection

import growth.app  # noqa: F401  (the composition root imports every model)
from growth.core.db import make_engine, metadata
from growth.settings import get_settings

config = context.config
if config.config_file_name and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name)


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().database_url


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render advanced-alchemy column types by their public names (``advanced_alchemy.types.X``)."""
    if type_ != "type":
        return False
    name = type(obj).__name__
    if isinstance(obj, JSON) and "postgresql" in getattr(obj, "_variant_mapping", {}):
        return "advanced_alchemy.types.JsonB"
    if name == "GUID":
        return f"advanced_alchemy.types.GUID(length={obj.length})"
    if name == "DateTimeUTC":
        return "advanced_alchemy.types.DateTimeUTC(timezone=True)"
    return False


def _compare_type(
    _ctx: Any, _inspected_column: Any, _metadata_column: Any, _inspected: Any, metadata_type: Any
) -> bool | None:
    # GUID is BINARY(16) on SQLite, reflected back as NUMERIC: not a change. Others: Alembic decides.
    return False if type(metadata_type).__name__ == "GUID" else None


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=metadata,
        compare_type=_compare_type,
        render_as_batch=True,  # SQLite alters tables by copying them
        render_item=_render_item,
        literal_binds=connection is None,
    )


def _run_sync(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = make_engine(_url(), foreign_keys=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
            if connection.dialect.name == "sqlite":
                # Foreign keys were off while tables were rebuilt: prove nothing was left dangling.
                problems = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).fetchall()
                if problems:
                    raise RuntimeError(f"foreign key violations after migrating: {problems[:5]}")
    finally:
        await engine.dispose()


if context.is_offline_mode():
    _configure(url=_url())
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
