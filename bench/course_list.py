"""Benchmarks 3 and 5: `/kurse` and `/meine` at scale, through the real Application.

    python -m bench.course_list [--postgres URL] [--rounds 5] [--smoke]

Small: 100 courses, 1,000 registrations; large: 10,000 courses, 100,000 registrations and
5,000 persons. The same officer (registered for 20 courses in both) asks for the first page
of `/kurse` and for `/meine` many times. Goal: the large case takes ≤ 2 × the small one
(index-backed queries, nothing loads all rows); peak RSS ≤ 200 MB. Small and large are
measured in turn in each of ``--rounds`` rounds; the figures are the medians.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import resource
import statistics
import time
from datetime import datetime, timedelta
from typing import Any

from bench.common import database, record
from bot.app import build_application
from bot.context import Services
from bot.local_api import LocalBotApi
from bot.process import tune_garbage_collector
from kurse import agencies
from kurse.clock import BERLIN, SettableClock
from kurse.config import Settings
from kurse.models import course_table, person_table, quota_table, registration_table

NOW = datetime(2027, 1, 10, 10, 0, tzinfo=BERLIN)
PROBE = 9_000_000  # the officer who asks


def fill(db: Any, courses: int, registrations: int, persons: int) -> None:
    """Bulk-inserts a term: courses with quotas, persons, registrations with their counters."""
    rng = random.Random(7)
    with db.transaction() as session:
        agencies.seed_agencies(session, NOW)
        found = agencies.list_agencies(session)
        conn = session.connection()
        conn.execute(
            person_table.insert(),
            [
                {
                    "telegram_id": PROBE + i,
                    "name": f"Officer {i}",
                    "agency_id": found[i % 2].id,
                    "language": "de",
                    "is_admin": False,
                    "active": True,
                    "lead_notifications": True,
                    "consent_at": NOW,
                    "joined_at": NOW,
                }
                for i in range(persons)
            ],
        )
        rows = []
        for i in range(courses):
            start = NOW + timedelta(days=10 + i * 700 / courses, hours=9)
            rows.append(
                {
                    "code": f"K-B-{i:05d}",
                    "title": f"Kurs {i}",
                    "description": "",
                    "location": "Hof",
                    "start_at": start,
                    "end_at": start + timedelta(hours=8),
                    "registration_deadline": start - timedelta(days=3),
                    "cancellation_deadline": start - timedelta(days=3),
                    "status": "published",
                    "host_agency_id": found[i % 2].id,
                    "reg_seq": 0,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
        conn.execute(course_table.insert(), rows)
        course_ids = [
            r for (r,) in conn.execute(course_table.select().with_only_columns(course_table.c.id))
        ]
        person_ids = [
            r for (r,) in conn.execute(person_table.select().with_only_columns(person_table.c.id))
        ]
        agency_of = {pid: found[i % 2].id for i, pid in enumerate(person_ids)}
        pairs = {(course_ids[k], person_ids[0]) for k in range(20)}  # the probe: 20 courses
        while len(pairs) < registrations:
            pairs.add((rng.choice(course_ids), rng.choice(person_ids[1:])))
        counts: dict[tuple[int, int], list[int]] = {}
        regs = []
        for seq, (course_id, person_id) in enumerate(sorted(pairs), 1):
            agency = agency_of[person_id]
            count = counts.setdefault((course_id, agency), [0, 0])
            status = "confirmed" if count[0] < 5 else "waiting"
            count[0 if status == "confirmed" else 1] += 1
            regs.append(
                {
                    "course_id": course_id,
                    "person_id": person_id,
                    "agency_id": agency,
                    "status": status,
                    "queue_seq": seq,
                    "via_release": False,
                    "created_at": NOW,
                    "confirmed_at": NOW if status == "confirmed" else None,
                }
            )
        for start in range(0, len(regs), 10_000):
            conn.execute(registration_table.insert(), regs[start : start + 10_000])
        conn.execute(
            quota_table.insert(),
            [
                {
                    "course_id": cid,
                    "agency_id": a.id,
                    "seats": 5,
                    "confirmed_count": counts.get((cid, a.id), [0, 0])[0],
                    "waiting_count": counts.get((cid, a.id), [0, 0])[1],
                }
                for cid in course_ids
                for a in found
            ],
        )


async def measure(db: Any, repeats: int) -> dict[str, float]:
    api = LocalBotApi(check_html=False)  # the bot's work, not Telegram's
    app = build_application(
        Services(db, SettableClock(NOW), Settings(_env_file=None)), request=api, rate_limit=False
    )
    api.bind(app.bot)
    await app.initialize()
    await app.start()
    for job in app.job_queue.jobs():
        job.schedule_removal()
    user = {"id": PROBE, "is_bot": False, "first_name": "O", "language_code": "de"}
    result = {}
    for command in ("/kurse", "/meine"):
        processor = app.update_processor
        began = time.perf_counter()
        for _ in range(repeats):  # one at a time: this is the latency one officer feels
            target = processor.finished + 1
            app.update_queue.put_nowait(api.user_message(user, command))
            await processor.wait_for(target)
        result[command] = (time.perf_counter() - began) / repeats * 1000
    answers = [m.text for m in api.messages(PROBE)]
    assert answers[0].startswith("<b>Offene Kurse</b>"), answers[0]
    assert answers[-1].count("•") == 20, answers[-1]  # the probe's 20 registrations
    await app.stop()
    await app.shutdown()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    tune_garbage_collector()  # as `kursbot run` does; for every run below
    cases = {"small": (100, 1_000, 500), "large": (10_000, 100_000, 5_000)}
    if args.smoke:
        cases = {"small": (30, 100, 50), "large": (60, 400, 100)}
    repeats, rounds = (20, 1) if args.smoke else (200, args.rounds)
    samples: dict[str, dict[str, list[float]]] = {
        name: {"/kurse": [], "/meine": []} for name in cases
    }
    with contextlib.ExitStack() as stack:
        dbs = {}
        for name, (courses, registrations, persons) in cases.items():
            dbs[name], kind = stack.enter_context(database(args.postgres))
            began = time.perf_counter()
            fill(dbs[name], courses, registrations, persons)
            print(f"{name}: filled in {time.perf_counter() - began:.1f} s")
        # Small and large in turn, round after round, so that the machine's ups and downs
        # touch both alike; each figure is the median of the rounds.
        for _ in range(rounds):
            for name, db in dbs.items():
                for command, ms in asyncio.run(measure(db, repeats)).items():
                    samples[name][command].append(ms)
    times = {
        name: {command: statistics.median(values) for command, values in by_command.items()}
        for name, by_command in samples.items()
    }
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    record(
        "course_list",
        [
            (f"/kurse small (median of {rounds} rounds)", times["small"]["/kurse"], "ms"),
            ("/kurse large", times["large"]["/kurse"], "ms"),
            (
                "/kurse large / small (goal <= 2)",
                times["large"]["/kurse"] / times["small"]["/kurse"],
                "x",
            ),
            ("/meine small", times["small"]["/meine"], "ms"),
            ("/meine large", times["large"]["/meine"], "ms"),
            (
                "/meine large / small (goal <= 2)",
                times["large"]["/meine"] / times["small"]["/meine"],
                "x",
            ),
            ("peak RSS (goal <= 200)", peak, "MB"),
        ],
        kind,
        smoke=args.smoke,
    )


if __name__ == "__main__":
    main()
