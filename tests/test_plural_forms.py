"""Counts in texts take the right plural (gettext's ngettext) in German and English, with 0, 1
and 2, through the real Application."""

from __future__ import annotations

import pytest

from kurse import people
from kurse import registrations as regs
from tests import builders
from tests.conftest import ADMIN_ID
from tests.harness import user

CANCELLED = {
    "de": [
        "Kurs {code} abgesagt. Niemand muss benachrichtigt werden.",
        "Kurs {code} abgesagt. 1 Person wird benachrichtigt.",
        "Kurs {code} abgesagt. 2 Personen werden benachrichtigt.",
    ],
    "en": [
        "Course {code} cancelled. Nobody needs to be told.",
        "Course {code} cancelled. 1 person is being told.",
        "Course {code} cancelled. 2 people are being told.",
    ],
}
DELETED = {
    "de": [
        "Ihr Profil wurde gelöscht. Auf Wiedersehen!",
        "Ihr Profil wurde gelöscht; Sie wurden von 1 Kurs abgemeldet. Auf Wiedersehen!",
        "Ihr Profil wurde gelöscht; Sie wurden von 2 Kursen abgemeldet. Auf Wiedersehen!",
    ],
    "en": [
        "Your profile has been deleted. Goodbye!",
        "Your profile has been deleted and 1 registration cancelled. Goodbye!",
        "Your profile has been deleted and 2 registrations cancelled. Goodbye!",
    ],
}
MINIMUM = {
    "de": [
        "Findet nur statt, wenn mindestens 1 Person teilnimmt.",
        "Findet nur statt, wenn mindestens 2 Personen teilnehmen.",
    ],
    "en": [
        "Takes place only if at least 1 person takes part.",
        "Takes place only if at least 2 people take part.",
    ],
}
BUTTONS = {
    "de": {"cancel": "Ja, Kurs absagen", "delete": "Ja, alles löschen"},
    "en": {"cancel": "Yes, cancel the course", "delete": "Yes, delete everything"},
}


async def officer(h, agencies, name, language):
    who = user(name.split()[0], language=language)
    await h.join(who, agencies["PP-OFR"].access_code, name)
    return who, h.services.db.call(people.find_by_telegram_id, who["id"])


@pytest.mark.parametrize("language", ["de", "en"])
async def test_cancelling_a_course_says_how_many_people_hear_of_it(
    h, db, clock, agencies, language
):
    boss = {"id": ADMIN_ID, "is_bot": False, "first_name": "Boss", "language_code": language}
    courses = [builders.course(db, clock.now(), title=f"Kurs {n}") for n in range(3)]
    for n, course in enumerate(courses):  # n people registered for the n-th course
        for i in range(n):
            _, person = await officer(h, agencies, f"Person {n}{i}", "de")
            db.call(regs.sign_up, course.id, person.id, clock.now())

    answers = []
    for course in courses:
        await h.send(boss, f"/kurs_absagen {course.code}")
        await h.press(boss, BUTTONS[language]["cancel"])
        answers.append(h.last(boss).text)

    expected = zip(CANCELLED[language], courses, strict=True)
    assert answers == [text.format(code=course.code) for text, course in expected]


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("registered", [0, 1, 2])
async def test_deleting_a_profile_says_how_many_registrations_it_cancelled(
    h, db, clock, agencies, language, registered
):
    chat, person = await officer(h, agencies, "Anna Beispiel", language)
    for n in range(registered):
        course = builders.course(db, clock.now(), title=f"Kurs {n}")
        db.call(regs.sign_up, course.id, person.id, clock.now())

    await h.send(chat, "/daten_loeschen")
    await h.press(chat, BUTTONS[language]["delete"])

    assert h.last(chat).text == DELETED[language][registered]


@pytest.mark.parametrize("language", ["de", "en"])
async def test_a_course_page_states_its_minimum_in_the_right_number(
    h, db, clock, agencies, language
):
    chat, _ = await officer(h, agencies, "Anna Beispiel", language)
    for minimum in (1, 2):
        builders.course(db, clock.now(), title=f"Mindestens {minimum}", min_participants=minimum)

    pages = []
    for minimum in (1, 2):
        await h.send(chat, "/kurse")
        await h.press(chat, f"Mindestens {minimum}")
        pages.append(h.last(chat).text)

    assert MINIMUM[language][0] in pages[0]
    assert MINIMUM[language][1] in pages[1]
