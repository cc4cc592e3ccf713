"""/profil, /sprache, /hilfe, and the answers to anything else."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import keyboards, render, render_approval, render_attendance, render_leads
from bot.commands import names
from bot.context import KursApplication, KursContext
from bot.handlers.common import answer, callback_of, person_of, show
from bot.i18n import texts
from kurse import agencies, approvers, courses, people
from kurse.errors import DomainError, InvalidInput
from kurse.models import id_of


async def profile(update: Update, context: KursContext) -> None:
    """Shows name, rank, agency and language; with lines ``Name: …`` / ``Dienstgrad: …``
    changes them first."""
    message = update.effective_message
    assert message is not None and message.text is not None
    person, t, db = person_of(context), context.texts, context.services.db
    parts = message.text.split(maxsplit=1)  # the command, then the lines (if any)
    lines, saved = (parts[1] if len(parts) > 1 else ""), False
    if lines.strip():
        try:
            person = await db.run(people.edit_profile, id_of(person), lines)
        except DomainError as error:
            wrong_form = isinstance(error, InvalidInput) and error.field == "profile"
            await message.reply_text(
                render.profile_usage(t) if wrong_form else render.domain_error(t, error)
            )
            return
        context.person, saved = person, True
    agency = await db.read(agencies.get_agency_by_id, person.agency_id)
    await message.reply_text(render.profile(t, person, agency, saved=saved))


async def choose_language(update: Update, context: KursContext) -> None:
    """Offers Deutsch and English."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        render.choose_language(context.texts), reply_markup=keyboards.languages()
    )


async def set_language(update: Update, context: KursContext) -> None:
    """Stores the chosen language and answers in it."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    assert update.callback_query is not None
    person = person_of(context)
    language = str(callback.value)
    await context.services.db.run(people.set_language, id_of(person), language)
    person.language = language
    await answer(update.callback_query)
    await show(update, render.language_set(texts(person.language)))


async def help_command(update: Update, context: KursContext) -> None:
    """Lists the commands (and, for admins and course leads, theirs)."""
    assert update.effective_message is not None and update.effective_user is not None
    t, services, person = context.texts, context.services, context.person
    text = render.help_text(t) + "\n" + render_attendance.officer_help(t)
    if people.is_admin(person, context.actor.bootstrap_admin):
        text += "\n\n" + render.admin_help(t)
        text += "\n\n" + render_attendance.lead_help(t, admin=True)
    elif person is not None and person.id is not None:
        led = await services.db.read(courses.led_by, person.id, services.clock.now())
        if led:
            text += "\n\n" + render_leads.lead_help(t, led)
            text += "\n\n" + render_attendance.lead_help(t, admin=False)
    if person is not None and person.id is not None:
        approves = await services.db.read(approvers.agencies_approved_by, person.id)
        if approves:
            known = await services.db.read(agencies.list_agencies)
            codes = [a.code for a in known if a.id in approves]
            text += "\n\n" + render_approval.approver_help(t, codes)
    await update.effective_message.reply_text(render.truncate(text))


async def unknown_command(update: Update, context: KursContext) -> None:
    """Answers a command we do not know."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(render.unknown_command(context.texts))


async def nothing_to_cancel(update: Update, context: KursContext) -> None:
    """/abbrechen outside a dialog."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(render.nothing_to_cancel(context.texts))


async def other_text(update: Update, context: KursContext) -> None:
    """Points text outside any dialog to the commands."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(render.plain_text(context.texts))


async def unknown_button(update: Update, context: KursContext) -> None:
    """Any button data no other handler took (forged or from an old version)."""
    assert update.callback_query is not None
    await answer(update.callback_query, render.stale_button(context.texts), show_alert=True)


def register(application: KursApplication) -> None:
    """Adds the profile commands; the catch-alls go last (see bot/app.py)."""
    application.add_handler(CommandHandler(names("profil"), profile))
    application.add_handler(CommandHandler(names("sprache"), choose_language))
    application.add_handler(CallbackQueryHandler(set_language, pattern=r"^lang:(de|en)$"))
    application.add_handler(CommandHandler(names("hilfe"), help_command))


def register_fallbacks(application: KursApplication) -> None:
    """Answers whatever no feature handler took; must be registered after all of them."""
    # /abbrechen reaches this only when no dialog is open (each dialog handles its own).
    application.add_handler(CommandHandler(names("abbrechen"), nothing_to_cancel))
    application.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(filters.ALL, other_text))
    application.add_handler(CallbackQueryHandler(unknown_button))
