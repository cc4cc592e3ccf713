"""The migrated schema is exactly the models' schema, on every database under test."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from kurse.db import make_engine
from kurse.migrate import downgrade, upgrade
from kurse.models import SQLModel


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
