"""The migrated schema is exactly the models' schema, on every database under test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import column, insert, inspect, select, table, text
from sqlalchemy.orm import Session

from kurse.db import make_engine
from kurse.migrate import downgrade, upgrade
from kurse.models import Course, SQLModel, Task, UTCDateTime
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


def test_migration_0005_fills_the_task_columns_from_the_keys_of_existing_tasks(
    empty_database_url, backend
):
    engine = make_engine(empty_database_url)
    upgrade(engine, "0004")
    start = datetime(2027, 3, 12, 8, 0, tzinfo=UTC)
    with Session(engine) as session:  # the course table is the same at 0004
        course = Course(
            code="K-2027-001",
            title="Fahndung",
            location="Hof",
            start_at=start,
            end_at=start + timedelta(hours=8),
            registration_deadline=start - timedelta(days=10),
            cancellation_deadline=start - timedelta(days=10),
            created_at=start - timedelta(days=30),
            updated_at=start - timedelta(days=30),
        )
        session.add(course)
        session.commit()
        course_id = course.id
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

    upgrade(engine)

    with Session(engine) as session:
        columns = {
            t.key.split(":course:")[0]: (t.offset_minutes, t.planned_start, t.moment)
            for t in session.scalars(select(Task))
        }
    engine.dispose()
    assert columns == {
        "reminder:7d": (7 * 24 * 60, start, None),
        "reminder:1d": (24 * 60, None, None),  # its start comes when the course is planned
        "leadlist:deadline": (None, None, ListMoment.DEADLINE),
        "leadlist:daybefore": (None, None, ListMoment.DAY_BEFORE),
        "end": (None, None, None),
    }
