"""The state of operations: pending and failed work for `/status`, queue levels for metrics.

`unfinished` tells `kursbot chat` whether the timed work it just woke is done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse.models import Course, Outbox, Task, TaskKind, TaskState

PENDING, SENDING, SENT, FAILED = (
    TaskState.PENDING,
    TaskState.SENDING,
    TaskState.SENT,
    TaskState.FAILED,
)


@dataclass(frozen=True)
class Status:
    """What `/status` shows."""

    pending_tasks: int
    pending_messages: int
    failed: list[tuple[str, str | None]]
    next_due: datetime | None
    anonymised_courses: int
    next_anonymisation: tuple[str, datetime] | None  # course code and when


def status(session: Session) -> Status:
    """Counts of pending work, the failed messages and the next due time."""
    pending_tasks = (
        session.scalar(select(func.count()).select_from(Task).where(col(Task.state) == PENDING))
        or 0
    )
    pending_messages = (
        session.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(col(Outbox.state).in_([PENDING, SENDING]))
        )
        or 0
    )
    failed = [
        (key, error)
        for key, error in session.execute(
            select(col(Outbox.key), col(Outbox.last_error))
            .where(col(Outbox.state) == FAILED)
            .order_by(col(Outbox.id).desc())
            .limit(10)
        )
    ]
    anonymised = (
        session.scalar(
            select(func.count())
            .select_from(Task)
            .where(col(Task.kind) == TaskKind.RETENTION, col(Task.state) == SENT)
        )
        or 0
    )
    upcoming = session.execute(
        select(col(Course.code), col(Task.due_at))
        .join(Course, col(Course.id) == col(Task.course_id))
        .where(col(Task.kind) == TaskKind.RETENTION, col(Task.state) == PENDING)
        .order_by(col(Task.due_at))
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
    messages: dict[str, int] = dict.fromkeys(watched, 0)
    for state, count in session.execute(
        select(col(Outbox.state), func.count())
        .where(col(Outbox.state).in_(watched))
        .group_by(col(Outbox.state))
    ):
        messages[state] = count
    pending_tasks = (
        session.scalar(select(func.count()).select_from(Task).where(col(Task.state) == PENDING))
        or 0
    )

    def oldest_due(model: Any) -> datetime | None:
        due: datetime | None = session.scalar(
            select(func.min(model.due_at)).where(model.state == PENDING, model.due_at <= now)
        )
        return due

    return QueueLevels(messages, oldest_due(Outbox), pending_tasks, oldest_due(Task))


def next_due(session: Session) -> datetime | None:
    """When the next pending task or message falls due."""
    task = session.scalar(select(func.min(col(Task.due_at))).where(col(Task.state) == PENDING))
    message = session.scalar(
        select(func.min(col(Outbox.due_at))).where(col(Outbox.state) == PENDING)
    )
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
