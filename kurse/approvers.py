"""Approvers: who decides on the sign-ups of an agency's officers, and telling them.

An agency may require that its officers' sign-ups are approved (``Agency.approval_required``,
off by default) by one of its approvers; several approvers of one agency deputise for each
other. Only approvers of the officer's **own** agency decide, whoever hosts the course and
whichever agency's seat the officer takes (a released seat follows the rules of the officer's
agency). The decisions themselves are `kurse.approval`.

The approvers hear of each new request through the outbox (`MessageKind.APPROVAL_REQUEST`, one
row per approver and request, written with the sign-up); a burst of requests reaches each
approver as few messages, merged per course within the news window like a lead's news
(`kurse.outbox.claim_due_messages`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import outbox
from kurse.models import Agency, Approver, Outbox, Person, approver_table, outbox_table
from kurse.outbox import MessageKind


def approval_agencies(session: Session) -> set[int]:
    """The ids of the agencies whose officers need approval."""
    return set(session.scalars(select(col(Agency.id)).where(col(Agency.approval_required))))


def needs_approval(session: Session, agency_id: int) -> bool:
    """Whether officers of ``agency_id`` need approval."""
    return bool(
        session.scalar(select(col(Agency.approval_required)).where(col(Agency.id) == agency_id))
    )


def approvers_of(session: Session, agency_ids: Iterable[int]) -> dict[int, list[int]]:
    """Per agency, the person ids of its active approvers, in the order they were appointed."""
    found: dict[int, list[int]] = defaultdict(list)
    rows = session.execute(
        select(col(Approver.agency_id), col(Approver.person_id))
        .join(Person, col(Person.id) == col(Approver.person_id))
        .where(col(Approver.agency_id).in_(list(set(agency_ids))), col(Person.active))
        .order_by(col(Approver.since), col(Approver.person_id))
    )
    for agency_id, person_id in rows:
        found[agency_id].append(person_id)
    return found


def is_approver(session: Session, person_id: int | None, agency_id: int) -> bool:
    """Whether the person approves for ``agency_id``."""
    if person_id is None:
        return False
    return (
        session.scalar(
            select(col(Approver.person_id)).where(
                col(Approver.agency_id) == agency_id, col(Approver.person_id) == person_id
            )
        )
        is not None
    )


def agencies_approved_by(session: Session, person_id: int | None) -> list[int]:
    """The ids of the agencies the person approves for."""
    if person_id is None:
        return []
    return list(
        session.scalars(
            select(col(Approver.agency_id))
            .where(col(Approver.person_id) == person_id)
            .order_by(col(Approver.agency_id))
        )
    )


def appoint(session: Session, agency_id: int, person_id: int, now: datetime) -> bool:
    """Makes the person an approver of the agency; False if they were one already."""
    if is_approver(session, person_id, agency_id):
        return False
    session.execute(
        insert(approver_table).values(agency_id=agency_id, person_id=person_id, since=now)
    )
    return True


def remove(session: Session, agency_id: int, person_id: int) -> bool:
    """Takes the role away; False if the person was no approver of the agency."""
    if not is_approver(session, person_id, agency_id):
        return False
    session.execute(
        delete(Approver).where(
            col(Approver.agency_id) == agency_id, col(Approver.person_id) == person_id
        )
    )
    return True


def listing(session: Session) -> dict[int, list[Person]]:
    """Per agency id, its approvers (for `/dienststellen`)."""
    found: dict[int, list[Person]] = defaultdict(list)
    for agency_id, person in session.execute(
        select(col(Approver.agency_id), Person)
        .join(Person, col(Person.id) == col(Approver.person_id))
        .order_by(col(Approver.since), col(Person.id))
    ):
        found[agency_id].append(person)
    return found


def tell_approvers(
    session: Session,
    kind: MessageKind,
    course_id: int,
    requests: Sequence[tuple[int, int, datetime]],
    now: datetime,
) -> None:
    """Queues ``kind`` (a new request, or the reminder at half time) for every approver of each
    request's agency: ``requests`` are ``(registration id, agency id, held since)``. One
    statement for a whole burst; the key (request, hold, approver) keeps each message once."""
    if not requests:
        return
    deciders = approvers_of(session, {agency_id for _, agency_id, _ in requests})
    rows = [
        {
            "key": f"{kind}:registration:{rid}:{outbox.occasion(since)}:person:{person_id}",
            "kind": kind,
            "person_id": person_id,
            "course_id": course_id,
            "registration_id": rid,
            "detail": {"news": [[rid, str(kind)]]},
            "due_at": now,
            "state": outbox.PENDING,
            "attempts": 0,
        }
        for rid, agency_id, since in requests
        for person_id in deciders.get(agency_id, [])
    ]
    taken = (
        set(
            session.scalars(
                select(col(Outbox.key)).where(col(Outbox.key).in_([r["key"] for r in rows]))
            )
        )
        if rows
        else set()
    )
    rows = [row for row in rows if row["key"] not in taken]  # a reminder run again
    if rows:
        session.execute(insert(outbox_table), rows)
