"""Following a referral link, drawing its QR code, and building a customer's share page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from growth.click.rules import clean_header, hash_ip
from growth.click.service import ClickWriter
from growth.core.i18n import translations
from growth.core.ports import CampaignTermsLookup
from growth.link.rules import (
    ShareTarget,
    landing_url_with_code,
    qr_etag,
    qr_png,
    qr_svg,
    referral_link,
    share_targets,
)
from growth.referral_code import service as referral_code_service
from growth.settings import Settings

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, slots=True)
class Visitor:
    """What a redirect knows of the person who clicked."""

    ip: str | None
    user_agent: str | None
    referer: str | None
    attribution_cookie: str | None = None
    """The click id already in the visitor's attribution cookie, if any."""


@dataclass(frozen=True, slots=True)
class AttributionCookie:
    name: str
    value: str
    max_age: int


@dataclass(frozen=True, slots=True)
class LinkOutcome:
    """Where the visitor goes, and the cookie to set when the click counts."""

    location: str
    cookie: AttributionCookie | None


async def follow_link(
    session: AsyncSession,
    *,
    code: str,
    visitor: Visitor,
    terms_lookup: CampaignTermsLookup,
    clicks: ClickWriter,
    settings: Settings,
    now: datetime,
) -> LinkOutcome:
    """Resolve the code; for a running campaign queue the click and attach code and click id."""
    resolved = await referral_code_service.resolve_code(session, code, terms_lookup=terms_lookup)
    terms = resolved.terms
    if not terms.accepts_clicks:
        # Paused or ended: the visitor still reaches the shop, but nothing is attributed or recorded.
        return LinkOutcome(terms.landing_url, None)
    click_id = str(uuid7())
    await clicks.submit(
        {
            "id": click_id,
            "referral_code_id": resolved.referral_code.id,
            "campaign_id": terms.id,
            "clicked_at": now,
            "ip_hash": hash_ip(settings.resolved_secret(), visitor.ip),
            "user_agent": clean_header(visitor.user_agent, 512),
            "referer": clean_header(visitor.referer, 2000),
            "created_at": now,
            "updated_at": now,
        }
    )
    location = landing_url_with_code(
        terms.landing_url,
        {
            settings.referral_param: resolved.referral_code.code,
            settings.click_param: click_id,
        },
    )
    cookie = AttributionCookie(
        settings.cookie_name, click_id, terms.attribution_window_days * SECONDS_PER_DAY
    )
    if terms.first_click and visitor.attribution_cookie:
        # First click wins in this campaign: the earlier click keeps the cookie.
        return LinkOutcome(location, None)
    return LinkOutcome(location, cookie)


@dataclass(frozen=True, slots=True)
class QrImage:
    content: bytes
    media_type: str
    etag: str


async def qr_image(
    session: AsyncSession, *, code: str, fmt: str, size: int, terms_lookup: CampaignTermsLookup, base_url: str
) -> QrImage:
    """The QR code of a working code's link, as ``svg`` or ``png``."""
    resolved = await referral_code_service.resolve_code(session, code, terms_lookup=terms_lookup)
    link = referral_link(base_url, resolved.referral_code.code)
    if fmt == "svg":
        return QrImage(qr_svg(link, size), "image/svg+xml", qr_etag(link, size, fmt))
    return QrImage(qr_png(link, size), "image/png", qr_etag(link, size, fmt))


@dataclass(frozen=True, slots=True)
class ShareView:
    """Everything the share page shows, already decided; the template only formats it."""

    code: str
    link: str
    qr_svg_url: str
    qr_png_url: str
    campaign_name: str
    hashtag: str | None
    referrer_name: str | None
    targets: list[ShareTarget]


async def share_view(
    session: AsyncSession, *, token: str, locale: str, terms_lookup: CampaignTermsLookup, settings: Settings
) -> ShareView:
    """The share page behind a signed token; a forged or stale token is a 404."""
    resolved = await referral_code_service.resolve_share_token(
        session, token, secret=settings.resolved_secret(), terms_lookup=terms_lookup
    )
    link = referral_link(settings.base_url, resolved.referral_code.code)
    gettext = translations(locale).gettext
    text = gettext("I like %(campaign)s - use my link and we both get a reward:") % {
        "campaign": resolved.terms.name
    }
    if resolved.terms.hashtag:
        text = f"{text} {resolved.terms.hashtag}"
    return ShareView(
        code=resolved.referral_code.code,
        link=link,
        qr_svg_url=f"{link}/qr.svg?size=240",
        qr_png_url=f"{link}/qr.png?size=512",
        campaign_name=resolved.terms.name,
        hashtag=resolved.terms.hashtag,
        referrer_name=resolved.customer.name if resolved.customer else None,
        targets=share_targets(link, text, gettext("A gift for you")),
    )
