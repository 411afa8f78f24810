from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine

from growth.settings import Settings
from tests.growth.stripe_webhook.builders import WEBHOOK_SECRET


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings, with the Stripe webhook endpoint configured."""
    return settings.with_overrides(stripe_webhook_secret=WEBHOOK_SECRET)


@pytest.fixture
def stripe_live_server(settings: Settings, engine: AsyncEngine) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port: requests really run concurrently.

    (The Litestar test client serialises requests through its portal.) Depends on ``engine`` so
    that the tables are emptied after the server has stopped.
    """
    from growth.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
