"""Portal fixtures: a real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, an app that
mails through it, and signing a partner in the way a person does: ask for a link, open it, press."""

from __future__ import annotations

import asyncio
import email
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from httpx import Response
from litestar import Litestar
from litestar.testing import AsyncTestClient

from growth.settings import Settings
from tests.pages import HTML, post_form

LINK = re.compile(r"https?://[^/\s]+(/partner/sign-in/[A-Za-z0-9_-]{43})")


@dataclass
class Inbox:
    """What the SMTP server received, in order."""

    messages: list[Message] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 OK"

    def to(self, address: str) -> list[Message]:
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]

    def wait_for(self, address: str, count: int = 1, timeout: float = 5.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while len(found := self.to(address)) < count:
            assert time.monotonic() < deadline, f"no e-mail to {address}"
            time.sleep(0.02)
        return found


def _body(message: Message) -> str:
    return message.get_payload(decode=True).decode()  # type: ignore[union-attr,no-any-return]


def link_in(message: Message) -> str:
    """The portal path of the sign-in link in a message."""
    body = _body(message)
    match = LINK.search(body)
    assert match, body
    return match.group(1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def settings(settings: Settings, inbox: tuple[Inbox, int]) -> Settings:
    return settings.with_overrides(
        smtp_url=f"smtp://127.0.0.1:{inbox[1]}", mail_from="partners@growth.test", payout_minimums="CNY:10000"
    )


@pytest.fixture
def mails(inbox: tuple[Inbox, int]) -> Inbox:
    return inbox[0]


async def ask_for_link(client: AsyncTestClient[Litestar], address: str) -> Response:
    return await post_form(client, "/partner/sign-in", "/partner/sign-in", {"email": address})


async def sign_in_partner(client: AsyncTestClient[Litestar], mails: Inbox, address: str) -> str:
    """Sign in through the e-mailed link; the client keeps the portal cookie. Returns the link used."""
    before = len(mails.to(address))
    r = await ask_for_link(client, address)
    assert r.status_code == 303, r.text
    # Other mail (a payout-account change notice, sent by the outbox) may arrive in between.
    deadline = time.monotonic() + 5.0
    while not (links := [m for m in mails.to(address)[before:] if LINK.search(_body(m))]):
        assert time.monotonic() < deadline, f"no sign-in link sent to {address}"
        await asyncio.sleep(0.02)
    link = link_in(links[-1])
    used = await post_form(client, link, link, {})
    assert used.status_code == 303 and used.headers["location"] == "/partner", used.text
    return link


__all__ = ["HTML", "Inbox", "ask_for_link", "link_in", "sign_in_partner"]
