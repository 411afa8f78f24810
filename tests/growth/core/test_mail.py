"""E-mail: the SMTP URL setting, the message, and delivery to a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from growth.core.mail import Mail, MailNotSent, SmtpServer, build_message, parse_smtp_url, send
from growth.settings import Settings
from tests.conftest import _free_port
from tests.payouts.portal.conftest import Inbox
from tests.payouts.portal.conftest import inbox as inbox  # the SMTP server fixture


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", None),
        ("smtp://127.0.0.1:2525", SmtpServer("smtp", "127.0.0.1", 2525, None, None)),
        ("smtp://mail.example", SmtpServer("smtp", "mail.example", 25, None, None)),
        (
            "smtp+starttls://growth%40shop.example:p%40ss@mail.example",
            SmtpServer("smtp+starttls", "mail.example", 587, "growth@shop.example", "p@ss"),
        ),
        ("smtps://mail.example", SmtpServer("smtps", "mail.example", 465, None, None)),
    ],
)
def test_smtp_url(url: str, expected: SmtpServer | None) -> None:
    assert parse_smtp_url(url) == expected


@pytest.mark.parametrize("url", ["http://mail.example", "mail.example:25", "smtp://", "smtp:///x"])
def test_bad_smtp_url(url: str) -> None:
    with pytest.raises(ValueError, match="smtp://"):
        parse_smtp_url(url)


@pytest.mark.parametrize(
    "changes", [{"smtp_url": "mail.example:25"}, {"payout_minimums": "CNY=100"}], ids=["smtp", "minimums"]
)
def test_the_app_refuses_to_start_on_a_bad_setting(changes: dict[str, str]) -> None:
    from growth.app import create_app

    with pytest.raises(ValueError, match="invalid setting"):
        create_app(Settings(database_url="sqlite+aiosqlite:///:memory:", secret_key="x", **changes))


def test_message_headers_and_unicode() -> None:
    message = build_message(
        Mail(to="li@example.com", to_name="李伟", subject="登录链接", text="您好\nhttps://x"),
        sender="partners@growth.test",
    )
    assert message["From"] == "partners@growth.test"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@growth.test>")
    assert message.get_content().strip() == "您好\nhttps://x"
    assert message["Subject"] == "登录链接"


async def test_delivered_to_a_real_smtp_server(inbox: tuple[Inbox, int]) -> None:
    mails, port = inbox
    with capture_logs() as logs:
        await send(
            Mail(to="li@example.com", to_name="Li Wei", subject="Hello", text="Body ✓"),
            smtp_url=f"smtp://127.0.0.1:{port}",
            sender="partners@growth.test",
        )
    # The log says that it was sent, and to whom only masked: logs never hold a full address.
    assert [(e["event"], e["to"]) for e in logs] == [("mail.sent", "l***@example.com")]
    [message] = mails.wait_for("li@example.com")
    assert message["Subject"] == "Hello" and "Li Wei" in message["To"]
    assert message.get_payload(decode=True).decode().strip() == "Body ✓"  # type: ignore[union-attr]


async def test_a_server_that_is_not_there_is_mail_not_sent() -> None:
    with capture_logs() as logs, pytest.raises(MailNotSent):
        await send(
            Mail(to="li@example.com", subject="x", text="y"),
            smtp_url=f"smtp://127.0.0.1:{_free_port()}",
            sender="a@b.c",
        )
    assert "li@example.com" not in str(logs) and logs[-1]["to"] == "l***@example.com"
