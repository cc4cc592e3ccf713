"""Shared pieces of the benchmarks: databases, result lines."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from kurse import agencies, courses, people
from kurse import approvers as kurse_approvers
from kurse.courses import CourseDraft
from kurse.db import Database
from kurse.migrate import upgrade
from kurse.models import Course, audit_table, id_of

RESULTS = Path(__file__).parent / "results"


@contextmanager
def database(postgres: str | None) -> Iterator[tuple[Database, str]]:
    """A fresh migrated database: a SQLite file, or a schema of its own on PostgreSQL."""
    if postgres is None:
        db = Database(f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}")
        upgrade(db.engine)
        yield db, "sqlite"
        db.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = Database(postgres)
    with admin.transaction() as session:
        session.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in postgres else "?"
    db = Database(f"{postgres}{separator}options=-csearch_path%3D{schema}")
    upgrade(db.engine)
    try:
        yield db, "postgresql"
    finally:
        db.dispose()
        with admin.transaction() as session:
            session.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def commit() -> str:
    """The current git commit, short."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def record(bench: str, figures: list[tuple[str, float, str]], database: str, **extra: Any) -> None:
    """Prints the figures as a table and appends one JSON line each to results/<bench>.jsonl."""
    smoke = bool(extra.get("smoke"))
    RESULTS.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    width = max(len(name) for name, _, _ in figures)
    print(f"{bench} on {database}")
    lines = []
    for name, value, unit in figures:
        print(f"  {name:<{width}}  {value:>12,.2f} {unit}")
        lines.append(
            json.dumps(
                {
                    "name": name,
                    "value": round(value, 4),
                    "unit": unit,
                    "database": database,
                    "commit": commit(),
                    "date": stamp,
                }
            )
        )
    if not smoke:  # smoke runs only check that the benchmark works; they are not results
        with (RESULTS / f"{bench}.jsonl").open("a", encoding="utf-8") as out:
            out.write("\n".join(lines) + "\n")


def course_with_officers(
    db: Database,
    n: int,
    seats_per_agency: int,
    now: dt.datetime,
    first_telegram_id: int,
    *,
    lead: bool = False,
    approvers: int = 0,
) -> tuple[Course, list[int]]:
    """Seeds both agencies, one course a month ahead and ``n`` officers of alternating
    agencies (Telegram ids from ``first_telegram_id``); returns the course and person ids.
    With ``lead``, the course has a lead (Telegram id ``first_telegram_id - 1``), who gets
    the news of every sign-up (`kurse.lead_news`). With ``approvers``, the first agency
    (PP-OFR) needs approval of its officers' sign-ups and has that many approvers (Telegram
    ids below ``first_telegram_id - 1``)."""
    with db.transaction() as session:
        agencies.seed_agencies(session, now)
        found = agencies.list_agencies(session)
        start = now + dt.timedelta(days=30)
        course = courses.create_course(
            session,
            CourseDraft(
                title="Gemeinsame Fahndung",
                location="Hof",
                start_at=start,
                end_at=start + dt.timedelta(hours=8),
                registration_deadline=start - dt.timedelta(days=10),
                seats={a.code: seats_per_agency for a in found},
            ),
            now,
        )
        ids: list[int] = [
            people.join(
                session,
                telegram_id=first_telegram_id + i,
                access_code=found[i % 2].access_code,
                name=f"Officer {i}",
                rank=None,
                language="de",
                now=now,
            ).id
            for i in range(n)
        ]
        approver_rows: list[tuple[int, int]] = []
        if lead:
            course.lead_id = people.join(
                session,
                telegram_id=first_telegram_id - 1,
                access_code=found[0].access_code,
                name="Lea Leitung",
                rank=None,
                language="de",
                now=now,
            ).id
        if approvers:
            ofr = next(a for a in found if a.code == "PP-OFR")
            ofr.approval_required = True
            for k in range(approvers):
                person = people.join(
                    session,
                    telegram_id=first_telegram_id - 2 - k,
                    access_code=ofr.access_code,
                    name=f"Genehmigende {k}",
                    rank=None,
                    language="de",
                    now=now,
                )
                approver_rows.append((id_of(ofr), id_of(person)))
            for agency_id, person_id in approver_rows:
                kurse_approvers.appoint(session, agency_id, person_id, now)
    return course, ids


async def insert_rate(db: Database, n: int) -> float:
    """The simplest transactional single-row insert rate, on the benchmark's engine and pool
    (on PostgreSQL from the same thread pool as the services)."""
    now = dt.datetime.now(dt.UTC)

    def insert_one() -> None:
        with db.engine.begin() as connection:
            connection.execute(insert(audit_table).values(at=now, action="bench"))

    began = time.perf_counter()
    if db.is_sqlite:
        for _ in range(n):
            insert_one()
    else:
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(db._executor, insert_one) for _ in range(n)))
    return n / (time.perf_counter() - began)
