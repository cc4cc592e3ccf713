"""Promotion: free seats filled from the waiting lists, first come, first served.

It runs under the course's lock, after every change that may free a seat or open one to
more officers (a cancellation, a refusal, an expired or declined hold, new quotas, a release
date reached, a course moved out of its last day). In the last day before the start a free
seat is the lead's to fill instead.

What the first waiting officer gets is `place_for`: a seat, or a seat held for them
(`kurse.holds`) — requested where their own agency needs approval, offered where the course
fills seats by offers. When no hold could run two hours any more, nobody is moved up and the
lead is told of the free seat, as in the last day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import approvers, holds, lead_news, outbox
from kurse.holds import LEAD_WINDOW
from kurse.lead_news import News
from kurse.models import Course, CourseStatus, Registration, RegistrationStatus, id_of
from kurse.outbox import MessageKind
from kurse.seats import adjust_counts, is_released, load_seats

CONFIRMED = RegistrationStatus.CONFIRMED
WAITING = RegistrationStatus.WAITING
REQUESTED = RegistrationStatus.REQUESTED
OFFERED = RegistrationStatus.OFFERED

# In the last day before the start a free seat goes to the lead, who knows who can still come.
MANUAL_WINDOW = LEAD_WINDOW


@dataclass(frozen=True)
class Promotion:
    """A waiting officer who got a seat, or a seat held for them (to be told at once)."""

    registration_id: int
    person_id: int | None
    course_id: int
    status: RegistrationStatus = CONFIRMED


def promotion_allowed(course: Course, now: datetime) -> bool:
    """Automatic promotion applies to published courses until 24 hours before the start."""
    return course.status == CourseStatus.PUBLISHED and now < course.start_at - MANUAL_WINDOW


def place_for(
    course: Course, needs_approval: bool, now: datetime, approval_hours: int
) -> tuple[RegistrationStatus, datetime | None] | None:
    """What the first waiting officer gets when a seat is free for them now: an offer (a
    course filled by offers), a request (their agency needs approval), or the seat; with the
    hold's deadline. None when no hold could run long enough (the lead fills the seat)."""
    if course.offer_hours is not None:
        until = holds.offer_until(course, now, needs_approval=needs_approval)
        return (OFFERED, until) if until is not None else None
    if needs_approval:
        until = holds.promotion_approval_until(course, now, approval_hours)
        return (REQUESTED, until) if until is not None else None
    return CONFIRMED, None


def promote(
    session: Session, course: Course, now: datetime
) -> tuple[list[Promotion], News | None]:
    """Fills free seats from the waiting lists, first come, first served.

    Must run under the course's lock. Returns the promotions and, when a free seat waits for
    the lead to fill, what to tell the lead: `News.FREE_SEAT` inside the last 24 hours before
    the start, `News.FREE_SEAT_NO_TIME` when no hold could run long enough any more.
    """
    released = is_released(course.release_at, now)
    state = load_seats(session, id_of(course), released=released)
    if not state.waiting_total() or state.total_free() <= 0:
        return [], None
    if not promotion_allowed(course, now):
        in_window = course.status == CourseStatus.PUBLISHED and now < course.start_at
        return [], News.FREE_SEAT if in_window else None
    approval = approvers.approval_agencies(session)
    hours = holds.rules(session).approval_hours
    promoted: list[Registration] = []
    stuck = False
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
            place = place_for(course, registration.agency_id in approval, now, hours)
            if place is None:  # the ones behind wait behind: first come, first served
                stuck = True
                break
            status, until = place
            own_full = state.confirmed.get(registration.agency_id, 0) >= state.quotas.get(
                registration.agency_id, 0
            )
            registration.status = status
            registration.confirmed_at = now if status == CONFIRMED else None
            registration.held_since = now if until is not None else None
            registration.held_until = until
            registration.outcome = registration.decided_by = registration.outcome_reason = None
            registration.via_release = own_full
            state.confirmed[registration.agency_id] = (
                state.confirmed.get(registration.agency_id, 0) + 1
            )
            promoted.append(registration)
    session.flush()
    _count_and_tell(session, course, promoted, now)
    return [
        Promotion(id_of(r), r.person_id, r.course_id, RegistrationStatus(r.status))
        for r in promoted
    ], News.FREE_SEAT_NO_TIME if stuck else None


def _count_and_tell(
    session: Session, course: Course, promoted: list[Registration], now: datetime
) -> None:
    """Moves the counters for those moved up, plans their holds and queues the messages:
    to each of them (moved up, requested or offered), to the approvers, to the lead."""
    moved: dict[int, int] = defaultdict(int)
    for registration in promoted:
        moved[registration.agency_id] += 1
    for moved_agency, count in moved.items():
        adjust_counts(session, id_of(course), moved_agency, confirmed=count, waiting=-count)
    cid = id_of(course)
    held = [r for r in promoted if r.held_until is not None and r.held_since is not None]
    holds.plan(
        session,
        [
            holds.Hold(id_of(r), cid, RegistrationStatus(r.status), r.held_since, r.held_until)
            for r in held
            if r.held_since is not None and r.held_until is not None
        ],
    )
    requested = [r for r in held if r.status == REQUESTED]
    approvers.tell_approvers(
        session,
        MessageKind.APPROVAL_REQUEST,
        cid,
        [(id_of(r), r.agency_id, r.held_since) for r in requested if r.held_since is not None],
        now,
    )
    # Everyone moved up is told, whichever way the seat came free (kurse.outbox); an offer
    # is a message of its own, with its buttons and deadline.
    offered = [(r.id, r.person_id) for r in promoted if r.status == OFFERED]
    moved_up = [(r.id, r.person_id) for r in promoted if r.status != OFFERED]
    outbox.seat_changes(session, MessageKind.PROMOTED, cid, moved_up, now)
    outbox.seat_changes(session, MessageKind.OFFER, cid, offered, now)
    news = {CONFIRMED: News.MOVED_UP, REQUESTED: News.REQUESTED, OFFERED: News.OFFERED}
    lead_news.tell_lead(
        session,
        cid,
        course.lead_id,
        [(r.id, news[RegistrationStatus(r.status)]) for r in promoted],
        now,
    )


def fill_free_seats(session: Session, course: Course, now: datetime) -> list[Promotion]:
    """After a course's dates changed (its lock held): a course moved out of its last day, or
    a release date moved into the past, fills its free seats from the waiting lists now."""
    promoted, _ = promote(session, course, now)
    return promoted
