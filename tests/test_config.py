"""Settings: every name of PRODUCT.md §8, and one clear line for a bad one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kurse.config import SettingsError, load_settings, parse_offsets


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "KURSBOT_DATABASE_URL",
        "KURSBOT_ADMIN_IDS",
        "KURSBOT_TELEGRAM_API_URL",
        "KURSBOT_REMINDER_OFFSETS",
        "KURSBOT_RETENTION_DAYS",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_need_no_configuration():
    settings = load_settings()

    assert settings.kursbot_database_url == "sqlite:///kursbot.db"
    assert settings.kursbot_reminder_offsets == (timedelta(days=7), timedelta(days=1))
    assert settings.kursbot_retention_days == 90
    assert settings.telegram_bot_token == ""


def test_settings_are_read_from_the_environment_and_the_env_file(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text(
        "TELEGRAM_BOT_TOKEN=123:abc\nKURSBOT_ADMIN_IDS=11, 22\n"
        "KURSBOT_DATABASE_URL=postgresql://kb:pw@db/kursbot\n"
    )
    monkeypatch.setenv("KURSBOT_REMINDER_OFFSETS", "2h,7d,30m")

    settings = load_settings()

    assert settings.telegram_bot_token == "123:abc"
    assert settings.kursbot_admin_ids == (11, 22)
    assert settings.kursbot_database_url == "postgresql+psycopg://kb:pw@db/kursbot"
    assert settings.kursbot_reminder_offsets == (
        timedelta(days=7),
        timedelta(hours=2),
        timedelta(minutes=30),
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("KURSBOT_ADMIN_IDS", "12,abc"),
        ("KURSBOT_REMINDER_OFFSETS", "7 days"),
        ("KURSBOT_RETENTION_DAYS", "-3"),
        ("KURSBOT_DATABASE_URL", "mysql://x"),
        ("KURSBOT_TELEGRAM_API_URL", "localhost:8081"),
    ],
)
def test_a_malformed_setting_stops_with_one_line_naming_it(monkeypatch, name, value):
    monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as error:
        load_settings()

    message = str(error.value)
    assert name in message and "\n" not in message


def test_zero_or_unknown_offsets_are_refused():
    for bad in ("0d", "5w", "d", "7d,,x"):
        with pytest.raises(ValueError):
            parse_offsets(bad)


def test_metrics_credentials_are_read_from_the_env_file_and_the_password_never_shown(tmp_path):
    (tmp_path / ".env").write_text(
        "KURSBOT_METRICS_USER=prometheus\nKURSBOT_METRICS_PASSWORD=scrape-me-9f3a\n"
    )

    settings = load_settings()

    assert settings.metrics_auth == ("prometheus", "scrape-me-9f3a")
    assert "scrape-me-9f3a" not in repr(settings) and "scrape-me-9f3a" not in str(settings)


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"KURSBOT_METRICS_USER": "prometheus"}, "KURSBOT_METRICS_PASSWORD"),
        ({"KURSBOT_METRICS_PASSWORD": "scrape-me"}, "KURSBOT_METRICS_PASSWORD"),
        ({"KURSBOT_METRICS_USER": "a:b", "KURSBOT_METRICS_PASSWORD": "x"}, "KURSBOT_METRICS_USER"),
    ],
)
def test_metrics_credentials_come_as_a_pair_without_a_colon_in_the_name(monkeypatch, given, named):
    for name in ("KURSBOT_METRICS_USER", "KURSBOT_METRICS_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for name, value in given.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as error:
        load_settings()

    message = str(error.value)
    assert named in message and "\n" not in message
