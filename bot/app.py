"""Builds the Telegram `Application` and wires every part of the bot in one place."""

from __future__ import annotations

from dataclasses import dataclass

from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults

from kurse.clock import BERLIN, Clock
from kurse.config import Settings
from kurse.db import Database


@dataclass(frozen=True)
class Services:
    """What handlers need besides the update: the database, the clock and the settings."""

    db: Database
    clock: Clock
    settings: Settings


def build_application(settings: Settings, services: Services) -> Application:  # type: ignore[type-arg]
    """Returns the configured application; the feature handlers are registered here."""
    api = settings.kursbot_telegram_api_url
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=BERLIN))
        .rate_limiter(AIORateLimiter(max_retries=3))
        .build()
    )
    application.bot_data["services"] = services
    # The officer, admin and lead handlers are registered here as their issues land
    # (see README, "Status").
    return application
