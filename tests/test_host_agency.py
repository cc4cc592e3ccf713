"""The host agency (Ausrichter) of a course: the form key, its default, the edit form."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kurse import courses
from tests.harness import user

BOSS = 4242  # bootstrap admin (KURSBOT_ADMIN_IDS), not joined to any agency

FORM = """/kurs_neu
Titel: Grenzüberschreitende Fahndung – Grundlagen
Beginn: 12.03.2027 09:00
Ende: 13.03.2027 16:00
Ort: Hof, Polizeiinspektion
Anmeldeschluss: 01.03.2027
Plätze: PP-OFR=10, PD-Z=12"""


@pytest.fixture
def boss():
    return {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}


def host_of(db, code: str) -> int:
    return db.call(courses.get_course_by_code, code).host_agency_id


async def test_the_form_key_ausrichter_names_the_host(h, db, boss, agencies):
    await h.send(boss, FORM + "\nAusrichter: pp-ofr")

    assert host_of(db, "K-2027-001") == agencies["PP-OFR"].id


async def test_the_english_key_host_works_too(h, db, boss, agencies):
    await h.send(boss, FORM.replace("/kurs_neu", "/newcourse") + "\nHost: PD-Z")

    assert host_of(db, "K-2027-001") == agencies["PD-Z"].id


async def test_without_the_key_the_host_is_the_agency_of_the_admin_who_creates_it(
    h, db, boss, agencies
):
    chief = user("Olga", id=5151)
    await h.join(chief, agencies["PP-OFR"].access_code, "Olga Oberst")
    await h.send(boss, f"/admin_neu {chief['id']}")

    await h.send(chief, FORM)  # PD-Z has more seats, but Olga is of PP-OFR

    assert host_of(db, "K-2027-001") == agencies["PP-OFR"].id


async def test_an_admin_of_no_agency_gets_the_agency_with_the_most_seats_as_host(
    h, db, boss, agencies
):
    await h.send(boss, FORM)

    assert host_of(db, "K-2027-001") == agencies["PD-Z"].id


@pytest.mark.usefixtures("agencies")
async def test_an_unknown_host_is_refused_naming_its_line_and_nothing_is_created(h, db, boss):
    answer = await h.send(boss, FORM + '\nAusrichter: =HYPERLINK("x")')

    assert "Zeile 7" in answer[0].text
    assert "Ausrichter" in answer[0].text
    with pytest.raises(Exception, match="course"):
        db.call(courses.get_course_by_code, "K-2027-001")


async def test_the_edit_form_shows_the_host_and_changes_it_even_after_the_course_ended(
    h, db, clock, boss, agencies
):
    await h.send(boss, FORM + "\nAusrichter: PP-OFR")
    shown = await h.send(boss, "/kurs_bearbeiten K-2027-001")
    assert "Ausrichter: PP-OFR" in shown[0].text
    clock.set(db.call(courses.get_course_by_code, "K-2027-001").end_at)
    clock.advance(timedelta(days=3))

    answer = await h.send(boss, "/kurs_bearbeiten K-2027-001\nAusrichter: PD-Z")

    assert "Ausrichter" in answer[0].text
    assert host_of(db, "K-2027-001") == agencies["PD-Z"].id


@pytest.mark.usefixtures("agencies")
async def test_after_the_start_anything_but_the_host_is_still_refused(h, db, clock, boss):
    await h.send(boss, FORM + "\nAusrichter: PP-OFR")
    clock.set(db.call(courses.get_course_by_code, "K-2027-001").start_at)

    answer = await h.send(boss, "/kurs_bearbeiten K-2027-001\nAusrichter: PD-Z\nOrt: Plauen")

    assert db.call(courses.get_course_by_code, "K-2027-001").location == "Hof, Polizeiinspektion"
    assert "Beginn" in answer[0].text or "begonnen" in answer[0].text.lower()
