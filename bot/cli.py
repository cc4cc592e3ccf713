"""The ``kursbot`` command: ``kursbot run``, ``kursbot check`` and ``kursbot db upgrade``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from bot import render_figures
from bot.check import cannot_open, run_check
from bot.i18n import texts
from bot.logs import configure as configure_logging
from kurse import agencies, charts, figures, migrate, periods, report, schedule
from kurse.checks import Listening
from kurse.clock import SystemClock
from kurse.config import WEBHOOK_SECRET, Settings, SettingsError, load_settings
from kurse.db import Database
from kurse.errors import PeriodInvalid
from kurse.migrate import new_revision, upgrade

log = logging.getLogger("kursbot")


class DatabaseUnavailable(Exception):
    """The database cannot be opened; the message is one line naming it (no password)."""


class SchemaTooNew(DatabaseUnavailable):
    """A newer version of Kursbot migrated the database: this one cannot use it."""

    def __init__(self, url: URL, error: migrate.UnknownRevision) -> None:
        super().__init__(
            f"{url.render_as_string()} is at {error.revision}, which this version of Kursbot "
            f"does not know (its newest is {error.newest}): a newer version migrated it; undo "
            f"that with the newer version (kursbot db downgrade {error.newest} --yes) or "
            "restore the backup made before the upgrade (docs/deployment.md)"
        )


def prepare_database(settings: Settings) -> Database:
    """Opens the database, applies every migration and seeds the founding agencies. (The bot
    re-plans every course's timed work when its Application starts, `bot.jobs.replan`.)"""
    db = Database(settings.kursbot_database_url)
    try:
        upgrade(db.engine)
        with db.transaction() as session:
            migrate.lock_schema(session.connection())  # two starts at once seed once
            now = SystemClock().now()
            created = agencies.seed_agencies(session, now)
    except OperationalError as error:  # not there, refused, wrong password, no such folder
        db.dispose()
        raise DatabaseUnavailable(cannot_open(db.engine.url, error)) from None
    except migrate.DatabaseNewer as error:
        db.dispose()
        raise SchemaTooNew(db.engine.url, error) from None
    for agency in created:
        log.info("Created agency %s; `kursbot agencies` shows its access code", agency.code)
    return db


def _run(settings: Settings, args: argparse.Namespace) -> int:
    if not settings.telegram_bot_token:
        print(
            "TELEGRAM_BOT_TOKEN is not set: put the token from @BotFather into .env "
            "(see .env.example) and start again.",
            file=sys.stderr,
        )
        return 2
    from bot.app import Services, build_application  # telegram is only needed here
    from bot.botapi import BotApiUnavailable, initialize
    from bot.process import tune_garbage_collector
    from bot.throttle import Throttle

    if args.webhook:
        secret = args.secret_token or settings.kursbot_webhook_secret
        if not args.url or not WEBHOOK_SECRET.match(secret):
            print(
                "kursbot run --webhook needs --url and a secret token of 16 to 256 letters, "
                "digits, _ or - (--secret-token or KURSBOT_WEBHOOK_SECRET).",
                file=sys.stderr,
            )
            return 2
    db = prepare_database(settings)
    application = build_application(Services(db, SystemClock(), settings), throttle=Throttle())
    # getMe on the event loop that run_polling / run_webhook go on with (PTB's own start then
    # skips it): a refused token or an unreachable Bot API is one line, not a traceback.
    asyncio.set_event_loop(loop := asyncio.new_event_loop())
    try:
        loop.run_until_complete(initialize(application.bot, settings))
    except BotApiUnavailable as error:
        print(error, file=sys.stderr)
        return 1
    charts.preload()  # matplotlib and its font before the first /statistik (bench/README.md)
    tune_garbage_collector()  # after start-up: see bot/process.py
    where = db.engine.url.render_as_string()
    health_port = args.health_port or settings.kursbot_health_port
    if health_port:
        from bot.health import start_health_server
        from bot.jobs import SWEEP
        from bot.liveness import Liveness, polling_threshold

        metrics = application.bot_data["metrics"]
        liveness = Liveness(
            metrics.heartbeat,
            webhook=args.webhook,
            updates_within=args.updates_stale_after or polling_threshold(),
            sweep_within=2 * SWEEP.total_seconds(),
        )
        auth = settings.metrics_auth
        start_health_server(
            db, args.listen, health_port, liveness=liveness, metrics=metrics, auth=auth
        )
        log.info(
            "Health port http://%s:%s: /healthz, /livez, /metrics%s",
            args.listen,
            health_port,
            " (basic auth)" if auth else "",
        )
    if args.webhook:
        # Telegram sends the secret in X-Telegram-Bot-Api-Secret-Token; PTB's webhook server
        # answers 403 to every request without the right one, before any handler runs.
        log.info(
            "Kursbot listens on %s:%s for %s (database: %s)",
            args.listen,
            args.port,
            args.url,
            where,
        )
        application.run_webhook(
            listen=args.listen,
            port=args.port,
            url_path=args.url_path,
            webhook_url=args.url,
            secret_token=secret,
        )
    else:
        log.info("Kursbot polls for updates (database: %s)", where)
        application.run_polling()
    db.dispose()
    return 0


def _chat(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio
    import contextlib

    from bot.chat import run_chat  # telegram is only needed here

    if args.admin:
        settings = settings.model_copy(
            update={"kursbot_admin_ids": (*settings.kursbot_admin_ids, args.user)}
        )
    logging.getLogger().setLevel(logging.WARNING)  # the chat is the output here
    db = prepare_database(settings)
    chat = run_chat(
        settings,
        db,
        user_id=args.user,
        name=args.name,
        language=args.language,
        load_demo=args.demo,
        files=Path(args.files),
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C leaves as /quit does
        asyncio.run(chat)
    db.dispose()
    return 0


def upgrade_database(settings: Settings) -> Database:
    """`kursbot db upgrade`: `prepare_database`, then every course's timed work re-planned
    against the settings, as a start of the bot would (courses older than a kind of timed
    work get it without waiting for the next start)."""
    db = prepare_database(settings)
    db.call(schedule.replan_all, settings.plan, SystemClock().now())
    return db


def _db_upgrade(settings: Settings) -> int:
    db = upgrade_database(settings)
    print(f"Database is up to date: {db.engine.url.render_as_string()}")
    db.dispose()
    return 0


def _check(settings: Settings, args: argparse.Namespace) -> int:
    logging.getLogger().setLevel(logging.WARNING)  # the report is the output here
    listening = Listening(
        webhook=args.webhook,
        url=args.url,
        secret_token=args.secret_token,
        listen=args.listen,
        health_port=args.health_port or settings.kursbot_health_port,
    )
    problems, ok = run_check(settings, listening, deploy=args.deploy, online=args.online)
    print("\n".join(problems or [ok]))
    return 1 if problems else 0


def _db_current(settings: Settings) -> int:
    """Prints the database's revision and whether it is the newest; migrates nothing."""
    _quiet_alembic()
    db = Database(settings.kursbot_database_url)
    where = db.engine.url.render_as_string()
    try:
        state = migrate.schema_state(db.engine)
    except OperationalError as error:
        raise DatabaseUnavailable(cannot_open(db.engine.url, error)) from None
    finally:
        db.dispose()
    if state.current is None:
        print(
            f"{where} is empty (no revision); the newest is {state.newest}: "
            "kursbot db upgrade creates the schema"
        )
    elif not state.known:
        raise SchemaTooNew(db.engine.url, migrate.DatabaseNewer(state.current, state.newest))
    elif state.is_newest:
        print(f"{where} is at {state.current}, the newest")
    else:
        print(
            f"{where} is at {state.current}; the newest is {state.newest}: "
            "kursbot db upgrade applies the rest"
        )
    return 0


def _db_downgrade(settings: Settings, revision: str, confirmed: bool) -> int:
    """Undoes the migrations above ``revision``, only with ``--yes``: it drops tables and
    columns with their data, and operators run it over SSH or in a container, often with no
    terminal to ask a question in (so there is no prompt)."""
    _quiet_alembic()
    db = Database(settings.kursbot_database_url)
    where = db.engine.url.render_as_string()
    try:
        undo = migrate.to_undo(db.engine, revision)
        if undo and confirmed:
            undo = migrate.downgrade(db.engine, revision)
    except OperationalError as error:
        raise DatabaseUnavailable(cannot_open(db.engine.url, error)) from None
    except migrate.DatabaseNewer as error:
        raise SchemaTooNew(db.engine.url, error) from None
    except migrate.UnknownRevision as error:
        return _refuse(
            f"this version of Kursbot has no revision {error.revision} (its newest is "
            f"{error.newest}; base is the empty database)"
        )
    except migrate.NotBelow as error:
        return _refuse(
            f"{error.revision} is not below {error.current or migrate.BASE}, where the "
            "database is (kursbot db upgrade moves forward)"
        )
    finally:
        db.dispose()
    if not undo:
        print(f"{where} is at {revision} already: nothing to undo")
    elif not confirmed:
        return _refuse(
            f"{revision} undoes {', '.join(undo)} on {where} and drops what they added, "
            "with its data: stop every instance and back up first (docs/deployment.md), "
            "then run it again with --yes"
        )
    else:
        print(
            f"{where} is at {revision} now (undone: {', '.join(undo)}). Install the version "
            f"of Kursbot that goes with {revision} before starting the bot: this one would "
            "upgrade the database again when it starts"
        )
    return 0


def _quiet_alembic() -> None:
    """Alembic's lines about its context are noise here; the command's one line says it all."""
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _refuse(reason: str) -> int:
    print(f"kursbot db downgrade: {reason}", file=sys.stderr)
    return 2


def _agencies(settings: Settings) -> int:
    db = prepare_database(settings)
    with db.transaction(readonly=True) as session:
        for agency in agencies.list_agencies(session):
            code = agencies.format_access_code(agency.access_code)
            print(f"{agency.code:<10} {code:<14} {agency.name} ({agency.state})")
    db.dispose()
    return 0


def _report(settings: Settings, args: argparse.Namespace) -> int:
    """`kursbot report`: the figures of every course of the period as a PDF (and CSV)."""
    now = SystemClock().now()
    t = texts(args.language)
    try:
        if args.start or args.end:
            period = periods.period_between(args.start or "", args.end or "")
        else:
            period = periods.parse_period("", periods.berlin_today(now))
    except PeriodInvalid as error:
        said = render_figures.period_refused(t, error, examples=False)
        print(f"kursbot report: {said} (--from 2027-01-01 --to 2027-06-30)", file=sys.stderr)
        return 2
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # its font subsetting, per glyph
    db = prepare_database(settings)
    with db.transaction(readonly=True) as session:
        found = figures.count_figures(session, period, now)
    db.dispose()
    labels = render_figures.labels(t, found, now)
    out = Path(args.out or render_figures.report_name(t, period))
    out.write_bytes(report.report_pdf(found, labels, now))
    written = [str(out)]
    if args.csv:
        Path(args.csv).write_bytes(report.figures_csv(found, labels))
        written.append(args.csv)
    print(f"Wrote {', '.join(written)}: {render_figures.period_words(t, period)}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kursbot`` console script."""
    parser = argparse.ArgumentParser(prog="kursbot", description="Kursbot: joint police courses.")
    commands = parser.add_subparsers(dest="command", required=True)
    # The options of `run` that `check` looks at too, so that both see the same start.
    run_options = argparse.ArgumentParser(add_help=False)
    run_options.add_argument("--webhook", action="store_true", help="receive updates by webhook")
    run_options.add_argument("--url", help="the public HTTPS address Telegram posts updates to")
    run_options.add_argument("--listen", default="127.0.0.1", help="address to listen on")
    run_options.add_argument("--port", type=int, default=8443, help="port to listen on")
    run_options.add_argument("--url-path", default="telegram", help="path of the webhook")
    run_options.add_argument(
        "--secret-token", help="or KURSBOT_WEBHOOK_SECRET; required for --webhook"
    )
    run_options.add_argument(
        "--health-port",
        type=int,
        help="serve /healthz, /livez and /metrics on this port (or KURSBOT_HEALTH_PORT)",
    )
    run_options.add_argument(
        "--updates-stale-after",
        type=float,
        metavar="SECONDS",
        help="polling: /livez fails after this long without a successful getUpdates "
        "(default: 3 × the 10 s long poll + 10 s = 40)",
    )
    commands.add_parser(
        "run", parents=[run_options], help="run the bot (long polling, or --webhook)"
    )
    check = commands.add_parser(
        "check",
        parents=[run_options],
        help="check the installation (for the options of `run` given): one line per problem",
    )
    check.add_argument(
        "--deploy", action="store_true", help="also what production should not run with"
    )
    check.add_argument("--online", action="store_true", help="also ask the Bot API (getMe)")
    db_parser = commands.add_parser("db", help="database maintenance")
    db_commands = db_parser.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="apply all migrations and seed the founding agencies")
    db_commands.add_parser(
        "current", help="show the database's revision (and if it is the newest)"
    )
    downgrade = db_commands.add_parser(
        "downgrade", help="undo the migrations above REV (base: all); drops their data"
    )
    downgrade.add_argument("revision", metavar="REV", help="the revision to go back to, or base")
    downgrade.add_argument("--yes", action="store_true", help="really undo them (no question)")
    revision = db_commands.add_parser("revision", help="write a migration for changed models")
    revision.add_argument("message", help="what the migration changes, in a few words")
    commands.add_parser("agencies", help="list the agencies with their access codes")
    chat = commands.add_parser("chat", help="talk to the bot in this terminal, no Telegram")
    chat.add_argument("--user", type=int, default=1, help="your Telegram id (default 1)")
    chat.add_argument("--name", default="Anna", help="your name as Telegram shows it")
    chat.add_argument("--language", default="de", choices=["de", "en"], help="Telegram language")
    chat.add_argument("--demo", action="store_true", help="load a demo term (empty database)")
    chat.add_argument("--admin", action="store_true", help="make this user (--user) an admin")
    chat.add_argument("--files", default="kursbot-chat-files", help="folder for files, per user")
    report_parser = commands.add_parser("report", help="the figures of a period as a PDF report")
    report_parser.add_argument("--from", dest="start", help="first day (2027-01-01 or 01.01.2027)")
    report_parser.add_argument("--to", dest="end", help="last day; both left out: this quarter")
    report_parser.add_argument("--out", help="the PDF file (default: bericht-FROM-TO.pdf)")
    report_parser.add_argument("--csv", help="also write the table as CSV to this file")
    report_parser.add_argument("--language", default="de", choices=["de", "en"], help="language")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    configure_logging(settings, secrets=[getattr(args, "secret_token", None)])
    try:
        return _command(settings, args)
    except DatabaseUnavailable as error:
        print(error, file=sys.stderr)
        return 1


def _command(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "run":
        return _run(settings, args)
    if args.command == "check":
        return _check(settings, args)
    if args.command == "agencies":
        return _agencies(settings)
    if args.command == "chat":
        return _chat(settings, args)
    if args.command == "report":
        return _report(settings, args)
    if args.db_command == "revision":
        print(f"Wrote {new_revision(args.message)}: read it before committing.")
        return 0
    if args.db_command == "current":
        return _db_current(settings)
    if args.db_command == "downgrade":
        return _db_downgrade(settings, args.revision, args.yes)
    return _db_upgrade(settings)


if __name__ == "__main__":
    sys.exit(main())
