"""Runs first for every update: loads the person, keeps out whoever has not joined, and
answers edited messages without acting on them."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from telegram import Message, Update
from telegram.ext import ApplicationHandlerStop, TypeHandler

from bot import persistence, render
from bot.commands import Role, buttons_for, commands_for
from bot.context import KursApplication, KursContext
from bot.handlers.common import answer
from bot.throttle import Throttle
from kurse import people
from kurse.actors import Actor

JOINING = "joining"  # set in user_data while the joining dialog runs
NEW_COURSE = "new_course"  # set in user_data while the guided /kurs_neu dialog runs


async def load_person(update: Update, context: KursContext) -> None:
    """Loads the person of the update; answers and stops if they have not joined."""
    user = update.effective_user
    if user is None or update.effective_chat is None or update.effective_chat.type != "private":
        raise ApplicationHandlerStop  # the bot works in private chats only
    context.user_language = user.language_code
    throttle: Throttle | None = context.bot_data.get("throttle")
    if throttle is not None:
        verdict = throttle.check(user.id)  # its own monotonic clock, not the wall clock
        if verdict != "ok":
            if verdict == "notice" and update.effective_message is not None:
                await update.effective_message.reply_text(render.slow_down(context.texts))
            raise ApplicationHandlerStop
    db = context.services.db
    try:
        # A dialog's step reads it fresh: the step before may have been on the other instance.
        await persistence.refresh(update, context)
        # Grouped: in a burst, the guards of many updates share one query. A read, so it
        # never waits for the write lock; the writes below happen only when something changed.
        person = await db.run_grouped(people.find_by_telegram_ids, None, user.id, readonly=True)
        if person is not None and not person.active:  # they blocked the bot and came back
            await db.run(people.set_active, person.id, True)
            person.active = True
        if person is not None and people.username_changed(person, user.username):
            await db.run(people.refresh_username, person.id, user.username)
    except Exception as error:
        # Without the person no handler can run: report once, then stop this update.
        await context.application.process_error(update, error)
        raise ApplicationHandlerStop from error
    context.person = person
    context.actor = Actor(
        telegram_id=user.id,
        person_id=person.id if person is not None else None,
        bootstrap_admin=user.id in context.services.settings.kursbot_admin_ids,
    )
    if update.edited_message is not None:  # PRODUCT.md §9: an edit is never acted on
        await _edit_not_read(update.edited_message, context)
        raise ApplicationHandlerStop
    if person is not None or _may_join(update, context) or _bootstrap_admin_task(update, context):
        return
    await persistence.read_fresh(update, context)  # joining may have begun on the other instance
    joining = bool(context.user_data and context.user_data.get(JOINING))
    text = (render.still_joining if joining else render.not_joined)(context.texts)
    if update.callback_query is not None:
        await answer(update.callback_query, text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)
    raise ApplicationHandlerStop


@dataclass
class EditNotices:
    """The edited messages already answered, so that each gets the notice only once.

    In memory and bounded (the oldest are forgotten): after a restart, or 10,000 edits
    later, a message edited again is answered once more, which is harmless.
    """

    limit: int = 10_000
    _answered: OrderedDict[tuple[int, int], None] = field(default_factory=OrderedDict)

    def first(self, chat_id: int, message_id: int) -> bool:
        """True the first time this message is seen edited."""
        key = (chat_id, message_id)
        if key in self._answered:
            return False
        self._answered[key] = None
        if len(self._answered) > self.limit:
            self._answered.popitem(last=False)
        return True


async def _edit_not_read(message: Message, context: KursContext) -> None:
    """Tells the user once per message that edits are not read; nothing else happens."""
    notices: EditNotices | None = context.bot_data.get("edit_notices")
    if notices is None:
        notices = context.bot_data["edit_notices"] = EditNotices()
    if notices.first(message.chat_id, message.message_id):
        await message.reply_text(render.edit_not_read(context.texts))


# From the table of bot/commands.py. Admins from KURSBOT_ADMIN_IDS may set things up (and
# read /hilfe) before joining an agency themselves.
ADMIN_COMMANDS = commands_for(Role.ADMIN)
ADMIN_BUTTONS = buttons_for(Role.ADMIN)
# What someone who has not joined may send: joining, leaving it, the privacy information.
BEFORE_JOINING = commands_for(Role.BEFORE_JOINING)
BEFORE_JOINING_BUTTONS = buttons_for(Role.BEFORE_JOINING)


def _bootstrap_admin_task(update: Update, context: KursContext) -> bool:
    user = update.effective_user
    if user is None or user.id not in context.services.settings.kursbot_admin_ids:
        return False
    message, query = update.message, update.callback_query
    if message is not None and message.text and message.text.startswith("/"):
        command = message.text.split(maxsplit=1)[0][1:].split("@")[0]
        return command in ADMIN_COMMANDS
    if message is not None and context.user_data and context.user_data.get(NEW_COURSE):
        return True  # an answer in the guided /kurs_neu dialog
    return query is not None and (query.data or "").split(":")[0] in ADMIN_BUTTONS


def _may_join(update: Update, context: KursContext) -> bool:
    """Only what the joining dialog handles gets through before joining."""
    message, query = update.message, update.callback_query
    if message is not None and message.text:
        command = message.text.split(maxsplit=1)[0] if message.text.startswith("/") else None
        if command is not None and command[1:] in BEFORE_JOINING:
            return True
        return command is None and bool(context.user_data and context.user_data.get(JOINING))
    return query is not None and query.data in BEFORE_JOINING_BUTTONS


def register(application: KursApplication) -> None:
    """Adds the guard in group -1, ahead of every feature handler."""
    application.add_handler(TypeHandler(Update, load_person), group=-1)
