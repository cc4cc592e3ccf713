"""/kurs_neu without lines: a guided dialog, one question at a time, /abbrechen anywhere.

The steps are the fields of `kurse.forms.FIELDS` that have a ``step``, asked in that order.
Each answer is read and checked at once by the form's own functions (`parse_value`,
`check_course`), so that whatever creation would refuse is refused at the step where it is
given, and the refusal says what is wrong with that answer (`bot.render_form`). The answers
are kept as typed (under the field's German key: the stored dialog survives a restart) and
written as the same ``Key: value`` form that the one-message /kurs_neu reads, so both end in
`kurse.admin.create_course_from_form`.
"""

from __future__ import annotations

import warnings
from typing import Any

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import keyboards, render, render_admin, render_form
from bot.commands import names
from bot.context import KursContext
from bot.handlers.common import answer, leave_dialog, refuse, show, user_data
from bot.handlers.course_admin import created_text, new_course
from bot.handlers.guard import JOINING, NEW_COURSE
from bot.persistence import StoredConversation
from kurse import admin, agencies, courses, forms
from kurse.clock import BERLIN
from kurse.days import CourseDay, days_between
from kurse.errors import DomainError, NotFound
from kurse.forms import DIALOG_FIELDS, Kind, Problem, split_key

DIALOG = NEW_COURSE  # user_data key while the dialog runs (the guard lets its steps in)
STORED = (DIALOG,)  # the user_data keys of this dialog, kept in the database
# The conversation's states (kept in the database: their numbers stay as they are).
TITLE, START, END, LOCATION, DEADLINE, SEATS, SEAT_NUMBER, LEAD, DESCRIPTION, CONFIRM = range(10)
# Reached from the summary's "Change the course days" (issue 18); back to the summary after.
DAYS = 10
_DAYS_KEY = forms.BY_NAME["days"].german
# The state that asks each field of the form's dialog steps, in their order.
_ASKING = (TITLE, START, END, LOCATION, DEADLINE, SEATS, LEAD, DESCRIPTION)
STATES = dict(zip(_ASKING, DIALOG_FIELDS, strict=True))


def _data(context: KursContext) -> dict[str, Any]:
    data: dict[str, Any] = user_data(context).setdefault(DIALOG, {})
    return data


def _next(state: int) -> int:
    """The state after ``state``: the form's next dialog step, or the summary."""
    later = _ASKING.index(state) + 1
    return _ASKING[later] if later < len(_ASKING) else CONFIRM


async def _ask(update: Update, context: KursContext, step: int) -> int:
    assert update.effective_chat is not None
    t = context.texts
    _data(context)["step"] = step
    if step == SEATS:
        return await _ask_seats(update, context)
    if step == CONFIRM:
        return await _ask_confirm(update, context)
    spec = STATES[step]
    markup = None if spec.required else keyboards.dialog_skip(t)
    await context.bot.send_message(
        update.effective_chat.id, render_form.question(t, spec.name), reply_markup=markup
    )
    return step


async def start(update: Update, context: KursContext) -> int:
    """/kurs_neu: with lines, creates at once; alone, starts the dialog (admins only)."""
    assert update.effective_message is not None and update.effective_message.text is not None
    if len(update.effective_message.text.split(maxsplit=1)) > 1:
        await new_course(update, context)
        return ConversationHandler.END
    try:
        await context.services.db.read(admin.require_admin, actor=context.actor)
    except DomainError as error:
        await refuse(update, context, error)
        return ConversationHandler.END
    if context.user_data and context.user_data.get(JOINING):  # a bootstrap admin joining
        await update.effective_message.reply_text(render_admin.finish_joining_first(context.texts))
        return ConversationHandler.END
    user_data(context)[DIALOG] = {"seats": {}}
    await update.effective_message.reply_text(
        context.texts.gettext(
            "Let us create a course. /cancel leaves at any step; nothing is stored before the end."
        )
    )
    return await _ask(update, context, TITLE)


async def answered(update: Update, context: KursContext) -> int:
    """Checks a typed answer, stores it and asks the next question."""
    assert update.effective_message is not None and update.effective_message.text is not None
    step: int = _data(context)["step"]
    text = update.effective_message.text
    keyed = [split_key(line) for line in text.splitlines()]
    if step == TITLE and sum(name is not None for name, _ in keyed) >= 2:  # a pasted form
        await update.effective_message.reply_text(render_admin.form_in_dialog(context.texts))
        return step
    first_key = keyed[0][0] if keyed else None
    if (
        step in STATES
        and first_key == STATES[step].name
        and not any(name for name, _ in keyed[1:])
    ):  # "Titel: …" answered for the title: the key is not part of it
        text = "\n".join([keyed[0][1], *text.splitlines()[1:]])
    if step == SEAT_NUMBER:
        number = forms.parse_seat_number(text)
        if isinstance(number, Problem):
            await update.effective_message.reply_text(render_form.refusal(context.texts, number))
            return step
        _data(context)["seats"][_data(context).pop("agency")] = number
        return await _ask_seats(update, context)
    spec = STATES[step]
    typed = forms.normal_prose(text) if spec.kind is Kind.PROSE else " ".join(text.split())
    problem = await _check(context, spec.name, typed)
    if problem:
        await update.effective_message.reply_text(problem)
        return step
    _data(context)[spec.german] = typed
    return await _ask(update, context, _next(step))


async def _check(context: KursContext, name: str, typed: str) -> str | None:
    """What is wrong with the answer for field ``name``, in words, or None."""
    answers = _answers(_data(context))
    now = context.services.clock.now()
    value, problems = forms.check_answer(name, typed, forms.read_answers(answers), now)
    if problems:
        return render_form.refusal(context.texts, problems[0])
    if name == "lead":
        try:
            await context.services.db.read(courses.find_lead, value)
        except NotFound:
            return render_form.unknown_lead(context.texts)
    return None


def _answers(data: dict[str, Any]) -> dict[str, str]:
    """The answers typed so far, by field name (the course days too, once given)."""
    fields = (*DIALOG_FIELDS, forms.BY_NAME["days"])
    return {spec.name: data[spec.german] for spec in fields if spec.german in data}


def _days(data: dict[str, Any]) -> list[CourseDay]:
    """The course days of the answers: those given, else those of start and end."""
    values = forms.read_answers(_answers(data))
    if values.get("days"):
        return [CourseDay(s.astimezone(BERLIN).date(), s, e) for s, e in values["days"]]
    return days_between(values["start_at"], values["end_at"])


async def change_days(update: Update, context: KursContext) -> int:
    """“Change the course days” under the summary: asks for them, showing the current ones."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    await answer(query)
    await query.edit_message_reply_markup(None)
    _data(context)["step"] = DAYS
    text = render_form.days_question(context.texts, _days(_data(context)))
    await context.bot.send_message(
        update.effective_chat.id, text, reply_markup=keyboards.dialog_skip(context.texts)
    )
    return DAYS


async def days_answered(update: Update, context: KursContext) -> int:
    """Checks the typed course days; they set start and end; back to the summary."""
    assert update.effective_message is not None and update.effective_message.text is not None
    name, value = split_key(update.effective_message.text.strip())
    typed = value if name == "days" else " ".join(update.effective_message.text.split())
    problem = await _check(context, "days", typed)
    if problem:
        await update.effective_message.reply_text(problem)
        return DAYS
    data, days = _data(context), forms.parse_days(typed)
    if days:  # the days set start and end (`kurse.forms.days_span`)
        start, end = forms.days_span(days)
        data[forms.BY_NAME["start_at"].german] = forms.write_value(start)
        data[forms.BY_NAME["end_at"].german] = forms.write_value(end)
        data[_DAYS_KEY] = typed
    else:  # "standard": the days of start and end
        data.pop(_DAYS_KEY, None)
    return await _ask_confirm(update, context)


async def days_kept(update: Update, context: KursContext) -> int:
    """“Skip” under the days question: the days stay; back to the summary."""
    query = update.callback_query
    assert query is not None
    await answer(query)
    await query.edit_message_reply_markup(None)
    return await _ask_confirm(update, context)


async def _ask_seats(update: Update, context: KursContext) -> int:
    assert update.effective_chat is not None
    t, data = context.texts, _data(context)
    found = await context.services.db.read(agencies.list_agencies)
    data["step"] = SEATS
    await context.bot.send_message(
        update.effective_chat.id,
        render_form.question(t, "seats"),
        reply_markup=keyboards.dialog_seats(t, found, data["seats"]),
    )
    return SEATS


async def seat_agency(update: Update, context: KursContext) -> int:
    """An agency was chosen: asks for its number of seats."""
    query = update.callback_query
    assert query is not None and query.data is not None
    try:
        agency = await context.services.db.read(agencies.get_agency_by_id, int(query.data[3:]))
    except DomainError:  # forged data, or the agency is gone
        await answer(query, render.stale_button(context.texts), show_alert=True)
        return SEATS
    await answer(query)
    _data(context)["agency"] = agency.code
    _data(context)["step"] = SEAT_NUMBER
    await show(
        update, context.texts.gettext("How many seats for {agency}?").format(agency=agency.code)
    )
    return SEAT_NUMBER


async def skipped(update: Update, context: KursContext) -> int:
    """“Done” under the seats, or “Skip” under the lead or description."""
    query = update.callback_query
    assert query is not None
    await answer(query)
    step: int = _data(context).get("step", TITLE)
    if step == SEATS:
        if forms.seat_problems(_data(context)["seats"], None):  # no seat at all
            await answer(query, render_form.no_seats(context.texts), show_alert=True)
            return SEATS
        return await _ask(update, context, _next(SEATS))
    if step in STATES and not STATES[step].required:
        await query.edit_message_reply_markup(None)
        _data(context)["step"] = _next(step)
        return await _ask(update, context, _next(step))
    return step


def _form(data: dict[str, Any], language: str = "de") -> str:
    """The answers as a course form, with the keys of ``language`` (both are read); the
    agencies left at 0 seats are left out."""
    values: dict[str, Any] = {spec.name: data.get(spec.german) for spec in DIALOG_FIELDS}
    values["days"] = data.get(_DAYS_KEY)
    values["seats"] = {code: n for code, n in data["seats"].items() if n}
    return "\n".join(forms.render_course_form(values, language))


async def _ask_confirm(update: Update, context: KursContext) -> int:
    assert update.effective_chat is not None
    t = context.texts
    _data(context)["step"] = CONFIRM
    text = render_form.check_course(t, _form(_data(context), t.language), _days(_data(context)))
    await context.bot.send_message(
        update.effective_chat.id, text, reply_markup=keyboards.dialog_confirm(t)
    )
    return CONFIRM


async def confirmed(update: Update, context: KursContext) -> int:
    """Creates the course from the collected answers."""
    query = update.callback_query
    assert query is not None
    await answer(query)
    form = _form(user_data(context).pop(DIALOG, {"seats": {}}))
    t = context.texts
    try:
        course = await context.services.db.run(
            admin.create_course_from_form,
            form,
            context.services.clock.now(),
            actor=context.actor,
            plan=context.services.plan,
        )
    except admin.FormInvalid as error:
        await show(update, render_admin.form_errors(t, error.errors, created=True))
        return ConversationHandler.END
    except DomainError as error:
        await refuse(update, context, error)
        return ConversationHandler.END
    await show(update, await created_text(context, course))
    return ConversationHandler.END


async def cancelled(update: Update, context: KursContext) -> int:
    """/abbrechen or “Cancel”: leaves without creating anything."""
    text = context.texts.gettext("Course creation cancelled; nothing was stored.")
    return await leave_dialog(update, context, (DIALOG,), text)


def build_conversation() -> StoredConversation:
    """The guided /kurs_neu dialog, kept in the database like joining (`bot.persistence`)."""
    text = filters.TEXT & ~filters.COMMAND
    typed = [MessageHandler(text, answered)]
    with warnings.catch_warnings():
        # Buttons are tracked per chat, not per message: each step has one live button row.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        return StoredConversation(
            entry_points=[CommandHandler(names("kurs_neu"), start)],
            states={
                TITLE: typed,
                START: typed,
                END: typed,
                LOCATION: typed,
                DEADLINE: typed,
                SEATS: [
                    CallbackQueryHandler(seat_agency, pattern=r"^nk:[0-9]{1,9}$"),
                    CallbackQueryHandler(skipped, pattern=r"^nk$"),
                ],
                SEAT_NUMBER: typed,
                LEAD: [*typed, CallbackQueryHandler(skipped, pattern=r"^nk$")],
                DESCRIPTION: [*typed, CallbackQueryHandler(skipped, pattern=r"^nk$")],
                CONFIRM: [
                    CallbackQueryHandler(confirmed, pattern=r"^nky$"),
                    CallbackQueryHandler(change_days, pattern=r"^nkd$"),
                    CallbackQueryHandler(cancelled, pattern=r"^no$"),
                ],
                DAYS: [
                    MessageHandler(text, days_answered),
                    CallbackQueryHandler(days_kept, pattern=r"^nk$"),
                ],
            },
            # DAYS comes last in the table as in the numbers: from the summary, back to it.
            fallbacks=[CommandHandler(names("abbrechen"), cancelled)],
            name="new_course",
        )
