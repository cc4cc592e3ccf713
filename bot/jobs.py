"""APScheduler wiring (PTB's JobQueue): wake up, run due tasks, send due messages.

The database says what is due (`kurse.tasks`); the jobs here only wake the bot: a sweep
every `SWEEP` and an extra wake-up at the next due time when that is sooner. APScheduler's own
job store is in memory and per process, as its documentation requires, so no correctness
depends on it: after a restart the first sweep finds whatever fell due meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes

from bot import (
    certificate_files,
    keyboards,
    render,
    render_approval,
    render_certificates,
    render_courses,
    render_leads,
)
from bot.context import KursApplication, Services
from bot.i18n import Texts, texts
from bot.metrics import SENT, SKIPPED, Metrics
from bot.ratelimit import GiveBack, Stale
from kurse import (
    approval,
    certificates,
    claims,
    lead_lists,
    lead_news,
    offers,
    operations,
    outbox,
    schedule,
    tasks,
)
from kurse.actors import Actor
from kurse.approval import PendingRequest
from kurse.db import background
from kurse.errors import NotAllowed
from kurse.exports import course_calendar
from kurse.lead_lists import Mark
from kurse.models import Course, RegistrationStatus, TaskKind, id_of
from kurse.outbox import MessageKind
from kurse.registration_lists import participants, person_registrations

log = logging.getLogger(__name__)

SWEEP = timedelta(seconds=30)
WAKE_UP = "tasks:now"  # the job that runs the timed work at once (`wake`)
RENEW_EVERY = claims.CLAIM_TIMEOUT / 5
CAPTION_LIMIT = 1024  # Telegram's limit for a file's caption
PARALLEL_SENDS = 50  # in flight at once; the rate limiter paces them further
# A message that waited for Telegram's limits longer than this is checked again right before
# it goes out; one that waited less is as fresh as a second check would make it, which on
# PostgreSQL would double the database work of a fan-out (measured: 2,000 reminders at
# 200/s took 19 s instead of 10 with a second check for every message).
RECHECK_AFTER = 0.5


@dataclass
class WorkDone:
    """What one round did (for logs, tests and benchmarks)."""

    tasks: int = 0
    sent: int = 0
    blocked: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0  # its reason went away between the claim and the send
    given_back: int = 0  # claimed, but the application stopped before they were sent


def stopping(application: KursApplication) -> None:
    """Notes that the application begins to stop (`bot.app` calls it first thing in stop)."""
    application.bot_data.setdefault(_STOPPING, time.monotonic())


class _Shutdown:
    """Whether the application is stopping, and whether its grace for sending is over."""

    def __init__(self, application: KursApplication, grace: float) -> None:
        self._data, self._grace = application.bot_data, grace

    @property
    def stopping(self) -> bool:
        return _STOPPING in self._data

    @property
    def over(self) -> bool:
        since = self._data.get(_STOPPING)
        return since is not None and time.monotonic() - since >= self._grace


_STOPPING = "stopping_since"


async def run_due_work(
    application: KursApplication, *, renew_every: float = RENEW_EVERY.total_seconds()
) -> WorkDone:
    """Runs every due task, then sends every due message; returns the counts.

    While messages are being sent, their claims are renewed every ``renew_every`` seconds,
    so that a send that waits out `RetryAfter` for minutes is not taken for one whose process
    died (`kurse.claims.CLAIM_TIMEOUT`) and sent a second time by another process.

    When the application stops, nothing new is claimed; the messages in flight are sent for
    at most `KURSBOT_SHUTDOWN_GRACE` seconds after the stop began, and whatever is claimed
    and not sent by then is given back (pending again, for the next start or the other
    instance), so that no row is left claimed by a process that is gone.
    """
    with background():  # answers to people typing go first (`kurse.db.background`)
        return await _run_due_work(application, renew_every)


async def _run_due_work(application: KursApplication, renew_every: float) -> WorkDone:
    services: Services = application.bot_data["services"]
    db, done = services.db, WorkDone()
    shutdown = _Shutdown(application, services.settings.kursbot_shutdown_grace)
    anonymised = False
    while not shutdown.stopping and (
        task_ids := await db.run(tasks.claim_due_tasks, services.clock.now())
    ):
        kinds = await db.read(tasks.kinds_of, task_ids)
        anonymised |= TaskKind.RETENTION in kinds
        for task_id in task_ids:
            await db.run(
                tasks.run_task, task_id, services.clock.now(), services.settings.kursbot_admin_ids
            )
            done.tasks += 1
    if anonymised:  # the old rows stay in no database file (`Database.scrub`)
        await asyncio.to_thread(db.scrub)
    limit = asyncio.Semaphore(PARALLEL_SENDS)
    in_flight: set[int] = set()

    async def deliver(item: outbox.Delivery) -> None:
        async with limit:
            if shutdown.over:  # not started before the grace ran out: given back below
                return
            if await _deliver(application, services, item, done, shutdown):
                in_flight.discard(item.outbox_id)

    renewing = asyncio.create_task(_renew_claims(services, in_flight, renew_every))
    try:
        while not shutdown.stopping and (
            deliveries := await db.run(
                outbox.claim_due_messages,
                services.clock.now(),
                news_window=application.bot_data.get("news_window", outbox.NEWS_WINDOW),
            )
        ):
            in_flight.update(item.outbox_id for item in deliveries)
            await _within_grace(asyncio.gather(*(deliver(item) for item in deliveries)), shutdown)
    finally:
        renewing.cancel()
        if in_flight:  # claimed, not sent: back to pending, not left to the claim timeout
            done.given_back = await db.run(outbox.give_back, set(in_flight))
    return done


async def _within_grace(work: Awaitable[Any], shutdown: _Shutdown) -> None:
    """Awaits ``work``; once the application stops, for at most its grace (then cancels what
    is still waiting, which the caller gives back). A send cut off in its HTTP call may have
    reached Telegram: it is sent again, the only way a shutdown duplicates a message."""
    task = asyncio.ensure_future(work)
    while not task.done():
        await asyncio.wait({task}, timeout=0.1)
        if not task.done() and shutdown.over:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return
    task.result()


async def _renew_claims(services: Services, in_flight: set[int], every: float) -> None:
    while True:
        await asyncio.sleep(every)
        if in_flight:
            await services.db.run(outbox.renew_claims, set(in_flight), services.clock.now())


@dataclass(frozen=True)
class SendCheck:
    """Given to the rate limiter (`bot.ratelimit`): checked after the wait for Telegram's
    limits, right before the call goes out."""

    still_due: Callable[[], Awaitable[bool]]


async def _deliver(
    application: KursApplication,
    services: Services,
    item: outbox.Delivery,
    done: WorkDone,
    shutdown: _Shutdown,
) -> bool:
    """Sends one claimed message and marks it; False if it was left to be given back (the
    application stopped and its grace ran out while the message waited for its turn)."""
    db, now = services.db, services.clock.now
    metrics: Metrics = application.bot_data["metrics"]
    # Re-read right before sending: a course cancelled, a registration given back or a lead
    # changed since the claim; the content is built from this moment's state.
    fresh = await db.run(outbox.recheck, item.outbox_id, now())
    checked_at = time.monotonic()
    if fresh is None:
        done.skipped += 1
        metrics.message(item.kind, SKIPPED)
        return True

    async def still_due() -> bool:
        if shutdown.over:
            raise GiveBack
        if time.monotonic() - checked_at < RECHECK_AFTER:  # as fresh as a second check
            return True
        return await db.run(outbox.recheck, item.outbox_id, now()) is not None

    try:
        await _send(application, services, fresh, SendCheck(still_due))
    except GiveBack:
        return False
    except Stale:
        done.skipped += 1
        metrics.message(item.kind, SKIPPED)
    except Forbidden:
        if item.kind == MessageKind.OFFER:  # an offer that cannot reach them: the next one's
            await db.run(_offer_blocked, item.outbox_id, fresh, now())
            wake(application)
        else:
            await db.run_batched(outbox.mark_blocked, item.outbox_id, fresh.person_id, now())
        done.blocked += 1
        metrics.message(item.kind, "blocked")
    except RetryAfter as error:
        wait = error.retry_after
        seconds = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
        await db.run_batched(
            outbox.mark_failed, item.outbox_id, str(error), now(), timedelta(seconds=seconds)
        )
        done.retried += 1
        metrics.message(item.kind, "retry_after")
    except BadRequest as error:  # will not get better by trying again
        await db.run_batched(outbox.mark_failed, item.outbox_id, str(error), now(), None)
        done.failed += 1
        metrics.message(item.kind, "bad_request")
    except TelegramError as error:  # network trouble and the like: back off and retry
        state = await db.run_batched(
            outbox.mark_failed,
            item.outbox_id,
            str(error),
            now(),
            timedelta(minutes=2 ** min(item.attempts, 6)),
        )
        done.failed += state == outbox.FAILED
        done.retried += state != outbox.FAILED
        metrics.message(item.kind, "network" if isinstance(error, NetworkError) else "other")
    else:
        await db.run_batched(outbox.mark_sent, item.outbox_id, now())
        done.sent += 1
        metrics.message(item.kind, SENT)
    return True


def _offer_blocked(session: Session, outbox_id: int, item: outbox.Delivery, now: datetime) -> None:
    """The officer offered a seat blocked the bot: marked so, and the offer ends at once (in
    the same transaction), so that the next in line gets theirs."""
    outbox.mark_blocked(session, outbox_id, item.person_id, now)
    offers.expire(session, item.registration_id, now, early=True)


# Messages that are one text about the course (kurse.outbox queues them).
_NOTICES: dict[MessageKind, Callable[[Texts, Course], str]] = {
    MessageKind.DEMOTED: render_courses.demoted_notice,
    MessageKind.CANCELLED: render_courses.course_cancelled_notice,
    MessageKind.CHANGED: render_courses.course_changed_notice,
    MessageKind.LEADGONE: render_courses.lead_gone_notice,
}


def _calendar_file(item: outbox.Delivery, now: datetime) -> bytes | None:
    """The calendar file that goes with a message, if any: the entry itself (a reminder, a
    promotion, a moved course for those confirmed), or the file that removes it (moved back
    to the waiting list, the course cancelled)."""
    rid, course = item.registration_id, item.course
    if rid is None:
        return None
    confirmed = item.registration_status == RegistrationStatus.CONFIRMED
    if item.kind == MessageKind.REMINDER:
        return course_calendar(course, rid, now)
    # Moved up or approved: the entry once the seat is theirs (not while it is requested).
    if item.kind in (MessageKind.PROMOTED, MessageKind.APPROVED) and confirmed:
        return course_calendar(course, rid, now)
    if item.kind == MessageKind.CHANGED and confirmed:
        return course_calendar(course, rid, now, days_before=item.detail.get("days_before", 0))
    if item.kind in (MessageKind.DEMOTED, MessageKind.CANCELLED):
        return course_calendar(course, rid, now, cancel=True)
    return None


async def _send(
    application: KursApplication, services: Services, item: outbox.Delivery, check: SendCheck
) -> None:
    bot, t, course = application.bot, texts(item.language), item.course
    # With a rate limiter the check runs after its wait, right before the call; without one
    # (`kursbot chat`, tests) there is no wait, and the re-check just made is as fresh.
    limited: dict[str, Any] = {"rate_limit_args": check} if bot.rate_limiter else {}
    markup: InlineKeyboardMarkup | None = None
    if item.kind == MessageKind.REMINDER:
        text = render.reminder(t, course)
    elif item.kind == MessageKind.PROMOTED:
        if item.registration_status == RegistrationStatus.REQUESTED:  # their agency decides
            text = render_approval.promoted_requested(t, course, await _held_until(services, item))
        else:
            text = render.promoted(t, course)  # moved up: the entry a sign-up would have got
    elif item.kind in (MessageKind.APPROVAL_REQUEST, MessageKind.APPROVAL_REMINDER):
        requests = await _requests(services, item)
        text = render.truncate(
            render_approval.approval_request(
                t, course, requests, reminder=item.kind == MessageKind.APPROVAL_REMINDER
            )
        )
        markup = keyboards.approval_requests(t, requests, id_of(course))
    elif item.kind == MessageKind.APPROVED:
        text = render_approval.approved(t, course)
    elif item.kind == MessageKind.REFUSED:
        text = render_approval.refused(t, course, item.detail.get("reason"))
    elif item.kind == MessageKind.APPROVAL_EXPIRED:
        text = render_approval.approval_expired(t, course)
    elif item.kind == MessageKind.OFFER:
        text = render_approval.offer(t, course, await _held_until(services, item))
        assert item.registration_id is not None  # an offer is about one registration
        markup = keyboards.offer(t, item.registration_id)
    elif item.kind == MessageKind.OFFER_EXPIRED:
        text = render_approval.offer_expired(t, course)
    elif item.kind in _NOTICES:
        text = _NOTICES[item.kind](t, course)
    elif item.kind == MessageKind.MINIMUM:
        text = render_courses.below_minimum_notice(t, course, item.detail["confirmed"])
    elif item.kind == MessageKind.LEAD_ASSIGNED:
        text = render_courses.lead_notice(t, course)
    elif item.kind == MessageKind.CERTIFICATE:
        certificate = await services.db.read(certificates.valid, item.detail["certificate"])
        if certificate is not None and certificate.pdf is None:  # all new ones at once
            await certificate_files.write_pdfs(application, id_of(course))
            certificate = await services.db.read(certificates.valid, item.detail["certificate"])
        if certificate is None or certificate.pdf is None:  # revoked meanwhile
            raise Stale
        await bot.send_document(
            item.telegram_id,
            document=certificate.pdf,
            filename=f"{certificate.serial}.pdf",
            caption=render_certificates.delivered(t, course),
            **limited,
        )
        return
    elif item.kind in (MessageKind.LEADLIST, MessageKind.LEAD_NEWS):
        chunks = (
            await _lead_list(services, t, item)
            if item.kind == MessageKind.LEADLIST
            else render_leads.lead_news(
                t,
                course,
                await services.db.read(lead_news.lines, item.detail["news"]),
            )
        )
        for chunk in chunks:
            await bot.send_message(item.telegram_id, chunk, **limited)
        return
    else:  # pragma: no cover - every kind that makes messages is listed above
        raise ValueError(item.kind)
    calendar = _calendar_file(item, services.clock.now())
    if calendar is None:
        await bot.send_message(item.telegram_id, text, reply_markup=markup, **limited)
        return
    await bot.send_document(  # one message: the calendar file with the text
        item.telegram_id,
        document=calendar,
        filename=f"{course.code}.ics",
        caption=render.truncate(text, CAPTION_LIMIT),
        **limited,
    )


async def _held_until(services: Services, item: outbox.Delivery) -> datetime | None:
    """The deadline of the recipient's held seat (an offer, a request), as it is now."""
    mine = await services.db.read(person_registrations, item.person_id, services.clock.now())
    return next((m.held_until for m in mine if m.registration_id == item.registration_id), None)


async def _requests(services: Services, item: outbox.Delivery) -> list[PendingRequest]:
    """The requests of a message to an approver that still wait for them (`kurse.outbox`
    left in its detail only those), oldest first; none left: the message is not sent."""
    listed = {int(rid) for rid, *_ in item.detail.get("news", [])}
    approver = Actor(telegram_id=item.telegram_id, person_id=item.person_id)
    try:
        waiting = await services.db.read(
            approval.pending, services.clock.now(), actor=approver, limit=500
        )
    except NotAllowed:  # the role was taken away since the re-check
        waiting = []
    found = [r for r in waiting if r.registration_id in listed]
    if not found:  # decided since the re-check: a re-check now marks the message skipped
        await services.db.run(outbox.recheck, item.outbox_id, services.clock.now())
        raise Stale
    return found


async def _lead_list(services: Services, t: Texts, item: outbox.Delivery) -> list[str]:
    """The participant list with what changed since the lead's previous list."""
    listing = await services.db.read(participants, id_of(item.course), services.clock.now())
    before = item.detail.get("previous")
    marks: dict[int, str] = {}
    gone: list[str] = []
    if before is not None:
        changes = lead_lists.changes_since(item.detail["snapshot"], before)
        words = {Mark.NEW: t.gettext("new"), Mark.MOVED_UP: t.gettext("moved up")}
        marks = {rid: words[mark] for rid, mark in changes.marks.items()}
        gone = await services.db.read(lead_lists.names_of_registrations, changes.gone)
    return render_leads.lead_list(t, listing, marks, gone, first=before is None)


async def tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The job: does the due work and plans the next wake-up."""
    # The job runs in this application, whose context is KursContext; PTB's default context
    # type (of the JobQueue callback) does not say so.
    application: KursApplication = context.application  # type: ignore[assignment]
    ok = True
    try:
        done = await run_due_work(application)
        if done.tasks or done.sent or done.failed:
            log.info("timed work: %s", done)
    except Exception:
        ok = False
        log.exception("timed work failed; the next sweep tries again")
    application.bot_data["metrics"].sweep_finished(ok)  # /livez: the sweep is not stuck
    if _STOPPING not in application.bot_data:
        await _plan_wake_up(application)


async def _plan_wake_up(application: KursApplication) -> None:
    services: Services = application.bot_data["services"]
    job_queue = application.job_queue
    if job_queue is None:
        return
    due = await services.db.read(operations.next_due)
    if due is None:
        return
    delay = (due - services.clock.now()).total_seconds()
    if delay < SWEEP.total_seconds():
        for job in job_queue.get_jobs_by_name("tasks:wake"):
            job.schedule_removal()
        job_queue.run_once(tick, when=max(delay, 0.0) + 0.05, name="tasks:wake")


async def replan(application: KursApplication) -> int:
    """At every start: every course's timed work against the current settings (changed
    reminder offsets or retention reach existing courses; courses older than a kind of timed
    work get it). Idempotent; returns how many courses were looked at."""
    services: Services = application.bot_data["services"]
    try:
        return await services.db.run(schedule.replan_all, services.plan, services.clock.now())
    except Exception:  # the bot still starts and answers; the next start plans again
        log.exception("re-planning the timed work at start failed")
        return 0


def wake(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Runs the timed work right away (messages were just queued), not at the next sweep.

    Any `Application`: handlers pass ``context.application``, which PTB types with an open
    context type.
    """
    job_queue = application.job_queue
    if job_queue is None:
        return
    # One wake-up that has not started yet is enough: it claims whatever is due when it runs,
    # these messages included. A burst of sign-ups (each queueing the lead's news) thus
    # wakes the work a few times, not once per sign-up. A wake-up already running is not
    # listed any more, so a change made meanwhile gets one of its own.
    if job_queue.get_jobs_by_name(WAKE_UP):
        return
    job_queue.run_once(tick, when=0.0, name=WAKE_UP)


def register(application: KursApplication) -> None:
    """Starts the sweep (the first one right after start: catch-up after downtime)."""
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            tick, interval=SWEEP.total_seconds(), first=1.0, name="tasks:sweep"
        )
