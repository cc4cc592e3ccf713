"""Benchmarks 1, 2 and 5: a sign-up burst through the real Application, against its limits.

    python -m bench.signup_burst [--postgres URL] [--rounds 5] [--smoke] [--lead]
    python -m bench.signup_burst --approval [--postgres URL]   # PP-OFR needs approval
    python -m bench.signup_burst --scale [--postgres URL]      # 1,000 against 10,000

1,000 officers of two agencies press "Anmelden" for one course with 10 + 10 seats, all at
once, through the Application (update processor, guard, handlers, database, local Bot API).
In the same run: (a) a bare PTB application answering the same 1,000 updates with one message
each through the same harness, (b) the simplest transactional single-row insert rate of the
same database, engine and pool. Goal: sign-ups/s ≥ 0.5 × min(a, b); every officer answered
within 2 s of the burst's start; peak RSS ≤ 200 MB. Correctness is checked after every run.

Also measured, to explain the figures: (c) a bare handler making the calls a sign-up makes
(the button's answer and the page edit), and the same burst behind the production rate
limiter (30 messages a second): when each officer sees the outcome, and when the last page
edit has gone out. An officer's latency is the time until the first thing they see: the
button's answer with the outcome (a sign-up), or the message (the bare handler).

The burst, (a), (b) and (c) are measured in turn in each of ``--rounds`` rounds (five by
default) and reported as medians, because a shared machine's speed moves from second to
second; the latencies are those of all officers of all rounds.

``--approval``: Oberfranken's officers need approval (two approvers): its seats become
requests, each with its deadline as timed work and a message to each approver. After the
burst whatever the bot's wake-ups did not send yet is sent as the bot sends it, and the
messages each approver got are counted: the burst's requests are merged per approver (one
message each, then at most one a minute), not one per sign-up.

``--scale``: the burst of 1,000 and of 10,000 officers (without approval), one after the
other in each round; goal: sign-ups/s of the large one ≥ 0.8 × the small one's (the cost
grows linearly), peak RSS ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
from datetime import datetime
from typing import Any

from sqlalchemy import select
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes

from bench.common import course_with_officers, database, insert_rate, record
from bot.app import build_application
from bot.context import Services
from bot.jobs import run_due_work
from bot.local_api import LocalBotApi
from bot.process import tune_garbage_collector
from bot.processor import PerUserOrderProcessor
from kurse import approvers
from kurse.clock import BERLIN, SettableClock
from kurse.config import Settings
from kurse.invariants import invariant_violations
from kurse.models import Registration

FIRST_ID = 3_000_000
PRODUCTION_RATE = 30  # messages a second, as `kursbot run` keeps to (Telegram's limit)


APPROVERS = 2  # of Oberfranken, with --approval


def prepare(db: Any, n: int, now: datetime, lead: bool = False, approval: bool = False) -> int:
    approvers = APPROVERS if approval else 0
    course, _ids = course_with_officers(db, n, 10, now, FIRST_ID, lead=lead, approvers=approvers)
    return course.id  # type: ignore[return-value]


def presses(api: LocalBotApi, n: int, data: str) -> list[Update]:
    """One "Anmelden" press per officer, on a course page the officer has open."""
    updates = []
    for i in range(n):
        user = {"id": FIRST_ID + i, "is_bot": False, "first_name": "O", "language_code": "de"}
        page = api.show(user["id"], "Kursseite", [[{"text": "Anmelden", "callback_data": data}]])
        updates.append(api.button_press(user, page, data))
    return updates


async def burst(app: Any, api: LocalBotApi, updates: list[Update]) -> tuple[float, list[float]]:
    processor = app.update_processor
    target = processor.finished + len(updates)
    began = time.perf_counter()
    for update in updates:
        app.update_queue.put_nowait(update)
    await processor.wait_for(target)
    elapsed = time.perf_counter() - began
    latencies = [
        api.answered_at[u.effective_user.id] - began
        for u in updates
        if u.effective_user.id in api.answered_at
    ]
    return elapsed, latencies


async def kursbot_run(
    db: Any,
    n: int,
    messages_per_second: int | None = None,
    *,
    lead: bool = False,
    approval: bool = False,
) -> tuple[float, list[float]]:
    """The burst through Kursbot's Application; with ``messages_per_second``, behind the
    rate limiter as in production (``kursbot run`` keeps to 30 messages a second)."""
    clock = SettableClock(datetime(2027, 1, 10, 10, 0, tzinfo=BERLIN))
    course_id = prepare(db, n, clock.now(), lead, approval)
    api = LocalBotApi(check_html=False)  # the bot's work, not Telegram's
    app = build_application(
        Services(db, clock, Settings(_env_file=None)),
        request=api,
        rate_limit=messages_per_second is not None,
        messages_per_second=messages_per_second or 30,
    )
    api.bind(app.bot)
    await app.initialize()
    await app.start()
    for job in app.job_queue.jobs():  # only the burst is measured
        job.schedule_removal()
    elapsed, latencies = await burst(app, api, presses(api, n, f"su:{course_id}:0"))
    if approval:  # what the burst's wake-ups did not send yet goes now, as the bot sends it
        await run_due_work(app)
        APPROVER_MESSAGES.append(
            max(len(api.messages(FIRST_ID - 2 - k)) for k in range(APPROVERS))
        )
    await app.stop()
    await app.shutdown()
    check(db, course_id, n, latencies, approval)
    return n / elapsed, latencies


# Per run: the most messages one approver was sent for the burst's requests (they are merged
# per approver and course, `kurse.outbox.WINDOWED`, not one per sign-up).
APPROVER_MESSAGES: list[int] = []


def check(db: Any, course_id: int, n: int, latencies: list[float], approval: bool) -> None:
    """Exactly 10 + 10 seats taken (requested where approval applies, else confirmed), the
    rest waiting, first come first served, all answered."""
    assert len(latencies) == n, f"{n - len(latencies)} officers got no answer"
    with db.transaction(readonly=True) as session:
        rows = session.execute(
            select(Registration.agency_id, Registration.status)
            .where(Registration.course_id == course_id)
            .order_by(Registration.queue_seq)
        ).all()
        assert invariant_violations(session, course_id, datetime.now(BERLIN)) == []
        approval_agencies = approvers.approval_agencies(session)
    assert len(rows) == n
    assert bool(approval_agencies) == approval
    for agency in {a for a, _ in rows}:
        statuses = [s for a, s in rows if a == agency]
        taken = "requested" if agency in approval_agencies else "confirmed"
        assert statuses == [taken] * 10 + ["waiting"] * (len(statuses) - 10), statuses[:12]


# What a sign-up shows, for the bare handler that makes the same calls (c).
PAGE = (
    "<b>Gemeinsame Fahndung</b>\nHof\nMi., 10. Februar 2027, 10:00 – 18:00\n"
    "Anmeldeschluss: So., 31. Januar 2027, 10:00\n\nFreie Plätze für Ihre Dienststelle: 0 · "
    "Warteliste: 980\n\n⏳ Sie stehen auf der Warteliste, Position 490."
)
PAGE_BUTTONS = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("Von der Warteliste abmelden", callback_data="cx:1:0")],
        [InlineKeyboardButton("« Zurück zur Liste", callback_data="p:0")],
    ]
)


async def bare_ptb_run(n: int, *, like_sign_up: bool = False) -> float:
    """The same updates answered by a bare handler: (a) one message each, or (c) with the
    calls a sign-up makes (the button's answer with a text, then the page edited in place)."""
    api = LocalBotApi(check_html=False)  # the bot's work, not Telegram's

    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if like_sign_up and query is not None:
            await query.answer("⏳ Sie stehen auf der Warteliste, Position 490.")
            await query.edit_message_text(PAGE, reply_markup=PAGE_BUTTONS)
            return
        await context.bot.send_message(update.effective_user.id, "ok")

    app = (
        ApplicationBuilder()
        .token("0:bare")
        .request(api)
        .get_updates_request(api)
        .concurrent_updates(PerUserOrderProcessor())
        .build()
    )
    app.add_handler(CallbackQueryHandler(answer))
    api.bind(app.bot)
    await app.initialize()
    await app.start()
    elapsed, latencies = await burst(app, api, presses(api, n, "su:1:0"))
    await app.stop()
    await app.shutdown()
    assert len(latencies) == n
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--smoke", action="store_true")
    # The course has a lead, who gets the news of every sign-up (an outbox row each).
    parser.add_argument("--lead", action="store_true")
    parser.add_argument("--approval", action="store_true")
    parser.add_argument("--scale", action="store_true")
    args = parser.parse_args()
    n, rounds = (60, 1) if args.smoke else (args.n, args.rounds)
    tune_garbage_collector()  # as `kursbot run` does; for every run below
    if args.scale:
        scale(args.postgres, (60, 240) if args.smoke else (1000, 10_000), rounds, args.smoke)
        return
    # Each round measures all four in turn, so that the machine's ups and downs (a shared
    # machine) touch them alike; the figures are the medians of the rounds.
    rates, inserts, bare, bare_calls, ratios = [], [], [], [], []
    latencies: list[float] = []
    for _ in range(rounds):
        with database(args.postgres) as (db, kind):
            rate, round_latencies = asyncio.run(
                kursbot_run(db, n, lead=args.lead, approval=args.approval)
            )
            inserts.append(asyncio.run(insert_rate(db, n)))
        rates.append(rate)
        latencies += round_latencies
        bare.append(asyncio.run(bare_ptb_run(n)))
        bare_calls.append(asyncio.run(bare_ptb_run(n, like_sign_up=True)))
        ratios.append(rate / min(bare[-1], inserts[-1]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with database(args.postgres) as (db, _kind):
        limited_rate, limited = asyncio.run(
            kursbot_run(db, n, PRODUCTION_RATE, lead=args.lead, approval=args.approval)
        )
    median = statistics.median
    quantiles = statistics.quantiles(latencies, n=100)
    limited_quantiles = statistics.quantiles(limited, n=100)
    name = "signup_burst" + ("_lead" if args.lead else "") + ("_approval" if args.approval else "")
    extra = (
        [("most messages to one approver for the burst", max(APPROVER_MESSAGES), "")]
        if args.approval
        else []
    )
    record(
        name,
        [
            (
                f"sign-ups per second ({n} at once, median of {rounds} rounds)",
                median(rates),
                "1/s",
            ),
            (f"latency p50 (all {len(latencies)} officers)", quantiles[49] * 1000, "ms"),
            ("latency p99", quantiles[98] * 1000, "ms"),
            ("latency max", max(latencies) * 1000, "ms"),
            ("(a) bare PTB updates per second", median(bare), "1/s"),
            ("(b) single-row inserts per second", median(inserts), "1/s"),
            (
                "ratio to min(a, b) (goal >= 0.5)",
                median(rates) / min(median(bare), median(inserts)),
                "x",
            ),
            ("lowest ratio of a round", min(ratios), "x"),
            ("(c) bare PTB with a sign-up's calls, per second", median(bare_calls), "1/s"),
            ("ratio to (c)", median(rates) / median(bare_calls), "x"),
            ("peak RSS (goal <= 200)", peak, "MB"),
            (
                f"at {PRODUCTION_RATE} msg/s: outcome latency p99",
                limited_quantiles[98] * 1000,
                "ms",
            ),
            (f"at {PRODUCTION_RATE} msg/s: outcome latency max", max(limited) * 1000, "ms"),
            (
                f"at {PRODUCTION_RATE} msg/s: all pages and calendar files sent after",
                n / limited_rate,
                "s",
            ),
            *extra,
        ],
        kind,
        smoke=args.smoke,
    )


def scale(postgres: str | None, sizes: tuple[int, int], rounds: int, smoke: bool) -> None:
    """The burst of a small and of a large number of officers, in turn in each round."""
    small, large = sizes
    rates: dict[int, list[float]] = {small: [], large: []}
    worst: dict[int, float] = {small: 0.0, large: 0.0}
    kind = "postgresql" if postgres else "sqlite"
    for _ in range(min(rounds, 3)):
        for size in sizes:
            with database(postgres) as (db, _kind):
                rate, latencies = asyncio.run(kursbot_run(db, size))
            rates[size].append(rate)
            worst[size] = max(worst[size], max(latencies))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    median = statistics.median
    record(
        "signup_burst_scale",
        [
            (f"sign-ups per second, {small:,} at once", median(rates[small]), "1/s"),
            (f"sign-ups per second, {large:,} at once", median(rates[large]), "1/s"),
            (
                "ratio large to small (goal >= 0.8)",
                median(rates[large]) / median(rates[small]),
                "x",
            ),
            (f"latency max, {small:,}", worst[small] * 1000, "ms"),
            (f"latency max, {large:,}", worst[large] * 1000, "ms"),
            ("peak RSS (goal <= 300)", peak, "MB"),
        ],
        kind,
        smoke=smoke,
    )


if __name__ == "__main__":
    main()
