"""Course leads (and admins): /teilnehmer with CSV and PDF files, /mitteilungen."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import keyboards, render, render_admin, render_leads
from bot.commands import names
from bot.context import KursApplication, KursContext
from bot.handlers.common import answer, callback_of, person_of
from kurse import admin, exports, people
from kurse.errors import DomainError, NotAllowed, NotFound
from kurse.models import Person, id_of
from kurse.registration_lists import ParticipantList


async def _load(
    update: Update, context: KursContext, course_id: int
) -> tuple[ParticipantList, int, Person | None]:
    """The list, the number of seats and the lead, after checking lead-or-admin."""
    assert update.effective_user is not None
    return await context.services.db.read(
        admin.participant_list,
        course_id,
        context.services.clock.now(),
        actor=context.actor,
    )


def _refusal(context: KursContext, error: DomainError) -> str:
    if isinstance(error, NotAllowed):
        return render_leads.not_lead(context.texts)
    if isinstance(error, NotFound):
        return render_admin.unknown_course(context.texts, error.given or "")
    return render.domain_error(context.texts, error)


async def participant_list(update: Update, context: KursContext) -> None:
    """/teilnehmer <code>: confirmed by agency, then the waiting list; CSV and PDF buttons.
    /teilnehmer alone: the overview of the courses (all for admins, their own for leads)."""
    message = update.effective_message
    assert message is not None and message.text is not None
    parts = message.text.split(maxsplit=1)
    t = context.texts
    if len(parts) < 2:  # the overview: admins all courses, leads their own
        assert update.effective_user is not None
        try:
            fills = await context.services.db.read(
                admin.overview,
                context.services.clock.now(),
                actor=context.actor,
            )
        except NotAllowed:
            await message.reply_text(render_admin.usage(t, "teilnehmer"))
            return
        await message.reply_text(
            render_leads.overview(t, fills, context.services.clock.now()),
            reply_markup=keyboards.participant_overview(fills),
        )
        return
    try:
        course_id = await context.services.db.read(admin.course_id_by_code, parts[1].strip())
    except DomainError as error:
        await message.reply_text(_refusal(context, error))
        return
    await _send_list(update, context, course_id)


async def participant_list_button(update: Update, context: KursContext) -> None:
    """A course's button under the /teilnehmer overview: its list, the role checked again."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    assert update.callback_query is not None
    await answer(update.callback_query)
    await _send_list(update, context, callback.id)


async def _send_list(update: Update, context: KursContext, course_id: int) -> None:
    """The participant list of one course with its CSV and PDF buttons (lead or admin)."""
    assert update.effective_chat is not None
    t = context.texts
    try:
        listing, seats, _lead = await _load(update, context, course_id)
    except DomainError as error:
        await update.effective_chat.send_message(_refusal(context, error))
        return
    chunks = render_leads.participant_messages(t, listing, seats)
    markup = keyboards.participant_files(t, course_id)
    for i, chunk in enumerate(chunks):
        await update.effective_chat.send_message(
            chunk, reply_markup=markup if i == len(chunks) - 1 else None
        )


async def participant_file(update: Update, context: KursContext) -> None:
    """Sends the list as CSV or PDF, after checking the role again."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    try:
        listing, _seats, lead = await _load(update, context, callback.id)
    except DomainError as error:
        await answer(query, _refusal(context, error), show_alert=True)
        return
    await answer(query)
    now = context.services.clock.now()
    labels = render_leads.list_labels(context.texts, listing.course, lead, now)
    if callback.action == "csv":
        content, name = exports.participants_csv(listing, labels), f"{listing.course.code}.csv"
    else:  # fonts and layout take 0.4 s: off the event loop, so others are answered meanwhile
        content = await asyncio.to_thread(exports.participants_pdf, listing, labels, now)
        name = f"{listing.course.code}.pdf"
    await context.bot.send_document(update.effective_chat.id, document=content, filename=name)


async def notifications(update: Update, context: KursContext) -> None:
    """/mitteilungen an|aus: a lead's messages about sign-ups and cancellations."""
    message = update.effective_message
    assert message is not None and message.text is not None
    parts = message.text.split()
    choice = parts[1].lower() if len(parts) > 1 else ""
    if choice not in ("an", "aus", "on", "off"):  # the setting as it is, and how to change it
        on = person_of(context).lead_notifications
        await message.reply_text(render_leads.notifications_state(context.texts, on))
        return
    on = choice in ("an", "on")
    await context.services.db.run(people.set_lead_notifications, id_of(person_of(context)), on)
    await message.reply_text(render_leads.notifications(context.texts, on))


def register(application: KursApplication) -> None:
    """Adds /teilnehmer, its file buttons and /mitteilungen."""
    application.add_handler(CommandHandler(names("teilnehmer"), participant_list))
    application.add_handler(CallbackQueryHandler(participant_file, pattern=r"^(csv|pdf):"))
    application.add_handler(CallbackQueryHandler(participant_list_button, pattern=r"^tl:"))
    application.add_handler(CommandHandler(names("mitteilungen"), notifications))
