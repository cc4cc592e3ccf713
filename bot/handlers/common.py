"""Small pieces the feature handlers share: answering a button, editing or replying, leaving a
dialog; for the admin commands, who acts, what they typed and the one place that turns a
domain error into a refusal; the "No" under every question."""

from __future__ import annotations

from typing import Any

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, ConversationHandler

from bot import render, render_admin, render_people
from bot.callbacks import Callback, decode
from bot.context import KursApplication, KursContext
from kurse import admin
from kurse.errors import DomainError, InvalidInput, LastAdmin, NotAllowed, NotFound
from kurse.models import Person


def user_data(context: KursContext) -> dict[Any, Any]:
    """The user's data (there for every update with a user: the guard stopped all others)."""
    assert context.user_data is not None
    return context.user_data


def person_of(context: KursContext) -> Person:
    """The joined person (the guard has stopped everyone else)."""
    assert context.person is not None
    return context.person


MAX_ANSWER = 200  # characters Telegram shows in a button's answer


async def answer(query: CallbackQuery, text: str | None = None, show_alert: bool = False) -> None:
    """Answers a pressed button, its text cut to Telegram's 200 characters.

    A press Telegram no longer takes an answer for (older than a few seconds: queued while
    the bot was down) is not an error: the text is sent as a message instead, and the
    handler goes on (its page edit shows the outcome).
    """
    short = text if text is None or len(text) <= MAX_ANSWER else text[: MAX_ANSWER - 1] + "…"
    try:
        await query.answer(short, show_alert=show_alert)
    except BadRequest as error:
        if "query is too old" not in str(error).lower():
            raise
        if text and query.message is not None:
            await query.message.chat.send_message(text, parse_mode=None)  # plain, as answers are


async def callback_of(update: Update, context: KursContext) -> Callback | None:
    """Decodes the pressed button; answers "no longer valid" for data we did not make."""
    query = update.callback_query
    assert query is not None
    callback = decode(query.data)
    if callback is None:
        await answer(query, render.stale_button(context.texts), show_alert=True)
    return callback


async def leave_dialog(
    update: Update, context: KursContext, keys: tuple[str, ...], text: str | None
) -> int:
    """Ends a dialog: forgets its ``keys`` in user_data and, with ``text``, says so where the
    user acted (the pressed button's message, or a reply)."""
    for key in keys:
        user_data(context).pop(key, None)
    if text is not None:
        if update.callback_query is not None:
            await answer(update.callback_query)
            await show(update, text)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(text)
    return ConversationHandler.END


async def show(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Edits the message under a pressed button, or replies to a typed command.

    A message that cannot be edited any more (deleted by the user, or too old for Telegram)
    gets the text as a new message instead: what was done is never answered with an error.
    """
    text = render.truncate(text)
    if update.callback_query is not None:
        try:
            await update.callback_query.edit_message_text(text, reply_markup=markup)
        except BadRequest as error:
            if "not modified" in str(error).lower():  # a second click on the same button
                return
            if update.effective_chat is None:
                raise
            await update.effective_chat.send_message(text, reply_markup=markup)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text, reply_markup=markup)


def args_text(update: Update) -> str:
    """Everything after the command word (other lines included)."""
    assert update.effective_message is not None and update.effective_message.text is not None
    parts = update.effective_message.text.split(maxsplit=1)
    return parts[1] if len(parts) > 1 else ""


async def reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Replies to the typed command, the text cut to Telegram's limit."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(render.truncate(text), reply_markup=markup)


async def refuse(update: Update, context: KursContext, error: DomainError) -> None:
    """The one place that turns an admin-side domain error into a message."""
    t = context.texts
    if isinstance(error, NotAllowed):
        text = (
            render_people.bootstrap_admin(t)
            if error.reason == "bootstrap_admin"
            else render_admin.not_admin(t)
        )
    elif isinstance(error, admin.FormInvalid):
        text = render_admin.form_errors(t, error.errors, created=True)
    elif isinstance(error, LastAdmin):
        text = render_people.last_admin(t)
    elif isinstance(error, NotFound) and error.kind == "course":
        text = render_admin.unknown_course(t, error.given or "")
    elif isinstance(error, InvalidInput):
        text = render_admin.field_error(t, error.field, error.reason)
    else:
        text = render.domain_error(t, error)
    if update.callback_query is not None:
        await answer(update.callback_query, text, show_alert=True)
    else:
        await reply(update, text)


async def dismissed(update: Update, _context: KursContext) -> None:
    """ "No" under a question: nothing happens."""
    assert update.callback_query is not None
    await answer(update.callback_query)
    await update.callback_query.edit_message_reply_markup(None)


def register(application: KursApplication) -> None:
    """Adds the "No" under every question (a course cancelled, seats lowered, an access code
    renewed, one's data deleted); after the guided /kurs_neu dialog, whose "Cancel" is one too."""
    application.add_handler(CallbackQueryHandler(dismissed, pattern=r"^no$"))
