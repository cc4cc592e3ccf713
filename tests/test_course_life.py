"""A course's life after it was created (PRODUCT.md §9): timed work follows every change,
messages are re-checked when they go out, and existing courses follow changed settings."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from bot.cli import upgrade_database
from bot.context import Services
from bot.jobs import run_due_work
from kurse import admin, claims, courses, outbox, schedule, tasks
from kurse import registrations as regs
from kurse.actors import Actor
from kurse.config import Settings
from kurse.db import make_engine
from kurse.invariants import invariant_violations
from kurse.migrate import upgrade
from kurse.models import Outbox, Registration, Task
from tests import builders
from tests.conftest import ADMIN_ID
from tests.harness import eventually, start_harness, stop_harness


def texts_to(h, telegram_id: int, prefix: str) -> list[str]:
    """What ``telegram_id`` got that starts with ``prefix`` (a file's caption is its text)."""
    return [m.text for m in h.api.messages(telegram_id) if m.text and m.text.startswith(prefix)]


def sign_up(db, clock, course, person):
    return db.call(regs.sign_up, course.id, person.id, clock.now())


def edit(db, clock, course, **changes):
    return db.call(courses.edit_course, course.id, changes, clock.now()).course


def task_states(db, course) -> dict[str, str]:
    with db.transaction(readonly=True) as session:
        return {
            t.key: t.state
            for t in session.scalars(select(Task).where(Task.course_id == course.id))
        }


# --- 1. timed work is re-planned on every change ------------------------------------------


async def test_a_release_date_moved_later_after_it_ran_releases_the_seats_at_the_new_date(
    h, db, clock, agencies
):
    course = builders.course(
        db, clock.now(), {"PP-OFR": 1, "PD-Z": 1}, release_at=clock.now() + timedelta(days=5)
    )
    anna, ben = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "ab")
    zoe = builders.officer(db, agencies["PD-Z"], clock.now())
    sign_up(db, clock, course, anna)
    waiting = sign_up(db, clock, course, ben)
    held = sign_up(db, clock, course, zoe)
    clock.set(course.release_at)
    await run_due_work(h.app)  # the release runs: no seat is free
    clock.advance(timedelta(days=1))
    edit(db, clock, course, release_at=clock.now() + timedelta(days=5))
    db.call(regs.cancel, held.registration_id, zoe.id, clock.now())  # Zwickau's seat is free

    clock.advance(timedelta(days=5))
    await run_due_work(h.app)

    assert db.call(invariant_violations, course.id, clock.now()) == []
    with db.transaction(readonly=True) as session:
        assert session.get(Registration, waiting.registration_id).status == "confirmed"
    assert len(texts_to(h, ben.telegram_id, "🎉")) == 1


async def test_a_postponed_course_reminds_every_officer_again_before_its_new_date(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, clock, course, anna)
    clock.set(course.start_at - timedelta(days=7))
    await run_due_work(h.app)  # the 7-day reminder for the first date
    later = course.start_at + timedelta(days=14)
    edit(db, clock, course, start_at=later, end_at=later + timedelta(hours=8))

    for moment in (later - timedelta(days=7), later - timedelta(days=1)):
        clock.set(moment)
        await run_due_work(h.app)
        await run_due_work(h.app)

    reminders = texts_to(h, anna.telegram_id, "⏰")
    assert len(reminders) == 3  # 7 days before the old date, then 7 days and 1 day before the new


async def test_a_reminder_whose_time_had_passed_when_the_course_moved_is_not_sent_late(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, clock, course, anna)
    clock.set(course.start_at - timedelta(days=7))
    await run_due_work(h.app)
    clock.set(course.start_at - timedelta(days=3))
    later = course.start_at + timedelta(days=1)  # its 7-day time lies in the past
    edit(db, clock, course, start_at=later, end_at=later + timedelta(hours=8))

    await run_due_work(h.app)
    clock.set(later - timedelta(days=1))
    await run_due_work(h.app)

    assert len(texts_to(h, anna.telegram_id, "⏰")) == 2  # the old 7-day one, the new 1-day one
    states = task_states(db, course)
    assert states[schedule.reminder_key(course.id, timedelta(days=7), later)] == "skipped"


async def test_a_course_moved_away_and_back_reminds_each_officer_once_per_offset_and_date(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, clock, course, anna)
    original = (course.start_at, course.end_at)
    clock.set(course.start_at - timedelta(days=7))
    await run_due_work(h.app)
    later = course.start_at + timedelta(days=10)
    edit(db, clock, course, start_at=later, end_at=later + timedelta(hours=8))
    edit(db, clock, course, start_at=original[0], end_at=original[1])

    for moment in (original[0] - timedelta(days=6), original[0] - timedelta(days=1)):
        clock.set(moment)
        await run_due_work(h.app)

    assert len(texts_to(h, anna.telegram_id, "⏰")) == 2  # 7 days and 1 day, once each


async def test_an_extended_registration_deadline_sends_the_lead_a_new_list_then(
    h, db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), lead_id=lead.id)
    sign_up(db, clock, course, builders.officer(db, agencies["PP-OFR"], clock.now(), name="Anna"))
    clock.set(course.registration_deadline)
    await run_due_work(h.app)
    new_deadline = course.registration_deadline + timedelta(days=3)
    edit(db, clock, course, registration_deadline=new_deadline)
    ben = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Ben Spät")
    sign_up(db, clock, course, ben)

    clock.set(new_deadline)
    await run_due_work(h.app)

    lists = texts_to(h, lead.telegram_id, "📋 Teilnahmeliste")
    assert len(lists) == 2
    assert "Ben Spät" in lists[1]
    assert "Änderungen seit Ihrer letzten Liste" in lists[1]


async def test_a_cancelled_course_is_still_anonymised_after_the_retention_period(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, clock, course, anna)
    db.call(courses.cancel_course, course.id, clock.now())

    clock.set(course.end_at + timedelta(days=90))
    await run_due_work(h.app)

    with db.transaction(readonly=True) as session:
        rows = session.scalars(select(Registration).where(Registration.course_id == course.id))
        assert [r.person_id for r in rows] == [None]


# --- 2. existing data and changed settings --------------------------------------------------


def test_a_course_created_before_timed_work_existed_gets_it_at_the_next_start(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0001")
    start = clock.now() + timedelta(days=30)
    with engine.begin() as conn:
        # An agency, as every database that has courses has (migration 0010 makes one host).
        conn.execute(
            text(
                "INSERT INTO agency (code, name, state, access_code, created_at)"
                " VALUES ('PP-OFR', 'Polizeipräsidium Oberfranken', 'Bayern', 'ALTCODE23', :n)"
            ),
            {"n": clock.now().replace(tzinfo=None)},
        )
        conn.execute(
            text(
                "INSERT INTO course (code, title, description, location, start_at, end_at,"
                " registration_deadline, cancellation_deadline, status, reg_seq, created_at,"
                " updated_at) VALUES ('K-2027-001', 'Alt', '', 'Hof', :s, :e, :d, :d,"
                " 'published', 0, :n, :n)"
            ),
            {
                "s": start.replace(tzinfo=None) - timedelta(hours=1),
                "e": start.replace(tzinfo=None) + timedelta(hours=7),
                "d": start.replace(tzinfo=None) - timedelta(days=7),
                "n": clock.now().replace(tzinfo=None),
            },
        )
    engine.dispose()
    start_settings = Settings(_env_file=None, kursbot_database_url=url)

    upgrade_database(start_settings).dispose()  # what `kursbot db upgrade` does
    db = upgrade_database(start_settings)  # a second upgrade changes nothing
    with db.transaction(readonly=True) as session:
        kinds = sorted(t.kind for t in session.scalars(select(Task)))
    looked_at = db.call(schedule.replan_all, schedule.DEFAULT_PLAN, clock.now())
    db.dispose()
    assert looked_at == 1
    assert kinds == [
        "certificates",  # issue 18
        "end",
        "leadlist",
        "leadlist",
        "reminder",
        "reminder",
        "retention",
    ]


async def test_changed_reminder_offsets_reach_existing_courses_at_the_next_start(
    db, clock, agencies
):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, clock, course, anna)
    settings = Settings(
        _env_file=None, kursbot_reminder_offsets="3d,2h", kursbot_retention_days=30
    )

    restarted = await start_harness(Services(db, clock, settings))
    for moment in (
        course.start_at - timedelta(days=7),
        course.start_at - timedelta(days=3),
        course.start_at - timedelta(hours=2),
    ):
        clock.set(moment)
        await run_due_work(restarted.app)
    await stop_harness(restarted)

    assert len(texts_to(restarted, anna.telegram_id, "⏰")) == 2  # 3 days and 2 hours
    with db.transaction(readonly=True) as session:
        retention = session.scalar(
            select(Task).where(Task.course_id == course.id, Task.kind == "retention")
        )
    assert retention.due_at == course.end_at + timedelta(days=30)


# --- 4. messages re-checked when they are sent, and sent once -------------------------------


async def test_a_lead_list_retried_after_retry_after_goes_to_the_new_lead(h, db, clock, agencies):
    old = builders.officer(db, agencies["PD-Z"], clock.now(), name="Olaf Alt")
    new = builders.officer(db, agencies["PD-Z"], clock.now(), name="Nina Neu")
    course = builders.course(db, clock.now(), lead_id=old.id)
    h.api.retry_after[old.telegram_id] = 3
    clock.set(course.registration_deadline)
    first = await run_due_work(h.app)
    edit(db, clock, course, lead_id=new.id)

    clock.advance(timedelta(seconds=3))
    await run_due_work(h.app)

    assert first.retried == 1
    assert texts_to(h, old.telegram_id, "📋") == []
    assert len(texts_to(h, new.telegram_id, "📋 Teilnahmeliste")) == 1


async def test_a_reminder_waiting_for_its_turn_is_not_sent_after_the_course_is_cancelled(
    db, clock, settings, agencies
):
    course = builders.course(db, clock.now())
    officers = [builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in range(3)]
    for person in officers:
        sign_up(db, clock, course, person)
    slow = await start_harness(Services(db, clock, settings), messages_per_second=1)
    clock.set(course.start_at - timedelta(days=7))

    sweep = asyncio.create_task(run_due_work(slow.app))
    await eventually(lambda: any(slow.api.messages(p.telegram_id) for p in officers))
    db.call(courses.cancel_course, course.id, clock.now())
    done = await sweep
    await stop_harness(slow)

    got = sum(len(texts_to(slow, p.telegram_id, "⏰")) for p in officers)
    assert (got, done.sent, done.skipped) == (1, 1, 2)


async def test_a_slow_send_is_not_sent_a_second_time_by_another_instance(
    db, clock, settings, agencies
):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, clock, course, anna)
    one = await start_harness(Services(db, clock, settings))
    two = await start_harness(Services(db, clock, settings))
    release = one.api.hold[anna.telegram_id] = asyncio.Event()
    clock.set(course.start_at - timedelta(days=7))

    sending = asyncio.create_task(run_due_work(one.app, renew_every=0.02))
    await eventually(lambda: anna.telegram_id in one.api.holding)
    clock.advance(claims.CLAIM_TIMEOUT * 3)  # the send takes longer than a claim lasts
    await asyncio.sleep(0.2)  # the sender renews its claim meanwhile
    second = await run_due_work(two.app)
    release.set()
    first = await sending
    await stop_harness(one)
    await stop_harness(two)

    assert (first.sent, second.sent) == (1, 0)
    assert (
        len(texts_to(one, anna.telegram_id, "⏰")) + len(texts_to(two, anna.telegram_id, "⏰"))
        == 1
    )


async def test_a_claim_whose_sender_died_is_taken_over_after_the_claim_timeout(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, clock, course, anna)
    clock.set(course.start_at - timedelta(days=7))
    db.call(tasks.run_task, db.call(tasks.claim_due_tasks, clock.now())[0], clock.now())
    db.call(outbox.claim_due_messages, clock.now())  # claimed; then the process dies

    early = await run_due_work(h.app)
    clock.advance(claims.CLAIM_TIMEOUT + timedelta(seconds=1))
    late = await run_due_work(h.app)

    assert (early.sent, late.sent) == (0, 1)


async def test_with_a_30_minute_reminder_signing_up_45_minutes_before_still_gets_it(
    db, clock, agencies
):
    settings = Settings(_env_file=None, kursbot_reminder_offsets="30m")
    course = builders.course(
        db, clock.now(), registration_deadline=clock.now() + timedelta(days=30)
    )
    early, late = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "el")
    harness = await start_harness(Services(db, clock, settings))
    clock.set(course.start_at - timedelta(minutes=45))
    sign_up(db, clock, course, early)
    clock.set(course.start_at - timedelta(minutes=35))
    sign_up(db, clock, course, late)  # 5 minutes before its reminder: the confirmation says it

    clock.set(course.start_at - timedelta(minutes=30))
    await run_due_work(harness.app)
    await stop_harness(harness)

    assert len(texts_to(harness, early.telegram_id, "⏰")) == 1
    assert texts_to(harness, late.telegram_id, "⏰") == []


def test_the_grace_before_a_reminder_is_a_quarter_of_its_offset_and_at_most_an_hour():
    grace = schedule.reminder_grace

    assert grace(timedelta(minutes=30)) == timedelta(minutes=7, seconds=30)
    assert grace(timedelta(hours=2)) == timedelta(minutes=30)
    assert grace(timedelta(days=7)) == timedelta(hours=1)


async def test_a_lead_list_of_a_course_whose_lead_was_removed_is_not_sent(h, db, clock, agencies):
    lead = builders.officer(db, agencies["PD-Z"], clock.now())
    course = builders.course(db, clock.now(), lead_id=lead.id)
    h.api.retry_after[lead.telegram_id] = 3
    clock.set(course.registration_deadline)
    await run_due_work(h.app)
    edit(db, clock, course, lead_id=None)

    clock.advance(timedelta(seconds=3))
    await run_due_work(h.app)

    assert texts_to(h, lead.telegram_id, "📋") == []
    with db.transaction(readonly=True) as session:
        (row,) = session.scalars(select(Outbox).where(Outbox.kind == "leadlist")).all()
    assert row.state == "skipped"


@pytest.mark.usefixtures("agencies")
async def test_cancelling_through_the_admin_command_keeps_the_retention_of_the_settings(db, clock):
    settings = Settings(_env_file=None, kursbot_admin_ids=(ADMIN_ID,), kursbot_retention_days=10)
    course = builders.course(db, clock.now())

    db.call(
        admin.cancel_course_by_code,
        course.code,
        None,
        clock.now(),
        actor=Actor(telegram_id=ADMIN_ID, bootstrap_admin=True),
        plan=settings.plan,
    )

    with db.transaction(readonly=True) as session:
        retention = session.scalar(
            select(Task).where(Task.course_id == course.id, Task.kind == "retention")
        )
    assert (retention.state, retention.due_at) == ("pending", course.end_at + timedelta(days=10))


@pytest.mark.usefixtures("h")
async def test_a_course_postponed_out_of_its_last_day_fills_a_free_seat_from_the_waiting_list(
    db, clock, agencies
):
    course = builders.course(
        db,
        clock.now(),
        {"PP-OFR": 1, "PD-Z": 0},
        registration_deadline=clock.now() + timedelta(days=29, hours=20),
    )
    anna, ben = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "ab")
    held = sign_up(db, clock, course, anna)
    waiting = sign_up(db, clock, course, ben)
    clock.set(course.start_at - timedelta(hours=12))
    db.call(regs.cancel, held.registration_id, anna.id, clock.now())  # the lead fills it now

    later = course.start_at + timedelta(days=7)
    edit(db, clock, course, start_at=later, end_at=later + timedelta(hours=8))

    assert db.call(invariant_violations, course.id, clock.now()) == []
    with db.transaction(readonly=True) as session:
        assert session.get(Registration, waiting.registration_id).status == "confirmed"


async def test_a_release_date_set_into_the_past_releases_the_seats_at_once(h, db, clock, agencies):
    course = builders.course(
        db, clock.now(), {"PP-OFR": 1, "PD-Z": 1}, release_at=clock.now() + timedelta(days=5)
    )
    anna, ben = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "ab")
    sign_up(db, clock, course, anna)
    waiting = sign_up(db, clock, course, ben)
    edit(db, clock, course, release_at=None)  # its task is skipped
    clock.advance(timedelta(days=2))

    edit(db, clock, course, release_at=clock.now() - timedelta(days=1))
    await run_due_work(h.app)

    with db.transaction(readonly=True) as session:
        assert session.get(Registration, waiting.registration_id).status == "confirmed"
    assert len(texts_to(h, ben.telegram_id, "🎉")) == 1
