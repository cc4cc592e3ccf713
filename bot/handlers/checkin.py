"""Self check-in (issue 18): /checkin shows the lead the day's code and its QR code; an
officer types the code or opens the link (t.me/<bot>?start=ci-<course>-<code>)."""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import checkin_codes, render, render_admin, render_attendance, render_leads
from bot.commands import names
from bot.context import KursApplication, KursContext
from bot.handlers.common import answer, args_text, callback_of, person_of, reply
from kurse import checkin, courses
from kurse.agencies import ACCESS_CODE_ALPHABET
from kurse.errors import DomainError, NotAllowed, NotFound, NotRegistered
from kurse.models import id_of

# A code typed on its own: six characters of the codes' alphabet (no B, I, L, O, S, 0, 1, 5,
# 8), so that an ordinary word is rarely taken for one.
TYPED_CODE = re.compile(rf"^\s*[{ACCESS_CODE_ALPHABET}]{{{checkin.CODE_LENGTH}}}\s*$", re.I)
LINK = re.compile(rf"^{checkin.LINK_PREFIX}([0-9]{{1,9}})-([A-Za-z0-9]{{1,12}})$")


def _refusal(context: KursContext, error: DomainError) -> str:
    t = context.texts
    if isinstance(error, NotAllowed):
        return render_leads.not_lead(t)
    if isinstance(error, NotFound) and error.kind == "course":
        return render_admin.unknown_course(t, error.given or "")
    if isinstance(error, checkin.CheckinRefused):
        return render_attendance.checkin_refused(t)
    if isinstance(error, NotRegistered):
        return render_attendance.checkin_not_confirmed(t)
    return render_attendance.refusal(t, error) or render.domain_error(t, error)


async def _show(
    update: Update, context: KursContext, code: str, *, in_place: int | None = None
) -> None:
    """Shows the code of this moment: a new message, or the one ``in_place`` edited; the bot
    keeps it renewed (`bot.checkin_codes`)."""
    assert update.effective_chat is not None
    now = context.services.clock.now()
    try:
        shown = await context.services.db.run(checkin.show, code, now, actor=context.actor)
    except DomainError as error:
        await update.effective_chat.send_message(_refusal(context, error))
        return
    await checkin_codes.put_on_show(
        context.application,
        shown,
        update.effective_chat.id,
        now,
        actor=context.actor,
        t=context.texts,
        in_place=in_place,
    )


async def show_code(update: Update, context: KursContext) -> None:
    """/checkin <code>: the day's check-in code and QR code (lead or admin)."""
    code = args_text(update).strip()
    if not code:
        await reply(update, render_attendance.checkin_usage(context.texts))
        return
    await _show(update, context, code)


async def renew(update: Update, context: KursContext) -> None:
    """“New code” under a check-in code: the code of this moment in the same message, the
    role checked again."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    assert update.callback_query is not None
    try:
        course = await context.services.db.read(courses.get_course, callback.id)
    except DomainError as error:
        await answer(update.callback_query, _refusal(context, error), show_alert=True)
        return
    await answer(update.callback_query)
    message = update.callback_query.message
    await _show(update, context, course.code, in_place=message.message_id if message else None)


async def typed(update: Update, context: KursContext) -> None:
    """A check-in code typed on its own by an officer."""
    assert update.message is not None and update.message.text is not None
    await check_in(update, context, update.message.text, None)


async def check_in(update: Update, context: KursContext, code: str, course_id: int | None) -> None:
    """Marks the officer present, or says why not (also for the deep link, `onboarding`)."""
    t = context.texts
    try:
        done = await context.services.db.run(
            checkin.check_in,
            id_of(person_of(context)),
            code,
            context.services.clock.now(),
            course_id=course_id,
        )
    except DomainError as error:
        await reply(update, _refusal(context, error))
        return
    await reply(update, render_attendance.checked_in(t, done))


async def link_opened(update: Update, context: KursContext, payload: str) -> bool:
    """A deep link ``ci-<course>-<code>``: checks in and returns True; False if it is none."""
    match = LINK.match(payload)
    if match is None:
        return False
    await check_in(update, context, match.group(2), int(match.group(1)))
    return True


def register(application: KursApplication) -> None:
    """Adds /checkin, its “New code” button and the typed code."""
    application.add_handler(CommandHandler(names("checkin"), show_code))
    application.add_handler(CallbackQueryHandler(renew, pattern=r"^ci:"))
    application.add_handler(MessageHandler(filters.Regex(TYPED_CODE) & ~filters.COMMAND, typed))
