"""Explicit course days (issue 18): the form's `Termine:` / `Days:` line, read and written
back the same by /kurs_neu, the guided dialog and /kurs_bearbeiten, shown on the course page,
in the calendar file and on the attendance list, and moving the timed work when changed."""

from __future__ import annotations

import html
import io
from datetime import datetime, timedelta

import pytest
from icalendar import Calendar
from pypdf import PdfReader
from sqlalchemy import select

from kurse import courses, forms
from kurse import registrations as regs
from kurse.clock import BERLIN
from kurse.days import course_days
from kurse.exports import course_calendar
from kurse.models import Task, TaskState
from tests import builders
from tests.harness import user

BOSS = 4242  # bootstrap admin (KURSBOT_ADMIN_IDS)
# Two days of different hours; the clock goes forward in the night to 28.03.2027.
FORM = """/kurs_neu
Titel: Gemeinsame Verkehrskontrolle
Termine: 27.03.2027 09:00-16:00; 29.03.2027 08:00-12:00
Ort: Plauen, Polizeirevier
Anmeldeschluss: 15.03.2027
Plätze: PP-OFR=5, PD-Z=5
Kursleitung: {lead}"""


@pytest.fixture
def boss():
    return {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}


def local(course) -> list[tuple[str, str, str]]:
    return [
        (
            d.day.isoformat(),
            d.start_at.astimezone(BERLIN).strftime("%H:%M"),
            d.end_at.astimezone(BERLIN).strftime("%H:%M"),
        )
        for d in course_days(course)
    ]


async def officer(h, agencies, name, code="PP-OFR", **extra):
    who = user(name.split()[0], **extra)
    await h.join(who, agencies[code].access_code, name)
    return who


# --- the form ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "language"),
    [
        ("Termine: 27.03.2027 09:00-16:00; 29.03.2027 08:00-12:00", "de"),
        ("Days: 2027-03-27 09:00–16:00; 2027-03-29 08.00-12.00", "en"),
    ],
)
def test_days_in_german_or_english_read_and_write_back_the_same(line, language):
    form = forms.parse_course_form(line, require_all=False)
    days = form.values["days"]

    written = forms.render_course_form({"days": days}, language)

    assert form.errors == []
    assert [(s.isoformat(), e.isoformat()) for s, e in days] == [
        ("2027-03-27T09:00:00+01:00", "2027-03-27T16:00:00+01:00"),
        ("2027-03-29T08:00:00+02:00", "2027-03-29T12:00:00+02:00"),
    ]
    assert written == [
        f"{forms.BY_NAME['days'].key(language)}: 27.03.2027 09:00-16:00; 29.03.2027 08:00-12:00"
    ]
    assert forms.parse_course_form(written[0], require_all=False).values["days"] == days
    # Without start and end, the days set them
    assert (form.values["start_at"], form.values["end_at"]) == (days[0][0], days[1][1])


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Termine: 27.03.2027 09:00-16:00; 27.03.2027 17:00-18:00", "days_overlap"),
        ("Termine: 28.03.2027 09:00-16:00; 27.03.2027 09:00-16:00", "days_overlap"),
        ("Termine: 27.03.2027 09:00-16:00; 31.02.2027 09:00-16:00", "bad_days"),
        ("Termine: 27.03.2027 25:00-16:00", "bad_days"),
        ("Termine: nächste Woche", "bad_days"),
        ("Termine: " + "; ".join(["27.03.2027 09:00-16:00"] * 2000), "bad_days"),
    ],
)
def test_wrong_days_are_refused_naming_their_line(line, reason):
    text = f"Titel: Kontrolle\n{line}\nOrt: Hof\nAnmeldeschluss: 01.03.2027\nPlätze: PP-OFR=1"

    form = forms.parse_course_form(text)
    _, problems = forms.check_course(form.values, datetime(2027, 1, 10, tzinfo=BERLIN), new=True)

    found = [(e.line, e.field, e.reason) for e in form.errors] + [
        (2, p.field, p.reason) for p in problems
    ]
    assert (2, "days", reason) in found


def test_a_start_that_is_not_the_first_days_start_is_refused():
    values = forms.parse_course_form(
        "Beginn: 27.03.2027 10:00\nTermine: 27.03.2027 09:00-16:00", require_all=False
    ).values

    _, problems = forms.check_course(values, datetime(2027, 1, 10, tzinfo=BERLIN), new=False)

    assert [(p.field, p.reason) for p in problems] == [("days", "days_mismatch")]


# --- through the real Application -------------------------------------------------------


async def test_a_course_created_with_its_days_shows_them_on_the_page_calendar_and_list(
    h, db, boss, agencies
):
    lead = await officer(h, agencies, "Lea Leitung", "PD-Z")
    anna = await officer(h, agencies, "Łukasz Wójcik")

    created = await h.send(boss, FORM.format(lead=lead["id"]))
    course = db.call(courses.get_course_by_code, "K-2027-001")
    await h.send(anna, "/kurse")
    await h.press(anna, "Gemeinsame Verkehrskontrolle")
    page = h.last(anna).text
    await h.press(anna, "Anmelden")
    calendar = Calendar.from_ical(
        next(m.document[1] for m in reversed(h.api.messages(anna["id"])) if m.document)
    )
    await h.send(lead, "/teilnehmer K-2027-001")
    await h.press(lead, "PDF-Anwesenheitsliste")
    pdf = h.api.messages(lead["id"])[-1].document[1]
    pdf_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)

    assert created[0].text.startswith("Kurs <b>K-2027-001</b> angelegt")
    assert local(course) == [("2027-03-27", "09:00", "16:00"), ("2027-03-29", "08:00", "12:00")]
    assert course.start_at.isoformat() == "2027-03-27T08:00:00+00:00"
    assert course.end_at.isoformat() == "2027-03-29T10:00:00+00:00"
    assert (
        "Kurstage:\n• Sa., 27. März 2027, 09:00–16:00 Uhr\n• Mo., 29. März 2027, 08:00–12:00 Uhr"
    ) in page
    assert [
        (e.decoded("dtstart").astimezone(BERLIN).strftime("%d.%m. %H:%M"),
         e.decoded("dtend").astimezone(BERLIN).strftime("%H:%M"))
        for e in calendar.walk("VEVENT")
    ] == [("27.03. 09:00", "16:00"), ("29.03. 08:00", "12:00")]  # fmt: skip
    assert "Łukasz Wójcik" in pdf_text
    assert "Sa. 27.03.2027" in pdf_text
    assert "Mo. 29.03.2027" in pdf_text
    assert "So. 28.03.2027" not in pdf_text  # no column for the day between


async def test_the_edit_form_shows_the_days_instead_of_start_and_end_and_reads_back_unchanged(
    h, db, boss, agencies
):
    lead = await officer(h, agencies, "Lea Leitung", "PD-Z")
    await h.send(boss, FORM.format(lead=lead["id"]))
    before = builders.snapshot(db)

    shown = await h.send(boss, "/kurs_bearbeiten K-2027-001")
    form = shown[0].text.split("<pre>")[1].split("</pre>")[0]
    again = await h.send(boss, html.unescape(form))

    assert "Termine: 27.03.2027 09:00-16:00; 29.03.2027 08:00-12:00" in form
    assert "Beginn:" not in form
    assert "Ende:" not in form
    assert again[0].text == "Es wurde nichts geändert."
    assert builders.snapshot(db) == before


async def test_changing_the_days_moves_start_end_and_the_timed_work_and_tells_the_officers(
    h, db, clock, boss, agencies
):
    lead = await officer(h, agencies, "Lea Leitung", "PD-Z")
    anna = await officer(h, agencies, "Anna Beispiel")
    await h.send(boss, FORM.format(lead=lead["id"]))
    course = db.call(courses.get_course_by_code, "K-2027-001")
    db.call(regs.sign_up, course.id, db.call(_person_id, anna["id"]), clock.now())

    answer = await h.send(
        boss,
        "/kurs_bearbeiten K-2027-001\nTermine: 30.03.2027 10:00-15:00; 31.03.2027 08:00-11:00",
    )
    moved = db.call(courses.get_course, course.id)
    tasks = db.call(_tasks, course.id)

    assert answer[0].text.startswith("Kurs K-2027-001 geändert: Beginn, Ende, Kurstage.")
    assert local(moved) == [("2027-03-30", "10:00", "15:00"), ("2027-03-31", "08:00", "11:00")]
    assert tasks[f"end:course:{course.id}"] == (moved.end_at, TaskState.PENDING)
    assert tasks[f"reminder:1d:course:{course.id}:20270330T0800Z"] == (
        moved.start_at - timedelta(days=1),
        TaskState.PENDING,
    )
    assert tasks[f"reminder:1d:course:{course.id}:20270327T0800Z"][1] == TaskState.SKIPPED
    # "standard" gives the days of start and end back
    await h.send(boss, "/kurs_bearbeiten K-2027-001\nTermine: standard")
    assert db.call(courses.get_course, course.id).days is None


async def test_the_calendar_of_a_course_whose_days_lost_one_cancels_that_event(
    h, db, clock, boss, agencies
):
    lead = await officer(h, agencies, "Lea Leitung", "PD-Z")
    await h.send(boss, FORM.format(lead=lead["id"]))
    course = db.call(courses.get_course_by_code, "K-2027-001")
    await h.send(boss, "/kurs_bearbeiten K-2027-001\nTermine: 27.03.2027 09:00-16:00")
    one_day = db.call(courses.get_course, course.id)

    calendar = Calendar.from_ical(course_calendar(one_day, 7, clock.now(), days_before=2))

    assert [str(e["status"]) for e in calendar.walk("VEVENT")] == ["CONFIRMED", "CANCELLED"]


@pytest.mark.usefixtures("agencies")
async def test_the_guided_dialog_shows_the_days_and_takes_other_ones_at_its_summary(h, db, boss):
    await h.send(boss, "/kurs_neu")
    for answer in ("Gemeinsamer Kontrolltag", "15.04.2027 08:00", "16.04.2027 16:00", "Plauen"):
        await h.send(boss, answer)
    await h.send(boss, "01.04.2027")
    await h.press(boss, "PP-OFR: 0")
    await h.send(boss, "6")
    await h.press(boss, "Fertig")
    await h.press(boss, "Überspringen")
    summary = await h.press(boss, "Überspringen")
    asked = await h.press(boss, "Kurstage ändern")
    wrong = await h.send(boss, "15.04.2027 08:00-16:00; 15.04.2027 17:00-18:00")
    again = await h.send(boss, "Termine: 15.04.2027 08:00-16:00; 17.04.2027 09:00-12:00")
    summary_text, again_text = summary[-1].text, again[-1].text  # before the summary is edited
    await h.press(boss, "Kurs anlegen")
    course = db.call(courses.get_course_by_code, "K-2027-001")

    assert summary_text.endswith(
        "Kurstage:\n• Do., 15. April 2027, 08:00–16:00 Uhr\n• Fr., 16. April 2027, 08:00–16:00 Uhr"
    )
    assert asked[-1].text.startswith("Die Kurstage jetzt:\n• Do., 15. April 2027")
    assert "überschneidet sich mit dem vorigen" in wrong[0].text
    assert "Termine: 15.04.2027 08:00-16:00; 17.04.2027 09:00-12:00" in again_text
    assert "Ende: 17.04.2027 12:00" in again_text
    assert local(course) == [("2027-04-15", "08:00", "16:00"), ("2027-04-17", "09:00", "12:00")]


def _person_id(session, telegram_id):
    from kurse import people

    return people.find_by_telegram_id(session, telegram_id).id


def _tasks(session, course_id):
    return {
        t.key: (t.due_at, t.state)
        for t in session.scalars(select(Task).where(Task.course_id == course_id))
    }
