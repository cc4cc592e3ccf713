"""Admin commands: courses, seats, leads, agencies, access codes, admins, people, audit log.

Every command and every admin button checks the role in the database when it runs
(`kurse.admin`), so an old button of a former admin does nothing.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import jobs, render, render_admin
from bot.callbacks import encode
from bot.commands import names
from bot.context import KursApplication, KursContext
from bot.handlers.common import answer, callback_of, show
from bot.handlers.notify import tell_all
from bot.persistence import read_fresh
from kurse import admin, agencies, audit, operations
from kurse.courses import get_course, get_course_by_code
from kurse.days import course_day_warnings
from kurse.errors import DomainError, LastAdmin, NotAllowed, NotFound, QuotaBelowConfirmed
from kurse.exports import spreadsheet_csv

# What an admin typed with /kurs_absagen and /kontingent waits here for the "Ja" button, per
# course (keyed by the id as text: dialog data is kept in the database as JSON).
STORED = ("cancel_reasons", "quota_texts")


def _args_text(update: Update) -> str:
    """Everything after the command word (other lines included)."""
    assert update.effective_message is not None and update.effective_message.text is not None
    parts = update.effective_message.text.split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


def _who(update: Update, context: KursContext) -> dict[str, Any]:
    assert update.effective_user is not None
    return {
        "telegram_id": update.effective_user.id,
        "bootstrap": context.services.settings.kursbot_admin_ids,
    }


def _planned(update: Update, context: KursContext) -> dict[str, Any]:
    """`_who` plus the timed-work plan, for actions that create or move courses."""
    return {**_who(update, context), "plan": context.services.plan}


async def created_text(context: KursContext, course: Any) -> str:
    """The confirmation of a new course, with a warning for days on weekends or holidays."""
    return render_admin.course_created(context.texts, course) + await _day_warnings(
        context, course
    )


async def _day_warnings(context: KursContext, course: Any) -> str:
    warnings = await context.services.db.run(
        course_day_warnings, course, context.texts.language, readonly=True
    )
    return render_admin.day_warnings(context.texts, warnings)


async def _reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(render.truncate(text), reply_markup=markup)


def _yes_no(yes: str, action: str, value: int, no: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(yes, callback_data=encode(action, value)),
                InlineKeyboardButton(no, callback_data=encode("no")),
            ]
        ]
    )


async def _refuse(update: Update, context: KursContext, error: DomainError) -> None:
    """The one place that turns an admin-side domain error into a message."""
    t = context.texts
    if isinstance(error, NotAllowed):
        text = (
            render_admin.bootstrap_admin(t)
            if error.params.get("reason") == "bootstrap_admin"
            else render_admin.not_admin(t)
        )
    elif isinstance(error, admin.FormInvalid):
        text = render_admin.form_errors(t, error.params["errors"], created=True)
    elif isinstance(error, LastAdmin):
        text = render_admin.last_admin(t)
    elif isinstance(error, NotFound) and error.params.get("kind") == "course":
        text = render_admin.unknown_course(t, str(error.params.get("code", "")))
    elif error.code == "invalid_input":
        text = render_admin.field_error(t, error.params)
    else:
        text = render.domain_error(t, error)
    if update.callback_query is not None:
        await answer(update.callback_query, text, show_alert=True)
    else:
        await _reply(update, text)


async def new_course(update: Update, context: KursContext) -> None:
    """Creates a course from the lines after /kurs_neu."""
    text = _args_text(update)
    if not text.strip():
        await _reply(update, render_admin.usage(context.texts, "kurs_neu"))
        return
    try:
        course = await context.services.db.run(
            admin.create_course_from_form,
            text,
            context.services.clock.now(),
            **_planned(update, context),
        )
    except DomainError as error:
        await _refuse(update, context, error)
        return
    await _reply(update, await created_text(context, course))


async def edit_course(update: Update, context: KursContext) -> None:
    """Changes the fields given in the lines after /kurs_bearbeiten <code>."""
    code, _, form = _args_text(update).partition("\n")
    if not code.strip():
        await _reply(update, render_admin.usage(context.texts, "kurs_bearbeiten"))
        return
    if not form.strip():  # the code alone: the current values, as a form to copy and change
        try:
            course, lead = await context.services.db.run(
                admin.course_for_edit, code.strip(), **_who(update, context), readonly=True
            )
        except DomainError as error:
            await _refuse(update, context, error)
            return
        await _reply(update, render_admin.edit_form(context.texts, course, lead))
        return
    try:
        edit = await context.services.db.run(
            admin.edit_course_from_form,
            code.strip(),
            form,
            context.services.clock.now(),
            **_planned(update, context),
        )
    except admin.FormInvalid as error:
        await _reply(
            update, render_admin.form_errors(context.texts, error.params["errors"], created=False)
        )
        return
    except DomainError as error:
        await _refuse(update, context, error)
        return
    if edit.told:
        jobs.wake(context.application)  # the notices are queued; send them now
    text = render_admin.course_edited(context.texts, edit, edit.told)
    if edit.schedule_changed:
        text += await _day_warnings(context, edit.course)
    await _reply(update, text)


async def cancel_course(update: Update, context: KursContext) -> None:
    """Asks before cancelling a course (/kurs_absagen <code> [reason])."""
    code, _, reason = _args_text(update).partition(" ")
    if not code.strip():
        await _reply(update, render_admin.usage(context.texts, "kurs_absagen"))
        return
    try:
        await context.services.db.run(admin.require_admin, **_who(update, context), readonly=True)
        course = await context.services.db.run(get_course_by_code, code, readonly=True)
    except DomainError as error:
        await _refuse(update, context, error)
        return
    context.user_data.setdefault("cancel_reasons", {})[str(course.id)] = reason.strip()[:500]  # type: ignore[union-attr]
    t = context.texts
    await _reply(
        update,
        render_admin.confirm_course_cancel(t, course, reason.strip() or None),
        _yes_no(t.gettext("Yes, cancel the course"), "ka", course.id, t.gettext("No")),  # type: ignore[arg-type]
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
    try:
        course = await context.services.db.run(get_course, callback.id, readonly=True)
        done = await context.services.db.run(
            admin.cancel_course_by_code,
            course.code,
            reason or None,
            context.services.clock.now(),
            **_planned(update, context),
        )
    except DomainError as error:
        await _refuse(update, context, error)
        return
    assert update.callback_query is not None
    await answer(update.callback_query)
    jobs.wake(context.application)  # the notices are queued; send them now
    await show(update, render_admin.course_cancelled_admin(context.texts, done.course, done.told))


async def quotas(update: Update, context: KursContext) -> None:
    """/kontingent <code> PP-OFR=10 PD-Z=8: sets seats; asks if that is below the confirmed."""
    code, _, text = _args_text(update).partition(" ")
    if not code.strip() or not text.strip():
        await _reply(update, render_admin.usage(context.texts, "kontingent"))
        return
    await _set_quotas(update, context, code.strip(), text, "refuse")


async def _set_quotas(
    update: Update, context: KursContext, code: str, text: str, decision: str
) -> None:
    t = context.texts
    try:
        course, change = await context.services.db.run(
            admin.set_quotas_from_text,
            code,
            text,
            context.services.clock.now(),
            on_excess=decision,
            **_who(update, context),
        )
    except QuotaBelowConfirmed as error:
        course = await context.services.db.run(get_course_by_code, code, readonly=True)
        context.user_data.setdefault("quota_texts", {})[str(course.id)] = text  # type: ignore[union-attr]
        await _reply(
            update,
            render_admin.quota_over(t, error.params["over"]),
            _yes_no(t.gettext("Yes, to the waiting list"), "kq", course.id, t.gettext("No")),  # type: ignore[arg-type]
        )
        return
    except DomainError as error:
        await _refuse(update, context, error)
        return
    if change.promoted or change.demoted:
        jobs.wake(context.application)  # their messages are queued; send them now
    await show(update, render_admin.quotas_set(t, course, change))


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
    course = await context.services.db.run(get_course, callback.id, readonly=True)
    await answer(update.callback_query)
    await _set_quotas(update, context, course.code, text, "demote_latest")


async def dismissed(update: Update, context: KursContext) -> None:
    """ "No" under a question: nothing happens."""
    assert update.callback_query is not None
    await answer(update.callback_query)
    await update.callback_query.edit_message_reply_markup(None)


async def set_lead(update: Update, context: KursContext) -> None:
    """/kursleitung <code> <id or @username>."""
    code, _, reference = _args_text(update).partition(" ")
    if not code.strip() or not reference.strip():
        await _reply(update, render_admin.usage(context.texts, "kursleitung"))
        return
    try:
        course, lead = await context.services.db.run(
            admin.assign_lead,
            code.strip(),
            reference.strip(),
            context.services.clock.now(),
            **_planned(update, context),
        )
    except DomainError as error:
        await _refuse(update, context, error)
        return
    await tell_all(context, [lead], lambda t: render_admin.lead_notice(t, course))
    await _reply(update, render_admin.lead_set(context.texts, course, lead))


async def list_agencies(update: Update, context: KursContext) -> None:
    """/dienststellen."""
    try:
        found = await context.services.db.run(
            admin.list_agencies, **_who(update, context), readonly=True
        )
    except DomainError as error:
        await _refuse(update, context, error)
        return
    await _reply(update, render_admin.agencies_list(context.texts, found))


async def new_agency(update: Update, context: KursContext) -> None:
    """/dienststelle_neu <CODE> <Name>[, <Bundesland>]."""
    code, _, rest = _args_text(update).partition(" ")
    name, _, state = rest.partition(",")
    if not code.strip() or not name.strip():
        await _reply(update, render_admin.usage(context.texts, "dienststelle_neu"))
        return
    try:
        agency = await context.services.db.run(
            admin.create_agency,
            code,
            name.strip(),
            context.services.clock.now(),
            state=state.strip(),
            **_who(update, context),
        )
    except DomainError as error:
        await _refuse(update, context, error)
        return
    shown = agencies.format_access_code(agency.access_code)
    await _reply(update, render_admin.agency_created(context.texts, agency, shown))


async def show_access_code(update: Update, context: KursContext) -> None:
    """/zugangscode <CODE>: shows it, with a button to rotate it."""
    code = _args_text(update).strip()
    if not code:
        await _reply(update, render_admin.usage(context.texts, "zugangscode"))
        return
    try:
        agency = await context.services.db.run(
            admin.access_code, code, **_who(update, context), readonly=True
        )
    except DomainError as error:
        await _refuse(update, context, error)
        return
    t = context.texts
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    t.gettext("Generate a new code"), callback_data=encode("zc", agency.id)
                )
            ]
        ]  # type: ignore[arg-type]
    )
    await _reply(
        update,
        render_admin.access_code(t, agency, agencies.format_access_code(agency.access_code)),
        markup,
    )


async def rotate_access_code(update: Update, context: KursContext) -> None:
    """Asks, then (second press on "Yes") gives the agency a new access code."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    assert update.callback_query is not None
    t = context.texts
    try:
        agency = await context.services.db.run(
            agencies.get_agency_by_id, callback.id, readonly=True
        )
        if callback.page != 1:  # first press: ask
            await context.services.db.run(
                admin.require_admin, **_who(update, context), readonly=True
            )
            await answer(update.callback_query)
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            t.gettext("Yes, new code"), callback_data=encode("zc", agency.id, 1)
                        ),  # type: ignore[arg-type]
                        InlineKeyboardButton(t.gettext("No"), callback_data=encode("no")),
                    ]
                ]
            )
            await show(update, render_admin.confirm_rotate(t, agency), markup)
            return
        agency = await context.services.db.run(
            admin.rotate_access_code,
            agency.code,
            context.services.clock.now(),
            **_who(update, context),
        )
    except DomainError as error:
        await _refuse(update, context, error)
        return
    await answer(update.callback_query)
    await show(
        update, render_admin.rotated(t, agency, agencies.format_access_code(agency.access_code))
    )


async def grant_admin(update: Update, context: KursContext) -> None:
    """/admin_neu <id or @username>."""
    await _change_admin(update, context, grant=True)


async def revoke_admin(update: Update, context: KursContext) -> None:
    """/admin_entfernen <id or @username>."""
    await _change_admin(update, context, grant=False)


async def _change_admin(update: Update, context: KursContext, *, grant: bool) -> None:
    reference = _args_text(update).strip()
    if not reference:
        command = "admin_neu" if grant else "admin_entfernen"
        await _reply(update, render_admin.usage(context.texts, command))
        return
    try:
        person = await context.services.db.run(
            admin.change_admin,
            reference,
            grant,
            context.services.clock.now(),
            **_who(update, context),
        )
    except DomainError as error:
        await _refuse(update, context, error)
        return
    await _reply(update, render_admin.admin_changed(context.texts, person, grant))


async def find_people(update: Update, context: KursContext) -> None:
    """/personen <name>."""
    query = _args_text(update).strip()
    if len(query) < 2:
        await _reply(update, render_admin.usage(context.texts, "personen"))
        return
    try:
        found = await context.services.db.run(
            admin.find_people, query, **_who(update, context), readonly=True
        )
    except DomainError as error:
        await _refuse(update, context, error)
        return
    await _reply(update, render_admin.people_found(context.texts, query[:50], found))


async def audit_log(update: Update, context: KursContext) -> None:
    """/protokoll [code]: the log, newest first, a page at a time (buttons), as a file."""
    code, page, course_id = _args_text(update).strip(), 0, None
    if update.callback_query is not None:
        callback = await callback_of(update, context)
        if callback is None:
            return
        await answer(update.callback_query)
        code, page, course_id = "", callback.page or 0, callback.id or None
    try:
        found = await context.services.db.run(
            _audit, code, course_id, page, **_who(update, context), readonly=True
        )
    except DomainError as error:
        await _refuse(update, context, error)
        return
    await show(
        update, render_admin.audit_log(context.texts, found), _audit_buttons(context, found)
    )


def _audit_buttons(context: KursContext, found: audit.LogPage) -> InlineKeyboardMarkup | None:
    t, course = context.texts, found.course_id or 0
    row = []
    if found.page > 0:
        row.append(
            InlineKeyboardButton(
                t.gettext("« Newer"), callback_data=encode("pl", course, found.page - 1)
            )
        )
    if found.page + 1 < found.pages:
        row.append(
            InlineKeyboardButton(
                t.gettext("Older »"), callback_data=encode("pl", course, found.page + 1)
            )
        )
    if not found.lines:
        return None
    files = [InlineKeyboardButton(t.gettext("CSV file"), callback_data=encode("plc", course))]
    return InlineKeyboardMarkup([row, files] if row else [files])


async def audit_file(update: Update, context: KursContext) -> None:
    """The whole log (or one course's) as a CSV file, the role checked again."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    assert update.callback_query is not None and update.effective_chat is not None
    try:
        found = await context.services.db.run(
            _audit,
            "",
            callback.id or None,
            0,
            **_who(update, context),
            page_size=10_000,
            readonly=True,
        )
    except DomainError as error:
        await answer(update.callback_query, render.domain_error(context.texts, error))
        return
    await answer(update.callback_query)
    rows = render_admin.audit_csv_rows(context.texts, found.lines)
    await context.bot.send_document(
        update.effective_chat.id, document=spreadsheet_csv(rows), filename="protokoll.csv"
    )


def _audit(
    session: Any,
    code: str,
    course_id: int | None,
    page: int,
    *,
    telegram_id: int,
    bootstrap: Any,
    page_size: int = 15,
) -> audit.LogPage:
    admin.require_admin(session, telegram_id, bootstrap)
    if code:
        course_id = get_course_by_code(session, code).id
    return audit.log_page(session, course_id=course_id, page=page, page_size=page_size)


async def show_status(update: Update, context: KursContext) -> None:
    """/status: pending tasks and messages, failures with reasons, the next due time."""
    try:
        await context.services.db.run(admin.require_admin, **_who(update, context), readonly=True)
    except DomainError as error:
        await _refuse(update, context, error)
        return
    state = await context.services.db.run(
        operations.status, context.services.clock.now(), readonly=True
    )
    await _reply(update, render_admin.status(context.texts, state))


def register(application: KursApplication) -> None:
    """Adds the admin commands and buttons."""
    from bot.handlers import course_dialog  # it builds on this module's handlers

    application.add_handler(course_dialog.build_conversation())  # /kurs_neu, both forms
    for name, callback in (
        ("kurs_bearbeiten", edit_course),
        ("kurs_absagen", cancel_course),
        ("kontingent", quotas),
        ("kursleitung", set_lead),
        ("dienststellen", list_agencies),
        ("dienststelle_neu", new_agency),
        ("zugangscode", show_access_code),
        ("admin_neu", grant_admin),
        ("admin_entfernen", revoke_admin),
        ("personen", find_people),
        ("protokoll", audit_log),
        ("status", show_status),
    ):
        application.add_handler(CommandHandler(names(name), callback))
    application.add_handler(CallbackQueryHandler(cancel_course_confirmed, pattern=r"^ka:"))
    application.add_handler(CallbackQueryHandler(quotas_decided, pattern=r"^kq:"))
    application.add_handler(CallbackQueryHandler(rotate_access_code, pattern=r"^zc:"))
    application.add_handler(CallbackQueryHandler(audit_log, pattern=r"^pl:"))
    application.add_handler(CallbackQueryHandler(audit_file, pattern=r"^plc:"))
    application.add_handler(CallbackQueryHandler(dismissed, pattern=r"^no$"))
