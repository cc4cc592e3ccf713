"""Rules of PRODUCT.md §9 (timed work follows every change of a course) and the lead's part
of §4, one rule per test; each was named by no test before the mutation check
(`tests/mutations.py`) found that breaking it went unnoticed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.jobs import run_due_work
from kurse import courses, schedule, tasks
from kurse import registrations as regs
from kurse.invariants import invariant_violations
from kurse.models import Outbox, Registration, Task, TaskState
from kurse.outbox import MessageKind
from kurse.registration_lists import participants
from tests import builders
from tests.harness import eventually, user


def edit(db, clock, course, **changes):
    return db.call(courses.edit_course, course.id, changes, clock.now()).course


def task_rows(db, course) -> dict[str, Task]:
    with db.transaction(readonly=True) as session:
        return {t.key: t for t in session.scalars(select(Task).where(Task.course_id == course.id))}


def states(db, course) -> dict[str, str]:
    return {key: task.state for key, task in task_rows(db, course).items()}


def sweep(db, clock) -> None:
    """Runs every due task as the scheduler's sweep does (messages are queued, not sent)."""
    for task_id in db.call(tasks.claim_due_tasks, clock.now()):
        db.call(tasks.run_task, task_id, clock.now())


def status_of(db, registration_id: int) -> str:
    with db.transaction(readonly=True) as session:
        return session.get(Registration, registration_id).status


def reminders_to(h, telegram_id: int) -> int:
    return sum(1 for m in h.api.messages(telegram_id) if m.text and m.text.startswith("⏰"))


# --- what is still to come moves ------------------------------------------------------------


@pytest.mark.usefixtures("agencies")
def test_every_pending_task_moves_with_the_dates_it_depends_on(db, clock):
    course = builders.course(db, clock.now(), release_at=clock.now() + timedelta(days=5))
    later = course.start_at + timedelta(days=9)

    moved = edit(
        db,
        clock,
        course,
        start_at=later,
        end_at=later + timedelta(hours=8),
        registration_deadline=later - timedelta(days=2),
        release_at=clock.now() + timedelta(days=12),
    )

    pending = {k: t.due_at for k, t in task_rows(db, course).items() if t.state == "pending"}
    planned = schedule.planned_work(moved, schedule.DEFAULT_PLAN)
    assert pending == {key: item.due for key, item in planned.items()}


# --- what no longer makes sense is dropped ---------------------------------------------------


@pytest.mark.usefixtures("agencies")
def test_work_a_change_made_pointless_is_skipped_at_once(db, clock):
    course = builders.course(db, clock.now(), release_at=clock.now() + timedelta(days=5))
    old_reminders = {key for key in states(db, course) if key.startswith("reminder:")}
    later = course.start_at + timedelta(days=9)

    edit(db, clock, course, start_at=later, end_at=later + timedelta(hours=8), release_at=None)

    after = states(db, course)
    assert {key: after[key] for key in old_reminders} == dict.fromkeys(old_reminders, "skipped")
    assert after[f"release:course:{course.id}"] == "skipped"
    assert after[schedule.reminder_key(course.id, timedelta(days=7), later)] == "pending"


def test_a_reminder_claimed_just_before_the_course_was_postponed_is_not_sent_for_the_old_date(
    db, clock, agencies
):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    db.call(regs.sign_up, course.id, anna.id, clock.now())
    old_key = schedule.reminder_key(course.id, timedelta(days=7), course.start_at)
    clock.set(course.start_at - timedelta(days=7))
    claimed = db.call(tasks.claim_due_tasks, clock.now())  # the sweep has claimed the reminder
    later = course.start_at + timedelta(days=14)
    edit(db, clock, course, start_at=later, end_at=later + timedelta(hours=8))

    for task_id in claimed:
        db.call(tasks.run_task, task_id, clock.now())

    assert states(db, course)[old_key] == "skipped"
    with db.transaction(readonly=True) as session:
        assert session.scalars(select(Outbox).where(Outbox.kind == "reminder")).all() == []


# --- what already happened is done again where the change makes it meaningful ----------------


def test_a_release_date_taken_away_and_set_again_releases_the_seats_at_that_date(
    db, clock, agencies
):
    release = clock.now() + timedelta(days=5)
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1}, release_at=release)
    anna, ben = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "ab")
    db.call(regs.sign_up, course.id, anna.id, clock.now())
    waiting = db.call(regs.sign_up, course.id, ben.id, clock.now())
    edit(db, clock, course, release_at=None)
    edit(db, clock, course, release_at=release)

    clock.set(release)
    sweep(db, clock)

    assert status_of(db, waiting.registration_id) == "confirmed"  # Zwickau's unused seat
    assert db.call(invariant_violations, course.id, clock.now()) == []


async def test_a_course_moved_away_and_back_sends_no_reminder_whose_time_had_passed(
    h, db, clock, agencies
):
    start = clock.now() + timedelta(days=5)  # its 7-day reminder's time has passed already
    course = builders.course(
        db, clock.now(), start_at=start, registration_deadline=start - timedelta(days=1)
    )
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    db.call(regs.sign_up, course.id, anna.id, clock.now())
    clock.advance(timedelta(days=1))
    later = start + timedelta(days=15)
    edit(db, clock, course, start_at=later, end_at=later + timedelta(hours=8))
    clock.advance(timedelta(days=1))
    edit(db, clock, course, start_at=start, end_at=start + timedelta(hours=8))

    await run_due_work(h.app)  # three days before: no late "in 7 days"
    late = reminders_to(h, anna.telegram_id)
    clock.set(start - timedelta(days=1))
    await run_due_work(h.app)

    assert (late, reminders_to(h, anna.telegram_id)) == (0, 1)


@pytest.mark.usefixtures("agencies")
def test_planning_a_course_again_without_a_change_changes_none_of_its_tasks(db, clock):
    start = clock.now() + timedelta(days=5)  # one reminder skipped when it was planned
    course = builders.course(
        db,
        clock.now(),
        start_at=start,
        registration_deadline=start - timedelta(days=2),
        release_at=clock.now() + timedelta(days=1),
    )
    clock.set(course.registration_deadline)
    sweep(db, clock)  # the release and the deadline's lead list have run
    before = {k: (t.state, t.due_at, t.done_at) for k, t in task_rows(db, course).items()}

    db.call(schedule.replan_all, schedule.DEFAULT_PLAN, clock.now())
    db.call(schedule.replan_all, schedule.DEFAULT_PLAN, clock.now())

    after = {k: (t.state, t.due_at, t.done_at) for k, t in task_rows(db, course).items()}
    assert after == before
    assert {state for state, _due, _done in before.values()} == {"pending", "sent", "skipped"}


# --- existing courses follow the current settings and the current planner at every start -----


@pytest.mark.usefixtures("agencies")
def test_a_changed_retention_period_reaches_cancelled_courses_at_the_next_start(db, clock):
    course = builders.course(db, clock.now())
    db.call(courses.cancel_course, course.id, clock.now())

    db.call(schedule.replan_all, schedule.Plan(retention_days=30), clock.now())

    retention = task_rows(db, course)[f"retention:course:{course.id}"]
    assert (retention.state, retention.due_at) == ("pending", course.end_at + timedelta(days=30))


def test_a_cancelled_course_whose_anonymisation_an_older_version_skipped_is_anonymised(
    db, clock, agencies
):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    db.call(regs.sign_up, course.id, anna.id, clock.now())
    db.call(courses.cancel_course, course.id, clock.now())
    with db.transaction() as session:  # what versions before 0002's planner did
        session.execute(
            update(Task)
            .where(Task.course_id == course.id, Task.kind == "retention")
            .values(state=TaskState.SKIPPED, done_at=clock.now())
        )
    clock.set(course.end_at + timedelta(days=100))  # its time has passed meanwhile

    db.call(schedule.replan_all, schedule.DEFAULT_PLAN, clock.now())
    sweep(db, clock)

    with db.transaction(readonly=True) as session:
        rows = session.scalars(select(Registration).where(Registration.course_id == course.id))
        assert [r.person_id for r in rows] == [None]


async def test_a_reminder_due_while_the_bot_was_down_for_the_upgrade_to_dated_keys_is_sent_once(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    db.call(regs.sign_up, course.id, anna.id, clock.now())
    new_key = schedule.reminder_key(course.id, timedelta(days=7), course.start_at)
    with db.transaction() as session:  # as versions before the start date was in the key
        session.execute(
            update(Task).where(Task.key == new_key).values(key=f"reminder:7d:course:{course.id}")
        )
    clock.set(course.start_at - timedelta(days=7) + timedelta(hours=2))  # it fell due meanwhile

    db.call(schedule.replan_all, schedule.DEFAULT_PLAN, clock.now())  # the start after the update
    await run_due_work(h.app)
    await run_due_work(h.app)

    assert reminders_to(h, anna.telegram_id) == 1
    assert states(db, course)[new_key] == "sent"


# --- §4: in the last 24 hours the lead fills a free seat ------------------------------------


def _news_in_flight(db) -> int:
    with db.transaction(readonly=True) as session:
        return len(
            session.scalars(
                select(Outbox).where(
                    Outbox.kind == MessageKind.LEAD_NEWS,
                    Outbox.state == "sending",
                )
            ).all()
        )


async def test_in_the_last_24_hours_the_lead_is_told_of_a_freed_seat_and_nobody_moves_up(
    h, db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    start = clock.now() + timedelta(days=10)
    course = builders.course(
        db,
        clock.now(),
        {"PP-OFR": 1},
        start_at=start,
        cancellation_deadline=start - timedelta(hours=1),
        lead_id=lead.id,
    )
    first, second = user("Erste"), user("Zweite")
    for who in (first, second):
        await h.join(who, agencies["PP-OFR"].access_code, f"{who['first_name']} Person")
        await h.send(who, "/kurse")
        await h.press(who, course.title[:20])
        await h.press(who, "Anmelden" if who is first else "Auf die Warteliste")
    clock.advance(timedelta(minutes=1))  # the lead's news of both has gone out
    await run_due_work(h.app)
    await eventually(lambda: _news_in_flight(db) == 0)
    clock.set(start - timedelta(hours=3))

    await h.press(first, "Abmelden", h.with_button(first, "Abmelden"))
    await h.press(first, "Ja, abmelden")

    def lines_to_lead() -> list[str]:
        return [line for m in h.api.messages(lead.telegram_id) for line in m.text.splitlines()]

    free_seat = (
        f"In <b>{course.title}</b> ist weniger als 24 Stunden vor Beginn ein Platz frei "
        "geworden. Von der Warteliste rückt niemand automatisch nach; bitte besetzen Sie den "
        "Platz selbst, falls noch jemand kommen kann."
    )
    await eventually(lambda: free_seat in lines_to_lead())  # with the lead's other news
    listing = db.call(participants, course.id, clock.now())
    assert [p.name for p in listing.waiting] == ["Zweite Person"]
    assert listing.confirmed == {}
