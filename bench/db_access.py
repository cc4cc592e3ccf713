"""Sign-up service burst versus the database's simplest insert rate, in one run.

    python -m bench.db_access [--postgres URL] [--n 1000] [--smoke]

Measures 1,000 simultaneous sign-ups for one course with 10 + 10 seats, each a call of its
own in `Database.run_batched` (one savepoint each) and grouped by `Database.run_grouped` (the
path the bot takes: one set-based call per batch), and 1,000 simultaneous single-row insert
transactions with the same driver and pool. Prints the rates and their ratios; checks the
sign-up outcome.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bench.common import course_with_officers, database, insert_rate, record
from kurse import registrations as regs
from kurse.clock import BERLIN
from kurse.invariants import invariant_violations
from kurse.models import Registration

NOW = datetime(2027, 1, 10, 10, 0, tzinfo=BERLIN)


async def sign_ups(db: Any, course_id: int, ids: list[int]) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(db.run_batched(regs.sign_up, course_id, pid, NOW) for pid in ids))
    return len(ids) / (time.perf_counter() - started)


async def grouped_sign_ups(db: Any, course_id: int, ids: list[int]) -> float:
    started = time.perf_counter()
    await asyncio.gather(*(db.run_grouped(sign_up_group, course_id, pid) for pid in ids))
    return len(ids) / (time.perf_counter() - started)


def sign_up_group(session: Any, course_id: int, person_ids: list[int]) -> list[Any]:
    return regs.sign_up_many(session, course_id, [(pid, NOW) for pid in person_ids])


def check(db: Any, course_id: int, n: int) -> None:
    with db.transaction(readonly=True) as session:
        statuses = session.scalars(
            select(Registration.status).where(Registration.course_id == course_id)
        ).all()
        assert statuses.count("confirmed") == 20
        assert statuses.count("waiting") == n - 20
        assert invariant_violations(session, course_id, NOW) == []


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", help="PostgreSQL URL; default: a SQLite file")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    n = 60 if args.smoke else args.n
    with database(args.postgres) as (db, kind):
        course, ids = course_with_officers(db, n, 10, NOW, 1_000_000)
        rate = asyncio.run(sign_ups(db, course.id, ids))  # type: ignore[arg-type]
        check(db, course.id, n)  # type: ignore[arg-type]
        inserts = asyncio.run(insert_rate(db, n))
    with database(args.postgres) as (db, _kind):
        course, ids = course_with_officers(db, n, 10, NOW, 1_000_000)
        grouped = asyncio.run(grouped_sign_ups(db, course.id, ids))  # type: ignore[arg-type]
        check(db, course.id, n)  # type: ignore[arg-type]
    record(
        "db_access",
        [
            (f"sign-ups per second ({n} at once, run_batched)", rate, "1/s"),
            (f"sign-ups per second ({n} at once, run_grouped)", grouped, "1/s"),
            ("single-row inserts per second", inserts, "1/s"),
            ("ratio, run_batched", rate / inserts, "x"),
            ("ratio, run_grouped", grouped / inserts, "x"),
        ],
        kind,
        smoke=args.smoke,
    )


if __name__ == "__main__":
    main()
