"""The first call to the Bot API (``getMe``), and what its failure means, in one line.

`kursbot run` makes it before it hands over to PTB (whose own start logs a refused token
or an unreachable server with a traceback, the token in its text), `kursbot check
--online` on a `Bot` of its own. Neither line shows the token.
"""

from __future__ import annotations

import asyncio

from telegram import Bot, User
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.logs import Mask
from kurse.config import Settings


class BotApiUnavailable(Exception):
    """The Bot API refused the token or cannot be reached; the message is one line."""


def describe(error: TelegramError, settings: Settings) -> str:
    """One line on why the Bot API at the configured address did not answer (no secret)."""
    api = settings.kursbot_telegram_api_url
    if isinstance(error, InvalidToken):  # 401 or 404 to getMe
        line = (
            f"The Bot API at {api} refused the token (TELEGRAM_BOT_TOKEN): "
            "check it with @BotFather"
        )
    elif isinstance(error, NetworkError):  # also TimedOut
        reason = str(error.message).removeprefix("httpx.")
        line = f"Cannot reach the Bot API at {api}: {reason}"
    else:
        line = f"The Bot API at {api} answered with an error: {error.message}"
    return Mask(settings.secrets())(" ".join(line.split()))


async def initialize(bot: Bot, settings: Settings) -> User:
    """Initialises ``bot`` (its ``getMe``); raises `BotApiUnavailable` if that fails."""
    try:
        await bot.initialize()
    except TelegramError as error:
        raise BotApiUnavailable(describe(error, settings)) from None
    return bot.bot


def get_me(settings: Settings) -> User:
    """Asks the Bot API who the bot is, on a `Bot` of its own (`kursbot check --online`)."""
    api = settings.kursbot_telegram_api_url

    async def ask() -> User:
        bot = Bot(settings.telegram_bot_token, base_url=f"{api}/bot")
        try:
            return await initialize(bot, settings)
        finally:
            await bot.shutdown()

    return asyncio.run(ask())
