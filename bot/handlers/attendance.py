"""Attendance (issue 18): /anwesenheit with a button per participant that cycles its state,
the day's pages, and the admin's /anwesenheit_entsperren."""

from __future__ import annotations

from datetime import date

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import keyboards, render, render_admin, render_attendance, render_leads
from bot.commands import names
from bot.context import KursApplication, KursContext
from bot.handlers.common import answer, args_text, callback_of, reply, show
from kurse import attendance
from kurse.errors import DomainError, NotAllowed, NotFound
from kurse.forms import parse_moment


def _refusal(context: KursContext, error: DomainError) -> str:
    t = context.texts
    if isinstance(error, NotAllowed):
        return render_admin.not_admin(t) if error.role == "admin" else render_leads.not_lead(t)
    if isinstance(error, NotFound) and error.kind == "course":
        return render_admin.unknown_course(t, error.given or "")
    return render_attendance.refusal(t, error) or render.domain_error(t, error)


async def _refuse(update: Update, context: KursContext, error: DomainError) -> None:
    text = _refusal(context, error)
    if update.callback_query is not None:
        await answer(update.callback_query, text, show_alert=True)
    else:
        await reply(update, text)


async def show_attendance(update: Update, context: KursContext) -> None:
    """/anwesenheit <code> [TT.MM.JJJJ]: the day's sheet (today's), or asks which day."""
    code, _, day_text = args_text(update).strip().partition(" ")
    given: date | None = None
    try:
        given = parse_moment(day_text).date() if day_text.strip() else None
    except ValueError:
        code = ""
    if not code:
        await reply(update, render_attendance.usage(context.texts))
        return
    now = context.services.clock.now()
    try:
        course, index = await context.services.db.read(
            attendance.course_for_attendance, code, given, now, actor=context.actor
        )
        if index is None:
            t = context.texts
            await reply(
                update,
                render_attendance.which_day(t, course),
                keyboards.attendance_days(t, course),
            )
            return
        sheet = await context.services.db.read(
            attendance.sheet, course.id or 0, index, now, actor=context.actor
        )
    except DomainError as error:
        await _refuse(update, context, error)
        return
    await reply(
        update,
        render_attendance.sheet(context.texts, sheet),
        keyboards.attendance_sheet(context.texts, sheet, 0),
    )


async def day_chosen(update: Update, context: KursContext) -> None:
    """A day's button, or a page of a day's sheet (``ad:<course>:<day * 100 + page>``)."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    assert update.callback_query is not None
    index, page = divmod(callback.page, 100)
    try:
        sheet = await context.services.db.read(
            attendance.sheet, callback.id, index, context.services.clock.now(), actor=context.actor
        )
    except DomainError as error:
        await _refuse(update, context, error)
        return
    await answer(update.callback_query)
    t = context.texts
    await show(
        update, render_attendance.sheet(t, sheet), keyboards.attendance_sheet(t, sheet, page)
    )


async def toggled(update: Update, context: KursContext) -> None:
    """A participant's button: the state after the one it showed, kept at once."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    assert update.callback_query is not None
    index, shown = divmod(callback.page, 4)
    try:
        sheet = await context.services.db.run(
            attendance.record,
            callback.id,
            index,
            keyboards.STATE_CODES[shown],
            context.services.clock.now(),
            actor=context.actor,
        )
    except DomainError as error:
        await _refuse(update, context, error)
        return
    await answer(update.callback_query)
    position = next(
        (i for i, line in enumerate(sheet.lines) if line.registration_id == callback.id), 0
    )
    t = context.texts
    page = position // keyboards.ATTENDANCE_PAGE
    await show(
        update, render_attendance.sheet(t, sheet), keyboards.attendance_sheet(t, sheet, page)
    )


async def unlock(update: Update, context: KursContext) -> None:
    """/anwesenheit_entsperren <code>: an admin opens a locked attendance again (audited)."""
    code = args_text(update).strip()
    if not code:
        await reply(update, render_admin.usage(context.texts, "anwesenheit_entsperren"))
        return
    try:
        course = await context.services.db.run(
            attendance.unlock, code, context.services.clock.now(), actor=context.actor
        )
    except DomainError as error:
        await _refuse(update, context, error)
        return
    await reply(update, render_attendance.unlocked(context.texts, course))


def register(application: KursApplication) -> None:
    """Adds /anwesenheit, its buttons and /anwesenheit_entsperren."""
    application.add_handler(CommandHandler(names("anwesenheit"), show_attendance))
    application.add_handler(CommandHandler(names("anwesenheit_entsperren"), unlock))
    application.add_handler(CallbackQueryHandler(day_chosen, pattern=r"^ad:"))
    application.add_handler(CallbackQueryHandler(toggled, pattern=r"^at:"))
