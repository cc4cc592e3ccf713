"""Small pieces the feature handlers share."""

from __future__ import annotations

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
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
        context.user_data.pop(key, None)  # type: ignore[union-attr]
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
