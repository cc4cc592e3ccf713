"""A course's lead changed (`/kursleitung`) while a seat is held for a request or an offer:
the hold and its deadline stay as they were, the new lead hears what happens to the seat,
the old lead's access to the course ends, and the expiry gives the seat to the next in line."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from kurse import admin, attendance, checkin
from kurse import registrations as regs
from kurse.actors import Actor
from kurse.errors import DayNotStarted, NotAllowed
from kurse.invariants import invariant_violations
from kurse.lead_news import News
from kurse.models import (
    Outbox,
    Person,
    Registration,
    RegistrationStatus,
    Task,
    TaskKind,
    TaskState,
)
from kurse.outbox import MessageKind
from tests import builders

BOSS = builders.ADMIN
WAITING, CANCELLED = RegistrationStatus.WAITING, RegistrationStatus.CANCELLED
OFFERED, REQUESTED = RegistrationStatus.OFFERED, RegistrationStatus.REQUESTED


def as_actor(person: Person) -> Actor:
    return Actor(telegram_id=person.telegram_id, person_id=person.id)


def hold_of(db, registration_id) -> tuple[str, datetime | None, datetime | None]:
    with db.transaction(readonly=True) as session:
        row = session.get(Registration, registration_id)
        assert row is not None
        return row.status, row.held_since, row.held_until


def pending_work(db, registration_id) -> list[tuple[str, datetime]]:
    """The registration's timed work still to run: (kind, due), in order of due time."""
    with db.transaction(readonly=True) as session:
        rows = session.execute(
            select(Task.kind, Task.due_at)
            .where(Task.registration_id == registration_id, Task.state == TaskState.PENDING)
            .order_by(Task.due_at)
        ).all()
    return [(kind, due) for kind, due in rows]


def news_for(db, person_id) -> list[str]:
    """Every piece of lead news queued for the person, in order."""
    with db.transaction(readonly=True) as session:
        details = session.scalars(
            select(Outbox.detail)
            .where(Outbox.person_id == person_id, Outbox.kind == MessageKind.LEAD_NEWS)
            .order_by(Outbox.id)
        ).all()
    return [what for detail in details for _, what in (detail or {}).get("news", [])]


def leads(db, clock, agencies) -> tuple[Person, Person]:
    old = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    new = builders.officer(db, agencies["PD-Z"], clock.now(), name="Nora Neu")
    return old, new


def change_lead(db, clock, course, person: Person) -> None:
    db.call(admin.assign_lead, course.code, str(person.telegram_id), clock.now(), actor=BOSS)


def requested_course(db, clock, agencies, lead: Person, *, waiting: int = 1, **overrides):
    """A course of one PP-OFR seat, PP-OFR approving its officers' sign-ups: the request
    holding the seat and those waiting behind it, as (person, registration id)."""
    chefin = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Chefin")
    db.call(admin.set_approval, "PP-OFR", True, clock.now(), actor=BOSS)
    db.call(
        admin.change_approver, "PP-OFR", str(chefin.telegram_id), True, clock.now(), actor=BOSS
    )
    course = builders.course(
        db, clock.now(), {"PP-OFR": 1, "PD-Z": 0}, lead_id=lead.id, **overrides
    )
    queue = []
    for name in ("Anna Antrag", "Иван Петров", "Łukasz Wójcik")[: waiting + 1]:
        person = builders.officer(db, agencies["PP-OFR"], clock.now(), name=name)
        queue.append(
            (person, db.call(regs.sign_up, course.id, person.id, clock.now()).registration_id)
        )
        clock.advance(timedelta(seconds=1))
    return course, queue


def offered_course(
    db,
    clock,
    agencies,
    lead: Person,
    *,
    hours: int = 24,
    names: tuple[str, str] = ("Çağrı Yılmaz", "Jiří Dvořák"),
    **overrides,
):
    """A course of one PP-OFR seat filled by offers: its holder gave it back, so the first of
    two waiting officers has the offer; returns the course and the two waiting."""
    course = builders.course(
        db, clock.now(), {"PP-OFR": 1, "PD-Z": 0}, offer_hours=hours, lead_id=lead.id, **overrides
    )
    holder = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Inhaberin")
    held = db.call(regs.sign_up, course.id, holder.id, clock.now()).registration_id
    queue = []
    for name in names:
        clock.advance(timedelta(seconds=1))
        person = builders.officer(db, agencies["PP-OFR"], clock.now(), name=name)
        queue.append(
            (person, db.call(regs.sign_up, course.id, person.id, clock.now()).registration_id)
        )
    db.call(regs.cancel, held, holder.id, clock.now())
    return course, queue


# --- the hold survives the change ------------------------------------------------------------


def test_a_request_keeps_its_deadline_and_its_timed_work_when_the_lead_changes(
    db, clock, agencies
):
    old, new = leads(db, clock, agencies)
    course, [(_anna, rid), _] = requested_course(db, clock, agencies, old)
    hold_before, work_before = hold_of(db, rid), pending_work(db, rid)
    clock.advance(timedelta(hours=5))

    change_lead(db, clock, course, new)

    assert hold_before[0] == REQUESTED
    assert hold_of(db, rid) == hold_before
    assert pending_work(db, rid) == work_before
    assert [kind for kind, _ in work_before] == [TaskKind.APPROVAL_REMINDER, TaskKind.HOLD_EXPIRY]
    assert work_before[-1][1] == hold_before[2]  # the expiry is due at the deadline
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_an_offer_keeps_its_deadline_and_its_expiry_when_the_lead_changes(db, clock, agencies):
    old, new = leads(db, clock, agencies)
    course, [(_first, first_id), _] = offered_course(db, clock, agencies, old)
    hold_before, work_before = hold_of(db, first_id), pending_work(db, first_id)
    clock.advance(timedelta(hours=5))

    change_lead(db, clock, course, new)

    assert hold_before[0] == OFFERED
    assert hold_of(db, first_id) == hold_before
    assert pending_work(db, first_id) == work_before == [(TaskKind.HOLD_EXPIRY, hold_before[2])]
    assert db.call(invariant_violations, course.id, clock.now()) == []


# --- the expiry after the change -------------------------------------------------------------


def test_an_offer_expiring_after_the_change_goes_to_the_next_in_line_and_only_the_new_lead_hears(
    db, clock, agencies
):
    old, new = leads(db, clock, agencies)
    course, [(_first, first_id), (_second, second_id)] = offered_course(
        db, clock, agencies, old, hours=6
    )
    old_news = news_for(db, old.id)
    clock.advance(timedelta(hours=1))
    change_lead(db, clock, course, new)

    clock.advance(timedelta(hours=5))
    builders.run_due_tasks(db, clock.now())

    assert hold_of(db, first_id) == (CANCELLED, None, None)
    assert hold_of(db, second_id) == (OFFERED, clock.now(), clock.now() + timedelta(hours=6))
    assert news_for(db, new.id) == [News.OFFER_EXPIRED, News.OFFERED]
    assert news_for(db, old.id) == old_news  # nothing after the change
    assert MessageKind.LEAD_ASSIGNED in builders.message_kinds(db, new.id)
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_a_request_expiring_after_the_change_goes_to_the_next_in_line_and_only_the_new_lead_hears(
    db, clock, agencies
):
    old, new = leads(db, clock, agencies)
    course, [(_anna, rid), (_ivan, ivan_id)] = requested_course(db, clock, agencies, old)
    deadline = hold_of(db, rid)[2]
    assert deadline is not None
    old_news = news_for(db, old.id)
    clock.advance(timedelta(hours=1))
    change_lead(db, clock, course, new)

    clock.set(deadline)
    builders.run_due_tasks(db, clock.now())

    assert hold_of(db, rid) == (CANCELLED, None, None)
    assert hold_of(db, ivan_id) == (REQUESTED, deadline, deadline + timedelta(hours=72))
    assert news_for(db, new.id) == [News.APPROVAL_EXPIRED, News.REQUESTED]
    assert news_for(db, old.id) == old_news
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_an_offer_expiring_too_late_for_another_tells_the_new_lead_of_the_free_seat(
    db, clock, agencies
):
    old, new = leads(db, clock, agencies)
    deadline = clock.now() + timedelta(hours=9)
    course, [(_first, first_id), (_second, second_id)] = offered_course(
        db, clock, agencies, old, hours=8, registration_deadline=deadline
    )
    clock.advance(timedelta(hours=1))
    change_lead(db, clock, course, new)

    clock.advance(timedelta(hours=7))  # the offer's eight hours are over, one hour is left
    builders.run_due_tasks(db, clock.now())

    assert hold_of(db, first_id)[0] == CANCELLED
    assert hold_of(db, second_id) == (WAITING, None, None)
    assert news_for(db, new.id) == [News.OFFER_EXPIRED, News.FREE_SEAT_NO_TIME]
    assert News.FREE_SEAT_NO_TIME not in news_for(db, old.id)
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_a_request_expiring_too_late_for_another_tells_the_new_lead_of_the_free_seat(
    db, clock, agencies
):
    old, new = leads(db, clock, agencies)
    deadline = clock.now() + timedelta(hours=3)
    course, [(_anna, rid), (_ivan, ivan_id)] = requested_course(
        db, clock, agencies, old, registration_deadline=deadline
    )
    assert hold_of(db, rid)[2] == deadline
    clock.advance(timedelta(hours=1))
    change_lead(db, clock, course, new)

    clock.set(deadline)
    builders.run_due_tasks(db, clock.now())

    assert hold_of(db, rid)[0] == CANCELLED
    assert hold_of(db, ivan_id) == (WAITING, None, None)
    assert news_for(db, new.id) == [News.APPROVAL_EXPIRED, News.FREE_SEAT_NO_TIME]
    assert News.FREE_SEAT_NO_TIME not in news_for(db, old.id)
    assert db.call(invariant_violations, course.id, clock.now()) == []


# --- the old lead's access ends --------------------------------------------------------------


def test_the_old_lead_may_not_see_the_list_or_the_attendance_any_more_and_the_new_lead_may(
    db, clock, agencies
):
    old, new = leads(db, clock, agencies)
    course, [(first, _), _] = offered_course(db, clock, agencies, old)
    assert db.call(admin.participant_list, course.id, clock.now(), actor=as_actor(old))

    change_lead(db, clock, course, new)

    def lead_calls(actor: Actor) -> list[Callable[[], object]]:
        return [
            lambda: db.call(admin.participant_list, course.id, clock.now(), actor=actor),
            lambda: db.call(
                attendance.course_for_attendance, course.code, None, clock.now(), actor=actor
            ),
            lambda: db.call(attendance.sheet, course.id, 0, clock.now(), actor=actor),
        ]

    for call in lead_calls(as_actor(old)):
        with pytest.raises(NotAllowed):
            call()
    with pytest.raises(NotAllowed):
        db.call(checkin.show, course.code, clock.now(), actor=as_actor(old))
    listing, _seats, lead = db.call(
        admin.participant_list, course.id, clock.now(), actor=as_actor(new)
    )
    assert lead is not None
    assert lead.id == new.id
    assert [e.name for e in listing.held] == [first.name]
    for call in lead_calls(as_actor(new)):
        call()
    with pytest.raises(DayNotStarted):  # past the role: the course has not begun yet
        db.call(checkin.show, course.code, clock.now(), actor=as_actor(new))


# --- a free seat told to the old lead, not yet sent ------------------------------------------


@pytest.mark.parametrize("how", ["kursleitung", "form"])
def test_a_free_seat_waiting_to_be_told_to_the_old_lead_is_told_to_the_new_lead(
    db, clock, agencies, how
):
    old, new = leads(db, clock, agencies)
    deadline = clock.now() + timedelta(hours=9)
    course, [(_first, first_id), (_second, second_id)] = offered_course(
        db, clock, agencies, old, hours=8, registration_deadline=deadline
    )
    clock.advance(timedelta(hours=8))
    builders.run_due_tasks(db, clock.now())  # the offer expires, too late for another one
    assert News.FREE_SEAT_NO_TIME in news_for(db, old.id)  # not sent yet: no sweep ran
    assert hold_of(db, second_id)[0] == WAITING

    if how == "kursleitung":
        change_lead(db, clock, course, new)
    else:
        form = f"Kursleitung: {new.telegram_id}"
        db.call(admin.edit_course_from_form, course.code, form, clock.now(), actor=BOSS)

    assert news_for(db, new.id) == [News.FREE_SEAT_NO_TIME]
    assert hold_of(db, first_id)[0] == CANCELLED
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_naming_the_same_lead_again_hands_nothing_over(db, clock, agencies):
    old, _new = leads(db, clock, agencies)
    deadline = clock.now() + timedelta(hours=9)
    course, _ = offered_course(db, clock, agencies, old, hours=8, registration_deadline=deadline)
    clock.advance(timedelta(hours=8))
    builders.run_due_tasks(db, clock.now())
    before = news_for(db, old.id)

    change_lead(db, clock, course, old)

    assert news_for(db, old.id) == before


def test_a_lead_named_in_the_edit_form_is_told_as_by_kursleitung_and_the_same_lead_is_not(
    db, clock, agencies
):
    old, new = leads(db, clock, agencies)
    course, _ = offered_course(db, clock, agencies, old)

    for person in (new, new):  # the second time the form names the lead the course has
        form = f"Kursleitung: {person.telegram_id}"
        db.call(admin.edit_course_from_form, course.code, form, clock.now(), actor=BOSS)

    assert builders.message_kinds(db, new.id).count(MessageKind.LEAD_ASSIGNED) == 1
    assert MessageKind.LEAD_ASSIGNED not in builders.message_kinds(db, old.id)
