"""Portal use cases: e-mail a sign-in link, use it once, and gather what a partner's pages show.

Everything here is read for one partner, whose id comes from the signed session and never from a
URL: a page cannot name another partner's anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from growth.attribution import service as attribution_service
from growth.core import mail
from growth.core.email import is_valid_email, normalize_email
from growth.core.i18n import translations
from growth.core.money import Money
from growth.core.time import to_local
from growth.referral_code import service as referral_code_service
from growth.risk import service as risk_service
from payouts.commission import service as commission_service
from payouts.commission.models import Commission
from payouts.partner import repository as partner_repository
from payouts.partner import service as partner_service
from payouts.partner.models import Partner
from payouts.payout_run import service as payout_run_service
from payouts.payout_run.models import Payout
from payouts.portal.errors import PartnerSignInRequired, SignInLinkNotUsable
from payouts.portal.models import PartnerSignInLink
from payouts.portal.rules import (
    LINK_LIFETIME,
    MAX_OPEN_LINKS,
    SIGNS_IN,
    CommissionStage,
    ShownReason,
    commission_stage,
    expected_payout_on,
    hash_token,
    new_token,
    next_payout_date,
    payout_period,
    plausible_token,
    shown_reason,
)

log = structlog.get_logger()
SIGN_IN_PATH = "/partner/sign-in"


async def _open_links(session: AsyncSession, partner_id: UUID, now: datetime) -> int:
    query = select(PartnerSignInLink.id).where(
        PartnerSignInLink.partner_id == partner_id,
        PartnerSignInLink.used_at.is_(None),
        PartnerSignInLink.expires_at > now,
    )
    return len((await session.scalars(query)).all())


def sign_in_mail(partner: Partner, link: str, *, locale: str) -> mail.Mail:
    _ = translations(locale).gettext
    minutes = int(LINK_LIFETIME.total_seconds() // 60)
    text = "\n\n".join(
        [
            _("Hello %(name)s,") % {"name": partner.name},
            _("Open this link to sign in to your partner portal:"),
            link,
            _("The link works once, for %(minutes)d minutes.") % {"minutes": minutes},
            _("If you did not ask to sign in, ignore this e-mail: nobody can sign in without the link."),
        ]
    )
    return mail.Mail(
        to=partner.email, to_name=partner.name, subject=_("Your partner portal sign-in link"), text=text
    )


async def request_link(
    session: AsyncSession,
    *,
    email: str,
    now: datetime,
    base_url: str,
    locale: str,
    smtp_url: str,
    sender: str,
) -> bool:
    """E-mail a single-use sign-in link to the partner with this address, if there is one that may sign
    in; the answer to the visitor is the same either way (returned only for logs and tests)."""
    email = email.strip()
    if not is_valid_email(email):
        return False
    partner = await partner_repository.get_open_by_email_key(session, normalize_email(email))
    if partner is None or partner.status not in SIGNS_IN:
        log.info("portal.sign_in_link.no_partner")
        return False
    if await _open_links(session, partner.id, now) >= MAX_OPEN_LINKS:
        log.warning("portal.sign_in_link.too_many", partner_id=str(partner.id))
        return False
    token = new_token()
    session.add(
        PartnerSignInLink(partner_id=partner.id, token_hash=hash_token(token), expires_at=now + LINK_LIFETIME)
    )
    await session.flush()
    link = f"{base_url.rstrip('/')}{SIGN_IN_PATH}/{token}"
    # Sent inside the transaction: if the server refuses it, the link is never stored.
    await mail.send(sign_in_mail(partner, link, locale=locale), smtp_url=smtp_url, sender=sender)
    log.info("portal.sign_in_link.sent", partner_id=str(partner.id))
    return True


async def check_link(session: AsyncSession, token: str, *, now: datetime) -> None:
    """``SignInLinkNotUsable`` unless the link would sign in now (read only: e-mail scanners open
    links, so using one takes a press of the button on the page)."""
    if not plausible_token(token):
        raise SignInLinkNotUsable("this sign-in link is not valid")
    link = await session.scalar(
        select(PartnerSignInLink).where(PartnerSignInLink.token_hash == hash_token(token))
    )
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise SignInLinkNotUsable("this sign-in link has expired or was already used")


async def use_link(session: AsyncSession, token: str, *, now: datetime) -> UUID:
    """Spend the link and return its partner; a second use, even at the same moment, is refused."""
    if not plausible_token(token):
        raise SignInLinkNotUsable("this sign-in link is not valid")
    # One conditional UPDATE: of two concurrent uses, the database lets exactly one match.
    partner_id = await session.scalar(
        update(PartnerSignInLink)
        .where(
            PartnerSignInLink.token_hash == hash_token(token),
            PartnerSignInLink.used_at.is_(None),
            PartnerSignInLink.expires_at > now,
        )
        .values(used_at=now)
        .returning(PartnerSignInLink.partner_id)
    )
    if partner_id is None:
        raise SignInLinkNotUsable("this sign-in link has expired or was already used")
    await signed_in_partner(session, partner_id)
    log.info("portal.signed_in", partner_id=str(partner_id))
    return partner_id


async def signed_in_partner(session: AsyncSession, partner_id: UUID) -> Partner:
    """The partner of a session, checked on every page: a closed partner is signed out at once."""
    partner = await partner_repository.get(session, partner_id)
    if partner is None or partner.status not in SIGNS_IN:
        raise PartnerSignInRequired("sign in to your partner portal")
    return partner


# ------------------------------------------------------------------------------------------ pages


@dataclass(frozen=True, slots=True)
class Earnings:
    """One currency of a partner's money, by state, with when to expect the next step."""

    currency: str
    pending: Money
    next_approval_at: datetime | None
    awaiting_close: int
    payable: Money
    expected_payout_on: date | None
    """None when the payable balance is below the minimum payout (or nothing is payable)."""
    minimum: Money | None
    in_payout: Money
    paid: Money
    last_paid_at: datetime | None


@dataclass(frozen=True, slots=True)
class CodeView:
    code: str
    link: str
    qr_png_url: str
    qr_svg_url: str
    revoked: bool


@dataclass(frozen=True, slots=True)
class Overview:
    partner: Partner
    earnings: list[Earnings]
    codes: list[CodeView] = field(default_factory=list)


def _paid(payouts: list[Payout]) -> dict[str, tuple[int, datetime | None]]:
    totals: dict[str, tuple[int, datetime | None]] = {}
    for p in payouts:
        if p.status not in ("sent", "paid"):
            continue
        amount, last = totals.get(p.currency, (0, None))
        when = p.paid_at or p.sent_at
        totals[p.currency] = (amount + p.amount, max(filter(None, (last, when)), default=None))
    return totals


async def overview(
    session: AsyncSession,
    partner_id: UUID,
    *,
    now: datetime,
    tz: str,
    minimums: Mapping[str, int],
    base_url: str,
    secret: str,
) -> Overview:
    """Earnings by state per currency, with expected dates, and the partner's links and QR codes."""
    partner = await partner_service.get_partner(session, partner_id)
    balances: dict[tuple[str, str], int] = {
        (b.amount.currency, b.state): b.amount.amount
        for b in await commission_service.partner_balances(session, partner_id)
    }
    outlook = {o.currency: o for o in await commission_service.pending_outlook(session, partner_id)}
    paid = _paid(await payout_run_service.partner_payouts(session, partner_id))
    currencies = sorted({c for c, _ in balances} | set(outlook) | set(paid))
    earnings = []
    for currency in currencies:
        payable = balances.get((currency, "payable"), 0)
        minimum = minimums.get(currency)
        reaches = payable > 0 and payable >= (minimum or 0)
        pending_outlook = outlook.get(currency)
        earnings.append(
            Earnings(
                currency=currency,
                pending=Money(balances.get((currency, "pending"), 0), currency),
                next_approval_at=pending_outlook.next_approval_at if pending_outlook else None,
                awaiting_close=pending_outlook.awaiting_close if pending_outlook else 0,
                payable=Money(payable, currency),
                expected_payout_on=next_payout_date(now, tz) if reaches else None,
                minimum=Money(minimum, currency) if minimum else None,
                in_payout=Money(balances.get((currency, "in_payout"), 0), currency),
                paid=Money(paid.get(currency, (0, None))[0], currency),
                last_paid_at=paid.get(currency, (0, None))[1],
            )
        )
    codes = []
    for rc in await referral_code_service.partner_codes(session, partner_id):
        links = referral_code_service.links_for(rc.code, base_url=base_url, secret=secret)
        codes.append(
            CodeView(rc.code, links.link, links.qr_png_url, links.qr_svg_url, rc.revoked_at is not None)
        )
    return Overview(partner, earnings, codes)


@dataclass(frozen=True, slots=True)
class CommissionStatus:
    """One commission's stage, the day its payout is expected, and why it is held."""

    stage: CommissionStage
    expected_payout_on: date | None
    reason: ShownReason | None
    """Why it is held or reversed, as the partner is told (the review, the credit cap, a refund);
    None otherwise."""
    is_overdue: bool = False
    """The expected payout day has passed and the run has not paid it yet."""


@dataclass(frozen=True, slots=True)
class OrderRow:
    order: attribution_service.PartnerOrder
    commissions: list[Commission]
    statuses: dict[UUID, CommissionStatus] = field(default_factory=dict)
    """By commission id."""

    @property
    def order_amount(self) -> Money:
        return Money(self.order.amount, self.order.currency)

    @property
    def refunded(self) -> Money:
        return Money(self.order.refunded_amount, self.order.currency)

    @property
    def commission(self) -> Money | None:
        """What the order earns now: accrued less reversed, over its commissions."""
        if not self.commissions:
            return None
        net = sum(c.amount - c.reversed_amount for c in self.commissions)
        return Money(net, self.commissions[0].currency)


async def orders(
    session: AsyncSession, partner_id: UUID, *, limit: int, offset: int, now: datetime, tz: str
) -> list[OrderRow]:
    """The partner's attributed orders, newest first, each with its state, commission, the commission's
    stage and expected payout date."""
    found = await attribution_service.partner_orders(session, partner_id, limit=limit, offset=offset)
    commissions = await commission_service.commissions_of_orders(
        session, partner_id, [o.order_id for o in found]
    )
    payouts = await _payouts_by_period(session, partner_id)
    rows = []
    for o in found:
        of_order = commissions.get(o.order_id, [])
        rows.append(
            OrderRow(
                o,
                of_order,
                {c.id: await _status(session, c, o.status, payouts, now, tz) for c in of_order},
            )
        )
    return rows


async def _payouts_by_period(session: AsyncSession, partner_id: UUID) -> dict[tuple[str, str], str]:
    """The status of the partner's payout in each run, by the run's period and currency."""
    found = {}
    for payout in await payout_run_service.partner_payouts(session, partner_id):
        run = await payout_run_service.get_run(session, payout.run_id)
        found[(run.period, run.currency)] = payout.status
    return found


async def _status(
    session: AsyncSession,
    c: Commission,
    order_status: str,
    payouts: dict[tuple[str, str], str],
    now: datetime,
    tz: str,
) -> CommissionStatus:
    period = payout_period(c.approved_at, tz) if c.approved_at is not None else None
    payout_status = payouts.get((period, c.currency)) if period else None
    stage = commission_stage(
        status=c.status, is_held=c.is_order_held, reason=c.reason, payout_status=payout_status
    )
    passed_over = (
        stage is CommissionStage.payable
        and period is not None
        and await payout_run_service.find_run(session, period=period, currency=c.currency) is not None
    )
    expected = expected_payout_on(
        stage,
        approve_after=c.approve_after,
        approved_at=c.approved_at,
        is_passed_over=passed_over,
        now=now,
        tz=tz,
    )
    return CommissionStatus(
        stage=stage,
        expected_payout_on=expected,
        reason=shown_reason(
            stage, by_review=risk_service.is_review_reason(c.reason), order_status=order_status
        ),
        is_overdue=expected is not None and expected < to_local(now, tz).date(),
    )
