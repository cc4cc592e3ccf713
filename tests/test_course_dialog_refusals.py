"""The guided /kurs_neu refuses at its step whatever creation would refuse, and says what is
wrong with that answer (issue 16), through the real Application."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.handlers import course_dialog
from kurse import courses, forms, people
from kurse.errors import InvalidInput, NotFound
from kurse.models import Course
from tests import builders
from tests.harness import user

BOSS = 4242  # bootstrap admin (KURSBOT_ADMIN_IDS)
BOSS_DE = {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}
BOSS_EN = {**BOSS_DE, "language_code": "en"}
# The answers up to each step of the dialog (the clock stands at 10.01.2027).
UP_TO = {
    "title": [],
    "start_at": ["Gemeinsamer Kontrolltag"],
    "end_at": ["Gemeinsamer Kontrolltag", "15.04.2027 08:00"],
    "location": ["Gemeinsamer Kontrolltag", "15.04.2027 08:00", "15.04.2027 16:00"],
    "registration_deadline": [
        "Gemeinsamer Kontrolltag",
        "15.04.2027 08:00",
        "15.04.2027 16:00",
        "Plauen",
    ],
}


def course_count(db) -> int:
    with db.transaction(readonly=True) as session:
        return session.scalar(select(func.count()).select_from(Course))


def step(h) -> int:
    return h.app.user_data[BOSS]["new_course"]["step"]


async def at_step(h, who, name: str) -> None:
    await h.send(who, "/kurs_neu")
    for answer in UP_TO[name]:
        await h.send(who, answer)


async def at_seats(h, who) -> None:
    await at_step(h, who, "registration_deadline")
    await h.send(who, "01.04.2027")


async def at_lead(h, who) -> None:
    await at_seats(h, who)
    await h.press(who, "PP-OFR: 0")
    await h.send(who, "6")
    await h.press(who, "Fertig" if who["language_code"] == "de" else "Done")


async def at_description(h, who) -> None:
    await at_lead(h, who)
    await h.press(who, "Überspringen" if who["language_code"] == "de" else "Skip")


@pytest.mark.usefixtures("agencies")
async def test_an_end_more_than_sixty_days_after_the_start_is_refused_at_the_end_step(
    h,
):
    await at_step(h, BOSS_DE, "end_at")

    answer = await h.send(BOSS_DE, "20.06.2027 16:00")
    then = await h.send(BOSS_DE, "16.04.2027 16:00")

    assert [m.text for m in answer] == [
        "Ein Kurs dauert höchstens 60 Tage; dieses Ende liegt weiter nach dem Beginn. "
        "Bitte geben Sie ein früheres Ende an."
    ]
    assert then[0].text.startswith("Schritt 4 von 9: Wo findet der Kurs statt?")
    assert h.app.user_data[BOSS]["new_course"]["Ende"] == "16.04.2027 16:00"


@pytest.mark.usefixtures("agencies")
def test_creation_refuses_a_course_longer_than_sixty_days_as_the_dialog_does(db, clock):
    start = clock.now() + forms.MAX_AHEAD / 20

    with pytest.raises(InvalidInput) as error:
        builders.course(
            db, clock.now(), start_at=start, end_at=start + forms.MAX_COURSE_LENGTH * 1.1
        )

    assert error.value.reason == "too_long"


@pytest.mark.parametrize(
    ("name", "typed", "expected"),
    [
        (
            "title",
            "AB",
            "Titel: zu kurz, mindestens 3 Zeichen. Bitte senden Sie eine längere "
            "Angabe oder brechen Sie mit /abbrechen ab.",
        ),
        (
            "title",
            "T" * 201,
            "Titel: zu lang, höchstens 200 Zeichen. Bitte senden Sie eine "
            "kürzere Angabe oder brechen Sie mit /abbrechen ab.",
        ),
        (
            "title",
            "\u202e\u200f…",
            "Titel: keine sichtbaren Buchstaben oder Ziffern. Bitte "
            "schreiben Sie mit Buchstaben oder Ziffern oder brechen Sie mit /abbrechen ab.",
        ),
        (
            "title",
            "Titel:",
            "Titel: Es wurde nichts angegeben. Bitte senden Sie eine Angabe "
            "oder brechen Sie mit /abbrechen ab.",
        ),
        (
            "start_at",
            "morgen früh",
            "Das ist kein Datum. Bitte schreiben Sie es als TT.MM.JJJJ HH:MM.",
        ),
        (
            "start_at",
            "31.02.2027 09:00",
            "Das ist kein Datum. Bitte schreiben Sie es als TT.MM.JJJJ HH:MM.",
        ),
        ("end_at", "15.04.2027 07:00", "Das Ende muss nach dem Beginn liegen."),
        (
            "location",
            "X",
            "Ort: zu kurz, mindestens 2 Zeichen. Bitte senden Sie eine "
            "längere Angabe oder brechen Sie mit /abbrechen ab.",
        ),
        (
            "location",
            "Hof\u0007",
            "Ort: enthält Steuerzeichen. Bitte senden Sie einfachen Text "
            "oder brechen Sie mit /abbrechen ab.",
        ),
        (
            "registration_deadline",
            "16.04.2027",
            "Der Anmeldeschluss muss zwischen jetzt und dem Beginn liegen.",
        ),
        (
            "registration_deadline",
            "09.01.2027",
            "Der Anmeldeschluss muss zwischen jetzt und dem Beginn liegen.",
        ),
        (
            "registration_deadline",
            "1.4.",
            "Das ist kein Datum. Bitte schreiben Sie es als TT.MM.JJJJ oder TT.MM.JJJJ HH:MM.",
        ),
    ],
)
@pytest.mark.usefixtures("agencies")
async def test_a_wrong_answer_is_refused_at_its_step_saying_what_is_wrong(
    h, db, name, typed, expected
):
    await at_step(h, BOSS_DE, name)

    answer = await h.send(BOSS_DE, typed)

    assert [m.text for m in answer] == [expected]
    assert course_dialog.STATES[step(h)].name == name  # the same question stands
    assert course_count(db) == 0


@pytest.mark.parametrize("typed", ["1001", "-1", "zehn", "6,5"])
@pytest.mark.usefixtures("agencies")
async def test_a_seat_number_outside_0_to_1000_is_refused(h, typed):
    await at_seats(h, BOSS_DE)
    await h.press(BOSS_DE, "PP-OFR: 0")

    answer = await h.send(BOSS_DE, typed)

    assert [m.text for m in answer] == ["Bitte geben Sie eine ganze Zahl von 0 bis 1000 ein."]
    assert step(h) == course_dialog.SEAT_NUMBER


@pytest.mark.usefixtures("agencies")
async def test_done_without_any_seat_is_refused_with_an_alert(
    h,
):
    await at_seats(h, BOSS_DE)

    await h.press(BOSS_DE, "Fertig")

    assert h.alerts()[-1] == "Bitte vergeben Sie mindestens einen Platz."
    assert step(h) == course_dialog.SEATS


UNKNOWN_LEAD = (
    "Mit dieser Telegram-ID oder diesem @Benutzernamen ist niemand bei Kursbot registriert. "
    "Bitte senden Sie die Telegram-ID oder den @Benutzernamen einer registrierten Person "
    "(/personen findet sie) oder tippen Sie auf „Überspringen“."
)


@pytest.mark.usefixtures("agencies")
async def test_an_unknown_lead_is_refused_with_what_to_send_instead(
    h,
):
    await at_lead(h, BOSS_DE)

    answer = await h.send(BOSS_DE, "@niemand")

    assert [m.text for m in answer] == [UNKNOWN_LEAD]
    assert step(h) == course_dialog.LEAD


async def test_a_lead_who_blocked_the_bot_is_refused_at_the_lead_step_as_creation_would(
    h, db, clock, agencies
):
    lea = user("Lea")
    await h.join(lea, agencies["PD-Z"].access_code, "Lea Leitung")
    person = db.call(people.find_by_telegram_id, lea["id"])
    db.call(people.set_active, person.id, False)
    await at_lead(h, BOSS_DE)

    answer = await h.send(BOSS_DE, str(lea["id"]))

    assert [m.text for m in answer] == [UNKNOWN_LEAD]
    assert step(h) == course_dialog.LEAD
    with pytest.raises(NotFound):  # what creation says of such a lead
        builders.course(db, clock.now(), lead_id=person.id)


@pytest.mark.usefixtures("agencies")
async def test_a_description_line_that_reads_as_a_form_field_is_refused(
    h,
):
    await at_description(h, BOSS_DE)

    answer = await h.send(BOSS_DE, "Treffpunkt am Haupteingang.\nOrt: Raum 3.14")

    assert [m.text for m in answer] == [
        "Die Zeile „Ort: Raum 3.14“ der Beschreibung würde als Feld des Kursformulars "
        "gelesen. Bitte schreiben Sie sie anders (etwa ohne Doppelpunkt) oder tippen Sie auf "
        "„Überspringen“."
    ]
    assert step(h) == course_dialog.DESCRIPTION


@pytest.mark.usefixtures("agencies")
async def test_a_description_longer_than_a_form_holds_is_refused(
    h,
):
    await at_description(h, BOSS_DE)

    answer = await h.send(BOSS_DE, "\n".join(f"Punkt {i}" for i in range(51)))

    assert [m.text for m in answer] == [
        "Die Beschreibung hat mehr als 50 Zeilen, mehr als ein Kursformular aufnimmt. Bitte "
        "senden Sie eine kürzere oder tippen Sie auf „Überspringen“."
    ]


@pytest.mark.parametrize(
    ("name", "typed", "expected"),
    [
        (
            "title",
            "AB",
            "Title: too short, at least 3 characters. Please send a longer one, or /cancel.",
        ),
        (
            "end_at",
            "20.06.2027 16:00",
            "A course lasts at most 60 days; this end lies further "
            "after the start. Please give an earlier end.",
        ),
        (
            "registration_deadline",
            "16.04.2027",
            "The registration deadline must lie between now and the start.",
        ),
    ],
)
@pytest.mark.usefixtures("agencies")
async def test_refusals_are_in_english_for_an_english_admin(h, name, typed, expected):
    await at_step(h, BOSS_EN, name)

    answer = await h.send(BOSS_EN, typed)

    assert [m.text for m in answer] == [expected]


@pytest.mark.usefixtures("agencies")
async def test_an_english_admin_hears_of_an_unknown_lead_in_english(
    h,
):
    await at_lead(h, BOSS_EN)

    answer = await h.send(BOSS_EN, "@nobody")

    assert answer[0].text == (
        "Nobody with this Telegram id or @username has registered with Kursbot. Please send "
        "the Telegram id or @username of someone registered (/people finds them), or press "
        "“Skip”."
    )


@pytest.mark.usefixtures("agencies")
async def test_a_description_of_paragraphs_and_cyrillic_is_created_as_it_was_typed(h, db):
    description = "Иван Петров führt durch den Tag.\n\nBitte Dienstausweis mitbringen.\n– Hof"
    await at_description(h, BOSS_DE)
    await h.send(BOSS_DE, description)

    await h.press(BOSS_DE, "Kurs anlegen")

    assert h.last(BOSS_DE).text.startswith("Kurs <b>K-2027-001</b> angelegt")
    assert db.call(courses.get_course_by_code, "K-2027-001").description == description


def test_the_dialog_asks_the_form_fields_that_have_a_step_in_their_order():
    asked = [spec.name for spec in course_dialog.STATES.values()]

    assert asked == [spec.name for spec in forms.FIELDS if spec.step]
    assert [spec.step for spec in course_dialog.STATES.values()] == list(range(1, 9))
