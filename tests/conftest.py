"""Fixtures: a migrated database per test (SQLite file, and PostgreSQL when configured).

Set ``KURSBOT_TEST_POSTGRES_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``) to run
every database test on PostgreSQL too; each test session works in a schema of its own.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import hypothesis
import pytest
from sqlalchemy import text

from bot.context import Services
from kurse.clock import BERLIN, SettableClock
from kurse.config import Settings
from kurse.db import Database, make_engine
from kurse.migrate import upgrade
from kurse.models import Agency, SQLModel
from tests import builders
from tests.harness import Harness, start_harness, stop_harness

POSTGRES_URL = os.environ.get("KURSBOT_TEST_POSTGRES_URL", "").strip()
BACKENDS = ["sqlite", *(["postgres"] if POSTGRES_URL else [])]

# `python -m tests.mutations` runs with this profile: it needs to know that a property fails,
# not the smallest example (shrinking one takes up to five minutes).
hypothesis.settings.register_profile(
    "mutations",
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.reuse, hypothesis.Phase.generate],
)

# A Sunday in January 2027, Berlin time: every test starts here unless it moves the clock.
T0 = datetime(2027, 1, 10, 10, 0, tzinfo=BERLIN)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "kursbot.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@contextmanager
def scratch_schema(prefix: str) -> Iterator[str]:
    """An empty schema of its own on the test PostgreSQL server, dropped afterwards; yields
    the URL whose connections work in it."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, migrated schema on the test PostgreSQL server for this test session."""
    with scratch_schema("kursbot_test") as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database kind under test."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database for this test."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "kursbot.db"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    tables = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with nothing in it, not even migrated (a new SQLite file, or a
    PostgreSQL schema of its own, dropped afterwards): for tests of the migrations."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with scratch_schema("kursbot_empty") as url:
        yield url


@pytest.fixture
def new_databases(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Callable[[], Database]:
    """Makes an empty, migrated database each time it is called (the stateful tests need one
    per example): a copy of the template on SQLite, the emptied schema on PostgreSQL."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        counter = itertools.count()

        def new_sqlite() -> Database:
            path = tmp_path / f"example{next(counter)}.db"
            shutil.copy(template, path)
            return Database(f"sqlite:///{path}", pool_size=2)

        return new_sqlite
    url: str = request.getfixturevalue("postgres_url")
    tables = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)

    def new_postgres() -> Database:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return Database(url, pool_size=2)

    return new_postgres


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """A `Database` on an empty, migrated database."""
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> SettableClock:
    """A clock the test moves by hand, starting at `T0`."""
    return SettableClock(T0)


ADMIN_ID = 4242  # the bootstrap admin of the bot tests (KURSBOT_ADMIN_IDS)


@pytest.fixture
def agencies(db: Database, clock: SettableClock) -> dict[str, Agency]:
    """The two founding agencies, by code."""
    return builders.seed(db, clock.now())


@pytest.fixture
def settings() -> Settings:
    """Settings of the bot tests: defaults, with `ADMIN_ID` as admin, no .env read."""
    return Settings(_env_file=None, kursbot_admin_ids=(ADMIN_ID,))


@pytest.fixture
async def h(db: Database, clock: SettableClock, settings: Settings) -> AsyncIterator[Harness]:
    """The running Application on the local Bot API (see `tests.harness`)."""
    harness = await start_harness(Services(db, clock, settings))
    yield harness
    await stop_harness(harness)
