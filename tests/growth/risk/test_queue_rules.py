"""The review queue's pure rules: who may be decided, the note, the explanation line, the masked e-mail,
and what the pages read back from a redirect."""

from __future__ import annotations

import pytest

from growth.core.email import mask_email
from growth.risk import forms
from growth.risk.rules import (
    MAX_NOTE_LENGTH,
    Move,
    ReviewStatus,
    clean_note,
    decision_move,
    review_line,
)


@pytest.mark.parametrize(
    ("current", "approve", "move"),
    [
        (ReviewStatus.held, True, Move.change),
        (ReviewStatus.held, False, Move.change),
        (ReviewStatus.approved, True, Move.unchanged),
        (ReviewStatus.declined, False, Move.unchanged),
        (ReviewStatus.approved, False, Move.conflict),
        (ReviewStatus.declined, True, Move.conflict),
        (ReviewStatus.allowed, True, Move.not_held),
        (ReviewStatus.allowed, False, Move.not_held),
        (ReviewStatus.rejected, True, Move.not_held),
        (ReviewStatus.rejected, False, Move.not_held),
    ],
)
def test_decision_move(current: ReviewStatus, approve: bool, move: Move) -> None:
    assert decision_move(current, approve) is move


@pytest.mark.parametrize(
    ("note", "approve", "expected"),
    [
        (None, True, None),
        ("   ", True, None),
        ("  called her \n", True, "called her"),
        ("same household", False, "same household"),
        ("x" * MAX_NOTE_LENGTH, False, "x" * MAX_NOTE_LENGTH),
        ("line one\nline two", False, "line one\nline two"),
    ],
)
def test_clean_note(note: str | None, approve: bool, expected: str | None) -> None:
    assert clean_note(note, approve) == expected


@pytest.mark.parametrize(
    ("note", "approve", "problem"),
    [
        (None, False, "a note is required"),
        (" \t ", False, "a note is required"),
        ("x" * (MAX_NOTE_LENGTH + 1), True, "longer than 2000"),
        ("bad\x00byte", True, "control characters"),
    ],
)
def test_clean_note_refuses(note: str | None, approve: bool, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        clean_note(note, approve)


@pytest.mark.parametrize(
    ("approve", "note", "line"),
    [
        (True, None, "Review: approved by Ada (marketing)."),
        (True, "known customer", "Review: approved by Ada (marketing): known customer."),
        (False, "fake friends!", "Review: declined by Ada (marketing): fake friends!"),
        (False, "同一家庭。", "Review: declined by Ada (marketing): 同一家庭。"),
    ],
)
def test_review_line(approve: bool, note: str | None, line: str) -> None:
    assert review_line(approve, "Ada (marketing)", note) == line


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("mei.wang@example.com", "m***@example.com"),
        ("  X@mailinator.com ", "X***@mailinator.com"),
        (None, None),
        ("", None),
        ("no-at-sign", None),
        ("@example.com", None),
    ],
)
def test_mask_email(email: str | None, masked: str | None) -> None:
    assert mask_email(email) == masked


@pytest.mark.parametrize(
    ("decision", "note", "count", "problem"),
    [
        ("approve", "", 1, None),
        ("reject", "why", 3, None),
        ("reject", "  ", 1, "note_required"),
        ("", "", 1, "choose_a_decision"),
        ("hold", "", 1, "choose_a_decision"),
        ("approve", "", 0, "nothing_selected"),
    ],
)
def test_form_problem(decision: str, note: str, count: int, problem: str | None) -> None:
    assert forms.form_problem(decision, note, count) == problem


def test_only_known_notices_and_errors_are_read_back() -> None:
    assert forms.read_notice({"notice": "approved", "count": "3"}) == forms.QueueNotice("approved", 3)
    assert forms.read_notice({"notice": "declined", "count": "<script>"}) == forms.QueueNotice("declined", 0)
    assert forms.read_notice({"notice": "hacked"}) is None
    assert forms.read_error({"error": "review_not_held"}) == "review_not_held"
    assert forms.read_error({"error": "<b>boom</b>"}) == "unknown"
    assert forms.read_error({}) is None
    assert forms.queue_url("not-an-id", {"notice": "approved"}) == "/marketing/reviews?notice=approved"
