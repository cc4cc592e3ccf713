"""Drives the real `Application` through the local Bot API, as officers would."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot import checkin_codes
from bot.app import build_application
from bot.context import KursApplication, Services
from bot.local_api import LocalBotApi, Sent
from bot.processor import PerUserOrderProcessor
from bot.throttle import Throttle

_ids = itertools.count(500_000)


def user(first_name: str = "Anna", language: str = "de", **extra: Any) -> dict[str, Any]:
    """A Telegram user as updates carry it."""
    return {
        "id": next(_ids),
        "is_bot": False,
        "first_name": first_name,
        "language_code": language,
        **extra,
    }


def user_of(person: Any) -> dict[str, Any]:
    """The Telegram user of a person made by `tests.builders` (to send or press as them)."""
    return {"id": person.telegram_id, "is_bot": False, "first_name": "X", "language_code": "de"}


@dataclass
class Harness:
    """The application, its local Bot API and helpers to type and press buttons."""

    app: KursApplication
    api: LocalBotApi
    services: Services
    _seen: dict[int, int] = field(default_factory=dict)
    _typed: dict[int, int] = field(default_factory=dict)  # user id -> their last message id

    @property
    def processor(self) -> PerUserOrderProcessor:
        processor = self.app.update_processor
        assert isinstance(processor, PerUserOrderProcessor)
        return processor

    async def feed(self, updates: list[Any]) -> None:
        """Puts updates into the application's queue at once and waits until all are done."""
        target = self.processor.finished + len(updates)
        for update in updates:
            await self.app.update_queue.put(update)
        async with asyncio.timeout(60):
            await self.processor.wait_for(target)

    async def send(self, who: dict[str, Any], text: str) -> list[Sent]:
        """``who`` types ``text``; returns what the bot sent to them in answer."""
        self._mark(who)
        update = self.api.user_message(who, text)
        assert update.message is not None
        self._typed[who["id"]] = update.message.message_id
        await self.feed([update])
        return self.new(who)

    async def edit(
        self, who: dict[str, Any], text: str, message_id: int | None = None
    ) -> list[Sent]:
        """``who`` edits a message they sent (by default their last one) to ``text``;
        returns what the bot sent to them in answer."""
        self._mark(who)
        message_id = message_id or self.typed_id(who)
        await self.feed([self.api.edited_message(who, text, message_id)])
        return self.new(who)

    async def press(
        self, who: dict[str, Any], label: str, message: Sent | None = None
    ) -> list[Sent]:
        """``who`` presses the button labelled ``label`` (in the newest message that has it)."""
        message = message or self.with_button(who, label)
        return await self.press_data(who, message.button(label)["callback_data"], message)

    async def press_data(self, who: dict[str, Any], data: str, message: Sent) -> list[Sent]:
        """``who`` presses a button with exactly ``data`` (forged data included)."""
        self._mark(who)
        await self.feed([self.api.button_press(who, message, data)])
        return self.new(who)

    def sign_up_presses(self, telegram_ids: list[int], course_id: int) -> list[Any]:
        """One "Anmelden" press per account, each on a course page it has open (a burst)."""
        data = f"su:{course_id}:0"
        presses = []
        for telegram_id in telegram_ids:
            who = {"id": telegram_id, "is_bot": False, "first_name": "O", "language_code": "de"}
            page = self.api.show(
                telegram_id, "Kursseite", [[{"text": "Anmelden", "callback_data": data}]]
            )
            presses.append(self.api.button_press(who, page, data))
        return presses

    def typed_id(self, who: dict[str, Any]) -> int:
        """The message id of what ``who`` typed last (to edit it later)."""
        return self._typed[who["id"]]

    def with_button(self, who: dict[str, Any], label: str) -> Sent:
        """The newest message in ``who``'s chat that shows a button labelled ``label``."""
        for sent in reversed(self.api.messages(who["id"])):
            if any(label in text for text in sent.button_texts()):
                return sent
        raise AssertionError(f"no message with button {label!r}")

    def new(self, who: dict[str, Any]) -> list[Sent]:
        """Messages sent to ``who`` since the last `send` or `press`."""
        return self.api.messages(who["id"])[self._seen.get(who["id"], 0) :]

    def last(self, who: dict[str, Any]) -> Sent:
        """The newest message in ``who``'s chat (edits included)."""
        return self.api.last(who["id"])

    def alerts(self) -> list[str]:
        """Texts of callback answers shown to users, oldest first."""
        return [a["text"] for a in self.api.callback_answers if a.get("text")]

    def _mark(self, who: dict[str, Any]) -> None:
        self._seen[who["id"]] = len(self.api.messages(who["id"]))

    async def join(self, who: dict[str, Any], access_code: str, name: str, rank: str = "POK"):  # type: ignore[no-untyped-def]
        """Runs the whole joining dialog."""
        await self.send(who, f"/start {access_code}")
        await self.send(who, name)
        await self.send(who, rank)
        return await self.press(
            who, "Zur Kenntnis genommen" if who["language_code"] != "en" else "Noted"
        )


async def start_harness(
    services: Services,
    *,
    sweeping: bool = False,
    throttle: Throttle | None = None,
    messages_per_second: float | None = None,
    api: LocalBotApi | None = None,
) -> Harness:
    """Builds and starts the application on the local Bot API (no rate limiter unless
    ``messages_per_second`` is given).

    The periodic sweep of timed work (and the renewal of check-in codes) is paused unless
    ``sweeping``: tests move the clock and call `bot.jobs.run_due_work` (and
    `bot.checkin_codes.renew_shown_codes`) themselves, so that nothing depends on real
    time. ``api`` shares another harness's Bot API: a second instance, or the same bot
    after a restart, talking to the same Telegram (the chats keep their messages and
    buttons).
    """
    api = api or LocalBotApi()
    app = build_application(
        services,
        request=api,
        rate_limit=messages_per_second is not None,
        messages_per_second=messages_per_second or 30.0,
        throttle=throttle,
    )
    api.bind(app.bot)
    await app.initialize()
    if app.post_init:
        await app.post_init(app)
    await app.start()
    if not sweeping and app.job_queue is not None:
        for name in ("tasks:sweep", checkin_codes.JOB):
            for job in app.job_queue.get_jobs_by_name(name):
                job.schedule_removal()
    return Harness(app, api, services)


async def stop_harness(harness: Harness) -> None:
    """Stops the application (again: nothing happens)."""
    if harness.app.running:
        await harness.app.stop()
    await harness.app.shutdown()


async def eventually(check: Callable[[], bool], seconds: float = 5.0) -> None:
    """Waits until ``check()`` holds (for work the bot does in the background)."""
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"still not so after {seconds} s")


async def deliver(h: Harness) -> None:
    """Runs the due work, and waits for a wake-up the bot runs meanwhile in the background
    (on PostgreSQL it holds the rows it claims, which the test's run then skips)."""
    from sqlalchemy import and_, func, or_, select

    from bot.jobs import run_due_work
    from kurse.models import Outbox

    db, clock = h.services.db, h.services.clock

    def settled() -> bool:
        with db.transaction(readonly=True) as session:
            busy = session.scalar(
                select(func.count())
                .select_from(Outbox)
                .where(
                    or_(
                        Outbox.state == "sending",
                        and_(Outbox.state == "pending", Outbox.due_at <= clock.now()),
                    )
                )
            )
        return not busy

    for _ in range(3):
        await run_due_work(h.app)
        await eventually(settled)
