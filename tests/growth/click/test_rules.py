"""Clicks: visitors' IPs are kept only as a keyed hash; header values are cleaned before storing."""

from __future__ import annotations

import hashlib

import pytest

from growth.click.rules import clean_header, hash_ip

SECRET = "test-secret-not-for-production"
OTHER_SECRET = "another-secret"
IPS = ["203.0.113.9", "198.51.100.1", "2001:db8::1", "::1", "10.0.0.1"]


class TestHashIp:
    @pytest.mark.parametrize("ip", IPS)
    def test_is_64_hex(self, ip: str) -> None:
        digest = hash_ip(SECRET, ip)
        assert digest is not None
        assert len(digest) == 64
        assert set(digest) <= set("0123456789abcdef")

    @pytest.mark.parametrize("ip", IPS)
    def test_stable_for_the_same_secret_and_ip(self, ip: str) -> None:
        assert hash_ip(SECRET, ip) == hash_ip(SECRET, ip)

    @pytest.mark.parametrize("ip", IPS)
    def test_depends_on_the_secret(self, ip: str) -> None:
        assert hash_ip(SECRET, ip) != hash_ip(OTHER_SECRET, ip)

    def test_different_ips_differ(self) -> None:
        assert len({hash_ip(SECRET, ip) for ip in IPS}) == len(IPS)

    @pytest.mark.parametrize("ip", IPS)
    def test_never_contains_the_ip(self, ip: str) -> None:
        digest = hash_ip(SECRET, ip)
        assert digest is not None
        assert ip not in digest
        digits = ip.replace(".", "").replace(":", "")
        if len(digits) >= 6:  # the address's digits, run together, do not show through either
            assert digits not in digest

    @pytest.mark.parametrize("ip", IPS)
    def test_is_keyed_not_a_plain_hash(self, ip: str) -> None:
        # A plain hash of an IPv4 address can be reversed by hashing all 2**32 addresses.
        digest = hash_ip(SECRET, ip)
        for unkeyed in (ip, f"ip:{ip}", f"{SECRET}{ip}", f"{SECRET}:{ip}"):
            assert digest != hashlib.sha256(unkeyed.encode()).hexdigest()

    @pytest.mark.parametrize(
        ("left", "right"),
        [
            ("203.0.113.9", " 203.0.113.9 "),
            ("2001:db8::1", "2001:DB8::1"),
            ("2001:db8::abcd", "2001:DB8::ABCD\n"),
        ],
    )
    def test_same_address_written_differently(self, left: str, right: str) -> None:
        assert hash_ip(SECRET, left) == hash_ip(SECRET, right)

    @pytest.mark.parametrize("ip", [None, ""])
    def test_none_for_no_ip(self, ip: str | None) -> None:
        assert hash_ip(SECRET, ip) is None


class TestCleanHeader:
    @pytest.mark.parametrize(
        ("value", "limit", "expected"),
        [
            ("Mozilla/5.0 (iPhone)", 100, "Mozilla/5.0 (iPhone)"),
            ("abcdef", 3, "abc"),
            ("abc", 3, "abc"),
            ("abc", 4, "abc"),
            ("a\x00b\x01c", 10, "abc"),
            ("line1\r\nline2", 100, "line1line2"),
            ("tab\there", 100, "tabhere"),
            ("esc\x1b[31mred", 100, "esc[31mred"),
            ("del\x7f", 100, "del"),
            ("c1\x85\x9f", 100, "c1"),
            ("a\x00\x00\x00bcd", 3, "abc"),  # cut after the control characters are gone
            ("微信浏览器 MicroMessenger/8.0", 5, "微信浏览器"),
            ("https://growth.test/r/K7MQ2XP9?x=1", 100, "https://growth.test/r/K7MQ2XP9?x=1"),
            ("  padded  ", 100, "  padded  "),  # spaces are not control characters
        ],
    )
    def test_clean(self, value: str, limit: int, expected: str) -> None:
        assert clean_header(value, limit) == expected

    @pytest.mark.parametrize("limit", [1, 10, 255, 512])
    def test_never_longer_than_the_limit(self, limit: int) -> None:
        cleaned = clean_header("x\x00y" * 1000, limit)
        assert cleaned is not None
        assert len(cleaned) == limit
        assert "\x00" not in cleaned

    @pytest.mark.parametrize(
        ("value", "limit"),
        [(None, 100), ("", 100), ("\x00\r\n\t", 100), ("abc", 0)],
    )
    def test_none_when_nothing_is_left(self, value: str | None, limit: int) -> None:
        assert clean_header(value, limit) is None
