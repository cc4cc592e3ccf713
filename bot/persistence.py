"""Dialogs in the database: PTB's persistence on our own table (`kurse.dialogs`).

**What is kept**, per Telegram account: the state of every `StoredConversation` (joining,
the guided /kurs_neu) and the few ``user_data`` keys that dialogs need (the ``keys`` given
to `DialogPersistence`). Nothing else: no chat_data, bot_data or callback data, and an
update outside a dialog (a sign-up) writes nothing and reads nothing.

**When it is written**: after every update, before the same user's next update can start
(`store_step`, the last handler group, still inside the user's turn of
`bot.processor.PerUserOrderProcessor`): what changed since this process last read or wrote
the dialog, states and data together in one transaction. A crash can lose only a step
whose answer was sent in the last milliseconds before its write. PTB's interval writes
(``update_interval``) then find nothing left to do; they stay as PTB's safety net.

**When it is read**: at start (PTB loads every dialog still alive), and fresh from the
database before any update that a step of a stored conversation could take (`refresh`,
which the guard calls): so a standby started hours earlier, and the first instance when it
comes back, go on from the last step wherever it was taken. Handlers outside conversations
that keep something typed until a button (the reason of /kurs_absagen) read fresh
themselves (`read_fresh`).

**Expiry**: half an hour after a dialog's last step (`kurse.dialogs.EXPIRY`), on the stored
time: the database deletes it with the next write of any dialog, and this process drops its
copy a minute later. PTB's ``conversation_timeout`` is not used: its job lives in one
process's memory, so it is lost on a restart, and on the instance the user left it would
end the dialog the user is continuing on the other.

Two instances writing the same user's dialog in the same moment (the user's updates reach
one instance at a time: nginx's ``backup``) would leave the later write's keys; a new row
written by both at once fails one of them with an error report.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import (
    BaseHandler,
    BasePersistence,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    PersistenceInput,
    TypeHandler,
)

from bot.context import KursApplication, KursContext, Services
from kurse import dialogs
from kurse.dialogs import Place, StoredDialog

log = logging.getLogger("kursbot.persistence")

ConversationKey = tuple[int | str, ...]  # PTB's: (chat id, user id) for our conversations

# PTB writes what changed at this interval; `store_step` has done so after every update
# already, so this is only PTB's net for changes made outside updates (none today).
UPDATE_INTERVAL = 60.0
STORE_GROUP = 1  # after group 0, where every feature handler is
SWEEP_EVERY = timedelta(minutes=1)


class StoredConversation(ConversationHandler[KursContext]):
    """A ConversationHandler whose states live in the database (`DialogPersistence`)."""

    def __init__(self, *, name: str, **kwargs: Any) -> None:
        super().__init__(name=name, persistent=True, **kwargs)

    async def handle_update(
        self, update: Update, application: Any, check_result: Any, context: KursContext
    ) -> object | None:
        """Takes the step, and marks the update as one for `store_step` to write."""
        context.dialog_step = True
        return await super().handle_update(update, application, check_result, context)

    def state_of(self, key: ConversationKey) -> int | None:
        """Where the conversation stands for ``key`` (None: not in it)."""
        state = self._conversations.get(key)
        return state if isinstance(state, int) else None

    def set_state(self, key: ConversationKey, state: int | None) -> None:
        """Puts the conversation for ``key`` where the database says it is."""
        if state is None:
            self._conversations.pop(key, None)
        else:
            self._conversations[key] = state

    def handlers(self) -> list[BaseHandler[Any, Any, Any]]:
        """Every handler that may take a step: entry points, states and fallbacks."""
        found = [*self.entry_points, *self.fallbacks]
        for state, handlers in self.states.items():
            if state not in (self.TIMEOUT, self.WAITING):
                found.extend(handlers)
        return list({id(h): h for h in found}.values())


class DialogPersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """PTB's persistence for dialogs only (see module doc)."""

    def __init__(self, services: Services, keys: Iterable[str]) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=UPDATE_INTERVAL,
        )
        self.services = services
        self.keys = tuple(keys)
        self._keyset = frozenset(self.keys)
        self.conversations: list[StoredConversation] = []
        # Each account's dialog as this process last read or wrote it: what changed since
        # is what `store` writes, so that nothing another instance wrote is overwritten.
        self._synced: dict[int, StoredDialog] = {}
        self._loaded: list[StoredDialog] | None = None
        self._buttons: re.Pattern[str] | None = None
        self._messages: list[BaseHandler[Any, Any, Any]] = []
        self._user_data: Mapping[int, dict[Any, Any]] = {}
        self._next_sweep: datetime | None = None

    def attach(self, application: KursApplication) -> None:
        """Learns the stored conversations and which updates may be one of their steps."""
        self._user_data = application.user_data
        conversations = [
            handler
            for group in application.handlers.values()
            for handler in group
            if isinstance(handler, StoredConversation)
        ]
        self.conversations = conversations
        self._messages = []
        buttons: list[str] = []
        for handler in (h for c in conversations for h in c.handlers()):
            if isinstance(handler, CallbackQueryHandler):
                if not isinstance(handler.pattern, re.Pattern):
                    raise TypeError(f"{handler}: a stored dialog's button needs a pattern")
                buttons.append(f"(?:{handler.pattern.pattern})")
            elif isinstance(handler, CommandHandler | MessageHandler):
                self._messages.append(handler)
            else:  # refresh() could not tell whether an update is one of its steps
                raise TypeError(f"{handler}: not supported in a stored dialog")
        self._buttons = re.compile("|".join(buttons)) if buttons else None

    # --- reading fresh and writing after each update ---------------------------------------
    def may_be_step(self, update: Update) -> bool:
        """Whether a stored conversation could take ``update`` in some state."""
        query = update.callback_query
        if query is not None:  # one pattern for all: sign-ups pass here
            return bool(query.data and self._buttons and self._buttons.match(query.data))
        return any(handler.check_update(update) for handler in self._messages)

    async def refresh(self, chat_id: int, user_id: int, user_data: dict[Any, Any]) -> None:
        """Reads the user's dialog from the database into this process."""
        db, now = self.services.db, self.services.clock.now()
        stored = await db.read(dialogs.load, user_id, now)
        self._install(chat_id, user_id, stored, user_data)

    async def store(
        self, chat_id: int, user_id: int, user_data: dict[Any, Any], *, stepped: bool
    ) -> None:
        """Writes what changed in the user's dialog since it was last read or written.

        ``stepped``: a stored conversation took the update. Without that, a user this
        process knows in no dialog and without dialog data has nothing to write: the path
        of almost every update, which costs a few dictionary lookups.
        """
        if not stepped and user_id not in self._synced and self._keyset.isdisjoint(user_data):
            return
        now = self.services.clock.now()
        if self._next_sweep is None or now >= self._next_sweep:
            self._forget_abandoned(now)
        synced = self._synced.get(user_id)
        if synced is not None and _expired(synced, now):  # forget our copy; the row is gone
            self._install(chat_id, user_id, None, user_data)
            synced = None
        key = (chat_id, user_id)
        states = {c.name: c.state_of(key) for c in self.conversations if c.name}
        base = synced or StoredDialog(user_id)
        state_changes: dict[str, Place | None] = {}
        for name, state in states.items():
            place = None if state is None else (chat_id, state)
            if place != base.states.get(name):
                state_changes[name] = place
        data_changes = {
            k: copy.deepcopy(user_data.get(k))
            for k in self.keys
            if user_data.get(k) != base.data.get(k)
        }
        if not state_changes and not data_changes:
            return
        stored = await self.services.db.run(
            dialogs.save, user_id, state_changes, data_changes, now
        )
        self._install(chat_id, user_id, stored, user_data)  # with what others wrote

    def _forget_abandoned(self, now: datetime) -> None:
        """Drops this process's copies of dialogs abandoned for `EXPIRY` (once a minute), so
        that memory does not keep what the database has let go. A minute later than the
        database does: a step that read its dialog just in time is long done by then."""
        self._next_sweep = now + SWEEP_EVERY
        for user_id, stored in list(self._synced.items()):
            if _expired(stored, now - SWEEP_EVERY):
                chat_ids = {chat for chat, _state in stored.states.values()} or {user_id}
                for chat_id in chat_ids:
                    self._install(chat_id, user_id, None, self._user_data[user_id])

    def _install(
        self, chat_id: int, user_id: int, stored: StoredDialog | None, user_data: dict[Any, Any]
    ) -> None:
        """Makes this process's dialog of the user what the database holds."""
        for conversation in self.conversations:
            place = stored.states.get(conversation.name or "") if stored else None
            state = place[1] if place is not None and place[0] == chat_id else None
            conversation.set_state((chat_id, user_id), state)
        for key in self.keys:
            if stored is not None and key in stored.data:
                user_data[key] = copy.deepcopy(stored.data[key])
            else:
                user_data.pop(key, None)
        if stored is None:
            self._synced.pop(user_id, None)
        else:
            self._synced[user_id] = stored

    async def _write(
        self, user_id: int, states: dict[str, Place | None], data: dict[str, Any]
    ) -> None:
        """Writes what differs from the last read or write (PTB's own calls)."""
        base = self._synced.get(user_id) or StoredDialog(user_id)
        states = {n: p for n, p in states.items() if p != base.states.get(n)}
        data = {k: v for k, v in data.items() if v != base.data.get(k)}
        if not states and not data:
            return
        now = self.services.clock.now()
        stored = await self.services.db.run(dialogs.save, user_id, states, data, now)
        if stored is None:
            self._synced.pop(user_id, None)
        else:
            self._synced[user_id] = stored

    # --- BasePersistence --------------------------------------------------------------------
    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        """The dialog data of every dialog still alive (at start)."""
        return {d.telegram_id: copy.deepcopy(d.data) for d in await self._load_all()}

    async def get_conversations(self, name: str) -> dict[ConversationKey, object]:
        """Where each account stands in conversation ``name`` (at start)."""
        loaded = self._loaded if self._loaded is not None else await self._load_all()
        return {
            (place[0], d.telegram_id): place[1]
            for d in loaded
            if (place := d.states.get(name)) is not None
        }

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        """Writes a conversation's new state, if `store_step` has not already."""
        chat_id, user_id = (int(part) for part in key)
        place = None if new_state is None else (chat_id, cast(int, new_state))
        await self._write(user_id, {name: place}, {})

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        """Writes the dialog keys of ``data``, if `store_step` has not already."""
        await self._write(user_id, {}, {k: data.get(k) for k in self.keys})

    async def drop_user_data(self, user_id: int) -> None:
        """Deletes the account's dialog."""
        await self.services.db.run(dialogs.forget, user_id)
        self._synced.pop(user_id, None)

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        """Nothing on every update: `refresh` reads fresh only before a dialog's steps."""

    async def flush(self) -> None:
        """Nothing is buffered: every write is done when its call returns."""

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        """Not stored."""
        return {}

    async def get_bot_data(self) -> dict[Any, Any]:
        """Not stored."""
        return {}

    async def get_callback_data(self) -> None:
        """Not stored."""

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        """Not stored."""

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        """Not stored."""

    async def update_callback_data(self, data: Any) -> None:
        """Not stored."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Not stored."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        """Not stored."""

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        """Not stored."""

    async def _load_all(self) -> list[StoredDialog]:
        now = self.services.clock.now()
        try:
            self._loaded = await self.services.db.read(dialogs.load_all, now)
        except SQLAlchemyError:
            # Start anyway (every step reads its dialog fresh) and answer with apologies
            # until the database is back, as for every other update.
            log.exception("could not load the dialogs in progress; reading each when needed")
            self._loaded = []
        self._synced = {d.telegram_id: d for d in self._loaded}
        return self._loaded


def _expired(stored: StoredDialog, now: datetime) -> bool:
    return stored.updated_at is not None and stored.updated_at <= now - dialogs.EXPIRY


def persistence_of(context: KursContext) -> DialogPersistence:
    """The application's dialog store."""
    persistence = context.application.persistence
    assert isinstance(persistence, DialogPersistence)
    return persistence


async def refresh(update: Update, context: KursContext) -> None:
    """Before a possible dialog step: reads the user's dialog fresh from the database (the
    other instance may have taken the last step). Anything else reads nothing."""
    if persistence_of(context).may_be_step(update):
        await read_fresh(update, context)


async def read_fresh(update: Update, context: KursContext) -> None:
    """Reads the user's dialog fresh (once per update), for what depends on it outside the
    stored conversations' steps: a question asked before, maybe on the other instance."""
    user, chat = update.effective_user, update.effective_chat
    if context.dialog_read or user is None or chat is None or context.user_data is None:
        return  # (user_data is there whenever the update has a user)
    await persistence_of(context).refresh(chat.id, user.id, context.user_data)
    context.dialog_read = True


async def store_step(update: Update, context: KursContext) -> None:
    """Writes what this update changed in its user's dialog, before their next update."""
    user, chat = update.effective_user, update.effective_chat
    if user is not None and chat is not None and context.user_data is not None:
        stepped = context.dialog_step
        await persistence_of(context).store(chat.id, user.id, context.user_data, stepped=stepped)


def register(application: KursApplication) -> None:
    """Learns the stored conversations (register it after them) and writes after each update."""
    persistence = application.persistence
    assert isinstance(persistence, DialogPersistence)
    persistence.attach(application)
    application.add_handler(TypeHandler(Update, store_step), group=STORE_GROUP)
