"""What the bot sends keeps to Telegram's limits: overall, and per chat."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from bot.app import build_application
from bot.context import Services
from bot.jobs import SendCheck
from bot.local_api import LocalBotApi
from bot.ratelimit import OUTBOX_PATIENCE


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


async def _always_due() -> bool:
    return True


@contextlib.asynccontextmanager
async def limited(services: Services, rate: float) -> AsyncIterator[tuple[Any, LocalBotApi]]:
    """The Application with the production rate limiter at ``rate`` messages a second."""
    api = LocalBotApi()
    app = build_application(services, request=api, rate_limit=True, messages_per_second=rate)
    api.bind(app.bot)
    await app.initialize()
    try:
        yield app, api
    finally:
        await app.shutdown()


@contextlib.asynccontextmanager
async def queued(app: Any, chats: range) -> AsyncIterator[None]:
    """One of the outbox's messages (they carry a `SendCheck`) to each of ``chats``, all
    waiting for their turn meanwhile."""
    tasks = [
        asyncio.create_task(
            app.bot.send_message(chat, "Erinnerung", rate_limit_args=SendCheck(_always_due))
        )
        for chat in chats
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _sent_to(api: LocalBotApi, chats: range) -> int:
    return sum(1 for name, p in api.calls if name == "sendMessage" and int(p["chat_id"]) in chats)


async def test_an_answer_goes_out_before_the_queued_messages_that_wait_for_their_turn(
    db, clock, settings
):
    # 40 queued messages at 10 a second overall: four seconds of sending. An answer to
    # someone typing, asked for while they wait, goes next.
    reminded = range(6000, 6040)
    async with limited(Services(db, clock, settings), 10) as (app, api), queued(app, reminded):
        await asyncio.sleep(0.35)
        sent_before = _sent_to(api, reminded)

        await app.bot.send_message(4711, "Kurse")

        order = [int(p["chat_id"]) for name, p in api.calls if name == "sendMessage"]
        assert 0 < sent_before < 40
        # at most one queued message slipped in between (the one whose turn had come)
        assert order.index(4711) <= sent_before + 1


RESERVE_OF_12 = 2  # a sixth of the overall rate


async def test_queued_messages_leave_part_of_the_burst_for_answers_and_use_the_rest(
    db, clock, settings
):
    reminded = range(6000, 6030)
    async with limited(Services(db, clock, settings), 12) as (app, api), queued(app, reminded):
        await asyncio.sleep(0.02)
        at_once = _sent_to(api, reminded)
        answers = [app.bot.send_message(4711 + i, "Kurse") for i in range(RESERVE_OF_12)]
        began = time.monotonic()
        await asyncio.gather(*answers)

        # the burst of 12, less the reserve of 2, went out at once; the reserve is the answers'
        assert at_once == 12 - RESERVE_OF_12
        assert time.monotonic() - began < 0.05


async def test_a_queued_message_still_goes_out_while_answers_take_the_whole_rate(
    db, clock, settings
):
    busy = True
    async with limited(Services(db, clock, settings), 10) as (app, _api):

        async def answering(first_chat: int) -> None:  # more answers than the rate allows
            chat = first_chat
            while busy:
                await app.bot.send_message(chat, "Kurse")
                chat += 10

        answerers = [asyncio.create_task(answering(5000 + i)) for i in range(10)]
        try:
            await asyncio.sleep(0.2)

            await asyncio.wait_for(
                app.bot.send_message(6000, "Erinnerung", rate_limit_args=SendCheck(_always_due)),
                timeout=2 * OUTBOX_PATIENCE + 0.5,
            )

            assert busy  # it went out while answers still took every place
        finally:
            busy = False
            await asyncio.gather(*answerers, return_exceptions=True)
