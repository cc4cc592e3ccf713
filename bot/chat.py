"""``kursbot chat``: the same bot in the terminal, without Telegram or a token.

You type as one Telegram user at a time and switch with ``/als ID Name`` (``/as``), so that
an admin, a lead and officers can meet in one session. What the bot sends is printed as it
happens, in every chat: to the one typing as ``bot:``, to anyone else headed with their name.
Buttons are numbered, and a bare number presses that button of the newest message that has
buttons; ``'12`` sends the text "12". A block between lines ``<<<`` and ``>>>`` (or lines
pasted at once, in a terminal) is one message (`bot.chat_input`). Files the bot sends are
saved per user into ``<files>/<Telegram id>/``. The timed work runs as in ``kursbot run``,
and after each input the chat waits until what is due now is sent. ``/quit`` or the end of
input leaves.

What the chat itself says is English: it is the operator's tool; the bot's texts are in the
language of each user.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TextIO, TypeVar

from sqlalchemy.orm import Session

from bot.app import build_application
from bot.chat_input import BLOCK_END, BLOCK_START, MessageReader, PipedLines, TerminalLines, Typed
from bot.context import Services
from bot.jobs import run_due_work
from bot.local_api import BOT_ID, LocalBotApi, Sent
from bot.processor import PerUserOrderProcessor
from kurse import demo, operations, people
from kurse.clock import SystemClock
from kurse.config import Settings
from kurse.db import Database

_TAG = re.compile(r"</?(b|i|u|s|code|pre)>")
SWITCH = ("/als", "/as")  # the chat's own command: type as another user from now on
AS_TEXT = "'"  # a line starting with it is sent as text without it ('12 sends "12")
T = TypeVar("T")
SETTLE_FOR = 10.0  # seconds at most that the chat waits for due work after an input


def plain(text: str) -> str:
    """Telegram HTML as terminal text: bold becomes *bold*, entities are unescaped."""
    return html.unescape(_TAG.sub(lambda m: "*" if m.group(1) == "b" else "", text))


def telegram_user(user_id: int, name: str, language: str) -> dict[str, Any]:
    """A Telegram user as updates carry it; ``name`` is "First Last" (the first word is the
    first name)."""
    first, _, last = name.strip().partition(" ")
    user: dict[str, Any] = {
        "id": user_id,
        "is_bot": False,
        "first_name": first or f"User {user_id}",
        "language_code": language,
    }
    if last.strip():
        user["last_name"] = last.strip()
    return user


def full_name(user: dict[str, Any]) -> str:
    """The name as Telegram shows it: first and last name."""
    return " ".join(filter(None, (user["first_name"], user.get("last_name"))))


class TerminalChat:
    """The users of one session and their chats with the bot, printed to ``out``."""

    def __init__(self, services: Services, user: dict[str, Any], files: Path, out: TextIO):
        self.api = LocalBotApi()
        self.api.on_message, self.api.on_answer = self._on_message, self._on_answer
        # Lead notices one by one, as they happen (on Telegram a minute's come together).
        self.app = build_application(services, request=self.api, rate_limit=False, digest_window=0)
        self.api.bind(self.app.bot)
        self.services, self.files, self.out = services, files, out
        self.users = {user["id"]: user}
        self.user = user
        self.waiting_for_input = False  # a prompt is shown: what arrives now goes above it
        self._since = services.clock.now()  # timed work claimed from now on is ours
        self._names: dict[int, str] = {}  # chat id -> registered name of someone not typing here

    async def __aenter__(self) -> TerminalChat:
        await self.app.initialize()
        if self.app.post_init:
            await self.app.post_init(self.app)
        await self.app.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.settle()
        await self.app.stop()
        await self.app.shutdown()

    @property
    def prompt(self) -> str:
        """Who is typing: ``Anna (1)> ``."""
        return f"{full_name(self.user)} ({self.user['id']})> "

    async def handle(self, typed: Typed) -> None:
        """Sends what was typed as the current user: a message, a button press (a bare
        number), or the chat's own ``/als``; then waits for the work it caused."""
        text = typed.text
        if not text:
            return
        if not typed.block:
            if text.split()[0] in SWITCH:
                self.switch(text)
                return
            if text.startswith(AS_TEXT):
                text = text.removeprefix(AS_TEXT).strip()
            elif text.isdigit():
                await self._press(int(text))
                return
            if not text:
                return
        await self._feed(self.api.user_message(self.user, text))

    def switch(self, command: str) -> None:
        """``/als ID [Name]``: types as that user from now on (made on first use); ``/als``
        alone lists the users of this session."""
        words = command.split()
        if len(words) == 1:
            for user in self.users.values():
                mark = "*" if user is self.user else " "
                self.say(f"{mark} {full_name(user)} ({user['id']})")
            return
        if not words[1].isdigit() or not 0 < int(words[1]) < 2**52 or int(words[1]) == BOT_ID:
            self.say(f"({words[0]} needs a Telegram id, such as: {words[0]} 1002 Ben Beispiel)")
            return
        user_id, name = int(words[1]), " ".join(words[2:])
        known = self.users.get(user_id)
        if known is None or name:  # new, or renamed; keeps the language it had
            language = (known or self.user)["language_code"]
            known = self.users[user_id] = telegram_user(user_id, name, language)
        self.user = user = known
        self.say(f"Now typing as {full_name(user)} ({user_id}).")

    async def _press(self, number: int) -> None:
        for sent in reversed(self.api.messages(self.user["id"])):
            flat = [b for row in sent.buttons for b in row]
            if flat:
                if 1 <= number <= len(flat):
                    data = flat[number - 1]["callback_data"]
                    await self._feed(self.api.button_press(self.user, sent, data))
                    return
                break
        self.say(
            f"(no button {number} in the last message with buttons; "
            f"{AS_TEXT}{number} sends {number} as text)"
        )

    async def _feed(self, update: Any) -> None:
        processor = self.app.update_processor
        assert isinstance(processor, PerUserOrderProcessor)
        target = processor.finished + 1
        await self.app.update_queue.put(update)
        await processor.wait_for(target)
        await self.settle()

    async def settle(self) -> None:
        """Runs the timed work that is due now (an officer moved up, a course's notices) and
        waits for the sweep the handler woke, so that their messages are printed before the
        next input is read; at most `SETTLE_FOR` seconds."""
        db, clock = self.services.db, self.services.clock
        loop = asyncio.get_running_loop()
        give_up = loop.time() + SETTLE_FOR
        while loop.time() < give_up:
            await run_due_work(self.app)
            if not await db.read(operations.unfinished, clock.now(), self._since):
                return
            await asyncio.sleep(0.05)

    def say(self, line: str) -> None:
        """Prints a line of the chat's own (not the bot's)."""
        self._print_lines([line])

    # --- what the bot sends, as it happens -------------------------------------------------
    def _on_answer(self, answer: dict[str, Any]) -> None:
        """A button's answer (Telegram shows it briefly over the chat of who pressed)."""
        if answer.get("text"):
            self._print_lines([f"bot (notice): {plain(str(answer['text']))}"])

    def _on_message(self, sent: Sent, edited: bool) -> None:
        """A message sent or edited into any chat of this session (or of anyone else)."""
        head = "bot (edited)" if edited else "bot"
        if sent.chat_id != self.user["id"]:
            head = f"{head} → {self._name_of(sent.chat_id)} ({sent.chat_id})"
        text = plain(sent.text or "")
        if sent.document is not None and not edited:
            folder = self.files / str(sent.chat_id)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / Path(sent.document[0]).name
            path.write_bytes(sent.document[1])
            text = f"[file saved: {path}] {text}".rstrip()
        lines = [f"{head}: {text}"]
        number = 0
        for row in sent.buttons:
            labels = []
            for button in row:
                number += 1
                labels.append(f"[{number}] {button['text']}")
            lines.append("     " + "   ".join(labels))
        self._print_lines(lines)

    def _name_of(self, chat_id: int) -> str:
        """A user of this session by their Telegram name, anyone else by their registered name
        (a demo's course lead, say)."""
        user = self.users.get(chat_id)
        if user is not None:
            return full_name(user)
        if chat_id not in self._names:
            name = self.services.db.call_read(_registered_name, chat_id)
            if name is None:
                return "?"
            self._names[chat_id] = name
        return self._names[chat_id]

    def _print_lines(self, lines: list[str]) -> None:
        if self.waiting_for_input:  # something arrived while the user was at the prompt
            print(file=self.out)
        for line in lines:
            print(line, file=self.out)
        if self.waiting_for_input:
            print(self.prompt, end="", flush=True, file=self.out)


def _registered_name(session: Session, telegram_id: int) -> str | None:
    person = people.find_by_telegram_id(session, telegram_id)
    return person.name if person is not None else None


def _greeting(files: Path) -> str:
    return (
        "Type messages or commands; a number presses that button, '12 sends the text 12. "
        f"A form: a line {BLOCK_START}, its lines, a line {BLOCK_END} (or paste it and press "
        "Enter). /als ID Name types as another user (/as, too), /als alone lists them. "
        f"Files go to {files}/<Telegram id>/. /quit leaves."
    )


async def run_chat(
    settings: Settings,
    db: Database,
    *,
    user_id: int,
    name: str,
    language: str,
    load_demo: bool,
    files: Path,
    source: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
) -> None:
    """Runs the terminal chat until ``/quit`` or the end of input."""
    clock = SystemClock()
    if load_demo:
        created = db.call(demo.load_demo, clock.now())
        print(
            f"Demo term loaded: {len(created)} courses."
            if created
            else "The database already has courses; the demo was not loaded.",
            file=out,
        )
    user = telegram_user(user_id, name, language)
    interactive = source.isatty()
    print(f"You are {full_name(user)} (Telegram id {user_id}). {_greeting(files)}", file=out)
    services = Services(db, clock, settings)
    async with TerminalChat(services, user, files, out) as chat:

        def pasted(lines: int) -> None:
            print(
                f"({lines} lines pasted: Enter sends them as one message) ",
                end="",
                flush=True,
                file=out,
            )

        reader = MessageReader(
            TerminalLines(source.fileno()) if interactive else PipedLines(source),
            pastes=interactive,
            on_paste=pasted,
        )
        while True:
            if interactive:
                print(chat.prompt, end="", flush=True, file=out)
                chat.waiting_for_input = True
            typed = await _in_thread(reader.read)
            chat.waiting_for_input = False
            if typed is None or (not typed.block and typed.text == "/quit"):
                break
            if not interactive:
                _echo(out, chat.prompt, typed)
            await chat.handle(typed)


async def _in_thread(read: Callable[[], T]) -> T:
    """``read()`` in a daemon thread: a read that waits for the keyboard does not hold up the
    exit after Ctrl-C, as a thread of the loop's executor would."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def hand_over(outcome: Callable[[], None]) -> None:
        if not future.done():  # not cancelled meanwhile
            outcome()

    def work() -> None:
        try:
            result = read()
        except BaseException as error:  # raised in the loop, not in this thread
            loop.call_soon_threadsafe(hand_over, partial(future.set_exception, error))
        else:
            loop.call_soon_threadsafe(hand_over, partial(future.set_result, result))

    threading.Thread(target=work, name="kursbot-chat-input", daemon=True).start()
    return await future


def _echo(out: TextIO, prompt: str, typed: Typed) -> None:
    """Shows piped input as if typed: the prompt, then the message (a block line by line)."""
    first, *rest = typed.text.split("\n") if typed.text else [""]
    print(f"{prompt}{first}", file=out)
    for line in rest:
        print(f"{' ' * (len(prompt) - 2)}| {line}", file=out)
