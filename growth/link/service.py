"""Following a referral link, drawing its QR code, and building a customer's share page."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from growth.attribution import service as attribution_service
from growth.click import service as click_service
from growth.click.service import ClickSeen, ClickWriter
from growth.core import cache
from growth.core.db import SessionMaker
from growth.core.i18n import negotiate_locale, translations
from growth.core.money import Money
from growth.core.ports import (
    CampaignTerms,
    CampaignTermsLookup,
    RewardFacts,
    RewardsLookup,
    ShareSubmissionsLookup,
    SubmissionFacts,
    no_rewards,
    no_submissions,
)
from growth.core.time import utc_now
from growth.link.rules import (
    ReferralStage,
    ShareTarget,
    code_query,
    landing_parts,
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
from growth.referral_code.errors import ReferralCodeNotFound
from growth.referral_code.models import ReferralCode
from growth.referral_code.rules import code_key, is_well_formed, typed_code_key
from growth.settings import Settings

SECONDS_PER_DAY = 86_400
NOT_FOUND_SECONDS = 5.0
"""How long "no such code" is remembered (shorter than the TTL: a code just issued elsewhere works soon)."""
MAX_CACHED_CODES = 100_000
SWEEP_CHUNK = 500
log = structlog.get_logger()


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


@dataclass(frozen=True, slots=True)
class CachedCode:
    """A working code as redirects need it; each process keeps these in its ``LinkCache``."""

    referral_code_id: UUID
    campaign_id: UUID
    code_query: str
    """``ref=CODE&ref_click=`` (``rules.code_query``)."""


@dataclass(frozen=True, slots=True)
class CachedCampaign:
    """A campaign's terms as redirects need them."""

    landing_url: str
    accepts_clicks: bool
    attribution_window_days: int
    first_click: bool
    head: str
    fragment: str
    """The landing URL split for joining (``rules.landing_parts``)."""
    expires: float


@dataclass(frozen=True, slots=True)
class LinkTarget:
    """Where a code leads now: its code and its campaign's terms."""

    code: CachedCode
    campaign: CachedCampaign

    def location(self, click_id: str) -> str:
        """The landing page with the code and ``click_id`` attached."""
        return f"{self.campaign.head}{self.code.code_query}{click_id}{self.campaign.fragment}"


@dataclass(frozen=True, slots=True)
class _CodeEntry:
    code: CachedCode | None
    """None: no working code under this key."""
    expires: float
    """``clock()`` after which the entry is loaded again (None-entries only; codes are swept)."""
    tags: tuple[tuple[str, str], ...]
    """The invalidations (``growth.core.cache`` topic, key) that drop it."""


class LinkCache:
    """Working codes (by the code as typed in the link) and their campaigns' terms, per process, so
    that a redirect need not ask the database.

    Changes drop entries at once (``growth.core.cache``; in every process when Redis relays them). As a
    safety net for a lost invalidation: campaign terms expire after ``ttl`` seconds (and when the period
    starts or ends); cached codes are re-checked in bulk every ``ttl / 2`` seconds, a few queries for
    all of them instead of one per code; "no such code" is remembered for a few seconds only.
    """

    def __init__(
        self,
        session_maker: SessionMaker,
        terms_lookup: CampaignTermsLookup,
        *,
        ttl: float,
        code_param: str,
        click_param: str,
        max_entries: int = MAX_CACHED_CODES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session_maker = session_maker
        self._terms_lookup = terms_lookup
        self._ttl = ttl
        self._code_param, self._click_param = code_param, click_param
        self._max_entries = max_entries
        self._clock = clock
        self._codes: dict[str, _CodeEntry] = {}
        self._by_tag: dict[tuple[str, str], set[str]] = {}
        self._campaigns: dict[UUID, CachedCampaign] = {}
        self._loading: dict[object, asyncio.Future[Any]] = {}
        self._generation = 0
        """Moves on every invalidation: a load that started before one does not store its result."""
        self._sweeper: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    def __len__(self) -> int:
        return len(self._codes)

    def cached(self, code: str) -> LinkTarget | None:
        """Where ``code`` as typed leads if this process knows it already, without any I/O; None when
        ``target`` has to be asked (not cached, expired, or a code that does not work)."""
        entry = self._codes.get(code)
        if entry is None or entry.code is None:
            return None
        now = self._clock()
        campaign = self._campaigns.get(entry.code.campaign_id)
        if entry.expires <= now or campaign is None or campaign.expires <= now:
            return None
        return LinkTarget(entry.code, campaign)

    async def target(self, code: str) -> LinkTarget:
        """Where ``code`` as typed leads, or ``ReferralCodeNotFound``."""
        entry = self._codes.get(code)
        if entry is None or entry.expires <= self._clock():
            if not is_well_formed(code):  # never a code: not worth a database read, nor a cache slot
                raise ReferralCodeNotFound("no such referral code")
            entry = await self._once(code, self._load_code)
        if entry.code is None:
            raise ReferralCodeNotFound("no such referral code")
        campaign = self._campaigns.get(entry.code.campaign_id)
        if campaign is None or campaign.expires <= self._clock():
            campaign = await self._once(entry.code.campaign_id, self._load_campaign)
        if campaign is None:  # the campaign is gone
            raise ReferralCodeNotFound("no such referral code")
        return LinkTarget(entry.code, campaign)

    async def _once(self, key: Any, load: Callable[[Any], Awaitable[Any]]) -> Any:
        # Concurrent misses of one key share a single database read.
        if (pending := self._loading.get(key)) is not None:
            try:
                return await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if pending.cancelled() and task is not None and not task.cancelling():
                    return await self._once(key, load)  # the loader's client left; this one waits on
                raise
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            result = await load(key)
            future.set_result(result)
            return result
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            del self._loading[key]

    async def _load_code(self, code: str) -> _CodeEntry:
        generation = self._generation
        async with self._session_maker() as session:
            try:
                resolved = await referral_code_service.resolve_code(
                    session, code, terms_lookup=self._terms_lookup
                )
            except ReferralCodeNotFound:
                keys = {code_key(code), typed_code_key(code)}
                tags = tuple((cache.REFERRAL_CODE_CHANGED, key) for key in keys if key)
                entry = _CodeEntry(None, self._clock() + min(self._ttl, NOT_FOUND_SECONDS), tags)
            else:
                entry = self._code_entry(resolved.referral_code, code)
                self._store_campaign(resolved.terms, generation)
        if generation == self._generation:
            self._store_code(code, entry)
        return entry

    def _code_entry(self, found: ReferralCode, typed: str) -> _CodeEntry:
        cached = CachedCode(
            found.id,
            found.campaign_id,
            code_query(code_param=self._code_param, code=found.code, click_param=self._click_param),
        )
        tags = {(cache.REFERRAL_CODE_CHANGED, found.code_key), (cache.REFERRAL_CODE_CHANGED, code_key(typed))}
        if found.customer_id is not None:
            tags.add((cache.CUSTOMER_CHANGED, str(found.customer_id)))
        return _CodeEntry(cached, float("inf"), tuple(tags))

    async def preload(self) -> int:
        """Load the newest working codes (up to half the cache) as issued: a process that starts (a
        deploy, a restart) then answers its first redirects without a database read each."""
        generation = self._generation
        async with self._session_maker() as session:
            found = await referral_code_service.newest_working_codes(session, self._max_entries // 2)
        if generation != self._generation:
            return 0  # something changed meanwhile: load on demand instead
        for referral_code in found:
            if referral_code.code not in self._codes:
                self._store_code(referral_code.code, self._code_entry(referral_code, referral_code.code))
        return len(found)

    async def _load_campaign(self, campaign_id: UUID) -> CachedCampaign | None:
        generation = self._generation
        async with self._session_maker() as session:
            terms = await self._terms_lookup(session, campaign_id)
        return None if terms is None else self._store_campaign(terms, generation)

    def _store_campaign(self, terms: CampaignTerms, generation: int) -> CachedCampaign:
        lifetime = self._ttl
        if terms.accepts_clicks_changes_at is not None:
            # The campaign starts or ends before the TTL runs out: reload then.
            lifetime = min(lifetime, (terms.accepts_clicks_changes_at - utc_now()).total_seconds())
        head, fragment = landing_parts(
            terms.landing_url, code_param=self._code_param, click_param=self._click_param
        )
        campaign = CachedCampaign(
            landing_url=terms.landing_url,
            accepts_clicks=terms.accepts_clicks,
            attribution_window_days=terms.attribution_window_days,
            first_click=terms.first_click,
            head=head,
            fragment=fragment,
            expires=self._clock() + max(lifetime, 0.0),
        )
        if generation == self._generation:
            self._campaigns[terms.id] = campaign
        return campaign

    def _store_code(self, code: str, entry: _CodeEntry) -> None:
        self._drop(code)
        while len(self._codes) >= self._max_entries:
            self._drop(next(iter(self._codes)))  # the oldest stored
        self._codes[code] = entry
        for tag in entry.tags:
            self._by_tag.setdefault(tag, set()).add(code)

    def _drop(self, code: str) -> None:
        entry = self._codes.pop(code, None)
        if entry is None:
            return
        for tag in entry.tags:
            codes = self._by_tag.get(tag)
            if codes is not None:
                codes.discard(code)
                if not codes:
                    del self._by_tag[tag]

    def invalidate(self, topic: str, key: str) -> None:
        """Drop what ``(topic, key)`` concerns (a ``growth.core.cache`` listener)."""
        self._generation += 1
        if topic == cache.ALL:
            self._codes.clear()
            self._by_tag.clear()
            self._campaigns.clear()
        elif topic == cache.CAMPAIGN_CHANGED:
            self._campaigns.pop(UUID(key), None)
        else:
            for code in list(self._by_tag.get((topic, key), ())):
                self._drop(code)

    async def sweep(self) -> int:
        """Drop the cached codes that stopped working (revoked, customer deleted); how many."""
        by_id: dict[UUID, list[str]] = {}
        for typed, entry in list(self._codes.items()):
            if entry.code is not None:
                by_id.setdefault(entry.code.referral_code_id, []).append(typed)
        ids = list(by_id)
        working: set[UUID] = set()
        for start in range(0, len(ids), SWEEP_CHUNK):
            chunk = ids[start : start + SWEEP_CHUNK]
            async with self._session_maker() as session:
                working |= await referral_code_service.working_codes(session, chunk)
        stale = [typed for code_id in set(ids) - working for typed in by_id[code_id]]
        for typed in stale:
            self._drop(typed)
        if stale:
            self._generation += 1  # a load that read the code before it stopped must not store it
        return len(stale)

    async def _sweep_forever(self, stop: asyncio.Event) -> None:
        try:
            await self.preload()
        except Exception:  # codes load on demand instead
            log.exception("growth.link.cache_preload_failed")
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._ttl / 2)
            if stop.is_set():
                return
            try:
                await self.sweep()
            except Exception:  # the database may be away for a moment: try again next time
                log.exception("growth.link.cache_sweep_failed")

    def start(self) -> None:
        self._stop = asyncio.Event()
        self._sweeper = asyncio.create_task(self._sweep_forever(self._stop), name="link-cache-sweep")

    async def stop(self) -> None:
        """Let a preload or sweep in hand finish, then stop. Not a cancellation: cancelled in the middle
        of its query (an app stopped right after it started), the sweeper held the app's shutdown up
        for about 60 s, and in one CI run for ever."""
        if self._sweeper is not None:
            self._stop.set()
            await self._sweeper
            self._sweeper = None


@dataclass(frozen=True, slots=True)
class Redirects:
    """What ``/r/{code}`` needs, as one dependency: Litestar resolves several at once in a task group,
    which costs the hot path more than the redirect itself."""

    links: LinkCache
    clicks: ClickWriter
    cookie_name: str


async def follow_link(redirects: Redirects, *, code: str, visitor: Visitor, now: datetime) -> LinkOutcome:
    """Resolve the code (from the cache, else the database), then ``follow_target``."""
    return await follow_target(redirects, await redirects.links.target(code), visitor=visitor, now=now)


async def follow_target(
    redirects: Redirects, target: LinkTarget, *, visitor: Visitor, now: datetime
) -> LinkOutcome:
    """For a running campaign queue the click and attach code and click id; else just the landing page."""
    campaign = target.campaign
    if not campaign.accepts_clicks:
        # Paused or ended: the visitor still reaches the shop, but nothing is attributed or recorded.
        return LinkOutcome(campaign.landing_url, None)
    click_id = str(uuid7())
    await redirects.clicks.submit(
        ClickSeen(
            click_id,
            target.code.referral_code_id,
            target.code.campaign_id,
            now,
            visitor.ip,
            visitor.user_agent,
            visitor.referer,
        )
    )
    location = target.location(click_id)
    if campaign.first_click and visitor.attribution_cookie:
        # First click wins in this campaign: the earlier click keeps the cookie.
        return LinkOutcome(location, None)
    max_age = campaign.attribution_window_days * SECONDS_PER_DAY
    return LinkOutcome(location, AttributionCookie(redirects.cookie_name, click_id, max_age))


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
