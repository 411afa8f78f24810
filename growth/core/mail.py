"""Sending e-mail over SMTP (``GROWTH_SMTP_URL``); without a server, mail is logged instead.

``smtp://host:port`` sends in the clear (a local relay), ``smtp+starttls://`` upgrades with STARTTLS,
``smtps://`` connects with TLS; ``user:password@`` in the URL logs in. ``aiosmtplib`` does the
talking, on the event loop, so a slow server never blocks a thread.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from urllib.parse import unquote, urlsplit

import aiosmtplib
import structlog

from growth.core.email import mask_email
from growth.core.errors import DomainError

log = structlog.get_logger()
SCHEMES = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
TIMEOUT_SECONDS = 10.0


class MailNotSent(DomainError):
    """The SMTP server refused the message or could not be reached."""

    status_code = 503


@dataclass(frozen=True, slots=True)
class Mail:
    to: str
    subject: str
    text: str
    to_name: str | None = None


@dataclass(frozen=True, slots=True)
class SmtpServer:
    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpServer | None:
    """The server an ``smtp://`` URL names; None for an empty URL; ``ValueError`` for a bad one."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ValueError(f"mail server {url!r} is not smtp://, smtp+starttls:// or smtps://host[:port]")
    return SmtpServer(
        parts.scheme,
        parts.hostname,
        parts.port or SCHEMES[parts.scheme],
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
    )


def build_message(mail: Mail, *, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((mail.to_name or "", mail.to))
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text)
    return message


async def _deliver(server: SmtpServer, message: EmailMessage) -> None:
    await aiosmtplib.send(
        message,
        hostname=server.host,
        port=server.port,
        username=server.username,
        password=server.password,
        use_tls=server.scheme == "smtps",
        # A plain smtp:// relay is used as is: no opportunistic STARTTLS that a local relay may botch.
        start_tls=server.scheme == "smtp+starttls",
        tls_context=ssl.create_default_context() if server.scheme != "smtp" else None,
        timeout=TIMEOUT_SECONDS,
    )


async def send(mail: Mail, *, smtp_url: str, sender: str) -> None:
    """Send one message; ``MailNotSent`` when the server cannot take it. No server: logged, not sent."""
    server = parse_smtp_url(smtp_url)
    message = build_message(mail, sender=sender)
    if server is None:
        log.info("mail.logged_not_sent", to=mail.to, subject=mail.subject, text=mail.text)
        return
    try:
        await _deliver(server, message)
    except (aiosmtplib.SMTPException, OSError) as exc:
        log.warning("mail.not_sent", to=mask_email(mail.to), subject=mail.subject, error=repr(exc))
        raise MailNotSent("the e-mail could not be sent; try again in a few minutes") from exc
    log.info("mail.sent", to=mask_email(mail.to), subject=mail.subject)
