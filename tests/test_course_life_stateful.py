"""Random lives of a course — created, postponed, brought forward, deadline and release date
moved, cancelled; officers signing up and cancelling; the clock moving in steps of an hour to
five days — checked after every step against a small reference plan (hypothesis, stateful):

* every officer gets exactly the reminders the reference says, each once per offset and
  start date: those whose time fell into the last clock step, for the course's start at that
  moment, to every officer then confirmed since before the reminder's grace;
* nothing is sent after the start (reminders, lead lists, promotions);
* nobody waits while a seat they may take is free (`invariant_violations`).
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select

from kurse import agencies, courses, outbox, people, schedule, tasks
from kurse import registrations as regs
from kurse.db import Database
from kurse.errors import DomainError
from kurse.invariants import invariant_violations
from kurse.models import Course, Registration
from tests.builders import draft
from tests.conftest import T0

CODES = ("PP-OFR", "PD-Z")
PEOPLE = 3  # per agency
PLAN = schedule.Plan(reminders=(timedelta(days=7), timedelta(days=1), timedelta(hours=2)))
HOURS = st.sampled_from([1, 2, 5, 23, 24, 49, 24 * 5])


def sweep(db: Database, now: datetime) -> list[outbox.Delivery]:
    """The timed work as `bot.jobs.run_due_work` does it, minus Telegram: every due task,
    then every due message, re-checked right before it counts as sent."""
    while task_ids := db.call(tasks.claim_due_tasks, now):
        for task_id in task_ids:
            db.call(tasks.run_task, task_id, now)
    delivered = []
    while claimed := db.call(outbox.claim_due_messages, now):
        for item in claimed:
            fresh = db.call(outbox.recheck, item.outbox_id, now)
            if fresh is not None:
                delivered.append(fresh)
                db.call(outbox.mark_sent, item.outbox_id, now)
    return delivered


class CourseLife(RuleBasedStateMachine):
    """Drives the real services; the reference plan is computed in `_check`."""

    new_database: staticmethod

    @initialize(
        seats=st.tuples(st.integers(1, 2), st.integers(1, 2)),
        release_days=st.one_of(st.none(), st.integers(1, 7)),
        lead=st.booleans(),
        early=st.sets(st.integers(0, 2 * PEOPLE - 1), max_size=2 * PEOPLE),
    )
    def setup(self, seats, release_days, lead, early):
        self.db: Database = self.new_database()
        self.now = T0
        self.seen: set[tuple[int, str, str]] = set()
        start = T0 + timedelta(days=9)  # near enough for the clock to reach it often
        with self.db.transaction() as session:
            agencies.seed_agencies(session, T0)
            found = {a.code: a for a in agencies.list_agencies(session)}
            self.people = []
            for i in range(2 * PEOPLE):
                agency = found[CODES[i % 2]]
                person = people.join(
                    session,
                    telegram_id=7000 + i,
                    access_code=agency.access_code,
                    name=f"Person {i}",
                    rank=None,
                    language="de",
                    now=T0,
                )
                self.people.append(person.id)
            course = courses.create_course(
                session,
                draft(
                    T0,
                    dict(zip(CODES, seats, strict=True)),
                    start_at=start,
                    end_at=start + timedelta(hours=8),
                    registration_deadline=start - timedelta(hours=6),
                    cancellation_deadline=start - timedelta(hours=6),
                    release_at=T0 + timedelta(days=release_days) if release_days else None,
                    lead_id=self.people[0] if lead else None,
                ),
                T0,
                plan=PLAN,
            )
            self.course_id = course.id
            for i in sorted(early):  # some sign up as soon as the course is published
                regs.sign_up(session, course.id, self.people[i], T0)
        self._step(moved_from=None)

    def teardown(self):
        if hasattr(self, "db"):
            self.db.dispose()

    # --- what happens to a course ------------------------------------------------------------

    def _course(self) -> Course:
        return self.db.call(courses.get_course, self.course_id)

    def _edit(self, **changes):
        # Refused edits (in the past, after the start, cancelled) are covered by unit tests.
        with contextlib.suppress(DomainError):
            self.db.call(courses.edit_course, self.course_id, changes, self.now, plan=PLAN)
        self._step(moved_from=None)

    @rule(hours=HOURS)
    def postpone(self, hours):
        course = self._course()
        self._edit(
            start_at=course.start_at + timedelta(hours=hours),
            end_at=course.end_at + timedelta(hours=hours),
        )

    @rule(hours=HOURS)
    def bring_forward(self, hours):
        course = self._course()
        start = course.start_at - timedelta(hours=hours)
        self._edit(
            start_at=start,
            end_at=course.end_at - timedelta(hours=hours),
            registration_deadline=min(course.registration_deadline, start),
            cancellation_deadline=min(course.cancellation_deadline, start),
        )

    @rule(hours=st.integers(-72, 72))
    def move_deadline(self, hours):
        course = self._course()
        self._edit(
            registration_deadline=min(
                course.registration_deadline + timedelta(hours=hours), course.start_at
            )
        )

    @rule(hours=st.one_of(st.none(), st.integers(-48, 24 * 10)))
    def move_release(self, hours):
        self._edit(release_at=None if hours is None else self.now + timedelta(hours=hours))

    @rule(dice=st.integers(0, 9))
    def cancel_course(self, dice):
        if dice:  # rarely: a cancelled course has little life left to test
            return
        with contextlib.suppress(DomainError):
            self.db.call(courses.cancel_course, self.course_id, self.now, plan=PLAN)
        self._step(moved_from=None)

    @rule(i=st.integers(0, 2 * PEOPLE - 1))
    def sign_up(self, i):
        with contextlib.suppress(DomainError):
            self.db.call(regs.sign_up, self.course_id, self.people[i], self.now)
        self._step(moved_from=None)

    @rule(i=st.integers(0, 2 * PEOPLE - 1))
    def cancel_registration(self, i):
        with contextlib.suppress(DomainError):
            self.db.call(regs.cancel_for_course, self.course_id, self.people[i], self.now)
        self._step(moved_from=None)

    @rule(hours=HOURS)
    def time_passes(self, hours):
        before = self.now
        self.now += timedelta(hours=hours)
        self._step(moved_from=before)

    @rule(course_hours=st.sampled_from([-25, -23, -3, -1, 1, 3]))
    def time_passes_until_near_the_start(self, course_hours):
        """Lands just before or after a reminder, the last day or the start."""
        target = self._course().start_at + timedelta(hours=course_hours)
        if target > self.now:
            before, self.now = self.now, target
            self._step(moved_from=before)

    # --- the reference plan ----------------------------------------------------------------------

    def _step(self, moved_from: datetime | None) -> None:
        delivered = sweep(self.db, self.now)
        course = self._course()
        for item in delivered:
            if item.kind in ("reminder", "promoted", "leadlist", "minimum"):
                assert self.now < course.start_at, f"{item.kind} sent after the start"
        got = {
            (item.person_id, item.detail["offset"], schedule.start_stamp(item.course.start_at))
            for item in delivered
            if item.kind == "reminder"
        }
        assert len(got) == sum(item.kind == "reminder" for item in delivered)
        assert not got & self.seen, "a reminder went out twice"
        self.seen |= got
        assert got == self._expected_reminders(course, moved_from)
        if got:
            event("reminders sent")
        if self.now >= course.start_at:
            event("after the start")
        elif self.now >= course.start_at - timedelta(days=1):
            event("in the last day")

    def _expected_reminders(
        self, course: Course, moved_from: datetime | None
    ) -> set[tuple[int, str, str]]:
        """Reminders whose time fell into the clock step just made: for the course's start
        now (it did not change during the step), to everyone confirmed since before the
        reminder's grace, if the course is still on and has not started."""
        if moved_from is None or course.status != "published" or self.now >= course.start_at:
            return set()
        with self.db.transaction(readonly=True) as session:
            confirmed = session.execute(
                select(Registration.person_id, Registration.confirmed_at).where(
                    Registration.course_id == self.course_id,
                    Registration.status == "confirmed",
                )
            ).all()
        expected = set()
        for offset in PLAN.reminders:
            due = course.start_at - offset
            if not moved_from < due <= self.now:
                continue
            for person_id, confirmed_at in confirmed:
                if confirmed_at <= due - schedule.reminder_grace(offset):
                    expected.add(
                        (
                            person_id,
                            schedule.offset_label(offset),
                            schedule.start_stamp(course.start_at),
                        )
                    )
        return expected

    @invariant()
    def nobody_waits_while_a_seat_they_may_take_is_free(self):
        if hasattr(self, "db"):
            assert self.db.call(invariant_violations, self.course_id, self.now) == []


def test_random_lives_of_a_course_keep_the_reference_plan(backend, new_databases):
    CourseLife.new_database = staticmethod(new_databases)
    machine = CourseLife.TestCase
    machine.settings = settings(
        max_examples=50 if backend == "sqlite" else 20,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    machine("runTest").runTest()


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
