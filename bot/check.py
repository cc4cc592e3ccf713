"""``kursbot check [--deploy] [--online]``: every problem of the installation, one line each.

The checks themselves are in `kurse.checks`; here they are put in order, the database is
opened (read only: nothing is migrated, no SQLite file created) and, with ``--online``, the
Bot API asked who the bot is.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from kurse import checks
from kurse.checks import Listening
from kurse.config import Settings
from kurse.db import Database


def run_check(
    settings: Settings, listening: Listening, *, deploy: bool, online: bool
) -> tuple[list[str], str]:
    """The problems found, and the "ok" line to print if there are none."""
    problems = [
        *checks.token_problems(settings),
        *checks.webhook_problems(settings, listening),
        *checks.file_problems(settings, Path(".env")),
        *database_problems(settings),
    ]
    if deploy:
        problems += checks.deploy_problems(settings, listening)
    where = make_url(settings.kursbot_database_url).render_as_string(hide_password=True)
    ok = f"ok: database {where} at the newest revision"
    if online and settings.telegram_bot_token:
        from bot.botapi import BotApiUnavailable, get_me  # telegram is only needed here

        try:
            ok += f", bot @{get_me(settings).username}"
        except BotApiUnavailable as error:
            problems.append(str(error))
    return problems, ok


def database_problems(settings: Settings) -> list[str]:
    """The database can be opened and is at the newest revision; an admin exists."""
    url = make_url(settings.kursbot_database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(str(url.database))
        if not path.parent.is_dir():
            return [f"Cannot open the database {url}: the folder {path.parent} does not exist"]
        if not path.exists():  # opening it would create it
            return [
                f"The database file {path} does not exist: run `kursbot db upgrade`",
                *checks.admin_problems(settings, None),
            ]
    db = Database(settings.kursbot_database_url, pool_size=1)
    try:
        with db.transaction(readonly=True) as session:
            found = checks.schema_problems(session.connection())
        try:
            with db.transaction(readonly=True) as session:
                found += checks.admin_problems(settings, session)
        except SQLAlchemyError:  # no schema yet (or one too old): no admin in it
            found += checks.admin_problems(settings, None)
    except OperationalError as error:
        return [cannot_open(db.engine.url, error)]
    finally:
        db.dispose()
    return found


def cannot_open(url: URL, error: OperationalError) -> str:
    """``Cannot open the database <url without password>: <the driver's first line>``."""
    reason = next(iter(str(error.orig).strip().splitlines()), "") or type(error.orig).__name__
    if url.password:
        reason = reason.replace(str(url.password), "***")
    where = url.render_as_string(hide_password=True)
    return f"Cannot open the database {where}: {reason.removeprefix('connection failed: ')}"
