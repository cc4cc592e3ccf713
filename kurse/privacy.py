"""The officer's own data (DSGVO): everything stored about them, and deleting it."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kurse import courses, outbox, people
from kurse.models import (
    Agency,
    AuditEntry,
    Course,
    Outbox,
    Person,
    Registration,
    RegistrationStatus,
)
from kurse.registrations import Promotion, withdraw


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _row(obj: Any, columns: list[str]) -> dict[str, Any]:
    return {c: _plain(getattr(obj, c)) for c in columns}


def export_person(session: Session, person_id: int) -> dict[str, Any]:
    """Every stored row about the person: profile, registrations, audit entries, messages."""
    person = session.get(Person, person_id)
    assert person is not None
    agency = session.get(Agency, person.agency_id)
    registrations = session.execute(
        select(Registration, Course.code, Course.title, Course.start_at)
        .join(Course, Course.id == Registration.course_id)
        .where(Registration.person_id == person_id)
        .order_by(Registration.id)
    ).all()
    audit = session.scalars(
        select(AuditEntry)
        .where(or_(AuditEntry.subject_person_id == person_id, AuditEntry.actor_id == person_id))
        .order_by(AuditEntry.id)
    ).all()
    messages = session.scalars(
        select(Outbox).where(Outbox.person_id == person_id).order_by(Outbox.id)
    ).all()
    return {
        "profile": _row(person, [c.name for c in Person.__table__.columns]),
        "agency": {"code": agency.code, "name": agency.name} if agency else None,
        "registrations": [
            {
                **_row(
                    r,
                    [
                        "id",
                        "status",
                        "created_at",
                        "confirmed_at",
                        "cancelled_at",
                        "via_release",
                        "queue_seq",
                    ],
                ),
                "course": {"code": code, "title": title, "start": _plain(start)},
            }
            for r, code, title, start in registrations
        ],
        "audit_entries": [
            {
                **_row(a, ["id", "at", "action", "course_id"]),
                "role": "actor" if a.actor_id == person_id else "subject",
                "before": json.loads(a.before) if a.before else None,
                "after": json.loads(a.after) if a.after else None,
            }
            for a in audit
        ],
        "messages": [
            _row(m, ["id", "key", "kind", "state", "due_at", "done_at"]) for m in messages
        ],
    }


@dataclass(frozen=True)
class Deletion:
    """What deleting a person did: the officers moved up into seats they left, and how many
    messages tell the admins of courses left without a lead."""

    cancelled: int
    anonymised: int
    promoted: list[Promotion]
    admins_told: int = 0


def delete_person(
    session: Session, person_id: int, now: datetime, admin_ids: Collection[int] = ()
) -> Deletion:
    """Deletes the profile: future registrations cancelled (waiting lists move up), past ones
    kept without the person so that course statistics stay right. They may join again.

    Courses the person led lose their lead; every admin (``admin_ids``: those from the
    settings) is told, to choose a new one.

    Locks the person's row first (PostgreSQL), so that a sign-up of theirs still in flight
    (which holds a key-share lock on it, see `registrations.sign_up_many`) commits before the
    registrations are read, and none can start until the deletion is done; then each seat is
    given back under its course's lock, courses in id order."""
    session.scalar(select(Person.id).where(Person.id == person_id).with_for_update())
    rows = session.execute(
        select(Registration, Course.start_at)
        .join(Course, Course.id == Registration.course_id)
        .where(Registration.person_id == person_id)
        .order_by(Registration.course_id)
    ).all()
    promoted: list[Promotion] = []
    cancelled = anonymised = 0
    for registration, start in rows:
        active = registration.status != RegistrationStatus.CANCELLED
        if active and start > now:
            promoted += withdraw(session, registration.id, now)
            cancelled += 1
        anonymised += 1
    led = courses.led_by(session, person_id, now, limit=1000)
    # Registrations, audit entries and leads lose the person (foreign keys: SET NULL);
    # messages to them go with them (CASCADE).
    person = session.get(Person, person_id)
    if person is not None:
        session.delete(person)
    session.flush()
    # The admins choose a new lead for each course left without one.
    admins = [a.id for a in people.admins(session, admin_ids) if a.id is not None] if led else []
    told = 0
    for course in led:
        assert course.id is not None
        told += outbox.notices(session, "leadgone", course.id, admins, now)
    return Deletion(cancelled, anonymised, promoted, told)
