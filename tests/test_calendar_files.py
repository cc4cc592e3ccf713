"""Calendar files that follow the course (PRODUCT.md §13): one event per course day, the same
UID in every file of a registration, a higher SEQUENCE in each newer file, and a file that
removes the entry when the officer cancels, is moved back to the waiting list or the course
is cancelled. Every file is parsed back with icalendar."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from icalendar import Calendar

from bot.jobs import run_due_work
from kurse import admin
from kurse import registrations as regs
from kurse.actors import Actor
from kurse.clock import BERLIN
from kurse.exports import course_calendar
from tests import builders
from tests.conftest import ADMIN_ID
from tests.harness import user

EASTER_2027 = datetime(2027, 3, 27, 9, 0, tzinfo=BERLIN)  # the clock goes forward on the 28th


def calendar_files(h, telegram_id: int) -> list[Calendar]:
    """Every .ics file ``telegram_id`` got, parsed, oldest first."""
    return [
        Calendar.from_ical(m.document[1])
        for m in h.api.messages(telegram_id)
        if m.document and m.document[0].endswith(".ics")
    ]


def events(calendar: Calendar) -> list:
    return list(calendar.walk("VEVENT"))


def local_times(calendar: Calendar) -> list[tuple[str, str, str]]:
    return [
        (
            e.decoded("dtstart").astimezone(BERLIN).strftime("%d.%m. %H:%M"),
            e.decoded("dtend").astimezone(BERLIN).strftime("%H:%M"),
            str(e["status"]),
        )
        for e in events(calendar)
    ]


def uids(calendar: Calendar) -> list[str]:
    return [str(e["uid"]) for e in events(calendar)]


def sequences(calendar: Calendar) -> set[int]:
    return {int(e["sequence"]) for e in events(calendar)}


def three_day_course(db, clock, **extra):
    return builders.course(
        db,
        clock.now(),
        start_at=EASTER_2027,
        end_at=EASTER_2027 + timedelta(days=2, hours=7),
        registration_deadline=EASTER_2027 - timedelta(days=7),
        **extra,
    )


def admin_call(db, clock, service, *args, **kwargs):
    return db.call(
        service,
        *args,
        clock.now(),
        actor=Actor(telegram_id=ADMIN_ID, bootstrap_admin=True),
        **kwargs,
    )


@pytest.mark.usefixtures("agencies")
def test_a_course_over_three_days_across_the_clock_change_is_one_event_a_day_in_berlin(db, clock):
    course = three_day_course(db, clock)

    calendar = Calendar.from_ical(course_calendar(course, 7, clock.now()))

    assert str(calendar["method"]) == "PUBLISH"
    assert local_times(calendar) == [
        ("27.03. 09:00", "16:00", "CONFIRMED"),
        ("28.03. 09:00", "16:00", "CONFIRMED"),
        ("29.03. 09:00", "16:00", "CONFIRMED"),
    ]
    assert uids(calendar) == [
        "kursbot-registration-7@kursbot",
        "kursbot-registration-7-2@kursbot",
        "kursbot-registration-7-3@kursbot",
    ]
    assert [str(e["dtstart"].params["TZID"]) for e in events(calendar)] == ["Europe/Berlin"] * 3


@pytest.mark.usefixtures("agencies")
def test_a_calendar_file_carries_no_english_note_and_a_name_that_says_what_it_is(db, clock):
    course = builders.course(db, clock.now())

    raw = course_calendar(course, 7, clock.now())

    assert b"COMMENT" not in raw
    assert b"only works" not in raw
    assert Calendar.from_ical(raw).walk("VTIMEZONE")[0]["tzid"] == "Europe/Berlin"


async def test_cancelling_a_registration_sends_the_file_that_removes_the_entry(
    h, db, clock, agencies
):
    course = three_day_course(db, clock)
    anna = user("Anna")
    await h.join(anna, agencies["PP-OFR"].access_code, "Anna Beispiel")
    await h.send(anna, "/kurse")
    await h.press(anna, course.title[:20])
    await h.press(anna, "Anmelden")
    clock.advance(timedelta(hours=2))

    await h.press(anna, "Abmelden")
    answers = await h.press(anna, "Ja, abmelden")

    booked, removed = calendar_files(h, anna["id"])
    assert str(booked["method"]) == "PUBLISH"
    assert str(removed["method"]) == "CANCEL"
    assert uids(removed) == uids(booked)
    assert {status for *_, status in local_times(removed)} == {"CANCELLED"}
    assert min(sequences(removed)) > max(sequences(booked))
    assert answers[-1].document[0] == f"{course.code}.ics"


async def test_a_cancelled_course_sends_each_registered_officer_the_file_that_removes_it(
    h, db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now())
    course = three_day_course(db, clock, lead_id=lead.id)
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    registration = db.call(regs.sign_up, course.id, anna.id, clock.now())

    admin_call(db, clock, admin.cancel_course_by_code, course.code, "Hochwasser")
    await run_due_work(h.app)

    (removed,) = calendar_files(h, anna.telegram_id)
    assert str(removed["method"]) == "CANCEL"
    assert uids(removed)[0] == f"kursbot-registration-{registration.registration_id}@kursbot"
    assert len(events(removed)) == 3
    assert calendar_files(h, lead.telegram_id) == []  # the lead is told, has no entry
    assert "Hochwasser" in h.api.messages(anna.telegram_id)[-1].text


async def test_a_moved_course_sends_the_confirmed_an_update_with_the_same_uids(
    h, db, clock, agencies
):
    course = three_day_course(db, clock, seats={"PP-OFR": 1, "PD-Z": 1})
    anna, ben = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "ab")
    held = db.call(regs.sign_up, course.id, anna.id, clock.now())
    db.call(regs.sign_up, course.id, ben.id, clock.now())  # waiting: no calendar entry
    first = Calendar.from_ical(course_calendar(course, held.registration_id, clock.now()))
    clock.advance(timedelta(hours=1))

    admin_call(db, clock, admin.edit_course_from_form, course.code, "Beginn: 28.03.2027 10:00")
    await run_due_work(h.app)

    (update,) = calendar_files(h, anna.telegram_id)
    assert str(update["method"]) == "PUBLISH"
    assert local_times(update) == [
        ("28.03. 10:00", "16:00", "CONFIRMED"),
        ("29.03. 10:00", "16:00", "CONFIRMED"),
        ("29.03. 10:00", "16:00", "CANCELLED"),  # the day the course lost leaves the calendar
    ]
    assert uids(update) == uids(first)
    assert min(sequences(update)) > max(sequences(first))
    assert calendar_files(h, ben.telegram_id) == []
    assert h.api.messages(ben.telegram_id)[-1].text.startswith("ℹ️")


async def test_an_officer_moved_back_to_the_waiting_list_gets_the_file_that_removes_it(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 2, "PD-Z": 1})
    anna, ben = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "ab")
    db.call(regs.sign_up, course.id, anna.id, clock.now())
    moved = db.call(regs.sign_up, course.id, ben.id, clock.now())

    admin_call(
        db, clock, admin.set_quotas_from_text, course.code, "PP-OFR=1", on_excess="demote_latest"
    )
    await run_due_work(h.app)

    (removed,) = calendar_files(h, ben.telegram_id)
    assert str(removed["method"]) == "CANCEL"
    assert uids(removed) == [
        f"kursbot-registration-{moved.registration_id}@kursbot",
        f"kursbot-registration-{moved.registration_id}-2@kursbot",  # the course has two days
    ]
    assert calendar_files(h, anna.telegram_id) == []
