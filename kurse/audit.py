"""The audit trail of admin actions: who, what, when, before and after."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kurse.models import AuditEntry


@dataclass(frozen=True)
class Actor:
    """Who acts: a joined person, or a bootstrap admin known only by Telegram id."""

    person_id: int | None
    telegram_id: int | None


def record(
    session: Session,
    *,
    actor: Actor | None,
    action: str,
    now: datetime,
    course_id: int | None = None,
    subject_person_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Writes one audit entry in the caller's transaction."""
    entry = AuditEntry(
        at=now,
        actor_id=actor.person_id if actor else None,
        actor_telegram_id=actor.telegram_id if actor else None,
        action=action,
        course_id=course_id,
        subject_person_id=subject_person_id,
        before=_dump(before),
        after=_dump(after),
    )
    session.add(entry)
    return entry


def _dump(value: dict[str, Any] | None) -> str | None:
    return None if value is None else json.dumps(value, default=str, ensure_ascii=False)


def entries(
    session: Session, *, course_id: int | None = None, limit: int = 50
) -> list[AuditEntry]:
    """Returns the newest entries first, for one course or all."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if course_id is not None:
        query = query.where(AuditEntry.course_id == course_id)
    return list(session.scalars(query.limit(limit)))
