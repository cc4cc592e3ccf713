"""Benchmark 4: reminder fan-out. ``python -m bench.fanout [--postgres URL] [--smoke]``

2,000 officers with reminders due at the same minute, the rate limiter set to 200 messages a
second; the real Application sends them through the local Bot API. Goal: all sent within
1.15 × 10 s, no duplicates, none lost — also with 5 % blocked users and one RetryAfter.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from datetime import timedelta

from bench.common import course_with_officers, database, record
from bot.app import build_application
from bot.context import Services
from bot.jobs import run_due_work
from bot.local_api import LocalBotApi
from bot.process import tune_garbage_collector
from kurse import registrations
from kurse.clock import BERLIN, SettableClock
from kurse.config import Settings


async def run(db, n: int, rate: float, faults: bool) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from datetime import datetime

    clock = SettableClock(datetime(2027, 1, 10, 10, 0, tzinfo=BERLIN))
    now = clock.now()
    course, ids = course_with_officers(db, n, (n + 1) // 2, now, 2_000_000)
    start = course.start_at
    with db.transaction() as session:
        for pid in ids:
            registrations.sign_up(session, course.id, pid, now)
    api = LocalBotApi(check_html=False)  # the bot's work, not Telegram's
    if faults:
        api.blocked |= {2_000_000 + i for i in range(0, n, 20)}
        api.retry_after[2_000_001] = 1
    settings = Settings(_env_file=None)
    app = build_application(
        Services(db, clock, settings), request=api, rate_limit=True, messages_per_second=rate
    )
    await app.initialize()
    clock.set(start - timedelta(days=7))
    began = time.perf_counter()
    done = await run_due_work(app)
    while done.retried:  # RetryAfter beyond the limiter's own retries: the next sweep
        clock.advance(timedelta(seconds=5))
        done = await run_due_work(app)
    elapsed = time.perf_counter() - began
    await app.shutdown()
    per_chat = Counter(sent.chat_id for chat in api.chats.values() for sent in chat)
    blocked = len(api.blocked)
    assert all(count == 1 for count in per_chat.values()), "a duplicate reminder"
    assert len(per_chat) == n - blocked, f"lost: {n - blocked - len(per_chat)}"
    return {"seconds": elapsed, "sent": len(per_chat), "rate": len(per_chat) / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres")
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--smoke", action="store_true", help="tiny run for CI")
    args = parser.parse_args()
    tune_garbage_collector()  # as `kursbot run` does; for every run below
    n, rate = (40, 200.0) if args.smoke else (args.n, args.rate)
    goal = 1.15 * n / rate
    for faults in (False, True):
        with database(args.postgres) as (db, kind):
            result = asyncio.run(run(db, n, rate, faults))
        label = "with 5% blocked + RetryAfter" if faults else "clean"
        record(
            "fanout",
            [
                (f"{label}: seconds for {n} reminders", result["seconds"], "s"),
                (f"{label}: messages per second", result["rate"], "msg/s"),
                (f"{label}: goal (1.15 x n / rate)", goal, "s"),
            ],
            kind,
            smoke=args.smoke,
        )


if __name__ == "__main__":
    main()
