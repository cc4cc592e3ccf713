"""Messages to officers that must not be lost: written in the transaction that causes them.

A row of the ``outbox`` table is one message to one person, with a unique key, so the same
message is never queued twice. The timed work (`kurse.tasks`, `bot.jobs`) claims, sends and
marks the rows: within Telegram's limits, and again after a restart if the process died
between the change and the message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kurse.models import Outbox


def add(session: Session, rows: list[Outbox]) -> int:
    """Adds the messages whose keys are not taken yet (two statements in all); returns how
    many were added."""
    keys = [row.key for row in rows]
    taken: set[str] = set()
    for start in range(0, len(keys), 500):
        taken |= set(
            session.scalars(select(Outbox.key).where(Outbox.key.in_(keys[start : start + 500])))
        )
    new = [row for row in rows if row.key not in taken]
    session.add_all(new)
    session.flush()
    return len(new)


def occasion(now: datetime) -> int:
    """The moment of a change, for keys that are unique per change (microseconds)."""
    return int(now.timestamp() * 1_000_000)


def notices(
    session: Session,
    kind: str,
    course_id: int,
    person_ids: Iterable[int],
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> int:
    """One message of ``kind`` (``cancelled``, ``changed``) about the course to each person;
    ``detail`` is what the message needs to know of the change; returns how many were
    queued."""
    at = occasion(now)
    return add(
        session,
        [
            Outbox(
                key=f"{kind}:course:{course_id}:{at}:person:{person_id}",
                kind=kind,
                person_id=person_id,
                course_id=course_id,
                detail=json.dumps(detail) if detail is not None else None,
                due_at=now,
            )
            for person_id in dict.fromkeys(person_ids)
        ],
    )


def seat_changes(
    session: Session,
    kind: str,
    course_id: int,
    moved: Iterable[tuple[int | None, int | None]],
    now: datetime,
) -> None:
    """One message of ``kind`` (``promoted``, ``demoted``) to each ``(registration id,
    person id)`` whose seat changed; registrations without a person are left out."""
    at = occasion(now)
    add(
        session,
        [
            Outbox(
                key=f"{kind}:registration:{registration_id}:{at}",
                kind=kind,
                person_id=person_id,
                course_id=course_id,
                registration_id=registration_id,
                due_at=now,
            )
            for registration_id, person_id in moved
            if registration_id is not None and person_id is not None
        ],
    )
