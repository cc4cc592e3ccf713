"""Officers' flows through the real Application, its handlers and the database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from telegram.error import BadRequest

from bot.context import Services
from bot.handlers.common import answer
from bot.handlers.notify import Digest
from bot.i18n import texts
from bot.jobs import run_due_work
from kurse import courses, people
from kurse import registrations as regs
from kurse.config import Settings
from kurse.db import Database
from kurse.invariants import invariant_violations
from kurse.models import Registration
from kurse.registration_lists import participants, person_registrations
from tests import builders
from tests.harness import eventually, start_harness, stop_harness, user

ADMIN_ID = 4242


def registrations_in(db) -> int:
    with db.transaction(readonly=True) as session:
        return session.scalar(select(func.count()).select_from(Registration))


async def joined(h, agencies, code="PP-OFR", name="Anna Beispiel", language="de"):
    who = user(name.split()[0], language)
    await h.join(who, agencies[code].access_code, name)
    return who


async def open_page(h, who, course):
    """``who`` opens the course's page from /kurse; returns the page message."""
    await h.send(who, "/kurse")
    await h.press(who, course.title[:20])
    return h.last(who)


@pytest.mark.usefixtures("agencies")
async def test_someone_who_has_not_joined_sees_no_course_data(h, db, clock):
    builders.course(db, clock.now())
    stranger = user()

    answers = await h.send(stranger, "/kurse")

    assert [a.text for a in answers] == [
        "Bitte registrieren Sie sich zuerst mit dem Zugangscode Ihrer Dienststelle: "
        "Senden Sie /start."
    ]


async def test_a_command_in_the_middle_of_joining_points_back_to_the_open_question(
    h, db, clock, agencies
):
    builders.course(db, clock.now())
    anna = user("Anna")
    await h.send(anna, f"/start {agencies['PD-Z'].access_code}")

    answer = await h.send(anna, "/kurse")
    named = await h.send(anna, "Anna Beispiel")  # the dialog goes on where it was

    assert answer[0].text.startswith("Sie sind mitten in der Registrierung: Bitte beantworten Sie")
    assert named[0].text.startswith("Bitte senden Sie Ihren Dienstgrad")


async def test_an_officer_joins_with_the_deep_link_name_rank_and_the_privacy_information(
    h, db, clock, agencies
):
    anna = user("Anna")

    first = await h.send(anna, f"/start {agencies['PD-Z'].access_code}")
    await h.send(anna, "Anna Beispiel")
    notice = (await h.send(anna, "PHK"))[0].text
    await h.press(anna, "Zur Kenntnis genommen")

    assert "Polizeidirektion Zwickau" in first[0].text
    assert notice.startswith(
        "<b>Informationen zur Verarbeitung Ihrer personenbezogenen Daten (Art. 13 DSGVO)"
    )
    assert "90 Tage" in notice
    assert "nicht auf einer Einwilligung" in notice
    assert (
        "Bitte bestätigen Sie, dass Sie diese Information zur Kenntnis genommen haben." in notice
    )
    assert h.last(anna).text.startswith("Willkommen, Anna Beispiel!")
    person = db.call(people.find_by_telegram_id, anna["id"])
    assert person.consent_at == clock.now()  # when the information was acknowledged
    assert (person.name, person.rank, person.agency_id, person.language) == (
        "Anna Beispiel",
        "PHK",
        agencies["PD-Z"].id,
        "de",
    )


async def test_joining_with_a_typed_code_and_skipping_the_rank(h, db, agencies):
    ben = user("Ben", "en")

    await h.send(ben, "/start")
    wrong = await h.send(ben, "AAAA-BBBB-CC")
    await h.send(ben, agencies["PP-OFR"].access_code.lower())
    await h.send(ben, "Ben Example")
    await h.press(ben, "Skip")
    await h.press(ben, "Noted")

    assert wrong[0].text.startswith("This access code is not valid")
    person = db.call(people.find_by_telegram_id, ben["id"])
    assert (person.rank, person.language) == (None, "en")


async def test_five_wrong_codes_slow_the_account_down_for_15_minutes(h, clock, agencies):
    eve = user("Eve")
    await h.send(eve, "/start")
    for _ in range(5):
        await h.send(eve, "ACDE-FGHJ-KM")

    blocked = await h.send(eve, agencies["PP-OFR"].access_code)
    clock.advance(timedelta(minutes=16))
    accepted = await h.send(eve, agencies["PP-OFR"].access_code)

    assert blocked[0].text.startswith("Zu viele falsche Zugangscodes")
    assert accepted[0].text.startswith("Dienststelle: <b>Polizeipräsidium Oberfranken</b>")


async def test_a_name_of_10000_characters_is_refused_and_the_dialog_goes_on(h, db, agencies):
    anna = user()
    await h.send(anna, f"/start {agencies['PP-OFR'].access_code}")

    refused = await h.send(anna, "A" * 10_000)
    await h.send(anna, "Anna Beispiel")
    await h.send(anna, "POK")
    await h.press(anna, "Zur Kenntnis genommen")

    assert refused[0].text == "Das ist zu lang: bitte höchstens 100 Zeichen."
    assert db.call(people.find_by_telegram_id, anna["id"]).name == "Anna Beispiel"


async def test_course_list_shows_seats_left_for_the_officers_own_agency(h, db, clock, agencies):
    course = builders.course(
        db, clock.now(), {"PP-OFR": 1, "PD-Z": 3}, title="Gemeinsame Fahndung", location="Hof"
    )
    anna = await joined(h, agencies, "PD-Z")

    answer = await h.send(anna, "/kurse")

    assert answer[0].text.startswith("<b>Offene Kurse</b> (Seite 1 von 1)")
    start = texts("de").when(course.start_at)
    assert f"<b>Gemeinsame Fahndung</b> ({course.code})\n{start} – " in answer[0].text
    assert answer[0].text.endswith(" · Hof · 3 Plätze frei")  # dates, place, own seats
    assert answer[0].button_texts()[0].endswith("Gemeinsame Fahndung · 3 Plätze frei")


async def test_signing_up_confirms_edits_the_page_and_sends_the_calendar_file(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 2, "PD-Z": 2})
    anna = await joined(h, agencies)
    page = await open_page(h, anna, course)

    answers = await h.press(anna, "Anmelden")

    assert (
        h.alerts()[-1]
        == "✅ Sie sind angemeldet. Den Kalendereintrag erhalten Sie in einer eigenen Nachricht."
    )
    assert "✅ Sie sind angemeldet." in page.text
    assert page.edits == 2
    assert page.button_texts() == ["Abmelden", "Kalender (.ics)", "« Zurück zur Liste"]
    assert len(answers) == 1  # the page says it all; the one new message is the calendar file
    name, ics = answers[0].document
    assert name == f"{course.code}.ics"
    assert b"BEGIN:VTIMEZONE" in ics
    assert b"TZID:Europe/Berlin" in ics
    assert b"UID:kursbot-registration-" in ics


async def test_a_full_course_puts_the_officer_on_the_waiting_list_with_the_position(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    first = await joined(h, agencies, name="Erste Person")
    second = await joined(h, agencies, name="Zweite Person")
    await h.send(first, "/kurse")
    await h.press(first, course.title[:20])
    await h.press(first, "Anmelden")
    await h.send(second, "/kurse")
    await h.press(second, course.title[:20])

    await h.press(second, "Auf die Warteliste")

    assert h.alerts()[-1].startswith("⏳ Die Plätze Ihrer Dienststelle sind vergeben.")
    assert "auf Position 1 der Warteliste" in h.alerts()[-1]
    assert (
        "⏳ Sie stehen auf der Warteliste, Position 1."
        in h.with_button(second, "Von der Warteliste abmelden").text
    )


async def test_cancelling_asks_first_and_promotes_the_next_officer_at_once_with_the_calendar(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    first = await joined(h, agencies, name="Erste Person")
    second = await joined(h, agencies, name="Zweite Person")
    for who in (first, second):
        await h.send(who, "/kurse")
        await h.press(who, course.title[:20])
        await h.press(who, "Anmelden" if who is first else "Auf die Warteliste")

    page = h.with_button(first, "Abmelden")
    await h.press(first, "Abmelden", page)
    asked = page.text
    await h.press(first, "Ja, abmelden", page)

    assert asked.startswith("Möchten Sie sich wirklich")
    assert h.last(first).text == f"Sie haben sich von <b>{course.title}</b> abgemeldet."
    assert page.button_texts()[0] == "Auf die Warteliste"  # the seat went to the next one

    def told() -> list:
        return [m for m in h.api.messages(second["id"]) if m.text and "🎉" in m.text]

    await eventually(lambda: bool(told()))  # the timed work tells them at once
    await run_due_work(h.app)  # and only once
    assert len(told()) == 1
    assert course.title in told()[0].text
    name, content = told()[0].document  # with the calendar entry, as a sign-up gets it
    assert name == f"{course.code}.ics"
    assert b"STATUS:CONFIRMED" in content


async def test_two_clicks_on_sign_up_make_one_registration_and_say_so(h, db, clock, agencies):
    course = builders.course(db, clock.now())
    anna = await joined(h, agencies)
    page = await open_page(h, anna, course)
    data = page.button("Anmelden")["callback_data"]

    await h.press_data(anna, data, page)
    again = await h.press_data(anna, data, page)

    assert h.alerts()[-1] == "Sie sind für diesen Kurs bereits angemeldet."
    assert again == []  # no second calendar file
    assert registrations_in(db) == 1


@pytest.mark.parametrize(
    "data", ["su:999999", "garbage", "su:1:2:3", "x" * 65, "su:-1", "cxy:abc", "", "lang:fr"]
)
async def test_forged_or_broken_button_data_changes_nothing(h, db, clock, agencies, data):
    builders.course(db, clock.now())
    anna = await joined(h, agencies)
    await h.send(anna, "/kurse")
    message = h.last(anna)

    await h.press_data(anna, data, message)

    assert registrations_in(db) == 0
    stale = (
        "Diese Schaltfläche ist nicht mehr gültig. Bitte öffnen Sie die Liste mit /kurse erneut."
    )
    told = [*h.alerts()[-1:], h.last(anna).text]
    assert stale in told or "Diesen Kurs gibt es nicht (mehr)." in told


async def test_cancelling_someone_elses_course_registration_is_refused(h, db, clock, agencies):
    course = builders.course(db, clock.now())
    anna = await joined(h, agencies, name="Anna Beispiel")
    mallory = await joined(h, agencies, name="Mallory Muster")
    await open_page(h, anna, course)
    await h.press(anna, "Anmelden")
    await h.send(mallory, "/kurse")
    page = h.last(mallory)

    answers = await h.press_data(mallory, f"cxy:{course.id}:0", page)

    assert answers[-1].text == "Sie sind für diesen Kurs nicht angemeldet."
    assert db.call(person_registrations, 1, clock.now()) == [] or registrations_in(db) == 1


async def test_a_course_cancelled_while_its_page_is_open_cannot_be_joined(h, db, clock, agencies):
    course = builders.course(db, clock.now())
    anna = await joined(h, agencies)
    await open_page(h, anna, course)
    db.call(courses.cancel_course, course.id, clock.now(), reason="Hochwasser")

    answers = await h.press(anna, "Anmelden")

    assert answers[-1].text == "Dieser Kurs wurde abgesagt."
    assert registrations_in(db) == 0


async def test_after_the_deadline_the_officer_is_told_whom_to_contact(h, db, clock, agencies):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), lead_id=lead.id)
    anna = await joined(h, agencies)
    await open_page(h, anna, course)
    clock.set(course.registration_deadline + timedelta(minutes=1))

    answers = await h.press(anna, "Anmelden")

    assert answers[-1].text == (
        "Der Anmeldeschluss für diesen Kurs ist überschritten. "
        "Bitte wenden Sie sich an die Kursleitung, Lea Leitung."
    )


async def test_my_registrations_list_confirmed_and_waiting_with_positions(h, db, clock, agencies):
    full = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1}, title="Kurs Eins")
    other = builders.course(db, clock.now(), title="Kurs Zwei")
    holder = builders.officer(db, agencies["PP-OFR"], clock.now())
    db.call(regs.sign_up, full.id, holder.id, clock.now())
    anna = await joined(h, agencies)
    person = db.call(people.find_by_telegram_id, anna["id"])
    db.call(regs.sign_up, full.id, person.id, clock.now())
    db.call(regs.sign_up, other.id, person.id, clock.now())

    answer = await h.send(anna, "/meine")
    clock.set(other.cancellation_deadline)
    later = await h.send(anna, "/meine")

    deadline = texts("de").short(other.cancellation_deadline)
    assert "Kurs Eins – Warteliste, Position 1" in answer[0].text
    assert f"Kurs Zwei – angemeldet (Abmeldung bis {deadline} möglich)" in answer[0].text
    assert "Kurs Zwei – angemeldet (Abmeldung jetzt nur über die Kursleitung)" in later[0].text


async def test_the_language_changes_to_english_and_stays(h, db, agencies):
    anna = await joined(h, agencies)

    await h.send(anna, "/sprache")
    choice = h.with_button(anna, "English")
    await h.press(anna, "English", choice)
    answer = await h.send(anna, "/meine")

    assert choice.text == "From now on I speak English with you."
    assert answer[0].text.startswith("You are not registered for any course.")
    assert db.call(people.find_by_telegram_id, anna["id"]).language == "en"


async def test_unknown_commands_and_stray_text_get_a_hint(h, agencies):
    anna = await joined(h, agencies)

    unknown = await h.send(anna, "/gibtsnicht")
    stray = await h.send(anna, "x" * 10_000)

    assert unknown[0].text.startswith("Diesen Befehl kenne ich nicht.")
    assert stray[0].text.startswith("Bitte nutzen Sie die Befehle")


async def test_the_command_menu_is_set_in_german_and_english(h):
    assert [c["command"] for c in h.api.commands[""]] == [
        "kurse",
        "meine",
        "profil",
        "sprache",
        "hilfe",
    ]
    assert h.api.commands[""][0]["description"] == "Offene Kurse"
    assert h.api.commands["en"][0]["description"] == "Open courses"


async def test_a_promoted_officer_who_blocked_the_bot_is_marked_inactive(h, db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    first = await joined(h, agencies, name="Erste Person")
    gone = await joined(h, agencies, name="Weg Person")
    for who in (first, gone):
        await h.send(who, "/kurse")
        await h.press(who, course.title[:20])
        await h.press(who, "Anmelden" if who is first else "Auf die Warteliste")
    h.api.blocked.add(gone["id"])

    await h.press(first, "Abmelden")
    await h.press(first, "Ja, abmelden")

    await eventually(lambda: not db.call(people.find_by_telegram_id, gone["id"]).active)
    statuses = db.call(participants, course.id, clock.now())
    assert [p.name for p in statuses.confirmed["PP-OFR"]] == ["Weg Person"]


async def test_a_database_failure_gets_an_apology_and_the_admins_are_told(clock, tmp_path):
    broken = Database(f"sqlite:///{tmp_path}/missing/folder/kursbot.db")
    settings = Settings(_env_file=None, kursbot_admin_ids=(ADMIN_ID,))
    harness = await start_harness(Services(broken, clock, settings))
    anna = user()

    answer = await harness.send(anna, "/meine")

    await stop_harness(harness)
    broken.dispose()
    assert [a.text for a in answer] == [
        "Entschuldigung, da ist etwas schiefgegangen. Bitte versuchen Sie es gleich noch "
        "einmal; die Administration ist informiert."
    ]
    assert harness.api.messages(ADMIN_ID)[-1].text.startswith("⚠️ Kursbot: OperationalError")


async def test_100_officers_pressing_sign_up_at_once_keep_every_invariant(h, db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 5, "PD-Z": 5})
    officers = []
    for i in range(100):
        agency = agencies["PP-OFR" if i % 2 else "PD-Z"]
        person = builders.officer(
            db, agency, clock.now(), name=f"Officer {i}", telegram_id=900_000 + i
        )
        officers.append(
            (
                {
                    "id": person.telegram_id,
                    "is_bot": False,
                    "first_name": "O",
                    "language_code": "de",
                },
                person,
            )
        )
    page = None
    presses = []
    for who, _person in officers:
        await h.send(who, "/kurse")
        await h.press(who, course.title[:20])
        page = h.with_button(who, "Zurück zur Liste")
        presses.append(h.api.button_press(who, page, page.button("Anmelden")["callback_data"]))

    await h.feed(presses)

    assert db.call(invariant_violations, course.id, clock.now()) == []
    listing = db.call(participants, course.id, clock.now())
    assert {k: len(v) for k, v in listing.confirmed.items()} == {"PD-Z": 5, "PP-OFR": 5}
    assert len(listing.waiting) == 90
    told = [answer["text"] for answer in h.api.callback_answers[-100:]]
    assert sum(t.startswith("✅ Sie sind angemeldet") for t in told) == 10
    assert sum(t.startswith("⏳ Die Plätze Ihrer Dienststelle") for t in told) == 90
    for who, _person in officers:  # each page shows the officer's place and the way out
        page = h.with_button(who, "Zurück zur Liste")
        assert ("✅ Sie sind angemeldet." in page.text and "Abmelden" in page.button_texts()) or (
            "⏳ Sie stehen auf der Warteliste" in page.text
            and "Von der Warteliste abmelden" in page.button_texts()
        )


async def test_one_users_fast_messages_are_handled_in_the_order_sent(h, db, agencies):
    anna = user("Anna")

    await h.feed(
        [
            h.api.user_message(anna, f"/start {agencies['PP-OFR'].access_code}"),
            h.api.user_message(anna, "Anna Schnell"),
            h.api.user_message(anna, "KOK"),
        ]
    )
    await h.press(anna, "Zur Kenntnis genommen")

    person = db.call(people.find_by_telegram_id, anna["id"])
    assert (person.name, person.rank) == ("Anna Schnell", "KOK")


async def test_a_button_under_a_message_deleted_meanwhile_still_shows_the_outcome(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now())
    anna = await joined(h, agencies)
    await open_page(h, anna, course)
    page = h.with_button(anna, "Anmelden")
    h.api.chats[anna["id"]].remove(page)  # Anna deleted the message; Telegram cannot edit it

    answers = await h.press(anna, "Anmelden", page)

    texts = [a.text or "" for a in answers]
    assert any(
        t.startswith(f"<b>{course.title}</b>") and "Sie sind angemeldet" in t for t in texts
    )
    assert not any("schiefgegangen" in t for t in texts)  # no apology for what worked
    person = db.call(people.find_by_telegram_id, anna["id"])
    (mine,) = db.call(person_registrations, person.id, clock.now())
    assert mine.status == "confirmed"


async def test_someone_who_has_not_joined_pressing_an_old_button_changes_nothing(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now())
    anna = await joined(h, agencies)
    page = await open_page(h, anna, course)
    stranger = user("Fremd")

    await h.press_data(stranger, page.button("Anmelden")["callback_data"], page)

    assert h.alerts()[-1].startswith("Bitte registrieren Sie sich zuerst")
    assert registrations_in(db) == 0


async def test_an_old_consent_button_after_joining_is_answered_as_stale(h, db, agencies):
    anna = user()
    await h.send(anna, f"/start {agencies['PP-OFR'].access_code}")
    await h.send(anna, "Anna Beispiel")
    await h.send(anna, "POK")
    consent = h.with_button(anna, "Zur Kenntnis genommen")
    await h.press(anna, "Zur Kenntnis genommen", consent)

    await h.press_data(anna, "agree", consent)

    assert h.alerts()[-1].startswith("Diese Schaltfläche ist nicht mehr gültig")
    with db.transaction(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(people.Person)) == 1


async def test_during_an_outage_the_admins_get_one_report_and_then_one_summary(clock, tmp_path):
    broken = Database(f"sqlite:///{tmp_path}/missing/folder/kursbot.db")
    settings = Settings(_env_file=None, kursbot_admin_ids=(ADMIN_ID,))
    harness = await start_harness(Services(broken, clock, settings))
    harness.app.bot_data["error_digest"] = Digest(window=0.5, max_lines=40)
    officers = [user(f"O{i}") for i in range(60)]

    try:
        await harness.feed([harness.api.user_message(who, "/meine") for who in officers])
        at_once = [m.text for m in harness.api.messages(ADMIN_ID)]
        await asyncio.sleep(1.0)  # the window is over
        later = [m.text for m in harness.api.messages(ADMIN_ID)]
    finally:
        await stop_harness(harness)
        broken.dispose()

    assert len(at_once) == 1
    assert at_once[0].startswith("⚠️ Kursbot: OperationalError")
    assert len(later) == 2
    assert later[1].count("⚠️ Kursbot: OperationalError") == 40
    assert later[1].endswith("… und 19 weitere")
    apologies = [harness.api.messages(who["id"])[-1].text for who in officers]
    assert all(text.startswith("Entschuldigung") for text in apologies)


async def test_an_officer_corrects_name_and_rank_with_profil_lines(h, db, agencies):
    anna = await joined(h, agencies, name="Ana Beispiel")

    shown = await h.send(anna, "/profil")
    await h.send(anna, "/profil Name: Anna Beispiel")
    saved = await h.send(anna, "/profil\nname: Anna Beispiel\nDienstgrad: KOK")
    cleared = await h.send(anna, "/profil Dienstgrad: -")

    assert "/profil Name: Vorname Nachname" in shown[0].text
    assert saved[0].text.startswith("Gespeichert.\n<b>Ihr Profil</b>\nName: Anna Beispiel")
    assert "Dienstgrad: KOK" in saved[0].text
    assert "Dienstgrad: –" in cleared[0].text
    person = db.call(people.find_by_telegram_id, anna["id"])
    assert (person.name, person.rank) == ("Anna Beispiel", None)


@pytest.mark.parametrize(
    ("lines", "answer"),
    [
        ("Dienststelle: PD-Z", "So ändern Sie Ihre Angaben: /profil Name: Vorname Nachname"),
        ("Name: A", "Das ist zu kurz"),
        ("Name: " + "x" * 10_000, "Das ist zu lang"),
        ("Name: Anna\x00Beispiel", "Bitte senden Sie einfachen Text"),
    ],
)
async def test_a_wrong_profil_line_changes_nothing_and_says_why(h, db, agencies, lines, answer):
    anna = await joined(h, agencies, name="Anna Beispiel")

    reply = await h.send(anna, f"/profil {lines}")

    assert reply[0].text.startswith(answer)
    person = db.call(people.find_by_telegram_id, anna["id"])
    assert (person.name, person.rank) == ("Anna Beispiel", "POK")


async def test_abbrechen_outside_a_dialog_says_there_is_nothing_to_cancel(h, agencies):
    anna = await joined(h, agencies)
    stranger = user("Fremd")

    answers = [(await h.send(who, "/abbrechen"))[0].text for who in (anna, stranger)]

    assert answers == ["Gerade gibt es nichts abzubrechen. /hilfe zeigt, was möglich ist."] * 2


async def test_a_press_too_old_to_answer_still_signs_up_and_shows_the_outcome(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now())
    anna = await joined(h, agencies)
    page = await open_page(h, anna, course)
    h.api.queries_expired = True  # pressed while the bot was down; answered after the restart

    answers = await h.press(anna, "Anmelden", page)

    texts = [a.text or "" for a in answers]
    assert (
        "✅ Sie sind angemeldet. Den Kalendereintrag erhalten Sie in einer eigenen Nachricht."
        in texts
    )  # as a message
    assert "Sie sind angemeldet." in page.text  # the page was edited all the same
    assert not any("schiefgegangen" in t for t in texts)
    person = db.call(people.find_by_telegram_id, anna["id"])
    (mine,) = db.call(person_registrations, person.id, clock.now())
    assert mine.status == "confirmed"


async def test_the_local_bot_api_refuses_html_telegram_would_refuse(h, agencies):
    anna = await joined(h, agencies)

    for text in ("a < b", "<b>open", "<b>x</i>", "<blink>x</blink>", "AT&T", "x" * 4097):
        with pytest.raises(BadRequest):
            await h.app.bot.send_message(anna["id"], text)
    await h.app.bot.send_message(anna["id"], "<b>a &lt; b</b> &amp; " + "x" * 4000)


async def test_a_course_page_too_long_once_escaped_is_cut_without_breaking_its_html(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now(), description="&" * 3000)
    anna = await joined(h, agencies)

    page = await open_page(h, anna, course)  # 3,000 characters, 15,000 once escaped

    assert page.text.startswith(f"<b>{course.title}</b>")
    assert page.text.endswith("…")
    assert len(page.text) <= 4096
    assert "schiefgegangen" not in page.text


async def test_a_button_answer_longer_than_telegram_shows_is_cut_not_refused(h, agencies):
    anna = await joined(h, agencies)
    page = h.api.show(anna["id"], "Seite", [[{"text": "Knopf", "callback_data": "x"}]])
    query = h.api.button_press(anna, page, "x").callback_query

    await answer(query, "Ä & B " * 60, show_alert=True)  # 360 characters

    sent = h.api.callback_answers[-1]["text"]
    assert len(sent) == 200
    assert sent.startswith("Ä & B Ä & B")
    assert sent.endswith("…")
