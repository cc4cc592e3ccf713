"""Running due tasks: claimed by one process, run in one transaction, marked; once only.

A task (see `kurse.schedule`) is claimed like any due row (`kurse.claims`), run and marked.
What it has to say becomes rows in the outbox (`kurse.outbox`), one per person, each with a
unique key, so that no message is made twice.

Catch-up after downtime falls out of the rules of each kind: a reminder or lead list that
fell due while the bot was down still runs before the course starts and is skipped after.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import approval, certificates, offers, outbox, people, schedule
from kurse.claims import due_rows
from kurse.courses import get_course
from kurse.models import (
    Certificate,
    Course,
    CourseStatus,
    Outbox,
    Registration,
    RegistrationStatus,
    Task,
    TaskKind,
    TaskState,
    id_of,
)
from kurse.outbox import MessageKind
from kurse.privacy import anonymise_course_audit
from kurse.registrations import release_seats
from kurse.schedule import ListMoment
from kurse.seats import load_seats

SENDING, SENT, SKIPPED = TaskState.SENDING, TaskState.SENT, TaskState.SKIPPED


def claim_due_tasks(session: Session, now: datetime, limit: int = 50) -> list[int]:
    """Claims due tasks for this process; returns their ids, earliest first."""
    tasks = due_rows(session, Task, now, limit)
    for task in tasks:
        task.state, task.claimed_at = SENDING, now
    return [t.id for t in tasks if t.id is not None]


def kinds_of(session: Session, task_ids: Collection[int]) -> set[TaskKind]:
    """The kinds of the given tasks."""
    kinds = session.scalars(select(col(Task.kind)).where(col(Task.id).in_(list(task_ids))))
    return {TaskKind(kind) for kind in kinds}


def run_task(
    session: Session, task_id: int, now: datetime, admin_ids: Collection[int] = ()
) -> str:
    """Does one claimed task; returns its new state.

    ``admin_ids`` are the Telegram ids of the admins from the settings (`KURSBOT_ADMIN_IDS`),
    who are admins without the flag on their person: they are told what admins are told.
    """
    # The course's lock first, then the task's: the order every change of a course takes
    # (an edit locks the course, then re-plans its tasks), so the two never deadlock.
    course_id = session.scalar(select(col(Task.course_id)).where(col(Task.id) == task_id))
    if course_id is None:
        return "gone"
    get_course(session, course_id, lock=True)
    task = session.get(Task, task_id, with_for_update=True)
    if task is None or task.state != SENDING:
        return "gone"
    course = session.get(Course, task.course_id)
    assert course is not None
    if task.kind == TaskKind.LEADLIST:
        state, note = _lead_list(session, task, course, now, admin_ids)
    else:
        state, note = _RUNNERS[TaskKind(task.kind)](session, task, course, now)
    task.state, task.done_at, task.last_error = state, now, note
    return state


def _reminder(
    session: Session, task: Task, course: Course, now: datetime
) -> tuple[str, str | None]:
    if course.status != CourseStatus.PUBLISHED:
        return SKIPPED, "course not published"
    if now >= course.start_at:
        return SKIPPED, "too late: the course has started"
    if task.offset_minutes is None or task.planned_start is None:
        return SKIPPED, "planned without its offset or start date"
    offset = timedelta(minutes=task.offset_minutes)
    label, start = schedule.offset_label(offset), schedule.start_stamp(task.planned_start)
    if start != schedule.start_stamp(course.start_at):
        return SKIPPED, "planned for another start date"
    registrations = session.scalars(
        select(Registration).where(
            col(Registration.course_id) == course.id,
            col(Registration.status) == RegistrationStatus.CONFIRMED,
            col(Registration.person_id).is_not(None),
            # No reminder whose time had (nearly) passed at sign-up: the confirmation said it.
            col(Registration.confirmed_at) <= task.due_at - schedule.reminder_grace(offset),
        )
    ).all()
    outbox.add(
        session,
        [
            Outbox(
                key=f"reminder:{label}:registration:{r.id}:{start}",
                kind=MessageKind.REMINDER,
                person_id=r.person_id,
                course_id=course.id,
                registration_id=r.id,
                detail={"offset": label},
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
    warned = task.moment == ListMoment.DEADLINE and _warn_admins_below_minimum(
        session, task, course, now, admin_ids
    )
    if course.lead_id is None:
        return (SENT, "no lead; admins warned") if warned else (SKIPPED, "course has no lead")
    snapshot = {
        str(r.id): r.status
        for r in session.scalars(
            select(Registration).where(
                col(Registration.course_id) == course.id,
                col(Registration.status).in_(
                    [RegistrationStatus.CONFIRMED, RegistrationStatus.WAITING]
                ),
            )
        )
    }
    previous = session.scalar(
        select(col(Outbox.detail))
        .where(col(Outbox.course_id) == course.id, col(Outbox.kind) == MessageKind.LEADLIST)
        .order_by(col(Outbox.id).desc())
        .limit(1)
    )
    before: dict[str, str] | None = previous["snapshot"] if previous else None
    _message(
        session,
        f"{task.key}:{outbox.occasion(task.due_at)}:lead:{course.lead_id}",
        MessageKind.LEADLIST,
        now,
        person_id=course.lead_id,
        course_id=id_of(course),
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
    confirmed = sum(load_seats(session, id_of(course), released=False).confirmed.values())
    if confirmed >= course.min_participants:
        return False
    admins = [p for p in people.admins(session, admin_ids) if p.id != course.lead_id]
    for person in admins:
        _message(
            session,
            f"{task.key}:{outbox.occasion(task.due_at)}:minimum:{person.id}",
            MessageKind.MINIMUM,
            now,
            person_id=person.id,
            course_id=id_of(course),
            detail={"confirmed": confirmed},
        )
    return bool(admins)


def _release(
    session: Session, _task: Task, course: Course, now: datetime
) -> tuple[str, str | None]:
    if course.status != CourseStatus.PUBLISHED or now >= course.start_at:
        return SKIPPED, "course not open any more"
    release_seats(session, id_of(course), now)  # queues a message to each officer moved up
    return SENT, None


def _end(_session: Session, _task: Task, course: Course, _now: datetime) -> tuple[str, str | None]:
    if course.status == CourseStatus.PUBLISHED:
        course.status = CourseStatus.FINISHED
    return SENT, None


def _retention(
    session: Session, _task: Task, course: Course, _now: datetime
) -> tuple[str, str | None]:
    """Cuts the link between the course and every person of it (participants, lead, the
    persons its audit entries name); counts stay right."""
    session.execute(
        update(Registration)
        .where(col(Registration.course_id) == course.id)
        # who decided an approval, and why, name people too
        .values(person_id=None, decided_by=None, outcome_reason=None)
    )
    course.lead_id = None
    # Certificates stay, with the holder's name as printed, so that they can still be
    # verified; only the link to the profile goes (README, "Retention").
    session.execute(
        update(Certificate).where(col(Certificate.course_id) == course.id).values(person_id=None)
    )
    anonymise_course_audit(session, id_of(course))
    session.execute(
        update(Outbox)
        .where(col(Outbox.course_id) == course.id)
        .values(person_id=None, detail=None)
    )
    return SENT, None


def _hold_expiry(
    session: Session, task: Task, course: Course, now: datetime
) -> tuple[str, str | None]:
    """A held seat's deadline: an open request or offer ends, the seat goes on."""
    registration = (
        session.get(Registration, task.registration_id) if task.registration_id else None
    )
    if registration is not None and registration.status == RegistrationStatus.REQUESTED:
        done = approval.expire(session, task, course, now)
    else:
        done = offers.expire(session, task.registration_id, now)
    return (SENT, None) if done else (SKIPPED, "decided, answered or moved meanwhile")


def _approval_reminder(
    session: Session, task: Task, _course: Course, now: datetime
) -> tuple[str, str | None]:
    """Half of the approval time is over: the approvers of a request still open hear again."""
    if approval.remind(session, task, now):
        return SENT, None
    return SKIPPED, "decided meanwhile"


def _certificates(
    session: Session, _task: Task, course: Course, now: datetime
) -> tuple[str, str | None]:
    """Attendance locks: the certificates that are due are issued (`kurse.certificates`)."""
    if course.status == CourseStatus.CANCELLED:
        return SKIPPED, "course cancelled"
    certificates.close_at_lock(session, id_of(course), now)
    return SENT, None


_RUNNERS = {  # the lead list is called by run_task itself: it needs the admins
    TaskKind.REMINDER: _reminder,
    TaskKind.RELEASE: _release,
    TaskKind.END: _end,
    TaskKind.RETENTION: _retention,
    TaskKind.HOLD_EXPIRY: _hold_expiry,
    TaskKind.APPROVAL_REMINDER: _approval_reminder,
    TaskKind.CERTIFICATES: _certificates,
}


def _message(
    session: Session,
    key: str,
    kind: MessageKind,
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
        detail=detail,
        due_at=now,
    )
    outbox.add(session, [row])
