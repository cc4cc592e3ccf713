"""The migrated schema is exactly the models' schema, on every database under test."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import TEXT, Engine, Text, cast, column, insert, inspect, select, table, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kurse.db import make_engine
from kurse.migrate import downgrade, upgrade
from kurse.models import AuditEntry, Dialog, Outbox, SQLModel, UTCDateTime
from kurse.schedule import ListMoment


def test_migrated_schema_equals_the_models(db):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)

    assert differences == []


def test_sqlite_enforces_foreign_keys_and_runs_in_wal_mode(db, backend):
    if backend != "sqlite":
        return
    with db.engine.connect() as connection:
        pragmas = [
            connection.execute(text(f"PRAGMA {p}")).scalar()
            for p in ("foreign_keys", "journal_mode")
        ]
    assert pragmas == [1, "wal"]


def test_every_table_of_the_models_exists_after_migrating(db):
    names = set(inspect(db.engine).get_table_names())

    assert {t.name for t in SQLModel.metadata.sorted_tables} | {"alembic_version"} == names


def test_every_migration_can_be_undone_down_to_an_empty_database_and_applied_again(
    empty_database_url, backend
):
    engine = make_engine(empty_database_url)
    upgrade(engine)

    downgrade(engine, "base")
    left = set(inspect(engine).get_table_names())
    sequences = set(inspect(engine).get_sequence_names()) if backend == "postgres" else set()
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    engine.dispose()

    assert (left, sequences) == ({"alembic_version"}, set())
    assert differences == []


_COURSE_TIMES = (
    "start_at",
    "end_at",
    "registration_deadline",
    "cancellation_deadline",
    "created_at",
    "updated_at",
)


def test_migration_0005_fills_the_task_columns_from_the_keys_of_existing_tasks(empty_database_url):
    engine = make_engine(empty_database_url)
    upgrade(engine, "0004")
    start = datetime(2027, 3, 12, 8, 0, tzinfo=UTC)
    old_course = table(  # the course table as it was at 0004
        "course",
        *(column(name) for name in ("code", "title", "description", "location", "status")),
        *(column(name, UTCDateTime()) for name in _COURSE_TIMES),
        column("reg_seq"),
    )
    with engine.begin() as connection:
        course_id = connection.execute(
            insert(old_course).returning(column("id")),
            {
                "code": "K-2027-001",
                "title": "Fahndung",
                "description": "",
                "location": "Hof",
                "status": "published",
                "start_at": start,
                "end_at": start + timedelta(hours=8),
                "registration_deadline": start - timedelta(days=10),
                "cancellation_deadline": start - timedelta(days=10),
                "created_at": start - timedelta(days=30),
                "updated_at": start - timedelta(days=30),
                "reg_seq": 0,
            },
        ).scalar_one()
    old_task = table(
        "task",
        column("key"),
        column("kind"),
        column("course_id"),
        column("due_at", UTCDateTime()),
        column("state"),
    )
    keys = {
        f"reminder:7d:course:{course_id}:20270312T0800Z": "reminder",
        f"reminder:1d:course:{course_id}": "reminder",  # from before the start was in keys
        f"leadlist:deadline:course:{course_id}": "leadlist",
        f"leadlist:daybefore:course:{course_id}": "leadlist",
        f"end:course:{course_id}": "end",
    }
    with engine.begin() as connection:
        connection.execute(
            insert(old_task),
            [
                {"key": k, "kind": v, "course_id": course_id, "due_at": start, "state": "pending"}
                for k, v in keys.items()
            ],
        )

    upgrade(engine, "0007")  # later ones need the agencies a course has (0010: its host)

    task_at_0007 = table(
        "task",
        column("key"),
        column("offset_minutes"),
        column("planned_start", UTCDateTime()),
        column("moment"),
    )
    with engine.connect() as connection:
        columns = {
            key.split(":course:")[0]: (offset, planned, moment)
            for key, offset, planned, moment in connection.execute(select(task_at_0007))
        }
    engine.dispose()
    assert columns == {
        "reminder:7d": (7 * 24 * 60, start, None),
        "reminder:1d": (24 * 60, None, None),  # its start comes when the course is planned
        "leadlist:deadline": (None, None, ListMoment.DEADLINE),
        "leadlist:daybefore": (None, None, ListMoment.DAY_BEFORE),
        "end": (None, None, None),
    }


# Payloads as the code before migration 0006 wrote them into text columns: the audit log
# with umlauts as they are and times as `str` gives them, outgoing messages with umlauts
# escaped, dialogs with umlauts as they are.
_AUDIT_BEFORE = {
    "title": "Grenzüberschreitende Fahndung",
    "start_at": "2027-03-12 08:00:00+00:00",
    "lead_id": 7,
}
_DETAIL = {"snapshot": {"Anna Müller": "PP-OFR"}, "previous": None}
_STATES = {"joining": [5, 1]}
_DATA = {"cancel_reasons": {"3": "krank – Grippe"}}
_TEXTS = {
    ("audit_entry", "before"): json.dumps(_AUDIT_BEFORE, default=str, ensure_ascii=False),
    ("outbox", "detail"): json.dumps(_DETAIL),
    ("dialog", "states"): json.dumps(_STATES, ensure_ascii=False),
    ("dialog", "data"): json.dumps(_DATA, ensure_ascii=False),
}


def _write_payloads_as_text(engine: Engine) -> None:
    """Writes one audit entry, one outgoing message and one dialog as at revision 0005."""
    at = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    audit = table("audit_entry", column("at", UTCDateTime()), column("action"), column("before"))
    message = table(
        "outbox",
        column("key"),
        column("kind"),
        column("detail"),
        column("due_at", UTCDateTime()),
        column("state"),
    )
    dialog = table(
        "dialog", column("telegram_id"), column("states"), column("data"), column("updated_at")
    )
    with engine.begin() as connection:
        connection.execute(
            insert(audit).values(
                at=at, action="course_created", before=_TEXTS[("audit_entry", "before")]
            )
        )
        connection.execute(
            insert(message).values(
                key="leadlist:1",
                kind="leadlist",
                detail=_TEXTS[("outbox", "detail")],
                due_at=at,
                state="sent",
            )
        )
        connection.execute(
            insert(dialog).values(
                telegram_id=5,
                states=_TEXTS[("dialog", "states")],
                data=_TEXTS[("dialog", "data")],
                updated_at=UTCDateTime().process_bind_param(at, engine.dialect),
            )
        )


def _stored_texts(engine: Engine) -> dict[tuple[str, str], str]:
    """Each payload's text as the database holds it."""
    with engine.connect() as connection:
        return {
            (name, field): connection.execute(
                select(cast(column(field), Text)).select_from(table(name))
            ).scalar_one()
            for name, field in _TEXTS
        }


def test_payloads_written_as_text_before_migration_0006_read_back_as_the_same_dicts(
    empty_database_url,
):
    engine = make_engine(empty_database_url)
    upgrade(engine, "0005")
    _write_payloads_as_text(engine)

    upgrade(engine)

    with Session(engine) as session:
        entry = session.scalars(select(AuditEntry)).one()
        message = session.scalars(select(Outbox)).one()
        dialog = session.scalars(select(Dialog)).one()
        payloads = (entry.before, entry.after, message.detail, dialog.states, dialog.data)
    texts = _stored_texts(engine)
    engine.dispose()
    assert payloads == (_AUDIT_BEFORE, None, _DETAIL, _STATES, _DATA)
    assert texts == _TEXTS  # converted, not rewritten


def test_undoing_migration_0006_leaves_each_payload_the_text_it_was(empty_database_url):
    engine = make_engine(empty_database_url)
    upgrade(engine, "0005")
    _write_payloads_as_text(engine)
    upgrade(engine)

    downgrade(engine, "0005")

    texts = _stored_texts(engine)
    with engine.connect() as connection:
        types = {
            (name, c["name"]): type(c["type"])
            for name in ("audit_entry", "outbox", "dialog")
            for c in inspect(connection).get_columns(name)
        }
    engine.dispose()
    assert texts == _TEXTS
    assert {types[key] for key in _TEXTS} == {TEXT}


def test_a_payload_written_now_keeps_its_umlauts_readable_in_the_stored_text(db):
    with db.transaction() as session:
        session.add(
            AuditEntry(
                at=datetime(2027, 3, 1, 9, 0, tzinfo=UTC),
                action="course_created",
                after={"location": "Plauen, Polizeirevier Süd"},
            )
        )

    with db.engine.connect() as connection:
        text_ = connection.execute(
            select(cast(column("after"), Text)).select_from(table("audit_entry"))
        ).scalar_one()

    assert json.loads(text_) == {"location": "Plauen, Polizeirevier Süd"}
    assert "Süd" in text_


def stored(moment: datetime, session: Session) -> object:
    """``moment`` as the database's time column takes it in plain SQL."""
    return UTCDateTime().process_bind_param(moment, session.get_bind().dialect)


def test_after_migration_0008_seats_may_be_requested_or_offered_but_never_held_without_deadline(
    db, clock, agencies
):
    from kurse import registrations as regs
    from tests import builders

    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    rid = db.call(regs.sign_up, course.id, anna.id, clock.now()).registration_id
    until = clock.now() + timedelta(hours=5)

    for status in ("requested", "offered"):
        with db.transaction() as session:
            session.execute(
                text("UPDATE registration SET status = :s, held_until = :u WHERE id = :i"),
                {
                    "s": status,
                    "i": rid,
                    "u": UTCDateTime().process_bind_param(until, session.bind.dialect),
                },
            )
    with pytest.raises(IntegrityError), db.transaction() as session:
        session.execute(
            text("UPDATE registration SET held_until = NULL WHERE id = :i"), {"i": rid}
        )


def test_undoing_migration_0008_turns_held_seats_into_confirmed_ones_as_the_counters_say(
    empty_database_url,
):
    from kurse import registrations as regs
    from kurse.db import Database
    from tests import builders

    engine = make_engine(empty_database_url)
    upgrade(engine)
    engine.dispose()
    db = Database(empty_database_url)
    start = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    seeded = builders.seed(db, start)
    with db.transaction() as session:
        session.get(type(seeded["PP-OFR"]), seeded["PP-OFR"].id).approval_required = True
    course = builders.course(db, start)
    anna = builders.officer(db, seeded["PP-OFR"], start)
    assert db.call(regs.sign_up, course.id, anna.id, start).status == "requested"
    db.dispose()
    engine = make_engine(empty_database_url)

    downgrade(engine, "0007")

    with engine.connect() as connection:
        states = (
            connection.execute(
                text("SELECT status FROM registration WHERE confirmed_at IS NOT NULL")
            )
            .scalars()
            .all()
        )
        held_tasks = connection.execute(
            text("SELECT count(*) FROM task WHERE key LIKE 'hold:%'")
        ).scalar()
    engine.dispose()
    assert (states, held_tasks) == (["confirmed"], 0)


def _course_at_0004():  # type: ignore[no-untyped-def]
    """The course table as the migrations before 0010 made it (without the host)."""
    names = ["id", "code", "title", "description", "location", "status", "reg_seq"]
    times = ["start_at", "end_at", "registration_deadline", "cancellation_deadline"]
    return table(
        "course",
        *(column(n) for n in names),
        *(column(n, UTCDateTime()) for n in [*times, "created_at", "updated_at"]),
    )


def test_migration_0010_gives_each_existing_course_the_agency_with_the_most_seats_as_host(
    empty_database_url,
):
    engine = make_engine(empty_database_url)
    upgrade(engine, "0007")
    start = datetime(2027, 3, 12, 8, 0, tzinfo=UTC)
    agency = table(
        "agency",
        column("id"),
        column("code"),
        column("name"),
        column("state"),
        column("access_code"),
        column("created_at", UTCDateTime()),
    )
    quota = table("quota", column("course_id"), column("agency_id"), column("seats"))
    with Session(engine) as session:
        for n, code in enumerate(["PP-OFR", "PD-Z"], start=1):
            session.execute(
                insert(agency).values(
                    id=n,
                    code=code,
                    name=code,
                    state="x",
                    access_code=f"CODE{n}XYZ",
                    created_at=start,
                )
            )
        ids = []
        for i, seats in enumerate([(10, 12), (8, 8), (5, 0)]):
            course_id = session.execute(
                insert(_course_at_0004())
                .values(
                    code=f"K-2027-00{i + 1}",
                    title="Fahndung",
                    description="",
                    location="Hof",
                    start_at=start,
                    end_at=start + timedelta(hours=8),
                    registration_deadline=start - timedelta(days=10),
                    cancellation_deadline=start - timedelta(days=10),
                    status="published",
                    reg_seq=0,
                    created_at=start,
                    updated_at=start,
                )
                .returning(column("id"))
            ).scalar_one()
            ids.append(course_id)
            for agency_id, n in zip((1, 2), seats, strict=True):
                session.execute(
                    insert(quota).values(course_id=course_id, agency_id=agency_id, seats=n)
                )
        session.commit()

    upgrade(engine, "0010")

    with Session(engine) as session:
        hosts = dict(
            session.execute(
                select(column("id"), column("host_agency_id")).select_from(table("course"))
            ).all()
        )
    engine.dispose()
    # PD-Z set 12 seats aside, PP-OFR 10; a tie goes to the agency added first; 5 against 0.
    assert [hosts[i] for i in ids] == [2, 1, 1]
