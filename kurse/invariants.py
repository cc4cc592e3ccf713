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
* the quota rows' counters agree with the registrations.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse.courses import get_course
from kurse.models import Registration, RegistrationStatus
from kurse.promotion import promotion_allowed
from kurse.seats import is_released, load_seats

CONFIRMED = RegistrationStatus.CONFIRMED
WAITING = RegistrationStatus.WAITING


def invariant_violations(session: Session, course_id: int, now: datetime) -> list[str]:
    """Every broken rule of PRODUCT.md §4 for one course, in words (empty when all hold)."""
    course = get_course(session, course_id)
    released = is_released(course.release_at, now)
    state = load_seats(session, course_id, released=released)
    problems = []
    counted: dict[tuple[str, int], int] = {
        (status, agency_id): n
        for agency_id, status, n in session.execute(
            select(col(Registration.agency_id), col(Registration.status), func.count())
            .where(
                col(Registration.course_id) == course_id,
                col(Registration.status).in_([CONFIRMED, WAITING]),
            )
            .group_by(col(Registration.agency_id), col(Registration.status))
        )
    }
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
                col(Registration.status).in_([CONFIRMED, WAITING]),
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
    if promotion_allowed(course, now):
        pools: list[int | None] = [None] if released else list(state.quotas)
        for pool in pools:
            free = state.total_free() if pool is None else state.free_for(pool)
            waiting = state.waiting_total() if pool is None else state.waiting.get(pool, 0)
            if free > 0 and waiting > 0:
                problems.append(f"{waiting} waiting while {free} seats are free (pool {pool})")
    return problems
