"""A restart, or the standby instance taking over, loses nothing a user typed.

Dialogs (joining, the guided /kurs_neu, a question waiting for its "Ja") and the access-code
lockout live in the database. "Restart" stops the Application and starts a new one on the
same database; "standby" runs a second Application on the same database at the same time,
started before the dialog began, as `docs/deployment.md` sets them up. Both talk to the same
local Bot API, as both instances talk to the same Telegram.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.jobs import run_due_work
from kurse import courses, people
from kurse import registrations as regs
from kurse.invariants import invariant_violations
from kurse.models import Course, Quota
from tests import builders
from tests.harness import Harness, eventually, start_harness, stop_harness, user

BOSS = 4242  # bootstrap admin (KURSBOT_ADMIN_IDS)
WRONG = "ACDE-FGHJ-KM"
LOCKED_15 = "Zu viele falsche Zugangscodes. Bitte versuchen Sie es in 15 Minuten erneut."


@pytest.fixture
def boss():
    return {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}


@pytest.fixture
async def standby(h: Harness) -> AsyncIterator[Harness]:
    """A second Application on the same database and Telegram, started before anything."""
    second = await start_harness(h.services, api=h.api)
    yield second
    await stop_harness(second)


async def restarted(h: Harness) -> Harness:
    """Stops the bot and starts it again on the same database and Telegram."""
    await stop_harness(h)
    return await start_harness(h.services, api=h.api)


async def act(h: Harness, who: dict, step: tuple[str, str]) -> list:
    """Types a text (``("send", text)``) or presses a button (``("press", label)``)."""
    kind, value = step
    return await (h.send(who, value) if kind == "send" else h.press(who, value))


def joining_steps(code: str, typed: bool) -> list[tuple[str, str]]:
    if typed:  # /start, then the code typed; the rank skipped
        return [
            ("send", "/start"),
            ("send", code),
            ("send", "Anna Beispiel"),
            ("press", "Überspringen"),
            ("press", "Zur Kenntnis genommen"),
        ]
    return [
        ("send", f"/start {code}"),
        ("send", "Anna Beispiel"),
        ("send", "POK"),
        ("press", "Zur Kenntnis genommen"),
    ]


# Where the restart falls: after the code, after the name, after the rank (the consent is
# open), and on the typed path after /start, after the code, after skipping the rank.
JOINING_RESTARTS = [
    pytest.param(False, 1, id="deep-link-after-code"),
    pytest.param(False, 2, id="deep-link-after-name"),
    pytest.param(False, 3, id="deep-link-after-rank-before-consent"),
    pytest.param(True, 1, id="typed-after-start"),
    pytest.param(True, 2, id="typed-after-code"),
    pytest.param(True, 4, id="typed-after-skipped-rank-before-consent"),
]


@pytest.mark.parametrize(("typed", "restart_after"), JOINING_RESTARTS)
async def test_joining_goes_on_after_a_restart_at_any_step(h, db, agencies, typed, restart_after):
    anna = user("Anna")
    steps = joining_steps(agencies["PD-Z"].access_code, typed)
    for step in steps[:restart_after]:
        await act(h, anna, step)

    h = await restarted(h)
    for step in steps[restart_after:]:
        await act(h, anna, step)

    assert h.last(anna).text.startswith("Willkommen, Anna Beispiel!")
    person = db.call(people.find_by_telegram_id, anna["id"])
    assert (person.name, person.rank, person.agency_id) == (
        "Anna Beispiel",
        None if typed else "POK",
        agencies["PD-Z"].id,
    )
    await stop_harness(h)


@pytest.mark.parametrize("typed", [False, True], ids=["deep-link", "typed"])
async def test_joining_answered_alternately_on_two_instances_joins_once(
    h, standby, db, agencies, typed
):
    anna = user("Anna")
    steps = joining_steps(agencies["PP-OFR"].access_code, typed)

    for i, step in enumerate(steps):
        if step == ("press", "Zur Kenntnis genommen"):  # as the chat showed it before the press
            consent = copy.deepcopy(h.with_button(anna, "Zur Kenntnis genommen"))
        await act(h if i % 2 == 0 else standby, anna, step)
    last = h if (len(steps) - 1) % 2 == 0 else standby
    other = standby if last is h else h  # the instance that did not take the "yes"
    await other.press(
        anna, "Zur Kenntnis genommen", consent
    )  # pressed again, on the other instance

    assert h.last(anna).text.startswith("Willkommen, Anna Beispiel!")
    assert other.alerts()[-1].startswith("Diese Schaltfläche ist nicht mehr gültig")
    person = db.call(people.find_by_telegram_id, anna["id"])
    assert person.agency_id == agencies["PP-OFR"].id


async def test_a_command_in_the_middle_of_joining_on_the_standby_points_back_to_the_question(
    h, standby, db, clock, agencies
):
    builders.course(db, clock.now())
    anna = user("Anna")
    await h.send(anna, f"/start {agencies['PD-Z'].access_code}")

    answer = await standby.send(anna, "/kurse")
    named = await standby.send(anna, "Anna Beispiel")

    assert answer[0].text.startswith("Sie sind mitten in der Registrierung")
    assert named[0].text.startswith("Bitte senden Sie Ihren Dienstgrad")


def course_dialog(lead_id: int) -> list[tuple[str, str]]:
    return [
        ("send", "/kurs_neu"),
        ("send", "Gemeinsamer Kontrolltag"),
        ("send", "15.04.2027 08:00"),
        ("send", "15.04.2027 16:00"),
        ("send", "Plauen"),
        ("send", "01.04.2027"),
        ("press", "PP-OFR: 0"),
        ("send", "6"),
        ("press", "PD-Z: 0"),
        ("send", "4"),
        ("press", "Fertig"),
        ("send", str(lead_id)),
        ("press", "Überspringen"),
        ("press", "Kurs anlegen"),
    ]


async def a_lead(h: Harness, agencies) -> dict:
    lead = user("Lea")
    await h.join(lead, agencies["PD-Z"].access_code, "Lea Leitung")
    return lead


def assert_the_course_was_created_once(db, lead: dict) -> None:
    with db.transaction(readonly=True) as session:
        created = session.scalars(select(Course)).all()
        seats = sorted(session.scalars(select(Quota.seats)).all())
    assert [(c.code, c.title, c.location) for c in created] == [
        ("K-2027-001", "Gemeinsamer Kontrolltag", "Plauen")
    ]
    assert created[0].lead_id == db.call(people.find_by_telegram_id, lead["id"]).id
    assert seats == [4, 6]


# In the middle (after the end date; with an agency picked and its number not yet typed) and
# at the summary, before "Kurs anlegen".
@pytest.mark.parametrize(
    "restart_after", [4, 7, 13], ids=["after-end", "agency-picked", "summary"]
)
async def test_the_guided_course_dialog_goes_on_after_a_restart(
    h, db, boss, agencies, restart_after
):
    lead = await a_lead(h, agencies)
    steps = course_dialog(lead["id"])
    for step in steps[:restart_after]:
        await act(h, boss, step)

    h = await restarted(h)
    for step in steps[restart_after:]:
        await act(h, boss, step)

    assert h.last(boss).text.startswith("Kurs <b>K-2027-001</b> angelegt: Gemeinsamer Kontrolltag")
    assert_the_course_was_created_once(db, lead)
    await stop_harness(h)


async def test_the_guided_course_dialog_answered_alternately_on_two_instances_creates_one_course(
    h, standby, db, boss, agencies
):
    lead = await a_lead(h, agencies)

    for i, step in enumerate(course_dialog(lead["id"])):
        await act(h if i % 2 == 0 else standby, boss, step)

    assert h.last(boss).text.startswith("Kurs <b>K-2027-001</b> angelegt: Gemeinsamer Kontrolltag")
    assert_the_course_was_created_once(db, lead)


async def test_five_wrong_codes_on_one_instance_lock_the_account_on_the_other(
    h, standby, clock, agencies
):
    eve = user("Eve")
    code = agencies["PP-OFR"].access_code
    await h.send(eve, "/start")
    for _ in range(5):
        await h.send(eve, WRONG)

    refused = await standby.send(eve, f"/start {code}")
    clock.advance(timedelta(minutes=14))
    still = await standby.send(eve, f"/start {code}")
    clock.advance(timedelta(minutes=2))
    accepted = await standby.send(eve, f"/start {code}")

    assert refused[0].text == LOCKED_15
    assert still[0].text.startswith("Zu viele falsche Zugangscodes")
    assert accepted[0].text.startswith("Dienststelle: <b>Polizeipräsidium Oberfranken</b>")


async def test_a_restart_does_not_reset_the_access_code_lockout(h, agencies):
    eve = user("Eve")
    await h.send(eve, "/start")
    for _ in range(3):
        await h.send(eve, WRONG)
    h = await restarted(h)
    for _ in range(2):
        await h.send(eve, WRONG)

    refused = await h.send(eve, agencies["PP-OFR"].access_code)

    assert refused[0].text.startswith("Zu viele falsche Zugangscodes")
    await stop_harness(h)


async def test_a_dialog_is_forgotten_half_an_hour_after_its_last_answer(h, db, clock, agencies):
    anna = user("Anna")
    await h.send(anna, f"/start {agencies['PP-OFR'].access_code}")
    clock.advance(timedelta(minutes=29))
    named = await h.send(anna, "Anna Beispiel")

    clock.advance(timedelta(minutes=31))
    late = await h.send(anna, "POK")

    assert named[0].text.startswith("Bitte senden Sie Ihren Dienstgrad")
    assert late[0].text.startswith("Bitte registrieren Sie sich zuerst")
    assert db.call(people.find_by_telegram_id, anna["id"]) is None


async def test_old_wrong_codes_and_abandoned_dialogs_are_deleted_by_later_ones(
    h, db, clock, agencies
):
    eve, anna, ben = user("Eve"), user("Anna"), user("Ben")
    await h.send(eve, "/start")
    for _ in range(3):
        await h.send(eve, WRONG)
    await h.send(anna, f"/start {agencies['PP-OFR'].access_code}")  # and then nothing more

    clock.advance(timedelta(minutes=31))
    await h.send(ben, "/start")
    await h.send(ben, WRONG)

    from kurse.models import AccessCodeAttempt, Dialog

    with db.transaction(readonly=True) as session:
        attempts = session.scalars(select(AccessCodeAttempt.telegram_id)).all()
        dialogs = session.scalars(select(Dialog.telegram_id)).all()
    assert attempts == [ben["id"]]
    assert dialogs == [ben["id"]]
    assert "join" not in h.app.user_data[anna["id"]]  # nor is it kept in memory


async def test_the_reason_given_with_kurs_absagen_survives_a_restart_before_yes(
    h, db, clock, boss, agencies
):
    anna = user("Anna")
    await h.join(anna, agencies["PP-OFR"].access_code, "Anna Beispiel")
    course = builders.course(db, clock.now())
    person = db.call(people.find_by_telegram_id, anna["id"])
    db.call(regs.sign_up, course.id, person.id, clock.now())
    await h.send(boss, f"/kurs_absagen {course.code} Ausbilder erkrankt")

    h = await restarted(h)
    await h.press(boss, "Ja, Kurs absagen")

    def told() -> list[str]:
        return [m.text for m in h.api.messages(anna["id"]) if m.text and "❌" in m.text]

    await eventually(lambda: bool(told()))
    await run_due_work(h.app)
    assert db.call(courses.get_course, course.id).status == "cancelled"
    assert "Grund: Ausbilder erkrankt" in told()[0]
    await stop_harness(h)


async def test_lowering_a_quota_asked_on_one_instance_is_decided_on_the_standby(
    h, standby, db, clock, boss, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 2, "PD-Z": 1})
    for name in ("Anna Eins", "Ben Zwei"):
        who = user(name.split()[0])
        await h.join(who, agencies["PP-OFR"].access_code, name)
        person = db.call(people.find_by_telegram_id, who["id"])
        db.call(regs.sign_up, course.id, person.id, clock.now())
    await h.send(boss, f"/kontingent {course.code} PP-OFR=1 PD-Z=1")

    await standby.press(boss, "Ja, auf die Warteliste")

    assert "1 Person steht wieder auf der Warteliste." in h.last(boss).text
    assert db.call(invariant_violations, course.id, clock.now()) == []


@pytest.mark.usefixtures("agencies")
async def test_yes_more_than_half_an_hour_after_the_question_changes_nothing_and_says_why(
    h, db, clock, boss
):
    course = builders.course(db, clock.now())
    await h.send(boss, f"/kurs_absagen {course.code} Ausbilder erkrankt")
    clock.advance(timedelta(minutes=31))

    await h.press(boss, "Ja, Kurs absagen")

    assert h.alerts()[-1] == (
        "Diese Frage ist älter als eine halbe Stunde und nicht mehr gültig. "
        "Bitte senden Sie den Befehl erneut."
    )
    assert db.call(courses.get_course, course.id).status == "published"
