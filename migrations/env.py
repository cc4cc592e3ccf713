"""Alembic environment: runs migrations against the URL that `kurse.migrate` passes in."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Engine

from kurse import models
from kurse.db import make_engine

target_metadata = models.SQLModel.metadata


def render_item(type_: str, obj: Any, _autogen_context: Any) -> str | bool:
    """Writes our `UTCDateTime` as a plain timezone-aware DateTime into migration scripts."""
    if type_ == "type" and isinstance(obj, models.UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    """Runs the migrations on the connection or URL given in the config's attributes."""
    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        engine: Engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connection)


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite can only change tables by copying them
        render_item=render_item,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
