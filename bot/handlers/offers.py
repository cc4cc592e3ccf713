"""Offers from the waiting list: the officer accepts or declines the seat offered to them.

The button carries the registration's id; `kurse.offers` takes only the pressing person's own
offer (anyone else's is not found) and answers a second press with how the offer ended.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler

from bot import jobs, render, render_approval
from bot.context import KursApplication, KursContext
from bot.handlers.common import answer, callback_of, person_of, show
from bot.handlers.registrations import send_calendar
from kurse import courses, offers, people
from kurse.errors import ApprovalTooLate, DomainError, OfferEnded
from kurse.models import RegistrationStatus, id_of


async def accept(update: Update, context: KursContext) -> None:
    """Takes the offered seat; the message says what it is now (with the calendar file)."""
    await _answer(update, context, accepted=True)


async def decline(update: Update, context: KursContext) -> None:
    """Turns the offer down; the seat goes to the next in line."""
    await _answer(update, context, accepted=False)


async def _answer(update: Update, context: KursContext, *, accepted: bool) -> None:
    callback = await callback_of(update, context)
    if callback is None:
        return
    query, person, db = update.callback_query, person_of(context), context.services.db
    assert query is not None
    service = offers.accept if accepted else offers.decline
    try:
        done = await db.run(service, callback.id, id_of(person), context.services.clock.now())
    except DomainError as error:
        await answer(query, await _refusal(context, error), show_alert=True)
        if isinstance(error, OfferEnded):  # a second press: the buttons go
            await query.edit_message_reply_markup(None)
        return
    jobs.wake(context.application)  # the lead, the approvers, the next in line
    course = await db.read(courses.get_course, done.course_id)
    await answer(query)
    await show(update, render_approval.answered(context.texts, course, done))
    if done.status == RegistrationStatus.CONFIRMED:
        await send_calendar(context, person, course, done.registration_id)


async def _refusal(context: KursContext, error: DomainError) -> str:
    t = context.texts
    if isinstance(error, OfferEnded):
        return render_approval.offer_ended(t, error)
    if isinstance(error, ApprovalTooLate) and error.lead_id is not None:
        lead = await context.services.db.read(people.get_person, error.lead_id)
        return render.domain_error(t, error, lead)
    return render.domain_error(t, error)


def register(application: KursApplication) -> None:
    """Adds the two buttons under an offer."""
    application.add_handler(CallbackQueryHandler(accept, pattern=r"^oa:"))
    application.add_handler(CallbackQueryHandler(decline, pattern=r"^od:"))
