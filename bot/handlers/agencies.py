"""Admin commands on agencies and their access codes: /dienststellen, /dienststelle_neu,
/zugangscode (with the button that renews the code).

Every command and every button checks the role in the database when it runs.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import keyboards, render_admin, render_agencies
from bot.commands import names
from bot.context import KursApplication, KursContext
from bot.handlers.common import answer, args_text, callback_of, refuse, reply, show
from kurse import admin, agencies, attendance
from kurse.errors import DomainError
from kurse.models import id_of


async def list_agencies(update: Update, context: KursContext) -> None:
    """/dienststellen."""
    db = context.services.db
    try:
        found = await db.read(admin.list_agencies, actor=context.actor)
        deciders = await db.read(admin.agency_approvers, actor=context.actor)
    except DomainError as error:
        await refuse(update, context, error)
        return
    no_shows = await db.read(attendance.no_shows_by_agency)
    await reply(update, render_agencies.agencies_list(context.texts, found, deciders, no_shows))


async def new_agency(update: Update, context: KursContext) -> None:
    """/dienststelle_neu <CODE> <Name>[, <Bundesland>]."""
    code, _, rest = args_text(update).partition(" ")
    name, _, state = rest.partition(",")
    if not code.strip() or not name.strip():
        await reply(update, render_admin.usage(context.texts, "dienststelle_neu"))
        return
    try:
        agency = await context.services.db.run(
            admin.create_agency,
            code,
            name.strip(),
            context.services.clock.now(),
            state=state.strip(),
            actor=context.actor,
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    shown = agencies.format_access_code(agency.access_code)
    await reply(update, render_agencies.agency_created(context.texts, agency, shown))


async def show_access_code(update: Update, context: KursContext) -> None:
    """/zugangscode <CODE>: shows it, with a button to rotate it."""
    code = args_text(update).strip()
    if not code:
        await reply(update, render_admin.usage(context.texts, "zugangscode"))
        return
    try:
        agency = await context.services.db.read(admin.access_code, code, actor=context.actor)
    except DomainError as error:
        await refuse(update, context, error)
        return
    t = context.texts
    markup = keyboards.access_code(t, id_of(agency))
    await reply(
        update,
        render_agencies.access_code(t, agency, agencies.format_access_code(agency.access_code)),
        markup,
    )


async def rotate_access_code(update: Update, context: KursContext) -> None:
    """Asks, then (second press on "Yes") gives the agency a new access code."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    assert update.callback_query is not None
    t = context.texts
    try:
        agency = await context.services.db.read(agencies.get_agency_by_id, callback.id)
        if callback.page != 1:  # first press: ask
            await context.services.db.read(admin.require_admin, actor=context.actor)
            await answer(update.callback_query)
            markup = keyboards.rotate_access_code(t, id_of(agency))
            await show(update, render_agencies.confirm_rotate(t, agency), markup)
            return
        agency = await context.services.db.run(
            admin.rotate_access_code,
            agency.code,
            context.services.clock.now(),
            actor=context.actor,
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    await answer(update.callback_query)
    await show(
        update, render_agencies.rotated(t, agency, agencies.format_access_code(agency.access_code))
    )


def register(application: KursApplication) -> None:
    """Adds the agency commands and the button that renews an access code."""
    for name, callback in (
        ("dienststellen", list_agencies),
        ("dienststelle_neu", new_agency),
        ("zugangscode", show_access_code),
    ):
        application.add_handler(CommandHandler(names(name), callback))
    application.add_handler(CallbackQueryHandler(rotate_access_code, pattern=r"^zc:"))
