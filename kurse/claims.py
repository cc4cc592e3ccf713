"""Claiming due rows for one process: timed tasks and outgoing messages alike.

A row is claimed by one process (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's write
lock serialises) and marked when done; a row whose claimer died (claimed, never marked) is
claimed again after `CLAIM_TIMEOUT`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kurse.models import TaskState

CLAIM_TIMEOUT = timedelta(minutes=5)
PENDING, SENDING = TaskState.PENDING, TaskState.SENDING


def due_rows(session: Session, model: Any, now: datetime, limit: int) -> Sequence[Any]:
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
