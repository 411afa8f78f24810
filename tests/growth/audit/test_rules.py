"""The audit log's pure rules: JSON-able values, masking, the hash chain, filters and CSV cells."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

import pytest

from growth.audit.rules import (
    GENESIS_HASH,
    REDACTED,
    ChainWalk,
    EntryFacts,
    Filters,
    csv_cells,
    entry_hash,
    jsonable,
    mask_tail,
    parse_filters,
    redact,
    spreadsheet_safe,
)

AT = datetime(2026, 11, 20, 8, 0, 0, 123456, tzinfo=UTC)


class Colour(StrEnum):
    red = "red"


class TestJsonable:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            (None, None),
            (True, True),
            (1250, 1250),
            ("text", "text"),
            (UUID(int=1), "00000000-0000-0000-0000-000000000001"),
            (Decimal("12.50"), "12.50"),
            (Colour.red, "red"),
            (datetime(2026, 11, 20, 16, 0, tzinfo=timezone(timedelta(hours=8))), "2026-11-20T08:00:00+00:00"),
            (date(2026, 11, 1), "2026-11-01"),
            ({"a": [1, (2, 3)]}, {"a": [1, [2, 3]]}),
            ({"b", "a"}, ["a", "b"]),
        ],
    )
    def test_values_become_plain_json(self, value: object, expected: object) -> None:
        assert jsonable(value) == expected

    @pytest.mark.parametrize("value", [1.5, datetime(2026, 11, 20, 8, 0), object(), {1: "x"}])  # noqa: DTZ001
    def test_floats_naive_datetimes_and_the_unknown_are_refused(self, value: object) -> None:
        with pytest.raises(TypeError):
            jsonable(value)


class TestRedaction:
    @pytest.mark.parametrize(
        ("value", "masked"),
        [("DE89370400440532013000", "****3000"), ("1234", "****"), ("", "****")],
    )
    def test_mask_tail_keeps_only_the_last_four(self, value: str, masked: str) -> None:
        assert mask_tail(value) == masked

    def test_secrets_are_redacted_and_account_numbers_masked_at_any_depth(self) -> None:
        value = {
            "name": "ops",
            "key_hash": "abc",
            "secret": "gk_x",
            "bank_account_number": "6222020200112233",
            "accounts": [{"IBAN": "DE89370400440532013000", "token": None}],
        }
        assert redact(value) == {
            "name": "ops",
            "key_hash": REDACTED,
            "secret": REDACTED,
            "bank_account_number": "****2233",
            "accounts": [{"IBAN": "****3000", "token": None}],
        }


def _facts(sequence: int, **changes: object) -> EntryFacts:
    facts = EntryFacts(
        id=UUID(int=sequence),
        sequence=sequence,
        occurred_at=AT,
        actor_kind="api_key",
        actor_id="k-1",
        actor_name="ops (admin)",
        action="api_key.created",
        subject_type="api_key",
        subject_id=f"s-{sequence}",
        before=None,
        after={"role": "finance", "name": "书"},
        request_id="r-1",
    )
    return dataclasses.replace(facts, **changes)  # type: ignore[arg-type]


def _chain(n: int) -> list[tuple[EntryFacts, str]]:
    links, previous = [], GENESIS_HASH
    for sequence in range(1, n + 1):
        previous = entry_hash(previous, _facts(sequence))
        links.append((_facts(sequence), previous))
    return links


class TestChain:
    def test_the_hash_is_deterministic_and_covers_every_field_and_the_previous_hash(self) -> None:
        base = entry_hash(GENESIS_HASH, _facts(1))
        assert base == entry_hash(GENESIS_HASH, _facts(1))
        assert len(base) == 64
        assert entry_hash("f" * 64, _facts(1)) != base
        for field in dataclasses.fields(EntryFacts):
            if field.name == "sequence":
                continue
            changed = {
                "id": UUID(int=99),
                "occurred_at": AT + timedelta(microseconds=1),
                "before": {"role": "finance"},
                "after": {"role": "admin", "name": "书"},
            }.get(field.name, "other")
            assert entry_hash(GENESIS_HASH, _facts(1, **{field.name: changed})) != base, field.name

    def test_key_order_and_time_zone_do_not_change_the_hash(self) -> None:
        shuffled = _facts(
            1,
            after={"name": "书", "role": "finance"},
            occurred_at=AT.astimezone(timezone(timedelta(hours=8))),
        )
        assert entry_hash(GENESIS_HASH, shuffled) == entry_hash(GENESIS_HASH, _facts(1))

    def test_an_intact_chain_fed_in_batches_verifies(self) -> None:
        walk, links = ChainWalk(), _chain(5)
        walk.feed(links[:2])
        walk.feed(links[2:])
        assert (walk.broken, walk.checked) == (None, 5)

    def test_a_changed_entry_breaks_the_chain_where_it_was_changed(self) -> None:
        links = _chain(4)
        links[2] = (_facts(3, subject_id="forged"), links[2][1])
        walk = ChainWalk()
        walk.feed(links)
        assert walk.broken is not None and walk.broken.sequence == 3
        assert walk.checked == 2

    def test_a_missing_entry_breaks_the_chain(self) -> None:
        links = _chain(4)
        walk = ChainWalk()
        walk.feed(links[:1] + links[2:])
        assert walk.broken is not None and walk.broken.sequence == 2
        assert "missing" in walk.broken.reason

    def test_an_entry_rehashed_after_a_change_breaks_the_next_one(self) -> None:
        links = _chain(3)
        forged = _facts(2, after={"role": "admin"})
        links[1] = (forged, entry_hash(links[0][1], forged))
        walk = ChainWalk()
        walk.feed(links)
        assert walk.broken is not None and walk.broken.sequence == 3


class TestFilters:
    def test_an_action_ending_in_star_is_a_prefix_of_whole_parts(self) -> None:
        assert parse_filters(action="payout.*") == Filters(action="payout.", action_is_prefix=True)
        assert parse_filters(action="payout_run.created") == Filters(action="payout_run.created")

    def test_times_are_taken_to_utc(self) -> None:
        since = datetime(2026, 11, 20, 16, 0, tzinfo=timezone(timedelta(hours=8)))
        assert parse_filters(since=since).since == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

    @pytest.mark.parametrize(
        "values",
        [
            {"action": "Payout"},
            {"action": "payout*"},
            {"action": "*"},
            {"action": "payout.*.x"},
            {"since": datetime(2026, 11, 20)},  # noqa: DTZ001
            {"until": datetime(2026, 11, 20)},  # noqa: DTZ001
            {"since": AT, "until": AT - timedelta(seconds=1)},
            {"subject_id": ""},
            {"request_id": "x" * 101},
        ],
    )
    def test_nonsense_is_refused(self, values: dict[str, object]) -> None:
        with pytest.raises(ValueError):
            parse_filters(**values)  # type: ignore[arg-type]


class TestCsv:
    @pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
    def test_formulas_are_defused(self, cell: str) -> None:
        assert spreadsheet_safe(cell) == "'" + cell

    def test_cells_are_safe_and_json_is_canonical(self) -> None:
        cells = csv_cells(_facts(1, subject_id='=HYPERLINK("http://evil")', actor_id=None), "h" * 64)
        assert cells[0] == "1"
        assert cells[3] == ""
        assert cells[7] == '\'=HYPERLINK("http://evil")'
        assert cells[9] == '{"name":"书","role":"finance"}'
