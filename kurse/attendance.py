"""Attendance per course day (issue 18): the lead's (or an admin's) sheet of one day, a press
that moves one participant to the next state, the lock 7 days after the end and an admin's
unlock.

One `Attendance` row per confirmed registration and day, written under the course's row lock
(PostgreSQL; SQLite writes one at a time anyway), so that two leads pressing at once leave one
row with one state. A press names the state its button showed and sets the one after it
(*present → absent → excused → present*, nothing yet → present): two leads who press the same
button at once both mean that next state, and that is what stays. ``absent`` is a no-show
(the figures per agency count it, issue 19).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import audit, certificates, courses
from kurse.actors import Actor
from kurse.admin import require_admin, require_lead_or_admin
from kurse.clock import BERLIN
from kurse.days import CourseDay, course_days
from kurse.errors import AttendanceLocked, CourseNotOpen, DayNotStarted, NoCourseDay, NotFound
from kurse.models import (
    Agency,
    Attendance,
    AttendanceState,
    Course,
    CourseStatus,
    Person,
    Registration,
    RegistrationStatus,
    id_of,
)
from kurse.schedule import ATTENDANCE_LOCK

LOCK_AFTER = ATTENDANCE_LOCK  # after the course's end, attendance is locked
UNLOCK_FOR = timedelta(days=7)  # an admin's unlock lasts this long
EARLY = timedelta(minutes=30)  # a day's attendance may be recorded from this before its start
# The state a press moves to, from the state its button showed (None: nothing recorded).
NEXT: dict[AttendanceState | None, AttendanceState] = {
    None: AttendanceState.PRESENT,
    AttendanceState.PRESENT: AttendanceState.ABSENT,
    AttendanceState.ABSENT: AttendanceState.EXCUSED,
    AttendanceState.EXCUSED: AttendanceState.PRESENT,
}


@dataclass(frozen=True)
class Line:
    """One confirmed participant on a day's sheet, with what was recorded (None: nothing)."""

    registration_id: int
    name: str | None  # None: the person's data was deleted
    rank: str | None
    agency_code: str
    state: AttendanceState | None


@dataclass(frozen=True)
class Sheet:
    """A course day's attendance: every confirmed participant, the counts, whether locked."""

    course: Course
    day: CourseDay
    index: int  # of the day among `course_days`
    days: int  # how many days the course has
    lines: list[Line]
    locked: bool

    def count(self, state: AttendanceState | None) -> int:
        """How many participants have ``state`` (None: nothing recorded yet)."""
        return sum(1 for line in self.lines if line.state == state)


def lock_time(course: Course) -> datetime:
    """When attendance of ``course`` locks: `LOCK_AFTER` its end."""
    return course.end_at + LOCK_AFTER


def is_locked(course: Course, now: datetime) -> bool:
    """True once `lock_time` has passed, unless an admin unlocked it until later."""
    unlocked = (
        course.attendance_unlocked_until is not None and now < course.attendance_unlocked_until
    )
    return now >= lock_time(course) and not unlocked


def day_of(course: Course, given: date | None, now: datetime) -> tuple[int, CourseDay] | None:
    """The course day ``given`` names, or today's (in Berlin) without one; None when ``given``
    is None and no day of the course is today. `NoCourseDay` for a date that is none."""
    days = course_days(course)
    wanted = given if given is not None else now.astimezone(BERLIN).date()
    for index, day in enumerate(days):
        if day.day == wanted:
            return index, day
    if given is not None:
        raise NoCourseDay(given=given)
    return None


def _course(session: Session, course_id: int, *, lock: bool = False) -> Course:
    course = courses.get_course(session, course_id, lock=lock)
    if course.status == CourseStatus.CANCELLED:
        raise CourseNotOpen(status=course.status)
    return course


def sheet(session: Session, course_id: int, index: int, now: datetime, *, actor: Actor) -> Sheet:
    """The attendance of the course's day number ``index`` (lead or admin)."""
    course = _course(session, course_id)
    require_lead_or_admin(session, course, actor)
    return _sheet(session, course, index, now)


def _sheet(session: Session, course: Course, index: int, now: datetime) -> Sheet:
    days = course_days(course)
    if not 0 <= index < len(days):
        raise NoCourseDay(given=None)
    day = days[index]
    recorded = {
        a.registration_id: AttendanceState(a.state)
        for a in session.scalars(
            select(Attendance).where(
                col(Attendance.course_id) == course.id, col(Attendance.day) == day.day
            )
        )
    }
    rows = session.execute(
        select(Registration, Person, Agency)
        .join(Agency, col(Agency.id) == col(Registration.agency_id))
        .outerjoin(Person, col(Person.id) == col(Registration.person_id))
        .where(
            col(Registration.course_id) == course.id,
            col(Registration.status) == RegistrationStatus.CONFIRMED,
        )
        .order_by(col(Agency.code), col(Person.name), col(Registration.id))
    ).all()
    lines = [
        Line(
            id_of(registration),
            person.name if person else None,
            person.rank if person else None,
            agency.code,
            recorded.get(id_of(registration)),
        )
        for registration, person, agency in rows
    ]
    return Sheet(course, day, index, len(days), lines, is_locked(course, now))


def record(
    session: Session,
    registration_id: int,
    index: int,
    shown: AttendanceState | None,
    now: datetime,
    *,
    actor: Actor,
) -> Sheet:
    """Moves one participant's attendance on day ``index`` to the state after ``shown`` (the
    state their button showed), under the course's lock; returns the day's sheet."""
    registration = session.get(Registration, registration_id)
    if registration is None:
        raise NotFound(kind="registration")
    course = _course(session, registration.course_id, lock=True)
    actor = require_lead_or_admin(session, course, actor)
    if registration.status != RegistrationStatus.CONFIRMED:
        raise NotFound(kind="registration")
    days = course_days(course)
    if not 0 <= index < len(days):
        raise NoCourseDay(given=None)
    day = days[index]
    check_open(course, day, now)
    if set_state(session, registration, day.day, NEXT[shown], now, actor.person_id):
        certificates.attendance_changed(session, course, id_of(registration), now)
    return _sheet(session, course, index, now)


def check_open(course: Course, day: CourseDay, now: datetime) -> None:
    """Raises unless attendance of ``day`` may be recorded now (begun, not locked)."""
    if now < day.start_at - EARLY:
        raise DayNotStarted(day=day.day)
    if is_locked(course, now):
        raise AttendanceLocked(since=lock_time(course))


def set_state(
    session: Session,
    registration: Registration,
    day: date,
    state: AttendanceState,
    now: datetime,
    by: int | None,
) -> bool:
    """Writes ``state`` for the registration and day (the caller holds the course's lock and
    checked that it may); returns whether anything changed."""
    row = session.scalar(
        select(Attendance).where(
            col(Attendance.registration_id) == registration.id, col(Attendance.day) == day
        )
    )
    if row is not None and row.state == state:
        return False
    if row is None:
        row = Attendance(
            course_id=registration.course_id,
            registration_id=id_of(registration),
            agency_id=registration.agency_id,
            day=day,
            state=state,
            recorded_at=now,
            recorded_by=by,
        )
        session.add(row)
    else:
        row.state, row.recorded_at, row.recorded_by = state, now, by
    session.flush()
    return True


def unlock(session: Session, code: str, now: datetime, *, actor: Actor) -> Course:
    """An admin reopens a locked attendance for `UNLOCK_FOR` (written to the audit log)."""
    actor = require_admin(session, actor)
    course = courses.get_course_by_code(session, code)
    course = _course(session, id_of(course), lock=True)
    before = course.attendance_unlocked_until
    course.attendance_unlocked_until = max(now, lock_time(course)) + UNLOCK_FOR
    course.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="attendance_unlocked",
        now=now,
        course_id=course.id,
        before={"attendance_unlocked_until": before},
        after={"attendance_unlocked_until": course.attendance_unlocked_until},
    )
    session.flush()
    return course


def course_for_attendance(
    session: Session, code: str, given: date | None, now: datetime, *, actor: Actor
) -> tuple[Course, int | None]:
    """The course a lead or admin names for `/anwesenheit`, and the index of the day to show:
    the one ``given``, or today's; None when no day is today (the caller asks which)."""
    course = _course(session, id_of(courses.get_course_by_code(session, code)))
    require_lead_or_admin(session, course, actor)
    found = day_of(course, given, now)
    return course, found[0] if found else None


def no_shows(session: Session, person_ids: list[int]) -> dict[int, int]:
    """How many course days each of ``person_ids`` was absent without excuse (no-shows)."""
    if not person_ids:
        return {}
    rows = session.execute(
        select(col(Registration.person_id), func.count())
        .join(Attendance, col(Attendance.registration_id) == col(Registration.id))
        .where(
            col(Registration.person_id).in_(person_ids),
            col(Attendance.state) == AttendanceState.ABSENT,
        )
        .group_by(col(Registration.person_id))
    ).all()
    return {int(pid): int(n) for pid, n in rows if pid is not None}


def no_shows_by_agency(session: Session) -> dict[int, int]:
    """No-shows (course days absent without excuse) per agency id, all courses; they stay
    right after anonymisation (the row keeps its agency)."""
    rows = session.execute(
        select(col(Attendance.agency_id), func.count())
        .where(col(Attendance.state) == AttendanceState.ABSENT)
        .group_by(col(Attendance.agency_id))
    ).all()
    return {int(agency): int(n) for agency, n in rows}
