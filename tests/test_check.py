"""`kursbot check` as an operator runs it before a start: one line per problem, exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.runtime.migration import MigrationContext

from kurse.db import make_engine
from kurse.migrate import upgrade
from kurse.models import Person
from tests import builders
from tests.fake_bot_api import GOOD_TOKEN, fake_bot_api

ROOT = Path(__file__).resolve().parent.parent
WRONG_TOKEN = "999999:BBB-a_token_the_bot_api_refuses-01234"
SECRET = "webhook-secret-for-the-check-tests"


def kursbot(*args: str, cwd: Path, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KURSBOT_", "TELEGRAM_")) and k != "CREDENTIALS_DIRECTORY"
    }
    env.update({"PYTHONPATH": str(ROOT), **env_extra})
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write_env(folder: Path, mode: int = 0o600, **settings: str) -> Path:
    path = folder / ".env"
    path.write_text("".join(f"{name}={value}\n" for name, value in settings.items()))
    path.chmod(mode)
    return path


def ready(folder: Path, database_url: str, **more: str) -> Path:
    """A `.env` of an installation that is ready to start: token, admin, database."""
    return write_env(
        folder,
        TELEGRAM_BOT_TOKEN=GOOD_TOKEN,
        KURSBOT_ADMIN_IDS="4242",
        KURSBOT_DATABASE_URL=database_url,
        **more,
    )


def revision(url: str) -> str | None:
    engine = make_engine(url)
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    engine.dispose()
    return current


def test_check_on_a_ready_installation_prints_one_ok_line_and_exits_0(tmp_path, database_url):
    ready(tmp_path, database_url)

    result = kursbot("check", cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert len(result.stdout.splitlines()) == 1, result.stdout
    assert result.stdout.startswith("ok"), result.stdout
    assert result.stderr == ""


def test_check_names_each_problem_in_one_line_and_exits_1_without_creating_the_database(
    tmp_path,
):
    write_env(tmp_path, mode=0o644, TELEGRAM_BOT_TOKEN="123:short")

    result = kursbot("check", cwd=tmp_path)

    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert len(lines) == 4, result.stdout
    assert "TELEGRAM_BOT_TOKEN" in lines[0]
    assert "123:short" not in result.stdout
    assert ".env" in lines[1]
    assert "0644" in lines[1]
    assert "kursbot.db" in lines[2]
    assert "kursbot db upgrade" in lines[2]
    assert "KURSBOT_ADMIN_IDS" in lines[3]
    assert not (tmp_path / "kursbot.db").exists()


def test_check_reports_an_old_schema_and_leaves_it_as_it_is(tmp_path):
    url = f"sqlite:///{tmp_path / 'kursbot.db'}"
    engine = make_engine(url)
    upgrade(engine, "0003")
    engine.dispose()
    ready(tmp_path, url)

    result = kursbot("check", cwd=tmp_path)

    assert result.returncode == 1
    assert len(result.stdout.splitlines()) == 1, result.stdout
    assert "0003" in result.stdout
    assert "kursbot db upgrade" in result.stdout
    assert revision(url) == "0003"


def test_check_counts_an_admin_made_in_the_database(tmp_path, database_url, db, agencies, clock):
    person = builders.officer(db, agencies["PD-Z"], clock.now())
    with db.transaction() as session:
        session.get(Person, person.id).is_admin = True
    write_env(tmp_path, TELEGRAM_BOT_TOKEN=GOOD_TOKEN, KURSBOT_DATABASE_URL=database_url)

    result = kursbot("check", cwd=tmp_path)

    assert (result.returncode, result.stdout[:2]) == (0, "ok"), result.stdout


def test_check_reports_an_unreachable_database_in_one_line_without_its_password(tmp_path):
    ready(tmp_path, "postgresql://kursbot:secretpw@127.0.0.1:1/kursbot")

    result = kursbot("check", cwd=tmp_path)

    assert result.returncode == 1
    assert result.stdout.splitlines() == [result.stdout.strip()], result.stdout
    assert result.stdout.startswith("Cannot open the database ")
    assert "kursbot:***@127.0.0.1:1/kursbot" in result.stdout
    assert "secretpw" not in result.stdout + result.stderr


def test_check_stops_with_one_line_and_exit_2_on_a_setting_it_cannot_read(tmp_path):
    write_env(tmp_path, KURSBOT_LOG_FORMAT="jsn")

    result = kursbot("check", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "KURSBOT_LOG_FORMAT" in result.stderr


def test_check_of_a_webhook_needs_an_https_address_and_a_secret(tmp_path, database_url):
    ready(tmp_path, database_url)

    result = kursbot("check", "--webhook", "--url", "http://kurse.example/telegram", cwd=tmp_path)

    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert len(lines) == 2, result.stdout
    assert "https://" in lines[0]
    assert "KURSBOT_WEBHOOK_SECRET" in lines[1]


def test_check_deploy_reports_sqlite_a_listener_beyond_loopback_and_a_plain_http_api(tmp_path):
    url = f"sqlite:///{tmp_path / 'kursbot.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    ready(
        tmp_path,
        url,
        KURSBOT_WEBHOOK_SECRET=SECRET,
        KURSBOT_TELEGRAM_API_URL="http://bot-api.example:8081",
    )

    result = kursbot(
        *("check", "--deploy", "--webhook", "--url", "https://kurse.example/telegram"),
        *("--listen", "0.0.0.0"),
        cwd=tmp_path,
    )

    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert len(lines) == 3, result.stdout
    assert "SQLite" in lines[0]
    assert "PostgreSQL" in lines[0]
    assert "0.0.0.0" in lines[1]
    assert "KURSBOT_BEHIND_PROXY" in lines[1]
    assert "KURSBOT_TELEGRAM_API_URL" in lines[2]
    assert "https" in lines[2]


@pytest.mark.parametrize(
    ("listen", "more"),
    [
        ("127.0.0.1", {}),
        ("::1", {}),
        ("0.0.0.0", {"KURSBOT_BEHIND_PROXY": "true"}),
    ],
    ids=["ipv4-loopback", "ipv6-loopback", "behind-a-proxy"],
)
def test_check_deploy_accepts_a_guarded_listener_and_a_local_bot_api(
    tmp_path, database_url, backend, listen, more
):
    ready(
        tmp_path,
        database_url,
        KURSBOT_WEBHOOK_SECRET=SECRET,
        KURSBOT_TELEGRAM_API_URL="http://127.0.0.1:8081",
        KURSBOT_HEALTH_PORT="18443",
        **more,
    )

    result = kursbot(
        *("check", "--deploy", "--webhook", "--url", "https://kurse.example/telegram"),
        *("--listen", listen),
        cwd=tmp_path,
    )

    if backend == "sqlite":  # the one problem left: production runs on PostgreSQL
        assert result.returncode == 1
        assert len(result.stdout.splitlines()) == 1
        assert "SQLite" in result.stdout
    else:
        assert (result.returncode, result.stdout[:2]) == (0, "ok"), result.stdout


def test_check_online_asks_the_bot_api_with_the_token_from_systemds_credentials(
    tmp_path, database_url
):
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "telegram_bot_token").write_text(GOOD_TOKEN + "\n")
    write_env(tmp_path, KURSBOT_ADMIN_IDS="4242", KURSBOT_DATABASE_URL=database_url)

    with fake_bot_api() as api:
        result = kursbot(
            "check",
            "--online",
            cwd=tmp_path,
            CREDENTIALS_DIRECTORY=str(credentials),
            KURSBOT_TELEGRAM_API_URL=api.url,
        )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok")
    assert "@k_bot" in result.stdout
    assert api.tokens == [GOOD_TOKEN]
    assert GOOD_TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize("failure", ["refused-token", "unreachable-api"])
def test_check_online_reports_a_refused_token_or_an_unreachable_api_in_one_line(
    tmp_path, database_url, failure
):
    token = WRONG_TOKEN if failure == "refused-token" else GOOD_TOKEN
    ready(tmp_path, database_url)
    (tmp_path / ".env").write_text((tmp_path / ".env").read_text().replace(GOOD_TOKEN, token))

    with fake_bot_api() as api:
        url = api.url if failure == "refused-token" else "http://127.0.0.1:1"
        result = kursbot("check", "--online", cwd=tmp_path, KURSBOT_TELEGRAM_API_URL=url)

    lines = result.stdout.splitlines()
    assert result.returncode == 1
    assert len(lines) == 1, result.stdout + result.stderr
    assert url in lines[0]
    assert ("refused the token" if failure == "refused-token" else "Cannot reach") in lines[0]
    assert token not in result.stdout + result.stderr
    assert token.split(":")[1] not in result.stdout + result.stderr
