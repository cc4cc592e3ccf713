"""Inputs that once crashed or slipped through: each gets a clear translated error, writes
nothing and reports nothing to the admins (issue 12, item 7)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from kurse import forms, people
from kurse.errors import InvalidInput, NotFound
from kurse.models import Course
from kurse.validation import clean_text
from tests import builders
from tests.harness import user

BOSS = 4242  # bootstrap admin (KURSBOT_ADMIN_IDS)

FORM = """/kurs_neu
Titel: {title}
Beginn: {start}
Ende: {end}
Ort: Hof
Anmeldeschluss: {deadline}
Plätze: PP-OFR=10, PD-Z=8"""


def form(**values: str) -> str:
    defaults = {
        "title": "Gemeinsamer Kontrolltag",
        "start": "12.03.2027 09:00",
        "end": "12.03.2027 16:00",
        "deadline": "01.03.2027",
    }
    return FORM.format(**{**defaults, **values})


@pytest.fixture
def boss():
    return {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}


@pytest.fixture
def no_error_reports(caplog):
    """Fails the test if the error handler logged (and so told the admins of) an error."""
    yield
    assert [r.getMessage() for r in caplog.records if r.name == "kursbot.errors"] == []


async def refused(h, db, who, text: str) -> list[str]:
    """Sends ``text``, checks that nothing was written, returns the texts of the answer."""
    before = builders.snapshot(db)
    answer = await h.send(who, text)
    assert builders.snapshot(db) == before
    return [m.text for m in answer]


# --- dates far ahead, and far back ----------------------------------------------------------


@pytest.mark.usefixtures("agencies", "no_error_reports")
async def test_a_course_starting_in_year_9999_is_refused_with_its_line(
    h,
    db,
    boss,
):
    text = form(start="30.12.9999 09:00", end="31.12.9999 16:00", deadline="01.12.9999")

    answer = await refused(h, db, boss, text)

    assert answer == [
        "Der Kurs wurde nicht angelegt:\n• Zeile 2 (Beginn): mehr als fünf Jahre in der Zukunft"
    ]


@pytest.mark.usefixtures("agencies")
async def test_a_course_may_start_five_years_ahead_but_not_later(db, clock):
    five_years = clock.now() + forms.MAX_AHEAD

    course = builders.course(db, clock.now(), start_at=five_years)
    with pytest.raises(InvalidInput) as refused_error:
        builders.course(db, clock.now(), start_at=five_years + timedelta(minutes=1))

    assert course.code == "K-2032-001"
    assert (refused_error.value.field, refused_error.value.reason) == ("start_at", "too_far_ahead")


@pytest.mark.usefixtures("agencies", "no_error_reports")
async def test_moving_a_course_to_year_9999_is_refused(
    h,
    db,
    clock,
    boss,
):
    course = builders.course(db, clock.now())
    text = f"/kurs_bearbeiten {course.code}\nBeginn: 30.12.9999 09:00\nEnde: 31.12.9999 16:00"

    answer = await refused(h, db, boss, text)

    assert answer == [
        "Der Kurs wurde nicht geändert:\n• Zeile 1 (Beginn): mehr als fünf Jahre in der Zukunft"
    ]


@pytest.mark.parametrize("moment", ["01.01.0001 00:00", "0001-01-01T00:00"])
@pytest.mark.usefixtures("agencies", "no_error_reports")
async def test_a_date_at_the_edge_of_the_calendar_is_not_a_date(h, db, boss, moment):
    text = form() + f"\nFreigabe: {moment}"

    answer = await refused(h, db, boss, text)

    assert answer == [
        "Der Kurs wurde nicht angelegt:\n• Zeile 7 (Freigabe): kein Datum (TT.MM.JJJJ HH:MM, "
        "TT.MM.JJJJ oder ISO 8601)"
    ]


@pytest.mark.parametrize(
    ("moment", "reason"),
    [
        ("30.12.9999 09:00", "Das liegt mehr als fünf Jahre in der Zukunft."),
        ("01.01.0001 00:00", "Das ist kein Datum."),
    ],
)
@pytest.mark.usefixtures("agencies", "no_error_reports")
async def test_the_guided_dialog_refuses_a_start_beyond_the_calendar_at_its_step(
    h, db, boss, moment, reason
):
    await h.send(boss, "/kurs_neu")
    await h.send(boss, "Gemeinsamer Kontrolltag")

    answer = await refused(h, db, boss, moment)

    assert len(answer) == 1
    assert answer[0].startswith(reason)


# --- ids beyond the database's integers -----------------------------------------------------

NOBODY = "Mit dieser Telegram-ID oder diesem @Benutzernamen ist niemand bei Kursbot registriert."
# Beyond BIGINT (OverflowError on SQLite, DataError on PostgreSQL); "²" passes isdigit() only.
HUGE_IDS = ["9999999999999999999", "99999999999999999999", "-99999999999999999999", "²"]


@pytest.mark.parametrize("reference", HUGE_IDS)
@pytest.mark.usefixtures("agencies", "no_error_reports")
async def test_a_lead_id_beyond_the_database_range_is_nobody(h, db, clock, boss, reference):
    course = builders.course(db, clock.now())

    answer = await refused(h, db, boss, f"/kursleitung {course.code} {reference}")

    assert answer == [NOBODY]


@pytest.mark.parametrize("reference", HUGE_IDS[:2])
@pytest.mark.usefixtures("agencies", "no_error_reports")
async def test_a_lead_id_beyond_the_database_range_in_a_form_names_its_line(
    h, db, boss, reference
):
    answer = await refused(h, db, boss, form() + f"\nKursleitung: {reference}")

    assert answer == [
        "Der Kurs wurde nicht angelegt:\n• Zeile 7 (Kursleitung): niemand mit dieser Telegram-ID "
        "oder diesem @Benutzernamen ist registriert"
    ]


@pytest.mark.parametrize("command", ["/admin_neu", "/admin_entfernen"])
@pytest.mark.usefixtures("agencies", "no_error_reports")
async def test_an_admin_id_beyond_the_database_range_is_nobody(h, db, boss, command):
    answer = await refused(h, db, boss, f"{command} 99999999999999999999")

    assert answer == [NOBODY]


@pytest.mark.usefixtures("agencies")
def test_a_telegram_id_beyond_the_database_range_finds_nobody(db):
    with db.transaction(readonly=True) as session:
        for reference in ("9223372036854775808", "-9223372036854775809", "1" * 70):
            with pytest.raises(NotFound):
                people.find_by_reference(session, reference)


# --- the next course code -------------------------------------------------------------------


@pytest.mark.usefixtures("agencies")
def test_after_course_1000_of_a_year_the_next_course_gets_1001(db, clock):
    for code in ("K-2027-999", "K-2027-1000"):
        made = builders.course(db, clock.now())
        with db.transaction() as session:
            session.execute(update(Course).where(Course.id == made.id).values(code=code))

    course = builders.course(db, clock.now())

    assert course.code == "K-2027-1001"


# --- invisible and direction characters -----------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["\u200f\u200f", "\u202e\u202e", "\u200e \u2066\u2069", "\u2800\u3164", "\u200b\u200b", "--"],
)
def test_text_without_a_visible_letter_or_digit_is_refused(value):
    with pytest.raises(InvalidInput) as error:
        clean_text(value, "name", max_len=100, min_len=2)

    assert (error.value.field, error.value.reason) == ("name", "nothing_visible")


def test_direction_overrides_embeddings_and_isolates_are_dropped():
    value = "\u202eAnna\u202c \u2067Beispiel\u2069\u202a\u202b\u202d\u2066\u2068"

    assert clean_text(value, "name", max_len=100) == "Anna Beispiel"


def test_direction_marks_stay_in_text_that_has_letters():
    assert clean_text("\u05e9\u05dc\u05d5\u05dd\u200f 1", "name", max_len=100) == (
        "\u05e9\u05dc\u05d5\u05dd\u200f 1"
    )


@pytest.mark.parametrize("name", ["\u200f\u200f", "\u202e\u202e\u202e"])
@pytest.mark.usefixtures("no_error_reports")
async def test_a_name_of_only_invisible_characters_is_refused_when_joining(h, db, agencies, name):
    anna = user("Anna")
    await h.send(anna, f"/start {agencies['PP-OFR'].access_code}")

    answer = await refused(h, db, anna, name)

    assert answer == ["Bitte schreiben Sie mit sichtbaren Buchstaben oder Ziffern."]


async def test_a_rank_of_only_direction_marks_is_refused_when_joining(h, db, agencies):
    anna = user("Anna")
    await h.send(anna, f"/start {agencies['PP-OFR'].access_code}")
    await h.send(anna, "Anna Beispiel")

    answer = await refused(h, db, anna, "\u200f\u200e")

    assert answer == ["Bitte schreiben Sie mit sichtbaren Buchstaben oder Ziffern."]


async def test_a_name_with_a_direction_override_is_stored_without_it(h, db, agencies):
    anna = user("Anna")

    await h.join(anna, agencies["PP-OFR"].access_code, "\u202eAnna Beispiel\u202c", "\u2067POK")

    person = db.call(people.find_by_telegram_id, anna["id"])
    assert (person.name, person.rank) == ("Anna Beispiel", "POK")


@pytest.mark.usefixtures("no_error_reports")
async def test_a_profile_name_of_only_invisible_characters_is_refused(h, db, agencies):
    anna = user("Anna")
    await h.join(anna, agencies["PP-OFR"].access_code, "Anna Beispiel")

    answer = await refused(h, db, anna, "/profil\nName: \u200f\u200f\u200f")

    assert answer == ["Bitte schreiben Sie mit sichtbaren Buchstaben oder Ziffern."]


@pytest.mark.usefixtures("agencies", "no_error_reports")
async def test_a_course_title_of_only_invisible_characters_is_refused_with_its_line(
    h,
    db,
    boss,
):
    answer = await refused(h, db, boss, form(title="\u202e\u200f\u200f\u200b"))

    assert answer == [
        "Der Kurs wurde nicht angelegt:\n• Zeile 1 (Titel): keine sichtbaren Buchstaben oder "
        "Ziffern"
    ]


@pytest.mark.parametrize("data", ["nk:99999999999999999999", "nk:999", "nk:٣"])
@pytest.mark.usefixtures("agencies", "no_error_reports")
async def test_a_forged_agency_button_in_the_guided_dialog_is_no_longer_valid(h, db, boss, data):
    await h.send(boss, "/kurs_neu")
    for answer in ("Gemeinsamer Kontrolltag", "15.04.2027 08:00", "15.04.2027 16:00", "Hof"):
        await h.send(boss, answer)
    await h.send(boss, "01.04.2027")
    before = builders.snapshot(db)

    await h.press_data(boss, data, h.with_button(boss, "PP-OFR: 0"))

    assert builders.snapshot(db) == before
    assert h.alerts()[-1].startswith("Diese Schaltfläche ist nicht mehr gültig.")


@pytest.mark.usefixtures("agencies", "no_error_reports")
async def test_a_seat_number_in_superscript_digits_is_asked_again(
    h,
    db,
    boss,
):
    await h.send(boss, "/kurs_neu")
    for answer in ("Gemeinsamer Kontrolltag", "15.04.2027 08:00", "15.04.2027 16:00", "Hof"):
        await h.send(boss, answer)
    await h.send(boss, "01.04.2027")
    await h.press(boss, "PP-OFR: 0")

    answer = await refused(h, db, boss, "²")

    assert answer == ["Bitte geben Sie eine ganze Zahl von 0 bis 1000 ein."]


def test_a_description_may_be_punctuation_but_not_invisible():
    kept = clean_text("&&& – …", "description", max_len=100, min_len=0, letters=False)
    with pytest.raises(InvalidInput) as error:
        clean_text("\u200f\u202e\u2800", "description", max_len=100, min_len=0, letters=False)

    assert kept == "&&& – …"
    assert error.value.reason == "nothing_visible"
