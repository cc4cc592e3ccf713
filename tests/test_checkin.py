"""Self check-in (issue 18) through the real Application: the lead's code and QR code, an
officer typing it or opening the link, and what is refused: a stale code, a code of another
day, an officer not confirmed, a forged deep link, a day not under way."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kurse import checkin, people
from kurse import registrations as regs
from kurse.days import course_days
from kurse.models import AccessCodeAttempt, Attendance
from tests import builders
from tests.harness import user


@pytest.fixture
async def setting(h, db, clock, agencies):
    """A two-day course led by Lea; Łukasz and Иван confirmed, Çağrı waiting; the clock at
    the first day's start."""
    lea = user("Lea")
    await h.join(lea, agencies["PD-Z"].access_code, "Lea Leitung")
    lead = db.call(people.find_by_telegram_id, lea["id"])
    course = builders.course(db, clock.now(), seats={"PP-OFR": 1, "PD-Z": 1}, lead_id=lead.id)
    officers = {}
    for key, name, code in (
        ("pl", "Łukasz Wójcik", "PP-OFR"),
        ("ru", "Иван Петров", "PD-Z"),
        ("tr", "Çağrı Yılmaz", "PP-OFR"),
    ):
        who = user(name.split()[0])
        await h.join(who, agencies[code].access_code, name)
        person = db.call(people.find_by_telegram_id, who["id"])
        db.call(regs.sign_up, course.id, person.id, clock.now())
        officers[key] = who
    clock.set(course.start_at + timedelta(minutes=10))
    return lea, course, officers


def present(db, course_id) -> list[tuple[str, int | None]]:
    with db.transaction(readonly=True) as session:
        return [
            (a.day.isoformat(), a.recorded_by)
            for a in session.scalars(select(Attendance).where(Attendance.course_id == course_id))
            if a.state == "present"
        ]


def shown_code(text: str) -> str:
    return text.split("Code <b>")[1].split("</b>")[0]


async def test_the_lead_shows_a_code_and_a_qr_code_and_an_officer_who_types_it_is_present(
    h, db, setting
):
    lea, course, officers = setting

    shown = await h.send(lea, f"/checkin {course.code}")
    code = shown_code(shown[0].text)
    answer = await h.send(officers["pl"], code.lower())
    again = await h.send(officers["pl"], code)

    name, picture = shown[0].document
    assert name.endswith(".png")
    assert picture.startswith(b"\x89PNG")
    assert f"https://t.me/kursbot_local_bot?start=ci-{course.id}-{code}" in shown[0].text
    assert answer[0].text.startswith("✅ Eingecheckt: Sie sind für ")
    assert again[0].text.startswith("Sie waren für ")
    pl = db.call(people.find_by_telegram_id, officers["pl"]["id"])
    assert present(db, course.id) == [(course_days(course)[0].day.isoformat(), pl.id)]


async def test_a_code_is_taken_until_two_minutes_after_it_changed_and_not_later(
    h, db, clock, setting
):
    lea, course, officers = setting
    code = shown_code((await h.send(lea, f"/checkin {course.code}"))[0].text)
    clock.advance(checkin.WINDOW)  # the code changed; the old one is still taken
    late = await h.send(officers["pl"], code)
    clock.advance(checkin.WINDOW * 2)  # four minutes and more: stale
    stale = await h.send(officers["ru"], code)

    assert late[0].text.startswith("✅ Eingecheckt")
    assert stale[0].text.startswith("Mit diesem Code ist jetzt kein Check-in möglich")
    assert len(present(db, course.id)) == 1


async def test_a_code_of_another_day_is_refused(h, db, clock, setting):
    lea, course, officers = setting
    code = shown_code((await h.send(lea, f"/checkin {course.code}"))[0].text)
    clock.advance(timedelta(days=1))  # the second day, the same time of day

    answer = await h.send(officers["pl"], code)

    assert answer[0].text.startswith("Mit diesem Code ist jetzt kein Check-in möglich")
    assert present(db, course.id) == []


async def test_an_officer_on_the_waiting_list_cannot_check_in(h, db, setting):
    lea, course, officers = setting
    code = shown_code((await h.send(lea, f"/checkin {course.code}"))[0].text)

    answer = await h.send(officers["tr"], code)

    assert answer[0].text.startswith("Sie haben in diesem Kurs keinen bestätigten Platz")
    assert present(db, course.id) == []


async def test_the_deep_link_checks_in_and_a_forged_one_does_not(h, db, clock, setting):
    lea, course, officers = setting
    other = builders.course(db, clock.now() - timedelta(days=40), title="Andere Schulung")
    code = shown_code((await h.send(lea, f"/checkin {course.code}"))[0].text)
    stranger = user("Nina")

    forged = [
        await h.send(officers["ru"], f"/start ci-{other.id}-{code}"),  # another course
        await h.send(officers["ru"], "/start ci-999999-ACDEFG"),  # made up
        await h.send(officers["ru"], f"/start ci-{course.id}-{'A' * 6}"),  # wrong code
    ]
    opened = await h.send(officers["ru"], f"/start ci-{course.id}-{code}")
    not_joined = await h.send(stranger, f"/start ci-{course.id}-{code}")

    refused = "Mit diesem Code ist jetzt kein Check-in möglich"
    assert [a[0].text.split(":")[0] for a in forged] == [refused] * 3
    assert opened[0].text.startswith("✅ Eingecheckt")
    assert not_joined[0].text.startswith("Willkommen")  # asked for the access code
    with db.transaction(readonly=True) as session:
        tries = session.scalar(select(func.count()).select_from(AccessCodeAttempt))
    assert tries == 0  # the link is no wrong access code
    ru = db.call(people.find_by_telegram_id, officers["ru"]["id"])
    assert [by for _day, by in present(db, course.id)] == [ru.id]


async def test_no_code_before_the_day_or_for_someone_not_the_lead(h, clock, setting):
    lea, course, officers = setting
    clock.set(course.start_at - timedelta(hours=1))

    early = await h.send(lea, f"/checkin {course.code}")
    clock.set(course.start_at)
    not_lead = await h.send(officers["pl"], f"/checkin {course.code}")

    assert early[0].text.startswith("Der Kurstag ")
    assert not_lead[0].text == (
        "Die Teilnehmenden eines Kurses sehen nur die Kursleitung und die Administration."
    )


def test_codes_differ_by_course_day_and_window_and_use_the_unambiguous_alphabet(db, clock):
    builders.seed(db, clock.now())
    course = builders.course(db, clock.now())
    first, second = course_days(course)

    codes = {
        checkin.code_for("secret", course.id, day, window)
        for day in (first, second)
        for window in range(50)
    }

    assert len(codes) == 100
    assert all(checkin.normalise(code) == code for code in codes)


@pytest.mark.usefixtures("agencies")
async def test_a_dialog_answer_that_looks_like_a_code_stays_the_dialogs(h):
    boss = {"id": 4242, "is_bot": False, "first_name": "Chefin", "language_code": "de"}
    await h.send(boss, "/kurs_neu")

    answer = await h.send(boss, "ACDEFG")  # a title of six letters of the codes' alphabet

    assert answer[0].text.startswith("Schritt 2 von 9: Wann beginnt der Kurs?")
