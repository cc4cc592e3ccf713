"""Applies and undoes the Alembic migrations in ``migrations/`` (on start, by ``kursbot db
upgrade`` and ``kursbot db downgrade``), and says which revision a database is at."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine.interfaces import DBAPIConnection

import migrations
from kurse.db import make_engine

SCRIPT_LOCATION = Path(migrations.__file__).parent
BASE = "base"  # the revision of an empty database, as Alembic names it

# The key of the PostgreSQL advisory lock that every Kursbot process takes to change the
# schema or seed it ("kursbot" in ASCII). Advisory locks are per database; no other program
# on a Kursbot database is expected to use this number.
SCHEMA_LOCK = int.from_bytes(b"kursbot", "big")


class UnknownRevision(Exception):
    """The database is at (or a command names) a revision that this code does not have."""

    def __init__(self, revision: str, newest: str) -> None:
        super().__init__(f"unknown revision {revision} (newest: {newest})")
        self.revision, self.newest = revision, newest


class DatabaseNewer(UnknownRevision):
    """The database is at a revision this code does not have: a newer version migrated it."""


class NotBelow(Exception):
    """A downgrade target that is not below the database's current revision."""

    def __init__(self, revision: str, current: str | None) -> None:
        super().__init__(f"{revision} is not below {current or BASE}")
        self.revision, self.current = revision, current


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands: its revision (None when empty) and the newest this code has."""

    current: str | None
    newest: str
    known: bool  # False: a newer version of Kursbot migrated the database

    @property
    def is_newest(self) -> bool:
        """Whether the database is at the newest revision."""
        return self.current == self.newest


def alembic_config(url: str = "") -> Config:
    """Returns an Alembic configuration that needs no ``alembic.ini`` in the working folder."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def newest_revision() -> str:
    """The newest revision of this code's migrations."""
    head = _scripts().get_current_head()
    assert head is not None, "migrations/versions holds no migration"
    return head


def _history() -> list[str]:
    """Every revision of this code, newest first."""
    return [script.revision for script in _scripts().walk_revisions(BASE, "heads")]


def lock_schema(connection: Connection) -> None:
    """On PostgreSQL, waits for and then holds, until the end of the connection's
    transaction, the lock under which Kursbot changes and seeds the schema: two processes
    that upgrade an empty database at once would otherwise both create the same tables (and
    the second fail). It must be the transaction's first statement: under READ COMMITTED
    every later statement then sees what the previous holder committed. SQLite needs none:
    every write transaction there starts with ``BEGIN IMMEDIATE`` (`kurse.db`), which waits
    for the database's single write lock."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None: not migrated at all)."""
    return MigrationContext.configure(connection).get_current_revision()


def schema_state(engine: Engine) -> SchemaState:
    """Reads the database's revision; changes nothing."""
    with engine.connect() as connection:
        return read_schema_state(connection)


def read_schema_state(connection: Connection) -> SchemaState:
    """The revision the database on ``connection`` is at, against this code's migrations."""
    current = current_revision(connection)
    history = _history()
    return SchemaState(current, history[0], current is None or current in history)


def to_undo(engine: Engine, revision: str) -> list[str]:
    """The revisions, newest first, that a downgrade of the database to ``revision`` undoes
    (empty when it is there already); raises `DatabaseNewer`, `UnknownRevision` (no such
    ``revision``) or `NotBelow`."""
    with engine.connect() as connection:
        return _to_undo(current_revision(connection), revision)


def _known(current: str | None) -> list[str]:
    """This code's revisions, newest first; raises `DatabaseNewer` if ``current`` is not one."""
    history = _history()
    if current is not None and current not in history:
        raise DatabaseNewer(current, history[0])
    return history


def _to_undo(current: str | None, revision: str) -> list[str]:
    history = _known(current)
    if revision != BASE and revision not in history:
        raise UnknownRevision(revision, history[0])
    applied = history[history.index(current) :] if current else []
    if revision == BASE:
        return applied
    if revision not in applied:
        raise NotBelow(revision, current)
    return applied[: applied.index(revision)]


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction, holding the schema lock, for Alembic to work in.

    On SQLite the migrations run with foreign keys off: SQLite changes a table by copying it,
    and dropping the old copy with foreign keys on would set every reference to it NULL
    (``ON DELETE SET NULL``) or delete the rows that point to it (``CASCADE``). Afterwards
    every reference is checked, and foreign keys are on again for the connection's next
    user."""
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:  # outside any transaction, where the pragma takes effect
            _raw(connection).execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                lock_schema(connection)
                yield connection
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                connection.commit()
                if broken:
                    raise RuntimeError(f"migration left broken references: {broken[:5]}")
        finally:
            if sqlite:
                _raw(connection).execute("PRAGMA foreign_keys=ON")


def _raw(connection: Connection) -> DBAPIConnection:
    """The driver's connection under ``connection`` (SQLite pragmas outside a transaction)."""
    raw = connection.connection.dbapi_connection
    if raw is None:  # only after the connection was closed or invalidated
        raise RuntimeError("the connection has no driver connection")
    return raw


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Brings the database of ``engine`` to ``revision`` (default: the newest), one process at
    a time; raises `DatabaseNewer` when a newer version of Kursbot migrated it."""
    config = alembic_config()
    with _migrating(engine) as connection:
        # Read under the lock: another process may just have migrated.
        _known(current_revision(connection))
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> list[str]:
    """Undoes the migrations above ``revision`` (`BASE`: all of them, which drops every table);
    returns the revisions undone, newest first. Raises as `to_undo` does."""
    config = alembic_config()
    with _migrating(engine) as connection:
        undone = _to_undo(current_revision(connection), revision)
        if undone:
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    return undone


def new_revision(message: str) -> str:
    """Writes a new migration script for the difference between the models and the newest
    migration (compared on a scratch SQLite database); returns the script's path."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'scratch.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        script = command.revision(alembic_config(url), message=message, autogenerate=True)
    path = script.path if script is not None and not isinstance(script, list) else ""
    return str(path)
