"""`kursbot db upgrade`, `db current` and `db downgrade` as an operator runs them, on a SQLite
file and on PostgreSQL: several upgrades at once, a downgrade and the way back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from kurse import registrations as regs
from kurse.db import Database, make_engine
from kurse.migrate import newest_revision, upgrade
from kurse.models import SQLModel
from tests import builders
from tests.conftest import T0

ROOT = Path(__file__).resolve().parent.parent


def kursbot_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KURSBOT_", "TELEGRAM_"))}
    return {**env, "PYTHONPATH": str(ROOT), "KURSBOT_DATABASE_URL": database_url, **extra}


def start(*args: str, cwd: Path, database_url: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=kursbot_env(database_url, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kursbot(
    *args: str, cwd: Path, database_url: str, **extra: str
) -> subprocess.CompletedProcess[str]:
    process = start(*args, cwd=cwd, database_url=database_url, **extra)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    engine.dispose()
    return revision


def schema_differences(url: str) -> list[object]:
    engine = make_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = list(compare_metadata(context, SQLModel.metadata))
    engine.dispose()
    return differences


def agency_codes(url: str) -> list[str]:
    engine = make_engine(url)
    with engine.connect() as connection:
        codes = connection.execute(text("SELECT code FROM agency ORDER BY code")).scalars()
        found = list(codes)
    engine.dispose()
    return found


def test_three_db_upgrades_at_once_on_an_empty_database_all_succeed_one_after_another(
    tmp_path, empty_database_url
):
    processes = [
        start("db", "upgrade", cwd=tmp_path, database_url=empty_database_url) for _ in range(3)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]

    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    assert current_revision(empty_database_url) == newest_revision()
    assert schema_differences(empty_database_url) == []
    assert agency_codes(empty_database_url) == ["PD-Z", "PP-OFR"]  # seeded once


def test_db_current_names_the_revision_and_whether_it_is_the_newest(tmp_path, empty_database_url):
    newest = newest_revision()
    empty = kursbot("db", "current", cwd=tmp_path, database_url=empty_database_url)
    engine = make_engine(empty_database_url)
    upgrade(engine, "0003")
    engine.dispose()
    behind = kursbot("db", "current", cwd=tmp_path, database_url=empty_database_url)
    kursbot("db", "upgrade", cwd=tmp_path, database_url=empty_database_url)
    up_to_date = kursbot("db", "current", cwd=tmp_path, database_url=empty_database_url)

    assert [empty.returncode, behind.returncode, up_to_date.returncode] == [0, 0, 0]
    assert f"is empty (no revision); the newest is {newest}" in empty.stdout
    assert f"is at 0003; the newest is {newest}" in behind.stdout
    assert f"is at {newest}, the newest" in up_to_date.stdout
    assert all(r.stdout.count("\n") == 1 and r.stderr == "" for r in (empty, behind, up_to_date))


def test_db_current_does_not_migrate_the_database(tmp_path, empty_database_url):
    kursbot("db", "current", cwd=tmp_path, database_url=empty_database_url)

    assert current_revision(empty_database_url) is None


def test_db_downgrade_without_yes_refuses_in_one_line_and_changes_nothing(
    tmp_path, empty_database_url
):
    kursbot("db", "upgrade", cwd=tmp_path, database_url=empty_database_url)

    result = kursbot("db", "downgrade", "0003", cwd=tmp_path, database_url=empty_database_url)

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "--yes" in result.stderr
    assert f"undoes {newest_revision()}" in result.stderr
    assert current_revision(empty_database_url) == newest_revision()


def test_db_downgrade_to_an_unknown_or_later_revision_says_so_in_one_line(
    tmp_path, empty_database_url
):
    engine = make_engine(empty_database_url)
    upgrade(engine, "0002")
    engine.dispose()

    unknown = kursbot(
        "db", "downgrade", "9999", "--yes", cwd=tmp_path, database_url=empty_database_url
    )
    later = kursbot(
        "db", "downgrade", "0003", "--yes", cwd=tmp_path, database_url=empty_database_url
    )

    assert (unknown.returncode, later.returncode) == (2, 2)
    assert unknown.stderr.strip().count("\n") == 0
    assert "9999" in unknown.stderr
    assert later.stderr.strip().count("\n") == 0
    assert "is not below 0002" in later.stderr
    assert current_revision(empty_database_url) == "0002"


def test_db_downgrade_with_yes_goes_back_and_db_upgrade_comes_forward_keeping_every_row(
    tmp_path, empty_database_url
):
    kursbot("db", "upgrade", cwd=tmp_path, database_url=empty_database_url)
    db = Database(empty_database_url)
    agencies = builders.seed(db, T0)  # already there: `db upgrade` seeded them
    course = builders.course(db, T0, {"PP-OFR": 1, "PD-Z": 1})
    anna, ben = (builders.officer(db, agencies["PP-OFR"], T0, name=n) for n in ("Anna", "Ben"))
    for person in (anna, ben):  # Anna takes the seat, Ben waits
        db.call(regs.sign_up, course.id, person.id, T0)
    before = builders.snapshot(db)
    db.dispose()

    down = kursbot(
        "db", "downgrade", "0003", "--yes", cwd=tmp_path, database_url=empty_database_url
    )
    at_0003 = current_revision(empty_database_url)
    up = kursbot("db", "upgrade", cwd=tmp_path, database_url=empty_database_url)
    db = Database(empty_database_url)
    after = builders.snapshot(db)
    db.dispose()

    assert (down.returncode, up.returncode) == (0, 0), down.stderr + up.stderr
    assert at_0003 == "0003"
    assert "is at 0003 now" in down.stdout
    assert after == before  # on SQLite the person table was copied twice: no link lost
    assert schema_differences(empty_database_url) == []


def test_db_upgrade_on_a_database_a_newer_version_migrated_stops_with_one_line(
    tmp_path, empty_database_url
):
    kursbot("db", "upgrade", cwd=tmp_path, database_url=empty_database_url)
    engine = make_engine(empty_database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()

    results = [
        kursbot(*command, cwd=tmp_path, database_url=empty_database_url, TELEGRAM_BOT_TOKEN="1:a")
        for command in (("db", "upgrade"), ("db", "current"), ("run",))
    ]

    unknown = (
        f"0099, which this version of Kursbot does not know (its newest is {newest_revision()})"
    )
    for result in results:
        *logged, line = (result.stderr + result.stdout).strip().splitlines()
        assert result.returncode == 1, result
        assert all(" INFO " in entry for entry in logged), logged  # Alembic's, before it
        assert line.endswith("(docs/deployment.md)"), line
        assert unknown in line, line
