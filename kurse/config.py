"""Settings read once from the environment, `.env` and secret files (see `.env.example`).

A setting comes from the first of these places that sets it (an empty value sets nothing):

1. the process environment;
2. ``.env`` in the working folder;
3. systemd's credentials folder (``$CREDENTIALS_DIRECTORY``, from ``LoadCredential=``);
4. the folder ``KURSBOT_SECRETS_DIR`` names (e.g. ``/run/secrets`` of a container).

Only the secrets (`SECRET_FILES`) are read from the two folders, one file each, named like
the setting (``telegram_bot_token`` or ``TELEGRAM_BOT_TOKEN``).
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from sqlalchemy.engine import make_url

from kurse.holds import DEFAULT_APPROVAL_HOURS, HoldRules
from kurse.schedule import Plan

DEFAULT_DATABASE_URL = "sqlite:///kursbot.db"
_OFFSET = re.compile(r"^(\d{1,4})([dhm])$")
_UNIT = {"d": "days", "h": "hours", "m": "minutes"}


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming it."""


# The settings that may come from a file of systemd's credentials or of KURSBOT_SECRETS_DIR.
SECRET_FILES = ("telegram_bot_token", "kursbot_webhook_secret", "kursbot_database_password")
WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,256}$")  # what Telegram accepts


def parse_offsets(value: str) -> tuple[timedelta, ...]:
    """Parses ``"7d,1d,2h,30m"`` into distinct positive offsets, largest first."""
    offsets = set()
    for part in value.replace(" ", "").split(","):
        if not part:
            continue
        match = _OFFSET.match(part.lower())
        if not match or int(match.group(1)) == 0:
            raise ValueError(f"{part!r} is not an offset like 7d, 2h or 30m")
        offsets.add(timedelta(**{_UNIT[match.group(2)]: int(match.group(1))}))
    return tuple(sorted(offsets, reverse=True))


def normalise_database_url(url: str) -> str:
    """Maps plain ``postgresql://`` and ``postgres://`` URLs to the psycopg 3 driver."""
    for prefix in (
        "postgresql://",
        "postgres://",
        "postgresql+psycopg2://",
        "postgresql+asyncpg://",
    ):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("sqlite+pysqlite://") or url.startswith("sqlite://"):
        return url
    if url.startswith("postgresql+psycopg://"):
        return url
    raise ValueError("use sqlite:///path/to/file.db or postgresql://user:password@host/database")


MAX_PRIVACY_NOTICE = 3500  # characters: one Telegram message with its buttons


def read_privacy_notice(pattern: str) -> dict[str, str]:
    """Reads the privacy information per language from the files ``pattern`` names (``{lang}``
    for ``de`` and ``en``; without it one file for both); raises `ValueError` in one line."""
    if not pattern.strip():
        return {}
    found = {}
    for language in ("de", "en"):
        path = Path(pattern.strip().replace("{lang}", language))
        try:
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or type(error).__name__
            raise ValueError(f"cannot read {path}: {reason}") from None
        if not text:
            raise ValueError(f"{path} is empty")
        if len(text) > MAX_PRIVACY_NOTICE:
            raise ValueError(f"{path} is longer than {MAX_PRIVACY_NOTICE} characters")
        found[language] = text
    return found


class SecretFiles(PydanticBaseSettingsSource):
    """The secrets (`SECRET_FILES`) from systemd's credentials folder, then from the folder
    ``KURSBOT_SECRETS_DIR`` names (which the sources before this one may set)."""

    def __init__(
        self, settings_cls: type[BaseSettings], before: tuple[PydanticBaseSettingsSource, ...]
    ) -> None:
        super().__init__(settings_cls)
        self.before = before

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:  # noqa: ARG002 - the base class's signature
        """Unused: `__call__` reads every file at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        folders = []
        credentials = os.environ.get("CREDENTIALS_DIRECTORY", "").strip()
        if credentials:
            folders.append(("CREDENTIALS_DIRECTORY", Path(credentials)))
        named = next(
            (
                str(v).strip()
                for source in self.before
                if (v := source().get("kursbot_secrets_dir")) and str(v).strip()
            ),
            "",
        )
        if named:
            folders.append(("KURSBOT_SECRETS_DIR", Path(named)))
        for setting, folder in folders:
            if not folder.is_dir():
                raise SettingsError(f"Setting {setting} is invalid: {folder} is not a folder")
        found: dict[str, Any] = {}
        for name in SECRET_FILES:
            key = "TELEGRAM_BOT_TOKEN" if name == "telegram_bot_token" else name
            for _, folder in folders:
                value = _read_secret(folder, name)
                if value:
                    found[key] = value
                    break
        return found


def _read_secret(folder: Path, name: str) -> str:
    """The stripped content of ``folder/name`` (or of the upper-case name), "" if neither."""
    for path in (folder / name, folder / name.upper()):
        if not path.exists():
            continue
        try:
            return path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or type(error).__name__
            raise SettingsError(
                f"Setting {name.upper()} is invalid: cannot read {path}: {reason}"
            ) from None
    return ""


class Settings(BaseSettings):
    """Every setting of the bot; names are the environment variables (case-insensitive)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - passed by keyword; SecretFiles replaces it
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment, then `.env`, then the secret files (see the module's docstring)."""
        before = (init_settings, env_settings, dotenv_settings)
        return (*before, SecretFiles(settings_cls, before))

    telegram_bot_token: str = Field(default="", validation_alias="TELEGRAM_BOT_TOKEN")
    kursbot_database_url: str = DEFAULT_DATABASE_URL
    kursbot_admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    kursbot_telegram_api_url: str = "https://api.telegram.org"
    kursbot_reminder_offsets: Annotated[tuple[timedelta, ...], NoDecode] = (
        timedelta(days=7),
        timedelta(days=1),
    )
    kursbot_retention_days: int = Field(default=90, ge=1, le=3650)
    # How long an approver of the officer's agency has to decide a sign-up (hours; never past
    # the registration deadline, `kurse.holds`).
    kursbot_approval_hours: int = Field(default=DEFAULT_APPROVAL_HOURS, ge=2, le=24 * 30)
    # The privacy information shown before joining and by /datenschutz: a file the agencies'
    # data-protection officers approved; ``{lang}`` in the path stands for ``de`` and ``en``.
    # Empty: the built-in text of the catalogs.
    kursbot_privacy_notice: str = ""
    # Seconds a stopping bot keeps sending the messages it has claimed (systemd's
    # TimeoutStopSec must be longer); what is not sent by then is given back.
    kursbot_shutdown_grace: float = Field(default=20.0, ge=0, le=600)
    _privacy_texts: dict[str, str] = PrivateAttr(default_factory=dict)
    # Operations. The password of the database, if not in KURSBOT_DATABASE_URL (so that it
    # can come from a secret file; any character goes, no %-encoding needed).
    kursbot_database_password: str = ""
    kursbot_webhook_secret: str = ""
    kursbot_log_format: Literal["plain", "json"] = "plain"
    kursbot_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    kursbot_health_port: int | None = Field(default=None, ge=1, le=65535)
    kursbot_secrets_dir: str = ""  # read by `SecretFiles`; `kursbot check` checks its files
    # The operator's statement that a reverse proxy guards a webhook or health port that
    # listens beyond loopback (`kursbot check --deploy`).
    kursbot_behind_proxy: bool = False

    @field_validator("kursbot_log_format", mode="before")
    @classmethod
    def _log_format(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("kursbot_log_level", mode="before")
    @classmethod
    def _log_level(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("kursbot_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: str) -> str:
        value = value.strip()
        if value and not WEBHOOK_SECRET.match(value):
            raise ValueError("expected 16 to 256 letters, digits, _ or -")
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token(cls, value: str) -> str:
        return value.strip()

    @field_validator("kursbot_database_password")
    @classmethod
    def _database_password(cls, value: str, info: ValidationInfo) -> str:
        url = info.data.get("kursbot_database_url")
        if value and url is not None:
            if url.startswith("sqlite"):
                raise ValueError("the database is SQLite, which has no password")
            if make_url(url).password is not None:
                raise ValueError("KURSBOT_DATABASE_URL has a password too; keep one")
        return value

    @model_validator(mode="after")
    def _password_into_url(self) -> Settings:
        if self.kursbot_database_password:
            url = make_url(self.kursbot_database_url).set(password=self.kursbot_database_password)
            self.kursbot_database_url = url.render_as_string(hide_password=False)
        return self

    def secrets(self) -> tuple[str, ...]:
        """The values no log line may show: the token, the webhook secret, the database
        password (empty ones left out)."""
        password = make_url(self.kursbot_database_url).password
        found = (self.telegram_bot_token, self.kursbot_webhook_secret, str(password or ""))
        return tuple(value for value in found if value)

    @field_validator("kursbot_privacy_notice")
    @classmethod
    def _privacy_notice(cls, value: str) -> str:
        read_privacy_notice(value)  # a missing or unreadable file stops the start here
        return value.strip()

    @model_validator(mode="after")
    def _keep_privacy_notice(self) -> Settings:
        self._privacy_texts = read_privacy_notice(self.kursbot_privacy_notice)
        return self

    def privacy_notice(self, language: str) -> str | None:
        """The configured privacy information in ``language``, or None (built-in text)."""
        return self._privacy_texts.get(language)

    @property
    def hold_rules(self) -> HoldRules:
        """The rules of held seats these settings ask for (the approval time)."""
        return HoldRules(approval_hours=self.kursbot_approval_hours)

    @property
    def plan(self) -> Plan:
        """The timed work these settings ask for (reminder offsets, retention)."""
        return Plan(self.kursbot_reminder_offsets, self.kursbot_retention_days)

    @field_validator("kursbot_database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return normalise_database_url(value.strip())

    @field_validator("kursbot_admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(p.isdigit() for p in parts):
                raise ValueError("expected Telegram user ids separated by commas, e.g. 123,456")
            return tuple(int(p) for p in parts)
        return value

    @field_validator("kursbot_reminder_offsets", mode="before")
    @classmethod
    def _offsets(cls, value: Any) -> Any:
        return parse_offsets(value) if isinstance(value, str) else value

    @field_validator("kursbot_telegram_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("expected an http:// or https:// address")
        return value

    # Basic auth for /metrics on the health port (`bot.health`): both set, or neither (then
    # /metrics is open to whoever reaches the port).
    kursbot_metrics_user: str = ""
    kursbot_metrics_password: SecretStr = Field(default=SecretStr(""), validate_default=True)

    @field_validator("kursbot_metrics_user")
    @classmethod
    def _metrics_user(cls, value: str) -> str:
        if ":" in value:
            raise ValueError("a user name for basic auth cannot contain ':'")
        return value.strip()

    @field_validator("kursbot_metrics_password")
    @classmethod
    def _metrics_password(cls, value: SecretStr, info: ValidationInfo) -> SecretStr:
        if bool(info.data.get("kursbot_metrics_user")) != bool(value.get_secret_value()):
            raise ValueError("set it together with KURSBOT_METRICS_USER, or neither")
        return value

    @property
    def metrics_auth(self) -> tuple[str, str] | None:
        """The user and password /metrics asks for, or None (no auth)."""
        if not self.kursbot_metrics_user:
            return None
        return self.kursbot_metrics_user, self.kursbot_metrics_password.get_secret_value()


def load_settings(**overrides: Any) -> Settings:
    """Reads the settings; raises `SettingsError` whose one-line message names the bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        name = "TELEGRAM_BOT_TOKEN" if field == "telegram_bot_token" else field.upper()
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"Setting {name} is invalid: {message}") from None
