from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from growth.core.auth.rules import Role, generate_key, hash_key, is_allowed, key_prefix, needs_touch

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class TestKeys:
    def test_generated_keys_are_unique_and_parse(self) -> None:
        keys = [generate_key() for _ in range(1000)]
        assert len({k for k, _ in keys}) == 1000
        for key, prefix in keys[:50]:
            assert key_prefix(key) == prefix and len(key) > 40

    @pytest.mark.parametrize(
        "key", ["", "gk", "gk__x", "xx_12345678_secret", "gk_123_secret", "gk_12345678_" + "a" * 300]
    )
    def test_malformed_keys_have_no_prefix(self, key: str) -> None:
        assert key_prefix(key) is None

    def test_hash_is_sha256_hex_and_not_the_key(self) -> None:
        key, _ = generate_key()
        assert len(hash_key(key)) == 64 and key not in hash_key(key)


@pytest.mark.parametrize(
    ("role", "allowed", "expected"),
    [
        (Role.admin, frozenset(), True),
        (Role.marketing, frozenset({Role.marketing}), True),
        (Role.finance, frozenset({Role.marketing}), False),
        (Role.shop, frozenset(), False),
        (Role.partner, frozenset({Role.marketing, Role.finance}), False),
    ],
)
def test_is_allowed(role: Role, allowed: frozenset[Role], expected: bool) -> None:
    assert is_allowed(role, allowed) is expected


@pytest.mark.parametrize(
    ("last_used", "expected"),
    [
        (None, True),
        (NOW - timedelta(seconds=59), False),
        (NOW - timedelta(minutes=1), True),
        (NOW - timedelta(days=3), True),
    ],
)
def test_needs_touch(last_used: datetime | None, expected: bool) -> None:
    assert needs_touch(last_used, NOW) is expected
