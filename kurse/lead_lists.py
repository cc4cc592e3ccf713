"""What changed on a course's participant list since its lead's previous list: who is new,
who moved up from the waiting list, whose registration is gone (by name).

The snapshots are the ``{registration id: status}`` maps the lead-list task stores with each
list it sends (keyed by the id as text: task details are JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse.models import Person, Registration


class Mark(Enum):
    """How a registration changed since the previous list."""

    NEW = "new"
    MOVED_UP = "moved up"


@dataclass(frozen=True)
class ListChanges:
    """The marks per registration id, and the ids of registrations gone since."""

    marks: dict[int, Mark]
    gone: list[int]


def changes_since(snapshot: dict[str, str], previous: dict[str, str]) -> ListChanges:
    """Compares this list's snapshot with the previous one."""
    marks: dict[int, Mark] = {}
    for rid, status in snapshot.items():
        if rid not in previous:
            marks[int(rid)] = Mark.NEW
        elif previous[rid] == "waiting" and status == "confirmed":
            marks[int(rid)] = Mark.MOVED_UP
    return ListChanges(marks, [int(rid) for rid in previous if rid not in snapshot])


def names_of_registrations(session: Session, registration_ids: list[int]) -> list[str]:
    """The names of the people of these registrations (none for an empty list)."""
    if not registration_ids:
        return []
    rows = session.execute(
        select(col(Person.name))
        .join(Registration, col(Registration.person_id) == col(Person.id))
        .where(col(Registration.id).in_(registration_ids))
    )
    return [name for (name,) in rows]
