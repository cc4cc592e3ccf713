"""The callback context every handler gets: services, the joined person and their texts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.i18n import Texts, texts
from kurse.actors import KURSBOT, Actor
from kurse.clock import Clock
from kurse.config import Settings
from kurse.db import Database
from kurse.models import Person
from kurse.schedule import Plan


@dataclass(frozen=True)
class Services:
    """What handlers need besides the update: the database, the clock and the settings."""

    db: Database
    clock: Clock
    settings: Settings

    @property
    def plan(self) -> Plan:
        """The timed work the settings ask for (reminder offsets, retention)."""
        return self.settings.plan


class KursContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """`CallbackContext` with the person of the update, loaded once by `handlers.guard`."""

    person: Person | None = None
    actor: Actor = KURSBOT  # who acts: set by the guard for every update (`kurse.actors`)
    user_language: str | None = None
    dialog_read: bool = False  # the user's dialog was read fresh for this update
    dialog_step: bool = False  # a stored conversation took this update (bot.persistence)

    @property
    def services(self) -> Services:
        """The database, clock and settings of this application."""
        services: Services = self.bot_data["services"]
        return services

    @property
    def texts(self) -> Texts:
        """Texts in the person's language, or in Telegram's language before joining."""
        if self.person is not None:
            return texts(self.person.language)
        return texts("en" if (self.user_language or "").startswith("en") else "de")


KursApplication = Application[
    ExtBot[None], KursContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]
