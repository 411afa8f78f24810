"""Dashboard sign-in: an API key pasted once becomes a signed session cookie, checked on every page."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth import service as auth_service
from growth.core.auth.rules import DashboardSession, Role, derived_secret, encode_session
from growth.core.time import utc_now
from tests.conftest import SECRET
from tests.factories import create_key
from tests.pages import HTML, csrf_token, post_form, sign_in

PAGE = "/marketing/campaigns"


async def _key(session: AsyncSession, role: Role) -> str:
    key = await create_key(session, role=role)
    await session.commit()
    return key


async def _key_id(session: AsyncSession, key: str) -> UUID:
    principal = await auth_service.authenticate(session, key, now=utc_now())
    await session.commit()  # SQLite: the app waits for this session's write lock otherwise
    return principal.key_id


def _set_cookies(response: object) -> list[str]:
    return response.headers.get_list("set-cookie")  # type: ignore[attr-defined]


def _session_cookie(response: object) -> str:
    found = [c for c in _set_cookies(response) if c.startswith("growth_session=")]
    assert len(found) == 1, _set_cookies(response)
    return found[0]


class TestSignInPage:
    async def test_form_carries_a_csrf_token(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.get("/sign-in", headers=HTML)

        assert response.status_code == 200
        assert "Sign in to the dashboard" in response.text
        assert csrf_token(response.text)
        csrf_cookie = next(c for c in _set_cookies(response) if c.startswith("growth_csrf="))
        assert "SameSite=lax" in csrf_cookie and "Secure" in csrf_cookie
        assert response.headers["cache-control"] == "no-store"

    async def test_in_chinese(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.get("/sign-in", headers=HTML | {"accept-language": "zh-CN,zh;q=0.9"})

        assert '<html lang="zh-Hans">' in response.text
        assert "登录管理后台" in response.text


class TestSignIn:
    async def test_marketing_key_gets_a_session_and_the_pages(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key = await _key(session, Role.marketing)

        response = await sign_in(client, key)

        assert response.status_code == 303
        assert response.headers["location"] == "/dashboard"
        cookie = _session_cookie(response)
        for attribute in ("HttpOnly", "SameSite=lax", "Secure", "Path=/", "Max-Age=43200"):
            assert attribute in cookie
        assert key not in cookie  # the cookie names the key's id, never its secret
        page = await client.get(PAGE, headers=HTML)
        assert page.status_code == 200
        assert "Signed in as" in page.text and "marketing" in page.text
        home = await client.get("/dashboard", headers=HTML)
        assert home.status_code == 200 and f'href="{PAGE}"' in home.text

    async def test_admin_key_signs_in(self, client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
        response = await sign_in(client, await _key(session, Role.admin), next_path=PAGE)

        assert (response.status_code, response.headers["location"]) == (303, PAGE)
        assert (await client.get(PAGE, headers=HTML)).status_code == 200

    async def test_finance_key_signs_in_but_may_not_open_campaigns(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        await sign_in(client, await _key(session, Role.finance))

        home = await client.get("/dashboard", headers=HTML)
        page = await client.get(PAGE, headers=HTML)

        assert home.status_code == 200 and f'href="{PAGE}"' not in home.text
        assert page.status_code == 403
        assert "Not allowed" in page.text and "Sign in with another key" in page.text

    @pytest.mark.parametrize(
        "key",
        ["", "not-a-key", "gk_12345678_" + "x" * 43, "gk_deadbeef_" + "y" * 43],
        ids=["empty", "malformed", "unknown", "unknown-prefix"],
    )
    async def test_bad_key_is_a_401_page(self, client: AsyncTestClient[Litestar], key: str) -> None:
        response = await sign_in(client, key)

        assert response.status_code == 401
        assert "This key is not valid: it is unknown, revoked or mistyped." in response.text
        assert not any(c.startswith("growth_session=") for c in _set_cookies(response))
        assert csrf_token(response.text)  # the form is shown again, ready for another try

    @pytest.mark.parametrize("role", [Role.partner, Role.shop])
    async def test_partner_and_shop_keys_are_refused(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, role: Role
    ) -> None:
        response = await sign_in(client, await _key(session, role))

        assert response.status_code == 403
        assert "Partner and shop keys cannot sign in to the dashboard" in response.text
        assert f"this is a {role.value} key" in response.text
        assert not any(c.startswith("growth_session=") for c in _set_cookies(response))
        assert (await client.get(PAGE, follow_redirects=False)).status_code == 303

    async def test_partner_refusal_in_chinese(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key = await _key(session, Role.partner)
        zh = {"accept-language": "zh-CN"}

        response = await post_form(client, "/sign-in", "/sign-in", {"key": key}, headers=zh)

        assert response.status_code == 403
        assert "合作伙伴和店铺密钥不能登录管理后台" in response.text

    @pytest.mark.parametrize(
        "target",
        [
            "https://evil.example/phish",
            "//evil.example/phish",
            "/\\evil.example/phish",
            "\\\\evil.example",
            "javascript:alert(1)",
            "http:/evil.example",
            "/ok\r\nSet-Cookie: x=1",
            "marketing/campaigns",
        ],
    )
    async def test_next_never_leaves_the_site(
        self, client: AsyncTestClient[Litestar], session: AsyncSession, target: str
    ) -> None:
        response = await sign_in(client, await _key(session, Role.marketing), next_path=target)

        assert response.status_code == 303
        assert response.headers["location"] == "/dashboard"

    async def test_local_next_with_query_is_followed(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        response = await sign_in(
            client, await _key(session, Role.marketing), next_path=f"{PAGE}?status=active"
        )

        assert response.headers["location"] == f"{PAGE}?status=active"

    async def test_without_csrf_token_is_refused(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key = await _key(session, Role.marketing)
        await client.get("/sign-in", headers=HTML)  # has the CSRF cookie, but posts no token

        response = await client.post("/sign-in", data={"key": key}, headers=HTML, follow_redirects=False)

        assert response.status_code == 403
        assert "This request was refused" in response.text
        assert not any(c.startswith("growth_session=") for c in _set_cookies(response))


class TestPagesNeedASession:
    async def test_no_session_redirects_to_sign_in_with_next(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.get(f"{PAGE}?status=paused", headers=HTML, follow_redirects=False)

        assert response.status_code == 303
        location = urlsplit(response.headers["location"])
        assert location.path == "/sign-in"
        assert parse_qs(location.query) == {"next": [f"{PAGE}?status=paused"]}

    async def test_sign_in_page_keeps_next_and_returns_there(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key = await _key(session, Role.marketing)
        redirect = await client.get(PAGE, headers=HTML, follow_redirects=False)
        form = await client.get(redirect.headers["location"], headers=HTML)
        assert f'name="next" value="{PAGE}"' in form.text

        response = await client.post(
            "/sign-in",
            data={"key": key, "next": PAGE, "_csrf_token": csrf_token(form.text)},
            headers=HTML,
            follow_redirects=False,
        )

        assert response.headers["location"] == PAGE

    @pytest.mark.parametrize(
        "value",
        ["garbage", "", "a.b.c.d"],
    )
    async def test_garbage_cookie_redirects(self, client: AsyncTestClient[Litestar], value: str) -> None:
        client.cookies.set("growth_session", value, domain="growth.test")

        response = await client.get(PAGE, headers=HTML, follow_redirects=False)

        assert response.status_code == 303

    async def test_forged_role_is_refused(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key = await _key(session, Role.finance)
        response = await sign_in(client, key)
        value = _session_cookie(response).split(";")[0].split("=", 1)[1]
        key_id, _, issued, signature = value.split(".")
        client.cookies.set("growth_session", f"{key_id}.marketing.{issued}.{signature}", domain="growth.test")

        page = await client.get(PAGE, headers=HTML, follow_redirects=False)

        assert page.status_code == 303

    async def test_expired_session_redirects(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key_id = await _key_id(session, await _key(session, Role.marketing))
        old = DashboardSession(key_id, Role.marketing, utc_now() - timedelta(hours=12, seconds=1))
        client.cookies.set(
            "growth_session", encode_session(old, derived_secret(SECRET, "session")), domain="growth.test"
        )

        page = await client.get(PAGE, headers=HTML, follow_redirects=False)

        assert page.status_code == 303

    async def test_session_signed_with_the_app_secret_works(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key_id = await _key_id(session, await _key(session, Role.marketing))
        fresh = DashboardSession(key_id, Role.marketing, utc_now())
        client.cookies.set(
            "growth_session", encode_session(fresh, derived_secret(SECRET, "session")), domain="growth.test"
        )

        assert (await client.get(PAGE, headers=HTML)).status_code == 200


class TestSignOut:
    async def test_sign_out_forgets_the_session(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        await sign_in(client, await _key(session, Role.marketing))

        response = await post_form(client, PAGE, "/sign-out", {})

        assert response.status_code == 303
        assert response.headers["location"] == "/sign-in"
        assert "Max-Age=0" in _session_cookie(response)
        assert (await client.get(PAGE, headers=HTML, follow_redirects=False)).status_code == 303

    async def test_sign_out_needs_the_csrf_token(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        await sign_in(client, await _key(session, Role.marketing))

        response = await client.post("/sign-out", headers=HTML, follow_redirects=False)

        assert response.status_code == 403
        assert (await client.get(PAGE, headers=HTML)).status_code == 200

    async def test_revoked_key_is_signed_out_on_the_next_page(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        key = await _key(session, Role.marketing)
        await sign_in(client, key)
        assert (await client.get(PAGE, headers=HTML)).status_code == 200
        await auth_service.revoke_key(session, await _key_id(session, key), now=utc_now())
        await session.commit()

        response = await client.get(PAGE, headers=HTML, follow_redirects=False)

        assert response.status_code == 303
        assert response.headers["location"].startswith("/sign-in?next=")
        assert "Max-Age=0" in _session_cookie(response)


class TestCsrfExemptions:
    """Machines (bearer keys, signatures) skip the CSRF check; every cookie-authenticated form has it."""

    @pytest.mark.parametrize(
        ("path", "exempt"),
        [
            ("/api/campaigns", True),
            ("/api/keys/0190f5e8-7a1b-7c3d-8e4f-5a6b7c8d9e0f", True),
            ("/webhooks/stripe", True),
            ("/r/ABCD2345", True),
            ("/r/ABCD2345/qr.svg", True),
            ("/schema", True),
            ("/schema/openapi.json", True),
            ("/health", True),
            ("/static/swagger-ui/swagger-ui.css", True),
            ("/sign-in", False),
            ("/sign-out", False),
            ("/dashboard", False),
            ("/marketing/campaigns", False),
            ("/marketing/campaigns/api/x", False),  # matched at the start only
            ("/marketing/r/x", False),
            ("/share/token/submissions", False),
        ],
    )
    def test_exempt_paths(self, path: str, exempt: bool) -> None:
        from growth.app import CSRF_EXEMPT

        # Litestar joins the patterns and searches the path with findall (litestar/middleware/_utils.py).
        assert bool(re.compile("|".join(CSRF_EXEMPT)).findall(path)) is exempt
