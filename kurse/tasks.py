"""Running due tasks and claiming due messages: exactly once, across restarts and processes.

A task (see `kurse.schedule`) is claimed by one process (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL; SQLite's write lock serialises), run in one transaction, and marked. What it has
to say becomes rows in the outbox, one per person, each with a unique key, so that no message
is made twice. The bot claims outbox rows, sends them and marks them; a row whose sending was
interrupted (claimed, never marked) is claimed again after `CLAIM_TIMEOUT`.

Catch-up after downtime falls out of the rules of each kind: a reminder or lead list that
fell due while the bot was down still runs before the course starts and is skipped after.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from kurse import outbox, people, schedule
from kurse.models import (
    Course,
    CourseStatus,
    Outbox,
    Person,
    Registration,
    RegistrationStatus,
    Task,
    TaskState,
)
from kurse.registrations import release_seats
from kurse.seats import load_seats

CLAIM_TIMEOUT = timedelta(minutes=5)
MAX_ATTEMPTS = 5
PENDING, SENDING, SENT, SKIPPED, FAILED = (
    TaskState.PENDING,
    TaskState.SENDING,
    TaskState.SENT,
    TaskState.SKIPPED,
    TaskState.FAILED,
)


def _due_rows(session: Session, model: Any, now: datetime, limit: int) -> Sequence[Any]:
    """Locks the due rows of ``model`` (Task or Outbox) that no other process holds: pending
    and due, or claimed longer than `CLAIM_TIMEOUT` ago (the claimer died); earliest first."""
    return session.scalars(
        select(model)
        .where(
            or_(
                (model.state == PENDING) & (model.due_at <= now),
                (model.state == SENDING) & (model.claimed_at < now - CLAIM_TIMEOUT),
            )
        )
        .order_by(model.due_at, model.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()


def claim_due_tasks(session: Session, now: datetime, limit: int = 50) -> list[int]:
    """Claims due tasks for this process; returns their ids, earliest first."""
    tasks = _due_rows(session, Task, now, limit)
    for task in tasks:
        task.state, task.claimed_at = SENDING, now
    return [t.id for t in tasks if t.id is not None]


def kinds_of(session: Session, task_ids: Collection[int]) -> set[str]:
    """The kinds of the given tasks."""
    return set(session.scalars(select(Task.kind).where(Task.id.in_(list(task_ids)))))


def run_task(
    session: Session, task_id: int, now: datetime, admin_ids: Collection[int] = ()
) -> str:
    """Does one claimed task; returns its new state.

    ``admin_ids`` are the Telegram ids of the admins from the settings (`KURSBOT_ADMIN_IDS`),
    who are admins without the flag on their person: they are told what admins are told.
    """
    task = session.get(Task, task_id, with_for_update=True)
    if task is None or task.state != SENDING:
        return "gone"
    course = session.get(Course, task.course_id)
    assert course is not None
    if task.kind == "leadlist":
        state, note = _lead_list(session, task, course, now, admin_ids)
    else:
        state, note = _RUNNERS[task.kind](session, task, course, now)
    task.state, task.done_at, task.last_error = state, now, note
    return state


def _reminder(
    session: Session, task: Task, course: Course, now: datetime
) -> tuple[str, str | None]:
    if course.status != CourseStatus.PUBLISHED:
        return SKIPPED, "course not published"
    if now >= course.start_at:
        return SKIPPED, "too late: the course has started"
    key = schedule.parse_reminder_key(task.key)
    if key.start != schedule.start_stamp(course.start_at):
        return SKIPPED, "planned for another start date"
    registrations = session.scalars(
        select(Registration).where(
            Registration.course_id == course.id,
            Registration.status == RegistrationStatus.CONFIRMED,
            Registration.person_id.is_not(None),
            # No reminder whose time had (nearly) passed at sign-up: the confirmation said it.
            Registration.confirmed_at  # type: ignore[operator]
            <= task.due_at - schedule.reminder_grace(key.offset),
        )
    ).all()
    outbox.add(
        session,
        [
            Outbox(
                key=f"reminder:{key.label}:registration:{r.id}:{key.start}",
                kind="reminder",
                person_id=r.person_id,
                course_id=course.id,
                registration_id=r.id,
                detail=json.dumps({"offset": key.label}),
                due_at=now,
            )
            for r in registrations
        ],
    )
    return SENT, None


def _lead_list(
    session: Session, task: Task, course: Course, now: datetime, admin_ids: Collection[int]
) -> tuple[str, str | None]:
    if course.status != CourseStatus.PUBLISHED or now >= course.start_at:
        return SKIPPED, "course not open any more"
    warned = task.key.startswith("leadlist:deadline:") and _warn_admins_below_minimum(
        session, task, course, now, admin_ids
    )
    if course.lead_id is None:
        return (SENT, "no lead; admins warned") if warned else (SKIPPED, "course has no lead")
    snapshot = {
        str(r.id): r.status
        for r in session.scalars(
            select(Registration).where(
                Registration.course_id == course.id,
                Registration.status.in_(
                    [RegistrationStatus.CONFIRMED, RegistrationStatus.WAITING]
                ),
            )
        )
    }
    previous = session.scalar(
        select(Outbox.detail)
        .where(Outbox.course_id == course.id, Outbox.kind == "leadlist")
        .order_by(Outbox.id.desc())
        .limit(1)
    )
    before: dict[str, str] | None = json.loads(previous)["snapshot"] if previous else None
    _message(
        session,
        f"{task.key}:{outbox.occasion(task.due_at)}:lead:{course.lead_id}",
        "leadlist",
        now,
        person_id=course.lead_id,
        course_id=course.id,
        detail={"snapshot": snapshot, "previous": before},
    )
    return SENT, None


def _warn_admins_below_minimum(
    session: Session, task: Task, course: Course, now: datetime, admin_ids: Collection[int]
) -> bool:
    """At the registration deadline, below the minimum of participants: tells every admin
    (they decide whether the course takes place and cancel it; the lead's list says it too).
    Returns whether anyone was told."""
    if not course.min_participants:
        return False
    confirmed = sum(load_seats(session, course.id, released=False).confirmed.values())
    if confirmed >= course.min_participants:
        return False
    admins = [p for p in people.admins(session, admin_ids) if p.id != course.lead_id]
    for person in admins:
        _message(
            session,
            f"{task.key}:{outbox.occasion(task.due_at)}:minimum:{person.id}",
            "minimum",
            now,
            person_id=person.id,
            course_id=course.id,
            detail={"confirmed": confirmed},
        )
    return bool(admins)


def _release(
    session: Session, task: Task, course: Course, now: datetime
) -> tuple[str, str | None]:
    if course.status != CourseStatus.PUBLISHED or now >= course.start_at:
        return SKIPPED, "course not open any more"
    release_seats(session, course.id, now)  # queues a message to each officer moved up
    return SENT, None


def _end(session: Session, task: Task, course: Course, now: datetime) -> tuple[str, str | None]:
    if course.status == CourseStatus.PUBLISHED:
        course.status = CourseStatus.FINISHED
    return SENT, None


def _retention(
    session: Session, task: Task, course: Course, now: datetime
) -> tuple[str, str | None]:
    """Cuts the link between the course and every person of it (participants, lead, the
    persons its audit entries name); counts stay right."""
    from kurse.privacy import anonymise_course_audit  # local: privacy imports registrations

    session.execute(
        update(Registration).where(Registration.course_id == course.id).values(person_id=None)
    )
    course.lead_id = None
    anonymise_course_audit(session, course.id)
    session.execute(
        update(Outbox).where(Outbox.course_id == course.id).values(person_id=None, detail=None)
    )
    return SENT, None


_RUNNERS = {  # leadlist is called by run_task itself: it needs the admins
    "reminder": _reminder,
    "release": _release,
    "end": _end,
    "retention": _retention,
}


def _message(
    session: Session,
    key: str,
    kind: str,
    now: datetime,
    *,
    person_id: int | None,
    course_id: int,
    registration_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Adds one outgoing message unless one with ``key`` exists already."""
    if person_id is None:
        return
    row = Outbox(
        key=key,
        kind=kind,
        person_id=person_id,
        course_id=course_id,
        registration_id=registration_id,
        detail=json.dumps(detail) if detail is not None else None,
        due_at=now,
    )
    outbox.add(session, [row])


@dataclass(frozen=True)
class Delivery:
    """A claimed message with what the bot needs to write it."""

    outbox_id: int
    kind: str
    telegram_id: int
    language: str
    person_id: int
    course: Course
    registration_id: int | None
    detail: dict[str, Any]
    attempts: int
    registration_status: str | None = None  # of the recipient's registration, if any


def claim_due_messages(session: Session, now: datetime, limit: int = 100) -> list[Delivery]:
    """Claims due messages; ones that no longer make sense are marked skipped instead."""
    rows: Sequence[Outbox] = _due_rows(session, Outbox, now, limit)
    deliveries = _deliveries(session, rows, now)
    for delivery in deliveries:
        row = session.get(Outbox, delivery.outbox_id)
        assert row is not None
        row.state, row.claimed_at, row.attempts = SENDING, now, row.attempts + 1
    return [replace(d, attempts=d.attempts + 1) for d in deliveries]


def recheck(session: Session, outbox_id: int, now: datetime) -> Delivery | None:
    """Right before a claimed message is sent: the message as it is to be sent now (course,
    recipient and content from the state of this moment), or None if its reason has gone
    meanwhile (then it is marked skipped). A claim that is no longer ours also gives None."""
    row = session.get(Outbox, outbox_id, with_for_update=True)
    if row is None or row.state != SENDING:
        return None
    found = _deliveries(session, [row], now)
    return found[0] if found else None


def renew_claims(session: Session, outbox_ids: Collection[int], now: datetime) -> None:
    """Keeps this process's claims fresh while it is still sending them (a slow send waiting
    out `RetryAfter` is not taken for a dead one and sent twice by another process)."""
    if outbox_ids:
        session.execute(
            update(Outbox)
            .where(Outbox.id.in_(list(outbox_ids)), Outbox.state == SENDING)
            .values(claimed_at=now)
        )


def give_back(session: Session, outbox_ids: Collection[int]) -> int:
    """Claimed messages this process will not send (it stops): pending again at once, their
    attempt not counted; returns how many."""
    if not outbox_ids:
        return 0
    result = session.execute(
        update(Outbox)
        .where(Outbox.id.in_(list(outbox_ids)), Outbox.state == SENDING)
        .values(state=PENDING, claimed_at=None, attempts=Outbox.attempts - 1)
    )
    return int(result.rowcount or 0)


def _deliveries(session: Session, rows: Sequence[Outbox], now: datetime) -> list[Delivery]:
    """The rows that are still to be sent, as deliveries; the others are marked skipped."""
    courses = {
        c.id: c
        for c in session.scalars(
            select(Course).where(Course.id.in_({row.course_id for row in rows if row.course_id}))
        )
    }
    for row in rows:  # a lead's list goes to whoever leads the course now
        course = courses.get(row.course_id) if row.course_id else None
        if row.kind == "leadlist" and course is not None and course.lead_id != row.person_id:
            row.person_id = course.lead_id
    person_ids = {row.person_id for row in rows if row.person_id}
    registration_ids = {row.registration_id for row in rows if row.registration_id}
    persons = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(person_ids)))}
    registrations = {
        r.id: r
        for r in session.scalars(select(Registration).where(Registration.id.in_(registration_ids)))
    }
    # A notice about the whole course comes with a calendar file for whoever is registered.
    about_course = [r for r in rows if r.kind in ("cancelled", "changed") and r.person_id]
    registered = (
        {
            (r.course_id, r.person_id): r
            for r in session.scalars(
                select(Registration).where(
                    Registration.course_id.in_({row.course_id for row in about_course}),
                    Registration.person_id.in_({row.person_id for row in about_course}),
                )
            )
        }
        if about_course
        else {}
    )
    deliveries = []
    for row in rows:
        person = persons.get(row.person_id) if row.person_id else None
        course = courses.get(row.course_id) if row.course_id else None
        registration = registrations.get(row.registration_id) if row.registration_id else None
        reason = _stale(row, person, course, registration, now)
        if reason is not None:
            row.state, row.done_at, row.last_error = SKIPPED, now, reason
            continue
        assert person is not None and course is not None and row.id is not None
        if registration is None:
            registration = registered.get((row.course_id, row.person_id))
        deliveries.append(
            Delivery(
                row.id,
                row.kind,
                person.telegram_id,
                person.language,
                person.id,
                course,
                registration.id if registration is not None else None,
                json.loads(row.detail or "{}"),
                row.attempts,
                registration.status if registration is not None else None,
            )
        )
    return deliveries


def _stale(
    row: Outbox,
    person: Person | None,
    course: Course | None,
    registration: Registration | None,
    now: datetime,
) -> str | None:
    """Why a message should not go out any more, or None."""
    if person is None or course is None:
        return "person or course gone (or the course has no lead any more)"
    if not person.active:
        return "person inactive (blocked the bot)"
    is_open = course.status == CourseStatus.PUBLISHED
    if row.kind == "reminder":
        if registration is None or registration.status != RegistrationStatus.CONFIRMED:
            return "registration cancelled"
        if not is_open or now >= course.start_at:
            return "too late: the course has started"
    if row.kind == "changed" and (not is_open or now >= course.end_at):
        return "course not open any more"
    if row.kind == "leadlist" and (not is_open or now >= course.start_at):
        return "course cancelled or started meanwhile"
    if row.kind == "minimum" and (not is_open or now >= course.start_at):
        return "course cancelled or started meanwhile"
    if row.kind == "leadgone" and (not is_open or now >= course.end_at or course.lead_id):
        return "course has a lead again, or is over"
    if row.kind in ("promoted", "demoted"):  # the seat may have changed again meanwhile
        expected = (
            RegistrationStatus.CONFIRMED if row.kind == "promoted" else RegistrationStatus.WAITING
        )
        if registration is None or registration.status != expected:
            return "the registration changed again"
        if not is_open or now >= course.start_at:
            return "too late: the course has started"
    return None


def mark_sent(session: Session, outbox_id: int, now: datetime) -> None:
    """The message went out."""
    session.execute(
        update(Outbox)
        .where(Outbox.id == outbox_id)
        .values(state=SENT, done_at=now, last_error=None)
    )


def mark_blocked(session: Session, outbox_id: int, person_id: int, now: datetime) -> None:
    """The person blocked the bot: skipped, and the person marked inactive."""
    session.execute(
        update(Outbox)
        .where(Outbox.id == outbox_id)
        .values(state=SKIPPED, done_at=now, last_error="blocked the bot")
    )
    session.execute(update(Person).where(Person.id == person_id).values(active=False))


def mark_failed(
    session: Session, outbox_id: int, error: str, now: datetime, retry_in: timedelta | None
) -> str:
    """A failed attempt: tried again later (back-off), or finally failed with the reason."""
    row = session.get(Outbox, outbox_id)
    assert row is not None
    if retry_in is not None and row.attempts < MAX_ATTEMPTS:
        row.state, row.due_at, row.last_error = PENDING, now + retry_in, error[:500]
    else:
        row.state, row.done_at, row.last_error = FAILED, now, error[:500]
    return row.state


@dataclass(frozen=True)
class Status:
    """What `/status` shows."""

    pending_tasks: int
    pending_messages: int
    failed: list[tuple[str, str | None]]
    next_due: datetime | None
    anonymised_courses: int
    next_anonymisation: tuple[str, datetime] | None  # course code and when


def status(session: Session, now: datetime) -> Status:
    """Counts of pending work, the failed messages and the next due time."""
    pending_tasks = (
        session.scalar(select(func.count()).select_from(Task).where(Task.state == PENDING)) or 0
    )
    pending_messages = (
        session.scalar(
            select(func.count()).select_from(Outbox).where(Outbox.state.in_([PENDING, SENDING]))
        )
        or 0
    )
    failed = [
        (key, error)
        for key, error in session.execute(
            select(Outbox.key, Outbox.last_error)
            .where(Outbox.state == FAILED)
            .order_by(Outbox.id.desc())
            .limit(10)
        )
    ]
    anonymised = (
        session.scalar(
            select(func.count())
            .select_from(Task)
            .where(Task.kind == "retention", Task.state == SENT)
        )
        or 0
    )
    upcoming = session.execute(
        select(Course.code, Task.due_at)
        .join(Course, Course.id == Task.course_id)
        .where(Task.kind == "retention", Task.state == PENDING)
        .order_by(Task.due_at)
        .limit(1)
    ).first()
    return Status(
        pending_tasks,
        pending_messages,
        failed,
        next_due(session),
        anonymised,
        (upcoming[0], upcoming[1]) if upcoming else None,
    )


@dataclass(frozen=True)
class QueueLevels:
    """How much work waits, for monitoring (read at every scrape of the metrics)."""

    messages: dict[str, int]  # outbox rows in pending, sending and failed
    oldest_due_message: datetime | None  # the earliest due_at of a pending message now due
    pending_tasks: int
    oldest_due_task: datetime | None  # the earliest due_at of a pending task now due


def queue_levels(session: Session, now: datetime) -> QueueLevels:
    """Counts the outbox by state and pending tasks, and finds the oldest due of each."""
    watched = [PENDING, SENDING, FAILED]
    messages = dict.fromkeys(watched, 0)
    for state, count in session.execute(
        select(Outbox.state, func.count()).where(Outbox.state.in_(watched)).group_by(Outbox.state)
    ):
        messages[state] = count
    pending_tasks = (
        session.scalar(select(func.count()).select_from(Task).where(Task.state == PENDING)) or 0
    )

    def oldest_due(model: Any) -> datetime | None:
        due: datetime | None = session.scalar(
            select(func.min(model.due_at)).where(model.state == PENDING, model.due_at <= now)
        )
        return due

    return QueueLevels(messages, oldest_due(Outbox), pending_tasks, oldest_due(Task))


def next_due(session: Session) -> datetime | None:
    """When the next pending task or message falls due."""
    task = session.scalar(select(func.min(Task.due_at)).where(Task.state == PENDING))
    message = session.scalar(select(func.min(Outbox.due_at)).where(Outbox.state == PENDING))
    times = [t for t in (task, message) if t is not None]
    return min(times) if times else None


def unfinished(session: Session, now: datetime, claimed_since: datetime) -> bool:
    """Whether a task or message is due at ``now``, or was claimed since ``claimed_since`` and
    is not marked yet (`kursbot chat` waits for these before it reads the next input)."""
    return any(_unfinished(session, model, now, claimed_since) for model in (Task, Outbox))


def _unfinished(session: Session, model: Any, now: datetime, claimed_since: datetime) -> bool:
    due = (model.state == PENDING) & (model.due_at <= now)
    claimed = (model.state == SENDING) & (model.claimed_at >= claimed_since)
    return session.scalar(select(model.id).where(due | claimed).limit(1)) is not None
