"""``growth orders import``, run in-process against the test database.

The CLI calls ``asyncio.run``, so these tests are synchronous.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from growth.cli import main
from growth.core.db import make_engine
from growth.order.models import Order
from growth.settings import get_settings

ORDERS = "external_id,customer_external_id,amount_major,currency,placed_at"
EVENTS = "order_external_id,type,amount,occurred_at,event_id"


@pytest.fixture
def cli(database_url: str, engine: AsyncEngine) -> Iterator[CliRunner]:
    get_settings.cache_clear()
    yield CliRunner(env={"GROWTH_DATABASE_URL": database_url})
    get_settings.cache_clear()


def write(tmp_path: Path, name: str, header: str, *rows: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(b"".join((r if isinstance(r, bytes) else r.encode()) + b"\n" for r in (header, *rows)))
    return path


def orders_in(database_url: str) -> dict[str, tuple[int, str]]:
    async def read() -> dict[str, tuple[int, str]]:
        engine = make_engine(database_url)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(select(Order.external_id, Order.amount, Order.status))
                return {external_id: (amount, status) for external_id, amount, status in rows}
        finally:
            await engine.dispose()

    return asyncio.run(read())


def order_row(external_id: str, amount: str = "199.00") -> str:
    return f"{external_id},mei,{amount},CNY,2026-11-20T10:00:00+08:00"


class TestOrdersImport:
    def test_imports_reports_and_is_idempotent(
        self, cli: CliRunner, database_url: str, tmp_path: Path
    ) -> None:
        path = write(
            tmp_path, "orders.csv", ORDERS, order_row("o-1"), order_row("o-2", "12.345"), order_row("o-3")
        )

        first = cli.invoke(main, ["orders", "import", str(path)])
        again = cli.invoke(main, ["orders", "import", str(path)])

        assert first.exit_code == 1, first.output  # a row was refused
        assert first.stdout.splitlines() == [
            "line 3 o-2: refused: invalid_row: amount_major '12.345' has more decimals than CNY allows",
            "created 2, duplicate 0, refused 1",
        ]
        assert again.stdout.splitlines()[-1] == "created 0, duplicate 2, refused 1"
        assert orders_in(database_url) == {"o-1": (19900, "placed"), "o-3": (19900, "placed")}

    def test_events_then_success_exits_0(self, cli: CliRunner, database_url: str, tmp_path: Path) -> None:
        orders = write(tmp_path, "orders.csv", ORDERS, order_row("o-1"))
        events = write(
            tmp_path,
            "events.csv",
            EVENTS,
            "o-1,paid,,2026-11-21T10:00:00+08:00,ev-1",
            "o-1,refunded,19900,2026-11-22T10:00:00+08:00,ev-2",
        )

        assert cli.invoke(main, ["orders", "import", str(orders)]).exit_code == 0
        result = cli.invoke(main, ["orders", "import", "--events", str(events)])

        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == "created 2, duplicate 0, refused 0"
        assert orders_in(database_url) == {"o-1": (19900, "refunded")}

    def test_a_file_broken_midway_keeps_the_committed_batches(
        self, cli: CliRunner, database_url: str, tmp_path: Path
    ) -> None:
        rows = [order_row(f"o-{i}") for i in range(1, 6)]
        path = write(tmp_path, "orders.csv", ORDERS, *rows, 'o-6,"mei,1.00,CNY,2026-11-20T10:00:00Z')

        # A generous time limit, so only the batch size ends a transaction.
        args = ["--batch-size", "2", "--max-transaction-seconds", "600", str(path)]
        result = cli.invoke(main, ["orders", "import", *args])

        assert result.exit_code == 1
        assert "stopped: the quote opened on line 7 is never closed" in result.stderr
        assert result.stdout.strip() == "created 4, duplicate 0, refused 0"
        # Two batches of two were committed; o-5 was in the batch the file broke off in.
        assert sorted(orders_in(database_url)) == ["o-1", "o-2", "o-3", "o-4"]

    def test_a_bad_header_takes_nothing(self, cli: CliRunner, database_url: str, tmp_path: Path) -> None:
        path = write(tmp_path, "orders.csv", f"{ORDERS},colour", f"{order_row('o-1')},red")

        result = cli.invoke(main, ["orders", "import", str(path)])

        assert result.exit_code == 1
        assert "unknown columns 'colour'" in result.stderr
        assert orders_in(database_url) == {}

    def test_a_missing_file_is_a_usage_error(self, cli: CliRunner, tmp_path: Path) -> None:
        assert cli.invoke(main, ["orders", "import", str(tmp_path / "nope.csv")]).exit_code == 2
