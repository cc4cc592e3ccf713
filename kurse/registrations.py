"""Who holds a seat: sign-up (one or a burst of them), cancellation, withdrawal, release.

Every function here that changes who holds a seat (and `kurse.quotas.set_quotas`) follows
the same pattern:

1. take the course's lock (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already
   holds the database's single write lock), so that all seat changes of one course are serial;
2. read the seat state (`kurse.seats`: quotas, confirmed and waiting per agency) inside that
   lock;
3. decide and write, then let `kurse.promotion` fill whatever is free, first come, first
   served.

The rules they keep are listed, and checked, in `kurse.invariants`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import approvers, holds, lead_news
from kurse.courses import get_course
from kurse.errors import (
    ApprovalTooLate,
    CancellationClosed,
    CourseNotOpen,
    DomainError,
    NotFound,
    NotRegistered,
    RegistrationClosed,
)
from kurse.lead_news import News
from kurse.models import (
    HELD,
    SEAT_HOLDING,
    Course,
    CourseStatus,
    Outcome,
    Registration,
    RegistrationStatus,
    course_table,
    id_of,
    person_table,
    registration_table,
)
from kurse.outbox import MessageKind
from kurse.promotion import Promotion, promote
from kurse.registration_lists import queue_position
from kurse.seats import Seats, adjust_counts, is_released, load_seats

CONFIRMED = RegistrationStatus.CONFIRMED
WAITING = RegistrationStatus.WAITING
CANCELLED = RegistrationStatus.CANCELLED
REQUESTED = RegistrationStatus.REQUESTED
OFFERED = RegistrationStatus.OFFERED


@dataclass(frozen=True)
class SignUpResult:
    """What a sign-up did: ``status`` confirmed, requested (until ``held_until``) or waiting,
    ``position`` if waiting."""

    registration_id: int
    status: RegistrationStatus
    position: int | None
    already: bool = False
    held_until: datetime | None = None


@dataclass(frozen=True)
class CancelResult:
    """What a cancellation did, whom it promoted, and whether the lead must fill a seat."""

    registration_id: int
    previous_status: RegistrationStatus
    promoted: list[Promotion] = field(default_factory=list)
    free_seat_for_lead: bool = False


# The sign-up path is the one hundreds of officers hit in the same second, so its statements
# are built once and run on the session's connection, for a whole group of sign-ups at once
# (see `sign_up_many`): one lock, one read of the persons, one of the seats, one insert.
_p, _r, _c = person_table, registration_table, course_table
_PERSONS_WITH_REGISTRATION = (
    select(
        _p.c.id.label("person_id"),
        _p.c.agency_id,
        _p.c.active,
        _r.c.id,
        _r.c.status,
        _r.c.agency_id.label("registration_agency_id"),
        _r.c.queue_seq,
    )
    .select_from(
        _p.outerjoin(_r, and_(_r.c.person_id == _p.c.id, _r.c.course_id == bindparam("course_id")))
    )
    .where(_p.c.id.in_(bindparam("person_ids", expanding=True)))
)
# Taking the next arrival numbers also takes the course's row lock (one round trip).
_TAKE_NUMBERS = (
    update(_c)
    .where(_c.c.id == bindparam("course_id"))
    .values(reg_seq=_c.c.reg_seq + bindparam("n"))
    .returning(
        _c.c.status,
        _c.c.registration_deadline,
        _c.c.start_at,
        _c.c.release_at,
        _c.c.lead_id,
        _c.c.reg_seq,
    )
)
# Before the course's lock, a sign-up takes a key-share lock on its persons' rows (PostgreSQL):
# a deletion of the same person (`privacy.delete_person`, which locks the person row first,
# then each course it cancels a seat in) waits for the sign-up to commit and then cancels
# the new seat, or the sign-up waits for the deletion and finds the person gone. Person
# before course in both, so the two never deadlock. SQLite's single write lock already
# makes them one after the other.
_LOCK_PERSONS = (
    select(_p.c.id)
    .where(_p.c.id.in_(bindparam("person_ids", expanding=True)))
    .order_by(_p.c.id)
    .with_for_update(read=True, key_share=True)
)
_INSERT_REGISTRATIONS = insert(_r).returning(_r.c.id, sort_by_parameter_order=True)


def sign_up(session: Session, course_id: int, person_id: int, now: datetime) -> SignUpResult:
    """Signs the person up: a seat if one is free for their agency, else the waiting list.

    A second sign-up for the same course changes nothing and says so (``already=True``).
    """
    result = sign_up_many(session, course_id, [(person_id, now)])[0]
    if isinstance(result, DomainError):
        raise result
    return result


def sign_up_many(
    session: Session, course_id: int, requests: Sequence[tuple[int, datetime]]
) -> list[SignUpResult | DomainError]:
    """Signs up several persons for one course, in the order given: ``requests`` are
    ``(person_id, now)``, each with the moment it was made. The same rules as one sign-up
    after another, in one lock and a few statements (the burst path, via
    `Database.run_grouped`). A refused request gets its error in its place and writes nothing.
    """
    conn = session.connection()
    person_ids = sorted({pid for pid, _ in requests})
    if conn.dialect.name != "sqlite":
        conn.execute(_LOCK_PERSONS, {"person_ids": person_ids})
    locked = conn.execute(_TAKE_NUMBERS, {"course_id": course_id, "n": len(requests)}).first()
    if locked is None:
        return [NotFound(kind="course") for _ in requests]
    if locked.status != CourseStatus.PUBLISHED:
        return [CourseNotOpen(status=locked.status) for _ in requests]
    # Read only under the lock: a concurrent click of the same person may have just written.
    persons = {
        row.person_id: row
        for row in conn.execute(
            _PERSONS_WITH_REGISTRATION,
            {"course_id": course_id, "person_ids": person_ids},
        )
    }
    seats = load_seats(session, course_id, released=False)
    before = Seats(dict(seats.quotas), dict(seats.confirmed), dict(seats.waiting), False)
    approval = approvers.approval_agencies(session)
    hours = holds.rules(session).approval_hours
    first_number = locked.reg_seq - len(requests) + 1
    results: list[SignUpResult | DomainError] = []
    done: dict[int, int] = {}  # person id -> index of what this call did for them
    repeats: list[tuple[int, int]] = []  # (index, index of the person's first request)
    new_rows: list[dict[str, object]] = []
    new_indexes: list[int] = []
    for number, (person_id, now) in enumerate(requests, start=first_number):
        seats.released = is_released(locked.release_at, now)
        person = persons.get(person_id)
        if person is None or not person.active:
            results.append(NotFound(kind="person"))
            continue
        if person_id in done:  # the same person twice in one group: answered as the first
            repeats.append((len(results), done[person_id]))
            results.append(NotFound(kind="person"))  # replaced below
            continue
        if person.id is not None and person.status != CANCELLED:
            position, held_until = None, None
            if person.status in HELD:
                held_until = session.scalar(select(_r.c.held_until).where(_r.c.id == person.id))
            if person.status == WAITING:
                position = queue_position(
                    session,
                    course_id,
                    person.registration_agency_id,
                    person.queue_seq,
                    seats.released,
                )
            status = RegistrationStatus(person.status)
            results.append(SignUpResult(person.id, status, position, True, held_until))
            continue
        if now >= locked.registration_deadline:
            results.append(RegistrationClosed(lead_id=locked.lead_id))
            continue
        requested_until = None
        if person.agency_id in approval and _gets_seat(seats, person.agency_id):
            requested_until = holds.signup_approval_until(locked.registration_deadline, now, hours)
            if requested_until is None:
                until = locked.registration_deadline
                results.append(ApprovalTooLate(until=until, lead_id=locked.lead_id))
                continue
        result, values = _take_place(seats, person.agency_id, number, now, requested_until)
        if person.id is None:
            new_rows.append({"course_id": course_id, "person_id": person_id, **values})
            new_indexes.append(len(results))
        else:  # signing up again after cancelling: back of the queue, same row
            result = replace(result, registration_id=person.id)
            conn.execute(update(_r).where(_r.c.id == person.id).values(**values))
        done[person_id] = len(results)
        results.append(result)
    if new_rows:
        ids = conn.execute(_INSERT_REGISTRATIONS, new_rows).scalars().all()
        for index, registration_id in zip(new_indexes, ids, strict=True):
            inserted = results[index]
            assert isinstance(inserted, SignUpResult)
            results[index] = replace(inserted, registration_id=registration_id)
    for index, first in repeats:
        earlier = results[first]
        assert isinstance(earlier, SignUpResult), "only a place taken is remembered in done"
        results[index] = replace(earlier, already=True)
    _write_counts(session, course_id, seats, before)
    taken = [r for r in results if isinstance(r, SignUpResult) and not r.already]
    _plan_requests(session, course_id, results, requests, persons)
    lead_news.tell_lead(
        session,
        course_id,
        locked.lead_id,
        [(r.registration_id, _SIGN_UP_NEWS[r.status]) for r in taken],
        requests[-1][1],
    )
    return results


_SIGN_UP_NEWS = {CONFIRMED: News.SIGNED_UP, REQUESTED: News.REQUESTED, WAITING: News.WAITING}


def _plan_requests(
    session: Session,
    course_id: int,
    results: Sequence[SignUpResult | DomainError],
    requests: Sequence[tuple[int, datetime]],
    persons: Mapping[int, Any],
) -> None:
    """The new requests of a group of sign-ups: their deadlines as timed work, and the
    approvers of each officer's agency told (a few statements for the whole group)."""
    new: list[tuple[int, int, datetime, datetime]] = []  # registration, agency, since, until
    for result, (person_id, now) in zip(results, requests, strict=True):
        if isinstance(result, SignUpResult) and not result.already and result.held_until:
            new.append(
                (result.registration_id, persons[person_id].agency_id, now, result.held_until)
            )
    if not new:
        return
    holds.plan(
        session,
        [holds.Hold(rid, course_id, REQUESTED, since, until) for rid, _, since, until in new],
    )
    approvers.tell_approvers(
        session,
        MessageKind.APPROVAL_REQUEST,
        course_id,
        [(rid, agency_id, since) for rid, agency_id, since, _ in new],
        requests[-1][1],
    )


def _gets_seat(seats: Seats, agency_id: int) -> bool:
    """Whether a newcomer of ``agency_id`` gets a seat (nobody overtakes those already waiting
    for the same seats)."""
    return seats.free_for(agency_id) > 0 and seats.waiting_ahead_of_newcomer(agency_id) == 0


def _take_place(
    seats: Seats, agency_id: int, number: int, now: datetime, requested_until: datetime | None
) -> tuple[SignUpResult, dict[str, object]]:
    """Decides one newcomer's place, counts it in ``seats`` and returns the row's values: a
    seat (requested until ``requested_until`` where the agency needs approval) or a place on
    the waiting list."""
    gets_seat = _gets_seat(seats, agency_id)
    via_release = gets_seat and seats.confirmed.get(agency_id, 0) >= seats.quotas.get(agency_id, 0)
    position = None if gets_seat else seats.waiting_ahead_of_newcomer(agency_id) + 1
    counts = seats.confirmed if gets_seat else seats.waiting
    counts[agency_id] = counts.get(agency_id, 0) + 1
    seats.quotas.setdefault(agency_id, 0)
    held = gets_seat and requested_until is not None
    status = (REQUESTED if held else CONFIRMED) if gets_seat else WAITING
    values: dict[str, object] = {
        "status": status,
        "agency_id": agency_id,
        "queue_seq": number,
        "via_release": via_release,
        "created_at": now,
        "confirmed_at": now if status == CONFIRMED else None,
        "cancelled_at": None,
        "held_since": now if held else None,
        "held_until": requested_until if held else None,
        "outcome": None,
        "decided_by": None,
        "outcome_reason": None,
    }
    return SignUpResult(0, status, position, held_until=requested_until if held else None), values


def _write_counts(session: Session, course_id: int, after: Seats, before: Seats) -> None:
    """Moves the quota rows' counters from ``before`` to ``after`` (one update per agency)."""
    for agency_id in after.quotas:
        adjust_counts(
            session,
            course_id,
            agency_id,
            confirmed=after.confirmed.get(agency_id, 0) - before.confirmed.get(agency_id, 0),
            waiting=after.waiting.get(agency_id, 0) - before.waiting.get(agency_id, 0),
        )


def cancel(session: Session, registration_id: int, person_id: int, now: datetime) -> CancelResult:
    """Cancels the person's own registration and promotes whoever may take the seat.

    Someone else's registration id is reported as not found, never touched.
    """
    registration = session.scalar(
        select(Registration).where(
            col(Registration.id) == registration_id, col(Registration.person_id) == person_id
        )
    )
    if registration is None:
        raise NotFound(kind="registration")
    course = get_course(session, registration.course_id, lock=True)
    session.refresh(registration)  # re-read under the lock
    previous = RegistrationStatus(registration.status)
    if previous == CANCELLED:
        raise NotRegistered()
    if course.status != CourseStatus.PUBLISHED:
        raise CourseNotOpen(status=course.status)
    if previous == CONFIRMED and now >= course.cancellation_deadline:
        raise CancellationClosed(lead_id=course.lead_id)
    if previous != CONFIRMED and now >= course.start_at:  # waiting, requested, offered
        raise CancellationClosed(lead_id=course.lead_id)
    # Withdrawing from an offered seat is declining the offer: off the waiting list for good.
    outcome = Outcome.DECLINED if previous == OFFERED else None
    news = News.DECLINED if previous == OFFERED else None
    promoted, free_for_lead = free_place(
        session, registration, course, now, outcome=outcome, news=news
    )
    return CancelResult(id_of(registration), previous, promoted, free_for_lead)


def free_place(
    session: Session,
    registration: Registration,
    course: Course,
    now: datetime,
    *,
    outcome: Outcome | None = None,
    decided_by: int | None = None,
    reason: str | None = None,
    news: News | None = None,
) -> tuple[list[Promotion], bool]:
    """Marks an active registration cancelled (under the course lock), moves the counters
    and promotes whoever may take the seat. ``outcome`` (with ``decided_by`` and ``reason``)
    says how a held seat ended (refused, expired, declined); ``news`` is what the lead reads
    (by default: cancelled, or left the waiting list)."""
    holding = registration.status in SEAT_HOLDING
    if registration.status in HELD:
        holds.release(session, registration, now)
    registration.status, registration.cancelled_at = CANCELLED, now
    registration.confirmed_at, registration.via_release = None, False
    registration.outcome, registration.decided_by = outcome, decided_by
    registration.outcome_reason = reason
    session.flush()
    adjust_counts(
        session,
        id_of(course),
        registration.agency_id,
        confirmed=-int(holding),
        waiting=-int(not holding),
    )
    # The lead reads the cancellation first, then who moved up (or that a seat is free).
    news = news or (News.CANCELLED if holding else News.LEFT_WAITING)
    lead_news.tell_lead(session, id_of(course), course.lead_id, [(registration.id, news)], now)
    promoted, for_lead = promote(session, course, now)
    if for_lead is not None:
        lead_news.tell_lead(session, id_of(course), course.lead_id, [(None, for_lead)], now)
    return promoted, for_lead is not None


def cancel_for_course(
    session: Session, course_id: int, person_id: int, now: datetime
) -> CancelResult:
    """Cancels the person's registration for ``course_id`` (from a course page's button)."""
    registration_id = session.scalar(
        select(col(Registration.id)).where(
            col(Registration.course_id) == course_id,
            col(Registration.person_id) == person_id,
            col(Registration.status) != CANCELLED,
        )
    )
    if registration_id is None:
        raise NotRegistered()
    return cancel(session, registration_id, person_id, now)


def withdraw(session: Session, registration_id: int, now: datetime) -> list[Promotion]:
    """Cancels a registration whatever the deadlines (the person deletes their data); the
    seat goes to the next in line as with any cancellation."""
    registration = session.get(Registration, registration_id)
    assert registration is not None
    course = get_course(session, registration.course_id, lock=True)
    session.refresh(registration)  # re-read under the lock
    if registration.status == CANCELLED:
        return []
    promoted, _ = free_place(session, registration, course, now)
    return promoted


def release_seats(session: Session, course_id: int, now: datetime) -> list[Promotion]:
    """At the release date: waiting officers of all agencies take unused seats, in order."""
    course = get_course(session, course_id, lock=True)
    promoted, _ = promote(session, course, now)
    return promoted
