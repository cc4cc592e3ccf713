"""Error reports to the admins, at most one message per window (the one message that does
not go through the outbox).

Every message to someone other than the person acting is written to the ``outbox`` in the
transaction that causes it and sent by the timed work (`kurse.outbox`, `bot.jobs`), with its
retries, rate limits and re-checks. Error reports are the exception: they must reach the
admins when the database is what fails, so the error handler sends them directly, through
`Digest`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot import render
from bot.context import KursContext
from bot.i18n import Texts

log = logging.getLogger(__name__)


# Sends one message into the chat; False if it could not be delivered.
Send = Callable[[KursContext, str], Awaitable[bool]]


@dataclass
class _Window:
    quiet_after: float  # monotonic seconds: when the chat may get the next message at once
    t: Texts
    send: Send
    lines: list[str] = field(default_factory=list)
    flush_planned: bool = False


class Digest:
    """Lines into one chat, at most one message per window: the admins' error reports.

    The first line after a quiet window is sent at once; what follows within the window is
    collected and sent as one message when the window is over (at most ``max_lines`` lines,
    then how many more), so an outage is a few messages, not one per failed update. Kept in
    memory: on a restart, at most one window of lines is lost (the errors are in the log).
    """

    def __init__(self, window: float = 60.0, max_lines: int = 50) -> None:
        self.window, self.max_lines = window, max_lines
        self._chats: dict[int, _Window] = {}

    async def add(
        self, context: KursContext, chat_id: int, t: Texts, line: str, send: Send
    ) -> None:
        """Sends ``line`` into ``chat_id`` now, or with the window's other lines later."""
        now = time.monotonic()
        window = self._chats.get(chat_id)
        if window is None or (now >= window.quiet_after and not window.lines):
            self._chats[chat_id] = _Window(now + self.window, t, send)
            await send(context, line)
            return
        window.t, window.send = t, send
        window.lines.append(line)
        if not window.flush_planned and context.job_queue is not None:
            window.flush_planned = True
            # PTB types a context's job_queue with an open context type, which no callback
            # matches; the queue is this application's, which runs _flush with a KursContext.
            context.job_queue.run_once(
                self._flush,  # type: ignore[arg-type]
                when=max(0.0, window.quiet_after - now),
                data=chat_id,
            )

    async def _flush(self, context: KursContext) -> None:
        assert context.job is not None
        chat_id = context.job.data
        assert isinstance(chat_id, int)  # run_once above passes the chat's id
        window = self._chats.get(chat_id)
        if window is None:
            return
        lines, window.lines, window.flush_planned = window.lines, [], False
        window.quiet_after = time.monotonic() + self.window
        if len(lines) > self.max_lines:
            more = len(lines) - self.max_lines
            lines = [*lines[: self.max_lines], render.and_more(window.t, more)]
        for message in render.split_lines(lines):
            if not await window.send(context, message):
                break
