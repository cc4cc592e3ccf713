"""Who acts: the one value every service that checks a role takes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who acts, as the bot knows it before a service runs: the Telegram account, the joined
    person (if any), and whether the settings make the account an admin
    (``KURSBOT_ADMIN_IDS``, who may set things up before joining).

    The guard builds it once per update (`bot.handlers.guard`). It carries no role from the
    database: each service reads the person's role in its own transaction
    (`kurse.admin.require_admin`), so a role taken away meanwhile is never acted on.
    ``telegram_id`` is None for what Kursbot does by itself (the demo term, timed work).
    """

    telegram_id: int | None = None
    person_id: int | None = None
    bootstrap_admin: bool = False


KURSBOT = Actor()  # Kursbot itself, in the audit log
