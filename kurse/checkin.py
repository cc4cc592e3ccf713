"""Self check-in (issue 18): a short code per course day that changes every two minutes.

The lead shows it (`/checkin`, with a QR code of the deep link); an officer who types it or
opens the link while it is valid, is confirmed for the course and the day is under way (from
30 minutes before its start to its end) is marked present. A code is an HMAC of the course's
secret (`Course.checkin_secret`, made at the first `/checkin`), the day and the two-minute
window, so every process computes the same codes and nothing is stored per code. A code is
taken in its window and the next (so one read just before it changed still works: at most
four minutes old); a code of another day, another course or an older window is not. Nobody
can check in someone else: a check-in marks the sender's own registration only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import attendance, courses
from kurse.actors import Actor
from kurse.admin import require_lead_or_admin
from kurse.agencies import ACCESS_CODE_ALPHABET
from kurse.clock import BERLIN
from kurse.days import CourseDay, course_days
from kurse.errors import CourseNotOpen, DayNotStarted, DomainError, NoCourseDay, NotRegistered
from kurse.models import (
    AttendanceState,
    Course,
    CourseStatus,
    Registration,
    RegistrationStatus,
    id_of,
)

WINDOW = timedelta(minutes=2)
CODE_LENGTH = 6
EARLY = attendance.EARLY
LINK_PREFIX = "ci-"  # t.me/<bot>?start=ci-<course id>-<code>


class CheckinRefused(DomainError):
    """No check-in open under this code now (wrong, too old, of another day or course)."""

    code = "checkin_refused"


@dataclass(frozen=True)
class ShownCode:
    """The code to show for a course day now, until when it is shown, and the link."""

    course: Course
    day: CourseDay
    index: int
    code: str
    renewed_at: datetime  # the start of its window
    link: str  # the deep link's start parameter


@dataclass(frozen=True)
class CheckedIn:
    """An officer marked present by check-in (``already``: they were before)."""

    course: Course
    day: CourseDay
    already: bool


def window_of(now: datetime) -> int:
    """The number of the two-minute window ``now`` is in (counted in UTC: a clock change in
    Berlin moves no window)."""
    return int(now.astimezone(UTC).timestamp() // WINDOW.total_seconds())


def code_for(secret: str, course_id: int, day: CourseDay, window: int) -> str:
    """The code of a course day in one two-minute window."""
    message = f"{course_id}:{day.day.isoformat()}:{window}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return "".join(
        ACCESS_CODE_ALPHABET[b % len(ACCESS_CODE_ALPHABET)] for b in digest[:CODE_LENGTH]
    )


def normalise(typed: str) -> str | None:
    """A typed code, upper case without blanks; None if it cannot be one."""
    code = "".join(typed.upper().split())[:20]
    if len(code) != CODE_LENGTH or any(ch not in ACCESS_CODE_ALPHABET for ch in code):
        return None
    return code


def day_under_way(course: Course, now: datetime) -> tuple[int, CourseDay] | None:
    """The course day under way at ``now`` (from `EARLY` before its start to its end)."""
    for index, day in enumerate(course_days(course)):
        if day.start_at - EARLY <= now <= day.end_at:
            return index, day
    return None


def show(session: Session, code: str, now: datetime, *, actor: Actor) -> ShownCode:
    """The current check-in code of the course's day under way (lead or admin)."""
    found = courses.get_course_by_code(session, code)
    course = courses.get_course(session, id_of(found), lock=True)
    require_lead_or_admin(session, course, actor)
    if course.status == CourseStatus.CANCELLED:
        raise CourseNotOpen(status=course.status)
    under_way = day_under_way(course, now)
    if under_way is None:
        upcoming = [d for d in course_days(course) if d.start_at - EARLY > now]
        if upcoming:
            raise DayNotStarted(day=upcoming[0].day)
        raise NoCourseDay(given=now.astimezone(BERLIN).date())
    if course.checkin_secret is None:
        course.checkin_secret = secrets.token_hex(32)
        session.flush()
    index, day = under_way
    return shown_code(course, index, day, now)


def shown_code(course: Course, index: int, day: CourseDay, now: datetime) -> ShownCode:
    """The code of course day ``index`` (``day``) at ``now`` (the course has its secret)."""
    assert course.checkin_secret is not None  # made at the first `show`
    window = window_of(now)
    shown = code_for(course.checkin_secret, id_of(course), day, window)
    renewed = datetime.fromtimestamp(window * WINDOW.total_seconds(), UTC)
    return ShownCode(course, day, index, shown, renewed, f"{LINK_PREFIX}{course.id}-{shown}")


def _matches(course: Course, typed: str, now: datetime) -> CourseDay | None:
    under_way = day_under_way(course, now)
    if under_way is None or course.checkin_secret is None:
        return None
    _index, day = under_way
    window = window_of(now)
    for w in (window, window - 1):
        if hmac.compare_digest(code_for(course.checkin_secret, id_of(course), day, w), typed):
            return day
    return None


def check_in(
    session: Session, person_id: int, typed: str, now: datetime, *, course_id: int | None = None
) -> CheckedIn:
    """Marks ``person_id`` present for the day under way of the course whose current code
    they typed (or whose link they opened: ``course_id``)."""
    code = normalise(typed)
    if code is None:
        raise CheckinRefused
    query = select(Course).where(
        col(Course.status) != CourseStatus.CANCELLED,
        col(Course.checkin_secret).is_not(None),
        col(Course.start_at) <= now + EARLY,
        col(Course.end_at) >= now,
    )
    if course_id is not None:
        query = query.where(col(Course.id) == course_id)
    for course in session.scalars(query):
        day = _matches(course, code, now)
        if day is None:
            continue
        course = courses.get_course(session, id_of(course), lock=True)
        registration = session.scalar(
            select(Registration).where(
                col(Registration.course_id) == course.id,
                col(Registration.person_id) == person_id,
                col(Registration.status) == RegistrationStatus.CONFIRMED,
            )
        )
        if registration is None:
            raise NotRegistered
        row_changed = attendance.set_state(
            session, registration, day.day, AttendanceState.PRESENT, now, person_id
        )
        return CheckedIn(course, day, already=not row_changed)
    raise CheckinRefused
