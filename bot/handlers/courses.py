"""/kurse: the list of open courses, page by page, and each course's page."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import keyboards, render
from bot.commands import names
from bot.context import KursApplication, KursContext
from bot.handlers.common import answer, callback_of, person_of, show, user_data
from kurse import views
from kurse.courses import get_course_by_code, list_open_courses
from kurse.errors import DomainError
from kurse.models import id_of
from kurse.search import COURSE_CODE, parse_query

PAGE_SIZE = 8
QUERY = "course_query"  # user_data: what the officer looked for, for the pages after the first


async def course_list(update: Update, context: KursContext) -> None:
    """Shows a page of open courses with the seats left for the officer's agency: all of
    them, or those with the words or in the month typed after /kurse; a code opens it."""
    page, now = 0, context.services.clock.now()
    if update.callback_query is not None:
        callback = await callback_of(update, context)
        if callback is None:
            return
        await answer(update.callback_query)
        page = callback.id
        typed = (context.user_data or {}).get(QUERY, "")
    else:
        typed = " ".join(context.args or [])
        user_data(context)[QUERY] = typed
    query = parse_query(typed, now)
    if query.code is not None:
        await open_course(update, context, query.code)
        return
    person, t = person_of(context), context.texts
    listing = await context.services.db.read(
        list_open_courses,
        person.agency_id,
        now,
        page=page,
        page_size=PAGE_SIZE,
        query=query,
    )
    await show(
        update, render.course_list(t, listing, query), keyboards.course_list(t, listing, now)
    )


async def typed_code(update: Update, context: KursContext) -> None:
    """A course code typed or pasted on its own (K-2027-005) opens that course."""
    assert update.message is not None and update.message.text is not None
    match = COURSE_CODE.match(update.message.text)
    assert match is not None
    await open_course(update, context, match.group(1).upper())


async def open_course(update: Update, context: KursContext, code: str) -> None:
    """Shows the page of the course with ``code`` as a new message, or says it is unknown."""
    assert update.effective_chat is not None
    db, t = context.services.db, context.texts
    try:
        course = await db.read(get_course_by_code, code)
        view = await db.read(
            views.course_view,
            id_of(course),
            person_of(context),
            context.services.clock.now(),
        )
    except DomainError as error:
        await update.effective_chat.send_message(render.domain_error(t, error))
        return
    text, markup = page_of(context, view, 0)
    await update.effective_chat.send_message(render.truncate(text), reply_markup=markup)


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
        return await context.services.db.read(
            views.course_view,
            course_id,
            person_of(context),
            context.services.clock.now(),
        )
    except DomainError as error:
        assert update.callback_query is not None
        await answer(
            update.callback_query, render.domain_error(context.texts, error), show_alert=True
        )
        return None


def page_of(
    context: KursContext, view: views.CourseView, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    """The text and buttons of a course page."""
    t = context.texts
    return (
        render.course_page(t, view.listing, view.mine, view.lead),
        keyboards.course_page(t, view.listing, view.mine, page, open_=view.open_for_sign_up),
    )


def register(application: KursApplication) -> None:
    """Adds /kurse and its buttons."""
    application.add_handler(CommandHandler(names("kurse"), course_list))
    # A course code on its own, typed or pasted from a circular (dialogs take text first).
    application.add_handler(
        MessageHandler(filters.Regex(COURSE_CODE) & ~filters.COMMAND, typed_code)
    )
    application.add_handler(CallbackQueryHandler(course_list, pattern=r"^p:"))
    application.add_handler(CallbackQueryHandler(course_page, pattern=r"^c:"))
