"""Telegram's limits on what the bot sends, applied to every Bot API call to a chat.

PTB's `AIORateLimiter` keeps the overall rate (about 30 messages a second), the limit of
group chats, and waits out `RetryAfter`. Telegram also asks not to send more than about one
message a second into one chat, allowing short bursts; `AIORateLimiter` applies that only to
group chats, and Kursbot works in private chats. `ChatRateLimiter` adds it for them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.ext import AIORateLimiter

# Forget a chat's limiter once so many are kept (only those with their capacity back).
_KEEP = 1024

Result = bool | dict[str, Any] | list[dict[str, Any]]


class Stale(Exception):
    """The reason for a message went away while it waited for its turn to be sent."""


class GiveBack(Exception):
    """The application stops and its grace is over: the message is not sent now."""


class ChatRateLimiter(AIORateLimiter):
    """`AIORateLimiter` plus, per private chat, up to ``chat_burst`` calls at once and then
    one a second (a sign-up's page edit and calendar file go out together; a flood of
    messages to one officer is spread out)."""

    def __init__(self, *, chat_burst: int = 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
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
        chat_id = _private_chat(data.get("chat_id"))
        if chat_id is None:  # button answers and the like are not messages into a chat
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )
        async with self._limiter(chat_id):
            return await super().process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )

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
