"""The outbox: messages that must not be lost, queued and then sent exactly once.

A row of the ``outbox`` table is one message to one person, written in the transaction that
causes it, with a unique key, so the same message is never queued twice. The bot
(`bot.jobs`) claims due rows (`kurse.claims`), re-checks each right before it sends it
(`recheck`: a message whose reason has gone is skipped) and marks it sent, blocked or failed;
within Telegram's limits, and again after a restart if the process died in between.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse.claims import due_rows
from kurse.models import (
    Approver,
    Certificate,
    Course,
    CourseStatus,
    Outbox,
    Person,
    Registration,
    RegistrationStatus,
    TaskState,
    id_of,
)

MAX_ATTEMPTS = 5
NEWS_WINDOW = timedelta(seconds=60)  # a lead gets news at most once in this time


class MessageKind(StrEnum):
    """What an outgoing message tells (`bot.jobs` writes one text per kind)."""

    REMINDER = "reminder"  # the course is near (a reminder task)
    LEADLIST = "leadlist"  # the participant list, to the lead
    MINIMUM = "minimum"  # too few at the registration deadline, to the admins
    PROMOTED = "promoted"  # moved up from the waiting list
    DEMOTED = "demoted"  # moved back onto the waiting list (a quota lowered)
    CANCELLED = "cancelled"  # the course is cancelled
    CHANGED = "changed"  # its dates or place changed
    LEADGONE = "leadgone"  # the lead deleted their data, to the admins
    LEAD_NEWS = "lead_news"  # changes of the list, to the lead (`kurse.lead_news`)
    LEAD_ASSIGNED = "leadset"  # you lead this course now, to the new lead
    CERTIFICATE = "certificate"  # a certificate of attendance (issue 18), to its holder
    APPROVAL_REQUEST = "approval"  # a sign-up to approve, to each approver of the agency
    APPROVAL_REMINDER = "approvalreminder"  # half the approval time is over, to the approvers
    APPROVED = "approved"  # your sign-up is approved, to the officer
    REFUSED = "refused"  # your sign-up is refused, to the officer
    APPROVAL_EXPIRED = "approvalexpired"  # nobody decided in time, to the officer
    OFFER = "offer"  # a seat offered from the waiting list, to the officer
    OFFER_EXPIRED = "offerexpired"  # the offer ran out unanswered, to the officer


# Kinds that reach one person at most once per news window, merged per course (a lead's
# news, new requests to an approver): a burst is a few messages, not one per change.
WINDOWED = (MessageKind.LEAD_NEWS, MessageKind.APPROVAL_REQUEST)


PENDING, SENDING, SENT, SKIPPED, FAILED = (
    TaskState.PENDING,
    TaskState.SENDING,
    TaskState.SENT,
    TaskState.SKIPPED,
    TaskState.FAILED,
)


def add(session: Session, rows: list[Outbox]) -> int:
    """Adds the messages whose keys are not taken yet (two statements in all); returns how
    many were added."""
    keys = [row.key for row in rows]
    taken: set[str] = set()
    for start in range(0, len(keys), 500):
        taken |= set(
            session.scalars(
                select(col(Outbox.key)).where(col(Outbox.key).in_(keys[start : start + 500]))
            )
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
    kind: MessageKind,
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
                detail=detail,
                due_at=now,
            )
            for person_id in dict.fromkeys(person_ids)
        ],
    )


def seat_changes(
    session: Session,
    kind: MessageKind,
    course_id: int,
    moved: Iterable[tuple[int | None, int | None]],
    now: datetime,
    detail: dict[str, Any] | None = None,
) -> None:
    """One message of ``kind`` (``promoted``, ``demoted``, an offer, a decision on a request)
    to each ``(registration id, person id)`` whose seat changed, with ``detail`` if given;
    registrations without a person are left out."""
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
                detail=detail,
                due_at=now,
            )
            for registration_id, person_id in moved
            if registration_id is not None and person_id is not None
        ],
    )


@dataclass(frozen=True)
class Delivery:
    """A claimed message with what the bot needs to write it."""

    outbox_id: int
    kind: MessageKind
    telegram_id: int
    language: str
    person_id: int
    course: Course
    registration_id: int | None
    detail: dict[str, Any]
    attempts: int
    registration_status: str | None = None  # of the recipient's registration, if any


def claim_due_messages(
    session: Session, now: datetime, limit: int = 100, news_window: timedelta = NEWS_WINDOW
) -> list[Delivery]:
    """Claims due messages; ones that no longer make sense are marked skipped instead.

    A lead's news (and an approver's new requests) waits while the person got one less than
    ``news_window`` ago, and then goes out with whatever else came meanwhile as one message
    (`_held_back`, `_merged`)."""
    rows: Sequence[Outbox] = due_rows(session, Outbox, now, limit)
    rows = _held_back(session, rows, now, news_window)
    deliveries = _deliveries(session, _merged(rows, now), now)
    for delivery in deliveries:
        row = session.get(Outbox, delivery.outbox_id)
        assert row is not None
        row.state, row.claimed_at, row.attempts = SENDING, now, row.attempts + 1
    return [replace(d, attempts=d.attempts + 1) for d in deliveries]


def _held_back(
    session: Session, rows: Sequence[Outbox], now: datetime, window: timedelta
) -> list[Outbox]:
    """Due rows without the `WINDOWED` messages (a lead's news, an approver's new requests) of
    people who got one of that kind within ``window`` or whose earlier one waits for a retry:
    those are made due at the end of the window or at that retry, whichever is later (all at
    the same moment, so they go out together)."""
    people = {(row.kind, row.person_id) for row in rows if row.kind in WINDOWED}
    if not people:
        return list(rows)
    persons = {person_id for _, person_id in people}
    kinds = {kind for kind, _ in people}
    given = func.coalesce(col(Outbox.done_at), col(Outbox.claimed_at))
    query = (
        select(col(Outbox.kind), col(Outbox.person_id), func.max(given))
        .where(
            col(Outbox.kind).in_(kinds),
            col(Outbox.state).in_((SENT, SENDING)),  # sending: on its way, from any process
            col(Outbox.person_id).in_(persons),
            given > now - window,
        )
        .group_by(col(Outbox.kind), col(Outbox.person_id))
    )
    hold: dict[tuple[str, int | None], datetime] = {
        (kind, pid): at + window for kind, pid, at in session.execute(query)
    }
    # News that failed and waits for its retry (`mark_failed`) goes first: later news waits
    # for it and goes out with it, in order, not ahead of it.
    retrying = (
        select(col(Outbox.kind), col(Outbox.person_id), func.min(col(Outbox.due_at)))
        .where(
            col(Outbox.kind).in_(kinds),
            col(Outbox.state) == PENDING,
            col(Outbox.attempts) > 0,
            col(Outbox.person_id).in_(persons),
            col(Outbox.due_at) > now,
        )
        .group_by(col(Outbox.kind), col(Outbox.person_id))
    )
    for kind, pid, due in session.execute(retrying):
        hold[(kind, pid)] = max(hold.get((kind, pid), due), due)
    kept = []
    for row in rows:
        until = hold.get((row.kind, row.person_id)) if row.kind in WINDOWED else None
        if until is None:
            kept.append(row)
        else:
            row.due_at = until
    return kept


def _merged(rows: Sequence[Outbox], now: datetime) -> list[Outbox]:
    """Merges the claimed `WINDOWED` rows (a lead's news, `kurse.lead_news`; an approver's
    new requests, `kurse.approvers`) of each kind, person and course into the earliest
    written row, which is sent as one message: its detail gets all their news in order, the
    others are marked done as merged. Returns the rows left to send (other kinds as given)."""
    groups: dict[tuple[str, int | None, int | None], list[Outbox]] = defaultdict(list)
    for row in rows:
        if row.kind in WINDOWED:
            groups[(row.kind, row.person_id, row.course_id)].append(row)
    merged: set[int | None] = set()
    for group in groups.values():
        if len(group) < 2:
            continue
        group.sort(key=lambda r: r.id or 0)  # the order of the changes (under the course lock)
        carrier, rest = group[0], group[1:]
        news = [item for r in group for item in (r.detail or {}).get("news", [])]
        carrier.detail = {"news": news}
        for row in rest:
            row.state, row.done_at = SKIPPED, now
            row.last_error = f"merged into outbox #{carrier.id}"
            merged.add(row.id)
    return [row for row in rows if row.id not in merged]


def recheck(session: Session, outbox_id: int, now: datetime) -> Delivery | None:
    """Right before a claimed message is sent: the message as it is to be sent now (course,
    recipient and content from the state of this moment), or None if its reason has gone
    meanwhile (then it is marked skipped). A claim that is no longer ours also gives None."""
    row = session.get(Outbox, outbox_id, with_for_update=True)
    if row is None or row.state != SENDING:
        return None
    found = _deliveries(session, [row], now)
    return found[0] if found else None


def renew_claims(session: Session, outbox_ids: Collection[int], now: datetime) -> None:
    """Keeps this process's claims fresh while it is still sending them (a slow send waiting
    out `RetryAfter` is not taken for a dead one and sent twice by another process)."""
    if outbox_ids:
        session.execute(
            update(Outbox)
            .where(col(Outbox.id).in_(list(outbox_ids)), col(Outbox.state) == SENDING)
            .values(claimed_at=now)
        )


def give_back(session: Session, outbox_ids: Collection[int]) -> int:
    """Claimed messages this process will not send (it stops): pending again at once, their
    attempt not counted; returns how many."""
    if not outbox_ids:
        return 0
    # An UPDATE's result is a CursorResult, which has the row count; Session.execute is
    # typed as any statement's Result.
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Outbox)
            .where(col(Outbox.id).in_(list(outbox_ids)), col(Outbox.state) == SENDING)
            .values(state=PENDING, claimed_at=None, attempts=col(Outbox.attempts) - 1)
        ),
    )
    return int(result.rowcount or 0)


def _deliveries(session: Session, rows: Sequence[Outbox], now: datetime) -> list[Delivery]:
    """The rows that are still to be sent, as deliveries; the others are marked skipped."""
    courses = {
        c.id: c
        for c in session.scalars(
            select(Course).where(
                col(Course.id).in_({row.course_id for row in rows if row.course_id})
            )
        )
    }
    for row in rows:  # a lead's list goes to whoever leads the course now
        course = courses.get(row.course_id) if row.course_id else None
        if (
            row.kind == MessageKind.LEADLIST
            and course is not None
            and course.lead_id != row.person_id
        ):
            row.person_id = course.lead_id
    person_ids = {row.person_id for row in rows if row.person_id}
    registration_ids = {row.registration_id for row in rows if row.registration_id}
    # A request to approvers (merged: several) lists its registrations in its detail.
    asking = [row for row in rows if row.kind in _TO_APPROVERS]
    registration_ids |= {rid for row in asking for rid in _listed(row)}
    approving: set[tuple[int, int]] = (
        {
            (agency_id, person_id)
            for agency_id, person_id in session.execute(
                select(col(Approver.agency_id), col(Approver.person_id)).where(
                    col(Approver.person_id).in_({row.person_id for row in asking})
                )
            )
        }
        if asking
        else set()
    )
    persons = {
        p.id: p for p in session.scalars(select(Person).where(col(Person.id).in_(person_ids)))
    }
    registrations = {
        r.id: r
        for r in session.scalars(
            select(Registration).where(col(Registration.id).in_(registration_ids))
        )
    }
    # A notice about the whole course comes with a calendar file for whoever is registered.
    about_course = [
        r for r in rows if r.kind in (MessageKind.CANCELLED, MessageKind.CHANGED) and r.person_id
    ]
    registered = (
        {
            (r.course_id, r.person_id): r
            for r in session.scalars(
                select(Registration).where(
                    col(Registration.course_id).in_({row.course_id for row in about_course}),
                    col(Registration.person_id).in_({row.person_id for row in about_course}),
                )
            )
        }
        if about_course
        else {}
    )
    # A certificate revoked meanwhile (its attendance changed again) is not sent.
    certificate_ids = [
        row.detail["certificate"]
        for row in rows
        if row.kind == MessageKind.CERTIFICATE and row.detail
    ]
    revoked = set(
        session.scalars(
            select(col(Certificate.id)).where(
                col(Certificate.id).in_(certificate_ids), col(Certificate.revoked_at).is_not(None)
            )
        )
        if certificate_ids
        else ()
    )
    deliveries = []
    for row in rows:
        if (
            row.kind == MessageKind.CERTIFICATE
            and (row.detail or {}).get("certificate") in revoked
        ):
            row.state, row.done_at, row.last_error = SKIPPED, now, "certificate revoked meanwhile"
            continue
        person = persons.get(row.person_id) if row.person_id else None
        course = courses.get(row.course_id) if row.course_id else None
        registration = registrations.get(row.registration_id) if row.registration_id else None
        detail = row.detail or {}
        reason = _stale(row, person, course, registration, now)
        if reason is None and row.kind in _TO_APPROVERS and person is not None:
            still = _still_requested(row, person, registrations, approving, now)
            reason = None if still else "no listed request waits for this approver any more"
            detail = {**detail, "news": [n for n in detail.get("news", []) if n[0] in still]}
        if reason is not None:
            row.state, row.done_at, row.last_error = SKIPPED, now, reason
            continue
        assert person is not None and course is not None and row.id is not None
        if registration is None:
            registration = registered.get((id_of(course), row.person_id))
        deliveries.append(
            Delivery(
                row.id,
                MessageKind(row.kind),
                person.telegram_id,
                person.language,
                id_of(person),
                course,
                registration.id if registration is not None else None,
                detail,
                row.attempts,
                registration.status if registration is not None else None,
            )
        )
    return deliveries


_TO_APPROVERS = (MessageKind.APPROVAL_REQUEST, MessageKind.APPROVAL_REMINDER)


def _listed(row: Outbox) -> list[int]:
    """The registration ids a message to approvers is about (``detail["news"]``)."""
    return [int(rid) for rid, *_ in (row.detail or {}).get("news", []) if rid is not None]


def _still_requested(
    row: Outbox,
    person: Person,
    registrations: dict[int | None, Registration],
    approving: set[tuple[int, int]],
    now: datetime,
) -> set[int]:
    """The listed requests that still wait for a decision by ``person``: requested, before
    their deadline, of an agency the person (still) approves for, and not their own."""
    still = set()
    for rid in _listed(row):
        found = registrations.get(rid)
        if (
            found is not None
            and found.status == RegistrationStatus.REQUESTED
            and found.held_until is not None
            and found.held_until > now
            and (found.agency_id, person.id) in approving
            and found.person_id != person.id
        ):
            still.add(rid)
    return still


def _stale(
    row: Outbox,
    person: Person | None,
    course: Course | None,
    registration: Registration | None,
    now: datetime,
) -> str | None:
    """Why a message should not go out any more, or None."""
    if person is None or course is None:
        return "person or course gone (or the course has no lead any more)"
    if not person.active:
        return "person inactive (blocked the bot)"
    is_open = course.status == CourseStatus.PUBLISHED
    if row.kind == MessageKind.REMINDER:
        if registration is None or registration.status != RegistrationStatus.CONFIRMED:
            return "registration cancelled"
        if not is_open or now >= course.start_at:
            return "too late: the course has started"
    if row.kind == MessageKind.CHANGED and (not is_open or now >= course.end_at):
        return "course not open any more"
    if row.kind == MessageKind.LEADLIST and (not is_open or now >= course.start_at):
        return "course cancelled or started meanwhile"
    if row.kind == MessageKind.MINIMUM and (not is_open or now >= course.start_at):
        return "course cancelled or started meanwhile"
    if row.kind == MessageKind.LEADGONE and (
        not is_open or now >= course.end_at or course.lead_id
    ):
        return "course has a lead again, or is over"
    if row.kind in (MessageKind.LEAD_NEWS, MessageKind.LEAD_ASSIGNED):
        if course.lead_id != person.id:
            return "the course has another lead now"
        if row.kind == MessageKind.LEAD_NEWS and not person.lead_notifications:
            return "the lead switched the news off"
        if not is_open or now >= course.end_at:
            return "course cancelled or over"
    seat_moves = (MessageKind.PROMOTED, MessageKind.DEMOTED)
    if row.kind in seat_moves:  # the seat may have changed again meanwhile
        # Moved up: into a confirmed seat, or a requested one (the agency's approval).
        expected = (
            (RegistrationStatus.CONFIRMED, RegistrationStatus.REQUESTED)
            if row.kind == MessageKind.PROMOTED
            else (RegistrationStatus.WAITING,)
        )
        if registration is None or registration.status not in expected:
            return "the registration changed again"
        if not is_open or now >= course.start_at:
            return "too late: the course has started"
    if row.kind in _TO_APPROVERS and not is_open:  # which requests still wait: _deliveries
        return "course cancelled or over"
    if row.kind == MessageKind.OFFER:
        if registration is None or registration.status != RegistrationStatus.OFFERED:
            return "the offer was answered or ended"
        if registration.held_until is None or registration.held_until <= now:
            return "the offer's deadline has passed"
        if not is_open:
            return "course cancelled or over"
    outcomes = (
        MessageKind.APPROVED,
        MessageKind.REFUSED,
        MessageKind.APPROVAL_EXPIRED,
        MessageKind.OFFER_EXPIRED,
    )
    if row.kind in outcomes and (not is_open or now >= course.end_at):
        return "course cancelled or over"
    return None


def mark_sent(session: Session, outbox_id: int, now: datetime) -> None:
    """The message went out."""
    session.execute(
        update(Outbox)
        .where(col(Outbox.id) == outbox_id)
        .values(state=SENT, done_at=now, last_error=None)
    )


def mark_blocked(session: Session, outbox_id: int, person_id: int, now: datetime) -> None:
    """The person blocked the bot: skipped, and the person marked inactive."""
    session.execute(
        update(Outbox)
        .where(col(Outbox.id) == outbox_id)
        .values(state=SKIPPED, done_at=now, last_error="blocked the bot")
    )
    session.execute(update(Person).where(col(Person.id) == person_id).values(active=False))


def mark_failed(
    session: Session, outbox_id: int, error: str, now: datetime, retry_in: timedelta | None
) -> str:
    """A failed attempt: tried again later (back-off), or finally failed with the reason."""
    row = session.get(Outbox, outbox_id)
    assert row is not None
    if retry_in is not None and row.attempts < MAX_ATTEMPTS:
        row.state, row.due_at, row.last_error = PENDING, now + retry_in, error[:500]
    else:
        row.state, row.done_at, row.last_error = FAILED, now, error[:500]
    return row.state
