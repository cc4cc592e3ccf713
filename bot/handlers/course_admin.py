"""Admin commands on courses: /kurs_neu in one message, /kurs_bearbeiten, /kurs_absagen,
/kontingent, /kursleitung (the guided /kurs_neu dialog is `bot.handlers.course_dialog`).

Every command and every button checks the role in the database when it runs
(`kurse.admin`), so an old button of a former admin does nothing.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import jobs, keyboards, render_admin, render_courses
from bot.commands import names
from bot.context import KursApplication, KursContext
from bot.handlers.common import (
    answer,
    args_text,
    callback_of,
    refuse,
    reply,
    show,
    user_data,
)
from bot.persistence import read_fresh
from kurse import admin
from kurse.days import course_day_warnings
from kurse.errors import DomainError, QuotaBelowConfirmed
from kurse.models import id_of
from kurse.quotas import ExcessDecision

# What an admin typed with /kurs_absagen and /kontingent waits here for the "Ja" button, per
# course (keyed by the id as text: dialog data is kept in the database as JSON).
STORED = ("cancel_reasons", "quota_texts")


async def created_text(context: KursContext, course: Any) -> str:
    """The confirmation of a new course, with a warning for days on weekends or holidays."""
    return render_courses.course_created(context.texts, course) + await _day_warnings(
        context, course
    )


async def _day_warnings(context: KursContext, course: Any) -> str:
    warnings = await context.services.db.read(course_day_warnings, course, context.texts.language)
    return render_courses.day_warnings(context.texts, warnings)


async def new_course(update: Update, context: KursContext) -> None:
    """Creates a course from the lines after /kurs_neu."""
    text = args_text(update)
    if not text.strip():
        await reply(update, render_admin.usage(context.texts, "kurs_neu"))
        return
    try:
        course = await context.services.db.run(
            admin.create_course_from_form,
            text,
            context.services.clock.now(),
            actor=context.actor,
            plan=context.services.plan,
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    await reply(update, await created_text(context, course))


async def edit_course(update: Update, context: KursContext) -> None:
    """Changes the fields given in the lines after /kurs_bearbeiten <code>."""
    code, _, form = args_text(update).partition("\n")
    if not code.strip():
        await reply(update, render_admin.usage(context.texts, "kurs_bearbeiten"))
        return
    if not form.strip():  # the code alone: the current values, as a form to copy and change
        try:
            course, lead, host = await context.services.db.read(
                admin.course_for_edit, code.strip(), actor=context.actor
            )
        except DomainError as error:
            await refuse(update, context, error)
            return
        await reply(update, render_admin.edit_form(context.texts, course, lead, host))
        return
    try:
        edit = await context.services.db.run(
            admin.edit_course_from_form,
            code.strip(),
            form,
            context.services.clock.now(),
            actor=context.actor,
            plan=context.services.plan,
        )
    except admin.FormInvalid as error:
        await reply(update, render_admin.form_errors(context.texts, error.errors, created=False))
        return
    except DomainError as error:
        await refuse(update, context, error)
        return
    if edit.told:
        jobs.wake(context.application)  # the notices are queued; send them now
    text = render_courses.course_edited(context.texts, edit, edit.told)
    if edit.schedule_changed:
        text += await _day_warnings(context, edit.course)
    await reply(update, text)


async def cancel_course(update: Update, context: KursContext) -> None:
    """Asks before cancelling a course (/kurs_absagen <code> [reason])."""
    code, _, reason = args_text(update).partition(" ")
    if not code.strip():
        await reply(update, render_admin.usage(context.texts, "kurs_absagen"))
        return
    from kurse.courses import get_course_by_code

    try:
        await context.services.db.read(admin.require_admin, actor=context.actor)
        course = await context.services.db.read(get_course_by_code, code)
    except DomainError as error:
        await refuse(update, context, error)
        return
    user_data(context).setdefault("cancel_reasons", {})[str(course.id)] = reason.strip()[:500]
    t = context.texts
    await reply(
        update,
        render_courses.confirm_course_cancel(t, course, reason.strip() or None),
        keyboards.cancel_course(t, id_of(course)),
    )


async def cancel_course_confirmed(update: Update, context: KursContext) -> None:
    """Cancels the course; everyone confirmed or waiting is told once, by the timed work."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    await read_fresh(update, context)  # the question may have been asked on the other instance
    reason = (context.user_data or {}).get("cancel_reasons", {}).pop(str(callback.id), None)
    if reason is None:  # asked more than half an hour ago: ask again rather than lose the reason
        assert update.callback_query is not None
        await answer(update.callback_query, render_admin.question_expired(context.texts), True)
        return
    from kurse.courses import get_course

    try:
        course = await context.services.db.read(get_course, callback.id)
        done = await context.services.db.run(
            admin.cancel_course_by_code,
            course.code,
            reason or None,
            context.services.clock.now(),
            actor=context.actor,
            plan=context.services.plan,
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    assert update.callback_query is not None
    await answer(update.callback_query)
    jobs.wake(context.application)  # the notices are queued; send them now
    await show(
        update, render_courses.course_cancelled_admin(context.texts, done.course, done.told)
    )


async def quotas(update: Update, context: KursContext) -> None:
    """/kontingent <code> PP-OFR=10 PD-Z=8: sets seats; asks if that is below the confirmed."""
    code, _, text = args_text(update).partition(" ")
    if not code.strip() or not text.strip():
        await reply(update, render_admin.usage(context.texts, "kontingent"))
        return
    await _set_quotas(update, context, code.strip(), text, "refuse")


async def _set_quotas(
    update: Update, context: KursContext, code: str, text: str, decision: ExcessDecision
) -> None:
    t = context.texts
    try:
        course, change = await context.services.db.run(
            admin.set_quotas_from_text,
            code,
            text,
            context.services.clock.now(),
            on_excess=decision,
            actor=context.actor,
        )
    except QuotaBelowConfirmed as error:
        from kurse.courses import get_course_by_code

        course = await context.services.db.read(get_course_by_code, code)
        user_data(context).setdefault("quota_texts", {})[str(course.id)] = text
        await reply(
            update,
            render_courses.quota_over(t, error.over),
            keyboards.demote_over_quota(t, id_of(course)),
        )
        return
    except DomainError as error:
        await refuse(update, context, error)
        return
    if change.promoted or change.demoted:
        jobs.wake(context.application)  # their messages are queued; send them now
    await show(update, render_courses.quotas_set(t, course, change))


async def quotas_decided(update: Update, context: KursContext) -> None:
    """The admin decided: the latest confirmed go back to the waiting list."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    assert update.callback_query is not None
    await read_fresh(update, context)  # the question may have been asked on the other instance
    text = (context.user_data or {}).get("quota_texts", {}).pop(str(callback.id), None)
    if text is None:  # asked more than half an hour ago
        await answer(update.callback_query, render_admin.question_expired(context.texts), True)
        return
    from kurse.courses import get_course

    course = await context.services.db.read(get_course, callback.id)
    await answer(update.callback_query)
    await _set_quotas(update, context, course.code, text, "demote_latest")


async def set_lead(update: Update, context: KursContext) -> None:
    """/kursleitung <code> <id or @username>."""
    code, _, reference = args_text(update).partition(" ")
    if not code.strip() or not reference.strip():
        await reply(update, render_admin.usage(context.texts, "kursleitung"))
        return
    try:
        course, lead = await context.services.db.run(
            admin.assign_lead,
            code.strip(),
            reference.strip(),
            context.services.clock.now(),
            actor=context.actor,
            plan=context.services.plan,
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    jobs.wake(context.application)  # the new lead is told at once (kurse.outbox)
    await reply(update, render_courses.lead_set(context.texts, course, lead))


def register(application: KursApplication) -> None:
    """Adds the course commands and their "Ja" buttons (the guided dialog is added before, in
    `bot.app`, so that its steps win)."""
    for name, callback in (
        ("kurs_bearbeiten", edit_course),
        ("kurs_absagen", cancel_course),
        ("kontingent", quotas),
        ("kursleitung", set_lead),
    ):
        application.add_handler(CommandHandler(names(name), callback))
    application.add_handler(CallbackQueryHandler(cancel_course_confirmed, pattern=r"^ka:"))
    application.add_handler(CallbackQueryHandler(quotas_decided, pattern=r"^kq:"))
