"""Dashboard session rules: the signed cookie, its lifetime, and where sign-in may send people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from growth.core.auth.rules import (
    SESSION_MAX_AGE,
    DashboardSession,
    Role,
    can_sign_in,
    decode_session,
    derived_secret,
    encode_session,
    safe_next,
)

NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)
KEY = derived_secret("app-secret", "session")
KEY_ID = UUID("0190f5e8-7a1b-7c3d-8e4f-5a6b7c8d9e0f")


def _session(role: Role = Role.marketing, at: datetime = NOW) -> DashboardSession:
    return DashboardSession(KEY_ID, role, at)


class TestDerivedSecret:
    def test_one_key_per_purpose(self) -> None:
        keys = {derived_secret("app-secret", purpose) for purpose in ("session", "csrf", "links")}

        assert len(keys) == 3
        assert all(len(key) == 32 for key in keys)

    def test_depends_on_the_secret(self) -> None:
        assert derived_secret("a", "session") != derived_secret("b", "session")


class TestSessionCookie:
    @pytest.mark.parametrize("role", [Role.admin, Role.marketing, Role.finance])
    def test_round_trip(self, role: Role) -> None:
        value = encode_session(_session(role), KEY)

        assert decode_session(value, KEY, now=NOW + timedelta(hours=1)) == _session(role)

    @pytest.mark.parametrize(
        ("age", "valid"),
        [
            (timedelta(0), True),
            (SESSION_MAX_AGE - timedelta(seconds=1), True),
            (SESSION_MAX_AGE, False),
            (-timedelta(seconds=1), False),  # signed in the future: refused
        ],
    )
    def test_expires_after_the_max_age(self, age: timedelta, valid: bool) -> None:
        value = encode_session(_session(), KEY)

        assert (decode_session(value, KEY, now=NOW + age) is not None) is valid

    def test_other_key_cannot_read_it(self) -> None:
        value = encode_session(_session(), KEY)

        assert decode_session(value, derived_secret("other-secret", "session"), now=NOW) is None
        assert decode_session(value, derived_secret("app-secret", "csrf"), now=NOW) is None

    @pytest.mark.parametrize(
        "tamper",
        [
            lambda v: v.replace(".marketing.", ".admin."),
            lambda v: v.replace(KEY_ID.hex, UUID(int=1).hex),
            lambda v: v[:-2] + ("AA" if not v.endswith("AA") else "BB"),
            lambda v: v + "x",
            lambda v: v.rpartition(".")[0],
            lambda v: "",
            lambda v: "." * 4,
            lambda v: "x" * 500,
            lambda v: v + "é",
            lambda v: "\ud800" + v,
        ],
    )
    def test_tampered_values_are_refused(self, tamper: object) -> None:
        value = tamper(encode_session(_session(), KEY))  # type: ignore[operator]

        assert decode_session(value, KEY, now=NOW) is None

    @pytest.mark.parametrize("role", [Role.partner, Role.shop])
    def test_signed_partner_or_shop_session_is_still_refused(self, role: Role) -> None:
        assert decode_session(encode_session(_session(role), KEY), KEY, now=NOW) is None

    def test_names_the_key_id_never_a_secret(self) -> None:
        value = encode_session(_session(), KEY)

        assert value.startswith(f"{KEY_ID.hex}.marketing.{int(NOW.timestamp())}.")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.admin, True),
        (Role.marketing, True),
        (Role.finance, True),
        (Role.partner, False),
        (Role.shop, False),
    ],
)
def test_who_may_sign_in(role: Role, allowed: bool) -> None:
    assert can_sign_in(role) is allowed


class TestSafeNext:
    @pytest.mark.parametrize(
        "target",
        ["/marketing/campaigns", "/marketing/campaigns?status=active", "/dashboard", "/a/b#c", "/"],
    )
    def test_local_paths_are_kept(self, target: str) -> None:
        assert safe_next(target, "/dashboard") == target

    @pytest.mark.parametrize(
        "target",
        [
            None,
            "",
            "https://evil.example/",
            "//evil.example/",
            "///evil.example/",
            "/\\evil.example/",
            "\\\\evil.example",
            "javascript:alert(1)",
            "http:/evil.example",
            "evil.example/path",
            "/ok\r\nSet-Cookie: a=b",
            "/tab\there",
            "/space here",
            "/" + "a" * 2000,
        ],
    )
    def test_anything_else_falls_back(self, target: str | None) -> None:
        assert safe_next(target, "/dashboard") == "/dashboard"
