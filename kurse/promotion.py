"""Promotion: free seats filled from the waiting lists, first come, first served.

It runs under the course's lock, after every change that may free a seat or open one to
more officers (a cancellation, new quotas, a release date reached, a course moved out of
its last day). In the last day before the start a free seat is the lead's to fill instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import lead_news, outbox
from kurse.lead_news import News
from kurse.models import Course, CourseStatus, Registration, RegistrationStatus, id_of
from kurse.outbox import MessageKind
from kurse.seats import adjust_counts, is_released, load_seats

CONFIRMED = RegistrationStatus.CONFIRMED
WAITING = RegistrationStatus.WAITING

# In the last day before the start a free seat goes to the lead, who knows who can still come.
MANUAL_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Promotion:
    """A waiting officer who got a seat (to be told at once)."""

    registration_id: int
    person_id: int | None
    course_id: int


def promotion_allowed(course: Course, now: datetime) -> bool:
    """Automatic promotion applies to published courses until 24 hours before the start."""
    return course.status == CourseStatus.PUBLISHED and now < course.start_at - MANUAL_WINDOW


def promote(session: Session, course: Course, now: datetime) -> tuple[list[Promotion], bool]:
    """Fills free seats from the waiting lists, first come, first served.

    Must run under the course's lock. Returns the promotions and whether a free seat
    waits for the lead to fill (inside the last 24 hours before the start).
    """
    released = is_released(course.release_at, now)
    state = load_seats(session, id_of(course), released=released)
    if not state.waiting_total() or state.total_free() <= 0:
        return [], False
    if not promotion_allowed(course, now):
        in_window = course.status == CourseStatus.PUBLISHED and now < course.start_at
        return [], in_window
    promoted: list[Registration] = []
    pools: list[int | None] = [None] if released else list(state.quotas)
    for agency_id in pools:
        free = state.total_free() if agency_id is None else state.free_for(agency_id)
        if free <= 0:
            continue
        query = select(Registration).where(
            col(Registration.course_id) == course.id, col(Registration.status) == WAITING
        )
        if agency_id is not None:
            query = query.where(col(Registration.agency_id) == agency_id)
        for registration in session.scalars(
            query.order_by(col(Registration.queue_seq)).limit(free)
        ):
            own_full = state.confirmed.get(registration.agency_id, 0) >= state.quotas.get(
                registration.agency_id, 0
            )
            registration.status = CONFIRMED
            registration.confirmed_at = now
            registration.via_release = own_full
            state.confirmed[registration.agency_id] = (
                state.confirmed.get(registration.agency_id, 0) + 1
            )
            promoted.append(registration)
    session.flush()
    moved: dict[int, int] = defaultdict(int)
    for registration in promoted:
        moved[registration.agency_id] += 1
    for moved_agency, count in moved.items():
        adjust_counts(session, id_of(course), moved_agency, confirmed=count, waiting=-count)
    # Everyone moved up is told, whichever way the seat came free (kurse.outbox).
    outbox.seat_changes(
        session, MessageKind.PROMOTED, id_of(course), [(r.id, r.person_id) for r in promoted], now
    )
    lead_news.tell_lead(
        session, id_of(course), course.lead_id, [(r.id, News.MOVED_UP) for r in promoted], now
    )
    return [Promotion(id_of(r), r.person_id, r.course_id) for r in promoted], False


def fill_free_seats(session: Session, course: Course, now: datetime) -> list[Promotion]:
    """After a course's dates changed (its lock held): a course moved out of its last day, or
    a release date moved into the past, fills its free seats from the waiting lists now."""
    promoted, _ = promote(session, course, now)
    return promoted
