"""Offers from the waiting list (Nachrücken mit Frist): accept, decline, expire.

A course with offer hours (`Course.offer_hours`, the form's ``Nachrücken: Angebot 24h``) does
not move the first waiting officer up into a freed seat; it holds the seat for them and offers
it (`kurse.promotion.place_for`, deadlines in `kurse.holds`). The officer accepts (the seat is
theirs, or requested where their agency needs approval), declines (off the waiting list for
good), or lets it run out; a declined, expired or undeliverable offer (a blocked chat) goes
to the next in line, who gets their own offer.

Accepting at the moment the offer expires has exactly one outcome: both run under the course's
lock, and an offer whose deadline has passed is refused and left to its expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import approvers, holds, lead_news, outbox
from kurse.courses import get_course
from kurse.errors import ApprovalTooLate, NotFound, OfferEnded
from kurse.lead_news import News
from kurse.models import (
    Course,
    CourseStatus,
    Outcome,
    Registration,
    RegistrationStatus,
    id_of,
)
from kurse.outbox import MessageKind
from kurse.promotion import Promotion
from kurse.registrations import free_place

OFFERED = RegistrationStatus.OFFERED


@dataclass(frozen=True)
class Answer:
    """What an answer to an offer did: the registration's state now (confirmed, requested,
    cancelled) and its deadline if requested."""

    registration_id: int
    course_id: int
    status: RegistrationStatus
    held_until: datetime | None = None
    promoted: tuple[Promotion, ...] = ()


def _offered(
    session: Session, registration_id: int, person_id: int
) -> tuple[Registration, Course]:
    """The person's own registration under its course's lock; someone else's is not found."""
    registration = session.scalar(
        select(Registration).where(
            col(Registration.id) == registration_id, col(Registration.person_id) == person_id
        )
    )
    if registration is None:
        raise NotFound(kind="registration")
    course = get_course(session, registration.course_id, lock=True)
    session.refresh(registration)
    return registration, course


def _ended(registration: Registration) -> OfferEnded:
    if registration.status == OFFERED:
        return OfferEnded(outcome=Outcome.OFFER_EXPIRED)
    return OfferEnded(outcome=registration.outcome or "none")


def accept(session: Session, registration_id: int, person_id: int, now: datetime) -> Answer:
    """Takes the offered seat: confirmed, or requested where the officer's agency needs
    approval. An offer past its deadline raises `OfferEnded` (its expiry, due then, gives the
    seat to the next in line) and changes nothing."""
    registration, course = _offered(session, registration_id, person_id)
    if registration.status != OFFERED or course.status != CourseStatus.PUBLISHED:
        raise _ended(registration)
    assert registration.held_until is not None
    if now >= registration.held_until:
        raise OfferEnded(outcome=Outcome.OFFER_EXPIRED)
    until = None
    if approvers.needs_approval(session, registration.agency_id):
        # The offer's deadline left room for the approval (`kurse.holds.offer_until`); a
        # course moved meanwhile may not: then the offer stays open and the officer is told.
        until = holds.promotion_approval_until(course, now, holds.rules(session).approval_hours)
        if until is None:
            raise ApprovalTooLate(until=course.registration_deadline, lead_id=course.lead_id)
    holds.release(session, registration, now)
    registration.outcome = Outcome.ACCEPTED
    if until is not None:
        registration.status = RegistrationStatus.REQUESTED
        registration.held_since, registration.held_until = now, until
        holds.plan(
            session,
            [holds.Hold(id_of(registration), id_of(course), registration.status, now, until)],
        )
        approvers.tell_approvers(
            session,
            MessageKind.APPROVAL_REQUEST,
            id_of(course),
            [(id_of(registration), registration.agency_id, now)],
            now,
        )
        news = News.REQUESTED
    else:
        registration.status, registration.confirmed_at = RegistrationStatus.CONFIRMED, now
        news = News.ACCEPTED
    session.flush()  # the seat was counted as taken while offered: no counter moves
    lead_news.tell_lead(session, id_of(course), course.lead_id, [(registration.id, news)], now)
    return Answer(
        id_of(registration), id_of(course), RegistrationStatus(registration.status), until
    )


def decline(session: Session, registration_id: int, person_id: int, now: datetime) -> Answer:
    """Turns the offer down: the officer leaves the waiting list for good, the seat goes to
    the next in line."""
    registration, course = _offered(session, registration_id, person_id)
    if registration.status != OFFERED or course.status != CourseStatus.PUBLISHED:
        raise _ended(registration)
    promoted, _ = free_place(
        session, registration, course, now, outcome=Outcome.DECLINED, news=News.DECLINED
    )
    return Answer(
        id_of(registration),
        id_of(course),
        RegistrationStatus(registration.status),
        None,
        tuple(promoted),
    )


def expire(
    session: Session, registration_id: int | None, now: datetime, *, early: bool = False
) -> bool:
    """An offer ran out (its timed work), or could not be delivered (``early``: the officer
    blocked the bot): the seat goes to the next in line, and the officer is told. False if
    it was answered meanwhile or its deadline moved later."""
    registration = session.get(Registration, registration_id) if registration_id else None
    if registration is None:
        return False
    course = get_course(session, registration.course_id, lock=True)
    session.refresh(registration)
    if registration.status != OFFERED or registration.held_until is None:
        return False
    if not early and registration.held_until > now:
        return False
    _expire(session, registration, course, now)
    return True


def _expire(session: Session, registration: Registration, course: Course, now: datetime) -> None:
    free_place(
        session, registration, course, now, outcome=Outcome.OFFER_EXPIRED, news=News.OFFER_EXPIRED
    )
    outbox.seat_changes(
        session,
        MessageKind.OFFER_EXPIRED,
        registration.course_id,
        [(registration.id, registration.person_id)],
        now,
    )
