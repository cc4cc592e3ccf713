"""Which timed work a course has, and when (PRODUCT.md §5 and §9). Planning, no sending.

Two steps, kept apart so that the rule can be read in one place:

* `planned_work` is a pure function of the course and the settings (`Plan`): every piece of
  timed work the course should have now, under which key, of which kind and when.
* `plan_course` makes the course's `Task` rows agree with it, in the transaction that creates,
  edits or cancels the course (and at every start, `replan_all`, so that changed settings
  reach existing courses). What is still to come moves; work that already ran or was skipped
  becomes due again where the change makes it meaningful again (`Planned.rearm`); work that
  no longer makes sense is skipped.

Reminders are planned once per offset **and start date** (the start is part of the key): a
postponed course gets reminders for its new date, and each officer gets each of them once
(`kurse.tasks` keys their messages the same way). A reminder whose time had already passed
when it was planned is not sent: the officers were told of the change itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import holds
from kurse.models import Course, CourseStatus, Outbox, Task, TaskKind, TaskState, id_of

DAY_BEFORE = timedelta(days=1)
# Attendance locks this long after a course's end (`kurse.attendance`); then the certificates
# are issued if the lead did not close the attendance before (`kurse.certificates`).
ATTENDANCE_LOCK = timedelta(days=7)
# A reminder due within this part of its offset after the sign-up is not sent (the
# confirmation just said it all), but never more than `MAX_GRACE`.
GRACE_SHARE = 4
MAX_GRACE = timedelta(hours=1)


class ListMoment(StrEnum):
    """When a lead's list goes out; at the deadline, admins hear of too few participants."""

    DEADLINE = "deadline"  # at the registration deadline
    DAY_BEFORE = "daybefore"  # one day before the start


@dataclass(frozen=True)
class Plan:
    """The settings that decide the timed work: reminder offsets and the retention period."""

    reminders: tuple[timedelta, ...] = (timedelta(days=7), timedelta(days=1))
    retention_days: int = 90


DEFAULT_PLAN = Plan()


@dataclass(frozen=True)
class Planned:
    """One piece of timed work the course should have.

    ``rearm``: when the work already ran (or was skipped) and a change moves its time into the
    future, it becomes due again at the new time (a release date or a lead list moved later).
    A course's end happens once and is never re-armed; its anonymisation always happens.
    ``catch_up``: re-armed even when its new time has passed already, and then done at once
    (a release date set into the past releases the seats now).
    ``offset``, ``start``, ``moment``: what the key says of a reminder or a lead list, for the
    task's columns.
    """

    kind: TaskKind
    due: datetime
    rearm: bool = True
    catch_up: bool = False
    offset: timedelta | None = None  # a reminder's, before the start
    start: datetime | None = None  # the start a reminder is planned for
    moment: ListMoment | None = None  # a lead list's


def offset_label(offset: timedelta) -> str:
    """``7d``, ``2h`` or ``30m``: the name of a reminder offset in task keys."""
    minutes = int(offset.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def _minutes(offset: timedelta) -> int:
    return int(offset.total_seconds() // 60)


def parse_offset(label: str) -> timedelta:
    """The offset named by `offset_label`."""
    unit = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
    return int(label[:-1]) * unit[label[-1]]


def start_stamp(start: datetime) -> str:
    """The start date as it appears in reminder keys (UTC, to the minute)."""
    return start.astimezone(UTC).strftime("%Y%m%dT%H%MZ")


def reminder_key(course_id: int, offset: timedelta, start: datetime) -> str:
    """``reminder:7d:course:42:20270312T0800Z``: one per offset and start date."""
    return f"reminder:{offset_label(offset)}:course:{course_id}:{start_stamp(start)}"


def reminder_grace(offset: timedelta) -> timedelta:
    """How long before a reminder's time a sign-up must be for the officer to get it: a
    quarter of the offset, at most an hour (30 minutes before: 7.5 minutes; 7 days: 1 hour)."""
    return min(offset / GRACE_SHARE, MAX_GRACE)


def planned_work(course: Course, plan: Plan) -> dict[str, Planned]:
    """Every piece of timed work ``course`` should have under ``plan``, by key.

    A published course has reminders, the lead's lists (at the registration deadline and a
    day before the start), its release date, its end and its anonymisation; a cancelled or
    finished one keeps only the anonymisation, so that its participants' data is not kept
    longer than any other course's.
    """
    cid = course.id
    assert cid is not None
    work = {
        f"retention:course:{cid}": Planned(
            TaskKind.RETENTION, course.end_at + timedelta(days=plan.retention_days)
        )
    }
    if course.status != CourseStatus.CANCELLED:  # a finished course still locks
        work[f"certificates:course:{cid}"] = Planned(
            TaskKind.CERTIFICATES, course.end_at + ATTENDANCE_LOCK
        )
    if course.status != CourseStatus.PUBLISHED:
        return work
    for offset in plan.reminders:
        work[reminder_key(cid, offset, course.start_at)] = Planned(
            TaskKind.REMINDER, course.start_at - offset, offset=offset, start=course.start_at
        )
    work[f"leadlist:{ListMoment.DEADLINE}:course:{cid}"] = Planned(
        TaskKind.LEADLIST, course.registration_deadline, moment=ListMoment.DEADLINE
    )
    work[f"leadlist:{ListMoment.DAY_BEFORE}:course:{cid}"] = Planned(
        TaskKind.LEADLIST, course.start_at - DAY_BEFORE, moment=ListMoment.DAY_BEFORE
    )
    if course.release_at is not None:
        work[f"release:course:{cid}"] = Planned(TaskKind.RELEASE, course.release_at, catch_up=True)
    work[f"end:course:{cid}"] = Planned(TaskKind.END, course.end_at, rearm=False)
    return work


_DONE = (TaskState.SENT, TaskState.SKIPPED, TaskState.FAILED)
_NOT_RUN = (TaskState.SKIPPED, TaskState.FAILED)


def plan_course(session: Session, course: Course, plan: Plan, now: datetime) -> None:
    """Makes the course's tasks agree with `planned_work` (see the module's docstring)."""
    wanted = planned_work(course, plan)
    existing = {  # a held seat's work is planned by `kurse.holds`, below
        t.key: t
        for t in session.scalars(
            select(Task).where(
                col(Task.course_id) == course.id, col(Task.registration_id).is_(None)
            )
        )
    }
    _adopt_legacy_reminder_keys(existing, course)
    for key, item in wanted.items():
        task = existing.get(key)
        if task is None:
            task = Task(
                key=key,
                kind=item.kind,
                course_id=id_of(course),
                due_at=item.due,
                offset_minutes=_minutes(item.offset) if item.offset is not None else None,
                planned_start=item.start,
                moment=item.moment,
            )
            if item.kind == TaskKind.REMINDER and item.due <= now:
                # Its time had passed before this start date was set: not sent late.
                task.state, task.done_at = TaskState.SKIPPED, now
                task.last_error = "its time had passed when it was planned"
            session.add(task)
        elif task.state == TaskState.PENDING:
            task.due_at = item.due
        elif item.kind == TaskKind.RETENTION and task.state in _NOT_RUN:
            # Anonymisation always happens (a cancelled course's used to be skipped).
            task.state, task.due_at = TaskState.PENDING, item.due
            task.claimed_at = task.done_at = task.last_error = None
        elif (
            task.state in _DONE
            and item.rearm
            and (item.due > now or item.catch_up)
            and (task.due_at != item.due or task.state == TaskState.SKIPPED)
        ):
            task.state, task.due_at = TaskState.PENDING, item.due
            task.claimed_at = task.done_at = task.last_error = None
    for key, task in existing.items():
        if key not in wanted and task.state == TaskState.PENDING:
            task.state, task.done_at = TaskState.SKIPPED, now
            task.last_error = "no longer planned"
    session.flush()
    holds.replan_holds(session, course, holds.rules(session), now)


def _adopt_legacy_reminder_keys(existing: dict[str, Task], course: Course) -> None:
    """Reminder keys written before the start date was part of them (``reminder:7d:course:42``)
    are taken to mean the course's current start, so that no reminder goes out twice."""
    for key, task in list(existing.items()):
        parts = key.split(":")
        if parts[0] == TaskKind.REMINDER and len(parts) == 4:
            new_key = reminder_key(task.course_id, parse_offset(parts[1]), course.start_at)
            if new_key not in existing:
                task.key = new_key
                task.offset_minutes = _minutes(parse_offset(parts[1]))
                task.planned_start = course.start_at
                existing[new_key] = existing.pop(key)


def cancel_course_tasks(session: Session, course: Course, plan: Plan, now: datetime) -> None:
    """A cancelled course: its pending work and messages will not run (reminders stop), but
    its participants' data is still anonymised at the end of the retention period."""
    plan_course(session, course, plan, now)
    session.execute(
        update(Outbox)
        .where(col(Outbox.course_id) == course.id, col(Outbox.state) == TaskState.PENDING)
        .values(state=TaskState.SKIPPED, done_at=now, last_error="course cancelled")
    )


def courses_to_replan(session: Session) -> Iterable[Course]:
    """Every course whose timed work is not all done: published ones, and finished or
    cancelled ones not yet anonymised."""
    anonymised = exists().where(
        col(Task.course_id) == col(Course.id),
        col(Task.kind) == TaskKind.RETENTION,
        col(Task.state) == TaskState.SENT,
    )
    return session.scalars(select(Course).where(~anonymised).order_by(col(Course.id)))


def replan_all(session: Session, plan: Plan, now: datetime) -> int:
    """Re-plans every course not yet anonymised against ``plan`` (at every start: changed
    settings reach existing courses, and courses that predate a kind of timed work get it).
    Idempotent; returns how many courses were looked at."""
    count = 0
    for course in courses_to_replan(session):
        plan_course(session, course, plan, now)
        count += 1
    return count
