"""Helpers for page tests: read the CSRF token a form carries, and sign in like a person does."""

from __future__ import annotations

import re
from typing import Any

from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient

HTML = {"accept": "text/html,application/xhtml+xml"}
_CSRF_INPUT = re.compile(r'<input type="hidden" name="_csrf_token" value="([^"]+)"')


def csrf_token(html: str) -> str:
    """The token of the first form on a page."""
    match = _CSRF_INPUT.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


async def post_form(
    client: AsyncTestClient[Litestar],
    form_page: str,
    action: str,
    data: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> Response:
    """Open ``form_page``, then post ``data`` to ``action`` with the token that page gave (no redirects)."""
    headers = HTML | (headers or {})
    page = await client.get(form_page, headers=headers)
    assert page.status_code == 200, page.text
    token = csrf_token(page.text)
    return await client.post(
        action, data={**data, "_csrf_token": token}, headers=headers, follow_redirects=False
    )


async def sign_in(client: AsyncTestClient[Litestar], key: str, *, next_path: str = "") -> Response:
    """Sign in with an API key through the sign-in form; the client keeps the session cookie."""
    return await post_form(client, "/sign-in", "/sign-in", {"key": key, "next": next_path})
