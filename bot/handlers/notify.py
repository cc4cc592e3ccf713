"""Messages to other people than the one who acted (promoted officers, leads, everyone of a
cancelled course). A chat that blocked the bot marks its person inactive; the rest go on."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from telegram.error import Forbidden, TelegramError

from bot import render, render_leads
from bot.context import KursContext
from bot.i18n import Texts, texts
from kurse import people
from kurse.models import Course, Person

log = logging.getLogger(__name__)


async def tell(context: KursContext, person: Person, text: str) -> bool:
    """Sends ``text`` to ``person``; False if they blocked the bot (then marked inactive)."""
    try:
        await context.bot.send_message(person.telegram_id, render.truncate(text))
    except Forbidden:
        log.info("person %s blocked the bot; marked inactive", person.id)
        await context.services.db.run(people.set_active, person.id, False)
        return False
    except TelegramError as error:
        log.warning("message to person %s failed: %s", person.id, error)
        return False
    return True


async def tell_all(
    context: KursContext, persons: Iterable[Person], text: Callable[[Texts], str]
) -> int:
    """Tells each person once, in their language; returns how many got it."""
    delivered = 0
    for person in {p.id: p for p in persons}.values():
        delivered += await tell(context, person, text(texts(person.language)))
    return delivered


async def tell_lead(
    context: KursContext, lead: Person | None, course: Course, text: Callable[[Texts], str]
) -> None:
    """Tells the course's lead, unless they switched it off; a burst of changes arrives as
    one message (see `Digest`)."""
    if lead is not None and lead.active and lead.lead_notifications:
        t = texts(lead.language)

        async def send(context: KursContext, message: str) -> bool:
            return await tell(context, lead, message)

        digest: Digest = context.bot_data["lead_digest"]
        await digest.add(context, lead.telegram_id, t, text(t), send)


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
    """Messages of one kind into one chat, at most one per window: a lead's news of sign-ups
    and cancellations, the admins' error reports.

    The first line after a quiet window is sent at once; what follows within the window is
    collected and sent as one message when the window is over (at most ``max_lines`` lines,
    then how many more). A burst of 500 sign-ups gives the lead two messages instead of 500,
    which Telegram's limit of about one message a second per chat would spread over eight
    minutes, and no officer's handler waits for them. Kept in memory: on a restart, at most
    one window of lines is lost (the scheduled lead lists mark every change anyway; errors
    are in the log).
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


def lead_change(
    person: Person, agency_code: str, course: Course, what: str
) -> Callable[[Texts], str]:
    """The text for a lead about one officer's change (``what`` is a catalog string)."""
    return lambda t: render_leads.lead_update(t, course, person, agency_code, t.gettext(what))
