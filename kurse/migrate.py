"""Applies the Alembic migrations in ``migrations/`` (on start and by ``kursbot db upgrade``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

import migrations
from kurse.db import make_engine

SCRIPT_LOCATION = Path(migrations.__file__).parent


def alembic_config(url: str = "") -> Config:
    """Returns an Alembic configuration that needs no ``alembic.ini`` in the working folder."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest revision of ``migrations/``: the schema this code expects."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at (None: not migrated at all)."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Brings the database of ``engine`` to ``revision`` (default: the newest).

    On SQLite the migrations run with foreign keys off: SQLite changes a table by copying it,
    and dropping the old copy with foreign keys on would set every reference to it NULL
    (``ON DELETE SET NULL``). Afterwards every reference is checked, and foreign keys are on
    again for the connection's next user."""
    config = alembic_config()
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:  # outside any transaction, where the pragma takes effect
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                connection.commit()
                if broken:
                    raise RuntimeError(f"migration left broken references: {broken[:5]}")
        finally:
            if sqlite:
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


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
