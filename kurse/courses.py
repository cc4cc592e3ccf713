"""Courses: create, edit, cancel, look up and list for officers.

Seats are changed only through `kurse.quotas.set_quotas`, which keeps the invariants.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import audit, lead_news, people
from kurse.actors import Actor
from kurse.clock import BERLIN
from kurse.days import days_between
from kurse.errors import CourseNotOpen, InvalidInput, NotFound
from kurse.forms import DayTimes, check_course, days_span, seat_problems, start_problem
from kurse.models import (
    Agency,
    Course,
    CourseStatus,
    Person,
    Quota,
    Registration,
    RegistrationStatus,
    id_of,
)
from kurse.promotion import fill_free_seats
from kurse.schedule import DEFAULT_PLAN, Plan, cancel_course_tasks, plan_course
from kurse.search import CourseQuery, matches
from kurse.seats import load_seats, seats_for_courses, validate_seats
from kurse.validation import clean_text

MAX_REASON = 500
MAX_PAGE_SIZE = 50


@dataclass(frozen=True)
class CourseDraft:
    """Everything needed to create a course; ``seats`` maps agency codes to seats."""

    title: str
    location: str
    start_at: datetime
    end_at: datetime
    registration_deadline: datetime
    seats: Mapping[str, int]
    description: str = ""
    cancellation_deadline: datetime | None = None
    release_at: datetime | None = None
    min_participants: int | None = None
    lead_id: int | None = None
    offer_hours: int | None = None  # freed seats offered for so many hours; None: automatic
    days: DayTimes | None = None  # explicit course days (issue 18); None: from start and end
    min_attendance: int | None = None  # percent of the days a certificate needs; None: all
    # None: `default_host` (the creating admin's agency, else the one with the most seats).
    host_agency_id: int | None = None


EDITABLE_FIELDS = tuple(f.name for f in fields(CourseDraft) if f.name != "seats")


@dataclass(frozen=True)
class CourseEdit:
    """The course after an edit and what changed, as ``{field: (before, after)}``."""

    course: Course
    changes: dict[str, tuple[Any, Any]]
    affected_person_ids: list[int] = field(default_factory=list)
    told: int = 0  # officers queued to be told of the change (kurse.admin)

    @property
    def schedule_changed(self) -> bool:
        """True if officers must be told (dates or place changed)."""
        return bool({"start_at", "end_at", "days", "location"} & self.changes.keys())


@dataclass(frozen=True)
class CourseListing:
    """One line of the course list, with the seats left for the viewer's agency."""

    course: Course
    seats_left: int
    waiting: int


@dataclass(frozen=True)
class CoursePage:
    """One page of open courses."""

    items: list[CourseListing]
    page: int
    pages: int
    total: int


def _validate(session: Session, draft: CourseDraft, now: datetime, *, new: bool) -> CourseDraft:
    """Returns the cleaned draft or raises `InvalidInput` naming the first wrong field.

    The rules are `kurse.forms.check_course`, which the guided dialog applies to each answer
    too; the lead is looked up here, as it needs the database."""
    values = {name: getattr(draft, name) for name in EDITABLE_FIELDS}
    cleaned, problems = check_course(values, now, new=new)
    if problems:
        raise problems[0].error()
    if draft.lead_id is not None:
        _active_lead(session.get(Person, draft.lead_id))
    if draft.host_agency_id is not None and session.get(Agency, draft.host_agency_id) is None:
        raise NotFound(kind="agency", given=str(draft.host_agency_id))
    cleaned["cancellation_deadline"] = (
        cleaned["cancellation_deadline"] or cleaned["registration_deadline"]
    )
    # Days that are just those of start and end are not kept as explicit days, so that a
    # later move of start or end moves them too.
    days = cleaned.get("days")
    if not days or days == _default_days(cleaned["start_at"], cleaned["end_at"]):
        cleaned["days"] = None
    return replace(draft, **cleaned)


def _default_days(start: datetime, end: datetime) -> DayTimes:
    return tuple((d.start_at, d.end_at) for d in days_between(start, end))


def with_days_span(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Explicit days given without a start or an end set them (`kurse.forms.days_span`)."""
    values = dict(changes)
    if values.get("days"):
        start, end = days_span(values["days"])
        values.setdefault("start_at", start)
        values.setdefault("end_at", end)
    return values


def _active_lead(person: Person | None) -> Person:
    """A course is led by a person who has joined and not blocked the bot."""
    if person is None or not person.active:
        raise NotFound(kind="lead")
    return person


def find_lead(session: Session, reference: str) -> Person:
    """The person a Telegram id or ``@username`` names, if they may lead a course; else
    `NotFound` (``kind="lead"``)."""
    try:
        return _active_lead(people.find_by_reference(session, reference))
    except NotFound:
        raise NotFound(kind="lead") from None


def check_start(start: datetime, now: datetime) -> None:
    """Raises `InvalidInput` unless ``start`` lies after ``now`` and within `MAX_AHEAD`."""
    problem = start_problem(start, now)
    if problem is not None:
        raise problem.error()


def check_draft(session: Session, draft: CourseDraft, now: datetime) -> None:
    """Raises the first problem of a new course's fields (`InvalidInput`), seats aside."""
    _validate(session, draft, now, new=True)


def _next_code(session: Session, start: datetime) -> str:
    year = start.astimezone(BERLIN).year
    prefix = f"K-{year}-"
    # The highest number, not the highest string ("K-2027-999" > "K-2027-1000"): numbers have
    # three digits or as many as they need, so the longest code, then the largest, has it.
    last = session.scalar(
        select(col(Course.code))
        .where(col(Course.code).like(f"{prefix}%"))
        .order_by(func.length(col(Course.code)).desc(), col(Course.code).desc())
        .limit(1)
    )
    number = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}{number:03d}"


def create_course(
    session: Session,
    draft: CourseDraft,
    now: datetime,
    *,
    actor: Actor | None = None,
    plan: Plan = DEFAULT_PLAN,
) -> Course:
    """Creates a published course with its quotas after checking every field."""
    draft = _validate(session, draft, now, new=True)
    quotas = validate_seats(session, draft.seats)
    seat_rules = seat_problems(draft.seats, draft.min_participants)  # one seat at least, …
    if seat_rules:
        raise seat_rules[0].error()
    values = {name: getattr(draft, name) for name in EDITABLE_FIELDS}
    if draft.host_agency_id is None:
        values["host_agency_id"] = default_host(session, actor, quotas)
    course = Course(
        code=_next_code(session, draft.start_at), created_at=now, updated_at=now, **values
    )
    # Two admins creating courses at the same moment on PostgreSQL may pick the same code;
    # the unique constraint tells, and a savepoint lets us take the next number.
    for _attempt in range(5):
        try:
            with session.begin_nested():
                session.add(course)
                session.flush()
            break
        except IntegrityError:
            course.code = _next_code(session, draft.start_at)
    else:  # pragma: no cover - needs five simultaneous creations
        raise InvalidInput(field="code", reason="taken")
    for agency_id, n in quotas.items():
        session.add(Quota(course_id=id_of(course), agency_id=agency_id, seats=n))
    audit.record(
        session,
        actor=actor,
        action="course_created",
        now=now,
        course_id=course.id,
        after={**values, "seats": dict(draft.seats)},
    )
    session.flush()
    plan_course(session, course, plan, now)
    return course


def default_host(session: Session, actor: Actor | None, seats: Mapping[int, int]) -> int:
    """The host of a course created without one: the agency of the admin who creates it;
    for an admin who has not joined an agency (``KURSBOT_ADMIN_IDS``) or Kursbot itself, the
    agency with the most seats (``seats``: agency id → seats, in the form's order; the first
    named on a tie), the rule migration 0010 gave the courses from before."""
    person = session.get(Person, actor.person_id) if actor and actor.person_id else None
    if person is not None:
        return person.agency_id
    most = max(seats.values(), default=0)
    return next(agency_id for agency_id, n in seats.items() if n == most)


def get_course(session: Session, course_id: int, *, lock: bool = False) -> Course:
    """Returns the course with ``course_id``; ``lock`` takes its row lock (PostgreSQL)."""
    query = select(Course).where(col(Course.id) == course_id)
    course: Course | None = session.scalar(query.with_for_update() if lock else query)
    if course is None:
        raise NotFound(kind="course")
    return course


def led_by(session: Session, person_id: int, now: datetime, limit: int = 10) -> list[Course]:
    """The published courses ``person_id`` leads that have not ended yet, soonest first."""
    return list(
        session.scalars(
            select(Course)
            .where(
                col(Course.lead_id) == person_id,
                col(Course.status) == CourseStatus.PUBLISHED,
                col(Course.end_at) > now,
            )
            .order_by(col(Course.start_at), col(Course.id))
            .limit(limit)
        )
    )


def get_course_by_code(session: Session, code: str) -> Course:
    """Returns the course with short code ``code`` (case-insensitive)."""
    course: Course | None = session.scalar(
        select(Course).where(col(Course.code) == code.strip().upper()[:16])
    )
    if course is None:
        raise NotFound(kind="course", given=code[:16])
    return course


def edit_course(
    session: Session,
    course_id: int,
    changes: Mapping[str, Any],
    now: datetime,
    *,
    actor: Actor | None = None,
    plan: Plan = DEFAULT_PLAN,
) -> CourseEdit:
    """Changes fields of a published course; returns what changed and whom to tell."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(field=sorted(unknown)[0], reason="not_editable")
    course = get_course(session, course_id, lock=True)
    if changes and set(changes) <= {"host_agency_id"}:
        return _change_host(session, course, changes["host_agency_id"], now, actor)
    if course.status != CourseStatus.PUBLISHED:
        raise CourseNotOpen(status=course.status)
    if now >= course.start_at:
        if changes and set(changes) <= {"lead_id"}:  # a lead who fell ill, say
            return _change_lead_of_started(session, course, changes["lead_id"], now, actor)
        raise InvalidInput(field="start_at", reason="course_started")
    changes = with_days_span(changes)
    current = {name: getattr(course, name) for name in EDITABLE_FIELDS}
    draft = CourseDraft(seats={}, **{**current, **changes})
    # An unchanged start may lie in the past only if the course had started (refused above).
    cleaned = _validate(session, draft, now, new=False)
    if "release_at" in changes:
        _check_release_move(session, course, cleaned.release_at, now)
    diff = {
        name: (current[name], getattr(cleaned, name))
        for name in EDITABLE_FIELDS
        if getattr(cleaned, name) != current[name]
    }
    for name, (_before, after) in diff.items():
        setattr(course, name, after)
    if diff:
        course.updated_at = now
        audit.record(
            session,
            actor=actor,
            action="course_edited",
            now=now,
            course_id=course.id,
            before={k: v[0] for k, v in diff.items()},
            after={k: v[1] for k, v in diff.items()},
        )
    session.flush()
    if "lead_id" in diff:
        lead_news.hand_over(session, course_id, course.lead_id, now)
    plan_course(session, course, plan, now)  # timed work follows the dates (kurse.schedule)
    # Out of the last day, released now, time again for an offer or an approval, or offers
    # switched off: free seats are filled as they may be now.
    if diff.keys() & {"start_at", "release_at", "registration_deadline", "offer_hours"}:
        fill_free_seats(session, course, now)
    return CourseEdit(course, diff, registered_person_ids(session, course_id))


def _change_host(
    session: Session, course: Course, host_agency_id: int, now: datetime, actor: Actor | None
) -> CourseEdit:
    """Sets the host agency alone: bookkeeping for the figures, so also of a course that has
    started, ended or was cancelled (the hosts migration 0010 gave older courses are
    corrected this way); nobody is told."""
    if session.get(Agency, host_agency_id) is None:
        raise NotFound(kind="agency", given=str(host_agency_id))
    return CourseEdit(
        course, _set_alone(session, course, "host_agency_id", host_agency_id, now, actor)
    )


def _change_lead_of_started(
    session: Session, course: Course, lead_id: int | None, now: datetime, actor: Actor | None
) -> CourseEdit:
    """Sets the lead alone of a course under way (nothing else of it changes after the
    start): the new lead takes over the attendance and the check-in; the old one's roles end
    with it, and news waiting for them goes to the new lead."""
    if lead_id is not None:
        _active_lead(session.get(Person, lead_id))
    diff = _set_alone(session, course, "lead_id", lead_id, now, actor)
    if not diff:
        return CourseEdit(course, {})
    lead_news.hand_over(session, id_of(course), lead_id, now)
    return CourseEdit(course, diff, registered_person_ids(session, id_of(course)))


def _set_alone(
    session: Session, course: Course, name: str, value: Any, now: datetime, actor: Actor | None
) -> dict[str, tuple[Any, Any]]:
    """Sets one field of the course (already checked), audited; returns the change (none
    if it had that value)."""
    before = getattr(course, name)
    if before == value:
        return {}
    setattr(course, name, value)
    course.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="course_edited",
        now=now,
        course_id=course.id,
        before={name: before},
        after={name: value},
    )
    session.flush()
    return {name: (before, value)}


def _check_release_move(
    session: Session, course: Course, release: datetime | None, now: datetime
) -> None:
    """Refuses to take back a release date once officers hold released seats."""
    if release is not None and release <= now:
        return
    seats = load_seats(session, id_of(course), released=False)
    if any(seats.over_quota().values()):
        raise InvalidInput(field="release_at", reason="released_seats_taken")


def cancel_course(
    session: Session,
    course_id: int,
    now: datetime,
    *,
    reason: str | None = None,
    actor: Actor | None = None,
    plan: Plan = DEFAULT_PLAN,
) -> list[int]:
    """Cancels a published course; returns the ids of everyone confirmed or waiting."""
    course = get_course(session, course_id, lock=True)
    if course.status != CourseStatus.PUBLISHED:
        raise CourseNotOpen(status=course.status)
    clean_reason = (
        clean_text(reason, "reason", max_len=MAX_REASON, letters=False)
        if reason and reason.strip()
        else None
    )
    course.status = CourseStatus.CANCELLED
    cancel_course_tasks(session, course, plan, now)
    course.cancel_reason = clean_reason
    course.updated_at = now
    audit.record(
        session,
        actor=actor,
        action="course_cancelled",
        now=now,
        course_id=course.id,
        before={"status": CourseStatus.PUBLISHED},
        after={"status": course.status, "reason": clean_reason},
    )
    return registered_person_ids(session, course_id)


def registered_person_ids(session: Session, course_id: int) -> list[int]:
    """Ids of everyone holding a seat (confirmed, requested, offered) or waiting for the
    course, in arrival order."""
    rows = session.scalars(
        select(col(Registration.person_id))
        .where(
            col(Registration.course_id) == course_id,
            col(Registration.status) != RegistrationStatus.CANCELLED,
            col(Registration.person_id).is_not(None),
        )
        .order_by(col(Registration.queue_seq))
    )
    return [pid for pid in rows if pid is not None]


def list_open_courses(
    session: Session,
    agency_id: int,
    now: datetime,
    *,
    page: int = 0,
    page_size: int = 8,
    query: CourseQuery | None = None,
) -> CoursePage:
    """Courses open for sign-up, soonest first, with the seats left for ``agency_id``;
    ``query`` keeps those with its words or in its month (`kurse.search`)."""
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    is_open = (
        col(Course.status) == CourseStatus.PUBLISHED,
        col(Course.registration_deadline) > now,
    )
    ordered = select(Course).where(*is_open).order_by(col(Course.start_at), col(Course.id))
    found: list[Course] | None = None
    if query is not None and not query.empty:
        # The open courses of a term are a few hundred at most: folding and matching them
        # here keeps the search the same on SQLite and PostgreSQL (umlauts, ß, accents).
        found = [c for c in session.scalars(ordered) if matches(c, query)]
        total = len(found)
    else:
        total = session.scalar(select(func.count()).select_from(Course).where(*is_open)) or 0
    pages = max(1, -(-total // page_size))
    page = max(0, min(page, pages - 1))
    first = page * page_size
    courses: Sequence[Course] = (
        found[first : first + page_size]
        if found is not None
        else session.scalars(ordered.limit(page_size).offset(first)).all()
    )
    seats = seats_for_courses(session, courses, now)
    items = [
        CourseListing(c, seats[id_of(c)].free_for(agency_id), seats[id_of(c)].waiting_total())
        for c in courses
    ]
    return CoursePage(items=items, page=page, pages=pages, total=total)
