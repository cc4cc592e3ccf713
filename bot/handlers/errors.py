"""The one error handler: log with context, tell the admins briefly, apologise to the user."""

from __future__ import annotations

import contextlib
import html
import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot import render
from bot.context import KursApplication, KursContext
from bot.handlers.notify import Digest, Send
from bot.i18n import texts

log = logging.getLogger("kursbot.errors")


async def on_error(update: object, context: KursContext) -> None:
    """Logs the error with the update's ids, tells the admins, apologises to the user."""
    error = context.error
    context.bot_data["metrics"].handler_errors.labels(type(error).__name__).inc()
    user_id = chat_id = update_id = None
    if isinstance(update, Update):
        update_id = update.update_id
        user_id = update.effective_user.id if update.effective_user else None
        chat_id = update.effective_chat.id if update.effective_chat else None
    if isinstance(error, Forbidden):  # the user blocked the bot: nothing to tell anyone
        log.info("update %s: user %s blocked the bot", update_id, user_id)
        return
    log.error(
        "update %s from user %s failed",
        update_id,
        user_id,
        exc_info=error,
        extra={"update_id": update_id, "user_id": user_id},
    )
    kind = type(error).__name__ if error else "?"
    report = f"⚠️ Kursbot: {html.escape(kind)} (update {update_id}, user {user_id})"
    digest: Digest = context.bot_data["error_digest"]  # an outage is a few messages, not 1,000
    for admin in context.services.settings.kursbot_admin_ids:
        await digest.add(context, admin, texts(None), report, _to_admin(admin))
    if chat_id is not None:
        with contextlib.suppress(TelegramError):  # the user may be gone; the log has it
            await context.bot.send_message(chat_id, render.apology(context.texts))


def _to_admin(admin: int) -> Send:
    """Sends an error report to one admin (a failure is logged, not raised)."""

    async def send(context: KursContext, message: str) -> bool:
        try:
            await context.bot.send_message(admin, message)
        except TelegramError:
            log.warning("could not tell admin %s about an error", admin)
            return False
        return True

    return send


def register(application: KursApplication) -> None:
    """Installs the error handler."""
    application.add_error_handler(on_error)
