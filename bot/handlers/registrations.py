"""Sign-up, cancellation, calendar files and /meine."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import jobs, keyboards, render
from bot.commands import names
from bot.context import KursApplication, KursContext
from bot.handlers.common import answer, callback_of, person_of, show
from bot.handlers.courses import page_of, view_for_button
from kurse import people, views
from kurse.errors import (
    ApprovalTooLate,
    CancellationClosed,
    DomainError,
    NotRegistered,
    RegistrationClosed,
)
from kurse.exports import course_calendar
from kurse.models import Course, Person, RegistrationStatus, id_of
from kurse.registration_lists import person_registrations


async def sign_up(update: Update, context: KursContext) -> None:
    """Signs the officer up, says what happened and shows the updated course page."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    query, person, db = update.callback_query, person_of(context), context.services.db
    assert query is not None
    try:
        # Grouped: the sign-ups for one course that arrive together are decided together.
        result, view = await db.run_grouped(
            views.sign_ups_and_views, callback.id, (person, context.services.clock.now())
        )
    except DomainError as error:
        context.bot_data["metrics"].sign_up("refused", error.code)
        await _refused(update, context, error, callback.id)
        return
    context.bot_data["metrics"].sign_up(
        "already" if result.already else str(result.status)  # confirmed / waiting
    )
    # The outcome comes first, as the button's answer: the rate limiter holds back only
    # calls to a chat, so in a burst every officer knows at once; the page edit and the
    # calendar file follow within Telegram's limit.
    await answer(query, render.signed_up(context.texts, result))
    await show(update, *page_of(context, view, callback.page))
    course = view.listing.course
    if result.already:
        return
    if view.lead is not None or result.status == RegistrationStatus.REQUESTED:
        # The lead's news (kurse.lead_news) and the approvers' request go out at once.
        jobs.wake(context.application)
    if result.status == RegistrationStatus.CONFIRMED:
        await send_calendar(context, person, course, result.registration_id)


async def ask_cancel(update: Update, context: KursContext) -> None:
    """Asks before cancelling."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    assert update.callback_query is not None
    view = await view_for_button(update, context, callback.id)
    if view is None:
        return
    await answer(update.callback_query)
    if view.mine is None:  # already cancelled in another message
        await show(update, *page_of(context, view, callback.page))
        return
    t = context.texts
    await show(
        update,
        render.confirm_cancel(
            t, view.listing.course, view.mine.status == RegistrationStatus.WAITING
        ),
        keyboards.confirm_cancel(t, callback.id, callback.page),
    )


async def cancel(update: Update, context: KursContext) -> None:
    """Cancels the registration; officers moved up are told at once (by the timed work)."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    query, person = update.callback_query, person_of(context)
    assert query is not None
    try:
        done = await context.services.db.run_batched(
            views.cancel_and_view, callback.id, person, context.services.clock.now()
        )
    except DomainError as error:
        await _refused(update, context, error, callback.id)
        return
    await answer(query)
    course = done.view.listing.course
    was_waiting = done.result.previous_status == RegistrationStatus.WAITING
    was_requested = done.result.previous_status == RegistrationStatus.REQUESTED
    await show(update, *page_of(context, done.view, callback.page))
    told = render.cancelled(context.texts, course, was_waiting, was_requested)
    if was_waiting or was_requested:  # no calendar entry to take out
        await context.bot.send_message(person.telegram_id, told)
    else:  # with the file that takes the entry out of the officer's calendar
        await context.bot.send_document(
            person.telegram_id,
            document=course_calendar(
                course, done.result.registration_id, context.services.clock.now(), cancel=True
            ),
            filename=f"{course.code}.ics",
            caption=told,
        )
    if done.result.promoted or done.view.lead is not None:
        jobs.wake(context.application)  # those moved up and the lead are told at once


async def calendar(update: Update, context: KursContext) -> None:
    """Sends the .ics file of the officer's confirmed registration."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    query, person = update.callback_query, person_of(context)
    assert query is not None
    view = await view_for_button(update, context, callback.id)
    if view is None:
        return
    if view.mine is None or view.mine.status != RegistrationStatus.CONFIRMED:
        await answer(query, render.domain_error(context.texts, _not_registered()), show_alert=True)
        return
    await answer(query)
    await send_calendar(context, person, view.listing.course, view.mine.registration_id)


async def send_calendar(
    context: KursContext, person: Person, course: Course, registration_id: int
) -> None:
    content = course_calendar(course, registration_id, context.services.clock.now())
    await context.bot.send_document(
        person.telegram_id,
        document=content,
        filename=f"{course.code}.ics",
        caption=render.calendar_caption(context.texts, course),
    )


async def my_registrations(update: Update, context: KursContext) -> None:
    """/meine: confirmed and waiting registrations with positions."""
    assert update.effective_message is not None
    person, t, now = person_of(context), context.texts, context.services.clock.now()
    items = await context.services.db.read(person_registrations, id_of(person), now)
    await update.effective_message.reply_text(
        render.truncate(render.my_registrations(t, items, now)),
        reply_markup=keyboards.my_registrations(items, t),
    )


async def _refused(update: Update, context: KursContext, error: DomainError, _course: int) -> None:
    """Answers a refused action clearly, with whom to contact where that helps."""
    assert update.callback_query is not None and update.effective_chat is not None
    lead = None
    contact = RegistrationClosed | CancellationClosed | ApprovalTooLate
    lead_id = error.lead_id if isinstance(error, contact) else None
    if lead_id:
        lead = await context.services.db.read(people.get_person, lead_id)
    await answer(update.callback_query)
    text = render.domain_error(context.texts, error, lead)
    await context.bot.send_message(update.effective_chat.id, text)


def _not_registered() -> DomainError:
    return NotRegistered()


def register(application: KursApplication) -> None:
    """Adds the sign-up, cancel and calendar buttons and /meine."""
    application.add_handler(CallbackQueryHandler(sign_up, pattern=r"^su:"))
    application.add_handler(CallbackQueryHandler(ask_cancel, pattern=r"^cx:"))
    application.add_handler(CallbackQueryHandler(cancel, pattern=r"^cxy:"))
    application.add_handler(CallbackQueryHandler(calendar, pattern=r"^ics:"))
    application.add_handler(CommandHandler(names("meine"), my_registrations))
