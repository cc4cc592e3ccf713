"""The migrated schema is exactly the models' schema, on every database under test."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

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
