"""Security headers on every kind of answer, the per-request nonce, and the policy in a real browser."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from growth.app import create_app
from growth.core.auth.rules import Role
from growth.core.security import content_security_policy
from growth.settings import Settings
from tests.conftest import create_admin_key
from tests.growth.risk.test_queue_browser import _create_key
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _require_browser, _seed, wait_for_js

FIXED = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "same-origin"}
NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]+)'")


def _assert_fixed(headers: object) -> None:
    for name, value in FIXED.items():
        assert headers[name] == value, name  # type: ignore[index]


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/health", 200),
        ("/sign-in", 200),  # a page
        ("/api/campaigns", 401),  # an API answer refused
        ("/no/such/route", 404),  # answered before any route's middleware
        ("/r/NOPE2345", 404),  # the redirect's friendly page
        ("/partner/sign-in", 200),
    ],
)
async def test_every_answer_carries_the_headers(
    client: AsyncTestClient[Litestar], path: str, status: int
) -> None:
    response = await client.get(path)
    assert response.status_code == status
    _assert_fixed(response.headers)
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


async def test_a_redirect_carries_them_too(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/marketing/reviews", follow_redirects=False)  # signed out: to sign-in
    assert response.status_code in (302, 303)
    _assert_fixed(response.headers)


async def test_inline_code_carries_the_nonce_of_its_own_request(client: AsyncTestClient[Litestar]) -> None:
    nonces = []
    for _ in range(2):
        response = await client.get("/partner/sign-in")
        match = NONCE.search(response.headers["content-security-policy"])
        assert match is not None
        nonce = match.group(1)
        tags = re.findall(r"<(?:style|script)\b[^>]*>", response.text)
        assert tags, "the page has inline code to check"
        for tag in tags:
            if "src=" not in tag and "application/json" not in tag:
                assert f'nonce="{nonce}"' in tag
        nonces.append(nonce)
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 20  # fresh and unguessable for every request


async def test_the_schema_viewer_keeps_its_own_inline_code(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/schema/swagger")
    assert response.status_code == 200
    _assert_fixed(response.headers)
    assert "content-security-policy" not in response.headers


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [("https://growth.example.com", "max-age=31536000; includeSubDomains"), ("http://127.0.0.1:8000", None)],
)
async def test_strict_transport_security_only_over_https(
    settings: Settings, base_url: str, expected: str | None
) -> None:
    async with AsyncTestClient(create_app(replace(settings, base_url=base_url))) as c:
        response = await c.get("/health")
    assert response.headers.get("strict-transport-security") == expected


def test_the_policy_names_only_this_origin() -> None:
    policy = content_security_policy("abc")
    assert "script-src 'self' 'nonce-abc'" in policy and "style-src 'self' 'nonce-abc'" in policy
    assert "http" not in policy  # no third-party origin is trusted


RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
    e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""


def test_pages_run_their_own_code_and_nothing_injected_in_chromium(
    live_server: str, database_url: str
) -> None:
    """The share page (copy button), the review queue and the dashboard draw and run with no violation;
    a script injected without the nonce is refused (the policy is enforced, not just sent)."""
    _require_browser()
    from playwright.sync_api import sync_playwright

    code = _seed(live_server, asyncio.run(create_admin_key(database_url)))
    key = asyncio.run(_create_key(database_url, Role.marketing))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 1200})
            context.add_init_script(RECORD_VIOLATIONS)
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
            page = context.new_page()

            page.goto(code["share_url"])
            page.click("#copy-link")  # an inline script with the nonce handles the click
            wait_for_js(page, "document.getElementById('copy-link-status').textContent.length > 0")
            assert page.evaluate("window.__violations") == []

            page.goto(f"{live_server}/marketing/reviews")
            page.fill("#key", key)
            page.click("button[type=submit]")
            page.goto(f"{live_server}/marketing/analytics")
            wait_for_js(page, "document.querySelectorAll('canvas').length > 0")
            assert page.evaluate("window.__violations") == []

            page.evaluate(
                "() => { const s = document.createElement('script');"
                " s.textContent = 'window.__injected = true'; document.body.appendChild(s); }"
            )
            wait_for_js(page, "window.__violations.length > 0")
            assert page.evaluate("window.__injected === undefined")
            assert page.evaluate("window.__violations")[0].startswith("script-src")
        finally:
            browser.close()
