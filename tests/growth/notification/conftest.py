"""Notification fixtures: a real SMTP server and a real webhook receiver on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.payouts.portal.conftest import Inbox
from tests.payouts.portal.conftest import inbox as inbox

TOLERANCE_SECONDS = 300


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    is_signature_valid: bool
    is_timestamp_fresh: bool

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook endpoint that checks each request's signature the way a customer's server would.

    It answers 500 to the first ``failures`` requests, then 204.
    """

    url: str = ""
    secret: str = ""
    failures: int = 0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, headers: dict[str, str], body: bytes) -> int:
        timestamp = headers.get("x-growth-timestamp", "")
        signature = headers.get("x-growth-signature", "")
        # Computed here from the documented recipe, not with the service's own code.
        expected = hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
        is_valid = hmac.compare_digest(f"sha256={expected}", signature)
        is_fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= TOLERANCE_SECONDS
        with self.lock:
            self.received.append(Received(headers, body, is_valid, is_fresh))
            return 500 if len(self.received) <= self.failures else 204


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = state.take({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/growth"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


__all__ = ["Inbox", "Receiver", "inbox", "receiver"]
