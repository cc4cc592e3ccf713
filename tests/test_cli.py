"""The ``kursbot`` command as a new user meets it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, inspect


def kursbot(*args: str, cwd, env_extra=None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KURSBOT_", "TELEGRAM_"))}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def project_env():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return {"PYTHONPATH": root}


def test_run_without_a_token_says_in_one_line_what_to_set(tmp_path, project_env):
    result = kursbot("run", cwd=tmp_path, env_extra=project_env)

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "TELEGRAM_BOT_TOKEN" in result.stderr


def test_a_malformed_setting_stops_start_up_with_one_line(tmp_path, project_env):
    result = kursbot(
        "run", cwd=tmp_path, env_extra={**project_env, "KURSBOT_RETENTION_DAYS": "viele"}
    )

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "KURSBOT_RETENTION_DAYS" in result.stderr


def test_db_upgrade_creates_the_schema_and_seeds_the_agencies(tmp_path, project_env):
    result = kursbot("db", "upgrade", cwd=tmp_path, env_extra=project_env)
    listing = kursbot("agencies", cwd=tmp_path, env_extra=project_env)

    assert result.returncode == 0, result.stderr
    engine = create_engine(f"sqlite:///{tmp_path / 'kursbot.db'}")
    assert "registration" in inspect(engine).get_table_names()
    engine.dispose()
    assert [line.split()[0] for line in listing.stdout.splitlines()] == ["PD-Z", "PP-OFR"]


def unreachable_databases(tmp_path) -> dict[str, str]:
    """Databases that cannot be opened: nothing listens on port 1; a folder that does not
    exist; a folder that is a file (so nothing can be created in it, even as root)."""
    (tmp_path / "a-file").write_text("not a folder")
    return {
        "postgres": "postgresql://kursbot:secretpw@127.0.0.1:1/kursbot",
        "sqlite-missing-folder": f"sqlite:///{tmp_path / 'missing' / 'kursbot.db'}",
        "sqlite-file-as-folder": f"sqlite:///{tmp_path / 'a-file' / 'kursbot.db'}",
    }


@pytest.mark.parametrize("command", [("run",), ("db", "upgrade")], ids=["run", "db-upgrade"])
@pytest.mark.parametrize(
    "database", ["postgres", "sqlite-missing-folder", "sqlite-file-as-folder"]
)
def test_an_unreachable_database_stops_start_up_with_one_line_naming_it_without_the_password(
    tmp_path, project_env, command, database
):
    url = unreachable_databases(tmp_path)[database]
    env = {**project_env, "KURSBOT_DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": "123:abc"}

    result = kursbot(*command, cwd=tmp_path, env_extra=env)

    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "secretpw" not in result.stderr + result.stdout
    named = "kursbot:***@127.0.0.1:1/kursbot" if database == "postgres" else url
    assert lines[0].startswith("Cannot open the database ")
    assert named in lines[0]


def test_json_log_lines_carry_the_update_and_user_id():
    import json
    import logging

    from bot.logs import JsonLines

    record = logging.LogRecord(
        "kursbot.errors",
        logging.ERROR,
        __file__,
        1,
        "update %s from user %s failed",
        (7, 42),
        None,
    )
    record.update_id, record.user_id = 7, 42

    entry = json.loads(JsonLines().format(record))

    assert (entry["level"], entry["message"], entry["update_id"], entry["user_id"]) == (
        "ERROR",
        "update 7 from user 42 failed",
        7,
        42,
    )


def test_the_process_tuning_freezes_what_lives_from_start_and_collects_young_objects_less_often():
    # In a process of its own: the tuning is for the whole process (bot/process.py).
    script = (
        "import gc, bot.app; from bot.process import tune_garbage_collector, YOUNG_THRESHOLD\n"
        "before = gc.get_threshold()[0]\n"
        "tune_garbage_collector()\n"
        "print(before, gc.get_threshold()[0], gc.get_freeze_count() > 10_000, YOUNG_THRESHOLD)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "700"  # CPython's default, for comparison
    assert out[1] == out[3] == "10000"
    assert out[2] == "True"  # the bot's modules, loaded so far, are frozen


def test_report_writes_the_pdf_and_csv_of_a_period_in_the_language_asked(tmp_path, project_env):
    from datetime import datetime
    from io import BytesIO

    from pypdf import PdfReader

    from kurse import agencies
    from kurse.clock import BERLIN
    from kurse.db import Database
    from tests import builders

    env = {**project_env, "KURSBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'kursbot.db'}"}
    assert kursbot("db", "upgrade", cwd=tmp_path, env_extra=env).returncode == 0
    db = Database(env["KURSBOT_DATABASE_URL"])
    now = datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN)
    with db.transaction() as session:
        host = agencies.get_agency(session, "PD-Z").id
    start = datetime(2027, 2, 9, 9, 0, tzinfo=BERLIN)
    builders.course(db, now, {"PP-OFR": 3, "PD-Z": 4}, host_agency_id=host, start_at=start)
    db.dispose()

    result = kursbot(
        "report",
        "--from",
        "2027-01-01",
        "--to",
        "30.06.2027",
        "--out",
        "b.pdf",
        "--csv",
        "b.csv",
        "--language",
        "en",
        cwd=tmp_path,
        env_extra=env,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("01.01.2027–30.06.2027")
    pages = PdfReader(BytesIO((tmp_path / "b.pdf").read_bytes())).pages
    text = " ".join(" ".join(page.extract_text().split()) for page in pages)
    assert "Figures of the cooperation" in text
    assert "Seats in own courses 7 0 7" in text
    assert (tmp_path / "b.csv").read_bytes().startswith("\ufeffAgency;Name;".encode())


@pytest.mark.parametrize(
    ("start", "end", "said"),
    [
        ("2027-06-30", "2027-01-01", "The period ends before it begins"),
        ("31.02.2027", "2027-06-30", "“31.02.2027” is not a day in the calendar"),
        ("2027-01-01", "", "“” is not a day in the calendar"),
    ],
)
def test_report_refuses_a_bad_period_in_one_line_and_writes_nothing(
    tmp_path, project_env, start, end, said
):
    args = ["report", "--from", start, "--language", "en", "--out", "b.pdf"]
    result = kursbot(*args, *(["--to", end] if end else []), cwd=tmp_path, env_extra=project_env)

    assert result.returncode == 2
    assert said in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert not (tmp_path / "b.pdf").exists()
