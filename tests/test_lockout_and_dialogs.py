"""The access-code lockout and the dialog store, as services on the database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kurse import dialogs, lockout
from kurse.errors import CodeLocked

WRONG = "ACDE-FGHJ-KM"
EVE = 77


def wrong_codes(db, clock, times: int, every: timedelta = timedelta(0)) -> None:
    for _ in range(times):
        assert db.call(lockout.try_access_code, EVE, WRONG, clock.now()) is None
        clock.advance(every)


def test_five_wrong_codes_lock_the_account_until_15_minutes_after_the_first(db, clock, agencies):
    first = clock.now()
    wrong_codes(db, clock, 5, every=timedelta(minutes=1))  # 10:00 … 10:04

    with pytest.raises(CodeLocked) as locked:
        db.call(lockout.try_access_code, EVE, agencies["PD-Z"].access_code, clock.now())

    assert locked.value.until == first + lockout.LOCKOUT
    assert lockout.minutes_left(locked.value.until, clock.now()) == 10


def test_while_locked_a_try_counts_nothing_and_one_more_is_taken_when_the_first_expires(
    db, clock, agencies
):
    wrong_codes(db, clock, 5, every=timedelta(minutes=1))
    for _ in range(3):  # refused, and not counted
        with pytest.raises(CodeLocked):
            db.call(lockout.try_access_code, EVE, WRONG, clock.now())

    clock.advance(timedelta(minutes=10))  # 10:15: the first wrong code is 15 minutes old
    one_more = db.call(lockout.try_access_code, EVE, WRONG, clock.now())

    assert one_more is None
    with pytest.raises(CodeLocked) as locked:
        db.call(lockout.try_access_code, EVE, agencies["PD-Z"].access_code, clock.now())
    assert lockout.minutes_left(locked.value.until, clock.now()) == 1  # until 10:16


def test_a_right_code_forgets_the_wrong_ones_before_it(db, clock, agencies):
    wrong_codes(db, clock, 4)

    agency = db.call(lockout.try_access_code, EVE, agencies["PD-Z"].access_code, clock.now())
    wrong_codes(db, clock, 4)

    assert agency.code == "PD-Z"
    assert db.call(lockout.try_access_code, EVE, agencies["PD-Z"].access_code, clock.now())


def test_a_wrong_code_of_another_account_counts_only_for_that_account(db, clock, agencies):
    wrong_codes(db, clock, 5)

    agency = db.call(lockout.try_access_code, EVE + 1, agencies["PP-OFR"].access_code, clock.now())

    assert agency.code == "PP-OFR"


def test_saving_one_key_keeps_what_another_instance_wrote_to_the_others(db, clock):
    db.call(dialogs.save, 5, {"joining": (5, 1)}, {"join": {"code": "X"}}, clock.now())

    stored = db.call(dialogs.save, 5, {}, {"cancel_reasons": {"3": "krank"}}, clock.now())

    assert stored.states == {"joining": (5, 1)}
    assert stored.data == {"join": {"code": "X"}, "cancel_reasons": {"3": "krank"}}
    assert db.call(dialogs.load, 5, clock.now()) == stored


def test_a_dialog_with_nothing_left_is_deleted(db, clock):
    db.call(dialogs.save, 5, {"joining": (5, 1)}, {"join": {"code": "X"}}, clock.now())

    gone = db.call(dialogs.save, 5, {"joining": None}, {"join": None}, clock.now())

    assert gone is None
    assert db.call(dialogs.load, 5, clock.now()) is None


def test_a_dialog_left_alone_for_half_an_hour_reads_as_none_and_is_not_continued(db, clock):
    db.call(dialogs.save, 5, {"joining": (5, 1)}, {"join": {"code": "X"}}, clock.now())
    clock.advance(dialogs.EXPIRY)

    alone = db.call(dialogs.load, 5, clock.now())
    everyone = db.call(dialogs.load_all, clock.now())
    restarted = db.call(dialogs.save, 5, {}, {"cancel_reasons": {"3": "krank"}}, clock.now())

    assert alone is None
    assert everyone == []
    assert restarted.states == {}
    assert restarted.data == {"cancel_reasons": {"3": "krank"}}
