"""Take the README's screenshots: the demo's pages in headless Chromium, in English and Chinese.

Run from the repository root, with the package and Playwright installed (``pip install -e '.[test]'``)
and Debian's Chromium at ``/usr/bin/chromium``::

    python docs/screenshots.py

It runs ``growth demo`` (eight weeks of history) on a temporary SQLite database and a free port on
127.0.0.1, with the program's time zone set to Asia/Shanghai; signs in to the marketing dashboard
with the admin key the demo prints, and to the partner portal with the sign-in link the demo writes
to its log (no SMTP server is set); and writes full-page PNGs, 1280 pixels wide, to
``docs/screenshots/``. Nothing outside that folder and the temporary directory is touched.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
TIMEZONE = "Asia/Shanghai"
WIDTH = 1280
MAX_HEIGHT = 3200
"""Taller pages are cut here (the rest of a long table says nothing new)."""
SHARE_PAGE_HEIGHT = 2400
"""The share page lists every friend Alice referred: the first ones show each stage."""
PARTNER_EMAIL = "partners@northwind.example"
HISTORY_DAYS = 56
LINK = re.compile(r"/partner/sign-in/([A-Za-z0-9_-]{43})")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(
    log: Path, pattern: re.Pattern[str], server: subprocess.Popen[bytes], what: str
) -> re.Match[str]:
    deadline = time.monotonic() + 120
    while (match := pattern.search(log.read_text(errors="replace"))) is None:
        if server.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"no {what} from `growth demo`:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    return match


def _shoot(page: Page, name: str, max_height: int = MAX_HEIGHT) -> None:
    """A full-page PNG, cut at ``max_height``."""
    height = page.evaluate("document.documentElement.scrollHeight")
    path = OUT / name
    if height > max_height:
        page.screenshot(
            path=path, clip={"x": 0, "y": 0, "width": WIDTH, "height": max_height}, full_page=True
        )
    else:
        page.screenshot(path=path, full_page=True)
    print(f"{path.relative_to(ROOT)}  {path.stat().st_size // 1024} KB  (page {height} px)")


def _charts_drawn(page: Page) -> None:
    """Wait until Chart.js has drawn every canvas of the dashboard."""
    page.wait_for_function(
        """() => {
            const canvases = [...document.querySelectorAll('canvas')];
            return window.Chart && canvases.length > 0
                && canvases.every(c => Chart.getChart(c) && c.width > 0 && c.height > 0);
        }"""
    )
    page.wait_for_timeout(300)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "demo.log"
        env = os.environ | {
            "GROWTH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/demo.db",
            "GROWTH_TIMEZONE": TIMEZONE,
            "GROWTH_SMTP_URL": "",
        }
        growth = Path(sys.executable).with_name("growth")
        with log.open("wb") as out:
            server = subprocess.Popen(
                [str(growth), "demo", "--host", "127.0.0.1", "--port", str(port)],
                cwd=tmp,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            key = _wait_for(log, re.compile(r"Admin key\s*:\s*(\S+)"), server, "admin key").group(1)
            share = _wait_for(log, re.compile(r"Alice Chen\n\s+share page : (\S+)"), server, "share page")
            _wait_for(log, re.compile(r"Serving on"), server, "server")
            for _ in range(100):
                try:
                    httpx.get(f"{base}/health", timeout=1).raise_for_status()
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            _take(base, key, share.group(1), log, server)
        finally:
            server.terminate()
            server.wait(timeout=20)


def _take(base: str, key: str, share_url: str, log: Path, server: subprocess.Popen[bytes]) -> None:
    today = datetime.now(ZoneInfo(TIMEZONE)).date()
    weeks = f"from={(today - timedelta(days=HISTORY_DAYS)).isoformat()}&to={today.isoformat()}"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        for lang, locale in (("en", "en-US"), ("zh", "zh-CN")):
            context = browser.new_context(
                locale=locale,
                viewport={"width": WIDTH, "height": 900},
                device_scale_factor=1,
                timezone_id=TIMEZONE,
            )
            page = context.new_page()
            page.goto(f"{base}/sign-in")
            page.fill("#key", key)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            page.goto(f"{base}/marketing/analytics?{weeks}")
            _charts_drawn(page)
            _shoot(page, f"dashboard-{lang}.png")
            if lang == "en":
                page.goto(f"{base}/marketing/alerts")
                _shoot(page, "alerts-en.png")
            page.goto(share_url)
            page.wait_for_function("() => [...document.images].every(i => i.complete)")
            _shoot(page, f"share-page-{lang}.png", SHARE_PAGE_HEIGHT)
            seen = len(LINK.findall(log.read_text(errors="replace")))
            page.goto(f"{base}/partner/sign-in")
            page.fill("#email", PARTNER_EMAIL)
            page.click("#send-link")
            deadline = time.monotonic() + 30
            while len(links := LINK.findall(log.read_text(errors="replace"))) <= seen:
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit("no partner sign-in link in the demo's log")
                time.sleep(0.2)
            page.goto(f"{base}/partner/sign-in/{links[-1]}")
            page.click("#use-link")
            page.wait_for_url(f"{base}/partner")
            page.goto(f"{base}/partner/orders")
            _shoot(page, f"partner-portal-{lang}.png")
            context.close()
        browser.close()


if __name__ == "__main__":
    main()
