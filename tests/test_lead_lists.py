"""A lead's list marks what changed since the previous one: new, moved up, gone."""

from __future__ import annotations

from kurse.lead_lists import Mark, changes_since


def test_a_new_registration_and_one_moved_up_are_marked_and_a_cancelled_one_is_gone():
    previous = {"1": "confirmed", "2": "waiting", "3": "confirmed"}
    snapshot = {"1": "confirmed", "2": "confirmed", "4": "waiting"}

    changes = changes_since(snapshot, previous)

    assert changes.marks == {2: Mark.MOVED_UP, 4: Mark.NEW}
    assert changes.gone == [3]


def test_an_unchanged_list_has_no_marks():
    same = {"1": "confirmed", "2": "waiting"}

    assert changes_since(same, dict(same)).marks == {}
    assert changes_since(same, dict(same)).gone == []
