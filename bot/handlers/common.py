"""Small pieces the feature handlers share."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import ConversationHandler

from bot import render
from bot.callbacks import Callback, decode
from bot.context import KursContext
from kurse.models import Person


def person_of(context: KursContext) -> Person:
    """The joined person (the guard has stopped everyone else)."""
    assert context.person is not None
    return context.person


async def callback_of(update: Update, context: KursContext) -> Callback | None:
    """Decodes the pressed button; answers "no longer valid" for data we did not make."""
    query = update.callback_query
    assert query is not None
    callback = decode(query.data)
    if callback is None:
        await query.answer(render.stale_button(context.texts), show_alert=True)
    return callback


async def leave_dialog(
    update: Update, context: KursContext, keys: tuple[str, ...], text: str | None
) -> int:
    """Ends a dialog: forgets its ``keys`` in user_data and, with ``text``, says so where the
    user acted (the pressed button's message, or a reply)."""
    for key in keys:
        context.user_data.pop(key, None)  # type: ignore[union-attr]
    if text is not None:
        if update.callback_query is not None:
            await update.callback_query.answer()
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
