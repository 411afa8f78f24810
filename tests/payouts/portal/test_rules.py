"""Portal rules: tokens, the signed partner session, and the expected payout date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from payouts.portal.rules import (
    SESSION_MAX_AGE,
    PortalSession,
    decode_session,
    encode_session,
    hash_token,
    new_token,
    next_payout_date,
    plausible_token,
)

KEY = b"k" * 32
NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)


def test_tokens_are_random_plausible_and_stored_as_a_hash() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100 and all(plausible_token(t) for t in tokens)
    token = tokens.pop()
    assert hash_token(token) != token and len(hash_token(token)) == 64


@pytest.mark.parametrize("token", ["", "x" * 42, "x" * 44, "a" * 42 + "/", "a" * 42 + ".", "é" * 43])
def test_implausible_tokens(token: str) -> None:
    assert not plausible_token(token)


def test_a_session_round_trips_and_expires() -> None:
    session = PortalSession(uuid4(), NOW)
    cookie = encode_session(session, KEY)
    assert decode_session(cookie, KEY, now=NOW + timedelta(hours=1)) == session
    assert decode_session(cookie, KEY, now=NOW + SESSION_MAX_AGE) is None
    assert decode_session(cookie, KEY, now=NOW - timedelta(minutes=1)) is None  # from the future


def test_a_forged_or_altered_session_is_refused() -> None:
    cookie = encode_session(PortalSession(uuid4(), NOW), KEY)
    other = uuid4().hex
    assert decode_session(cookie, b"other-key" * 4, now=NOW) is None
    assert decode_session(other + cookie[32:], KEY, now=NOW) is None
    for junk in ("", ".", "a.b.c", "x" * 500, cookie + "x", "\udcff" + cookie):
        assert decode_session(junk, KEY, now=NOW) is None


@pytest.mark.parametrize(
    ("now", "tz", "expected"),
    [
        (datetime(2026, 11, 27, 9, tzinfo=UTC), "UTC", date(2026, 12, 1)),
        (datetime(2026, 12, 15, tzinfo=UTC), "UTC", date(2027, 1, 1)),
        # 30 November 17:00 UTC is already 1 December in Shanghai: the next run is January's.
        (datetime(2026, 11, 30, 17, tzinfo=UTC), "Asia/Shanghai", date(2027, 1, 1)),
        (datetime(2026, 11, 30, 17, tzinfo=UTC), "UTC", date(2026, 12, 1)),
    ],
)
def test_next_payout_date(now: datetime, tz: str, expected: date) -> None:
    assert next_payout_date(now, tz) == expected
