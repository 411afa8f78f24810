"""``growth statements issue`` in-process on the test database; the CLI runs its own loop, in a thread."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result
from sqlalchemy.ext.asyncio import AsyncEngine

from growth.cli import main
from growth.settings import get_settings
from tests.payouts.statement.conftest import Program, october


@pytest.fixture
def cli(database_url: str, engine: AsyncEngine) -> Iterator[CliRunner]:
    get_settings.cache_clear()
    yield CliRunner(env={"GROWTH_DATABASE_URL": database_url, "GROWTH_TIMEZONE": "Asia/Shanghai"})
    get_settings.cache_clear()


def _issue(cli: CliRunner, period: str) -> Result:
    return cli.invoke(main, ["statements", "issue", "--period", period])


async def test_issues_a_month_once(cli: CliRunner, program: Program) -> None:
    await october(program)

    first = await asyncio.to_thread(_issue, cli, "2025-10")
    again = await asyncio.to_thread(_issue, cli, "2025-10")

    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[-1] == "2025-10: 1 statements issued, 0 already issued"
    assert again.stdout.splitlines()[-1] == "2025-10: 0 statements issued, 1 already issued"


@pytest.mark.parametrize(("period", "words"), [("2025-13", "no month 13"), ("2999-12", "not over")])
def test_a_bad_period_fails(cli: CliRunner, period: str, words: str) -> None:
    result = _issue(cli, period)

    assert result.exit_code == 1
    assert words in result.output
