"""Attendance per course day (issue 18) through the real Application: /anwesenheit with a
button per participant that cycles present → absent → excused, the lock 7 days after the end,
an admin's unlock (audited), two leads pressing at once, forged and stale buttons."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from kurse import attendance, courses, people
from kurse import registrations as regs
from kurse.models import Attendance, AuditEntry, RegistrationStatus
from tests import builders
from tests.harness import user

BOSS = 4242  # bootstrap admin (KURSBOT_ADMIN_IDS)


@pytest.fixture
def boss():
    return {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}


async def joined(h, agencies, name, code="PP-OFR", **extra):
    who = user(name.split()[0], **extra)
    await h.join(who, agencies[code].access_code, name)
    return who


def person(db, who):
    return db.call(people.find_by_telegram_id, who["id"])


@pytest.fixture
async def course_with_three(h, db, clock, agencies):
    """A two-day course led by Lea, with Łukasz, Çağrı and Иван confirmed and Jiří waiting;
    the clock at the first day's start."""
    lea = await joined(h, agencies, "Lea Leitung", "PD-Z")
    course = builders.course(
        db, clock.now(), seats={"PP-OFR": 2, "PD-Z": 1}, lead_id=person(db, lea).id
    )
    names = [("Łukasz Wójcik", "PP-OFR"), ("Çağrı Yılmaz", "PP-OFR"), ("Иван Петров", "PD-Z")]
    officers = [builders.officer(db, agencies[code], clock.now(), name=n) for n, code in names]
    waiting = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Jiří Dvořák")
    for officer in [*officers, waiting]:
        db.call(regs.sign_up, course.id, officer.id, clock.now())
    clock.set(course.start_at)
    return lea, course, officers


def states(db, course_id) -> dict[tuple[int, str], str]:
    with db.transaction(readonly=True) as session:
        return {
            (a.registration_id, a.day.isoformat()): a.state
            for a in session.scalars(select(Attendance).where(Attendance.course_id == course_id))
        }


async def test_the_lead_sees_the_confirmed_of_today_and_each_press_cycles_the_state(
    h, db, course_with_three
):
    lea, course, _officers = course_with_three

    shown = await h.send(lea, f"/anwesenheit {course.code}")
    text, labels = shown[0].text, shown[0].button_texts()  # before the presses edit it
    await h.press(lea, "Łukasz Wójcik")
    first = h.last(lea).text
    await h.press(lea, "Łukasz Wójcik")
    await h.press(lea, "Łukasz Wójcik")
    await h.press(lea, "Łukasz Wójcik")

    assert text.startswith(f"<b>Anwesenheit</b> {course.title} ({course.code})\nTag 1 von 2: ")
    assert "▫️ offen: 3" in text
    assert labels == [  # by agency, then name
        "▫️ POK Иван Петров (PD-Z)",
        "▫️ POK Çağrı Yılmaz (PP-OFR)",
        "▫️ POK Łukasz Wójcik (PP-OFR)",
    ]
    assert "✅ anwesend: 1" in first
    assert "✅ POK Łukasz Wójcik (PP-OFR)" in h.last(lea).button_texts()  # ▫️ → ✅ → ❌ → 🟡 → ✅
    assert list(states(db, course.id).values()) == ["present"]


async def test_a_state_is_one_row_per_registration_and_day_that_keeps_its_agency(
    h, db, clock, course_with_three
):
    lea, course, officers = course_with_three
    await h.send(lea, f"/anwesenheit {course.code}")
    await h.press(lea, "Иван Петров")
    await h.press(lea, "Иван Петров")  # absent: a no-show
    clock.advance(timedelta(days=1))
    await h.send(lea, f"/anwesenheit {course.code}")
    await h.press(lea, "Иван Петров")

    with db.transaction(readonly=True) as session:
        rows = session.scalars(select(Attendance).order_by(Attendance.day)).all()
        agency = [r.agency_id for r in rows]
    second_day = course.start_at.date() + timedelta(days=1)
    assert [(r.day, r.state) for r in rows] == [
        (course.start_at.date(), "absent"),
        (second_day, "present"),
    ]
    assert agency == [officers[2].agency_id] * 2
    assert {r.recorded_by for r in rows} == {person(db, lea).id}


async def test_two_leads_pressing_the_same_button_at_once_leave_one_row_with_the_state_meant(
    h, db, boss, course_with_three
):
    lea, course, _officers = course_with_three
    lea_sheet = (await h.send(lea, f"/anwesenheit {course.code}"))[0]
    boss_sheet = (await h.send(boss, f"/anwesenheit {course.code}"))[0]
    data = lea_sheet.button("Łukasz Wójcik")["callback_data"]
    assert boss_sheet.button("Łukasz Wójcik")["callback_data"] == data

    await h.feed(
        [h.api.button_press(lea, lea_sheet, data), h.api.button_press(boss, boss_sheet, data)]
    )

    assert list(states(db, course.id).values()) == ["present"]
    assert "✅ anwesend: 1" in h.last(lea).text
    assert "✅ anwesend: 1" in h.last(boss).text


async def test_many_presses_of_two_leads_at_once_leave_counts_that_match_the_rows(
    h, db, boss, course_with_three
):
    lea, course, _officers = course_with_three
    lea_sheet = (await h.send(lea, f"/anwesenheit {course.code}"))[0]
    boss_sheet = (await h.send(boss, f"/anwesenheit {course.code}"))[0]
    presses = []
    for sheet, who in ((lea_sheet, lea), (boss_sheet, boss)):
        for label in sheet.button_texts():
            presses.append(h.api.button_press(who, sheet, sheet.button(label)["callback_data"]))

    await h.feed(presses)

    rows = states(db, course.id)
    assert len(rows) == 3
    assert set(rows.values()) == {"present"}


async def test_a_forged_button_of_another_course_or_a_waiting_registration_changes_nothing(
    h, db, clock, agencies, course_with_three
):
    lea, course, _officers = course_with_three
    other = builders.course(db, clock.now() - timedelta(days=20), title="Andere Schulung")
    stranger = builders.officer(db, agencies["PD-Z"], clock.now(), name="Fremd Person")
    db.call(regs.sign_up, other.id, stranger.id, clock.now() - timedelta(days=20))
    with db.transaction(readonly=True) as session:
        registrations = {r.person_id: r for r in session.scalars(select(regs.Registration))}
    waiting = next(r for r in registrations.values() if r.status == RegistrationStatus.WAITING)
    sheet = (await h.send(lea, f"/anwesenheit {course.code}"))[0]

    for data in (
        f"at:{registrations[stranger.id].id}:1",  # another course's participant
        f"at:{waiting.id}:1",  # on the waiting list
        "at:999999:1",  # no such registration
        f"at:{waiting.id}:9999",  # no such day
        "at:1:x",  # not our shape
    ):
        await h.press_data(lea, data, sheet)

    assert states(db, course.id) == {}
    assert states(db, other.id) == {}
    assert h.alerts()[:3] == [
        "Die Teilnehmenden eines Kurses sehen nur die Kursleitung und die Administration.",
        "Diese Anmeldung gibt es nicht (mehr).",
        "Diese Anmeldung gibt es nicht (mehr).",
    ]


async def test_an_officer_who_is_not_the_lead_gets_no_sheet(h, agencies, course_with_three):
    _lea, course, _officers = course_with_three
    anna = await joined(h, agencies, "Anna Beispiel")

    answer = await h.send(anna, f"/anwesenheit {course.code}")

    assert answer[0].text == (
        "Die Teilnehmenden eines Kurses sehen nur die Kursleitung und die Administration."
    )


async def test_before_the_course_the_lead_is_asked_which_day_and_a_day_not_begun_is_refused(
    h, db, clock, course_with_three
):
    lea, course, _officers = course_with_three
    clock.set(course.start_at - timedelta(days=2))

    asked = await h.send(lea, f"/anwesenheit {course.code}")
    asked_text, days = asked[0].text, asked[0].button_texts()
    await h.press(lea, days[0])
    await h.press(lea, "Łukasz Wójcik")
    wrong_date = await h.send(lea, f"/anwesenheit {course.code} 01.01.2030")

    assert asked_text.startswith("Welcher Kurstag von")
    assert len(days) == 2
    assert h.alerts()[-1].startswith("Der Kurstag ")
    assert states(db, course.id) == {}
    assert wrong_date[0].text == "Di. 01.01.2030 ist kein Kurstag dieses Kurses."


async def test_attendance_locks_seven_days_after_the_end_and_an_admin_unlocks_it_audited(
    h, db, clock, boss, course_with_three
):
    lea, course, _officers = course_with_three
    sheet = (await h.send(lea, f"/anwesenheit {course.code}"))[0]
    clock.set(course.end_at + timedelta(days=7))

    await h.press(lea, "Łukasz Wójcik", sheet)
    locked_alert = h.alerts()[-1]
    day = course.start_at.strftime("%d.%m.%Y")
    locked_sheet = (await h.send(lea, f"/anwesenheit {course.code} {day}"))[0]
    not_admin = await h.send(lea, f"/anwesenheit_entsperren {course.code}")
    unlocked = await h.send(boss, f"/anwesenheit_entsperren {course.code}")
    open_sheet = (await h.send(lea, f"/anwesenheit {course.code} {day}"))[0]
    await h.press(lea, "Łukasz Wójcik", open_sheet)
    clock.advance(timedelta(days=7))
    again = (await h.send(lea, f"/anwesenheit {course.code} {day}"))[0]

    assert locked_alert.startswith("Die Anwesenheit ist seit ")
    assert "🔒 Die Anwesenheit von" in locked_sheet.text
    assert locked_sheet.button_texts() == []
    assert not_admin[0].text == "Dafür sind Administratorrechte nötig."
    assert unlocked[0].text.startswith(f"Die Anwesenheit von {course.code} kann bis ")
    assert list(states(db, course.id).values()) == ["present"]
    assert "🔒" in again.text  # locked again a week after the unlock
    with db.transaction(readonly=True) as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "attendance_unlocked")
        ).one()
    assert (entry.actor_telegram_id, entry.course_id) == (BOSS, course.id)


async def test_a_cancelled_course_has_no_attendance(h, db, clock, boss, course_with_three):
    lea, course, _officers = course_with_three
    clock.set(course.start_at - timedelta(days=3))
    await h.send(boss, f"/kurs_absagen {course.code}")
    await h.press(boss, "Ja")

    answer = await h.send(lea, f"/anwesenheit {course.code}")

    assert answer[-1].text == "Dieser Kurs wurde abgesagt."
    assert db.call(courses.get_course, course.id).status == "cancelled"


@pytest.mark.usefixtures("agencies")
def test_the_lock_time_is_seven_days_after_the_end(db, clock):
    course = builders.course(db, clock.now())

    assert attendance.lock_time(course) == course.end_at + timedelta(days=7)
    assert not attendance.is_locked(course, course.end_at + timedelta(days=6, hours=23))
    assert attendance.is_locked(course, course.end_at + timedelta(days=7))


async def test_no_shows_are_counted_for_admins_per_officer_and_agency_and_in_my_data(
    h, boss, course_with_three
):
    lea, course, officers = course_with_three
    await h.send(lea, f"/anwesenheit {course.code}")
    await h.press(lea, "Иван Петров")
    await h.press(lea, "Иван Петров")  # absent: a no-show
    await h.press(lea, "Łukasz Wójcik")  # present
    ivan = {"id": officers[2].telegram_id, "is_bot": False, "first_name": "И"}
    ivan["language_code"] = "de"

    found = await h.send(boss, f"/personen {officers[2].telegram_id}")
    listed = await h.send(boss, "/dienststellen")
    mine = await h.send(ivan, "/meine_daten")
    data = json.loads(next(m.document[1] for m in mine if m.document))

    assert "Иван Петров – PD-Z" in found[0].text
    assert "1 Kurstag unentschuldigt gefehlt" in found[0].text
    assert "PD-Z – Polizeidirektion Zwickau (Sachsen) · 1 Kurstag unentschuldigt gefehlt" in (
        listed[0].text
    )
    assert "PP-OFR – Polizeipräsidium Oberfranken (Bayern)\n" in listed[0].text + "\n"
    assert data["no_shows"] == 1
    assert [(a["state"], a["course"]) for a in data["attendance"]] == [("absent", course.code)]
