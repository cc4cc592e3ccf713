"""Joining: access code (as /start argument, deep link or typed), name, rank, consent."""

from __future__ import annotations

import warnings

from telegram import Update
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import keyboards, render, render_admin
from bot.commands import names
from bot.context import KursApplication, KursContext
from bot.handlers import checkin
from bot.handlers.common import answer, leave_dialog, show, user_data
from bot.handlers.courses import open_course
from bot.handlers.guard import JOINING, NEW_COURSE
from bot.persistence import StoredConversation
from kurse import agencies, lockout, people
from kurse.errors import CodeLocked, DomainError
from kurse.search import COURSE_CODE
from kurse.validation import clean_text

CODE, NAME, RANK, CONSENT = range(4)
WANTED = "join_course"  # the course whose link brought them (t.me/<bot>?start=K-2027-005)
STORED = (JOINING, "join", WANTED)  # the user_data keys of this dialog, kept in the database


async def start(update: Update, context: KursContext) -> int:
    """Greets, checks a code given with /start (or a deep link), or asks for one."""
    assert update.message is not None
    t = context.texts
    wanted = COURSE_CODE.match(" ".join(context.args or []))  # a deep link to a course
    payload = " ".join(context.args or [])
    if checkin.LINK.match(payload):  # a check-in link: only for those who have joined
        if context.person is not None:
            await checkin.link_opened(update, context, payload)
            return ConversationHandler.END
        context.args = []  # not an access code: not a wrong try either
    if context.person is not None:
        if wanted:
            await open_course(update, context, wanted.group(1).upper())
        else:
            await update.message.reply_text(render.already_joined(t, context.person))
        return ConversationHandler.END
    if context.user_data and context.user_data.get(NEW_COURSE):  # a bootstrap admin's dialog
        await update.message.reply_text(render_admin.finish_course_dialog_first(t))
        return ConversationHandler.END
    user_data(context)[JOINING] = True
    if wanted:  # the course opens once they have joined
        user_data(context)[WANTED] = wanted.group(1).upper()
    elif context.args:
        return await _check_code(update, context, " ".join(context.args))
    await update.message.reply_text(render.welcome_ask_code(t))
    return CODE


async def typed_code(update: Update, context: KursContext) -> int:
    """Checks a typed access code."""
    assert update.message is not None and update.message.text is not None
    return await _check_code(update, context, update.message.text)


async def _check_code(update: Update, context: KursContext, typed: str) -> int:
    assert update.message is not None and update.effective_user is not None
    t, now = context.texts, context.services.clock.now()
    try:
        agency = await context.services.db.run(
            lockout.try_access_code, update.effective_user.id, typed, now
        )
    except CodeLocked as error:
        minutes = lockout.minutes_left(error.until, now)
        await update.message.reply_text(render.code_throttled(t, minutes))
        return CODE
    if agency is None:
        await update.message.reply_text(render.code_wrong(t))
        return CODE
    user_data(context)["join"] = {"code": agency.access_code}
    await update.message.reply_text(render.ask_name(t, agency))
    return NAME


async def typed_name(update: Update, context: KursContext) -> int:
    """Stores the name and asks for the rank."""
    assert update.message is not None and update.message.text is not None
    try:
        name = clean_text(update.message.text, "name", max_len=people.MAX_NAME, min_len=2)
    except DomainError as error:
        await update.message.reply_text(render.domain_error(context.texts, error))
        return NAME
    user_data(context)["join"]["name"] = name
    await update.message.reply_text(
        render.ask_rank(context.texts), reply_markup=keyboards.skip_rank(context.texts)
    )
    return RANK


async def typed_rank(update: Update, context: KursContext) -> int:
    """Stores the rank and shows the privacy notice."""
    assert update.message is not None and update.message.text is not None
    try:
        rank = clean_text(update.message.text, "rank", max_len=people.MAX_RANK)
    except DomainError as error:
        await update.message.reply_text(render.domain_error(context.texts, error))
        return RANK
    user_data(context)["join"]["rank"] = rank
    return await _ask_consent(update, context)


async def skipped_rank(update: Update, context: KursContext) -> int:
    """Goes on without a rank."""
    assert update.callback_query is not None
    await answer(update.callback_query)
    await update.callback_query.edit_message_reply_markup(None)
    return await _ask_consent(update, context)


async def _ask_consent(update: Update, context: KursContext) -> int:
    assert update.effective_chat is not None
    t = context.texts
    text = f"{privacy_text(context)}\n\n{render.acknowledge_privacy(t)}"
    await context.bot.send_message(
        update.effective_chat.id, text, reply_markup=keyboards.consent(t)
    )
    return CONSENT


def privacy_text(context: KursContext) -> str:
    """The privacy information in the reader's language (configured, or built in)."""
    settings, t = context.services.settings, context.texts
    configured = settings.privacy_notice(t.language)
    return render.privacy_notice(t, settings.kursbot_retention_days, configured)


async def privacy_information(update: Update, context: KursContext) -> None:
    """/datenschutz: shows the information on the processing of the user's data."""
    assert update.effective_message is not None
    await update.effective_message.reply_text(privacy_text(context))


async def agreed(update: Update, context: KursContext) -> int:
    """Joins the officer with everything they gave."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    await answer(query)
    data = user_data(context).pop("join", {})
    user_data(context).pop(JOINING, None)
    try:
        person = await context.services.db.run(
            people.join,
            telegram_id=user.id,
            access_code=data["code"],
            name=data["name"],
            rank=data.get("rank"),
            language=people.language_for(user.language_code),
            now=context.services.clock.now(),
            username=user.username,
        )
    except (DomainError, KeyError) as error:  # code rotated meanwhile, or joined twice
        text = (
            render.domain_error(context.texts, error)
            if isinstance(error, DomainError)
            else (render.join_cancelled(context.texts))
        )
        await show(update, text)
        return ConversationHandler.END
    context.person = person
    agency = await context.services.db.run(agencies.get_agency_by_id, person.agency_id)
    await show(update, render.joined(context.texts, person, agency))
    wanted = user_data(context).pop(WANTED, None)
    if wanted:  # they came by a course's link: here it is
        await open_course(update, context, wanted)
    return ConversationHandler.END


async def aborted(update: Update, context: KursContext) -> int:
    """Leaves the dialog without storing anything."""
    return await leave_dialog(
        update, context, ("join", JOINING, WANTED), render.join_cancelled(context.texts)
    )


async def stale_step(update: Update, context: KursContext) -> None:
    """A joining button pressed outside the dialog (old message, or already joined)."""
    assert update.callback_query is not None
    await answer(update.callback_query, render.stale_button(context.texts), show_alert=True)


def build_conversation() -> StoredConversation:
    """The joining dialog; /abbrechen leaves it at any step.

    Kept in the database (`bot.persistence`), so a restart or the other instance goes on
    with the next answer; left alone for half an hour, it is forgotten
    (`kurse.dialogs.EXPIRY`).
    """
    text = filters.TEXT & ~filters.COMMAND
    with warnings.catch_warnings():
        # PTB warns that CallbackQueryHandlers are tracked per chat, not per message: that is
        # what we want here, as each step has at most one live button row.
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        return StoredConversation(
            entry_points=[CommandHandler("start", start)],
            states={
                CODE: [MessageHandler(text, typed_code)],
                NAME: [MessageHandler(text, typed_name)],
                RANK: [
                    MessageHandler(text, typed_rank),
                    CallbackQueryHandler(skipped_rank, pattern="^skip$"),
                ],
                CONSENT: [
                    CallbackQueryHandler(agreed, pattern="^agree$"),
                    CallbackQueryHandler(aborted, pattern="^abort$"),
                ],
            },
            fallbacks=[
                CommandHandler("start", start),
                CommandHandler(names("abbrechen"), aborted),
            ],
            name="joining",
        )


def register(application: KursApplication) -> None:
    """Adds the joining dialog and the answer to its buttons outside it."""
    application.add_handler(build_conversation())
    application.add_handler(CallbackQueryHandler(stale_step, pattern="^(skip|agree|abort)$"))
    # Readable before joining, in the middle of it, and at any time after.
    application.add_handler(CommandHandler(names("datenschutz"), privacy_information))
