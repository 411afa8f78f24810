"""CSRF on every form: each page form carries the token, and every state-changing route outside the
bearer-key API, the signed webhooks and the redirects refuses a request without it."""

from __future__ import annotations

import re
import uuid

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.app import CSRF_EXEMPT
from growth.core.auth.rules import Role
from growth.core.db import PROJECT_ROOT
from tests.factories import create_key
from tests.pages import sign_in

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
FORM = re.compile(r"<form\b[^>]*>.*?</form>", re.S | re.I)
PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")


def _form_routes(app: Litestar) -> list[tuple[str, str]]:
    """(method, path with its parameters filled) of every unsafe route CSRF protects."""
    exempt = [re.compile(p) for p in CSRF_EXEMPT]
    routes = []
    for route in app.routes:
        methods = UNSAFE & set(getattr(route, "methods", ()))
        if not methods or any(p.search(route.path) for p in exempt):
            continue

        def fill(match: re.Match[str]) -> str:
            return str(uuid.uuid4()) if match.group(2) == "uuid" else "x1"

        path = PARAM.sub(fill, route.path)
        routes.extend((method, path) for method in sorted(methods))
    return routes


def test_every_post_form_in_the_templates_carries_the_token() -> None:
    forms = 0
    for template in sorted((PROJECT_ROOT / "templates").rglob("*.j2")):
        for form in FORM.findall(template.read_text()):
            if re.search(r'method="post"', form, re.I):
                forms += 1
                assert "csrf_input" in form, (
                    f"{template.relative_to(PROJECT_ROOT)}: a form without csrf_input"
                )
    assert forms >= 20  # the pages' forms were found (a broken pattern would pass on none)


async def test_every_form_route_refuses_a_post_without_the_token(
    app: Litestar, client: AsyncTestClient[Litestar]
) -> None:
    routes = _form_routes(app)
    assert len(routes) >= 20, routes  # sign-in, portal, review, shares, campaigns, webhooks, ...
    await client.get("/sign-in")  # the client now holds a CSRF cookie, but sends no token with it
    for method, path in routes:
        response = await client.request(method, path, data={"x": "1"}, follow_redirects=False)
        assert response.status_code == 403, (method, path, response.status_code)


@pytest.mark.parametrize("header", [{}, {"x-csrftoken": "forged"}])
async def test_a_forged_or_missing_token_is_refused_a_real_one_is_not(
    client: AsyncTestClient[Litestar], header: dict[str, str]
) -> None:
    page = await client.get("/sign-in")
    refused = await client.post("/sign-in", data={"key": "gk_x"}, headers=header)
    assert refused.status_code == 403
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    accepted = await client.post("/sign-in", data={"key": "gk_x", "_csrf_token": token.group(1)})
    assert accepted.status_code == 401  # past CSRF: the key itself is wrong


async def test_the_exempt_api_takes_no_authority_from_cookies(
    client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    """/api/ is exempt because only a bearer key opens it: a signed-in dashboard session does not."""
    key = await create_key(session, role=Role.admin)
    await session.commit()
    assert (await sign_in(client, key)).status_code == 303
    assert (await client.get("/dashboard")).status_code == 200  # the session cookie works on pages
    response = await client.post("/api/campaigns", json={"name": "x"})
    assert response.status_code == 401
