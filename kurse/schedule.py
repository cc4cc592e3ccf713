"""Which timed work a course has, and when (PRODUCT.md §5). Pure planning, no sending.

`plan_course` is called in the same transaction that creates or edits a course, so the
task rows always match the course; `cancel_course_tasks` when it is cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kurse.models import Course, Outbox, Task, TaskState

DAY_BEFORE = timedelta(days=1)


@dataclass(frozen=True)
class Plan:
    """The settings that decide the timed work: reminder offsets and the retention period."""

    reminders: tuple[timedelta, ...] = (timedelta(days=7), timedelta(days=1))
    retention_days: int = 90


DEFAULT_PLAN = Plan()


def offset_label(offset: timedelta) -> str:
    """``7d``, ``2h`` or ``30m``: the name of a reminder offset in task keys."""
    minutes = int(offset.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def wanted_tasks(course: Course, plan: Plan) -> dict[str, tuple[str, datetime]]:
    """Every task the course should have: key → (kind, due time)."""
    cid = course.id
    tasks = {
        f"reminder:{offset_label(o)}:course:{cid}": ("reminder", course.start_at - o)
        for o in plan.reminders
    }
    tasks[f"leadlist:deadline:course:{cid}"] = ("leadlist", course.registration_deadline)
    tasks[f"leadlist:daybefore:course:{cid}"] = ("leadlist", course.start_at - DAY_BEFORE)
    if course.release_at is not None:
        tasks[f"release:course:{cid}"] = ("release", course.release_at)
    tasks[f"end:course:{cid}"] = ("end", course.end_at)
    tasks[f"retention:course:{cid}"] = (
        "retention",
        course.end_at + timedelta(days=plan.retention_days),
    )
    return tasks


def plan_course(session: Session, course: Course, plan: Plan = DEFAULT_PLAN) -> None:
    """Creates the course's missing tasks, moves pending ones, drops those no longer wanted."""
    wanted = wanted_tasks(course, plan)
    existing = {t.key: t for t in session.scalars(select(Task).where(Task.course_id == course.id))}
    for key, (kind, due) in wanted.items():
        task = existing.get(key)
        if task is None:
            session.add(Task(key=key, kind=kind, course_id=course.id, due_at=due))
        elif task.state == TaskState.PENDING and task.due_at != due:
            task.due_at = due
    for key, task in existing.items():
        if key not in wanted and task.state == TaskState.PENDING:
            task.state, task.last_error = TaskState.SKIPPED, "no longer planned"
    session.flush()


def cancel_course_tasks(session: Session, course_id: int, now: datetime) -> None:
    """A cancelled course: its pending tasks and messages will not run (reminders stop)."""
    for table in (Task, Outbox):
        session.execute(
            update(table)
            .where(table.course_id == course_id, table.state == TaskState.PENDING)
            .values(state=TaskState.SKIPPED, done_at=now, last_error="course cancelled")
        )
