"""Quotas: an admin sets a course's seats per agency; an excess is refused or demoted.

Lowering a quota below the officers already confirmed never removes anyone silently
(PRODUCT.md §2): the admin is told how many are over and decides.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import audit, holds, lead_news, outbox
from kurse.actors import Actor
from kurse.courses import get_course
from kurse.errors import CourseNotOpen, InvalidInput, QuotaBelowConfirmed
from kurse.lead_news import News
from kurse.models import (
    HELD,
    SEAT_HOLDING,
    CourseStatus,
    Quota,
    Registration,
    RegistrationStatus,
    agency_table,
)
from kurse.outbox import MessageKind
from kurse.promotion import Promotion, promote
from kurse.seats import Seats, adjust_counts, is_released, load_seats, validate_seats

CONFIRMED = RegistrationStatus.CONFIRMED
WAITING = RegistrationStatus.WAITING

ExcessDecision = Literal["refuse", "demote_latest"]


@dataclass(frozen=True)
class QuotaChange:
    """Quotas before and after (agency code → seats) and who moved."""

    before: dict[str, int]
    after: dict[str, int]
    promoted: list[Promotion] = field(default_factory=list)
    demoted: list[int] = field(default_factory=list)


def set_quotas(
    session: Session,
    course_id: int,
    seats: Mapping[str, int],
    now: datetime,
    *,
    on_excess: ExcessDecision = "refuse",
    actor: Actor | None = None,
) -> QuotaChange:
    """Sets the seats of the named agencies (others keep theirs) and promotes at once.

    If fewer seats than confirmed officers would remain, nothing changes and
    `QuotaBelowConfirmed` says how many are over, unless the admin decided
    ``on_excess="demote_latest"``: then the latest confirmed go back to the waiting list
    (at the front of it, as they came earlier than those waiting).
    """
    course = get_course(session, course_id, lock=True)
    if course.status != CourseStatus.PUBLISHED:
        raise CourseNotOpen(status=course.status)
    if now >= course.start_at:
        raise InvalidInput(field="seats", reason="course_started")
    new = validate_seats(session, seats)
    released = is_released(course.release_at, now)
    state = load_seats(session, course_id, released=released)
    codes = _agency_codes(session, set(new) | set(state.quotas))
    after = {**state.quotas, **new}
    if sum(after.values()) < 1:
        raise InvalidInput(field="seats", reason="no_seats")
    over = _excess(state, after)
    if over and on_excess != "demote_latest":
        raise QuotaBelowConfirmed(over={codes[a] if a else "*": n for a, n in over.items()})
    demoted = [
        pid
        for a, n in over.items()
        for pid in _demote_latest(session, course_id, course.lead_id, a, n, now)
    ]
    for agency_id, n in new.items():
        quota = session.get(Quota, (course_id, agency_id))
        if quota is None:
            session.add(Quota(course_id=course_id, agency_id=agency_id, seats=n))
        else:
            quota.seats = n
    session.flush()
    promoted, _ = promote(session, course, now)
    change = QuotaChange(
        before={codes[a]: n for a, n in state.quotas.items()},
        after={codes[a]: n for a, n in after.items()},
        promoted=promoted,
        demoted=demoted,
    )
    audit.record(
        session,
        actor=actor,
        action="quotas_set",
        now=now,
        course_id=course_id,
        before={"seats": change.before},
        # How many moved, not who: the log keeps no reference to a person (PRODUCT.md §7).
        after={"seats": change.after, "demoted": len(demoted), "promoted": len(promoted)},
    )
    return change


def _excess(state: Seats, after: Mapping[int, int]) -> dict[int, int]:
    """Confirmed beyond the new quotas: per agency before release, in total (key 0) after it."""
    if state.released:
        over_total = sum(state.confirmed.values()) - sum(after.values())
        return {0: over_total} if over_total > 0 else {}
    over = {a: state.confirmed.get(a, 0) - n for a, n in after.items()}
    return {a: n for a, n in over.items() if n > 0}


def _demote_latest(
    session: Session, course_id: int, lead_id: int | None, agency_id: int, n: int, now: datetime
) -> list[int]:
    # The latest to take a seat go back first, whether their seat was confirmed or held.
    query = select(Registration).where(
        col(Registration.course_id) == course_id, col(Registration.status).in_(SEAT_HOLDING)
    )
    if agency_id:
        query = query.where(col(Registration.agency_id) == agency_id)
    latest = session.scalars(query.order_by(col(Registration.queue_seq).desc()).limit(n))
    demoted: list[tuple[int | None, int | None]] = []
    moved: dict[int, int] = defaultdict(int)
    for registration in latest:
        if registration.status in HELD:
            holds.release(session, registration, now)
        registration.status = WAITING
        registration.confirmed_at = None
        registration.via_release = False
        demoted.append((registration.id, registration.person_id))
        moved[registration.agency_id] += 1
    session.flush()
    for moved_agency, count in moved.items():
        adjust_counts(session, course_id, moved_agency, confirmed=-count, waiting=count)
    outbox.seat_changes(session, MessageKind.DEMOTED, course_id, demoted, now)
    lead_news.tell_lead(
        session, course_id, lead_id, [(rid, News.MOVED_DOWN) for rid, _pid in demoted], now
    )
    return [pid for _rid, pid in demoted if pid is not None]


def _agency_codes(session: Session, ids: Iterable[int]) -> dict[int, str]:
    query = select(agency_table.c.id, agency_table.c.code).where(agency_table.c.id.in_(list(ids)))
    return dict(session.execute(query).all())
