"""Telegram's limits on what the bot sends, applied to every Bot API call to a chat.

PTB's `AIORateLimiter` keeps the overall rate (about 30 messages a second), the limit of
group chats, and waits out `RetryAfter`. Telegram also asks not to send more than about one
message a second into one chat, allowing short bursts; `AIORateLimiter` applies that only to
group chats, and Kursbot works in private chats. `ChatRateLimiter` adds it for them.

The overall rate is shared by two kinds of calls: answers to whoever is using the bot now, and
the messages the outbox sends by itself (reminders, certificates, a cancellation's notices;
they carry a `bot.jobs.SendCheck`). A hundred certificates at 30 a second are three seconds
of sending; if answers queued behind them, every officer typing meanwhile would wait that long
(measured in `bench/certificates.py`: p50 0.8 s). So `ChatRateLimiter` keeps the overall rate
itself and lets the outbox's messages take a turn only while a reserve of the budget
(`RESERVE_SHARE` of the rate) is left: answers take the reserve at once, and the outbox still
uses the whole rate whenever nobody is answered. Should answers alone take the whole rate
for a while, an outbox message waits at most `OUTBOX_PATIENCE` for the reserve and then
queues like an answer, so the outbox is slowed down, never stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.ext import AIORateLimiter

# Forget a chat's limiter once so many are kept (only those with their capacity back).
_KEEP = 1024
# The share of the overall rate that the outbox's messages leave for answers (5 of 30).
RESERVE_SHARE = 1 / 6
OUTBOX_PATIENCE = 1.0  # seconds an outbox message waits for the reserve, at most

Result = bool | dict[str, Any] | list[dict[str, Any]]


class Stale(Exception):
    """The reason for a message went away while it waited for its turn to be sent."""


class GiveBack(Exception):
    """The application stops and its grace is over: the message is not sent now."""


class ChatRateLimiter(AIORateLimiter):
    """`AIORateLimiter` plus, per private chat, up to ``chat_burst`` calls at once and then
    one a second (a sign-up's page edit and calendar file go out together; a flood of
    messages to one officer is spread out); and answers before the outbox's messages (see
    the module doc)."""

    def __init__(
        self,
        *,
        chat_burst: int = 3,
        overall_max_rate: float = 30,
        overall_time_period: float = 1,
        **kwargs: Any,
    ) -> None:
        # PTB's own overall limiter is switched off (0): the one here knows the two kinds.
        super().__init__(overall_max_rate=0, overall_time_period=0, **kwargs)
        self._overall: AsyncLimiter | None = None
        if overall_max_rate and overall_time_period:
            self._overall = AsyncLimiter(overall_max_rate, overall_time_period)
        # At least one place, and never all of them (at one message a second: none).
        self._reserve = min(
            max(1, round(overall_max_rate * RESERVE_SHARE)), int(overall_max_rate) - 1
        )
        self._outbox_turn = asyncio.Lock()  # one outbox message at a time waits for its turn
        self._chat_burst = chat_burst
        self._chats: dict[int, AsyncLimiter] = {}

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Any,
    ) -> Result:
        """Waits for the chat's limiter (private chats), then for PTB's limits.

        ``rate_limit_args`` may carry a check (an object with an async ``still_due()``, see
        `bot.jobs.SendCheck`): it runs after the waits, right before each attempt, and a
        message whose reason went away meanwhile raises `Stale` instead of going out.
        """
        check = getattr(rate_limit_args, "still_due", None)
        if check is not None:
            callback = _checked(callback, check)
            rate_limit_args = None
        # Button answers and the like are not messages into a chat: no limit but Telegram's
        # RetryAfter (as in PTB's own limiter).
        into_chat = data.get("chat_id") is not None
        chat_id = _private_chat(data.get("chat_id"))
        per_chat = self._limiter(chat_id) if chat_id is not None else contextlib.nullcontext()
        async with per_chat:
            if into_chat:
                await self._take_turn(outbox=check is not None)
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )

    async def _take_turn(self, *, outbox: bool) -> None:
        """Waits for a place in the overall rate; the outbox's messages only while the
        reserve for answers is left, for at most `OUTBOX_PATIENCE` (one of them waiting at
        a time, so that several do not see the same free place)."""
        if self._overall is None:
            return
        if not outbox:
            await self._overall.acquire()
            return
        loop = asyncio.get_running_loop()
        async with self._outbox_turn:
            give_up, places = loop.time() + OUTBOX_PATIENCE, self._reserve + 1
            # Polled: the bucket leaks with time, there is no event to wait for.
            while not self._overall.has_capacity(places) and loop.time() < give_up:  # noqa: ASYNC110
                await asyncio.sleep(self._overall.time_period / self._overall.max_rate)
            # At once if the place was just seen (no await since); else in line with answers.
            await self._overall.acquire()

    def _limiter(self, chat_id: int) -> AsyncLimiter:
        limiter = self._chats.get(chat_id)
        if limiter is None:
            if len(self._chats) >= _KEEP:
                for key, idle in list(self._chats.items()):
                    if idle.has_capacity(idle.max_rate):
                        del self._chats[key]
            limiter = self._chats[chat_id] = AsyncLimiter(self._chat_burst, self._chat_burst)
        return limiter


def _checked(
    callback: Callable[..., Coroutine[Any, Any, Result]],
    still_due: Callable[[], Coroutine[Any, Any, bool]],
) -> Callable[..., Coroutine[Any, Any, Result]]:
    async def call(*args: Any, **kwargs: Any) -> Result:
        if not await still_due():
            raise Stale
        return await callback(*args, **kwargs)

    return call


def _private_chat(chat_id: object) -> int | None:
    if not isinstance(chat_id, int | str):
        return None
    try:
        number = int(chat_id)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
