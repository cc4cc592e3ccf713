"""Held seats: a seat kept for one officer until a deadline (PRODUCT.md §10).

Two states hold a seat without confirming it, and both count against the quota like a
confirmed seat (the quota row's ``confirmed_count`` counts every seat taken, `kurse.seats`):

* **requested** (*beantragt*): the officer's own agency needs approval of its officers'
  sign-ups, and one of its approvers has not decided yet (`kurse.approval`);
* **offered** (*angeboten*): the course fills freed seats by time-limited offers, and the
  first waiting officer who may take the seat has not answered yet (`kurse.offers`).

The rules of their deadlines are here, in one place:

* approval: `KURSBOT_APPROVAL_HOURS` (72) from the start of the hold, never past the
  registration deadline. With less than two hours left before that deadline nothing is held:
  a sign-up is told so, and a seat freed for an officer of an approval agency (a move up
  after the deadline, which still happens until a day before the start) is the lead's to
  fill, who is told (`approval_until` is None). A deadline moved earlier shortens every
  request with it, one moved later lengthens them up to their 72 hours.
* offer: the course's offer hours (1–168) from the start of the hold, never past 12 hours
  before the start nor past the registration deadline (to an officer whose agency needs
  approval, never past two hours before that deadline, so that the approval after accepting
  still has its two hours); with less than two hours left before that limit, no offer is made
  and the lead is told of the free seat (`offer_until` is None).

Every hold has a live deadline: a task row (`kurse.models.TaskKind.HOLD_EXPIRY`) due at
``held_until``, claimed once like any timed work (`kurse.tasks`), and for a request a second
one at half of the time that reminds the approvers. When the course changes, `replan_holds`
moves both with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from secrets import token_hex

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse.models import (
    HELD,
    Agency,
    Course,
    CourseStatus,
    Registration,
    RegistrationStatus,
    Task,
    TaskKind,
    TaskState,
    id_of,
    task_table,
)

DEFAULT_APPROVAL_HOURS = 72
MIN_HOLD = timedelta(hours=2)  # a shorter hold is no real chance: nothing is held
OFFER_CUTOFF = timedelta(hours=12)  # no offer runs into the last 12 hours before the start
LEAD_WINDOW = timedelta(hours=24)  # from then on the lead fills free seats (`promotion`)
MIN_OFFER_HOURS, MAX_OFFER_HOURS = 1, 168

REQUESTED = RegistrationStatus.REQUESTED
OFFERED = RegistrationStatus.OFFERED


@dataclass(frozen=True)
class HoldRules:
    """The settings that decide held seats (`KURSBOT_APPROVAL_HOURS`)."""

    approval_hours: int = DEFAULT_APPROVAL_HOURS


DEFAULT_RULES = HoldRules()
_RULES = "hold_rules"  # the key of a session's ``info`` (`kurse.db.Database`)


def rules(session: Session) -> HoldRules:
    """The hold rules of the database the session belongs to (the settings, via
    `kurse.db.Database`); the defaults for a session made elsewhere."""
    found = session.info.get(_RULES)
    return found if isinstance(found, HoldRules) else DEFAULT_RULES


def session_info(hold_rules: HoldRules) -> dict[str, object]:
    """What `kurse.db.Database` puts into each session's ``info``."""
    return {_RULES: hold_rules}


def approval_until(course: Course, since: datetime, hours: int) -> datetime:
    """The deadline of an approval whose hold starts at ``since`` (see the module's doc)."""
    return min(since + timedelta(hours=hours), course.registration_deadline)


def signup_approval_until(deadline: datetime, now: datetime, hours: int) -> datetime | None:
    """The deadline of an approval requested at ``now`` for a course with the registration
    ``deadline``, or None when less than two hours are left before it (nothing is held)."""
    if deadline - now < MIN_HOLD:
        return None
    return min(now + timedelta(hours=hours), deadline)


def promotion_approval_until(course: Course, now: datetime, hours: int) -> datetime | None:
    """The deadline of an approval for an officer moved up (or accepting an offer) at
    ``now``, or None when less than two hours are left before the registration deadline."""
    return signup_approval_until(course.registration_deadline, now, hours)


def offer_limit(course: Course, *, needs_approval: bool = False) -> datetime:
    """No offer of ``course`` runs past this moment; to an officer whose agency needs approval,
    none past two hours before the registration deadline, so that the approval after
    accepting still has its two hours."""
    limit = min(course.start_at - OFFER_CUTOFF, course.registration_deadline)
    if needs_approval:
        limit = min(limit, course.registration_deadline - MIN_HOLD)
    return limit


def offer_until(
    course: Course, since: datetime, *, needs_approval: bool = False
) -> datetime | None:
    """The deadline of an offer made at ``since``, or None when less than two hours are left
    before the offer's limit (then no offer is made). An offer of one hour lasts one hour."""
    if course.offer_hours is None:
        return None
    limit = offer_limit(course, needs_approval=needs_approval)
    if limit - since < MIN_HOLD:
        return None
    return min(since + timedelta(hours=course.offer_hours), limit)


def _stamp(since: datetime) -> int:
    return int(since.timestamp() * 1_000_000)


def expiry_key(registration_id: int, status: str, since: datetime) -> str:
    """``hold:offered:registration:42:<since>:<random>``: the expiry of one hold. A
    registration may be held several times in one instant (an offer accepted into a request,
    a seat taken back by a lowered quota and given again), so the key ends in a random part;
    the work is planned once, by the change that makes the hold."""
    return f"hold:{status}:registration:{registration_id}:{_stamp(since)}:{token_hex(4)}"


def reminder_key(registration_id: int, since: datetime) -> str:
    """``approvalreminder:registration:42:<since>:<random>``: the approvers' one reminder of a
    request (random part: see `expiry_key`)."""
    return f"approvalreminder:registration:{registration_id}:{_stamp(since)}:{token_hex(4)}"


def reminder_due(since: datetime, until: datetime) -> datetime:
    """At half of the approval time, the approvers are reminded once."""
    return since + (until - since) / 2


@dataclass(frozen=True)
class Hold:
    """A seat held for one registration, to plan its timed work."""

    registration_id: int
    course_id: int
    status: RegistrationStatus
    since: datetime
    until: datetime


def plan(session: Session, holds: Iterable[Hold]) -> None:
    """Writes the timed work of new holds (one insert for a whole burst): the expiry, and for
    a request the approvers' reminder at half time."""
    rows: list[dict[str, object]] = []
    for hold in holds:
        key = expiry_key(hold.registration_id, hold.status, hold.since)
        rows.append(_task_row(hold, TaskKind.HOLD_EXPIRY, key, hold.until))
        if hold.status == REQUESTED:
            due = reminder_due(hold.since, hold.until)
            key = reminder_key(hold.registration_id, hold.since)
            rows.append(_task_row(hold, TaskKind.APPROVAL_REMINDER, key, due))
    if rows:
        session.execute(insert(task_table), rows)


def _task_row(hold: Hold, kind: str, key: str, due: datetime) -> dict[str, object]:
    return {
        "key": key,
        "kind": kind,
        "course_id": hold.course_id,
        "registration_id": hold.registration_id,
        "due_at": due,
        "state": TaskState.PENDING,
    }


def hold_values(status: RegistrationStatus, since: datetime, until: datetime) -> dict[str, object]:
    """The registration's columns for a new hold."""
    return {"status": status, "held_since": since, "held_until": until, "confirmed_at": None}


def release(session: Session, registration: Registration, now: datetime) -> None:
    """The hold of ``registration`` ended (decided, answered, withdrawn, expired): its
    deadline is cleared and its pending timed work is not run."""
    session.execute(
        update(Task)
        .where(col(Task.registration_id) == registration.id, col(Task.state) == TaskState.PENDING)
        .values(state=TaskState.SKIPPED, done_at=now, last_error="the hold ended")
    )
    # Cleared after the statement above (which flushes): the caller sets the new state next.
    registration.held_since = registration.held_until = None


def _current_work(session: Session, registration_id: int) -> list[Task]:
    """The timed work of a registration's current hold: its newest task of each kind (the
    work of earlier holds was skipped when they ended, `release`)."""
    newest = (
        select(func.max(col(Task.id)))
        .where(col(Task.registration_id) == registration_id)
        .group_by(col(Task.kind))
    )
    return list(session.scalars(select(Task).where(col(Task.id).in_(newest))))


def replan_holds(session: Session, course: Course, hold_rules: HoldRules, now: datetime) -> None:
    """The course changed: every held seat's deadline follows the rules for its new dates
    (an earlier deadline may make it due at once), and its timed work moves with it. A
    course no longer published holds nothing to decide: the work of its holds is dropped."""
    if course.status != CourseStatus.PUBLISHED:
        held_ids = select(col(Registration.id)).where(
            col(Registration.course_id) == course.id, col(Registration.status).in_(HELD)
        )
        session.execute(
            update(Task)
            .where(col(Task.registration_id).in_(held_ids), col(Task.state) == TaskState.PENDING)
            .values(state=TaskState.SKIPPED, done_at=now, last_error="course not open any more")
        )
        return
    held = session.scalars(
        select(Registration).where(
            col(Registration.course_id) == course.id, col(Registration.status).in_(HELD)
        )
    ).all()
    approval = set(session.scalars(select(col(Agency.id)).where(col(Agency.approval_required))))
    for registration in held:
        since, until = registration.held_since, registration.held_until
        assert since is not None and until is not None, "a held seat has its times"
        if registration.status == REQUESTED:
            new_until = approval_until(course, since, hold_rules.approval_hours)
        else:
            hours = course.offer_hours
            planned = until if hours is None else since + timedelta(hours=hours)
            needs = registration.agency_id in approval
            new_until = min(planned, offer_limit(course, needs_approval=needs))
        if new_until == until:
            continue
        registration.held_until = new_until
        due = {
            TaskKind.HOLD_EXPIRY: new_until,
            TaskKind.APPROVAL_REMINDER: reminder_due(since, new_until),
        }
        for task in _current_work(session, id_of(registration)):
            if task.state == TaskState.PENDING:
                task.due_at = due[TaskKind(task.kind)]
            elif task.kind == TaskKind.HOLD_EXPIRY:  # an expiry always happens
                task.state, task.due_at = TaskState.PENDING, new_until
                task.claimed_at = task.done_at = task.last_error = None
    session.flush()
