"""Deleting one's data while one's own sign-up is still in flight (a second instance, a
double click) leaves no seat that belongs to nobody, on PostgreSQL and on SQLite.

Each side holds its transaction open for a moment after its work, so that the other side
really runs against an uncommitted sign-up or deletion. Which side goes first changes from
round to round: the sign-up, the whole deletion, or a deletion that has just locked the
person (its first step) and pauses there. In some rounds the officer also clicks again on
a course they already hold a seat in, which the deletion must give back while the click
locks the same course: locks taken in different orders would deadlock there.
"""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

from sqlalchemy import func, select, text, update

from kurse import privacy
from kurse import registrations as regs
from kurse.errors import DomainError
from kurse.invariants import invariant_violations
from kurse.models import Person, Quota, Registration
from tests import builders

ROUNDS = 24


def _outcome(call):
    try:
        return call()
    except Exception as error:  # collected and asserted on below
        return error


def _seats_of_nobody(session, course_ids) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(
            Registration.course_id.in_(course_ids),
            Registration.status != "cancelled",
            Registration.person_id.is_(None),
        )
    )


def _counted_and_kept(session, course_id) -> tuple[int, int]:
    """Active registrations of persons, and the quota rows' counters, for one course."""
    counted = session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(
            Registration.course_id == course_id,
            Registration.status != "cancelled",
            Registration.person_id.is_not(None),
        )
    )
    kept = session.scalar(
        select(func.sum(Quota.confirmed_count + Quota.waiting_count)).where(
            Quota.course_id == course_id
        )
    )
    return counted, kept or 0


class Round:
    """One round: the officer's sign-up(s) and deletion, each on its own connection."""

    def __init__(self, db, officer_id, now, hold):
        self.db, self.officer_id, self.now, self.hold = db, officer_id, now, hold
        self.in_flight = threading.Event()  # the first side has done its work, uncommitted

    def _pause(self):
        self.in_flight.set()
        time.sleep(self.hold)  # the other side starts while this transaction is open

    def sign_up_held_open(self, course_id):
        def service(session):
            result = regs.sign_up(session, course_id, self.officer_id, self.now)
            self._pause()
            return result

        return self.db.call(service)

    def delete_held_open(self):
        def service(session):
            deletion = privacy.delete_person(session, self.officer_id, self.later)
            self._pause()
            return deletion

        return self.db.call(service)

    def delete_paused_after_locking_the_person(self):
        def service(session):
            # The deletion's first step, then a pause before the rest of it.
            locked = select(Person.id).where(Person.id == self.officer_id).with_for_update()
            session.execute(locked)
            self._pause()
            return privacy.delete_person(session, self.officer_id, self.later)

        return self.db.call(service)

    def then_sign_up(self, course_id):
        self.in_flight.wait(2)
        return self.db.call(regs.sign_up, course_id, self.officer_id, self.now)

    def then_delete(self):
        self.in_flight.wait(2)
        return self.db.call(privacy.delete_person, self.officer_id, self.later)

    @property
    def later(self):
        return self.now + timedelta(seconds=1)


def test_deleting_my_data_while_my_sign_up_is_in_flight_leaves_no_seat_of_nobody(
    db, clock, agencies
):
    rng = random.Random(12)
    now = clock.now()
    held = builders.course(db, now, {"PP-OFR": 30, "PD-Z": 30}, title="Schon gebucht")
    contested = builders.course(db, now, {"PP-OFR": 5, "PD-Z": 5}, title="Umkämpft")
    errors: list[Exception] = []
    for number in range(ROUNDS):
        officer = builders.officer(db, agencies["PP-OFR"], now, name=f"Officer {number}")
        db.call(regs.sign_up, held.id, officer.id, now)
        game = Round(db, officer.id, now, rng.uniform(0.005, 0.04))
        mode = ("sign-up first", "deletion first", "deletion paused")[number % 3]
        if mode == "sign-up first":
            calls = [partial(game.sign_up_held_open, contested.id), game.then_delete]
        elif mode == "deletion first":
            calls = [game.delete_held_open, partial(game.then_sign_up, contested.id)]
        else:
            calls = [
                game.delete_paused_after_locking_the_person,
                partial(game.then_sign_up, contested.id),
            ]
        if number % 4 < 2:  # and a click again on the course they hold a seat in
            calls.append(partial(game.then_sign_up, held.id))

        with ThreadPoolExecutor(len(calls)) as pool:
            outcomes = [f.result() for f in [pool.submit(_outcome, call) for call in calls]]

        # A sign-up after the deletion is refused (the person is gone); nothing else fails.
        errors += [
            e for e in outcomes if isinstance(e, Exception) and not isinstance(e, DomainError)
        ]
        deletion = outcomes[1 if mode == "sign-up first" else 0]
        assert isinstance(deletion, privacy.Deletion), (mode, outcomes)
        with db.transaction(readonly=True) as session:
            assert _seats_of_nobody(session, [held.id, contested.id]) == 0, (number, mode)
            for course in (held, contested):
                counted, kept = _counted_and_kept(session, course.id)
                assert counted == kept, (number, mode, f"counters {kept}, registrations {counted}")
                assert invariant_violations(session, course.id, now) == []
    assert errors == []


def test_invariant_violations_reports_a_seat_held_by_no_person_before_the_course_starts(
    db, clock, agencies
):
    now = clock.now()
    course = builders.course(db, now, {"PP-OFR": 2, "PD-Z": 2})
    anna = builders.officer(db, agencies["PP-OFR"], now, name="Anna Beispiel")
    ben = builders.officer(db, agencies["PD-Z"], now, name="Ben Anders")
    db.call(regs.sign_up, course.id, anna.id, now)
    db.call(regs.sign_up, course.id, ben.id, now)
    with db.transaction() as session:  # by hand: Anna's seat loses its person
        session.execute(
            update(Registration).where(Registration.person_id == anna.id).values(person_id=None)
        )

    with db.transaction(readonly=True) as session:
        problems = invariant_violations(session, course.id, now)
        # After the start, a deletion keeps the seat without the person (statistics).
        after_start = invariant_violations(session, course.id, course.start_at)

    assert problems == ["1 confirmed or waiting registrations held by no person"]
    assert after_start == []


def test_a_waiting_place_held_by_no_person_is_reported_too(db, clock, agencies):
    now = clock.now()
    course = builders.course(db, now, {"PP-OFR": 1, "PD-Z": 1})
    first = builders.officer(db, agencies["PP-OFR"], now, name="Anna Beispiel")
    second = builders.officer(db, agencies["PP-OFR"], now, name="Ben Anders")
    db.call(regs.sign_up, course.id, first.id, now)
    assert db.call(regs.sign_up, course.id, second.id, now).status == "waiting"
    with db.transaction() as session:
        session.execute(
            text("UPDATE registration SET person_id = NULL WHERE person_id = :p"),
            {"p": second.id},
        )

    with db.transaction(readonly=True) as session:
        problems = invariant_violations(session, course.id, now)

    assert problems == ["1 confirmed or waiting registrations held by no person"]
