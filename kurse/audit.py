"""The audit trail of admin actions: who, what, when, before and after."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse.actors import Actor
from kurse.models import AuditEntry, Course, as_json, person_table


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


def _dump(value: dict[str, Any] | None) -> dict[str, Any] | None:
    # As the column reads it back, also before a reload: times (and whatever else JSON has no
    # type for) as `str` writes them, as they have always been stored.
    return None if value is None else as_json(value, default=str)


def entries(
    session: Session, *, course_id: int | None = None, limit: int = 50
) -> list[AuditEntry]:
    """Returns the newest entries first, for one course or all."""
    query = select(AuditEntry).order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
    if course_id is not None:
        query = query.where(col(AuditEntry.course_id) == course_id)
    return list(session.scalars(query.limit(limit)))


@dataclass(frozen=True)
class Change:
    """One field of an entry: its value before and after (None where there is none)."""

    field: str
    before: Any
    after: Any
    had_before: bool = True  # False where the entry records no earlier value (a creation)


@dataclass(frozen=True)
class LogLine:
    """One audit entry as a training office reads it: when, who, what, which course, and
    each change with the persons named (a deleted person as ``deleted``)."""

    at: datetime
    who: str | None  # the actor's name; None: see ``who_kind``
    who_kind: str  # "person", "deleted", "telegram" (an admin from the settings), "system"
    who_telegram_id: int | None
    action: str
    course_code: str | None
    course_title: str | None
    subject: str | None  # the person the entry is about (given or taken the admin role)
    changes: list[Change]


@dataclass(frozen=True)
class LogPage:
    """A page of the audit log, newest first."""

    lines: list[LogLine]
    page: int
    pages: int
    course_id: int | None


DELETED = "deleted"  # a person named by an entry whose data has been deleted
_PERSON_FIELDS = ("lead_id",)


def log_page(
    session: Session, *, course_id: int | None = None, page: int = 0, page_size: int = 15
) -> LogPage:
    """The entries of one page (of one course, or all), newest first, made readable."""
    from sqlalchemy import func

    query = select(AuditEntry)
    if course_id is not None:
        query = query.where(col(AuditEntry.course_id) == course_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // page_size))
    page = max(0, min(page, pages - 1))
    rows = list(
        session.scalars(
            query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
            .limit(page_size)
            .offset(page * page_size)
        )
    )
    return LogPage(readable(session, rows), page, pages, course_id)


def readable(session: Session, rows: list[AuditEntry]) -> list[LogLine]:
    """The entries with names for ids (one query for persons, one for courses)."""
    payloads = [(_load(e.before), _load(e.after)) for e in rows]
    person_ids = {e.actor_id for e in rows if e.actor_id} | {
        e.subject_person_id for e in rows if e.subject_person_id
    }
    for before, after in payloads:
        for payload in (before, after):
            person_ids |= {payload[k] for k in _PERSON_FIELDS if isinstance(payload.get(k), int)}
    names: dict[int, str] = {}
    if person_ids:
        found = session.execute(
            select(person_table.c.id, person_table.c.name).where(person_table.c.id.in_(person_ids))
        )
        names = {pid: name for pid, name in found}
    course_ids = {e.course_id for e in rows if e.course_id}
    courses = (
        {
            cid: (code, title)
            for cid, code, title in session.execute(
                select(col(Course.id), col(Course.code), col(Course.title)).where(
                    col(Course.id).in_(course_ids)
                )
            )
        }
        if course_ids
        else {}
    )
    lines = []
    for entry, (before, after) in zip(rows, payloads, strict=True):
        if entry.actor_id in names:
            who, kind = names[entry.actor_id], "person"
        elif entry.actor_telegram_id == 0:  # kurse.privacy.DELETED_ACTOR
            who, kind = None, "deleted"
        elif entry.actor_telegram_id is not None:
            who, kind = None, "telegram"
        else:
            who, kind = None, "system"
        changes = [
            Change(
                key,
                _named(key, before.get(key), names),
                _named(key, after.get(key), names),
                key in before,
            )
            for key in dict.fromkeys([*before, *after])
        ]
        code, title = courses.get(entry.course_id or 0, (None, None))
        lines.append(
            LogLine(
                entry.at,
                who,
                kind,
                entry.actor_telegram_id if kind == "telegram" else None,
                entry.action,
                code,
                title,
                names.get(entry.subject_person_id or 0),
                changes,
            )
        )
    return lines


def _load(value: dict[str, Any] | None) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _named(key: str, value: Any, names: dict[int, str]) -> Any:
    """A person's id as their name (``DELETED`` when they are gone); other values as they
    are, with the ISO times of the payloads back as datetimes."""
    if key in _PERSON_FIELDS and isinstance(value, int):
        return names.get(value, DELETED)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] in " T":
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value
