"""The invariants of PRODUCT.md §4, checked for one course (by the tests, after every step).

* total confirmed ≤ sum of quotas;
* before the release date, confirmed of an agency ≤ its quota (after it, agencies may take
  the unused seats of others: ``via_release`` marks who did);
* one registration per person and course (a database constraint), so nobody is both
  confirmed and waiting;
* before the start, every confirmed or waiting place belongs to a person (deleting one's
  data gives the seat back; only after the start, and at retention, may it lose its person);
* while automatic promotion applies (published, more than 24 hours before the start), nobody
  waits for a seat that is free for them, and waiting lists are served in arrival order
  (per agency before the release date, across agencies after it);
* the quota rows' counters agree with the registrations;
* a held seat (requested, offered) counts as taken, like a confirmed one, and always has a
  live deadline: while the course is published, a pending expiry at its ``held_until``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import approvers, holds
from kurse.courses import get_course
from kurse.models import (
    HELD,
    SEAT_HOLDING,
    CourseStatus,
    Registration,
    RegistrationStatus,
    Task,
    TaskKind,
    TaskState,
)
from kurse.promotion import place_for, promotion_allowed
from kurse.seats import is_released, load_seats

CONFIRMED = RegistrationStatus.CONFIRMED
WAITING = RegistrationStatus.WAITING


def invariant_violations(session: Session, course_id: int, now: datetime) -> list[str]:
    """Every broken rule of PRODUCT.md §4 for one course, in words (empty when all hold)."""
    course = get_course(session, course_id)
    released = is_released(course.release_at, now)
    state = load_seats(session, course_id, released=released)
    problems = []
    counted: dict[tuple[str, int], int] = defaultdict(int)
    for agency_id, status, n in session.execute(
        select(col(Registration.agency_id), col(Registration.status), func.count())
        .where(
            col(Registration.course_id) == course_id,
            col(Registration.status).in_([*SEAT_HOLDING, WAITING]),
        )
        .group_by(col(Registration.agency_id), col(Registration.status))
    ):
        counted[(CONFIRMED if status in SEAT_HOLDING else WAITING, agency_id)] += n
    counted = dict(counted)
    kept = {(CONFIRMED, a): n for a, n in state.confirmed.items()} | {
        (WAITING, a): n for a, n in state.waiting.items()
    }
    if counted != kept:
        problems.append(f"quota counters {kept} differ from the registrations {counted}")
    if now < course.start_at:
        # Deleting one's data gives back every seat of a course not yet started; only after
        # the start (statistics) and at retention, after the end, may a seat lose its person.
        nobody = session.scalar(
            select(func.count())
            .select_from(Registration)
            .where(
                col(Registration.course_id) == course_id,
                col(Registration.status).in_([*SEAT_HOLDING, WAITING]),
                col(Registration.person_id).is_(None),
            )
        )
        if nobody:
            problems.append(f"{nobody} confirmed or waiting registrations held by no person")
    if state.total_free() < 0:
        problems.append(f"total confirmed exceeds seats by {-state.total_free()}")
    if not released:
        for agency_id, n in state.over_quota().items():
            if n:
                problems.append(f"agency {agency_id} over its quota by {n} before release")
    if course.status == CourseStatus.PUBLISHED:
        problems += _held_without_deadline(session, course_id)
    if promotion_allowed(course, now):
        pools: list[int | None] = [None] if released else list(state.quotas)
        approval = approvers.approval_agencies(session)
        hours = holds.rules(session).approval_hours
        for pool in pools:
            free = state.total_free() if pool is None else state.free_for(pool)
            first = _first_waiting(session, course_id, pool)
            # The first in line waits rightly only when no hold could run long enough for
            # them (`kurse.promotion.place_for`): then the lead fills the seat.
            can_move = first is not None and place_for(course, first in approval, now, hours)
            if free > 0 and can_move:
                problems.append(f"someone waits while {free} seats are free (pool {pool})")
    return problems


def _first_waiting(session: Session, course_id: int, pool: int | None) -> int | None:
    """The agency of the first waiting officer of ``pool`` (an agency, or all), if any."""
    query = select(col(Registration.agency_id)).where(
        col(Registration.course_id) == course_id, col(Registration.status) == WAITING
    )
    if pool is not None:
        query = query.where(col(Registration.agency_id) == pool)
    return session.scalar(query.order_by(col(Registration.queue_seq)).limit(1))


def _held_without_deadline(session: Session, course_id: int) -> list[str]:
    """Held seats of a published course without a pending expiry at their deadline."""
    live = exists().where(
        col(Task.registration_id) == col(Registration.id),
        col(Task.kind) == TaskKind.HOLD_EXPIRY,
        col(Task.state).in_([TaskState.PENDING, TaskState.SENDING]),
        col(Task.due_at) == col(Registration.held_until),
    )
    dead = session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(
            col(Registration.course_id) == course_id,
            col(Registration.status).in_(HELD),
            or_(col(Registration.held_until).is_(None), ~live),
        )
    )
    return [f"{dead} held seats without a live deadline"] if dead else []
