"""The service's logs hold no secret and no full e-mail address.

A live server logging at DEBUG is driven through the paths that handle secrets and addresses:
API keys (right and wrong, on the API and the sign-in page), customers' and friends' e-mail
addresses on orders (one of them a disposable address the risk firewall holds), a partner who signs
in with an e-mailed link (sent through a real SMTP server on 127.0.0.1), a webhook endpoint with
its signing secret, a payload refused by validation. Then every captured line is searched for each
secret and each address.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from datetime import UTC, datetime

import httpx
import pytest
from aiosmtpd.controller import Controller

from growth.settings import Settings
from tests.conftest import SECRET, create_admin_key, serve
from tests.payouts.portal.conftest import Inbox, link_in

STRIPE_KEY = "sk_test_logcheck_4eC39HqLyjWDarjtT1zdp7dc"
ADDRESSES = [
    "mei.wang@example.com",
    "friend.buyer@example.org",
    "throwaway.buyer@mailinator.com",
    "ada.li@northwind.example",
    "not-a-partner@example.net",
    "refused.payload@example.org",
]
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _form(client: httpx.Client, page: str, action: str, data: dict[str, str]) -> httpx.Response:
    token = CSRF.search(client.get(page).text)
    assert token, f"no CSRF token on {page}"
    return client.post(action, data={**data, "_csrf_token": token.group(1)})


def _drive(base: str, admin_key: str, inbox: Inbox) -> list[str]:
    """Exercise the paths; return the secrets that were in play."""
    auth = {"Authorization": f"Bearer {admin_key}"}
    now = datetime.now(UTC).isoformat()
    with httpx.Client(base_url=base, headers=auth, timeout=30) as api:
        api.put("/api/customers/c-1", json={"name": "Mei Wang", "email": ADDRESSES[0]}).raise_for_status()
        campaign = api.post(
            "/api/campaigns",
            json={"name": "Logs", "landing_url": f"{base}/demo/shop", "status": "active", "currency": "CNY"},
        ).json()
        code = api.post(
            "/api/referral-codes", json={"campaign_id": campaign["id"], "customer_external_id": "c-1"}
        )
        code.raise_for_status()
        for n, address in enumerate(ADDRESSES[1:3]):
            order = {
                "external_id": f"log-{n}",
                "customer": {"external_id": f"f-{n}", "email": address, "name": "Friend"},
                "amount": 19_900,
                "currency": "CNY",
                "placed_at": now,
                "referral_code": code.json()["code"],
            }
            assert api.post("/api/orders", json=order).status_code in (200, 201, 202)
        refused = api.post("/api/orders", json={"external_id": "bad", "customer": {"email": ADDRESSES[5]}})
        assert refused.status_code == 400
        partner = api.post(
            "/api/partners", json={"name": "Northwind", "email": ADDRESSES[3], "country": "DE"}
        )
        partner.raise_for_status()
        endpoint = api.post(
            "/api/webhooks/endpoints",
            json={"url": "http://127.0.0.1:9/hook", "event_kinds": ["friend_ordered"]},
        )
        endpoint.raise_for_status()
        webhook_secret = endpoint.json()["secret"]

    wrong_key = "gk_" + "x" * 40
    with httpx.Client(base_url=base, timeout=30) as browser:
        assert (
            browser.get("/api/campaigns", headers={"Authorization": f"Bearer {wrong_key}"}).status_code == 401
        )
        assert _form(browser, "/sign-in", "/sign-in", {"key": wrong_key}).status_code == 401
        assert (
            _form(browser, "/partner/sign-in", "/partner/sign-in", {"email": ADDRESSES[4]}).status_code == 303
        )
        assert (
            _form(browser, "/partner/sign-in", "/partner/sign-in", {"email": ADDRESSES[3]}).status_code == 303
        )
        [message] = inbox.wait_for(ADDRESSES[3])
        link = link_in(message)
        path = httpx.URL(link).path
        used = _form(browser, path, path, {})
        assert used.status_code == 303
        session_cookie = browser.cookies["growth_partner"]
        assert browser.get("/partner").status_code == 200
    token = path.rsplit("/", 1)[1]
    return [admin_key, wrong_key, webhook_secret, token, session_cookie, SECRET, STRIPE_KEY]


def test_logs_hold_no_secret_and_no_full_address(
    database_url: str, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox()
    port = _free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    # The test's own SMTP server logs the addresses it receives: those lines are not the service's.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    settings = Settings(
        database_url=database_url,
        secret_key=SECRET,
        log_level="DEBUG",
        demo=True,
        smtp_url=f"smtp://127.0.0.1:{port}",
        mail_from="partners@growth.test",
        stripe_api_key=STRIPE_KEY,
        outbox_poll_seconds=0.05,
    )
    try:
        with serve(settings) as base:
            secrets = _drive(base, asyncio.run(create_admin_key(database_url)), inbox)
    finally:
        smtp.stop()
        logging.getLogger("mail.log").setLevel(logging.NOTSET)
    captured = capfd.readouterr()
    logs = "\n".join([captured.out, captured.err, *(r.getMessage() for r in caplog.records)])
    # The logs are there to search: the paths above were logged (the test would pass on silence otherwise).
    for event in ("mail.sent", "portal.sign_in_link.sent", "portal.sign_in_link.no_partner"):
        assert event in logs, f"{event} not logged"
    for secret in secrets:
        assert secret not in logs
    lowered = logs.lower()
    for address in ADDRESSES:
        assert address not in lowered, address
        local = address.split("@")[0]
        assert local not in lowered, f"the local part of {address} is in the logs"
