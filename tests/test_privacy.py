"""/meine_daten and /daten_loeschen: everything about the person, and nothing left after."""

from __future__ import annotations

import json

from sqlalchemy import select, text

from bot.context import Services
from kurse import courses, people
from kurse import registrations as regs
from kurse.config import Settings
from kurse.invariants import invariant_violations
from kurse.models import SQLModel
from kurse.registration_lists import person_registrations
from tests import builders
from tests.conftest import ADMIN_ID
from tests.harness import eventually, start_harness, stop_harness, user


async def joined(h, agencies, name, code="PP-OFR"):
    who = user(name.split()[0])
    await h.join(who, agencies[code].access_code, name)
    return who, h.services.db.call(people.find_by_telegram_id, who["id"])


async def test_my_data_holds_every_row_about_me_and_nothing_about_others(h, db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    anna_chat, anna = await joined(h, agencies, "Anna Beispiel")
    _ben_chat, ben = await joined(h, agencies, "Ben Anders")
    db.call(regs.sign_up, course.id, anna.id, clock.now())
    db.call(regs.sign_up, course.id, ben.id, clock.now())

    answers = await h.send(anna_chat, "/meine_daten")

    assert answers[0].text.startswith("<b>Ihre Daten</b>\nName: Anna Beispiel")
    name, content = answers[1].document
    data = json.loads(content)
    assert name == "meine_daten.json"
    assert data["profile"]["telegram_id"] == anna_chat["id"]
    assert [r["status"] for r in data["registrations"]] == ["confirmed"]
    assert "Ben Anders" not in content.decode()
    assert str(ben.telegram_id) not in content.decode()


async def test_deleting_my_data_leaves_no_personal_field_and_moves_the_next_one_up(
    h, db, clock, agencies
):
    past = builders.course(db, clock.now(), title="Vergangener Kurs")
    future = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1}, title="Künftiger Kurs")
    anna_chat, anna = await joined(h, agencies, "Annegret Einzigartig")
    ben_chat, ben = await joined(h, agencies, "Ben Anders")
    db.call(regs.sign_up, past.id, anna.id, clock.now())
    db.call(regs.sign_up, future.id, anna.id, clock.now())
    db.call(regs.sign_up, future.id, ben.id, clock.now())
    with db.transaction() as session:  # the past course has happened meanwhile
        session.execute(
            text("UPDATE course SET status = 'finished' WHERE id = :id"), {"id": past.id}
        )

    await h.send(anna_chat, "/daten_loeschen")
    await h.press(anna_chat, "Ja, alles löschen")

    await eventually(lambda: any("🎉" in (m.text or "") for m in h.api.messages(ben_chat["id"])))
    assert h.last(anna_chat).text.startswith(
        "Ihr Profil wurde gelöscht; Sie wurden von 2 Kursen abgemeldet."
    )
    assert db.call(people.find_by_telegram_id, anna_chat["id"]) is None
    needles = {"Annegret Einzigartig", str(anna_chat["id"])}
    with db.transaction(readonly=True) as session:
        for table in SQLModel.metadata.sorted_tables:
            for row in session.execute(select(table)).all():
                assert not needles & {str(v) for v in row}, (table.name, row)
        assert invariant_violations(session, future.id, clock.now()) == []
        counted = session.execute(
            text("SELECT count(*) FROM registration WHERE course_id = :c"), {"c": past.id}
        ).scalar()
    assert counted == 1  # the statistics of the past course stay right


async def test_after_deleting_someone_can_join_again_as_new(h, db, clock, agencies):
    anna_chat, _anna = await joined(h, agencies, "Anna Beispiel")
    await h.send(anna_chat, "/daten_loeschen")
    await h.press(anna_chat, "Ja, alles löschen")

    again = await h.send(anna_chat, "/kurse")
    await h.join(anna_chat, agencies["PD-Z"].access_code, "Anna Neu")

    assert again[0].text.startswith("Bitte registrieren Sie sich zuerst")
    person = db.call(people.find_by_telegram_id, anna_chat["id"])
    assert (person.name, person.agency_id) == ("Anna Neu", agencies["PD-Z"].id)
    assert db.call(person_registrations, person.id, clock.now()) == []


async def test_a_lead_deleting_their_profile_leaves_the_course_without_lead_and_admins_told(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now())
    lea_chat, lea = await joined(h, agencies, "Lea Leitung", "PD-Z")
    ada_chat, ada = await joined(h, agencies, "Ada Admin")
    boss_chat = {**user("Bea"), "id": ADMIN_ID}  # the bootstrap admin, joined
    await h.join(boss_chat, agencies["PP-OFR"].access_code, "Bea Boss")
    with db.transaction() as session:
        people.get_person(session, ada.id).is_admin = True
        courses.get_course(session, course.id).lead_id = lea.id

    await h.send(lea_chat, "/daten_loeschen")
    await h.press(lea_chat, "Ja, alles löschen")

    expected = f"<b>{course.title}</b> ({course.code}) hat keine Kursleitung mehr"

    def told(chat) -> list[str]:
        return [m.text for m in h.api.messages(chat["id"]) if (m.text or "").startswith(expected)]

    await eventually(lambda: bool(told(ada_chat)) and bool(told(boss_chat)))
    assert len(told(ada_chat)) == len(told(boss_chat)) == 1
    assert f"/kursleitung {course.code} ID|@Name" in told(ada_chat)[0]
    assert db.call(courses.get_course, course.id).lead_id is None


async def test_the_only_admin_is_warned_before_deleting_and_others_are_not(db, clock, agencies):
    harness = await start_harness(Services(db, clock, Settings(_env_file=None)))  # no bootstrap
    try:
        ada_chat, ada = await joined(harness, agencies, "Ada Admin")
        ben_chat, _ben = await joined(harness, agencies, "Ben Anders")
        with db.transaction() as session:
            people.get_person(session, ada.id).is_admin = True

        only = (await harness.send(ada_chat, "/daten_loeschen"))[0].text
        officer = (await harness.send(ben_chat, "/daten_loeschen"))[0].text
    finally:
        await stop_harness(harness)

    assert only.endswith(
        "Geben Sie vorher mit /admin_neu einer anderen Person Administratorrechte."
    )
    assert "einzige Person mit Administratorrechten" not in officer
    assert db.call(people.find_by_telegram_id, ada_chat["id"]) is not None  # only asked
