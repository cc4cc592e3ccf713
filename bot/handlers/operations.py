"""Admin commands of operations: /protokoll (the audit log, paged, per course, as CSV) and
/status (the timed work and the messages waiting or failed).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import keyboards, render, render_operations
from bot.commands import names
from bot.context import KursApplication, KursContext
from bot.handlers.common import answer, args_text, callback_of, refuse, reply, show
from kurse import admin
from kurse.errors import DomainError
from kurse.exports import spreadsheet_csv


async def audit_log(update: Update, context: KursContext) -> None:
    """/protokoll [code]: the log, newest first, a page at a time (buttons), as a file."""
    code, page, course_id = args_text(update).strip(), 0, None
    if update.callback_query is not None:
        callback = await callback_of(update, context)
        if callback is None:
            return
        await answer(update.callback_query)
        code, page, course_id = "", callback.page or 0, callback.id or None
    try:
        found = await context.services.db.read(
            admin.audit_log, code, course_id, page, actor=context.actor
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    await show(
        update,
        render_operations.audit_log(context.texts, found),
        keyboards.audit_log(context.texts, found),
    )


async def audit_file(update: Update, context: KursContext) -> None:
    """The whole log (or one course's) as a CSV file, the role checked again."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    assert update.callback_query is not None and update.effective_chat is not None
    try:
        found = await context.services.db.read(
            admin.audit_log,
            "",
            callback.id or None,
            0,
            actor=context.actor,
            page_size=10_000,
        )
    except DomainError as error:
        await answer(update.callback_query, render.domain_error(context.texts, error))
        return
    await answer(update.callback_query)
    rows = render_operations.audit_csv_rows(context.texts, found.lines)
    await context.bot.send_document(
        update.effective_chat.id, document=spreadsheet_csv(rows), filename="protokoll.csv"
    )


async def show_status(update: Update, context: KursContext) -> None:
    """/status: pending tasks and messages, failures with reasons, the next due time."""
    try:
        state = await context.services.db.read(
            admin.operations_status,
            actor=context.actor,
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    await reply(update, render_operations.status(context.texts, state))


def register(application: KursApplication) -> None:
    """Adds /protokoll with its page and file buttons, and /status."""
    for name, callback in (("protokoll", audit_log), ("status", show_status)):
        application.add_handler(CommandHandler(names(name), callback))
    application.add_handler(CallbackQueryHandler(audit_log, pattern=r"^pl:"))
    application.add_handler(CallbackQueryHandler(audit_file, pattern=r"^plc:"))
