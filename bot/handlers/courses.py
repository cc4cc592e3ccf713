"""/kurse: the list of open courses, page by page, and each course's page."""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import keyboards, render
from bot.commands import names
from bot.context import KursApplication, KursContext
from bot.handlers.common import answer, callback_of, person_of, show
from kurse import views
from kurse.courses import list_open_courses
from kurse.errors import DomainError

PAGE_SIZE = 5


async def course_list(update: Update, context: KursContext) -> None:
    """Shows a page of open courses with the seats left for the officer's agency."""
    page = 0
    if update.callback_query is not None:
        callback = await callback_of(update, context)
        if callback is None:
            return
        await answer(update.callback_query)
        page = callback.id
    person, t = person_of(context), context.texts
    listing = await context.services.db.run(
        list_open_courses,
        person.agency_id,
        context.services.clock.now(),
        page=page,
        page_size=PAGE_SIZE,
        readonly=True,
    )
    await show(update, render.course_list(t, listing), keyboards.course_list(t, listing))


async def course_page(update: Update, context: KursContext) -> None:
    """Shows one course's details and the buttons that apply."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    view = await view_for_button(update, context, callback.id)
    if view is None:
        return
    assert update.callback_query is not None
    await answer(update.callback_query)
    await show(update, *page_of(context, view, callback.page))


async def view_for_button(
    update: Update, context: KursContext, course_id: int
) -> views.CourseView | None:
    """Reads the course page a button refers to; None (and the user told why) if it cannot."""
    try:
        return await context.services.db.run(
            views.course_view,
            course_id,
            person_of(context),
            context.services.clock.now(),
            readonly=True,
        )
    except DomainError as error:
        assert update.callback_query is not None
        await answer(
            update.callback_query, render.domain_error(context.texts, error), show_alert=True
        )
        return None


def page_of(context: KursContext, view: views.CourseView, page: int):  # type: ignore[no-untyped-def]
    """The text and buttons of a course page."""
    t = context.texts
    return (
        render.course_page(t, view.listing, view.mine, view.lead),
        keyboards.course_page(t, view.listing, view.mine, page, open_=view.open_for_sign_up),
    )


def register(application: KursApplication) -> None:
    """Adds /kurse and its buttons."""
    application.add_handler(CommandHandler(names("kurse"), course_list))
    application.add_handler(CallbackQueryHandler(course_list, pattern=r"^p:"))
    application.add_handler(CallbackQueryHandler(course_page, pattern=r"^c:"))
