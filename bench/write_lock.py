"""Issue 12, item 6: another process holds the write lock; the bot goes on answering.

    python -m bench.write_lock [--postgres URL] [--rounds 3] [--smoke]

50 officers send `/kurse` and `/hilfe` (in turn, in five waves spread over the lock) while
another process holds the database's write lock for 3 s: on SQLite ``BEGIN IMMEDIATE`` on a
`sqlite3` connection of its own (what a backup, a `kursbot` command or a second instance
does), on PostgreSQL ``LOCK TABLE … IN EXCLUSIVE MODE`` on the course, quota, registration
and person tables (writes wait, plain reads do not). With the first wave, 10 other officers
press "Anmelden": their sign-ups must wait for the lock, and must not hold up anybody else.
Goal: p99 of the read-only answers ≤ 100 ms; every sign-up done once the lock is gone.

Measured in turn in each of ``--rounds`` rounds, each through the real Application:

* ``unlocked``: the same waves without the lock (the baseline of the same run);
* ``locked``: the bot as built (reads in read transactions, writes with a short busy timeout
  on the event loop and, when the lock is busy, in a worker thread with the full timeout);
* ``locked, writes wait on the loop`` (SQLite only): the same, but with the full busy
  timeout on the loop, as before this change for writes: what reads in read transactions
  alone would give.

And, on SQLite, which busy timeout calls on the event loop should have: 2,000 short writes
one after another through `Database.run` while another process writes all the time (short
transactions a millisecond apart, as a second instance might), with 0, 10 and 50 ms in
turn: how long a call that stayed on the loop held it, and how many went to the thread.

An answer's latency is from the moment its update is queued to the bot's message; a
sign-up's from its press to the button's answer. The lock holder prints when it releases
(``time.perf_counter`` is the system's monotonic clock on Linux, the same in both
processes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import statistics
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from telegram import Update

from bench.common import course_with_officers, database, record
from bot.app import build_application
from bot.context import Services
from bot.local_api import LocalBotApi
from bot.process import tune_garbage_collector
from kurse import courses
from kurse.clock import BERLIN, SettableClock
from kurse.config import Settings
from kurse.courses import CourseDraft
from kurse.db import SQLITE_BUSY_TIMEOUT_MS, SQLITE_LOOP_BUSY_TIMEOUT_MS, Database
from kurse.invariants import invariant_violations
from kurse.models import Registration, audit_table

NOW = datetime(2027, 1, 10, 10, 0, tzinfo=BERLIN)
FIRST_ID = 4_000_000
GOAL_P99_MS = 100

# The other process: takes the lock, says so, holds it, lets go and says when.
HOLDER = r"""
import sys, time
kind, url, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
if kind == "sqlite":
    import sqlite3
    connection = sqlite3.connect(url, isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
else:
    import psycopg
    connection = psycopg.connect(url)
    connection.execute("LOCK TABLE course, quota, registration, person IN EXCLUSIVE MODE")
print("locked", flush=True)
time.sleep(seconds)
connection.execute("COMMIT") if kind == "sqlite" else connection.commit()
print(time.perf_counter(), flush=True)
"""


# Another process that writes all the time (a second instance, say): short transactions, a
# millisecond apart, until told to stop (a line on its input).
CHURNER = r"""
import sqlite3, sys, threading, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
stop = threading.Event()
threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()
print("writing", flush=True)
while not stop.is_set():
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("INSERT INTO audit_entry (at, action) VALUES ('2027-01-10', 'other')")
    connection.execute("COMMIT")
    time.sleep(0.001)
"""
CHURN_TIMEOUTS_MS = (0, 10, 50)


def write_audit(session: Any, now: datetime) -> None:
    session.execute(insert(audit_table).values(at=now, action="ours"))


async def churn(url: str, path: str, loop_busy_ms: int, writes: int) -> dict[str, Any]:
    """``writes`` short writes one after another through `Database.run`, while another
    process writes all the time: how long each call that stayed on the event loop held it
    (a call that yielded went to the thread and left the loop free meanwhile)."""
    db = Database(url, loop_busy_timeout_ms=loop_busy_ms)
    other = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHURNER, path,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert other.stdout is not None
    assert other.stdin is not None
    assert (await other.stdout.readline()).strip() == b"writing"
    turns = 0
    stop = False

    async def count_turns() -> None:  # how often the loop came round
        nonlocal turns
        while not stop:
            turns += 1
            await asyncio.sleep(0)

    counter = asyncio.create_task(count_turns())
    held: list[float] = []
    moved = 0
    began = time.perf_counter()
    for _ in range(writes):
        before, at = turns, time.perf_counter()
        await db.run(write_audit, NOW)
        if turns == before:  # never let go of the loop
            held.append((time.perf_counter() - at) * 1000)
        else:
            moved += 1
    rate = writes / (time.perf_counter() - began)
    stop = True
    await counter
    other.stdin.write(b"stop\n")
    await other.stdin.drain()
    await other.wait()
    db.dispose()
    return {"held": held, "moved": moved, "rate": rate}


class TimedApi(LocalBotApi):
    """The local Bot API, remembering when each message to a chat was sent."""

    def __init__(self) -> None:
        super().__init__(check_html=False)  # the bot's work, not Telegram's
        self.times: dict[int, list[float]] = defaultdict(list)
        self.changed = asyncio.Event()

    def _api_sendMessage(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        result = super()._api_sendMessage(params, files)
        self.times[int(params["chat_id"])].append(time.perf_counter())
        self.changed.set()
        return result


def prepare(db: Database, readers: int, signers: int, courses_listed: int) -> list[int]:
    """Agencies, the officers (readers first) and some courses to list."""
    course, _ids = course_with_officers(db, readers + signers, 5, NOW, FIRST_ID)
    for i in range(courses_listed - 1):
        new_course(db, f"Kurs {i}")
    return [course.id]  # type: ignore[list-item]


def new_course(db: Database, title: str) -> int:
    start = NOW + timedelta(days=30)
    with db.transaction() as session:
        course = courses.create_course(
            session,
            CourseDraft(
                title=title,
                location="Hof",
                start_at=start,
                end_at=start + timedelta(hours=8),
                registration_deadline=start - timedelta(days=10),
                seats={"PP-OFR": 5, "PD-Z": 5},
            ),
            NOW,
        )
        assert course.id is not None
        return course.id


def officer(i: int) -> dict[str, Any]:
    return {"id": FIRST_ID + i, "is_bot": False, "first_name": "O", "language_code": "de"}


async def measure(
    db: Database,
    *,
    kind: str,
    url: str,
    lock_seconds: float | None,
    readers: int,
    signers: int,
    seed: int,
) -> dict[str, Any]:
    """One run: the read latencies (ms), how many reads were answered while the lock was
    held, the sign-up latencies (ms), and how long after the lock's release the last sign-up
    was answered (ms)."""
    course_id = new_course(db, "Gemeinsame Fahndung")
    api = TimedApi()
    app = build_application(
        Services(db, SettableClock(NOW), Settings(_env_file=None)), request=api, rate_limit=False
    )
    api.bind(app.bot)
    await app.initialize()
    await app.start()
    for job in app.job_queue.jobs():  # only the answers are measured
        job.schedule_removal()
    data = f"su:{course_id}:0"
    presses: dict[int, Update] = {}
    for i in range(readers, readers + signers):
        page = api.show(FIRST_ID + i, "Kursseite", [[{"text": "Anmelden", "callback_data": data}]])
        presses[FIRST_ID + i] = api.button_press(officer(i), page, data)
    # Who sends what when, in seconds after the lock was taken: each reader /kurse and
    # /hilfe at random moments of the lock's time; the sign-ups in its first half.
    window = lock_seconds or 3.0
    rng = random.Random(seed)
    plan = [
        (rng.uniform(0.02, 0.95) * window, FIRST_ID + i, command)
        for i in range(readers)
        for command in ("/kurse", "/hilfe")
    ]
    plan += [(rng.uniform(0.02, 0.5) * window, uid, "press") for uid in presses]
    plan.sort()

    holder = None
    if lock_seconds is not None:
        holder = await asyncio.create_subprocess_exec(
            sys.executable, "-c", HOLDER, kind, url, str(lock_seconds),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert holder.stdout is not None
        assert (await holder.stdout.readline()).strip() == b"locked"
    began = time.perf_counter()
    scheduled: dict[int, list[float]] = defaultdict(list)
    pressed: dict[int, float] = {}
    for offset, uid, what in plan:
        # Latency counts from the planned moment: an officer's message waits for the bot
        # whether or not the bot's event loop can take it in.
        at = began + offset
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        if what == "press":
            pressed[uid] = at
            app.update_queue.put_nowait(presses[uid])
        else:
            scheduled[uid].append(at)
            app.update_queue.put_nowait(api.user_message(officer(uid - FIRST_ID), what))

    def done() -> bool:
        return all(len(api.times[uid]) >= len(at) for uid, at in scheduled.items()) and all(
            uid in api.answered_at for uid in presses
        )

    while not done():
        api.changed.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(api.changed.wait(), 0.01)
    released = float("inf")
    if holder is not None:
        assert holder.stdout is not None
        released = float((await holder.stdout.readline()).strip())
        await holder.wait()
    await app.stop()
    await app.shutdown()
    answers = [t for uid in scheduled for t in api.times[uid]]
    assert len(answers) == len(plan) - len(presses), "one answer per /kurse and /hilfe"
    reads = [
        (answer - at) * 1000
        for uid, ats in scheduled.items()
        for at, answer in zip(ats, api.times[uid], strict=True)
    ]
    signed = [(api.answered_at[uid] - pressed[uid]) * 1000 for uid in presses]
    last = max(api.answered_at[uid] for uid in presses)
    check(db, course_id, signers)
    return {
        "reads": reads,
        "while_locked": sum(t < released for t in answers),
        "sign_ups": signed,
        "after_release": (last - released) * 1000 if holder is not None else None,
    }


def check(db: Database, course_id: int, signers: int) -> None:
    """Every sign-up took its place; the seat rules hold."""
    with db.transaction(readonly=True) as session:
        statuses = session.scalars(
            select(Registration.status).where(Registration.course_id == course_id)
        ).all()
        assert invariant_violations(session, course_id, NOW) == []
    assert len(statuses) == signers, statuses


def p(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lock-seconds", type=float, default=3.0)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    readers, signers, rounds, seconds, writes = 50, 10, args.rounds, args.lock_seconds, 2000
    if args.smoke:
        readers, signers, rounds, seconds, writes = 6, 2, 1, 0.3, 50
    tune_garbage_collector()  # as `kursbot run` does
    with database(args.postgres) as (db, kind):
        url = db.engine.url.render_as_string(hide_password=False)
        prepare(db, readers, signers, courses_listed=8)
        holder_url = db.engine.url.database if db.is_sqlite else url.replace("+psycopg", "")
        assert holder_url
        variants: dict[str, tuple[Database, float | None]] = {
            "unlocked": (db, None),
            "locked": (db, seconds),
        }
        if db.is_sqlite:  # the alternative: writes wait for the lock on the event loop
            slow = Database(url, loop_busy_timeout_ms=SQLITE_BUSY_TIMEOUT_MS)
            variants["locked, writes wait on the loop"] = (slow, seconds)
        runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
        churns: dict[int, list[dict[str, Any]]] = defaultdict(list)
        # The variants in turn in each round, with the same plan of messages in a round.
        for number in range(rounds):
            for name, (variant_db, lock) in variants.items():
                runs[name].append(
                    asyncio.run(
                        measure(
                            variant_db,
                            kind=kind,
                            url=holder_url,
                            lock_seconds=lock,
                            readers=readers,
                            signers=signers,
                            seed=number,
                        )
                    )
                )
        if db.is_sqlite:
            variants["locked, writes wait on the loop"][0].dispose()
            # Which busy timeout on the loop: each in turn, against a process that writes
            # all the time.
            for _ in range(rounds):
                for ms in CHURN_TIMEOUTS_MS:
                    churns[ms].append(asyncio.run(churn(url, holder_url, ms, writes)))
    figures: list[tuple[str, float, str]] = []
    for name, results in runs.items():
        reads = [ms for r in results for ms in r["reads"]]
        goal = f" (goal <= {GOAL_P99_MS})" if name == "locked" else ""
        figures += [
            (
                f"{name}: read answers p50 (all {len(reads)} of {rounds} rounds)",
                p(reads, 50),
                "ms",
            ),
            (f"{name}: read answers p99{goal}", p(reads, 99), "ms"),
            (f"{name}: read answers max", max(reads), "ms"),
        ]
        if name != "unlocked":
            figures += [
                (
                    f"{name}: read answers given while the lock was held",
                    100 * sum(r["while_locked"] for r in results) / len(reads),
                    "%",
                ),
                (
                    f"{name}: sign-ups, max from the press to the answer",
                    max(ms for r in results for ms in r["sign_ups"]),
                    "ms",
                ),
                (
                    f"{name}: last sign-up answered after the release (max of the rounds)",
                    max(r["after_release"] for r in results),
                    "ms",
                ),
            ]
    for ms, results in churns.items():
        held = [x for r in results for x in r["held"]]
        chosen = " (as built)" if ms == SQLITE_LOOP_BUSY_TIMEOUT_MS else ""
        figures += [
            (
                f"busy timeout {ms} ms on the loop{chosen}, against a process writing all "
                f"the time: the loop held by a call, p99 ({len(held)} calls on the loop)",
                p(held, 99),
                "ms",
            ),
            (f"busy timeout {ms} ms: the loop held by a call, max", max(held), "ms"),
            (
                f"busy timeout {ms} ms: calls that found the lock busy and went to the thread",
                statistics.median(r["moved"] for r in results),
                f"of {writes}",
            ),
            (
                f"busy timeout {ms} ms: our writes per second (median of the rounds)",
                statistics.median(r["rate"] for r in results),
                "1/s",
            ),
        ]
    record("write_lock", figures, kind, smoke=args.smoke)
    worst = p([ms for r in runs["locked"] for ms in r["reads"]], 99)
    assert args.smoke or worst <= GOAL_P99_MS, f"p99 {worst:.1f} ms > {GOAL_P99_MS} ms"


if __name__ == "__main__":
    main()
