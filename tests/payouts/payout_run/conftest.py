from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.payouts.stripe_standin import StripeStandIn, serve


@pytest.fixture
def stripe_standin() -> Iterator[StripeStandIn]:
    stand_in = StripeStandIn()
    server = serve(stand_in)
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
