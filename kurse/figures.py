"""The figures of the cooperation (PRODUCT.md §12): per agency and period, counted in SQL.

What each figure counts, decided where the issue is silent (README, "Figures"):

- A course belongs to the period in which it **starts** (Berlin date), so a course across
  the period's end counts once, in the period it began; the quarters add up to the year.
- **Held** courses are those of the period not cancelled (finished, running, or still to
  come in a period that reaches into the future); a cancelled course counts only as
  ``cancelled_courses`` of its host, and none of its seats or registrations count anywhere.
- Per agency, as host: ``hosted`` (held courses it hosts), ``seats_offered`` (all seats of
  them, every agency's quota), ``guests`` (their seats held by officers of another agency,
  released seats included) out of ``taken_in_hosted`` (all their confirmed seats): the
  **joint share** is ``guests / taken_in_hosted``.
- Per agency, as the officers' agency: ``quota_seats`` (seats set aside for its officers in
  held courses), ``sign_ups`` (every registration of its officers for held courses, whatever
  its state now: confirmed, waiting, cancelled, and the held states of approval and offers),
  ``confirmed`` (state ``confirmed`` now), ``attended`` (present on at least one course
  day), ``no_shows`` (absent without excuse on at least one recorded day and present on
  none: excused days are no no-show, a partial attendance is attended); attendance is
  recorded for the participants of a course, who hold a confirmed seat at its start and keep
  it (no cancellation, promotion or edit after the start), so these are the confirmed
  registrations with a present or absent day, read from the attendance rows alone,
  ``cancellations`` (registrations its officers cancelled, or that a deletion of their data
  cancelled), ``unserved`` (still waiting when the course started: demand the seats did not
  meet; courses not yet started count no unserved demand), ``abroad`` (its officers'
  confirmed seats in courses another agency hosts).

Every count reads the agency from the registration (and the attendance row), never from
the person, so a deleted officer and an anonymised course (``person_id`` NULL) count as
before. Each figure is one ``GROUP BY`` query; Python only adds up the grouped rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import people
from kurse.actors import Actor
from kurse.errors import NotAllowed
from kurse.models import (
    Agency,
    Attendance,
    AttendanceState,
    Course,
    CourseStatus,
    Quota,
    Registration,
    RegistrationStatus,
)
from kurse.periods import Period, berlin_today, parse_period


@dataclass
class AgencyFigures:
    """The figures of one agency in one period (see the module doc for each)."""

    agency_id: int | None
    code: str
    name: str
    hosted: int = 0
    cancelled_courses: int = 0
    seats_offered: int = 0
    quota_seats: int = 0
    sign_ups: int = 0
    confirmed: int = 0
    attended: int = 0
    no_shows: int = 0
    cancellations: int = 0
    unserved: int = 0
    guests: int = 0
    taken_in_hosted: int = 0
    abroad: int = 0

    @property
    def joint_share(self) -> float | None:
        """The part of the confirmed seats of its courses held by other agencies' officers
        (None without any)."""
        return self.guests / self.taken_in_hosted if self.taken_in_hosted else None


COUNTS = tuple(f.name for f in fields(AgencyFigures) if f.type == "int")


@dataclass(frozen=True)
class MonthFigures:
    """Confirmed seats of the held courses starting in one month, and those held by an
    officer of an agency other than the course's host."""

    month: date
    confirmed: int
    joint: int

    @property
    def joint_share(self) -> float | None:
        """``joint / confirmed`` (None in a month without confirmed seats)."""
        return self.joint / self.confirmed if self.confirmed else None


@dataclass(frozen=True)
class Figures:
    """The figures of a period: per agency (ordered by code), the sum, and per month."""

    period: Period
    now: datetime
    agencies: list[AgencyFigures]
    total: AgencyFigures
    months: list[MonthFigures] = field(default_factory=list)
    lead_id: int | None = None  # only the courses this person leads, if set


def count_figures(
    session: Session, period: Period, now: datetime, *, lead_id: int | None = None
) -> Figures:
    """Counts the figures of ``period`` as of ``now`` (all courses, or those ``lead_id``
    leads). Five grouped queries, whatever the number of courses and registrations."""
    start, end = period.bounds()
    in_period = [col(Course.start_at) >= start, col(Course.start_at) < end]
    if lead_id is not None:
        in_period.append(col(Course.lead_id) == lead_id)
    held = [*in_period, col(Course.status) != CourseStatus.CANCELLED]
    rows = {
        a.id: AgencyFigures(a.id, a.code, a.name)
        for a in session.scalars(select(Agency).order_by(col(Agency.code)))
    }
    _courses(session, in_period, rows)
    _seats(session, held, rows)
    months = _registrations(session, held, now, period, rows)
    _attendance(session, held, rows)
    agencies = list(rows.values())
    total = AgencyFigures(None, "", "")
    for name in COUNTS:
        setattr(total, name, sum(getattr(a, name) for a in agencies))
    return Figures(period, now, agencies, total, months, lead_id)


def _add(rows: dict[int | None, AgencyFigures], agency_id: int, name: str, n: Any) -> None:
    figures = rows.get(agency_id)
    if figures is not None:
        setattr(figures, name, getattr(figures, name) + int(n or 0))


def _courses(
    session: Session, where: Sequence[ColumnElement[bool]], rows: dict[Any, AgencyFigures]
) -> None:
    cancelled = case((col(Course.status) == CourseStatus.CANCELLED, 1), else_=0)
    query = (
        select(col(Course.host_agency_id), cancelled, func.count())
        .where(*where)
        .group_by(col(Course.host_agency_id), cancelled)
    )
    for host, is_cancelled, n in session.execute(query):
        _add(rows, host, "cancelled_courses" if is_cancelled else "hosted", n)


def _seats(
    session: Session, where: Sequence[ColumnElement[bool]], rows: dict[Any, AgencyFigures]
) -> None:
    query = (
        select(col(Course.host_agency_id), col(Quota.agency_id), func.sum(col(Quota.seats)))
        .join(Course, col(Course.id) == col(Quota.course_id))
        .where(*where)
        .group_by(col(Course.host_agency_id), col(Quota.agency_id))
    )
    for host, agency, seats in session.execute(query):
        _add(rows, host, "seats_offered", seats)
        _add(rows, agency, "quota_seats", seats)


def _month_of(period: Period) -> ColumnElement[int]:
    """The index of the month (in `Period.months`) in which a course starts, in SQL: a
    ``CASE`` over the months' ends in UTC, the same on SQLite and PostgreSQL."""
    ends = [Period(m, m).bounds()[0] for m in period.months()[1:]]
    if not ends:
        return case((col(Course.id).is_not(None), 0), else_=0)
    return case(*[(col(Course.start_at) < end, i) for i, end in enumerate(ends)], else_=len(ends))


def _registrations(
    session: Session,
    where: Sequence[ColumnElement[bool]],
    now: datetime,
    period: Period,
    rows: dict[Any, AgencyFigures],
) -> list[MonthFigures]:
    started = case((col(Course.start_at) <= now, 1), else_=0)
    month = _month_of(period)
    # Counted per course first (an index-only scan of the registrations of the period's
    # courses), then per host, agency, state and month over those counts: the CASEs run once
    # per course and agency, not once per registration (measured 0.50 → 0.29 s on SQLite for
    # 200,000 registrations, bench/README.md).
    per_course = (
        select(
            col(Registration.course_id).label("course_id"),
            col(Registration.status).label("status"),
            col(Registration.agency_id).label("agency_id"),
            func.count().label("n"),
        )
        .where(col(Registration.course_id).in_(select(col(Course.id)).where(*where)))
        .group_by(
            col(Registration.course_id), col(Registration.status), col(Registration.agency_id)
        )
        .subquery()
    )
    host, agency, status = col(Course.host_agency_id), per_course.c.agency_id, per_course.c.status
    query = (
        select(host, agency, status, started, month, func.sum(per_course.c.n))
        .join(Course, col(Course.id) == per_course.c.course_id)
        .group_by(host, agency, status, started, month)
    )
    confirmed = [0] * len(period.months())
    joint = [0] * len(period.months())
    for host_id, agency_id, state, has_started, index, n in session.execute(query):
        n = int(n)
        _add(rows, agency_id, "sign_ups", n)
        if state == RegistrationStatus.CONFIRMED:
            _add(rows, agency_id, "confirmed", n)
            _add(rows, host_id, "taken_in_hosted", n)
            confirmed[index] += n
            if agency_id != host_id:
                _add(rows, host_id, "guests", n)
                _add(rows, agency_id, "abroad", n)
                joint[index] += n
        elif state == RegistrationStatus.CANCELLED:
            _add(rows, agency_id, "cancellations", n)
        elif state == RegistrationStatus.WAITING and has_started:
            _add(rows, agency_id, "unserved", n)
    return [MonthFigures(m, confirmed[i], joint[i]) for i, m in enumerate(period.months())]


def _attendance(
    session: Session, where: Sequence[ColumnElement[bool]], rows: dict[Any, AgencyFigures]
) -> None:
    """Attended (present on a day) and no-shows (absent on a day and present on none) per
    agency, in one pass over the attendance rows of the period's courses: with P the
    registrations present on some day and A those absent on some day, no-shows are
    |A ∪ P| − |P|. Three ``COUNT(DISTINCT …)`` instead of a group per registration joined
    back (measured 1.5 → 0.18 s on PostgreSQL, 0.5 → 0.3 s on SQLite, 170,000 rows)."""
    state, registration = col(Attendance.state), col(Attendance.registration_id)
    present = func.count(distinct(registration)).filter(state == AttendanceState.PRESENT)
    recorded = func.count(distinct(registration)).filter(
        state.in_([AttendanceState.PRESENT, AttendanceState.ABSENT])
    )
    query = (
        select(col(Attendance.agency_id), present, recorded)
        .where(col(Attendance.course_id).in_(select(col(Course.id)).where(*where)))
        .group_by(col(Attendance.agency_id))
    )
    for agency_id, attended, present_or_absent in session.execute(query):
        _add(rows, agency_id, "attended", attended)
        _add(rows, agency_id, "no_shows", int(present_or_absent) - int(attended))


def figures_for(session: Session, period_text: str, now: datetime, *, actor: Actor) -> Figures:
    """The figures an actor may see for the period typed (`kurse.periods.parse_period`;
    empty: the current quarter): every course for an admin, their own courses for a lead
    (a person who leads or led a course not yet anonymised); `NotAllowed` for anyone else,
    before the period is read."""
    person = people.find_by_telegram_id(session, actor.telegram_id) if actor.telegram_id else None
    if people.is_admin(person, actor.bootstrap_admin):
        return count_figures(session, parse_period(period_text, berlin_today(now)), now)
    if person is None or not person.active or not _leads_any(session, person.id):
        raise NotAllowed(role="lead")
    period = parse_period(period_text, berlin_today(now))
    return count_figures(session, period, now, lead_id=person.id)


def _leads_any(session: Session, person_id: int | None) -> bool:
    found = session.scalar(select(col(Course.id)).where(col(Course.lead_id) == person_id).limit(1))
    return found is not None


def own_figures(session: Session, person_id: int) -> dict[str, int]:
    """An officer's own figures, as `/meine_daten` shows them: their sign-ups, confirmed
    seats, attended, no-shows, cancellations and waiting places (held courses only, as in
    `count_figures`; the same rules, over every period)."""
    held = [
        col(Registration.person_id) == person_id,
        col(Course.status) != CourseStatus.CANCELLED,
    ]
    by_status = dict(
        session.execute(
            select(col(Registration.status), func.count())
            .join(Course, col(Course.id) == col(Registration.course_id))
            .where(*held)
            .group_by(col(Registration.status))
        ).all()
    )
    state = col(Attendance.state)
    days = (
        select(
            func.max(case((state == AttendanceState.PRESENT, 1), else_=0)).label("present"),
            func.max(case((state == AttendanceState.ABSENT, 1), else_=0)).label("absent"),
        )
        .join(Registration, col(Registration.id) == col(Attendance.registration_id))
        .join(Course, col(Course.id) == col(Registration.course_id))
        .where(*held, col(Registration.status) == RegistrationStatus.CONFIRMED)
        .group_by(col(Attendance.registration_id))
        .subquery()
    )
    attended, no_shows = session.execute(
        select(
            func.coalesce(func.sum(days.c.present), 0),
            func.coalesce(
                func.sum(case((and_(days.c.present == 0, days.c.absent == 1), 1), else_=0)), 0
            ),
        )
    ).one()
    return {
        "sign_ups": sum(by_status.values()),
        "confirmed": by_status.get(RegistrationStatus.CONFIRMED, 0),
        "attended": int(attended),
        "no_shows": int(no_shows),
        "cancellations": by_status.get(RegistrationStatus.CANCELLED, 0),
        "waiting": by_status.get(RegistrationStatus.WAITING, 0),
    }
