"""Sign-up service burst versus the database's simplest insert rate, in one run.

    python -m bench.db_access [--postgres URL] [--n 1000]

Measures, through `Database.run` (the path the bot takes), 1,000 simultaneous sign-ups for
one course with 10 + 10 seats, and 1,000 simultaneous single-row insert transactions with the
same driver and pool. Prints both rates and their ratio; checks the sign-up outcome.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select, text

from kurse import agencies, courses, people
from kurse import registrations as regs
from kurse.clock import SystemClock
from kurse.courses import CourseDraft
from kurse.db import Database
from kurse.migrate import upgrade
from kurse.models import AuditEntry, Registration, audit_table


def prepare(url: str, n: int) -> tuple[Database, int, list[int]]:
    db = Database(url)
    upgrade(db.engine)
    now = SystemClock().now()
    with db.transaction() as session:
        agencies.seed_agencies(session, now)
        found = agencies.list_agencies(session)
        start = now + timedelta(days=30)
        course = courses.create_course(
            session,
            CourseDraft(
                title="Burst",
                location="Hof",
                start_at=start,
                end_at=start + timedelta(hours=8),
                registration_deadline=start - timedelta(days=1),
                seats={a.code: 10 for a in found},
            ),
            now,
        )
        ids = [
            people.join(
                session,
                telegram_id=1_000_000 + i,
                access_code=found[i % 2].access_code,
                name=f"Officer {i}",
                rank=None,
                language="de",
                now=now,
            ).id
            for i in range(n)
        ]
    return db, course.id, ids  # type: ignore[return-value]


def insert_one(db: Database, now) -> None:  # type: ignore[no-untyped-def]
    """The simplest transactional single-row insert, on the same engine and pool."""
    with db.engine.begin() as connection:
        connection.execute(insert(audit_table).values(at=now, action="bench"))


async def insert_burst(db: Database, now, n: int) -> None:  # type: ignore[no-untyped-def]
    if db.is_sqlite:
        for _ in range(n):
            insert_one(db, now)
        return
    loop = asyncio.get_running_loop()
    await asyncio.gather(
        *(loop.run_in_executor(db._executor, insert_one, db, now) for _ in range(n))
    )


async def burst(db: Database, course_id: int, ids: list[int]) -> tuple[float, float]:
    now = SystemClock().now()
    started = time.perf_counter()
    await asyncio.gather(*(db.run_batched(regs.sign_up, course_id, pid, now) for pid in ids))
    signup_rate = len(ids) / (time.perf_counter() - started)
    started = time.perf_counter()
    await insert_burst(db, now, len(ids))
    insert_rate = len(ids) / (time.perf_counter() - started)
    return signup_rate, insert_rate


def check(db: Database, course_id: int, n: int) -> None:
    with db.transaction(readonly=True) as session:
        statuses = session.scalars(
            select(Registration.status).where(Registration.course_id == course_id)
        ).all()
        assert statuses.count("confirmed") == 20 and statuses.count("waiting") == n - 20
        assert regs.invariant_violations(session, course_id, SystemClock().now()) == []
        assert (
            len(session.scalars(select(AuditEntry.id).where(AuditEntry.action == "bench")).all())
            == n
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", help="PostgreSQL URL; default: a SQLite file")
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    schema = None
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = Database(args.postgres)
        with admin.transaction() as session:
            session.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{args.postgres}?options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    db, course_id, ids = prepare(url, args.n)
    signup_rate, insert_rate = asyncio.run(burst(db, course_id, ids))
    check(db, course_id, args.n)
    db.dispose()
    if schema:
        with admin.transaction() as session:
            session.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
    kind = "postgresql" if schema else "sqlite"
    print(
        f"{kind}: sign-ups {signup_rate:,.0f}/s, single-row inserts {insert_rate:,.0f}/s, "
        f"ratio {signup_rate / insert_rate:.2f}"
    )


if __name__ == "__main__":
    main()
