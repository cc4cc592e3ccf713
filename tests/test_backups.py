"""The backup and restore commands of docs/deployment.md, run as written against the test
PostgreSQL server: a nightly dump of a database with data, restored into a fresh database
(the drill) and over the live one (the restore), gives back every row and every sequence."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from kurse import registrations as regs
from kurse.db import Database, make_engine
from kurse.migrate import upgrade
from tests import builders
from tests.conftest import POSTGRES_URL, T0

DEPLOYMENT = Path(__file__).resolve().parent.parent / "docs" / "deployment.md"

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason="needs KURSBOT_TEST_POSTGRES_URL")


def documented(command: str) -> list[str]:
    """The one line of docs/deployment.md's backup section that runs ``command``, split."""
    section = DEPLOYMENT.read_text().split("## Backups", 1)[1].split("\n## ", 1)[0]
    lines = [line.strip() for line in section.splitlines() if line.strip().startswith(command)]
    assert len(lines) == 1, f"docs/deployment.md should show one {command} line: {lines}"
    return shlex.split(lines[0])


def with_database(argv: list[str], name: str, file: Path) -> list[str]:
    """``argv`` with its ``--dbname=…`` set to ``name`` and its file to ``file``."""
    out = []
    for arg in argv:
        if arg.startswith("--dbname="):
            arg = f"--dbname={name}"
        elif arg.startswith("--file="):
            arg = f"--file={file}"
        elif arg.endswith(".dump"):
            arg = str(file)
        out.append(arg)
    return out


def client_env() -> dict[str, str]:
    """PGHOST and friends for the client tools, from the test server's URL."""
    url = make_url(POSTGRES_URL)
    env = dict(os.environ)
    env.update(PGHOST=url.host or "127.0.0.1", PGPORT=str(url.port or 5432))
    env.update(PGUSER=url.username or "postgres")
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, env=client_env(), capture_output=True, text=True, timeout=120, check=False
    )


def server_major_version() -> int:
    engine = make_engine(POSTGRES_URL)
    with engine.connect() as connection:
        version = int(connection.execute(text("SHOW server_version_num")).scalar_one())
    engine.dispose()
    return version // 10_000


@pytest.fixture(scope="module")
def client_tools() -> None:
    """pg_dump and pg_restore of the server's major version (an older pg_dump refuses a newer
    server; a newer one writes dumps an older pg_restore cannot read)."""
    major = server_major_version()
    for tool in ("pg_dump", "pg_restore"):
        try:
            found = run([tool, "--version"]).stdout
        except FileNotFoundError:
            pytest.fail(f"{tool} is not installed: install postgresql-client-{major}")
        assert re.search(rf"\) {major}\.", found), f"{found.strip()}: the server is {major}"


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new, empty database on the test server; yields its name; dropped afterwards."""
    name = f"kursbot_drill_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield name
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def url_of(name: str) -> str:
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


def fill(name: str) -> None:
    """A term in progress: agencies, officers, a full course with a waiting list, its timed
    work and messages, one officer who deleted their data (an id that must stay unused)."""
    db = Database(url_of(name))
    upgrade(db.engine)
    agencies = builders.seed(db, T0)
    course = builders.course(db, T0, {"PP-OFR": 1, "PD-Z": 1})
    officers = builders.officers(db, agencies, T0, 5)
    for person in officers:
        db.call(regs.sign_up, course.id, person.id, T0)
    with db.transaction() as session:
        session.execute(text("DELETE FROM person WHERE id = :id"), {"id": officers[-1].id})
    db.dispose()


def rows_and_next_person_id(name: str) -> tuple[dict[str, list[tuple[object, ...]]], int]:
    """Every row of every table, and the id the next officer to join gets."""
    db = Database(url_of(name))
    rows = builders.snapshot(db)
    agencies = builders.seed(db, T0)
    next_id = builders.officer(db, agencies["PD-Z"], T0, name="After the restore").id
    db.dispose()
    assert next_id is not None
    return rows, next_id


@pytest.mark.usefixtures("client_tools")
def test_the_restore_drill_restores_every_row_into_a_fresh_database(tmp_path):
    dump = tmp_path / "kursbot.dump"
    with scratch_database() as live, scratch_database() as drill:
        fill(live)
        dumped = run(with_database(documented("pg_dump"), live, dump))

        restored = run(with_database(documented("pg_restore"), drill, dump))

        assert (dumped.returncode, dumped.stderr) == (0, "")
        assert (restored.returncode, restored.stderr) == (0, ""), restored.stderr[-2000:]
        assert rows_and_next_person_id(drill) == rows_and_next_person_id(live)


@pytest.mark.usefixtures("client_tools")
def test_a_restore_over_the_live_database_brings_back_the_rows_of_the_dump(tmp_path):
    dump = tmp_path / "kursbot.dump"
    with scratch_database() as live, scratch_database() as copy:
        fill(live)
        run(with_database(documented("pg_dump"), live, dump))
        run(with_database(documented("pg_restore"), copy, dump))
        db = Database(url_of(live))  # a bad day after the dump: a course gone
        with db.transaction() as session:
            session.execute(text("DELETE FROM course"))
        db.dispose()

        restored = run(with_database(documented("pg_restore"), live, dump))

        assert (restored.returncode, restored.stderr) == (0, ""), restored.stderr[-2000:]
        assert rows_and_next_person_id(live) == rows_and_next_person_id(copy)
