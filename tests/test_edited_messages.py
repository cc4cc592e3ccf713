"""An edited message is never acted on: not as a command, not as an answer in a dialog.

Telegram sends an edit as an update of its own; the bot answers it once, in one line, that
the corrected text should be sent as a new message, and changes nothing (PRODUCT.md §9).
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select
from telegram.ext import CommandHandler, ConversationHandler

from bot.handlers import course_dialog, onboarding
from kurse.models import Course
from tests import builders
from tests.harness import user

BOSS = 4242  # bootstrap admin (KURSBOT_ADMIN_IDS)
NOTICE_DE = (
    "Bearbeitete Nachrichten liest Kursbot nicht: Bitte senden Sie den korrigierten Text als "
    "neue Nachricht."
)
NOTICE_EN = (
    "Kursbot does not read edited messages: please send the corrected text as a new message."
)

FORM = """/kurs_neu
Titel: Gemeinsamer Kontrolltag
Beginn: 12.03.2027 09:00
Ende: 12.03.2027 16:00
Ort: Hof
Anmeldeschluss: 01.03.2027
Plätze: PP-OFR=10, PD-Z=8"""

# Every command the bot knows, each with arguments that would change something (or, on the
# unchanged code, crash) if the edit were acted on. {code}: a course, {lead}: an officer.
COMMANDS = {
    "start": "/start {access}",
    "kurse": "/kurse",
    "meine": "/meine",
    "profil": "/profil\nName: Berta Neuname",
    "sprache": "/sprache",
    "hilfe": "/hilfe",
    "help": "/help",
    "abbrechen": "/abbrechen",
    "kurs_neu": FORM,
    "kurs_bearbeiten": "/kurs_bearbeiten {code}\nOrt: Plauen",
    "kurs_absagen": "/kurs_absagen {code} Dozent krank",
    "kontingent": "/kontingent {code} PP-OFR=1 PD-Z=1",
    "kursleitung": "/kursleitung {code} {lead}",
    "dienststellen": "/dienststellen",
    "dienststelle_neu": "/dienststelle_neu PI-XY Polizeiinspektion XY, Bayern",
    "zugangscode": "/zugangscode PP-OFR",
    "admin_neu": "/admin_neu {lead}",
    "admin_entfernen": "/admin_entfernen {lead}",
    "personen": "/personen Lea",
    "protokoll": "/protokoll",
    "status": "/status",
    "statistik": "/statistik 2027",
    "bericht": "/bericht 2027",
    "teilnehmer": "/teilnehmer {code}",
    "mitteilungen": "/mitteilungen aus",
    "meine_daten": "/meine_daten",
    "daten_loeschen": "/daten_loeschen",
    "datenschutz": "/datenschutz",
    "privacy": "/privacy",
    "genehmigung_neu": "/genehmigung_neu PD-Z {lead}",
    "genehmigung_entfernen": "/genehmigung_entfernen PD-Z {lead}",
    "dienststelle_genehmigung": "/dienststelle_genehmigung PD-Z an",
    "genehmigungen": "/genehmigungen",
    "ablehnen": "/ablehnen 1 Dienstplan",
    # the English names (bot/commands.py)
    "courses": "/courses",
    "my": "/my",
    "profile": "/profile\nName: Berta Newname",
    "language": "/language",
    "cancel": "/cancel",
    "newcourse": FORM.replace("/kurs_neu", "/newcourse"),
    "editcourse": "/editcourse {code}\nLocation: Plauen",
    "cancelcourse": "/cancelcourse {code} lecturer ill",
    "quota": "/quota {code} PP-OFR=1 PD-Z=1",
    "lead": "/lead {code} {lead}",
    "agencies": "/agencies",
    "newagency": "/newagency PI-XY Polizeiinspektion XY, Bayern",
    "accesscode": "/accesscode PP-OFR",
    "newadmin": "/newadmin {lead}",
    "removeadmin": "/removeadmin {lead}",
    "people": "/people Lea",
    "log": "/log",
    "stats": "/stats 2027",
    "report": "/report 2027",
    "participants": "/participants {code}",
    "notifications": "/notifications off",
    "mydata": "/mydata",
    "deletedata": "/deletedata",
    "newapprover": "/newapprover PD-Z {lead}",
    "removeapprover": "/removeapprover PD-Z {lead}",
    "agencyapproval": "/agencyapproval PD-Z on",
    "approvals": "/approvals",
    "refuse": "/refuse 1 duty roster",
    # attendance and certificates (issue 18)
    "anwesenheit": "/anwesenheit {code}",
    "attendance": "/attendance {code}",
    "anwesenheit_entsperren": "/anwesenheit_entsperren {code}",
    "unlockattendance": "/unlockattendance {code}",
    "anwesenheit_abschliessen": "/anwesenheit_abschliessen {code}",
    "closeattendance": "/closeattendance {code}",
    "pruefen": "/pruefen ABCDE-FGHJK",
    "verify": "/verify ABCDE-FGHJK",
    "bescheinigung": "/bescheinigung",
    "certificates": "/certificates",
    "checkin": "/checkin {code}",
}


@pytest.fixture
def boss():
    return {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}


def command_names(handlers) -> set[str]:
    """Every command name the application's handlers answer (dialogs included)."""
    names: set[str] = set()
    for handler in handlers:
        if isinstance(handler, ConversationHandler):
            inner = [*handler.entry_points, *handler.fallbacks]
            inner += [h for state in handler.states.values() for h in state]
            names |= command_names(inner)
        elif isinstance(handler, CommandHandler):
            names |= set(handler.commands)
    return names


def dialog_states(handlers) -> set[tuple[str, int]]:
    """(dialog name, state) of every state a user can be in (the timeout is not one)."""
    return {
        (handler.name, state)
        for handler in handlers
        if isinstance(handler, ConversationHandler)
        for state in handler.states
        if state != ConversationHandler.TIMEOUT
    }


def errors_logged(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "kursbot.errors"]


async def test_every_command_the_bot_knows_is_tested_as_an_edit(h):
    registered = command_names(h.app.handlers[0])

    assert registered == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(COMMANDS))
async def test_an_edited_command_changes_nothing_and_is_answered_with_one_line(
    h, db, clock, boss, agencies, caplog, command
):
    await h.join(boss, agencies["PP-OFR"].access_code, "Chefin Beispiel")
    lead = user("Lea")
    await h.join(lead, agencies["PD-Z"].access_code, "Lea Leitung")
    course = builders.course(db, clock.now())
    await h.send(boss, "/hilfe")  # the message the boss then edits
    text = COMMANDS[command].format(
        access=agencies["PP-OFR"].access_code, code=course.code, lead=lead["id"]
    )
    before, sent_before = builders.snapshot(db), len(h.api.calls)

    answer = await h.edit(boss, text)

    assert [m.text for m in answer] == [NOTICE_DE]
    assert builders.snapshot(db) == before
    assert [name for name, _ in h.api.calls[sent_before:]] == ["sendMessage"]  # nobody else told
    assert errors_logged(caplog) == []


async def test_an_edited_form_creates_no_second_course(h, db, boss, agencies):
    await h.join(boss, agencies["PP-OFR"].access_code, "Chefin Beispiel")
    created = await h.send(boss, FORM)

    answer = await h.edit(boss, FORM.replace("Ort: Hof", "Ort: Hof, Polizeiinspektion"))

    assert created[0].text.startswith("Kurs <b>K-2027-001</b> angelegt")
    assert [m.text for m in answer] == [NOTICE_DE]
    with db.transaction(readonly=True) as session:
        assert session.scalars(select(Course.location)).all() == ["Hof"]


async def test_the_notice_comes_once_per_edited_message_in_the_language_chosen_in_the_bot(
    h, agencies
):
    anna = user("Anna", language="de")
    await h.join(anna, agencies["PP-OFR"].access_code, "Anna Beispiel")
    await h.send(anna, "/sprache")
    await h.press(anna, "English")
    await h.send(anna, "/meine")
    first_id = h.typed_id(anna)

    answers = [await h.edit(anna, f"/meine {n}", first_id) for n in range(3)]
    await h.send(anna, "/hilfe")
    answer_other = await h.edit(anna, "/kurse")

    assert [[m.text for m in a] for a in answers] == [[NOTICE_EN], [], []]
    assert [m.text for m in answer_other] == [NOTICE_EN]


async def test_an_edit_from_someone_who_has_not_joined_is_not_acted_on_either(h, db, agencies):
    newcomer = user("Neu")
    await h.send(newcomer, "/start 1234")
    before = builders.snapshot(db)

    answer = await h.edit(newcomer, f"/start {agencies['PP-OFR'].access_code}")

    assert [m.text for m in answer] == [NOTICE_DE]
    assert builders.snapshot(db) == before


# Every state of every dialog: how to get there, then an answer the state would take.
JOIN_STEPS = {
    onboarding.CODE: ([], "{access}"),
    onboarding.NAME: (["{access}"], "Anna Beispiel"),
    onboarding.RANK: (["{access}", "Anna Beispiel"], "POK"),
    onboarding.CONSENT: (["{access}", "Anna Beispiel", "POK"], "Zur Kenntnis genommen"),
}
# The guided /kurs_neu: typed answers (str) and pressed buttons ("press:label").
COURSE_ANSWERS = [
    "Gemeinsamer Kontrolltag",
    "15.04.2027 08:00",
    "15.04.2027 16:00",
    "Plauen",
    "01.04.2027",
    "press:PP-OFR: 0",
    "6",
    "press:Fertig",
    "press:Überspringen",
    "press:Überspringen",
    "press:Kurstage ändern",
    "15.04.2027 08:00-12:00; 16.04.2027 09:00-12:00",
]
COURSE_STEPS = {
    course_dialog.TITLE: 0,
    course_dialog.START: 1,
    course_dialog.END: 2,
    course_dialog.LOCATION: 3,
    course_dialog.DEADLINE: 4,
    course_dialog.SEATS: 5,
    course_dialog.SEAT_NUMBER: 6,
    course_dialog.LEAD: 8,
    course_dialog.DESCRIPTION: 9,
    course_dialog.CONFIRM: 10,
    course_dialog.DAYS: 11,
}
STATES = [("joining", s) for s in sorted(JOIN_STEPS)] + [
    ("new_course", s) for s in sorted(COURSE_STEPS)
]


async def test_every_dialog_state_is_tested_with_an_edit(h):
    assert dialog_states(h.app.handlers[0]) == set(STATES)


async def _answer(h, who, answer: str):
    if answer.startswith("press:"):
        return await h.press(who, answer.removeprefix("press:"))
    return await h.send(who, answer)


@pytest.mark.parametrize(("dialog", "state"), STATES)
async def test_an_edit_in_a_dialog_changes_nothing_and_the_dialog_goes_on_from_the_same_step(
    h, db, boss, agencies, caplog, dialog, state
):
    if dialog == "joining":
        who, access = user("Anna"), agencies["PP-OFR"].access_code
        answers = [a.format(access=access) for a in JOIN_STEPS[onboarding.CONSENT][0]]
        answers.append("press:Zur Kenntnis genommen")
        await h.send(who, "/start")
        done = len(JOIN_STEPS[state][0])
    else:
        who, answers = boss, [*COURSE_ANSWERS, "press:Kurs anlegen"]
        await h.send(who, "/kurs_neu")
        done = COURSE_STEPS[state]
    for answer in answers[:done]:
        await _answer(h, who, answer)
    before, sent_before = builders.snapshot(db), len(h.api.calls)

    notice = await h.edit(who, answers[done].removeprefix("press:"))

    assert [m.text for m in notice] == [NOTICE_DE]
    assert builders.snapshot(db) == before
    assert [name for name, _ in h.api.calls[sent_before:]] == ["sendMessage"]
    assert errors_logged(caplog) == []
    for answer in answers[done:]:  # the dialog takes the rest as if there had been no edit
        await _answer(h, who, answer)
    done_text = "Willkommen, Anna Beispiel!" if dialog == "joining" else "Kurs <b>K-2027-001</b>"
    assert any((m.text or "").startswith(done_text) for m in h.api.messages(who["id"]))
