"""The README's curl walk-through runs, as written, against a live server."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import create_admin_key

README = Path(__file__).resolve().parents[1] / "README.md"


def _block_after(heading: str) -> str:
    text = README.read_text()
    section = text[text.index(heading) :]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, f"no sh block after {heading!r}"
    return match.group(1)


def _run(script: str, live_server: str, database_url: str, cwd: Path) -> str:
    """Run a README block with bash (strict mode) against the live server, as an admin; its output."""
    key = asyncio.run(create_admin_key(database_url))
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script.replace("http://127.0.0.1:8000", live_server)],
        cwd=cwd,
        env={"KEY": key, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_quick_start_has_exactly_two_commands() -> None:
    commands = [line for line in _block_after("## Quick start").splitlines() if line.strip()]
    assert len(commands) == 2
    assert commands[0].endswith("growth demo") and "pytest" in commands[1]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_flow_works(live_server: str, database_url: str, tmp_path: Path) -> None:
    script = _block_after("## The flow with curl").replace("/tmp/", f"{tmp_path}/")

    out = _run(script, live_server, database_url, tmp_path)

    assert '"external_id":"shop-42"' in out
    code = re.search(r'"code":"([0-9A-Z]{8})"', out)
    assert code, out
    assert re.search(
        rf"location: https://shop\.example/autumn\?utm_source=ref&ref={code.group(1)}&ref_click=", out, re.I
    )
    assert "set-cookie: growth_ref=" in out.lower()
    assert (tmp_path / "qr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "qr.svg").read_bytes().startswith(b"<svg")
    assert f"{live_server}/share/{code.group(1)}." in out
    assert '"external_id":"order-1001"' in out and '"refunded_amount":' not in out.split("order-1001")[0]
    assert '"method":"click"' in out, out
    assert '"event":"refunded","from_status":"paid","to_status":"paid","amount":5000' in out


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_rewards_flow_works(live_server: str, database_url: str, tmp_path: Path) -> None:
    out = _run(_block_after("## Campaigns and rewards"), live_server, database_url, tmp_path)

    assert '"sku":"HOME-CLEAN"' in out and out.count("201\n") == 3, out
    assert re.search(r'"coupon_code":"[0-9A-Z]{8}-[0-9A-Z]{6}","reward_type":"fixed_discount"', out), out
    assert '"is_usable":true' in out
    assert re.search(r'"side":"referrer","reward_type":"store_credit","status":"issued"', out), out
    assert re.search(r'"side":"referee","reward_type":"fixed_discount","status":"issued"', out), out
    assert '{"moved":1}' in out, out
    assert '[{"bucket":"store_credit","amount":2000,"currency":"CNY"}]' in out
    left = '"balances":[{"bucket":"store_credit","amount":1500,"currency":"CNY"}]}'
    assert out.rstrip().endswith(left), out
