"""The German texts as a Bavarian or Saxon training office signs them off, through the real
Application: joining is *registrieren*, courses are *angemeldet*, *abgemeldet*, *abgesagt*;
role nouns instead of slash forms; whole questions; "09:00–16:00 Uhr"
(bot/locales/GLOSSARY.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from kurse import people
from kurse.clock import BERLIN
from tests import builders
from tests.conftest import ADMIN_ID
from tests.harness import user

BOSS = {"id": ADMIN_ID, "is_bot": False, "first_name": "Chefin", "language_code": "de"}


async def test_joining_is_registering_and_a_course_is_signed_up_for_and_cancelled(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now())
    anna = user("Anna")

    await h.join(anna, agencies["PP-OFR"].access_code, "Anna Beispiel")
    welcome = h.last(anna).text
    (again,) = await h.send(anna, "/start")
    (profile,) = await h.send(anna, "/profil")
    await h.send(anna, "/kurse")
    await h.press(anna, course.title[:20])
    await h.press(anna, "Anmelden")
    signed_up = h.alerts()[-1]
    await h.press(anna, "Abmelden")
    await h.press(anna, "Ja, abmelden")

    assert welcome.startswith(
        "Willkommen, Anna Beispiel! Ihre Registrierung ist abgeschlossen "
        "(Dienststelle: Polizeipräsidium Oberfranken)."
    )
    assert again.text.startswith("Sie sind bereits als Anna Beispiel registriert.")
    assert "\nRegistriert seit: So., 10. Januar 2027, 10:00 Uhr\n" in profile.text
    assert signed_up == (
        "✅ Sie sind angemeldet. Den Kalendereintrag erhalten Sie in einer eigenen Nachricht."
    )
    assert h.last(anna).text == f"Sie haben sich von <b>{course.title}</b> abgemeldet."
    everything = "\n".join(m.text or "" for m in h.api.messages(anna["id"]))
    assert "storniert" not in everything
    assert "Beigetreten" not in everything


async def test_a_course_within_one_day_reads_09_00_16_00_uhr(h, db, clock, agencies):
    start = datetime(2027, 3, 12, 9, 0, tzinfo=BERLIN)
    builders.course(
        db,
        clock.now(),
        start_at=start,
        end_at=start.replace(hour=16),
        registration_deadline=start - timedelta(days=7),
    )
    anna = user("Anna")
    await h.join(anna, agencies["PP-OFR"].access_code, "Anna Beispiel")

    listed = (await h.send(anna, "/kurse"))[0].text  # the page below replaces this message
    await h.press(anna, "Grenzüberschreitende")

    assert "Fr., 12. März 2027, 09:00–16:00 Uhr · Hof, Polizeiinspektion" in listed
    assert "\nWann: Fr., 12. März 2027, 09:00–16:00 Uhr\n" in h.last(anna).text
    assert "\nAnmeldeschluss: Fr., 5. März 2027, 09:00 Uhr\n" in h.last(anna).text


@pytest.mark.usefixtures("agencies")
async def test_the_guided_dialog_asks_each_step_as_a_whole_question(h):
    (intro, first) = await h.send(BOSS, "/kurs_neu")
    (second,) = await h.send(BOSS, "Gemeinsamer Kontrolltag")
    (third,) = await h.send(BOSS, "15.04.2027 08:00")

    assert intro.text.startswith("Legen wir einen Kurs an.")
    assert first.text == "Schritt 1 von 9: Wie lautet der Titel des Kurses?"
    assert second.text == "Schritt 2 von 9: Wann beginnt der Kurs? (TT.MM.JJJJ HH:MM)"
    assert third.text == "Schritt 3 von 9: Wann endet der Kurs? (TT.MM.JJJJ HH:MM)"


@pytest.mark.usefixtures("agencies")
async def test_an_unknown_line_in_a_form_is_an_unknown_field(h):
    form = (
        "/kurs_neu\nTitel: Gemeinsamer Kontrolltag\nBeginn: 15.04.2027 08:00\n"
        "Ende: 15.04.2027 16:00\nOrt: Plauen\nAnmeldeschluss: 01.04.2027\n"
        "Plätze: PP-OFR=10\nRaum: 3.14"
    )

    (answer,) = await h.send(BOSS, form)

    assert answer.text == (
        "Der Kurs wurde nicht angelegt:\n• Zeile 7 (Formular): unbekanntes Feld: „Raum: 3.14“"
    )


async def test_admin_rights_are_given_and_taken_back_as_rights_not_as_a_title(h, db, agencies):
    lea = user("Lea")
    await h.join(lea, agencies["PD-Z"].access_code, "Lea Leitung")

    (given,) = await h.send(BOSS, f"/admin_neu {lea['id']}")
    (listed,) = await h.send(BOSS, "/personen Lea")
    (taken,) = await h.send(BOSS, f"/admin_entfernen {lea['id']}")

    assert given.text == "Lea Leitung hat jetzt Administratorrechte."
    assert listed.text.endswith(f"id {lea['id']} · Administratorrechte")
    assert taken.text == "Lea Leitung hat keine Administratorrechte mehr."
    assert db.call(people.find_by_telegram_id, lea["id"]).is_admin is False
