"""/kurs_neu without lines: a guided dialog, one question at a time, /abbrechen anywhere.

Each answer is checked at once (the error names the step); the answers are written as the
same ``Key: value`` form that the one-message /kurs_neu reads, so both end in
`kurse.admin.create_course_from_form` and obey the same rules.
"""

from __future__ import annotations

import warnings
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import render, render_admin
from bot.callbacks import encode
from bot.commands import names
from bot.context import KursContext
from bot.handlers.common import answer, leave_dialog, show
from bot.handlers.common import planned as _planned
from bot.handlers.common import refuse as _refuse
from bot.handlers.common import who as _who
from bot.handlers.course_admin import created_text, new_course
from bot.handlers.guard import JOINING, NEW_COURSE
from bot.i18n import Texts, _
from bot.persistence import StoredConversation
from kurse import admin, agencies, courses, people
from kurse.errors import DomainError, InvalidInput
from kurse.forms import KEYS as FORM_KEYS
from kurse.forms import parse_moment, split_key
from kurse.validation import clean_text

DIALOG = NEW_COURSE  # user_data key while the dialog runs (the guard lets its steps in)
STORED = (DIALOG,)  # the user_data keys of this dialog, kept in the database
TITLE, START, END, LOCATION, DEADLINE, SEATS, SEAT_NUMBER, LEAD, DESCRIPTION, CONFIRM = range(10)

QUESTIONS = {
    TITLE: _("Step 1 of 9: What is the course's title?"),
    START: _("Step 2 of 9: When does the course start? (DD.MM.YYYY HH:MM)"),
    END: _("Step 3 of 9: When does the course end? (DD.MM.YYYY HH:MM)"),
    LOCATION: _("Step 4 of 9: Where does the course take place?"),
    DEADLINE: _("Step 5 of 9: Until when can people sign up? (DD.MM.YYYY or DD.MM.YYYY HH:MM)"),
    SEATS: _(
        "Step 6 of 9: How many seats does each agency get? Choose an agency, then type its "
        "number of seats; press “Done” when all are set."
    ),
    LEAD: _(
        "Step 7 of 9: Who leads the course? Please send their Telegram id or @username, or "
        "press “Skip”."
    ),
    DESCRIPTION: _(
        "Step 8 of 9: Please send a description for the participants, or press “Skip”."
    ),
}
# The form's field each step asks for (an answer may start with its key, "Titel: …").
_FIELDS = {
    TITLE: "title",
    START: "start_at",
    END: "end_at",
    LOCATION: "location",
    DEADLINE: "registration_deadline",
    LEAD: "lead",
    DESCRIPTION: "description",
}
KEYS = {
    TITLE: "Titel",
    START: "Beginn",
    END: "Ende",
    LOCATION: "Ort",
    DEADLINE: "Anmeldeschluss",
    LEAD: "Kursleitung",
    DESCRIPTION: "Beschreibung",
}


def _data(context: KursContext) -> dict[str, Any]:
    data: dict[str, Any] = context.user_data.setdefault(DIALOG, {})  # type: ignore[union-attr]
    return data


def _skip(t: Texts) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t.gettext("Skip"), callback_data="nk")]])


async def _ask(update: Update, context: KursContext, step: int) -> int:
    assert update.effective_chat is not None
    t = context.texts
    _data(context)["step"] = step
    if step == SEATS:
        return await _ask_seats(update, context)
    if step == CONFIRM:
        return await _ask_confirm(update, context)
    markup = _skip(t) if step in (LEAD, DESCRIPTION) else None
    await context.bot.send_message(
        update.effective_chat.id, t.gettext(QUESTIONS[step]), reply_markup=markup
    )
    return step


async def start(update: Update, context: KursContext) -> int:
    """/kurs_neu: with lines, creates at once; alone, starts the dialog (admins only)."""
    assert update.effective_message is not None and update.effective_message.text is not None
    if len(update.effective_message.text.split(maxsplit=1)) > 1:
        await new_course(update, context)
        return ConversationHandler.END
    try:
        await context.services.db.run(admin.require_admin, **_who(update, context), readonly=True)
    except DomainError as error:
        await _refuse(update, context, error)
        return ConversationHandler.END
    if context.user_data and context.user_data.get(JOINING):  # a bootstrap admin joining
        await update.effective_message.reply_text(render_admin.finish_joining_first(context.texts))
        return ConversationHandler.END
    context.user_data[DIALOG] = {"seats": {}}  # type: ignore[index]
    await update.effective_message.reply_text(
        context.texts.gettext(
            "Let us create a course. /cancel leaves at any step; nothing is stored before the end."
        )
    )
    return await _ask(update, context, TITLE)


async def answered(update: Update, context: KursContext) -> int:
    """Checks a typed answer, stores it and asks the next question."""
    assert update.effective_message is not None and update.effective_message.text is not None
    step = _data(context)["step"]
    text = update.effective_message.text
    keyed = [split_key(line) for line in text.splitlines()]
    if step == TITLE and sum(name is not None for name, _ in keyed) >= 2:  # a pasted form
        await update.effective_message.reply_text(render_admin.form_in_dialog(context.texts))
        return step
    first_key = keyed[0][0] if keyed else None
    if (
        first_key is not None
        and first_key == _FIELDS.get(step)
        and not any(name for name, _ in keyed[1:])
    ):  # "Titel: …" answered for the title: the key is not part of it
        text = "\n".join([keyed[0][1], *text.splitlines()[1:]])
    problem = await _check(context, step, text)
    if problem:
        await update.effective_message.reply_text(problem)
        return step
    if step == SEAT_NUMBER:
        _data(context)["seats"][_data(context).pop("agency")] = int(text.strip())
        return await _ask_seats(update, context)
    _data(context)[KEYS[step]] = " ".join(text.split()) if step != DESCRIPTION else text.strip()
    return await _ask(update, context, step + 1)


async def _check(context: KursContext, step: int, text: str) -> str | None:
    """The problem with an answer, in words, or None."""
    t, data = context.texts, _data(context)
    now = context.services.clock.now()
    try:
        if step in (TITLE, LOCATION, DESCRIPTION, LEAD):
            limits = {TITLE: (3, 200), LOCATION: (2, 200), DESCRIPTION: (0, 3000), LEAD: (1, 70)}
            low, high = limits[step]
            prose = step == DESCRIPTION
            clean_text(text, "text", min_len=low, max_len=high, multiline=prose, letters=not prose)
            if step == LEAD:
                await context.services.db.run(people.find_by_reference, text, readonly=True)
        elif step == SEAT_NUMBER:
            if not text.strip().isdecimal() or int(text.strip()) > 1000:
                return t.gettext("Please type a whole number from 0 to 1000.")
        else:
            moment = parse_moment(text, end_of_day=step in (END, DEADLINE))
            start = parse_moment(data["Beginn"]) if "Beginn" in data else None
            if step == START:
                courses.check_start(moment, now)
            if step == END and start and moment <= start:
                return t.gettext("The end must be after the start.")
            if step == DEADLINE and start and not now < moment <= start:
                return t.gettext("The registration deadline must lie between now and the start.")
    except ValueError:
        return t.gettext("That is not a date. Please write DD.MM.YYYY HH:MM.")
    except InvalidInput as error:
        if error.params.get("reason") == "in_past":
            return t.gettext("This lies in the past. Please give a later start.")
        if error.params.get("reason") == "too_far_ahead":
            return t.gettext("This lies more than five years ahead. Please give an earlier start.")
        return t.gettext("That is not valid here. Please try again, or /cancel.")
    except DomainError:
        return t.gettext("That is not valid here. Please try again, or /cancel.")
    return None


async def _ask_seats(update: Update, context: KursContext) -> int:
    assert update.effective_chat is not None
    t, data = context.texts, _data(context)
    found = await context.services.db.run(agencies.list_agencies, readonly=True)
    rows = [
        [
            InlineKeyboardButton(
                f"{a.code}: {data['seats'].get(a.code, 0)}", callback_data=encode("nk", a.id)
            )
        ]
        for a in found
    ]
    rows.append([InlineKeyboardButton(t.gettext("Done"), callback_data="nk")])
    data["step"] = SEATS
    await context.bot.send_message(
        update.effective_chat.id,
        t.gettext(QUESTIONS[SEATS]),
        reply_markup=InlineKeyboardMarkup(rows),
    )
    return SEATS


async def seat_agency(update: Update, context: KursContext) -> int:
    """An agency was chosen: asks for its number of seats."""
    query = update.callback_query
    assert query is not None and query.data is not None
    try:
        agency = await context.services.db.run(
            agencies.get_agency_by_id, int(query.data[3:]), readonly=True
        )
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
    step = _data(context).get("step", TITLE)
    if step == SEATS:
        if sum(_data(context)["seats"].values()) < 1:
            await answer(
                query, context.texts.gettext("At least one seat, please."), show_alert=True
            )
            return SEATS
        return await _ask(update, context, LEAD)
    if step in (LEAD, DESCRIPTION):
        await query.edit_message_reply_markup(None)
        _data(context)["step"] = step + 1
        return await _ask(update, context, step + 1)
    return step


def _form(data: dict[str, Any], language: str = "de") -> str:
    """The answers as a course form, with the keys of ``language`` (both are read)."""
    index = 0 if language == "de" else 1
    lines = [
        f"{_key(FORM_KEYS[_FIELDS[step]][index])}: {data[key]}"
        for step, key in KEYS.items()
        if key in data
    ]
    seats = ", ".join(f"{code}={n}" for code, n in data["seats"].items() if n)
    lines.insert(5, f"{_key(FORM_KEYS['seats'][index])}: {seats}")
    return "\n".join(lines)


def _key(key: str) -> str:
    return key[0].upper() + key[1:]


async def _ask_confirm(update: Update, context: KursContext) -> int:
    assert update.effective_chat is not None
    t = context.texts
    _data(context)["step"] = CONFIRM
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(t.gettext("Create the course"), callback_data="nky"),
                InlineKeyboardButton(t.gettext("Cancel"), callback_data="no"),
            ]
        ]
    )
    form = _form(_data(context), t.language)
    text = t.gettext("Step 9 of 9: Please check the course:") + "\n\n" + _escape(form)
    await context.bot.send_message(update.effective_chat.id, text, reply_markup=markup)
    return CONFIRM


def _escape(text: str) -> str:
    from html import escape

    return escape(text)


async def confirmed(update: Update, context: KursContext) -> int:
    """Creates the course from the collected answers."""
    query = update.callback_query
    assert query is not None
    await answer(query)
    form = _form(context.user_data.pop(DIALOG, {"seats": {}}))  # type: ignore[union-attr]
    t = context.texts
    try:
        course = await context.services.db.run(
            admin.create_course_from_form,
            form,
            context.services.clock.now(),
            **_planned(update, context),
        )
    except admin.FormInvalid as error:
        await show(update, render_admin.form_errors(t, error.params["errors"], created=True))
        return ConversationHandler.END
    except DomainError as error:
        await _refuse(update, context, error)
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
                    CallbackQueryHandler(cancelled, pattern=r"^no$"),
                ],
            },
            fallbacks=[CommandHandler(names("abbrechen"), cancelled)],
            name="new_course",
        )
