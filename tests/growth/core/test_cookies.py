"""Every cookie the service sets is HttpOnly, SameSite=Lax and, over https, Secure."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http.cookies import SimpleCookie

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from growth.core.time import utc_now
from payouts.portal.models import PartnerSignInLink
from payouts.portal.rules import LINK_LIFETIME, hash_token, new_token
from tests.factories import create_campaign, create_customer, create_key, create_partner, issue_code
from tests.pages import HTML, csrf_token, sign_in


@pytest.fixture
async def https_client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app, base_url="https://growth.test") as c:
        yield c


def _cookies(response: object) -> dict[str, str]:
    """Each Set-Cookie header of a response, by cookie name."""
    found = {}
    for header in response.headers.get_list("set-cookie"):  # type: ignore[attr-defined]
        name = next(iter(SimpleCookie(header).keys()))
        found[name] = header
    return found


def _assert_flags(name: str, header: str) -> None:
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in header.split(";")[1:]}
    assert "httponly" in attributes, f"{name} is readable by scripts: {header}"
    assert "secure" in attributes, f"{name} would travel over http: {header}"
    assert attributes.get("samesite", "").lower() == "samesite=lax", f"{name}: {header}"


async def test_every_cookie_is_http_only_same_site_and_secure(
    https_client: AsyncTestClient[Litestar], session: AsyncSession
) -> None:
    campaign = await create_campaign(session)
    code = (await issue_code(session, campaign=campaign, customer=await create_customer(session))).code
    key = await create_key(session, role=Role.marketing)
    partner = await create_partner(session, email="ada@northwind.example")
    token = new_token()
    session.add(
        PartnerSignInLink(
            partner_id=partner.id, token_hash=hash_token(token), expires_at=utc_now() + LINK_LIFETIME
        )
    )
    await session.commit()
    seen: dict[str, str] = {}

    seen |= _cookies(await https_client.get("/sign-in?lang=zh", headers=HTML))  # CSRF and language
    seen |= _cookies(await sign_in(https_client, key))  # the dashboard session
    seen |= _cookies(await https_client.get(f"/r/{code}", follow_redirects=False))  # the attribution
    https_client.cookies.clear()
    page = await https_client.get(f"/partner/sign-in/{token}", headers=HTML)
    used = await https_client.post(
        f"/partner/sign-in/{token}", data={"_csrf_token": csrf_token(page.text)}, follow_redirects=False
    )
    assert used.status_code == 303
    seen |= _cookies(used)  # the partner's portal session

    assert set(seen) >= {"growth_csrf", "growth_lang", "growth_session", "growth_ref", "growth_partner"}
    for name, header in seen.items():
        _assert_flags(name, header)
    assert "Path=/partner" in seen["growth_partner"]
