"""The check-in code in the lead's chat (issue 18): its picture, and its renewal in place.

`/checkin` sends the code with a QR code of its deep link; from then on the bot edits that
message with each new code (every two minutes) until the course day ends, and then says
that the check-in is closed (`kurse.checkin_display` decides; a round runs every `EVERY`).
The edits are the outbox's kind of message for the rate limiter: answers to people typing
go first (`bot.ratelimit`).
"""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import datetime
from typing import Any

import segno
from telegram import InputMediaPhoto
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, ContextTypes

from bot import keyboards, render_attendance
from bot.context import KursApplication, Services
from bot.i18n import Texts, texts
from bot.jobs import SendCheck
from bot.ratelimit import Stale
from kurse import checkin_display
from kurse.actors import Actor
from kurse.checkin import ShownCode
from kurse.checkin_display import Renewal
from kurse.db import background
from kurse.models import id_of

log = logging.getLogger(__name__)

EVERY = 10.0  # seconds between rounds: a new code is shown at most this late
JOB = "checkin:renew"


def link_of(shown: ShownCode, bot_username: str) -> str:
    """The deep link an officer opens to check in with this code."""
    return f"https://t.me/{bot_username}?start={shown.link}"


def picture(link: str) -> bytes:
    """The QR code of ``link``, as a PNG."""
    png = io.BytesIO()
    segno.make(link, error="m").save(png, kind="png", scale=10, border=4)
    return png.getvalue()


def _code_media(t: Texts, shown: ShownCode, bot_username: str) -> InputMediaPhoto:
    """The code as the message shows it: its QR code, with the code and link as caption."""
    link = link_of(shown, bot_username)
    return InputMediaPhoto(
        picture(link),
        caption=render_attendance.checkin_code(t, shown, link),
        filename=f"checkin-{shown.course.code}.png",
    )


async def put_on_show(
    application: Application[Any, Any, Any, Any, Any, Any],
    shown: ShownCode,
    chat_id: int,
    now: datetime,
    *,
    actor: Actor,
    t: Texts,
    in_place: int | None = None,
) -> None:
    """Shows ``shown`` in the chat: in the message ``in_place`` (the "New code" button is
    under it) if that shows the same course, else in a new message; keeps it renewed from
    now on and closes the older messages of the course in the chat."""
    db, bot = application.bot_data["services"].db, application.bot
    media = _code_media(t, shown, bot.username)
    markup = keyboards.checkin_renew(t, id_of(shown.course))
    course_there = (
        await db.read(checkin_display.course_shown, chat_id, in_place)
        if in_place is not None
        else None
    )
    if course_there not in (None, id_of(shown.course)):
        in_place = None  # a button of another course under this code: a message of its own
    message_id = in_place
    if in_place is not None:
        try:
            async with message_lock(application, chat_id, in_place):  # a renewal goes first
                await bot.edit_message_media(
                    media=media, chat_id=chat_id, message_id=in_place, reply_markup=markup
                )
        except BadRequest as error:  # the same code still (not modified), or too old to edit
            if "not modified" not in str(error):
                message_id = None
    if message_id is None:
        # ``media.media`` is the picture as an InputFile, which keeps its file name.
        sent = await bot.send_photo(
            chat_id, photo=media.media, caption=media.caption, reply_markup=markup
        )
        message_id = sent.message_id
    replaced = await db.run(
        checkin_display.keep_showing, shown, chat_id, message_id, now, actor=actor
    )
    for older in replaced:
        await show(application, older)


async def renew_shown_codes(application: KursApplication) -> int:
    """One round: every check-in message whose code is out of date shows the new one (or
    that it is closed); returns how many messages were looked at."""
    services: Services = application.bot_data["services"]
    with background():  # answers to people typing go first (`kurse.db.background`)
        renewals = await services.db.run(
            checkin_display.due,
            services.clock.now(),
            admin_ids=services.settings.kursbot_admin_ids,
        )
        for renewal in renewals:
            await show(application, renewal)
    return len(renewals)


def message_lock(
    application: Application[Any, Any, Any, Any, Any, Any], chat_id: int, message_id: int
) -> asyncio.Lock:
    """One edit of a check-in message at a time in this process: a renewal on its way and
    the closing of the same message (a newer /checkin) do not overtake each other."""
    locks: dict[tuple[int, int], asyncio.Lock] = application.bot_data.setdefault(
        "checkin_message_locks", {}
    )
    if len(locks) > _KEEP_LOCKS:
        for key in [key for key, lock in locks.items() if not lock.locked()]:
            del locks[key]
    return locks.setdefault((chat_id, message_id), asyncio.Lock())


_KEEP_LOCKS = 256


async def show(application: Application[Any, Any, Any, Any, Any, Any], renewal: Renewal) -> None:
    """Edits the message of ``renewal``: the new code and its picture, or that it is closed
    (then the display is forgotten). A message that is gone is forgotten; an edit Telegram
    did not take now is tried again in the next round. (Any `Application`: handlers pass
    ``context.application``, which PTB types with an open context type.)"""
    services: Services = application.bot_data["services"]
    bot, t, db = application.bot, texts(renewal.language), services.db

    async def still_due() -> bool:
        return await db.read(checkin_display.still_shown, renewal)

    limited: dict[str, Any] = {"rate_limit_args": SendCheck(still_due)} if bot.rate_limiter else {}
    course_id = id_of(renewal.course)
    async with message_lock(application, renewal.chat_id, renewal.message_id):
        # Checked again after the wait for the lock (and, with the rate limiter, after the
        # wait for Telegram's limits): closed or replaced meanwhile, it is not renewed.
        if not await still_due():
            return
        try:
            if renewal.shown is not None:
                await bot.edit_message_media(
                    media=_code_media(t, renewal.shown, bot.username),
                    chat_id=renewal.chat_id,
                    message_id=renewal.message_id,
                    reply_markup=keyboards.checkin_renew(t, course_id),
                    **limited,
                )
            else:
                assert renewal.closed is not None
                await bot.edit_message_caption(
                    chat_id=renewal.chat_id,
                    message_id=renewal.message_id,
                    caption=render_attendance.checkin_closed(t, renewal.course, renewal.closed),
                    reply_markup=None,
                    **limited,
                )
        except Stale:
            return
        except (Forbidden, BadRequest) as error:
            if "not modified" in str(error):  # it shows this already
                if renewal.closed is not None:
                    await db.run(checkin_display.forget, renewal.display_id)
                return
            # Deleted in the chat, too old to edit, the bot blocked: it will not get better.
            log.info("check-in message %s no longer renewed: %s", renewal.display_id, error)
            await db.run(checkin_display.forget, renewal.display_id)
        except TelegramError as error:
            log.warning("check-in message %s not edited now: %s", renewal.display_id, error)
            await db.run(checkin_display.give_back, renewal)
        else:
            if renewal.closed is not None:  # it says so now: nothing more to do with it
                await db.run(checkin_display.forget, renewal.display_id)


async def _tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The job: one round of renewals (a failure is logged; the next round tries again)."""
    application: KursApplication = context.application  # type: ignore[assignment]
    try:
        await renew_shown_codes(application)
    except Exception:
        log.exception("renewing the check-in codes failed; the next round tries again")


def register(application: KursApplication) -> None:
    """Starts the rounds."""
    if application.job_queue is not None:
        application.job_queue.run_repeating(_tick, interval=EVERY, first=EVERY, name=JOB)
