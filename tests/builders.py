"""Small helpers that put agencies, officers and courses into a test database."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from itertools import count
from typing import Any

from kurse import agencies, courses, people
from kurse.actors import Actor
from kurse.courses import CourseDraft
from kurse.db import Database
from kurse.models import Agency, Course, Person

# The bootstrap admin of the tests (`conftest.ADMIN_ID`), as services see them.
ADMIN = Actor(telegram_id=4242, bootstrap_admin=True)

_telegram_ids = count(10_000)


def seed(db: Database, now: datetime) -> dict[str, Agency]:
    """Creates the two founding agencies; returns them by code."""
    with db.transaction() as session:
        agencies.seed_agencies(session, now)
        return {a.code: a for a in agencies.list_agencies(session)}


def officer(
    db: Database, agency: Agency, now: datetime, *, name: str = "Anna Beispiel", **extra: Any
) -> Person:
    """Joins a new officer of ``agency`` with its access code."""
    with db.transaction() as session:
        return people.join(
            session,
            telegram_id=extra.pop("telegram_id", next(_telegram_ids)),
            access_code=agency.access_code,
            name=name,
            rank=extra.pop("rank", "POK"),
            language=extra.pop("language", "de"),
            now=now,
            **extra,
        )


def officers(db: Database, agencies: Mapping[str, Agency], now: datetime, n: int) -> list[Person]:
    """``n`` officers "Officer 0" … of both founding agencies in turn (PD-Z first)."""
    return [
        officer(db, agencies["PP-OFR" if i % 2 else "PD-Z"], now, name=f"Officer {i}")
        for i in range(n)
    ]


def draft(now: datetime, seats: Mapping[str, int] | None = None, **overrides: Any) -> CourseDraft:
    """A valid course a month after ``now``, with deadlines a week before it."""
    start = overrides.pop("start_at", now + timedelta(days=30))
    values: dict[str, Any] = {
        "title": "Grenzüberschreitende Fahndung – Grundlagen",
        "location": "Hof, Polizeiinspektion",
        "start_at": start,
        "end_at": start + timedelta(days=1, hours=7),
        "registration_deadline": start - timedelta(days=7),
        "seats": dict(seats) if seats is not None else {"PP-OFR": 5, "PD-Z": 5},
        "description": "Zweitägiges Seminar.",
    }
    values.update(overrides)
    return CourseDraft(**values)


def course(
    db: Database, now: datetime, seats: Mapping[str, int] | None = None, **overrides: Any
) -> Course:
    """Creates a valid course (see `draft`)."""
    with db.transaction() as session:
        return courses.create_course(session, draft(now, seats, **overrides), now)


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to assert that an action wrote nothing."""
    from kurse.models import SQLModel

    with db.transaction(readonly=True) as session:
        return {
            table.name: sorted((tuple(row) for row in session.execute(table.select())), key=repr)
            for table in SQLModel.metadata.sorted_tables
        }


def attendance(db: Database, registration_id: int, day: date, state: str, now: datetime) -> None:
    """Records one course day of a registration as the lead would (issue 18's rows)."""
    from kurse.models import Attendance, Registration

    with db.transaction() as session:
        registration = session.get(Registration, registration_id)
        assert registration is not None
        session.add(
            Attendance(
                course_id=registration.course_id,
                registration_id=registration_id,
                agency_id=registration.agency_id,
                day=day,
                state=state,
                recorded_at=now,
            )
        )


def run_due_tasks(db: Database, now: datetime, admin_ids: tuple[int, ...] = ()) -> None:
    """Runs every task due at ``now`` (releases, course ends, retention), as the sweep does."""
    from kurse import tasks

    while True:
        with db.transaction() as session:
            claimed = tasks.claim_due_tasks(session, now)
        if not claimed:
            return
        for task_id in claimed:
            with db.transaction() as session:
                tasks.run_task(session, task_id, now, admin_ids)


def message_kinds(db: Database, person_id: int) -> list[str]:
    """The kinds of the messages queued for the person, in order."""
    from sqlalchemy import select

    from kurse.models import Outbox

    with db.transaction(readonly=True) as session:
        return list(
            session.scalars(
                select(Outbox.kind).where(Outbox.person_id == person_id).order_by(Outbox.id)
            )
        )
