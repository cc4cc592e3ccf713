"""``kursbot chat``: the same bot in the terminal, without Telegram or a token.

You type as one Telegram user; the bot's answers are printed with their buttons numbered,
and typing a number presses that button of the newest message that has buttons. Files the
bot sends are saved into a folder. ``/quit`` or end of input leaves.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
from pathlib import Path
from typing import Any, TextIO

from bot.app import build_application
from bot.context import Services
from bot.local_api import LocalBotApi, Sent
from bot.processor import PerUserOrderProcessor
from kurse import demo
from kurse.clock import SystemClock
from kurse.config import Settings
from kurse.db import Database

_TAG = re.compile(r"</?(b|i|u|s|code|pre)>")


def plain(text: str) -> str:
    """Telegram HTML as terminal text: bold becomes *bold*, entities are unescaped."""
    return html.unescape(_TAG.sub(lambda m: "*" if m.group(1) == "b" else "", text))


class TerminalChat:
    """One user's chat with the bot, printed to ``out``."""

    def __init__(self, services: Services, user: dict[str, Any], files: Path, out: TextIO):
        self.api = LocalBotApi()
        self.app = build_application(services, request=self.api, rate_limit=False)
        self.api.bind(self.app.bot)
        self.user, self.files, self.out = user, files, out
        self._shown: dict[int, int] = {}  # message id -> edits shown
        self._answers_shown = 0  # button answers printed so far

    async def __aenter__(self) -> TerminalChat:
        await self.app.initialize()
        if self.app.post_init:
            await self.app.post_init(self.app)
        await self.app.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.app.stop()
        await self.app.shutdown()

    async def handle(self, line: str) -> None:
        """Types ``line``, or presses button number ``line``; prints what changed."""
        line = line.strip()
        if not line:
            return
        if line.isdigit():
            update = self._press(int(line))
            if update is None:
                print(f"(no button {line} in the last message with buttons)", file=self.out)
                return
        else:
            update = self.api.user_message(self.user, line)
        processor = self.app.update_processor
        assert isinstance(processor, PerUserOrderProcessor)
        target = processor.finished + 1
        await self.app.update_queue.put(update)
        await processor.wait_for(target)
        self.print_new()

    def _press(self, number: int) -> Any:
        for sent in reversed(self.api.messages(self.user["id"])):
            flat = [b for row in sent.buttons for b in row]
            if flat:
                if not 1 <= number <= len(flat):
                    return None
                return self.api.button_press(self.user, sent, flat[number - 1]["callback_data"])
        return None

    def print_new(self) -> None:
        """Prints the answers to pressed buttons (Telegram shows them briefly over the chat),
        new messages and those edited since they were last shown."""
        answers = self.api.callback_answers
        for answer in answers[self._answers_shown :]:
            if answer.get("text"):
                print(f"bot (notice): {plain(str(answer['text']))}", file=self.out)
        self._answers_shown = len(answers)
        for sent in self.api.messages(self.user["id"]):
            shown = self._shown.get(sent.message_id)
            if shown == sent.edits:
                continue
            self._shown[sent.message_id] = sent.edits
            self._print(sent, edited=shown is not None)

    def _print(self, sent: Sent, *, edited: bool) -> None:
        marker = "bot (edited)" if edited else "bot"
        if sent.document is not None:
            self.files.mkdir(parents=True, exist_ok=True)
            path = self.files / sent.document[0]
            path.write_bytes(sent.document[1])
            print(f"{marker}: [file saved: {path}] {plain(sent.text or '')}", file=self.out)
        else:
            print(f"{marker}: {plain(sent.text or '')}", file=self.out)
        number = 0
        for row in sent.buttons:
            labels = []
            for button in row:
                number += 1
                labels.append(f"[{number}] {button['text']}")
            print("     " + "   ".join(labels), file=self.out)


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
    user = {"id": user_id, "is_bot": False, "first_name": name, "language_code": language}
    interactive = source.isatty()
    print(
        f"You are {name} (Telegram id {user_id}). Type messages or commands, a number to press "
        f"a button, /quit to leave. Files go to {files}/.",
        file=out,
    )
    async with TerminalChat(Services(db, clock, settings), user, files, out) as chat:
        loop = asyncio.get_running_loop()
        while True:
            if interactive:
                print("> ", end="", flush=True, file=out)
            line = await loop.run_in_executor(None, source.readline)
            if not line or line.strip() == "/quit":
                break
            if not interactive:
                print(f"> {line.rstrip()}", file=out)
            await chat.handle(line)
