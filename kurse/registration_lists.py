"""Registrations as officers and leads read them: one's own list, a course's participants.

Waiting positions are counted here too: per agency before the release date, across agencies
after it, in arrival order.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse.courses import get_course
from kurse.models import (
    SEAT_HOLDING,
    Agency,
    Course,
    CourseStatus,
    Person,
    Quota,
    Registration,
    RegistrationStatus,
    id_of,
)
from kurse.seats import is_released

CONFIRMED = RegistrationStatus.CONFIRMED
WAITING = RegistrationStatus.WAITING


def position_of(session: Session, registration: Registration, released: bool) -> int:
    """The waiting position of a waiting registration (per agency before the release date)."""
    return queue_position(
        session, registration.course_id, registration.agency_id, registration.queue_seq, released
    )


def queue_position(
    session: Session, course_id: int, agency_id: int, queue_seq: int, released: bool
) -> int:
    """The place in its queue of the waiting registration that came as number ``queue_seq``."""
    conditions = [
        col(Registration.course_id) == course_id,
        col(Registration.status) == WAITING,
        col(Registration.queue_seq) <= queue_seq,
    ]
    if not released:
        conditions.append(col(Registration.agency_id) == agency_id)
    return (
        session.scalar(select(func.count()).select_from(Registration).where(and_(*conditions)))
        or 0
    )


@dataclass(frozen=True)
class MyRegistration:
    """One of a person's registrations, with the waiting position if waiting and the
    deadline of a held seat (requested, offered)."""

    registration_id: int
    course: Course
    status: RegistrationStatus
    position: int | None
    held_until: datetime | None = None


def person_registrations(session: Session, person_id: int, now: datetime) -> list[MyRegistration]:
    """The person's confirmed, held and waiting registrations of courses not yet ended,
    soonest first."""
    rows = session.execute(
        select(Registration, Course)
        .join(Course, col(Course.id) == col(Registration.course_id))
        .where(
            col(Registration.person_id) == person_id,
            col(Registration.status).in_([*SEAT_HOLDING, WAITING]),
            col(Course.end_at) > now,
            col(Course.status) != CourseStatus.FINISHED,
        )
        .order_by(col(Course.start_at), col(Course.id))
    )
    result = []
    for registration, course in rows:
        position = None
        if registration.status == WAITING:
            position = queue_position(
                session,
                id_of(course),
                registration.agency_id,
                registration.queue_seq,
                is_released(course.release_at, now),
            )
        result.append(
            MyRegistration(
                id_of(registration),
                course,
                RegistrationStatus(registration.status),
                position,
                registration.held_until,
            )
        )
    return result


@dataclass(frozen=True)
class Participant:
    """One line of a participant list."""

    registration_id: int
    person_id: int | None
    name: str | None
    rank: str | None
    agency_code: str
    status: RegistrationStatus
    position: int | None
    signed_up_at: datetime
    via_release: bool


@dataclass(frozen=True)
class ParticipantList:
    """Confirmed participants grouped by agency code, the held seats (requested, offered)
    apart from them, then the waiting list in order; the full names of the course's agencies
    (those with seats or registrations) by code."""

    course: Course
    confirmed: dict[str, list[Participant]]
    waiting: list[Participant]
    agency_names: dict[str, str]
    held: list[Participant] = field(default_factory=list)


def participants(session: Session, course_id: int, now: datetime) -> ParticipantList:
    """The participant list of a course (for its lead and admins)."""
    course = get_course(session, course_id)
    released = is_released(course.release_at, now)
    rows = session.execute(
        select(
            Registration, col(Person.name), col(Person.rank), col(Agency.code), col(Agency.name)
        )
        .join(Agency, col(Agency.id) == col(Registration.agency_id))
        .outerjoin(Person, col(Person.id) == col(Registration.person_id))
        .where(
            col(Registration.course_id) == course_id,
            col(Registration.status).in_([*SEAT_HOLDING, WAITING]),
        )
        .order_by(col(Registration.queue_seq))
    )
    confirmed: dict[str, list[Participant]] = {}
    waiting: list[Participant] = []
    held: list[Participant] = []
    agency_names: dict[str, str] = {
        code: name
        for code, name in session.execute(
            select(col(Agency.code), col(Agency.name))
            .join(Quota, col(Quota.agency_id) == col(Agency.id))
            .where(col(Quota.course_id) == course_id, col(Quota.seats) > 0)
        )
    }
    counters: dict[str | None, int] = defaultdict(int)
    for registration, name, rank, code, agency_name in rows:
        agency_names[code] = agency_name
        position = None
        if registration.status == WAITING:
            key = None if released else code
            counters[key] += 1
            position = counters[key]
        item = Participant(
            id_of(registration),
            registration.person_id,
            name,
            rank,
            code,
            RegistrationStatus(registration.status),
            position,
            registration.created_at,
            registration.via_release,
        )
        if item.status == CONFIRMED:
            confirmed.setdefault(code, []).append(item)
        elif item.status == WAITING:
            waiting.append(item)
        else:
            held.append(item)
    return ParticipantList(
        course,
        dict(sorted(confirmed.items())),
        waiting,
        dict(sorted(agency_names.items())),
        held,
    )
