"""The seat state of a course (quotas, confirmed and waiting per agency) and its counters.

Each quota row keeps, beside its seats, how many of the agency's officers are confirmed and
waiting, so that reading a course's seats is one short query. Every change of who holds a
seat moves those counters with `adjust_counts`, under the course's lock (`kurse.registrations`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse.errors import InvalidInput, NotFound
from kurse.models import Course, Quota, agency_table, quota_table
from kurse.validation import check_int

MAX_SEATS_PER_AGENCY = 1000


@dataclass
class Seats:
    """The seat state of one course: quotas, confirmed and waiting counts per agency."""

    quotas: dict[int, int]
    confirmed: dict[int, int]
    waiting: dict[int, int]
    released: bool

    def add(self, agency_id: int, quota: int, confirmed: int, waiting: int) -> None:
        """Takes in one quota row."""
        self.quotas[agency_id] = quota
        if confirmed:
            self.confirmed[agency_id] = confirmed
        if waiting:
            self.waiting[agency_id] = waiting

    def total_free(self) -> int:
        """Seats not taken by anyone."""
        return sum(self.quotas.values()) - sum(self.confirmed.values())

    def free_for(self, agency_id: int) -> int:
        """Seats an officer of ``agency_id`` could take now."""
        total = self.total_free()
        if total <= 0:
            return 0
        if self.released:
            return total
        own = self.quotas.get(agency_id, 0) - self.confirmed.get(agency_id, 0)
        return max(0, min(own, total))

    def waiting_total(self) -> int:
        """Everyone on any waiting list."""
        return sum(self.waiting.values())

    def waiting_ahead_of_newcomer(self, agency_id: int) -> int:
        """How many wait in the queue a newcomer of ``agency_id`` joins."""
        return self.waiting_total() if self.released else self.waiting.get(agency_id, 0)

    def over_quota(self) -> dict[int, int]:
        """Per agency, confirmed beyond its own quota (non-zero only through released seats)."""
        return {a: max(0, n - self.quotas.get(a, 0)) for a, n in self.confirmed.items()}


_q = quota_table
_SEAT_ROWS = select(_q.c.agency_id, _q.c.seats, _q.c.confirmed_count, _q.c.waiting_count).where(
    _q.c.course_id == bindparam("course_id")
)
_ADJUST_COUNTS = (
    update(_q)
    .where(_q.c.course_id == bindparam("c_id"), _q.c.agency_id == bindparam("a_id"))
    .values(
        confirmed_count=_q.c.confirmed_count + bindparam("dc"),
        waiting_count=_q.c.waiting_count + bindparam("dw"),
    )
)


def is_released(course_release_at: datetime | None, now: datetime) -> bool:
    """True once the release date has passed."""
    return course_release_at is not None and now >= course_release_at


def load_seats(session: Session, course_id: int, *, released: bool) -> Seats:
    """Reads the seat state of one course (one short query on its quota rows)."""
    seats = Seats({}, {}, {}, released)
    for agency_id, quota, confirmed, waiting in session.connection().execute(
        _SEAT_ROWS, {"course_id": course_id}
    ):
        seats.add(agency_id, quota, confirmed, waiting)
    return seats


def adjust_counts(
    session: Session, course_id: int, agency_id: int, *, confirmed: int = 0, waiting: int = 0
) -> None:
    """Moves the counters of an agency's quota row (created with 0 seats if it has none)."""
    if not confirmed and not waiting:
        return
    conn = session.connection()
    params = {"c_id": course_id, "a_id": agency_id, "dc": confirmed, "dw": waiting}
    if conn.execute(_ADJUST_COUNTS, params).rowcount == 0:
        # An agency without seats of its own (released seats, or added later) gets a row.
        conn.execute(
            insert(_q).values(
                course_id=course_id,
                agency_id=agency_id,
                seats=0,
                confirmed_count=confirmed,
                waiting_count=waiting,
            )
        )


def seats_for_courses(
    session: Session, courses: Sequence[Course], now: datetime
) -> dict[int, Seats]:
    """Seat states of several courses at once (for lists: one query for the whole page)."""
    result: dict[int, Seats] = {
        c.id: Seats({}, {}, {}, is_released(c.release_at, now)) for c in courses if c.id
    }
    if not result:
        return result
    rows = session.execute(
        select(
            col(Quota.course_id),
            col(Quota.agency_id),
            col(Quota.seats),
            col(Quota.confirmed_count),
            col(Quota.waiting_count),
        ).where(col(Quota.course_id).in_(list(result)))
    )
    for course_id, agency_id, quota, confirmed, waiting in rows:
        result[course_id].add(agency_id, quota, confirmed, waiting)
    return result


def validate_seats(session: Session, seats: Mapping[str, int]) -> dict[int, int]:
    """Maps agency codes to ids and checks every number; raises `InvalidInput` or `NotFound`."""
    if not seats:
        raise InvalidInput(field="seats", reason="empty")
    codes = {code.strip().upper()[:16]: n for code, n in seats.items()}
    if len(codes) != len(seats):
        raise InvalidInput(field="seats", reason="duplicate_agency")
    for n in codes.values():
        check_int(n, "seats", low=0, high=MAX_SEATS_PER_AGENCY)
    rows = session.execute(
        select(agency_table.c.code, agency_table.c.id).where(agency_table.c.code.in_(codes))
    ).all()
    known = {code: agency_id for code, agency_id in rows}
    for code in codes:
        if code not in known:
            raise NotFound(kind="agency", given=code)
    return {known[code]: n for code, n in codes.items()}
