"""What the officer's screens show, read in one transaction each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse.courses import CourseListing, get_course
from kurse.errors import DomainError
from kurse.models import (
    Course,
    CourseStatus,
    Person,
    Registration,
    RegistrationStatus,
    id_of,
)
from kurse.registration_lists import MyRegistration, position_of
from kurse.registrations import CancelResult, SignUpResult, cancel_for_course, sign_up_many
from kurse.seats import is_released, load_seats, seats_for_courses


@dataclass(frozen=True)
class CourseView:
    """A course page as one officer sees it."""

    listing: CourseListing
    mine: MyRegistration | None
    lead: Person | None
    open_for_sign_up: bool


def course_view(session: Session, course_id: int, person: Person, now: datetime) -> CourseView:
    """The course with the seats left for the person's agency and their own registration."""
    course = get_course(session, course_id)
    seats = seats_for_courses(session, [course], now)[course_id]
    listing = CourseListing(course, seats.free_for(person.agency_id), seats.waiting_total())
    registration = session.scalar(
        select(Registration).where(
            col(Registration.course_id) == course_id,
            col(Registration.person_id) == person.id,
            col(Registration.status) != RegistrationStatus.CANCELLED,
        )
    )
    mine = None
    if registration is not None:
        position = None
        if registration.status == RegistrationStatus.WAITING:
            position = position_of(session, registration, is_released(course.release_at, now))
        mine = MyRegistration(
            id_of(registration),
            course,
            RegistrationStatus(registration.status),
            position,
            registration.held_until,
        )
    lead = session.get(Person, course.lead_id) if course.lead_id else None
    is_open = course.status == CourseStatus.PUBLISHED and now < course.registration_deadline
    return CourseView(listing, mine, lead, is_open)


def sign_ups_and_views(
    session: Session, course_id: int, requests: list[tuple[Person, datetime]]
) -> list[tuple[SignUpResult, CourseView] | DomainError]:
    """Signs up each ``(person, now)`` and builds the page each of them sees next, in one
    transaction for all of them (`Database.run_grouped`: the burst path, bench/README.md).

    The pages come from what the sign-ups already know (status, position) and one read of
    the seats after all of them; a refused request gets its error in its place.
    """
    ids = [(person.id, now) for person, now in requests if person.id is not None]
    assert len(ids) == len(requests), "persons come from the database"
    results = sign_up_many(session, course_id, ids)
    course = session.get(Course, course_id)
    if course is None:
        return [r for r in results if isinstance(r, DomainError)]  # all of them NotFound
    now = requests[-1][1]
    seats = load_seats(session, course_id, released=is_released(course.release_at, now))
    lead = session.get(Person, course.lead_id) if course.lead_id else None
    is_open = course.status == CourseStatus.PUBLISHED and now < course.registration_deadline
    answers: list[tuple[SignUpResult, CourseView] | DomainError] = []
    for (person, _), result in zip(requests, results, strict=True):
        if isinstance(result, DomainError):
            answers.append(result)
            continue
        listing = CourseListing(course, seats.free_for(person.agency_id), seats.waiting_total())
        mine = MyRegistration(
            result.registration_id, course, result.status, result.position, result.held_until
        )
        answers.append((result, CourseView(listing, mine, lead, is_open)))
    return answers


@dataclass(frozen=True)
class Cancellation:
    """A cancellation with the page to show (those moved up and the lead are told through
    the outbox)."""

    result: CancelResult
    view: CourseView


def cancel_and_view(
    session: Session, course_id: int, person: Person, now: datetime
) -> Cancellation:
    """Cancels and reads the page again, in the same transaction."""
    result = cancel_for_course(session, course_id, id_of(person), now)
    return Cancellation(result, course_view(session, course_id, person, now))
