"""Reminders, lead lists, release dates, course end and retention: each once, at its time."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.context import Services
from bot.i18n import texts
from bot.jobs import run_due_work
from kurse import admin, courses, operations, people, schedule
from kurse import registrations as regs
from kurse.actors import Actor
from kurse.config import Settings
from kurse.invariants import invariant_violations
from kurse.models import Outbox, Registration, Task
from tests import builders
from tests.harness import start_harness, stop_harness

BOSS = 4242


def rkey(course, label: str) -> str:
    """The key of the course's reminder task for the offset ``label`` (``7d``)."""
    return schedule.reminder_key(course.id, schedule.parse_offset(label), course.start_at)


def texts_to(h, telegram_id: int, prefix: str) -> list[str]:
    return [m.text for m in h.api.messages(telegram_id) if m.text and m.text.startswith(prefix)]


def sign_up(db, clock, course, person):
    return db.call(regs.sign_up, course.id, person.id, clock.now())


async def test_a_reminder_goes_out_once_at_its_time_with_the_calendar_file(h, db, clock, agencies):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, clock, course, anna)

    clock.set(course.start_at - timedelta(days=7, minutes=1))
    early = await run_due_work(h.app)
    clock.set(course.start_at - timedelta(days=7))
    due = await run_due_work(h.app)
    again = await run_due_work(h.app)

    assert (early.sent, due.sent, again.sent) == (0, 1, 0)
    reminders = texts_to(h, anna.telegram_id, "⏰ Erinnerung")
    assert len(reminders) == 1
    assert course.title in reminders[0]
    name, ics = h.api.messages(anna.telegram_id)[-1].document
    assert name == f"{course.code}.ics"
    assert b"BEGIN:VEVENT" in ics


async def test_each_reminder_offset_fires_once(h, db, clock, agencies):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, clock, course, anna)

    for moment in (course.start_at - timedelta(days=7), course.start_at - timedelta(days=1)):
        clock.set(moment)
        await run_due_work(h.app)
        await run_due_work(h.app)

    assert len(texts_to(h, anna.telegram_id, "⏰")) == 2


async def test_signing_up_10_minutes_before_the_one_day_reminder_gets_none(h, db, clock, agencies):
    course = builders.course(
        db, clock.now(), registration_deadline=clock.now() + timedelta(days=29, hours=12)
    )
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    clock.set(course.start_at - timedelta(days=1, minutes=10))
    sign_up(db, clock, course, anna)

    clock.set(course.start_at - timedelta(days=1))
    await run_due_work(h.app)

    assert texts_to(h, anna.telegram_id, "⏰") == []


async def test_editing_the_start_moves_the_reminders(h, db, clock, agencies):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, clock, course, anna)
    later = course.start_at + timedelta(days=3)
    db.call(
        courses.edit_course,
        course.id,
        {"start_at": later, "end_at": later + timedelta(hours=8)},
        clock.now(),
    )

    clock.set(course.start_at - timedelta(days=7))
    at_old_time = await run_due_work(h.app)
    clock.set(later - timedelta(days=7))
    at_new_time = await run_due_work(h.app)

    assert (at_old_time.sent, at_new_time.sent) == (0, 1)


async def test_cancelling_a_course_or_a_registration_stops_the_reminders(h, db, clock, agencies):
    cancelled_course = builders.course(db, clock.now())
    kept = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    ben = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, clock, cancelled_course, anna)
    registration = sign_up(db, clock, kept, ben)
    db.call(courses.cancel_course, cancelled_course.id, clock.now())
    db.call(regs.cancel, registration.registration_id, ben.id, clock.now())

    clock.set(kept.start_at - timedelta(days=7))
    done = await run_due_work(h.app)

    assert done.sent == 0
    with db.transaction(readonly=True) as session:
        states = {t.key: t.state for t in session.scalars(select(Task))}
    assert states[rkey(cancelled_course, "7d")] == "skipped"


async def test_after_a_restart_due_reminders_go_out_once_and_late_ones_are_skipped(
    db, clock, settings, agencies
):
    soon = builders.course(db, clock.now(), start_at=clock.now() + timedelta(days=10))
    later = builders.course(db, clock.now(), start_at=clock.now() + timedelta(days=20))
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, clock, soon, anna)
    sign_up(db, clock, later, anna)
    first = await start_harness(Services(db, clock, settings))
    await stop_harness(first)

    clock.set(soon.start_at + timedelta(days=4))  # soon has started; later's 7d has passed
    second = await start_harness(Services(db, clock, settings))
    await run_due_work(second.app)
    await run_due_work(second.app)
    await stop_harness(second)

    reminders = texts_to(second, anna.telegram_id, "⏰")
    assert len(reminders) == 1
    assert later.title in reminders[0]
    with db.transaction(readonly=True) as session:
        states = {t.key: t.state for t in session.scalars(select(Task))}
    assert states[rkey(soon, "7d")] == "skipped"
    assert states[rkey(soon, "1d")] == "skipped"
    assert states[rkey(later, "7d")] == "sent"


async def test_two_applications_on_one_database_send_each_message_once(
    db, clock, settings, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 30, "PD-Z": 30})
    officers = builders.officers(db, agencies, clock.now(), 60)
    for person in officers:
        sign_up(db, clock, course, person)
    one = await start_harness(Services(db, clock, settings))
    two = await start_harness(Services(db, clock, settings))
    clock.set(course.start_at - timedelta(days=7))

    results = await asyncio.gather(run_due_work(one.app), run_due_work(two.app))

    await stop_harness(one)
    await stop_harness(two)
    assert sum(r.sent for r in results) == 60
    for person in officers:
        got = texts_to(one, person.telegram_id, "⏰") + texts_to(two, person.telegram_id, "⏰")
        assert len(got) == 1


async def test_a_fan_out_of_500_survives_retry_after_and_blocked_users(h, db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 250, "PD-Z": 250})
    officers = builders.officers(db, agencies, clock.now(), 500)
    for person in officers:
        sign_up(db, clock, course, person)
    blocked = {p.telegram_id for p in officers[::20]}  # 5 %
    h.api.blocked |= blocked
    h.api.retry_after[officers[1].telegram_id] = 3
    clock.set(course.start_at - timedelta(days=7))

    first = await run_due_work(h.app)
    clock.advance(timedelta(seconds=3))
    second = await run_due_work(h.app)

    assert (first.blocked, first.retried) == (25, 1)
    assert first.sent + second.sent == 475
    for person in officers:
        got = texts_to(h, person.telegram_id, "⏰")
        assert len(got) == (0 if person.telegram_id in blocked else 1)
    assert all(not db.call(people.get_person, p.id).active for p in officers[::20])


async def test_the_release_date_moves_waiting_officers_of_any_agency_into_free_seats(
    h, db, clock, agencies
):
    release = clock.now() + timedelta(days=10)
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 2}, release_at=release)
    a, b, c = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "abc")
    for person in (a, b, c):
        sign_up(db, clock, course, person)

    clock.set(release)
    await run_due_work(h.app)

    assert len(texts_to(h, b.telegram_id, "🎉")) == 1
    assert texts_to(h, c.telegram_id, "🎉")
    assert db.call(invariant_violations, course.id, clock.now()) == []


async def test_lead_lists_at_the_deadline_and_the_day_before_mark_the_changes(
    h, db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(
        db,
        clock.now(),
        {"PP-OFR": 1, "PD-Z": 1},
        lead_id=lead.id,
        cancellation_deadline=clock.now() + timedelta(days=29),
    )
    anna = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Anna Erste")
    ben = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Ben Zweiter")
    held = sign_up(db, clock, course, anna)
    sign_up(db, clock, course, ben)

    clock.set(course.registration_deadline)
    await run_due_work(h.app)
    db.call(regs.cancel, held.registration_id, anna.id, clock.now())
    clock.set(course.start_at - timedelta(days=1))
    await run_due_work(h.app)

    lists = texts_to(h, lead.telegram_id, "📋 Teilnahmeliste")
    assert len(lists) == 2
    assert "1. Anna Erste" in lists[0]
    assert "1. Ben Zweiter (PP-OFR)" in lists[0]
    assert "Änderungen seit Ihrer letzten Liste" in lists[1]
    assert "1. Ben Zweiter – <i>nachgerückt</i>" in lists[1]
    assert "<b>Seit der letzten Liste abgemeldet</b>\n– Anna Erste" in lists[1]


async def test_a_course_ends_and_its_participants_are_anonymised_after_retention(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, clock, course, anna)

    clock.set(course.end_at)
    await run_due_work(h.app)
    finished = db.call(courses.get_course, course.id).status
    clock.set(course.end_at + timedelta(days=90))
    await run_due_work(h.app)

    assert finished == "finished"
    with db.transaction(readonly=True) as session:
        rows = session.scalars(select(Registration).where(Registration.course_id == course.id))
        assert [(r.person_id, r.status) for r in rows] == [(None, "confirmed")]
        assert all(o.person_id is None for o in session.scalars(select(Outbox)))


async def test_status_shows_pending_work_and_failures_to_admins(h, db, clock, agencies):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, clock, course, anna)
    h.api.blocked.add(anna.telegram_id)
    boss = {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}

    answer = (await h.send(boss, "/status"))[0].text

    # two reminders, two lists, the end, the certificates (issue 18), the anonymisation
    assert "7 geplante Erinnerungen, Listen und andere zeitgesteuerte Aufgaben" in answer
    assert "; 0 fehlgeschlagen." in answer
    retention = course.end_at + timedelta(days=90)
    assert f"Als Nächstes: {course.code} am " in answer
    assert "0 Kurse nach Ablauf der Aufbewahrungsfrist anonymisiert." in answer
    clock.set(retention)
    await run_due_work(h.app)
    later = (await h.send(boss, "/status"))[0].text
    assert "1 Kurs nach Ablauf der Aufbewahrungsfrist anonymisiert." in later


async def test_status_speaks_in_sentences_with_the_next_due_time_in_german_and_english(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, clock, course, anna)
    boss = {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}
    with db.transaction(readonly=True) as session:
        due = operations.next_due(session)
    assert due is not None

    german = (await h.send(boss, "/status"))[0].text
    english = (await h.send({**boss, "language_code": "en"}, "/status"))[0].text

    assert (
        "7 geplante Erinnerungen, Listen und andere zeitgesteuerte Aufgaben, die nächste ist "
        f"am {texts('de').when(due)} fällig." in german
    )
    assert "Nachrichten noch zu senden; 0 fehlgeschlagen." in german
    assert (
        "7 reminders, lists and other timed tasks planned, the next falling due on "
        f"{texts('en').when(due)}." in english
    )
    assert "0 courses anonymised after the retention period." in english
    assert "Offene Aufgaben" not in german
    assert ": 0" not in german


async def test_the_scheduler_sweeps_by_itself_after_start(db, clock, settings, agencies):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, clock, course, anna)
    clock.set(course.start_at - timedelta(days=7))

    harness = await start_harness(Services(db, clock, settings), sweeping=True)
    for _ in range(100):  # the first sweep runs one second after start
        if texts_to(harness, anna.telegram_id, "⏰"):
            break
        await asyncio.sleep(0.05)
    await stop_harness(harness)

    assert len(texts_to(harness, anna.telegram_id, "⏰")) == 1
    assert db.call(operations.next_due) is not None


@pytest.mark.parametrize("kind", ["leadlist", "release", "end", "retention", "reminder"])
async def test_no_task_runs_a_minute_before_it_is_due(h, db, clock, agencies, kind):
    lead = builders.officer(db, agencies["PD-Z"], clock.now())
    builders.course(db, clock.now(), lead_id=lead.id, release_at=clock.now() + timedelta(days=5))
    with db.transaction(readonly=True) as session:
        due = min(t.due_at for t in session.scalars(select(Task).where(Task.kind == kind)))

    clock.set(due - timedelta(minutes=1))
    await run_due_work(h.app)
    with db.transaction(readonly=True) as session:
        before = {t.state for t in session.scalars(select(Task).where(Task.due_at == due))}
    clock.set(due)
    await run_due_work(h.app)
    with db.transaction(readonly=True) as session:
        after = {t.state for t in session.scalars(select(Task).where(Task.due_at == due))}

    assert before == {"pending"}
    assert after <= {"sent", "skipped"}
    assert after


async def test_offsets_in_hours_and_minutes_come_from_the_settings(db, clock, agencies):
    settings = Settings(_env_file=None, kursbot_reminder_offsets="2h,30m")
    services = Services(db, clock, settings)
    with db.transaction() as session:
        course = courses.create_course(
            session, builders.draft(clock.now()), clock.now(), plan=services.plan
        )
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, clock, course, anna)
    harness = await start_harness(services)

    sent = []
    for moment in (
        course.start_at - timedelta(days=1),
        course.start_at - timedelta(hours=2),
        course.start_at - timedelta(minutes=30),
    ):
        clock.set(moment)
        sent.append((await run_due_work(harness.app)).sent)
    await stop_harness(harness)

    assert sent == [0, 1, 1]
    with db.transaction(readonly=True) as session:
        keys = {t.key for t in session.scalars(select(Task).where(Task.kind == "reminder"))}
    assert keys == {rkey(course, "2h"), rkey(course, "30m")}


async def test_the_lead_list_at_the_deadline_warns_when_the_minimum_is_not_reached(
    h, db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), lead_id=lead.id, min_participants=3)
    for name in ("Anna Erste", "Ben Zweiter"):
        sign_up(
            db, clock, course, builders.officer(db, agencies["PP-OFR"], clock.now(), name=name)
        )

    clock.set(course.registration_deadline)
    await run_due_work(h.app)

    (listed,) = texts_to(h, lead.telegram_id, "📋 Teilnahmeliste")
    assert "⚠️ Mindestzahl an Teilnehmenden: 3; es fehlt noch 1 Person." in listed


def admins_below_minimum(db, clock, agencies, *, confirmed: int, minimum: int = 3):
    """A course with a lead, ``confirmed`` sign-ups, a flagged admin and the bootstrap admin
    (BOSS) as joined persons; returns (course, lead, flagged admin, bootstrap admin)."""
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    flagged = builders.officer(db, agencies["PD-Z"], clock.now(), name="Ada Admin")
    with db.transaction() as session:
        people.get_person(session, flagged.id).is_admin = True
    boss = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Bea Boss", telegram_id=BOSS)
    course = builders.course(db, clock.now(), lead_id=lead.id, min_participants=minimum)
    for i in range(confirmed):
        officer = builders.officer(db, agencies["PP-OFR"], clock.now(), name=f"Officer {i}")
        sign_up(db, clock, course, officer)
    return course, lead, flagged, boss


async def test_below_the_minimum_at_the_deadline_every_admin_is_asked_to_decide_once(
    h, db, clock, agencies
):
    course, lead, flagged, boss = admins_below_minimum(db, clock, agencies, confirmed=2)

    clock.set(course.registration_deadline)
    await run_due_work(h.app)
    await run_due_work(h.app)  # again: nothing more
    clock.set(course.start_at - timedelta(days=1))
    await run_due_work(h.app)  # the list of the day before: no second warning

    expected = (
        f"⚠️ Der Anmeldeschluss für <b>{course.title}</b> ({course.code}) ist erreicht: "
        "2 Personen haben einen bestätigten Platz, die Mindestzahl beträgt 3."
    )
    for admin_ in (flagged, boss):
        (told,) = texts_to(h, admin_.telegram_id, "⚠️ Der Anmeldeschluss")
        assert told.startswith(expected)
        assert f"/kurs_absagen {course.code}" in told
    assert (
        texts_to(h, lead.telegram_id, "⚠️ Der Anmeldeschluss") == []
    )  # the list says it to the lead


async def test_with_the_minimum_reached_no_admin_is_asked(h, db, clock, agencies):
    course, _lead, flagged, boss = admins_below_minimum(db, clock, agencies, confirmed=3)

    clock.set(course.registration_deadline)
    await run_due_work(h.app)

    assert texts_to(h, flagged.telegram_id, "⚠️") == texts_to(h, boss.telegram_id, "⚠️") == []


async def test_a_course_without_a_lead_below_its_minimum_still_reaches_the_admins(
    h, db, clock, agencies
):
    course, _lead, flagged, _boss = admins_below_minimum(db, clock, agencies, confirmed=1)
    db.call(courses.edit_course, course.id, {"lead_id": None}, clock.now())

    clock.set(course.registration_deadline)
    await run_due_work(h.app)

    assert len(texts_to(h, flagged.telegram_id, "⚠️ Der Anmeldeschluss")) == 1


async def test_a_course_cancelled_just_before_a_crash_is_announced_after_the_restart_once(
    db, clock, settings, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    officers = builders.officers(db, agencies, clock.now(), 4)  # two confirmed, two waiting
    for person in officers:
        sign_up(db, clock, course, person)
    # The admin's transaction commits the cancellation and its messages; then the process dies.
    done = db.call(
        admin.cancel_course_by_code,
        course.code,
        "Ausbilder erkrankt",
        clock.now(),
        actor=Actor(telegram_id=settings.kursbot_admin_ids[0], bootstrap_admin=True),
    )

    restarted = await start_harness(Services(db, clock, settings))
    await run_due_work(restarted.app)
    await run_due_work(restarted.app)
    await stop_harness(restarted)

    assert done.told == 4
    for person in officers:
        (told,) = texts_to(restarted, person.telegram_id, "❌")
        assert course.title in told
        assert "Ausbilder erkrankt" in told


async def test_an_officer_moved_up_and_out_again_before_the_message_goes_gets_none(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    anna = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Anna Erste")
    ben = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Ben Zweiter")
    held = sign_up(db, clock, course, anna)
    waiting = sign_up(db, clock, course, ben)
    db.call(regs.cancel, held.registration_id, anna.id, clock.now())  # Ben moves up
    db.call(regs.cancel, waiting.registration_id, ben.id, clock.now())  # and cancels at once

    await run_due_work(h.app)

    assert texts_to(h, ben.telegram_id, "🎉") == []
    with db.transaction(readonly=True) as session:
        (row,) = session.scalars(select(Outbox).where(Outbox.kind == "promoted")).all()
    assert (row.person_id, row.state) == (ben.id, "skipped")
