"""Admin commands on people: /personen finds them, /admin_neu and /admin_entfernen give and
take back the admin role (checked in the database when each runs).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CommandHandler

from bot import render_admin, render_people
from bot.commands import names
from bot.context import KursApplication, KursContext
from bot.handlers.common import args_text, refuse, reply
from kurse import admin, attendance
from kurse.errors import DomainError


async def grant_admin(update: Update, context: KursContext) -> None:
    """/admin_neu <id or @username>."""
    await _change_admin(update, context, grant=True)


async def revoke_admin(update: Update, context: KursContext) -> None:
    """/admin_entfernen <id or @username>."""
    await _change_admin(update, context, grant=False)


async def _change_admin(update: Update, context: KursContext, *, grant: bool) -> None:
    reference = args_text(update).strip()
    if not reference:
        command = "admin_neu" if grant else "admin_entfernen"
        await reply(update, render_admin.usage(context.texts, command))
        return
    try:
        person = await context.services.db.run(
            admin.change_admin,
            reference,
            grant,
            context.services.clock.now(),
            actor=context.actor,
            admin_ids=context.services.settings.kursbot_admin_ids,
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    await reply(update, render_people.admin_changed(context.texts, person, grant))


async def find_people(update: Update, context: KursContext) -> None:
    """/personen <name>."""
    query = args_text(update).strip()
    if not query:
        await reply(update, render_admin.usage(context.texts, "personen"))
        return
    if len(query) < 2:  # one letter would list nearly everyone
        await reply(update, render_people.query_too_short(context.texts))
        return
    try:
        found = await context.services.db.read(admin.find_people, query, actor=context.actor)
    except DomainError as error:
        await refuse(update, context, error)
        return
    ids = [person.id for person, _agency in found if person.id is not None]
    no_shows = await context.services.db.read(attendance.no_shows, ids)
    await reply(update, render_people.people_found(context.texts, query[:50], found, no_shows))


def register(application: KursApplication) -> None:
    """Adds /personen, /admin_neu and /admin_entfernen."""
    for name, callback in (
        ("admin_neu", grant_admin),
        ("admin_entfernen", revoke_admin),
        ("personen", find_people),
    ):
        application.add_handler(CommandHandler(names(name), callback))
