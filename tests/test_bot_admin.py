"""Admins and course leads through the real Application: forms, seats, leads, lists, rights."""

from __future__ import annotations

import csv
import html
import io
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from bot.jobs import run_due_work
from kurse import agencies as agency_service
from kurse import courses, people
from kurse import registrations as regs
from kurse.clock import BERLIN
from kurse.invariants import invariant_violations
from kurse.models import AuditEntry, Course
from kurse.seats import load_seats
from tests import builders
from tests.harness import eventually, user

BOSS = 4242  # bootstrap admin (KURSBOT_ADMIN_IDS)

FORM = """/kurs_neu
Titel: Grenzüberschreitende Fahndung – Grundlagen
Beginn: 12.03.2027 09:00
Ende: 13.03.2027 16:00
Ort: Hof, Polizeiinspektion
Anmeldeschluss: 01.03.2027
Abmeldeschluss: 2027-03-05T12:00
Freigabe: 20.02.2027
Mindestteilnehmer: 6
Plätze: PP-OFR=10, PD-Z=8
Kursleitung: {lead}
Beschreibung: Zweitägiges Seminar zu gemeinsamen Fahndungs- und Kontrollmaßnahmen.
Bitte Dienstausweis mitbringen."""


@pytest.fixture
def boss():
    return {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}


def course_count(db) -> int:
    with db.transaction(readonly=True) as session:
        return session.scalar(select(func.count()).select_from(Course))


async def officer(h, agencies, name, code="PP-OFR", **extra):
    who = user(name.split()[0], **extra)
    await h.join(who, agencies[code].access_code, name)
    return who


async def test_an_admin_creates_a_course_with_every_german_key(h, db, boss, agencies):
    lead = await officer(h, agencies, "Lea Leitung", "PD-Z")

    answer = await h.send(boss, FORM.format(lead=lead["id"]))

    assert answer[0].text.startswith("Kurs <b>K-2027-001</b> angelegt: Grenzüberschreitende")
    course = db.call(courses.get_course_by_code, "K-2027-001")
    assert course.start_at.isoformat() == "2027-03-12T08:00:00+00:00"
    assert course.registration_deadline.isoformat() == "2027-03-01T22:59:00+00:00"
    assert course.cancellation_deadline.isoformat() == "2027-03-05T11:00:00+00:00"
    assert course.release_at.isoformat() == "2027-02-19T23:00:00+00:00"
    assert course.min_participants == 6
    assert course.description.endswith("\nBitte Dienstausweis mitbringen.")
    assert course.lead_id == db.call(people.find_by_telegram_id, lead["id"]).id
    with db.transaction(readonly=True) as session:
        assert load_seats(session, course.id, released=False).quotas == {
            agencies["PP-OFR"].id: 10,
            agencies["PD-Z"].id: 8,
        }


@pytest.mark.usefixtures("agencies")
async def test_english_keys_and_iso_dates_work_too(h, boss):
    answer = await h.send(
        boss,
        "/kurs_neu\nTitle: Joint control day\nStart: 2027-04-01 08:00\n"
        "End: 2027-04-01T17:00\nLocation: Plauen\nDeadline: 20.03.2027\n"
        "Seats: PP-OFR=3 PD-Z=3",
    )

    assert answer[0].text.startswith("Kurs <b>K-2027-001</b> angelegt: Joint control day")


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        (
            "Beginn: 12.03.2027 09:00\nEnde: 13.03.2027 16:00\nOrt: Hof\nAnmeldeschluss: "
            "01.03.2027\nPlätze: PP-OFR=1",
            "• Titel: fehlt",
        ),
        (
            "Titel: Kurs A\nBeginn: 12.03.2027 09:00\nEnde: 11.03.2027 16:00\nOrt: Hof\n"
            "Anmeldeschluss: 01.03.2027\nPlätze: PP-OFR=1",
            "• Zeile 3 (Ende): muss nach dem Beginn",
        ),
        (
            "Titel: Kurs A\nBeginn: 12.03.2027 09:00\nEnde: 13.03.2027 16:00\nOrt: Hof\n"
            "Anmeldeschluss: 01.03.2027\nPlätze: PP-OFR=1, LKA-X=2",
            "• Zeile 6 (Plätze): unbekannte Dienststelle: LKA-X",
        ),
        (
            "Titel: Kurs A\nBeginn: 12.03.2027 09:00\nEnde: 13.03.2027 16:00\nOrt: Hof\n"
            "Anmeldeschluss: 01.03.2027\nPlätze: PP-OFR=abc",
            "• Zeile 6 (Plätze): Plätze bitte als PP-OFR=10, PD-Z=8 angeben",
        ),
        (
            "Titel: Kurs A\nTitel: Kurs B\nBeginn: 12.03.2027 09:00\nEnde: 13.03.2027 16:00\n"
            "Ort: Hof\nAnmeldeschluss: 01.03.2027\nPlätze: PP-OFR=1",
            "• Zeile 2 (Titel): doppelt angegeben (zuerst in Zeile 1)",
        ),
        (
            "Titel: Kurs A\nBeginn: 32.03.2027 09:00\nEnde: 13.03.2027 16:00\nOrt: Hof\n"
            "Anmeldeschluss: 01.03.2027\nPlätze: PP-OFR=1",
            "• Zeile 2 (Beginn): kein Datum",
        ),
        ("Titel: Kurs A\n" + "Unsinn: x\n" * 199, "• Formular: mehr als 62 Zeilen"),
        (
            "Titel: Kurs A\nBeginn: 12.03.2020 09:00\nEnde: 13.03.2020 16:00\nOrt: Hof\n"
            "Anmeldeschluss: 01.03.2020\nPlätze: PP-OFR=1",
            "• Zeile 2 (Beginn): liegt in der Vergangenheit",
        ),
    ],
)
@pytest.mark.usefixtures("agencies")
async def test_a_form_with_any_error_names_the_line_and_creates_nothing(
    h, db, boss, form, expected
):
    answer = await h.send(boss, "/kurs_neu\n" + form)

    assert answer[0].text.startswith("Der Kurs wurde nicht angelegt:")
    assert expected in answer[0].text
    assert course_count(db) == 0


async def test_an_officer_typing_an_admin_command_is_refused_and_nothing_changes(h, db, agencies):
    anna = await officer(h, agencies, "Anna Beispiel")

    answers = [
        await h.send(anna, FORM.format(lead=1)),
        await h.send(anna, "/zugangscode PP-OFR"),
        await h.send(anna, "/personen Anna"),
    ]

    assert {a[0].text for a in answers} == {"Dafür sind Administratorrechte nötig."}
    assert course_count(db) == 0


async def test_participants_for_the_lead_with_csv_and_pdf(h, db, clock, agencies):
    lead = await officer(h, agencies, "Lea Leitung", "PD-Z")
    lead_person = db.call(people.find_by_telegram_id, lead["id"])
    course = builders.course(db, clock.now(), {"PP-OFR": 2, "PD-Z": 1}, lead_id=lead_person.id)
    names = ["Jürgen Müller", "Anna Weiß", "Özlem Şahin", "Björn Groß"]
    for name in names:
        person = builders.officer(db, agencies["PP-OFR"], clock.now(), name=name)
        db.call(regs.sign_up, course.id, person.id, clock.now())

    shown = await h.send(lead, f"/teilnehmer {course.code}")
    await h.press(lead, "CSV-Datei")
    await h.press(lead, "PDF-Anwesenheitsliste")

    text = shown[0].text
    assert "Bestätigte Plätze: 2 von 3" in text
    assert "1. Jürgen Müller" in text
    assert "<b>Warteliste</b> (2)" in text
    assert "1. Özlem Şahin, POK (PP-OFR)" in text
    csv_name, csv_bytes = h.api.messages(lead["id"])[-2].document
    assert csv_name == f"{course.code}.csv"
    assert csv_bytes.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Dienststelle", "Dienstgrad", "Name", "Status", "Position", "Angemeldet am"]
    assert [r[2] for r in rows[1:]] == names
    assert [r[3] for r in rows[1:]] == ["bestätigt", "bestätigt", "Warteliste", "Warteliste"]
    _pdf_name, pdf_bytes = h.api.messages(lead["id"])[-1].document
    pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf_bytes)).pages)
    assert "Jürgen Müller" in pdf_text
    assert "Anna Weiß" in pdf_text
    assert "Björn" not in pdf_text  # waiting officers are not on the attendance list
    assert "Unterschrift" in pdf_text
    assert "Seite 1 von 1" in pdf_text


async def test_a_long_pdf_list_has_numbered_pages_and_one_row_per_participant(
    h, db, clock, boss, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 60, "PD-Z": 0})
    for i in range(60):
        person = builders.officer(db, agencies["PP-OFR"], clock.now(), name=f"Teilnehmer {i:02d}")
        db.call(regs.sign_up, course.id, person.id, clock.now())

    await h.send(boss, f"/teilnehmer {course.code}")
    await h.press(boss, "PDF-Anwesenheitsliste")

    reader = PdfReader(io.BytesIO(h.api.messages(BOSS)[-1].document[1]))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 2
    assert f"Seite {len(reader.pages)} von {len(reader.pages)}" in text
    assert sum(f"Teilnehmer {i:02d}" in text for i in range(60)) == 60


async def test_someone_elses_course_list_is_refused_even_with_a_forged_button(
    h, db, clock, agencies
):
    lead = await officer(h, agencies, "Lea Leitung", "PD-Z")
    lead_person = db.call(people.find_by_telegram_id, lead["id"])
    mine = builders.course(db, clock.now(), lead_id=lead_person.id)
    other = builders.course(db, clock.now())

    refused = await h.send(lead, f"/teilnehmer {other.code}")
    await h.send(lead, f"/teilnehmer {mine.code}")
    message = h.with_button(lead, "CSV-Datei")
    files_before = sum(1 for m in h.api.messages(lead["id"]) if m.document)
    await h.press_data(lead, f"csv:{other.id}", message)

    text = "Die Teilnehmenden eines Kurses sehen nur die Kursleitung und die Administration."
    assert refused[0].text == text
    assert h.alerts()[-1] == text
    assert sum(1 for m in h.api.messages(lead["id"]) if m.document) == files_before


async def test_cancelling_a_course_tells_every_confirmed_and_waiting_officer_and_the_lead_once(
    h, db, clock, boss, agencies
):
    lead = await officer(h, agencies, "Lea Leitung", "PD-Z")
    lead_id = db.call(people.find_by_telegram_id, lead["id"]).id
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1}, lead_id=lead_id)
    officers = [await officer(h, agencies, f"Person {i}") for i in range(3)]
    for who in officers:
        person = db.call(people.find_by_telegram_id, who["id"])
        db.call(regs.sign_up, course.id, person.id, clock.now())

    await h.send(boss, f"/kurs_absagen {course.code} Ausbilder erkrankt")
    await h.press(boss, "Ja, Kurs absagen")
    answer = h.last(boss).text

    def told(who: dict) -> list[str]:
        return [m.text for m in h.api.messages(who["id"]) if m.text and "❌" in m.text]

    everyone = [*officers, lead]
    await eventually(lambda: all(told(who) for who in everyone))  # the timed work sends them
    await run_due_work(h.app)  # and nothing more is due
    assert answer == f"Kurs {course.code} abgesagt. 4 Personen werden benachrichtigt."
    for who in everyone:
        assert len(told(who)) == 1
        assert "Grund: Ausbilder erkrankt" in told(who)[0]
    assert db.call(courses.get_course, course.id).status == "cancelled"


async def test_an_admin_whose_role_was_removed_cannot_use_an_old_button(
    h, db, clock, boss, agencies
):
    second = await officer(h, agencies, "Zweite Admin", "PD-Z")
    await h.send(boss, f"/admin_neu {second['id']}")
    course = builders.course(db, clock.now())
    await h.send(second, f"/kurs_absagen {course.code}")
    await h.send(boss, f"/admin_entfernen {second['id']}")

    await h.press(second, "Ja, Kurs absagen")

    assert h.alerts()[-1] == "Dafür sind Administratorrechte nötig."
    assert db.call(courses.get_course, course.id).status == "published"


async def test_raising_a_quota_promotes_and_tells_lowering_asks_and_then_demotes(
    h, db, clock, boss, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    officers = [await officer(h, agencies, f"Person {i}") for i in range(3)]
    for who in officers:
        person = db.call(people.find_by_telegram_id, who["id"])
        db.call(regs.sign_up, course.id, person.id, clock.now())

    def told(who: dict, mark: str) -> int:
        return sum(mark in (m.text or "") for m in h.api.messages(who["id"]))

    raised = (await h.send(boss, f"/kontingent {course.code} PP-OFR=3"))[0].text
    await eventually(lambda: told(officers[2], "🎉") == 1)  # sent by the timed work at once
    asked = (await h.send(boss, f"/kontingent {course.code} PP-OFR=1 PD-Z=1"))[0].text
    await h.press(boss, "Ja, auf die Warteliste")
    await eventually(lambda: told(officers[2], "⚠️") == 1)

    assert raised.startswith(f"Plätze für {course.code}: PD-Z=1, PP-OFR=3.")
    assert asked.startswith("Mit diesen Plätzen wären mehr Personen bestätigt")
    assert "2 Personen stehen wieder auf der Warteliste." in h.last(boss).text
    await run_due_work(h.app)  # nothing more is due: each was told once
    assert told(officers[1], "🎉") == 1
    assert told(officers[1], "⚠️") == 1
    assert told(officers[2], "🎉") == 1
    assert told(officers[2], "⚠️") == 1
    assert db.call(invariant_violations, course.id, clock.now()) == []


async def test_access_codes_are_shown_and_rotated_after_a_confirmation(h, db, boss, agencies):
    shown = (await h.send(boss, "/zugangscode PD-Z"))[0].text
    await h.press(boss, "Neuen Zugangscode erzeugen")
    asked = h.last(boss).text
    await h.press(boss, "Ja, neuer Zugangscode")

    old = agencies["PD-Z"].access_code
    assert agency_service.format_access_code(old) in shown
    assert asked.startswith("Neuen Zugangscode für Polizeidirektion Zwickau erzeugen?")
    new = db.call(agency_service.get_agency, "PD-Z").access_code
    assert new != old
    assert agency_service.format_access_code(new) in h.last(boss).text


@pytest.mark.usefixtures("agencies")
async def test_agencies_are_listed_and_added(h, boss):
    added = await h.send(boss, "/dienststelle_neu PI-HO Polizeiinspektion Hof, Bayern")
    listed = await h.send(boss, "/dienststellen")

    assert added[0].text.startswith("Dienststelle PI-HO (Polizeiinspektion Hof) angelegt.")
    assert "PI-HO – Polizeiinspektion Hof (Bayern)" in listed[0].text


async def test_the_last_admin_cannot_remove_themself(h, db, agencies):
    solo = await officer(h, agencies, "Solo Admin")
    with db.transaction() as session:
        people.find_by_telegram_id(session, solo["id"]).is_admin = True
    harness_settings = h.services.settings
    assert BOSS in harness_settings.kursbot_admin_ids

    answer = await h.send(solo, f"/admin_entfernen {solo['id']}")

    # BOSS (bootstrap) is still an admin, so solo may step down; without BOSS it is refused.
    assert answer[0].text == "Solo Admin hat keine Administratorrechte mehr."


async def test_people_search_and_audit_log(h, db, boss, agencies):
    await officer(h, agencies, "Anna Beispiel")
    await h.send(
        boss,
        "/kurs_neu\nTitel: Kurs A\nBeginn: 12.03.2027 09:00\nEnde: 12.03.2027 "
        "16:00\nOrt: Hof\nAnmeldeschluss: 01.03.2027\nPlätze: PP-OFR=1",
    )

    found = await h.send(boss, "/personen beisp")
    log = await h.send(boss, "/protokoll")

    assert "Anna Beispiel – PP-OFR" in found[0].text
    assert "Kurs angelegt" in log[0].text
    assert f"(ID {BOSS})" in log[0].text
    with db.transaction(readonly=True) as session:
        entry = session.scalars(select(AuditEntry)).one()
    assert (entry.actor_id, entry.actor_telegram_id) == (None, BOSS)


@pytest.mark.usefixtures("agencies")
async def test_the_audit_log_names_kursbot_itself_for_what_no_person_did(h, db, clock, boss):
    builders.course(db, clock.now())  # created without an actor, as the demo term is

    log = await h.send(boss, "/protokoll")

    assert " · Kursbot selbst · Kurs angelegt · " in log[0].text
    assert "id None" not in log[0].text


async def test_the_lead_hears_of_each_sign_up_unless_switched_off(h, db, clock, agencies):
    lead = await officer(h, agencies, "Lea Leitung", "PD-Z")
    lead_person = db.call(people.find_by_telegram_id, lead["id"])
    course = builders.course(db, clock.now(), lead_id=lead_person.id)
    anna = await officer(h, agencies, "Anna Beispiel")
    await h.send(anna, "/kurse")
    await h.press(anna, course.title[:20])
    await h.press(anna, "Anmelden")
    anna_news = f"📋 {course.title} ({course.code}): Anna Beispiel (PP-OFR) – angemeldet"
    await eventually(lambda: _news_to(h, lead) == [anna_news])
    await h.send(lead, "/mitteilungen aus")
    ben = await officer(h, agencies, "Ben Beispiel")
    await h.send(ben, "/kurse")
    await h.press(ben, course.title[:20])
    await h.press(ben, "Anmelden")
    clock.advance(timedelta(minutes=1))
    await run_due_work(h.app)

    assert _news_to(h, lead) == [anna_news]


def _news_to(h, lead) -> list[str]:
    return [m.text for m in h.api.messages(lead["id"]) if m.text and m.text.startswith("📋")]


async def test_editing_dates_tells_registered_officers_and_the_lead(h, db, clock, boss, agencies):
    lead = await officer(h, agencies, "Lea Leitung", "PD-Z")
    lead_id = db.call(people.find_by_telegram_id, lead["id"]).id
    course = builders.course(db, clock.now(), lead_id=lead_id)
    anna = await officer(h, agencies, "Anna Beispiel")
    person = db.call(people.find_by_telegram_id, anna["id"])
    db.call(regs.sign_up, course.id, person.id, clock.now())
    new_start = (course.start_at + timedelta(days=1)).astimezone(builders_tz())

    new_end = new_start + timedelta(hours=8)
    form = f"Beginn: {new_start:%d.%m.%Y %H:%M}\nEnde: {new_end:%d.%m.%Y %H:%M}"

    answer = await h.send(boss, f"/kurs_bearbeiten {course.code}\n{form}")

    def told(who) -> list[str]:
        return [m.text for m in h.api.messages(who["id"]) if (m.text or "").startswith("ℹ️")]

    await eventually(lambda: bool(told(anna)) and bool(told(lead)))  # the timed work sends it
    expected = f"Kurs {course.code} geändert: Beginn, Ende. 2 Personen werden benachrichtigt."
    assert answer[0].text.startswith(expected)
    assert len(told(anna)) == len(told(lead)) == 1


async def test_the_course_code_alone_shows_a_form_that_sent_back_changes_what_was_changed(
    h, db, clock, boss, agencies
):
    lead = await officer(h, agencies, "Lea Leitung", "PD-Z")
    lead_id = db.call(people.find_by_telegram_id, lead["id"]).id
    course = builders.course(
        db, clock.now(), lead_id=lead_id, min_participants=4, description="Zeile 1\n<Zeile 2>"
    )

    shown = await h.send(boss, f"/kurs_bearbeiten {course.code}")
    form = html.unescape(shown[0].text.split("<pre>")[1].split("</pre>")[0])
    changed = form.replace("Ort: Hof, Polizeiinspektion", "Ort: Plauen")
    answer = await h.send(boss, changed)

    assert form.splitlines()[0] == f"/kurs_bearbeiten {course.code}"
    assert f"Kursleitung: {lead['id']}" in form
    assert "Mindestzahl: 4" in form
    assert answer[0].text.startswith(f"Kurs {course.code} geändert: Ort.")
    after = db.call(courses.get_course, course.id)
    assert after.location == "Plauen"
    assert (after.title, after.start_at, after.registration_deadline, after.description) == (
        course.title,
        course.start_at,
        course.registration_deadline,
        "Zeile 1\n<Zeile 2>",
    )
    assert (after.lead_id, after.min_participants) == (lead_id, 4)


@pytest.mark.usefixtures("agencies")
async def test_a_course_form_too_long_for_one_message_leaves_the_description_out(
    h, db, clock, boss
):
    course = builders.course(db, clock.now(), description="&" * 3000)  # 15,000 once escaped

    shown = await h.send(boss, f"/kurs_bearbeiten {course.code}")

    assert len(shown[0].text) < 4096
    assert shown[0].text.count("<pre>") == 1
    assert "Beschreibung" not in shown[0].text.split("<pre>")[1].split("</pre>")[0]
    assert shown[0].text.endswith("solange Sie keine neue angeben.")


async def test_only_admins_see_a_course_as_a_form(h, db, clock, agencies):
    course = builders.course(db, clock.now())
    anna = await officer(h, agencies, "Anna Beispiel")

    answer = await h.send(anna, f"/kurs_bearbeiten {course.code}")

    assert "<pre>" not in answer[0].text
    assert course.location not in answer[0].text


def builders_tz():
    from kurse.clock import BERLIN

    return BERLIN


async def test_the_guided_dialog_creates_a_course_step_by_step(h, db, boss, agencies):
    lead = await officer(h, agencies, "Lea Leitung", "PD-Z")
    await h.send(boss, "/kurs_neu")
    await h.send(boss, "Gemeinsamer Kontrolltag")
    past = await h.send(boss, "01.01.2020 08:00")
    await h.send(boss, "15.04.2027 08:00")
    await h.send(boss, "15.04.2027 16:00")
    await h.send(boss, "Plauen")
    await h.send(boss, "01.04.2027")
    await h.press(boss, "PP-OFR: 0")
    await h.send(boss, "6")
    await h.press(boss, "PD-Z: 0")
    await h.send(boss, "4")
    await h.press(boss, "Fertig")
    await h.send(boss, str(lead["id"]))
    summary = (await h.press(boss, "Überspringen"))[0].text

    await h.press(boss, "Kurs anlegen")

    assert (
        past[0].text == "Das liegt in der Vergangenheit. Bitte geben Sie einen späteren Beginn an."
    )
    assert "Plätze: PP-OFR=6, PD-Z=4" in summary
    assert "Ort: Plauen" in summary
    assert h.last(boss).text.startswith("Kurs <b>K-2027-001</b> angelegt: Gemeinsamer Kontrolltag")
    course = db.call(courses.get_course_by_code, "K-2027-001")
    assert course.lead_id == db.call(people.find_by_telegram_id, lead["id"]).id


@pytest.mark.usefixtures("agencies")
async def test_answers_in_the_guided_dialog_may_start_with_their_form_key(h, boss):
    await h.send(boss, "/kurs_neu")

    await h.send(boss, "Titel: Gemeinsamer Kontrolltag")
    await h.send(boss, "Beginn: 15.04.2027 08:00")
    await h.send(boss, "end: 15.04.2027 16:00")
    await h.send(boss, "Ort: Plauen")
    asked = await h.send(boss, "Anmeldeschluss: 01.04.2027")

    data = h.app.user_data[BOSS]["new_course"]
    assert (data["Titel"], data["Beginn"], data["Ende"], data["Ort"]) == (
        "Gemeinsamer Kontrolltag",
        "15.04.2027 08:00",
        "15.04.2027 16:00",
        "Plauen",
    )
    assert asked[0].text.startswith("Schritt 6 von 9")


@pytest.mark.usefixtures("agencies")
async def test_a_whole_form_pasted_into_the_guided_dialog_is_pointed_to_the_one_message_way(
    h, db, boss
):
    await h.send(boss, "/kurs_neu")

    answer = await h.send(boss, FORM.format(lead=BOSS).split("\n", 1)[1])  # without /kurs_neu

    assert answer[0].text.startswith("Das sieht nach einem ganzen Kursformular aus.")
    assert h.app.user_data[BOSS]["new_course"]["step"] == 0  # still asking for the title
    assert course_count(db) == 0


@pytest.mark.usefixtures("agencies")
async def test_the_guided_dialog_cancelled_midway_creates_nothing(h, db, boss):
    await h.send(boss, "/kurs_neu")
    await h.send(boss, "Gemeinsamer Kontrolltag")

    answer = await h.send(boss, "/abbrechen")
    after = await h.send(boss, "Plauen")

    assert answer[0].text == "Kursanlage abgebrochen; es wurde nichts gespeichert."
    assert course_count(db) == 0
    assert after[0].text.startswith("Bitte registrieren Sie sich zuerst")  # boss never joined


async def test_a_bootstrap_admin_joining_is_not_pulled_into_the_course_dialog(
    h, db, boss, agencies
):
    await h.send(boss, "/start")

    refused = await h.send(boss, "/kurs_neu")
    joined = await h.send(boss, agencies["PP-OFR"].access_code)  # still the joining dialog

    assert refused[0].text.startswith("Sie sind mitten in der Registrierung.")
    assert joined[0].text.startswith("Dienststelle: <b>Polizeipräsidium Oberfranken</b>")
    assert course_count(db) == 0


@pytest.mark.usefixtures("agencies")
async def test_a_bootstrap_admin_creating_a_course_is_not_pulled_into_joining(h, db, boss):
    await h.send(boss, "/kurs_neu")

    refused = await h.send(boss, "/start")
    answered = await h.send(boss, "Gemeinsamer Kontrolltag")  # still the course dialog

    assert refused[0].text.startswith("Sie legen gerade einen Kurs an.")
    assert answered[0].text.startswith("Schritt 2 von 9")
    assert db.call(people.find_by_telegram_id, BOSS) is None


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        (
            "/kontingent {code} XX=5",
            "Eine Dienststelle XX gibt es nicht; /dienststellen zeigt alle.",
        ),
        ("/zugangscode XX", "Eine Dienststelle XX gibt es nicht; /dienststellen zeigt alle."),
        (
            "/admin_neu @nobody",
            "Mit dieser Telegram-ID oder diesem @Benutzernamen ist niemand",
        ),
        (
            "/admin_entfernen 99999",
            "Mit dieser Telegram-ID oder diesem @Benutzernamen ist niemand",
        ),
        (
            "/kursleitung {code} 12345",
            "Mit dieser Telegram-ID oder diesem @Benutzernamen ist niemand",
        ),
        ("/kursleitung K-2027-999 12345", "Einen Kurs K-2027-999 gibt es nicht."),
    ],
)
@pytest.mark.usefixtures("agencies")
async def test_an_admin_naming_what_does_not_exist_is_told_what_was_not_found(
    h, db, clock, boss, command, answer
):
    course = builders.course(db, clock.now())
    before = db.call(courses.get_course, course.id)

    reply = await h.send(boss, command.format(code=course.code))

    assert reply[0].text.startswith(answer)
    after = db.call(courses.get_course, course.id)
    assert (after.lead_id, after.updated_at) == (before.lead_id, before.updated_at)


async def test_at_name_finds_whoever_has_the_telegram_username_now(h, db, clock, boss, agencies):
    course = builders.course(db, clock.now())
    anna = await officer(h, agencies, "Anna Beispiel", username="anna_b")
    await h.send({**anna, "username": "Anna_Neu"}, "/meine")  # Anna renamed herself
    ben = await officer(h, agencies, "Ben Anders", username="anna_b")  # and Ben took the name

    to_ben = await h.send(boss, f"/kursleitung {course.code} @anna_b")
    lead_after_ben = db.call(courses.get_course, course.id).lead_id
    await h.send(boss, f"/kursleitung {course.code} @anna_neu")
    lead_after_anna = db.call(courses.get_course, course.id).lead_id

    assert "Ben Anders" in to_ben[0].text
    assert lead_after_ben == db.call(people.find_by_telegram_id, ben["id"]).id
    assert lead_after_anna == db.call(people.find_by_telegram_id, anna["id"]).id


async def test_teilnehmer_alone_shows_admins_every_course_and_leads_their_own(
    h, db, clock, boss, agencies
):
    lead = await officer(h, agencies, "Lea Leitung", "PD-Z")
    lead_id = db.call(people.find_by_telegram_id, lead["id"]).id
    led = builders.course(
        db, clock.now(), {"PP-OFR": 1, "PD-Z": 1}, lead_id=lead_id, min_participants=2
    )
    other = builders.course(db, clock.now() + timedelta(days=1), title="Anderer Kurs")
    for name in ("Anna Erste", "Ben Zweiter"):  # one seat for PP-OFR: one in, one waiting
        person = db.call(people.find_by_telegram_id, (await officer(h, agencies, name))["id"])
        db.call(regs.sign_up, led.id, person.id, clock.now())
    anna = await officer(h, agencies, "Anna Beispiel")

    for_admin = (await h.send(boss, "/teilnehmer"))[0].text
    for_lead = (await h.send(lead, "/teilnehmer"))[0].text
    for_officer = (await h.send(anna, "/teilnehmer"))[0].text

    lines = for_admin.splitlines()
    assert lines[1].startswith(f"{led.code} · ")
    assert lines[1].endswith(" · 1 von 2 Plätzen belegt · Warteliste: 1 · ⚠️ Mindestzahl: 2")
    assert lines[2].startswith(f"{other.code} · ")
    assert lines[2].endswith(" · 0 von 10 Plätzen belegt")
    assert led.code in for_lead
    assert other.code not in for_lead
    assert for_officer.startswith("Bitte schreiben Sie es so: /teilnehmer")


async def test_help_shows_a_lead_their_commands_and_courses_and_other_officers_neither(
    h, db, clock, agencies
):
    lead = await officer(h, agencies, "Lea Leitung", "PD-Z")
    lead_id = db.call(people.find_by_telegram_id, lead["id"]).id
    course = builders.course(db, clock.now(), lead_id=lead_id)
    anna = await officer(h, agencies, "Anna Beispiel")

    lead_help = (await h.send(lead, "/hilfe"))[0].text
    officer_help = (await h.send(anna, "/hilfe"))[0].text

    assert "<b>Für Kursleitungen</b>" in lead_help
    assert "/teilnehmer [KÜRZEL]" in lead_help
    assert f"Ihre Kurse:\n{course.code} · " in lead_help
    assert "Kursleitungen" not in officer_help
    assert course.code not in officer_help


async def test_notifications_alone_say_whether_they_are_on_and_how_to_switch(h, agencies):
    lead = await officer(h, agencies, "Lea Leitung", "PD-Z")

    before = await h.send(lead, "/mitteilungen")
    await h.send(lead, "/mitteilungen aus")
    after = await h.send(lead, "/mitteilungen")

    assert before[0].text.startswith(
        "Nachrichten über An- und Abmeldungen in Ihren Kursen sind ein"
    )
    assert after[0].text.startswith(
        "Nachrichten über An- und Abmeldungen in Ihren Kursen sind aus"
    )
    assert after[0].text.endswith("Mit /mitteilungen an oder /mitteilungen aus ändern Sie das.")


async def test_help_shows_the_admin_commands_to_admins_only(h, boss, agencies):
    anna = await officer(h, agencies, "Anna Beispiel")

    officer_help = (await h.send(anna, "/hilfe"))[0].text
    await h.send(boss, f"/admin_neu {anna['id']}")
    admin_help = (await h.send(anna, "/hilfe"))[0].text

    assert "<b>Für die Administration</b>" not in officer_help
    assert "<b>Für die Administration</b>" in admin_help
    assert "/kurs_neu" in admin_help


async def test_a_burst_of_sign_ups_reaches_the_lead_as_at_most_two_messages(
    h, db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), {"PP-OFR": 10, "PD-Z": 10}, lead_id=lead.id)
    officers = [
        builders.officer(db, agencies["PP-OFR"], clock.now(), name=f"Officer {i}")
        for i in range(30)
    ]
    presses = h.sign_up_presses([p.telegram_id for p in officers], course.id)

    await h.feed(presses)
    await eventually(lambda: bool(h.api.messages(lead.telegram_id)))  # the first at once
    clock.advance(timedelta(minutes=1))  # the lead's window is over: the rest, as one
    await eventually(lambda: _news_lines(h, lead) == 30, seconds=10)

    assert len(h.api.messages(lead.telegram_id)) <= 2
    told = "\n".join(m.text for m in h.api.messages(lead.telegram_id))
    assert all(told.count(f"Officer {i} (PP-OFR) – ") == 1 for i in range(30))


def _news_lines(h, lead) -> int:
    return sum(m.text.count("📋 ") for m in h.api.messages(lead.telegram_id) if m.text)


async def test_the_participant_list_and_the_course_page_show_the_minimum(h, db, clock, agencies):
    lead = await officer(h, agencies, "Lea Leitung", "PD-Z")
    lead_person = db.call(people.find_by_telegram_id, lead["id"])
    course = builders.course(db, clock.now(), lead_id=lead_person.id, min_participants=2)
    anna = await officer(h, agencies, "Anna Beispiel")
    await h.send(anna, "/kurse")
    await h.press(anna, course.title[:20])
    page = h.last(anna)
    await h.press(anna, "Anmelden")

    await eventually(lambda: any("📋" in (m.text or "") for m in h.api.messages(lead["id"])))
    below = (await h.send(lead, f"/teilnehmer {course.code}"))[0].text
    ben = builders.officer(db, agencies["PD-Z"], clock.now(), name="Ben Beispiel")
    db.call(regs.sign_up, course.id, ben.id, clock.now())
    reached = (await h.send(lead, f"/teilnehmer {course.code}"))[0].text

    assert "Findet nur statt, wenn mindestens 2 Personen teilnehmen." in page.text
    assert "⚠️ Mindestzahl an Teilnehmenden: 2; es fehlt noch 1 Person." in below
    assert "Mindestzahl an Teilnehmenden (2) erreicht." in reached


async def test_the_lead_hears_who_moved_up_when_someone_cancels_with_the_course_title(
    h, db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1}, lead_id=lead.id)
    anna = await officer(h, agencies, "Anna Beispiel")
    ben = await officer(h, agencies, "Ben Zweiter")
    for who in (anna, ben):
        await h.send(who, "/kurse")
        await h.press(who, course.title[:20])
        await h.press(who, "Anmelden" if who is anna else "Auf die Warteliste")

    await h.press(anna, "Abmelden")
    await h.press(anna, "Ja, abmelden")
    clock.advance(timedelta(minutes=1))  # the lead's window since the first news is over
    await run_due_work(h.app)
    await eventually(lambda: "nachgerückt" in _told(h, lead))

    told = _told(h, lead)
    assert f"📋 {course.title} ({course.code}): Anna Beispiel (PP-OFR) – abgemeldet" in told
    assert f"📋 {course.title} ({course.code}): Ben Zweiter (PP-OFR) – nachgerückt" in told


def _told(h, lead) -> str:
    return "\n".join(m.text for m in h.api.messages(lead.telegram_id) if m.text)


async def test_the_waiting_list_of_teilnehmer_shows_the_rank_like_the_confirmed_list(
    h, db, clock, boss, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    anna = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Anna Erste", rank="POK")
    ben = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Ben Zweiter", rank="KHK")
    for person in (anna, ben):
        db.call(regs.sign_up, course.id, person.id, clock.now())

    (listing, *_files) = await h.send(boss, f"/teilnehmer {course.code}")

    assert "1. Anna Erste, POK" in listing.text
    assert "1. Ben Zweiter, KHK (PP-OFR)" in listing.text


@pytest.mark.usefixtures("agencies")
async def test_the_teilnehmer_overview_dates_next_years_courses_with_the_year_and_cuts_at_a_word(
    h, db, clock, boss
):
    start = clock.now().replace(year=clock.now().year + 1)
    course = builders.course(
        db,
        clock.now(),
        start_at=start,
        title="Grenzüberschreitende Fahndung und Kontrolle – Aufbaukurs",
    )

    (overview,) = await h.send(boss, "/teilnehmer")

    line = overview.text.splitlines()[1]
    assert line.startswith(f"{course.code} · ")
    assert f"{start.astimezone(BERLIN):%d.%m.%Y}" in line
    assert " · Grenzüberschreitende Fahndung und… · " in line


async def test_teilnehmer_alone_gives_a_button_per_course_that_opens_its_list(
    h, db, clock, boss, agencies
):
    lead = await officer(h, agencies, "Lea Leitung", "PD-Z")
    lead_id = db.call(people.find_by_telegram_id, lead["id"]).id
    led = builders.course(db, clock.now(), lead_id=lead_id)
    other = builders.course(db, clock.now() + timedelta(days=1), title="Anderer Kurs")

    (overview,) = await h.send(lead, "/teilnehmer")
    answers = await h.press(lead, led.code)
    admin_overview = (await h.send(boss, "/teilnehmer"))[0]

    assert overview.button_texts() == [f"{led.code} · Grenzüberschreitende Fahndung…"]
    assert answers[-1].text.startswith(f"<b>{led.title}</b> ({led.code})")
    assert answers[-1].button_texts() == ["CSV-Datei", "PDF-Anwesenheitsliste"]
    assert [b.split(" · ")[0] for b in admin_overview.button_texts()] == [led.code, other.code]


PLAIN_FORM = (
    "/kurs_neu\nTitel: Kurs A\nBeginn: 12.03.2027 09:00\nEnde: 12.03.2027 16:00\nOrt: Hof\n"
    "Anmeldeschluss: 01.03.2027\nPlätze: PP-OFR=1"
)


async def test_the_audit_log_reads_as_a_log_in_berlin_time_with_course_names_and_changes(
    h, db, clock, boss, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    await h.send(boss, PLAIN_FORM)
    course = db.call(lambda s: s.scalars(select(Course)).one())
    await h.send(
        boss, f"/kurs_bearbeiten {course.code}\nBeginn: 19.03.2027 09:00\nEnde: 19.03.2027 16:00"
    )
    await h.send(boss, f"/kursleitung {course.code} {lead.telegram_id}")

    (log,) = await h.send(boss, f"/protokoll {course.code}")

    assert log.text.startswith("<b>Protokoll</b> (neueste zuerst, Seite 1 von 1)")
    who = f"Administration laut Einstellungen (ID {BOSS})"
    assert f"So. 10.01.2027, 10:00 · {who} · Kurs geändert · {course.code} Kurs A" in log.text
    assert "Beginn: 12.03.2027 09:00 → 19.03.2027 09:00" in log.text
    assert "Kursleitung: – → Lea Leitung" in log.text
    assert "{&quot;" not in log.text  # no JSON
    assert '{"' not in log.text
    assert log.button_texts() == ["CSV-Datei"]


@pytest.mark.usefixtures("agencies")
async def test_the_audit_log_pages_and_gives_the_whole_log_as_a_csv_file(h, db, clock, boss):
    for i in range(20):
        builders.course(db, clock.now(), title=f"Kurs {i:02d}")  # entries by Kursbot itself

    first = (await h.send(boss, "/protokoll"))[0].text  # the message is edited to page 2
    await h.press(boss, "Ältere »")
    second = h.last(boss)
    (csv_file,) = await h.press(boss, "CSV-Datei", second)

    assert "(neueste zuerst, Seite 1 von 2)" in first
    assert "Kurs 19" in first
    assert "(neueste zuerst, Seite 2 von 2)" in second.text
    assert "Kurs 00" in second.text
    name, content = csv_file.document
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    assert name == "protokoll.csv"
    assert rows[0] == [
        "Zeit",
        "Wer",
        "Aktion",
        "Kurs",
        "Titel",
        "Änderung",
    ]
    assert {row[4] for row in rows[1:]} == {f"Kurs {i:02d}" for i in range(20)}


@pytest.mark.usefixtures("agencies")
async def test_a_course_created_shows_only_the_fields_it_was_given(h, boss):
    await h.send(boss, PLAIN_FORM)

    (log,) = await h.send(boss, "/protokoll")

    assert "Freigabe" not in log.text
    assert "Titel: " in log.text


async def test_hilfe_works_for_an_admin_from_the_settings_who_has_not_joined(h, boss):
    (answer,) = await h.send(boss, "/hilfe")

    assert "<b>Für die Administration</b>" in answer.text
    assert "/kurs_neu" in answer.text
    assert "/status" in answer.text


@pytest.mark.usefixtures("agencies")
async def test_a_course_day_on_a_public_holiday_is_warned_about_but_created(h, db, boss):
    form = (
        "/kurs_neu\nTitel: Kontrolltag\nBeginn: 26.05.2027 09:00\nEnde: 27.05.2027 16:00\n"
        "Ort: Hof\nAnmeldeschluss: 01.05.2027\nPlätze: PP-OFR=5, PD-Z=5"
    )

    (answer,) = await h.send(boss, form)

    assert answer.text.startswith("Kurs <b>K-2027-001</b> angelegt")
    assert "Bitte diese Kurstage prüfen:\n⚠️ Do. 27.05.2027: Fronleichnam (BY)" in answer.text
    assert db.call(lambda s: s.scalar(select(func.count()).select_from(Course))) == 1


@pytest.mark.usefixtures("agencies")
async def test_a_form_reports_unknown_agencies_bad_seat_numbers_and_an_unknown_lead_at_once(
    h, db, boss
):
    form = (
        "/kurs_neu\nTitel: Kontrolltag\nBeginn: 12.03.2027 09:00\nEnde: 12.03.2027 16:00\n"
        "Ort: Hof\nAnmeldeschluss: 01.03.2027\nPlätze: PP-OFR=5000, XX-1=3, YY-2=1\n"
        "Kursleitung: @niemand"
    )

    (answer,) = await h.send(boss, form)

    assert answer.text.startswith("Der Kurs wurde nicht angelegt:")
    assert answer.text.count("• Zeile 6") == 3  # both agencies and the number
    assert "XX-1" in answer.text
    assert "YY-2" in answer.text
    assert "• Zeile 7 (Kursleitung)" in answer.text
    assert course_count(db) == 0


@pytest.mark.usefixtures("agencies")
async def test_a_form_with_a_bad_agency_and_a_bad_date_reports_both(h, db, boss):
    form = (
        "/kurs_neu\nTitel: Kontrolltag\nBeginn: 12.03.2027 09:00\nEnde: 11.03.2027 16:00\n"
        "Ort: Hof\nAnmeldeschluss: 01.03.2027\nPlätze: XX-1=3"
    )

    (answer,) = await h.send(boss, form)

    assert "• Zeile 3" in answer.text
    assert "• Zeile 6" in answer.text
    assert course_count(db) == 0


async def test_people_search_with_one_character_says_that_two_or_an_id_are_needed(
    h, boss, agencies
):
    await officer(h, agencies, "Anna Beispiel")
    english = {**boss, "language_code": "en"}

    german = await h.send(boss, "/personen a")
    answer = await h.send(english, "/people a")

    assert german[0].text == (
        "Bitte geben Sie mindestens zwei Zeichen eines Namens an, oder einen @Benutzernamen "
        "oder eine Telegram-ID, zum Beispiel: /personen Müller"
    )
    assert answer[0].text.startswith("Please give at least two characters of a name")
    assert answer[0].text.endswith("for example: /people Müller")


async def test_people_are_found_by_their_username_with_the_at_sign_and_by_telegram_id(
    h, boss, agencies
):
    anna = await officer(h, agencies, "Anna Beispiel", username="anna_b")

    by_username = await h.send(boss, "/personen @anna_b")
    by_id = await h.send(boss, f"/personen {anna['id']}")

    assert "Anna Beispiel – PP-OFR" in by_username[0].text
    assert "Anna Beispiel – PP-OFR" in by_id[0].text
