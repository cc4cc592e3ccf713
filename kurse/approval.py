"""Approval (Genehmigung): approvers decide on the requested seats of their own agency.

A requested seat (`kurse.holds`) is decided by the first approver of the officer's own agency
who presses "Genehmigen" or "Ablehnen"; a second decision of the same request is refused and
says who decided. An approval confirms the seat; a refusal, an expiry or the officer's
withdrawal frees it for the next in line by the normal rules (`kurse.registrations`). Every
decision and expiry is in the audit log.

Each decision runs under the course's lock, like every seat change, so two approvers pressing
at once get one decision; an approver's own request is decided by another approver (four
eyes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import approvers, audit, holds, lead_news, outbox
from kurse.actors import KURSBOT, Actor
from kurse.courses import get_course
from kurse.errors import AlreadyDecided, NotAllowed, NotFound, OwnRequest
from kurse.lead_news import News
from kurse.models import (
    HELD,
    Agency,
    Course,
    CourseStatus,
    Outcome,
    Person,
    Registration,
    RegistrationStatus,
    Task,
    id_of,
)
from kurse.outbox import MessageKind
from kurse.promotion import Promotion, promote
from kurse.registrations import free_place
from kurse.validation import clean_text

REQUESTED = RegistrationStatus.REQUESTED
MAX_REASON = 300


@dataclass(frozen=True)
class Decision:
    """What a decision did: the registration, its officer, and whom the freed seat went to."""

    registration_id: int
    course_id: int
    person_id: int | None
    approved: bool
    promoted: tuple[Promotion, ...] = ()


@dataclass(frozen=True)
class PendingRequest:
    """A request waiting for the approvers, as `/genehmigungen` lists it."""

    registration_id: int
    course: Course
    name: str | None
    rank: str | None
    agency_code: str
    held_since: datetime
    held_until: datetime


def _approver_of(session: Session, actor: Actor, agency_id: int) -> int:
    """The acting person's id if they approve for ``agency_id``; else `NotAllowed`."""
    if not approvers.is_approver(session, actor.person_id, agency_id):
        raise NotAllowed(role="approver")
    assert actor.person_id is not None
    return actor.person_id


def decide(
    session: Session,
    registration_id: int,
    approve: bool,
    now: datetime,
    *,
    actor: Actor,
    reason: str | None = None,
) -> Decision:
    """Approves or refuses one request; only an approver of the officer's own agency may.

    A request decided (or ended) before raises `AlreadyDecided` with who decided; a forged or
    unknown id raises `NotFound`, an approver of another agency `NotAllowed`.
    """
    registration = session.get(Registration, registration_id)
    if registration is None:
        raise NotFound(kind="registration")
    approver_id = _approver_of(session, actor, registration.agency_id)
    course = get_course(session, registration.course_id, lock=True)
    session.refresh(registration)  # re-read under the lock: the first decision wins
    if registration.status != REQUESTED:
        raise _already(session, registration)
    if registration.held_until is not None and now >= registration.held_until:
        # Its time ran out: no decision counts now; its timed work frees the seat.
        raise AlreadyDecided(outcome=Outcome.APPROVAL_EXPIRED, at=registration.held_until)
    if registration.person_id == approver_id:
        raise OwnRequest()
    if course.status != CourseStatus.PUBLISHED:
        raise NotFound(kind="registration")
    clean = clean_text(reason, "reason", max_len=MAX_REASON, min_len=0) if reason else None
    before = {"status": REQUESTED, "held_until": registration.held_until}
    if approve:
        _confirm(session, registration, course, now, approver_id)
        promoted: list[Promotion] = []
    else:
        promoted, _ = free_place(
            session,
            registration,
            course,
            now,
            outcome=Outcome.REFUSED,
            decided_by=approver_id,
            reason=clean or None,
            news=News.REFUSED,
        )
        _tell_officer(session, MessageKind.REFUSED, registration, now, {"reason": clean})
    audit.record(
        session,
        actor=actor,
        action="approval_approved" if approve else "approval_refused",
        now=now,
        course_id=course.id,
        subject_person_id=registration.person_id,
        before=before,
        # Whether a reason was given, not the reason: it speaks of the person, and the log
        # keeps no text about a person (the registration keeps it until retention).
        after={"status": registration.status, "reason_given": bool(clean)},
    )
    return Decision(
        id_of(registration), id_of(course), registration.person_id, approve, tuple(promoted)
    )


def _confirm(
    session: Session, registration: Registration, course: Course, now: datetime, by: int
) -> None:
    holds.release(session, registration, now)
    registration.status, registration.confirmed_at = RegistrationStatus.CONFIRMED, now
    registration.outcome, registration.decided_by = Outcome.APPROVED, by
    session.flush()  # the seat was counted as taken all along: no counter moves
    lead_news.tell_lead(
        session, id_of(course), course.lead_id, [(registration.id, News.APPROVED)], now
    )
    _tell_officer(session, MessageKind.APPROVED, registration, now)


def _tell_officer(
    session: Session,
    kind: MessageKind,
    registration: Registration,
    now: datetime,
    detail: dict[str, object] | None = None,
) -> None:
    """The officer hears how their request ended (`kurse.outbox.seat_changes`)."""
    outbox.seat_changes(
        session,
        kind,
        registration.course_id,
        [(registration.id, registration.person_id)],
        now,
        detail,
    )


def _already(session: Session, registration: Registration) -> AlreadyDecided:
    name = None
    if registration.decided_by is not None:
        name = session.scalar(
            select(col(Person.name)).where(col(Person.id) == registration.decided_by)
        )
    outcome = registration.outcome or (
        "withdrawn" if registration.status == RegistrationStatus.CANCELLED else registration.status
    )
    at = registration.confirmed_at or registration.cancelled_at
    return AlreadyDecided(outcome=str(outcome), decided_by=name, at=at)


def pending(
    session: Session, now: datetime, *, actor: Actor, limit: int = 50
) -> list[PendingRequest]:
    """The requests waiting for the acting approver's agencies, oldest first (`NotAllowed`
    for someone who approves for no agency)."""
    agency_ids = approvers.agencies_approved_by(session, actor.person_id)
    if not agency_ids:
        raise NotAllowed(role="approver")
    rows = session.execute(
        select(Registration, Course, col(Person.name), col(Person.rank), col(Agency.code))
        .join(Course, col(Course.id) == col(Registration.course_id))
        .join(Agency, col(Agency.id) == col(Registration.agency_id))
        .outerjoin(Person, col(Person.id) == col(Registration.person_id))
        .where(
            col(Registration.status) == REQUESTED,
            col(Registration.agency_id).in_(agency_ids),
            col(Course.status) == CourseStatus.PUBLISHED,
            col(Registration.person_id) != actor.person_id,
        )
        .order_by(col(Registration.held_since), col(Registration.id))
        .limit(limit)
    ).all()
    del now  # the list shows each deadline; nothing here depends on the time
    return [
        PendingRequest(id_of(r), course, name, rank, code, _set(r.held_since), _set(r.held_until))
        for r, course, name, rank, code in rows
    ]


def _set(value: datetime | None) -> datetime:
    assert value is not None, "a requested seat has its times"
    return value


def approve_all(
    session: Session, now: datetime, *, actor: Actor, course_id: int | None = None
) -> list[Decision]:
    """Approves every request waiting for the acting approver's agencies (of one course, if
    given), oldest first; requests decided meanwhile by someone else are left out."""
    decisions = []
    for request in pending(session, now, actor=actor, limit=500):
        if course_id is not None and request.course.id != course_id:
            continue
        try:
            decisions.append(decide(session, request.registration_id, True, now, actor=actor))
        except (AlreadyDecided, OwnRequest, NotFound):
            continue
    return decisions


def expire(session: Session, task: Task, course: Course, now: datetime) -> bool:
    """A request's approval time ran out (its timed work): the seat is freed and the officer
    told. False if it was decided or withdrawn meanwhile, or its deadline moved."""
    registration = session.get(Registration, task.registration_id)
    get_course(session, id_of(course), lock=True)
    if registration is None:
        return False
    session.refresh(registration)
    if registration.status != REQUESTED or registration.held_until is None:
        return False
    if registration.held_until > now:
        return False
    free_place(
        session,
        registration,
        course,
        now,
        outcome=Outcome.APPROVAL_EXPIRED,
        news=News.APPROVAL_EXPIRED,
    )
    _tell_officer(session, MessageKind.APPROVAL_EXPIRED, registration, now)
    audit.record(
        session,
        actor=KURSBOT,
        action="approval_expired",
        now=now,
        course_id=course.id,
        subject_person_id=registration.person_id,
        before={"status": REQUESTED},
        after={"status": registration.status},
    )
    return True


def remind(session: Session, task: Task, now: datetime) -> bool:
    """At half of the approval time: the approvers of a request still open are reminded once."""
    registration = session.get(Registration, task.registration_id)
    if registration is None or registration.status != REQUESTED:
        return False
    since = registration.held_since
    assert since is not None
    approvers.tell_approvers(
        session,
        MessageKind.APPROVAL_REMINDER,
        registration.course_id,
        [(id_of(registration), registration.agency_id, since)],
        now,
    )
    return True


def agency_switched(session: Session, agency_id: int, now: datetime) -> int:
    """After an agency's approval was switched on or off: in each published course not yet
    started where its officers hold or wait for seats, the holds follow the new rules (an
    offer's limit) and free seats are filled as they may be now. Returns how many courses."""
    course_ids = session.scalars(
        select(col(Registration.course_id))
        .join(Course, col(Course.id) == col(Registration.course_id))
        .where(
            col(Registration.agency_id) == agency_id,
            col(Registration.status).in_([*HELD, RegistrationStatus.WAITING]),
            col(Course.status) == CourseStatus.PUBLISHED,
            col(Course.start_at) > now,
        )
        .distinct()
        .order_by(col(Registration.course_id))
    ).all()
    for course_id in course_ids:
        course = get_course(session, course_id, lock=True)
        holds.replan_holds(session, course, holds.rules(session), now)
        promote(session, course, now)
    return len(course_ids)


def tell_new_approver(session: Session, agency_id: int, now: datetime) -> None:
    """A new approver of the agency hears of the requests already waiting (those told before
    are not told twice: the messages' keys)."""
    rows = session.execute(
        select(col(Registration.id), col(Registration.course_id), col(Registration.held_since))
        .join(Course, col(Course.id) == col(Registration.course_id))
        .where(
            col(Registration.agency_id) == agency_id,
            col(Registration.status) == REQUESTED,
            col(Registration.held_until) > now,
            col(Course.status) == CourseStatus.PUBLISHED,
        )
        .order_by(col(Registration.held_since), col(Registration.id))
    ).all()
    by_course: dict[int, list[tuple[int, int, datetime]]] = {}
    for rid, course_id, since in rows:
        if rid is not None and since is not None:
            by_course.setdefault(course_id, []).append((rid, agency_id, since))
    for course_id, requests in by_course.items():
        approvers.tell_approvers(session, MessageKind.APPROVAL_REQUEST, course_id, requests, now)
