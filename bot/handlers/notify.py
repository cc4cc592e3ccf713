"""Messages to other people than the one who acted (promoted officers, leads, everyone of a
cancelled course). A chat that blocked the bot marks its person inactive; the rest go on."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from telegram.error import Forbidden, TelegramError

from bot import render, render_admin
from bot.context import KursContext
from bot.i18n import Texts, texts
from kurse import people
from kurse.models import Course, Person

log = logging.getLogger(__name__)


async def tell(context: KursContext, person: Person, text: str) -> bool:
    """Sends ``text`` to ``person``; False if they blocked the bot (then marked inactive)."""
    try:
        await context.bot.send_message(person.telegram_id, render.truncate(text))
    except Forbidden:
        log.info("person %s blocked the bot; marked inactive", person.id)
        await context.services.db.run(people.set_active, person.id, False)
        return False
    except TelegramError as error:
        log.warning("message to person %s failed: %s", person.id, error)
        return False
    return True


async def tell_all(
    context: KursContext, persons: Iterable[Person], text: Callable[[Texts], str]
) -> int:
    """Tells each person once, in their language; returns how many got it."""
    delivered = 0
    for person in {p.id: p for p in persons}.values():
        delivered += await tell(context, person, text(texts(person.language)))
    return delivered


async def tell_promoted_people(
    context: KursContext, persons: Iterable[Person], course: Course
) -> int:
    """Tells officers moved up from the waiting list."""
    return await tell_all(context, persons, lambda t: render.promoted(t, course))


async def tell_lead(
    context: KursContext, lead: Person | None, course: Course, text: Callable[[Texts], str]
) -> None:
    """Tells the course's lead, unless they switched it off."""
    if lead is not None and lead.active and lead.lead_notifications:
        await tell(context, lead, text(texts(lead.language)))


def lead_change(person: Person, agency_code: str, course: Course, what: str):  # type: ignore[no-untyped-def]
    """The text for a lead about one officer's change (``what`` is a catalog string)."""
    return lambda t: render_admin.lead_update(t, course, person, agency_code, t.gettext(what))
