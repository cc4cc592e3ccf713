"""What the bot sends keeps to Telegram's limits: overall, and per chat."""

from __future__ import annotations

import asyncio
import time

from bot.app import build_application
from bot.context import Services
from bot.local_api import LocalBotApi


async def sent_after(services: Services, chat_ids: list[int]) -> list[float]:
    """Sends one message to each of ``chat_ids`` at once, through the Application's rate
    limiter (overall limit set high); returns when each was answered, in seconds."""
    api = LocalBotApi()
    app = build_application(services, request=api, rate_limit=True, messages_per_second=1000)
    api.bind(app.bot)
    await app.initialize()
    began = time.monotonic()

    async def send(chat_id: int) -> float:
        await app.bot.send_message(chat_id, "Erinnerung")
        return time.monotonic() - began

    try:
        return sorted(await asyncio.gather(*(send(chat_id) for chat_id in chat_ids)))
    finally:
        await app.shutdown()


async def test_five_messages_to_one_chat_go_three_at_once_then_one_a_second(db, clock, settings):
    done = await sent_after(Services(db, clock, settings), [4711] * 5)

    assert done[2] < 0.5  # a short burst goes out together
    # then one a second
    assert done[3] >= 0.9
    assert done[4] >= 1.8


async def test_messages_to_thirty_chats_are_not_held_back_by_the_per_chat_limit(
    db, clock, settings
):
    done = await sent_after(Services(db, clock, settings), list(range(5000, 5030)))

    assert done[-1] < 0.5
