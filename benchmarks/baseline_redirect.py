"""The baseline of the redirect benchmark: a bare Litestar 2 app whose ``/r/{code}`` answers the same 302.

Same Location shape (landing page + ``ref`` + ``ref_click``), same attribution cookie (name, a click
id of the same length, Max-Age, Path, HttpOnly, SameSite; a ready header, as the app writes it) and
``Cache-Control: no-store``, with no work at all: no cache, no click, no middleware.
``benchmarks.redirect`` serves it under granian with the same settings as the real app:

    granian --interface asgi --factory benchmarks.baseline_redirect:create_app
"""

from __future__ import annotations

from urllib.parse import quote_plus

from litestar import Litestar, get
from litestar.response import Redirect

LANDING_URL = "https://shop.example/landing?utm_source=ref"
CLICK_ID = "019abcde-f012-7345-8678-9abcdef01234"
"""A fixed click id, as long as the uuid7 the real app generates."""
COOKIE_MAX_AGE = 30 * 86_400


SET_COOKIE = f"growth_ref={CLICK_ID}; HttpOnly; Max-Age={COOKIE_MAX_AGE}; Path=/; SameSite=lax"
"""The cookie as a ready header, like the app writes it."""


@get("/r/{code:str}", status_code=302)
async def follow_link(code: str) -> Redirect:
    return Redirect(
        f"{LANDING_URL}&ref={quote_plus(code)}&ref_click={CLICK_ID}",
        status_code=302,
        headers={"Cache-Control": "no-store", "Set-Cookie": SET_COOKIE},
    )


def create_app() -> Litestar:
    """The bare app (a factory, like ``growth.app:create_app``)."""
    return Litestar(route_handlers=[follow_link])
