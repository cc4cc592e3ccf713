"""What `kursbot check` finds wrong with an installation, one line per problem.

Each function returns the problems it found (an empty list: none) and changes nothing: no
migration, no file created. The lines are for the operator, in English.
"""

from __future__ import annotations

import ipaddress
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from kurse import migrate, people
from kurse.config import SECRET_FILES, WEBHOOK_SECRET, Settings

# What @BotFather hands out: the bot's id, a colon, a key of 35 characters today.
TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{30,}$")
# Bits of a file with secrets that must be off: anything for others, writing for the group
# (a group that reads it is fine: root owns the file, the service's group reads it).
OPEN_BITS = stat.S_IRWXO | stat.S_IWGRP


@dataclass(frozen=True)
class Listening:
    """What `kursbot run` with the same options would open: webhook and health port."""

    webhook: bool = False
    url: str | None = None
    secret_token: str | None = None  # given on the command line
    listen: str = "127.0.0.1"
    health_port: int | None = None


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and the loopback addresses (127.0.0.0/8, ::1)."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost, or "" (every address)


def token_problems(settings: Settings) -> list[str]:
    """The token is set and looks like one from @BotFather (never shown)."""
    token = settings.telegram_bot_token
    if not token:
        return [
            "TELEGRAM_BOT_TOKEN is not set: put the token from @BotFather into .env, a systemd "
            "credential telegram_bot_token or a file in KURSBOT_SECRETS_DIR"
        ]
    if not TOKEN.match(token):
        return [
            "TELEGRAM_BOT_TOKEN does not look like a token from @BotFather (digits, a colon, "
            "30 or more letters, digits, _ or -)"
        ]
    return []


def file_problems(settings: Settings, env_file: Path) -> list[str]:
    """``.env`` and the secret files of ``KURSBOT_SECRETS_DIR`` are closed to other users."""
    paths = [env_file]
    if settings.kursbot_secrets_dir:
        folder = Path(settings.kursbot_secrets_dir)
        paths += [folder / n for name in SECRET_FILES for n in (name, name.upper())]
    found = []
    for path in paths:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & OPEN_BITS:
            found.append(
                f"{path} can be read or changed by other users (mode {mode:04o}): "
                f"chmod 600 {path} (or 640, owned by root, in the service's group)"
            )
    return found


def webhook_problems(settings: Settings, listening: Listening) -> list[str]:
    """A webhook needs an https:// address and a secret token Telegram accepts."""
    if not listening.webhook:
        return []
    found = []
    if not listening.url or not listening.url.startswith("https://"):
        found.append("--webhook needs --url with an https:// address: Telegram posts only there")
    secret = listening.secret_token or settings.kursbot_webhook_secret
    if not WEBHOOK_SECRET.match(secret):
        found.append(
            "--webhook needs a secret token of 16 to 256 letters, digits, _ or - "
            "(KURSBOT_WEBHOOK_SECRET or --secret-token)"
        )
    return found


def schema_problems(connection: Connection) -> list[str]:
    """The database is at the newest revision of the migrations."""
    state = migrate.read_schema_state(connection)
    if state.is_newest:
        return []
    if state.current is None:
        return ["The database has no schema yet: run `kursbot db upgrade`"]
    at, to = state.current, state.newest
    if not state.known:
        return [
            f"The database is at revision {at}, which this version of Kursbot does not know "
            f"(its newest is {to}): was it upgraded by a newer version?"
        ]
    return [
        f"The database schema is at revision {at}, the newest is {to}: run `kursbot db upgrade`"
    ]


def admin_problems(settings: Settings, session: Session | None) -> list[str]:
    """Someone can administer the bot: ``KURSBOT_ADMIN_IDS`` or an admin in the database
    (``session`` None: the database cannot tell)."""
    if settings.kursbot_admin_ids or (session is not None and people.admins(session, ())):
        return []
    return [
        "No admin: set KURSBOT_ADMIN_IDS to the Telegram user ids of the training offices' admins"
    ]


def deploy_problems(settings: Settings, listening: Listening) -> list[str]:
    """What production should not run with: SQLite, a listener beyond this host that no
    proxy guards, the token sent unencrypted to another host."""
    found = []
    if settings.kursbot_database_url.startswith("sqlite"):
        found.append("The database is SQLite: run production on PostgreSQL (docs/deployment.md)")
    opens = listening.webhook or listening.health_port is not None
    if opens and not is_loopback(listening.listen) and not settings.kursbot_behind_proxy:
        where = listening.listen or "every address"
        found.append(
            f"kursbot run would listen on {where}, beyond this host: --listen 127.0.0.1 "
            "behind the reverse proxy, or set KURSBOT_BEHIND_PROXY=true if a proxy or "
            "firewall guards that address"
        )
    api = urlsplit(settings.kursbot_telegram_api_url)
    if api.scheme != "https" and not is_loopback(api.hostname or ""):
        found.append(
            f"KURSBOT_TELEGRAM_API_URL is {api.scheme}:// to {api.hostname}, another host: "
            "the token would travel unencrypted; use https://"
        )
    return found
