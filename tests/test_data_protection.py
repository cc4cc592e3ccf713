"""Deletion and retention leave nothing that points to the person (PRODUCT.md §7): no column of
any table, no byte of the SQLite files (main and write-ahead log), no audit payload; ids are
never given to someone else; /meine_daten exports everything that refers to the person."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from bot.jobs import run_due_work
from kurse import admin, people, privacy
from kurse import registrations as regs
from kurse.actors import Actor
from kurse.models import AuditEntry, Course, Registration, SQLModel
from tests import builders
from tests.conftest import ADMIN_ID
from tests.harness import user

BOSS = {"id": ADMIN_ID, "is_bot": False, "first_name": "Chefin", "language_code": "de"}
FORM = """/kurs_neu
Titel: Gemeinsamer Kontrolltag
Beginn: 12.03.2027 09:00
Ende: 12.03.2027 16:00
Ort: Hof
Anmeldeschluss: 01.03.2027
Plätze: PP-OFR=1, PD-Z=1
Kursleitung: {lead}"""


def needles(person, telegram_id: int) -> set[str]:
    return {person.name, person.username or "", person.rank or "", str(telegram_id)} - {""}


def found_in_columns(db, wanted: set[str], *, skip: tuple[str, ...] = ()) -> list[tuple]:
    """Every (table, column value) that contains one of ``wanted``."""
    hits = []
    with db.transaction(readonly=True) as session:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in skip:
                continue
            for row in session.execute(select(table)).all():
                for value in row:
                    if value is not None and any(w in str(value) for w in wanted):
                        hits.append((table.name, value))
    return hits


def found_in_files(db, wanted: set[str]) -> list[tuple[str, str]]:
    """Every (SQLite file, needle) whose raw bytes hold the needle (UTF-8)."""
    main = Path(db.engine.url.database)
    hits = []
    for path in (main, main.with_name(main.name + "-wal")):
        if path.exists():
            data = path.read_bytes()
            hits += [(path.name, w) for w in wanted if w.encode() in data]
    return hits


async def test_a_deleted_admin_is_in_no_column_no_file_and_no_line_of_the_log(
    h, db, clock, agencies
):
    admin_chat = user("Zdeněk", username="zdenek_kral")
    await h.join(admin_chat, agencies["PD-Z"].access_code, "Zdeněk Královský", rank="EPHK")
    person = db.call(people.find_by_telegram_id, admin_chat["id"])
    await h.send(BOSS, "/admin_neu @zdenek_kral")
    lead = builders.officer(db, agencies["PP-OFR"], clock.now())
    await h.send(admin_chat, FORM.format(lead=lead.telegram_id))  # an audit entry as actor

    await h.send(admin_chat, "/daten_loeschen")
    await h.press(admin_chat, "Ja, alles löschen")
    log = (await h.send(BOSS, "/protokoll"))[0].text

    wanted = needles(person, admin_chat["id"])
    assert found_in_columns(db, wanted) == []
    if db.is_sqlite:
        assert found_in_files(db, wanted) == []
    assert str(admin_chat["id"]) not in log
    assert "eine Person, deren Daten gelöscht wurden · Kurs angelegt" in log


async def test_a_deleted_lead_is_named_in_no_audit_payload_and_moves_are_only_counted(
    h, db, clock, agencies
):
    lead_chat = user("Łukasz")
    await h.join(lead_chat, agencies["PP-OFR"].access_code, "Łukasz Wójcik")
    lead = db.call(people.find_by_telegram_id, lead_chat["id"])
    await h.send(BOSS, FORM.format(lead=lead.telegram_id))
    course = db.call(lambda s: s.scalar(select(Course)))
    anna, ben = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "ab")
    db.call(regs.sign_up, course.id, anna.id, clock.now())
    db.call(regs.sign_up, course.id, ben.id, clock.now())
    db.call(
        admin.set_quotas_from_text,
        course.code,
        "PP-OFR=2",
        clock.now(),
        actor=Actor(telegram_id=ADMIN_ID, bootstrap_admin=True),
    )

    await h.send(lead_chat, "/daten_loeschen")
    await h.press(lead_chat, "Ja, alles löschen")

    with db.transaction(readonly=True) as session:
        payloads = [
            (e.action, e.after or {}, e.before or {})
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
    created = next(after for action, after, _ in payloads if action == "course_created")
    quotas = next(after for action, after, _ in payloads if action == "quotas_set")
    assert created["lead_id"] is None
    assert (quotas["promoted"], quotas["demoted"]) == (1, 0)  # how many, never who
    assert lead.id not in {after.get("lead_id") for _, after, _ in payloads}


def test_a_deleted_officers_id_is_never_given_to_the_next_one_to_join(db, clock, agencies):
    first = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Иван Петров")
    db.call(privacy.delete_person, first.id, clock.now())

    second = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Çağrı Yılmaz")

    assert second.id != first.id


async def test_retention_leaves_no_person_of_the_course_in_any_table(h, db, clock, agencies):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Jiří Dvořák")
    anna = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Anna Beispiel")
    course = builders.course(db, clock.now(), lead_id=lead.id)
    db.call(regs.sign_up, course.id, anna.id, clock.now())
    await h.send(BOSS, f"/admin_neu {anna.telegram_id}")  # of no course: the entry stays
    clock.set(course.start_at - timedelta(days=7))
    await run_due_work(h.app)  # reminders: outbox rows to Anna

    clock.set(course.end_at + timedelta(days=90))
    await run_due_work(h.app)

    with db.transaction(readonly=True) as session:
        course_now = session.get(Course, course.id)
        registrations = session.scalars(
            select(Registration).where(Registration.course_id == course.id)
        ).all()
        entries = session.scalars(select(AuditEntry).where(AuditEntry.course_id == course.id))
        assert course_now.lead_id is None
        assert [r.person_id for r in registrations] == [None]
        for entry in entries:
            assert entry.subject_person_id is None
            assert (entry.after or {}).get("lead_id") is None
    # Nothing but their own profile (and Anna's admin appointment) names them any more.
    for person in (lead, anna):
        hits = found_in_columns(db, needles(person, person.telegram_id), skip=("person",))
        assert hits == []


async def test_my_data_holds_the_audit_entries_that_name_me_only_in_their_payload(
    h, db, clock, agencies
):
    lead_chat = user("Lea")
    await h.join(lead_chat, agencies["PD-Z"].access_code, "Lea Leitung")
    lead = db.call(people.find_by_telegram_id, lead_chat["id"])
    await h.send(BOSS, FORM.format(lead=lead.telegram_id))
    course = db.call(lambda s: s.scalar(select(Course)))
    db.call(regs.sign_up, course.id, lead.id, clock.now())

    answers = await h.send(lead_chat, "/meine_daten")

    data = json.loads(answers[1].document[1])
    (entry,) = data["audit_entries"]
    assert (entry["action"], entry["role"], entry["after"]["lead_id"]) == (
        "course_created",
        "subject",
        lead.id,
    )
    (registration,) = data["registrations"]
    assert registration["confirmed_at"] == clock.now().isoformat()
