"""Builds the Telegram `Application` and wires every part of the bot, in one place."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import BotCommand
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest, HTTPXRequest

from bot import certificate_files, checkin_codes, jobs, persistence
from bot.commands import menu
from bot.commands import name as command_name
from bot.context import KursApplication, KursContext, Services
from bot.handlers import (
    agencies,
    approval,
    attendance,
    certificates,
    checkin,
    common,
    course_admin,
    course_dialog,
    courses,
    errors,
    figures,
    guard,
    leads,
    offers,
    onboarding,
    operations,
    people,
    privacy,
    profile,
    registrations,
)
from bot.handlers.notify import Digest
from bot.i18n import LANGUAGES, preload, texts
from bot.liveness import WatchedRequest
from bot.metrics import Metrics
from bot.processor import PerUserOrderProcessor
from bot.ratelimit import ChatRateLimiter
from bot.throttle import Throttle
from kurse.clock import BERLIN

__all__ = ["Services", "build_application"]


def build_application(
    services: Services,
    *,
    request: BaseRequest | None = None,
    rate_limit: bool = True,
    messages_per_second: float = 30.0,
    throttle: Throttle | None = None,
    digest_window: float = 60.0,
) -> KursApplication:
    """Returns the application with every handler registered.

    ``request`` replaces the HTTP connection to the Bot API (the local API of ``kursbot
    chat`` and the tests); ``rate_limit`` keeps messages within Telegram's limits (about 30 a
    second overall; in one chat a short burst, then one a second; ``RetryAfter`` is waited
    out and retried, see `bot.ratelimit`);
    ``throttle`` drops floods from one account (``kursbot run`` sets one);
    ``digest_window`` is how often at most (seconds) a lead gets news of changes
    (`kurse.outbox.claim_due_messages`) and an admin a report of errors
    (`bot.handlers.notify.Digest`).
    """
    preload()  # catalogs and date formats, before the first update
    settings = services.settings
    services.db.hold_rules = settings.hold_rules  # the approval time, for every transaction
    api = settings.kursbot_telegram_api_url
    metrics = Metrics(services.db, services.clock)  # a registry of this application's own
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token or "0:local")
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=BERLIN))
        .context_types(ContextTypes(context=KursContext))
        .concurrent_updates(PerUserOrderProcessor(on_update=metrics.updates.inc))
        .application_class(_Application)
        .post_init(_on_start)
        # Dialogs (their states and these user_data keys only) live in the database, so a
        # restart or the standby goes on with the next answer (bot/persistence.py).
        .persistence(
            persistence.DialogPersistence(
                services, keys=(*onboarding.STORED, *course_dialog.STORED, *course_admin.STORED)
            )
        )
    )
    # PTB's defaults (a pool of 256, and 1 for getUpdates), wrapped so that a successful
    # getUpdates or setWebhook is seen where the updater makes it (/livez, bot/liveness.py).
    heartbeat = metrics.heartbeat
    builder = builder.request(
        WatchedRequest(request or HTTPXRequest(connection_pool_size=256), heartbeat)
    ).get_updates_request(
        WatchedRequest(request or HTTPXRequest(connection_pool_size=1), heartbeat)
    )
    if rate_limit:
        builder = builder.rate_limiter(
            # PTB's builder is typed for a limiter without per-call arguments (None);
            # AIORateLimiter, which ours extends, takes an int (max_retries per call).
            ChatRateLimiter(  # type: ignore[arg-type]
                overall_max_rate=messages_per_second, overall_time_period=1, max_retries=3
            )
        )
    application: KursApplication = builder.build()
    application.bot_data["services"] = services
    application.bot_data["metrics"] = metrics
    application.bot_data["throttle"] = throttle
    application.bot_data["news_window"] = timedelta(seconds=digest_window)
    application.bot_data["error_digest"] = Digest(digest_window)

    # Group -1: the guard loads the person and stops whoever has not joined.
    guard.register(application)
    # Group 0, in this order: the joining dialog first, so that its steps win over the
    # catch-alls; the catch-alls (unknown commands, stray text and buttons) last.
    onboarding.register(application)
    courses.register(application)
    registrations.register(application)
    leads.register(application)
    attendance.register(application)  # /anwesenheit (issue 18)
    certificates.register(application)  # /anwesenheit_abschliessen, /bescheinigung, /pruefen
    # The guided /kurs_neu dialog before the other admin handlers: while it runs, its steps
    # (typed answers, its "Cancel", which is a "no" button) win over everything after it.
    application.add_handler(course_dialog.build_conversation())
    course_admin.register(application)  # /kurs_neu in one message comes through the dialog
    # /checkin and a typed check-in code: after the dialogs (an answer such as a title of six
    # letters is the dialog's), before the catch-alls.
    checkin.register(application)
    agencies.register(application)
    people.register(application)
    operations.register(application)
    approval.register(application)  # approval and offers: their own commands and buttons
    offers.register(application)
    figures.register(application)  # /statistik, /bericht
    common.register(application)  # the "No" under any question, after the dialog's own
    privacy.register(application)
    profile.register(application)
    profile.register_fallbacks(application)
    errors.register(application)
    # Group 1, after everything: writes what the update changed in its user's dialog.
    persistence.register(application)
    jobs.register(application)  # timed work: reminders, lead lists, release, end, retention
    checkin_codes.register(application)  # the check-in codes on show, renewed in place
    return application


class _Application(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's `Application` that notes when it begins to stop: the timed work then claims
    nothing new and gives back what it cannot send in time (`bot.jobs.run_due_work`)."""

    async def stop(self) -> None:
        """Notes the moment, then stops as PTB does (waiting for running jobs)."""
        jobs.stopping(self)
        await super().stop()


async def _on_start(application: KursApplication) -> None:
    """Re-plans the timed work of every course against the settings, then sets the menu."""
    await jobs.replan(application)
    await _set_commands(application)
    certificate_files.warm_up()  # the process that writes certificates' PDFs (issue 18)


async def _set_commands(application: KursApplication) -> None:
    """Sets the command menu in German (the default) and English, each with its names."""
    for language in LANGUAGES:
        t = texts(language)
        commands = [
            BotCommand(command_name(german, language), t.gettext(description))
            for german, description in menu()  # the table's menu lines, bot/commands.py
        ]
        code = None if language == "de" else language
        await application.bot.set_my_commands(commands, language_code=code)
