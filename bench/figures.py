"""Issue 19: `/statistik` for a year of courses, through the real Application.

    python -m bench.figures [--postgres URL] [--rounds 3] [--smoke]

Small: one year (2027) of 2,000 courses and 40,000 registrations; large: 10,000 courses and
200,000 registrations. Three agencies host in turn; 5 % of the courses are cancelled; each
agency has 8 seats per course, its officers' registrations beyond them wait, a tenth are
cancelled; every confirmed registration has one attendance row (85 % present, 10 %
absent, 5 % excused). The data are made with bulk inserts in a child process (on
PostgreSQL then analysed, as autovacuum would have). Each round starts one bot process per
case (a bot has one database), which loads matplotlib as ``kursbot run`` does
(`kurse.charts.preload`) and answers an admin's ``/statistik 2027`` four times, one after
the other; the time is from the update until the bot has sent all three answers (the
table, the chart, the CSV). The first answer of each process is reported apart; the goal
figure is the median of the others, small and large in turn over ``--rounds`` rounds.
Goal: small ≤ 1 s, large ≤ 2 s on both databases; peak RSS of the bot ≤ 250 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta

from bench.common import database, record
from bot.app import build_application
from bot.context import Services
from bot.local_api import LocalBotApi
from bot.process import tune_garbage_collector
from kurse import agencies, charts
from kurse.clock import BERLIN, SettableClock
from kurse.config import Settings
from kurse.db import Database
from kurse.models import (
    attendance_table,
    course_table,
    person_table,
    quota_table,
    registration_table,
)

NOW = datetime(2028, 1, 15, 10, 0, tzinfo=BERLIN)  # after the year, before its anonymisation
YEAR_START = datetime(2027, 1, 1, 9, 0, tzinfo=BERLIN)
ADMIN = 4242
SEATS = 8
CHUNK = 10_000


def rss_mb() -> float:
    """The peak resident set size of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(url: str, courses: int, registrations: int) -> None:
    """Bulk-inserts a year: three agencies, courses with quotas, persons, registrations with
    their counters, attendance (run in a child process, see the module doc)."""
    rng = random.Random(19)
    db = Database(url)
    with db.transaction() as session:
        agencies.seed_agencies(session, YEAR_START)
        agencies.create_agency(session, "KWP-WR", "Komenda Wojewódzka", "Dolnośląskie", YEAR_START)
        found = [a.id for a in agencies.list_agencies(session)]
        conn = session.connection()
        persons = max(100, registrations // 20)
        rows = [
            {
                "telegram_id": 9_000_000 + i,
                "name": f"Officer {i}",
                "agency_id": found[i % len(found)],
                "language": "de",
                "is_admin": False,
                "active": True,
                "lead_notifications": True,
                "consent_at": YEAR_START,
                "joined_at": YEAR_START,
            }
            for i in range(persons)
        ]
        conn.execute(person_table.insert(), rows)
        person_ids = [
            r for (r,) in conn.execute(person_table.select().with_only_columns(person_table.c.id))
        ]
        agency_of = {pid: found[i % len(found)] for i, pid in enumerate(person_ids)}
        rows = []
        for i in range(courses):
            start = YEAR_START + timedelta(days=i * 364 / courses)
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
                    "status": "cancelled" if i % 20 == 7 else "finished",
                    "host_agency_id": found[i % len(found)],
                    "reg_seq": 0,
                    "created_at": YEAR_START,
                    "updated_at": YEAR_START,
                }
            )
        for first in range(0, len(rows), CHUNK):
            conn.execute(course_table.insert(), rows[first : first + CHUNK])
        course_rows = conn.execute(
            course_table.select().with_only_columns(course_table.c.id, course_table.c.start_at)
        ).all()
        pairs: set[tuple[int, int]] = set()
        course_ids = [c for c, _ in course_rows]
        while len(pairs) < registrations:
            pairs.add((rng.choice(course_ids), rng.choice(person_ids)))
        counts: dict[tuple[int, int], list[int]] = {}
        regs = []
        for seq, (course_id, person_id) in enumerate(sorted(pairs), 1):
            agency = agency_of[person_id]
            count = counts.setdefault((course_id, agency), [0, 0])
            if rng.random() < 0.1:
                status = "cancelled"
            elif count[0] < SEATS:
                status, count[0] = "confirmed", count[0] + 1
            else:
                status, count[1] = "waiting", count[1] + 1
            regs.append(
                {
                    "course_id": course_id,
                    "person_id": person_id,
                    "agency_id": agency,
                    "status": status,
                    "queue_seq": seq,
                    "via_release": False,
                    "created_at": YEAR_START,
                    "confirmed_at": YEAR_START if status == "confirmed" else None,
                }
            )
        for first in range(0, len(regs), CHUNK):
            conn.execute(registration_table.insert(), regs[first : first + CHUNK])
        conn.execute(
            quota_table.insert(),
            [
                {
                    "course_id": cid,
                    "agency_id": a,
                    "seats": SEATS,
                    "confirmed_count": counts.get((cid, a), [0, 0])[0],
                    "waiting_count": counts.get((cid, a), [0, 0])[1],
                }
                for cid in course_ids
                for a in found
            ],
        )
        day_of = {c: s.astimezone(BERLIN).date() for c, s in course_rows}
        confirmed = conn.execute(
            registration_table.select()
            .with_only_columns(
                registration_table.c.id,
                registration_table.c.course_id,
                registration_table.c.agency_id,
            )
            .where(registration_table.c.status == "confirmed")
        ).all()
        states = ["present"] * 17 + ["absent"] * 2 + ["excused"]
        days = [
            {
                "course_id": c,
                "registration_id": r,
                "agency_id": a,
                "day": day_of[c],
                "state": rng.choice(states),
                "recorded_at": YEAR_START,
            }
            for r, c, a in confirmed
        ]
        for first in range(0, len(days), CHUNK):
            conn.execute(attendance_table.insert(), days[first : first + CHUNK])
    if not db.is_sqlite:
        # Autovacuum would have analysed tables filled over a year; a bulk load is new to the
        # planner, which then takes the tables for empty (a nested loop ran for minutes).
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    db.dispose()


async def measure(db: Database, rounds: int) -> list[float]:
    """``rounds`` answers to /statistik 2027, one at a time, in seconds (the first is cold)."""
    api = LocalBotApi(check_html=False)  # the bot's work, not Telegram's
    settings = Settings(_env_file=None, kursbot_admin_ids=(ADMIN,))
    app = build_application(
        Services(db, SettableClock(NOW), settings), request=api, rate_limit=False
    )
    api.bind(app.bot)
    await app.initialize()
    await app.start()
    for job in app.job_queue.jobs():
        job.schedule_removal()
    user = {"id": ADMIN, "is_bot": False, "first_name": "Chefin", "language_code": "de"}
    times = []
    for _ in range(rounds):
        processor = app.update_processor
        before = len(api.messages(ADMIN))
        target = processor.finished + 1
        began = time.perf_counter()
        app.update_queue.put_nowait(api.user_message(user, "/statistik 2027"))
        await processor.wait_for(target)
        times.append(time.perf_counter() - began)
        answers = api.messages(ADMIN)[before:]
        assert len(answers) == 3, [a.text for a in answers]
        assert answers[1].document is not None
        assert answers[1].document[1][:4] == b"\x89PNG"
    await app.stop()
    await app.shutdown()
    return times


def measure_here(url: str, answers: int) -> dict[str, object]:
    """In this (child) process: matplotlib loaded as `kursbot run` loads it, then ``answers``
    answers to /statistik 2027; the times and the RSS before, after loading, at the peak."""
    tune_garbage_collector()  # as `kursbot run` does
    db = Database(url)
    without = rss_mb()
    charts.preload()
    loaded = rss_mb()
    times = asyncio.run(measure(db, answers))
    db.dispose()
    return {"times": times, "without": without, "loaded": loaded, "peak": rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--fill", nargs=3, metavar=("URL", "COURSES", "REGISTRATIONS"))
    parser.add_argument("--measure", nargs=2, metavar=("URL", "ANSWERS"))
    args = parser.parse_args()
    if args.fill:
        fill(args.fill[0], int(args.fill[1]), int(args.fill[2]))
        return
    if args.measure:
        print(json.dumps(measure_here(args.measure[0], int(args.measure[1]))))
        return
    cases = {"small": (2_000, 40_000), "large": (10_000, 200_000)}
    if args.smoke:
        cases = {"small": (40, 400), "large": (80, 800)}
    rounds = 1 if args.smoke else args.rounds
    first: dict[str, list[float]] = {name: [] for name in cases}
    warm: dict[str, list[float]] = {name: [] for name in cases}
    memory: list[dict[str, float]] = []
    with contextlib.ExitStack() as stack:
        urls: dict[str, str] = {}
        for name, (courses, registrations) in cases.items():
            db, kind = stack.enter_context(database(args.postgres))
            urls[name] = db.engine.url.render_as_string(hide_password=False)
            began = time.perf_counter()
            _child("--fill", urls[name], str(courses), str(registrations))
            print(f"{name}: filled in {time.perf_counter() - began:.1f} s")
        # One bot process per case and round (a bot has one database), small and large in
        # turn, so that the machine's ups and downs touch both alike.
        for _ in range(rounds):
            for name, url in urls.items():
                found = json.loads(_child("--measure", url, "4"))
                first[name].append(found["times"][0])
                warm[name] += found["times"][1:]
                memory.append(found)
    median = {name: statistics.median(values) for name, values in warm.items()}
    record(
        "figures",
        [
            (
                "/statistik small, first answer of a bot process (median)",
                statistics.median(first["small"]),
                "s",
            ),
            (
                f"/statistik small (median of {len(warm['small'])} answers; goal <= 1)",
                median["small"],
                "s",
            ),
            (
                "/statistik large, first answer of a bot process (median)",
                statistics.median(first["large"]),
                "s",
            ),
            (
                f"/statistik large (median of {len(warm['large'])} answers; goal <= 2)",
                median["large"],
                "s",
            ),
            ("/statistik large, slowest answer", max(warm["large"] + first["large"]), "s"),
            (
                "RSS of the bot before matplotlib is loaded",
                max(m["without"] for m in memory),
                "MB",
            ),
            (
                "RSS after loading it (charts.preload, as kursbot run does)",
                max(m["loaded"] for m in memory),
                "MB",
            ),
            ("peak RSS of the bot (goal <= 250)", max(m["peak"] for m in memory), "MB"),
        ],
        kind,
        smoke=args.smoke,
    )


def _child(*args: str) -> str:
    """Runs this benchmark in a child process with ``args``; returns what it printed."""
    done = subprocess.run(  # noqa: S603 - this benchmark itself, on the database it made
        [sys.executable, "-m", "bench.figures", *args], check=True, capture_output=True, text=True
    )
    return done.stdout


if __name__ == "__main__":
    main()
