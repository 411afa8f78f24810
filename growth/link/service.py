"""Following a referral link, drawing its QR code, and building a customer's share page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from growth.attribution import service as attribution_service
from growth.click import service as click_service
from growth.click.rules import clean_header, hash_ip
from growth.click.service import ClickWriter
from growth.core.i18n import negotiate_locale, translations
from growth.core.money import Money
from growth.core.ports import (
    CampaignTermsLookup,
    RewardFacts,
    RewardsLookup,
    ShareSubmissionsLookup,
    SubmissionFacts,
    no_rewards,
    no_submissions,
)
from growth.link.rules import (
    ReferralStage,
    ShareTarget,
    landing_url_with_code,
    percent_label,
    personal_hashtag,
    post_form_notice,
    qr_etag,
    qr_png,
    qr_svg,
    referral_link,
    referral_stage,
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
class ReferralRow:
    """One friend's order, as the referrer sees it: initials, stage, and the reward it earned."""

    friend_initials: str | None
    ordered_at: datetime
    order_status: str
    reward_status: str | None
    """The referrer's reward for this friend: ``pending``, ``approved``, ``issued``, ... or None."""
    reward_reason: str | None
    expected_at: datetime | None
    """When the next stage is expected (the end of the hold; a pack's fulfilment), UTC."""
    stage: ReferralStage = ReferralStage.ordered
    """Where the friend's order stands: ordered, order closed, in review, reward approved/issued/delivered."""
    needs_address: bool = False
    """The reward is a pack waiting for the referrer's shipping address."""


@dataclass(frozen=True, slots=True)
class RewardRow:
    """One of the customer's rewards on their page."""

    facts: RewardFacts
    value: Money | None
    """What it is worth (None for a percent discount, shown as a rate)."""
    percent: str | None
    address_form_url: str | None
    """Where the shipping-address form posts, when a pack waits for it."""
    store_credit_form_url: str | None = None
    """Where the "take store credit now" button posts, when a pack waits for its restock."""
    store_credit: Money | None = None
    """The store credit that button gives."""


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
    personal_hashtag: str | None = None
    """Social-share campaigns: the customer's own tag, so their posts can be traced."""
    takes_posts: bool = False
    """Social-share campaigns: the page lists the customer's posts and has a form to submit one."""
    is_open_for_posts: bool = False
    post_form_url: str | None = None
    notice: str | None = None
    """The outcome of the post just submitted: ``submitted`` or an error code."""
    submissions: tuple[SubmissionFacts, ...] = ()
    locale: str = "en"
    """The language the page is shown in."""
    referrals: tuple[ReferralRow, ...] = ()
    rewards: tuple[RewardRow, ...] = ()
    address_notice: str | None = None
    """``saved`` after a shipping address was confirmed, or an error code."""
    credit_notice: str | None = None
    """``taken`` after a waiting pack was taken as store credit, or an error code."""
    clicks: int = 0
    """How many times friends opened the link (the "clicked" stage, before any order)."""


async def share_view(
    session: AsyncSession,
    *,
    token: str,
    accept_language: str | None,
    lang: str | None,
    terms_lookup: CampaignTermsLookup,
    settings: Settings,
    submissions_lookup: ShareSubmissionsLookup = no_submissions,
    submitted: str | None = None,
    error: str | None = None,
    rewards_lookup: RewardsLookup = no_rewards,
    address_notice: str | None = None,
    credit_notice: str | None = None,
) -> ShareView:
    """The share page behind a signed token; a forged or stale token is a 404."""
    resolved = await referral_code_service.resolve_share_token(
        session, token, secret=settings.resolved_secret(), terms_lookup=terms_lookup
    )
    code, terms = resolved.referral_code, resolved.terms
    link = referral_link(settings.base_url, code.code)
    # ``?lang=`` wins, then the campaign's language, then the browser's.
    locale = negotiate_locale(accept_language, override=lang or terms.locale, default=settings.default_locale)
    gettext = translations(locale).gettext
    text = gettext("I like %(campaign)s - use my link and we both get a reward:") % {"campaign": terms.name}
    takes_posts = terms.kind == "social_share" and resolved.customer is not None
    own_tag = personal_hashtag(terms.hashtag, code.code) if takes_posts and terms.hashtag else None
    text = " ".join(filter(None, (text, terms.hashtag, own_tag)))
    return ShareView(
        code=resolved.referral_code.code,
        link=link,
        qr_svg_url=f"{link}/qr.svg?size=240",
        qr_png_url=f"{link}/qr.png?size=512",
        campaign_name=resolved.terms.name,
        hashtag=resolved.terms.hashtag,
        referrer_name=resolved.customer.name if resolved.customer else None,
        targets=share_targets(link, text, gettext("A gift for you")),
        personal_hashtag=own_tag,
        takes_posts=takes_posts,
        is_open_for_posts=takes_posts and terms.accepts_clicks,
        post_form_url=f"/share/{quote(token, safe='')}/submissions" if takes_posts else None,
        notice=post_form_notice(submitted, error) if takes_posts else None,
        submissions=tuple(await submissions_lookup(session, code.id)) if takes_posts else (),
        **await _referrals_and_rewards(session, resolved, token, rewards_lookup),
        address_notice=address_notice,
        credit_notice=credit_notice,
        locale=locale,
    )


async def _referrals_and_rewards(
    session: AsyncSession,
    resolved: referral_code_service.ResolvedCode,
    token: str,
    rewards_lookup: RewardsLookup,
) -> dict[str, tuple[ReferralRow, ...] | tuple[RewardRow, ...] | int]:
    """The friends this code brought (with the reward each earned) and all the customer's rewards."""
    if resolved.customer is None:
        return {}
    facts = await rewards_lookup(session, resolved.customer.id, resolved.terms.id)
    for_friend = {f.referee_customer_id: f for f in facts if f.side == "referrer"}
    referrals = []
    for referral in await attribution_service.referrals(session, resolved.referral_code.id):
        reward = for_friend.get(referral.friend_customer_id)
        referrals.append(
            ReferralRow(
                friend_initials=referral.friend_initials,
                ordered_at=referral.ordered_at,
                order_status=referral.order_status,
                reward_status=reward.status if reward else None,
                reward_reason=reward.reason if reward else None,
                expected_at=reward.expected_at if reward else None,
                stage=referral_stage(
                    order_status=referral.order_status,
                    reward_status=reward.status if reward else None,
                    is_in_review=reward.is_in_review if reward else False,
                ),
                needs_address=reward.needs_address if reward else False,
            )
        )
    form = f"/share/{quote(token, safe='')}/rewards"
    rows = [
        RewardRow(
            facts=f,
            value=None if f.rate_bps is not None else Money(f.amount, f.currency),
            percent=percent_label(f.rate_bps) if f.rate_bps is not None else None,
            address_form_url=f"{form}/{f.id}/address" if f.needs_address else None,
            store_credit_form_url=f"{form}/{f.id}/store-credit" if f.store_credit_offer else None,
            store_credit=Money(f.store_credit_offer, f.currency) if f.store_credit_offer else None,
        )
        for f in facts
    ]
    clicks = await click_service.clicks_for_code(session, resolved.referral_code.id)
    return {"referrals": tuple(referrals), "rewards": tuple(rows), "clicks": clicks}
