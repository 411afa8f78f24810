"""The referrer's status (share page) in Chromium: the friend's stage in English and Simplified Chinese."""

from __future__ import annotations

import asyncio

from playwright.sync_api import sync_playwright

from tests.campaigns.reward.test_browser import _seed
from tests.conftest import create_admin_key
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _browser_available  # noqa: F401  (autouse skip)


def test_friend_stage_in_both_languages_in_chromium(live_server: str, database_url: str) -> None:
    key = asyncio.run(create_admin_key(database_url))
    share_url, _ = _seed(live_server, key)  # Li Lei's order closed; the referrer's credit issued (no hold)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for locale, header, stage in (("en-US", "Stage", "Reward issued"), ("zh-CN", "进度", "奖励已发放")):
            page = browser.new_page(locale=locale)
            page.goto(share_url)
            friends = page.locator("#friends")
            assert friends.get_by_role("columnheader", name=header).is_visible()
            row = friends.locator('tr[data-stage="reward_issued"]')
            assert row.count() == 1 and "L. L." in row.inner_text() and stage in row.inner_text()
            assert "@" not in friends.inner_text()  # never a friend's e-mail
            page.close()
        browser.close()
