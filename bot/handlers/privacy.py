"""/meine_daten and /daten_loeschen: the officer's own data (PRODUCT.md §7)."""

from __future__ import annotations

import asyncio
import json
import logging

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import jobs, keyboards, render, render_people
from bot.commands import names
from bot.context import KursApplication, KursContext, Services
from bot.handlers.common import answer, person_of, show
from kurse import people, privacy
from kurse.models import id_of

log = logging.getLogger(__name__)


async def my_data(update: Update, context: KursContext) -> None:
    """Sends everything stored about the officer as a JSON file, with a short summary."""
    assert update.effective_message is not None
    person = person_of(context)
    data = await context.services.db.read(privacy.export_person, id_of(person))
    t = context.texts
    await update.effective_message.reply_text(render.my_data_summary(t, data))
    content = json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")
    await update.effective_message.reply_document(content, filename="meine_daten.json")


async def ask_delete(update: Update, context: KursContext) -> None:
    """Asks before deleting."""
    assert update.effective_message is not None
    t = context.texts
    markup = keyboards.delete_data(t)
    text = render.confirm_delete(t)
    last = await context.services.db.read(
        people.is_last_admin,
        id_of(person_of(context)),
        context.services.settings.kursbot_admin_ids,
    )
    if last:  # nobody would be left to run the bot
        text += "\n\n" + render_people.last_admin_deleting(t)
    await update.effective_message.reply_text(text, reply_markup=markup)


async def delete(update: Update, context: KursContext) -> None:
    """Deletes the profile; officers moved up into freed seats are told, and the admins of
    courses left without a lead."""
    query = update.callback_query
    assert query is not None
    await answer(query)
    person, t = person_of(context), context.texts
    services = context.services
    done = await services.db.run(
        privacy.delete_person,
        id_of(person),
        services.clock.now(),
        services.settings.kursbot_admin_ids,
    )
    context.person = None
    await scrub(services)
    await show(update, render.deleted(t, done.cancelled))
    if done.promoted or done.admins_told:
        jobs.wake(context.application)  # officers moved up and admins are told at once


async def scrub(services: Services) -> None:
    """Leaves the deleted rows in no database file (`Database.scrub`), off the event loop."""
    try:
        await asyncio.to_thread(services.db.scrub)
    except Exception:  # the deletion is committed; the next scrub (after retention) follows
        log.exception("scrubbing the database files after a deletion failed")


def register(application: KursApplication) -> None:
    """Adds /meine_daten and /daten_loeschen."""
    application.add_handler(CommandHandler(names("meine_daten"), my_data))
    application.add_handler(CommandHandler(names("daten_loeschen"), ask_delete))
    application.add_handler(CallbackQueryHandler(delete, pattern=r"^del$"))
