"""Settings: every name of PRODUCT.md §8, and one clear line for a bad one."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest

from kurse.config import SettingsError, load_settings, parse_offsets


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in list(os.environ):
        if name.startswith(("KURSBOT_", "TELEGRAM_")) or name == "CREDENTIALS_DIRECTORY":
            monkeypatch.delenv(name)


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
        ("KURSBOT_LOG_FORMAT", "jsn"),
        ("KURSBOT_LOG_LEVEL", "LOUD"),
        ("KURSBOT_WEBHOOK_SECRET", "too-short"),
        ("KURSBOT_HEALTH_PORT", "99999"),
        ("KURSBOT_SECRETS_DIR", "/no/such/folder"),
    ],
)
def test_a_malformed_setting_stops_with_one_line_naming_it(monkeypatch, name, value):
    monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as error:
        load_settings()

    message = str(error.value)
    assert name in message
    assert "\n" not in message


def test_zero_or_unknown_offsets_are_refused():
    for bad in ("0d", "5w", "d", "7d,,x"):
        with pytest.raises(ValueError, match="is not an offset like 7d, 2h or 30m"):
            parse_offsets(bad)


def test_the_webhook_secret_log_format_level_and_health_port_are_read_from_the_env_file(tmp_path):
    (tmp_path / ".env").write_text(
        "KURSBOT_WEBHOOK_SECRET=a-secret-of-the-webhook-0123\nKURSBOT_LOG_FORMAT=JSON\n"
        "KURSBOT_LOG_LEVEL=debug\nKURSBOT_HEALTH_PORT=18443\n"
    )

    settings = load_settings()

    assert settings.kursbot_webhook_secret == "a-secret-of-the-webhook-0123"
    assert (settings.kursbot_log_format, settings.kursbot_log_level) == ("json", "DEBUG")
    assert settings.kursbot_health_port == 18443


def test_logs_are_plain_at_info_level_unless_set():
    settings = load_settings()

    assert (settings.kursbot_log_format, settings.kursbot_log_level) == ("plain", "INFO")


def secret_files(folder, **files: str):
    folder.mkdir(exist_ok=True)
    for name, value in files.items():
        (folder / name).write_text(value + "\n")  # as `echo … > file` writes it
    return folder


def test_the_token_and_the_webhook_secret_are_read_from_systemds_credentials_folder(
    monkeypatch, tmp_path
):
    credentials = secret_files(
        tmp_path / "credentials",
        telegram_bot_token="123:from-credentials",
        kursbot_webhook_secret="webhook-secret-from-credentials",
    )
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))

    settings = load_settings()

    assert settings.telegram_bot_token == "123:from-credentials"
    assert settings.kursbot_webhook_secret == "webhook-secret-from-credentials"


def test_a_setting_comes_from_the_environment_then_env_then_credentials_then_secrets_folder(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:environment")
    (tmp_path / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN=2:env-file\nKURSBOT_SECRETS_DIR={tmp_path / 'secrets'}\n"
    )
    secret_files(tmp_path / "credentials", telegram_bot_token="3:credentials")
    secret_files(tmp_path / "secrets", TELEGRAM_BOT_TOKEN="4:secrets-folder")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "credentials"))
    seen = [load_settings().telegram_bot_token]

    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    seen.append(load_settings().telegram_bot_token)
    (tmp_path / ".env").write_text(f"KURSBOT_SECRETS_DIR={tmp_path / 'secrets'}\n")
    seen.append(load_settings().telegram_bot_token)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    seen.append(load_settings().telegram_bot_token)

    assert seen == ["1:environment", "2:env-file", "3:credentials", "4:secrets-folder"]


def test_an_empty_line_in_the_env_file_does_not_hide_the_token_in_the_credentials(
    monkeypatch, tmp_path
):
    # .env.example has `TELEGRAM_BOT_TOKEN=`: a copy of it must not blank out the credential.
    (tmp_path / ".env").write_text("TELEGRAM_BOT_TOKEN=\nKURSBOT_WEBHOOK_SECRET=\n")
    secret_files(tmp_path / "credentials", telegram_bot_token="123:from-credentials")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "credentials"))

    settings = load_settings()

    assert settings.telegram_bot_token == "123:from-credentials"
    assert settings.kursbot_webhook_secret == ""


def test_the_database_password_from_a_secrets_file_goes_into_the_database_url(
    monkeypatch, tmp_path
):
    secret_files(tmp_path / "secrets", kursbot_database_password="p@ss/word:with%signs")
    monkeypatch.setenv("KURSBOT_SECRETS_DIR", str(tmp_path / "secrets"))
    monkeypatch.setenv("KURSBOT_DATABASE_URL", "postgresql://kursbot@127.0.0.1/kursbot")

    settings = load_settings()

    from sqlalchemy.engine import make_url

    url = make_url(settings.kursbot_database_url)
    assert (url.username, url.password, url.host) == (
        "kursbot",
        "p@ss/word:with%signs",
        "127.0.0.1",
    )
    assert "p@ss/word:with%signs" in settings.secrets()


@pytest.mark.parametrize(
    "url", ["postgresql://kursbot:inline@127.0.0.1/kursbot", "sqlite:///kursbot.db"]
)
def test_a_database_password_that_has_no_place_stops_with_one_line(monkeypatch, url):
    monkeypatch.setenv("KURSBOT_DATABASE_PASSWORD", "from-the-secret")
    monkeypatch.setenv("KURSBOT_DATABASE_URL", url)

    with pytest.raises(SettingsError) as error:
        load_settings()

    assert "KURSBOT_DATABASE_PASSWORD" in str(error.value)
    assert "\n" not in str(error.value)
    assert "from-the-secret" not in str(error.value)
    assert "inline" not in str(error.value)


def test_an_unreadable_secret_file_stops_with_one_line_naming_it(monkeypatch, tmp_path):
    credentials = tmp_path / "credentials"
    (credentials / "telegram_bot_token").mkdir(parents=True)  # a folder: unreadable, even as root
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))

    with pytest.raises(SettingsError) as error:
        load_settings()

    assert "TELEGRAM_BOT_TOKEN" in str(error.value)
    assert "\n" not in str(error.value)


def test_metrics_credentials_are_read_from_the_env_file_and_the_password_never_shown(tmp_path):
    (tmp_path / ".env").write_text(
        "KURSBOT_METRICS_USER=prometheus\nKURSBOT_METRICS_PASSWORD=scrape-me-9f3a\n"
    )

    settings = load_settings()

    assert settings.metrics_auth == ("prometheus", "scrape-me-9f3a")
    assert "scrape-me-9f3a" not in repr(settings)
    assert "scrape-me-9f3a" not in str(settings)


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
    assert named in message
    assert "\n" not in message
