"""Offers from the waiting list (Nachrücken mit Frist): accept, decline, expiry, limits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kurse import admin, courses, offers
from kurse import registrations as regs
from kurse.errors import NotFound, OfferEnded
from kurse.invariants import invariant_violations
from kurse.lead_news import News
from kurse.models import Outbox, Registration, RegistrationStatus
from kurse.outbox import MessageKind
from tests import builders

BOSS = builders.ADMIN
CONFIRMED, WAITING = RegistrationStatus.CONFIRMED, RegistrationStatus.WAITING
OFFERED, REQUESTED = RegistrationStatus.OFFERED, RegistrationStatus.REQUESTED
CANCELLED = RegistrationStatus.CANCELLED


def status(db, registration_id) -> tuple[str, object]:
    with db.transaction(readonly=True) as session:
        row = session.get(Registration, registration_id)
        assert row is not None
        return row.status, row.held_until


def full_course_with_queue(db, clock, agencies, *, hours=24, waiting=2, **overrides):
    """A course of one seat (PP-OFR) filled by offers, its holder and those waiting."""
    course = builders.course(
        db, clock.now(), {"PP-OFR": 1, "PD-Z": 0}, offer_hours=hours, **overrides
    )
    holder = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Inhaberin")
    rid = db.call(regs.sign_up, course.id, holder.id, clock.now()).registration_id
    queue = []
    for i in range(waiting):
        clock.advance(timedelta(seconds=1))
        person = builders.officer(db, agencies["PP-OFR"], clock.now(), name=f"Wartend {i}")
        queue.append(
            (person, db.call(regs.sign_up, course.id, person.id, clock.now()).registration_id)
        )
    return course, (holder, rid), queue


def test_a_freed_seat_of_an_offer_course_is_offered_to_the_first_in_line_and_held(
    db, clock, agencies
):
    course, (holder, rid), [(first, first_id), (_second, second_id)] = full_course_with_queue(
        db, clock, agencies
    )

    db.call(regs.cancel, rid, holder.id, clock.now())

    assert status(db, first_id) == (OFFERED, clock.now() + timedelta(hours=24))
    assert status(db, second_id)[0] == WAITING
    assert MessageKind.OFFER in builders.message_kinds(db, first.id)
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_accepting_an_offer_confirms_the_seat(db, clock, agencies):
    course, (holder, rid), [(first, first_id), _] = full_course_with_queue(db, clock, agencies)
    db.call(regs.cancel, rid, holder.id, clock.now())

    answer = db.call(offers.accept, first_id, first.id, clock.now())

    assert (answer.status, status(db, first_id)) == (CONFIRMED, (CONFIRMED, None))
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_declining_leaves_the_waiting_list_for_good_and_the_next_gets_their_own_offer(
    db, clock, agencies
):
    course, (holder, rid), [(first, first_id), (second, second_id)] = full_course_with_queue(
        db, clock, agencies
    )
    db.call(regs.cancel, rid, holder.id, clock.now())

    db.call(offers.decline, first_id, first.id, clock.now())

    assert status(db, first_id) == (CANCELLED, None)
    assert status(db, second_id)[0] == OFFERED
    assert MessageKind.OFFER in builders.message_kinds(db, second.id)
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_an_offer_left_unanswered_expires_at_its_deadline_and_goes_to_the_next(
    db, clock, agencies
):
    course, (holder, rid), [(first, first_id), (_, second_id)] = full_course_with_queue(
        db, clock, agencies, hours=6
    )
    db.call(regs.cancel, rid, holder.id, clock.now())

    clock.advance(timedelta(hours=6))
    builders.run_due_tasks(db, clock.now())

    assert status(db, first_id) == (CANCELLED, None)
    assert MessageKind.OFFER_EXPIRED in builders.message_kinds(db, first.id)
    assert status(db, second_id)[0] == OFFERED
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_accepting_at_the_moment_the_offer_expires_has_exactly_one_outcome(db, clock, agencies):
    course, (holder, rid), [(first, first_id), (_, second_id)] = full_course_with_queue(
        db, clock, agencies, hours=6
    )
    db.call(regs.cancel, rid, holder.id, clock.now())
    clock.advance(timedelta(hours=6))

    with pytest.raises(OfferEnded):
        db.call(offers.accept, first_id, first.id, clock.now())
    builders.run_due_tasks(db, clock.now())  # the expiry finds the offer ended already

    assert status(db, first_id)[0] == CANCELLED
    assert status(db, second_id)[0] == OFFERED
    with db.transaction(readonly=True) as session:
        offered = session.scalars(
            select(Registration.id).where(Registration.status == OFFERED)
        ).all()
    assert offered == [second_id]
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_an_officer_pressing_accept_on_someone_elses_offer_is_refused_and_nothing_changes(
    db, clock, agencies
):
    _, (holder, rid), [(_, first_id), (second, _)] = full_course_with_queue(db, clock, agencies)
    db.call(regs.cancel, rid, holder.id, clock.now())
    before = builders.snapshot(db)

    with pytest.raises(NotFound):
        db.call(offers.accept, first_id, second.id, clock.now())
    with pytest.raises(NotFound):
        db.call(offers.decline, first_id, second.id, clock.now())

    assert builders.snapshot(db) == before


def test_pressing_accept_twice_answers_the_second_time_that_the_offer_is_taken(
    db, clock, agencies
):
    _, (holder, rid), [(first, first_id), _] = full_course_with_queue(db, clock, agencies)
    db.call(regs.cancel, rid, holder.id, clock.now())
    db.call(offers.accept, first_id, first.id, clock.now())

    with pytest.raises(OfferEnded) as again:
        db.call(offers.accept, first_id, first.id, clock.now())

    assert again.value.outcome == "accepted"


def test_no_offer_runs_past_twelve_hours_before_the_start(db, clock, agencies):
    start = clock.now() + timedelta(days=3)
    _course, (holder, rid), [(_, first_id), _] = full_course_with_queue(
        db, clock, agencies, hours=168, start_at=start, registration_deadline=start
    )

    db.call(regs.cancel, rid, holder.id, clock.now())

    assert status(db, first_id) == (OFFERED, start - timedelta(hours=12))


def test_no_offer_runs_past_the_registration_deadline(db, clock, agencies):
    deadline = clock.now() + timedelta(hours=10)
    _course, (holder, rid), [(_, first_id), _] = full_course_with_queue(
        db, clock, agencies, registration_deadline=deadline
    )

    db.call(regs.cancel, rid, holder.id, clock.now())

    assert status(db, first_id) == (OFFERED, deadline)


def test_with_less_than_two_hours_left_no_offer_is_made_and_the_lead_is_told_of_the_free_seat(
    db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    deadline = clock.now() + timedelta(hours=3)
    course, (holder, rid), [(_, first_id), _] = full_course_with_queue(
        db, clock, agencies, registration_deadline=deadline, lead_id=lead.id
    )
    clock.advance(timedelta(hours=1, minutes=30))

    db.call(regs.cancel, rid, holder.id, clock.now())

    assert status(db, first_id)[0] == WAITING
    with db.transaction(readonly=True) as session:
        news = [
            what
            for detail in session.scalars(
                select(Outbox.detail).where(Outbox.kind == MessageKind.LEAD_NEWS)
            )
            for _, what in (detail or {}).get("news", [])
        ]
    assert News.FREE_SEAT_NO_TIME in news
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_an_accepted_offer_in_an_approval_agency_becomes_a_request(db, clock, agencies):
    chefin = builders.officer(db, agencies["PD-Z"], clock.now(), name="Chefin")
    course = builders.course(db, clock.now(), {"PP-OFR": 0, "PD-Z": 1}, offer_hours=24)
    holder = builders.officer(db, agencies["PD-Z"], clock.now())
    rid = db.call(regs.sign_up, course.id, holder.id, clock.now()).registration_id
    ben = builders.officer(db, agencies["PD-Z"], clock.now(), name="Ben")
    ben_id = db.call(regs.sign_up, course.id, ben.id, clock.now()).registration_id
    db.call(admin.set_approval, "PD-Z", True, clock.now(), actor=BOSS)
    db.call(admin.change_approver, "PD-Z", str(chefin.telegram_id), True, clock.now(), actor=BOSS)
    db.call(regs.cancel, rid, holder.id, clock.now())

    answer = db.call(offers.accept, ben_id, ben.id, clock.now())

    assert answer.status == REQUESTED
    assert MessageKind.APPROVAL_REQUEST in builders.message_kinds(db, chefin.id)
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_a_course_postponed_keeps_its_offer_within_the_new_limits(db, clock, agencies):
    course, (holder, rid), [(_, first_id), _] = full_course_with_queue(
        db, clock, agencies, hours=72
    )
    db.call(regs.cancel, rid, holder.id, clock.now())
    new_deadline = clock.now() + timedelta(hours=30)

    db.call(courses.edit_course, course.id, {"registration_deadline": new_deadline}, clock.now())

    assert status(db, first_id) == (OFFERED, new_deadline)
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_a_one_hour_offer_is_made_and_lasts_one_hour(db, clock, agencies):
    _, (holder, rid), [(_, first_id), _] = full_course_with_queue(db, clock, agencies, hours=1)

    db.call(regs.cancel, rid, holder.id, clock.now())

    assert status(db, first_id) == (OFFERED, clock.now() + timedelta(hours=1))


def test_a_deadline_extended_gives_a_seat_freed_too_late_for_an_offer_its_offer(
    db, clock, agencies
):
    deadline = clock.now() + timedelta(hours=3)
    course, (holder, rid), [(_, first_id), _] = full_course_with_queue(
        db, clock, agencies, registration_deadline=deadline
    )
    clock.advance(timedelta(hours=1, minutes=30))
    db.call(regs.cancel, rid, holder.id, clock.now())
    assert status(db, first_id)[0] == WAITING

    later = clock.now() + timedelta(days=5)
    db.call(courses.edit_course, course.id, {"registration_deadline": later}, clock.now())

    assert status(db, first_id) == (OFFERED, clock.now() + timedelta(hours=24))
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_switching_offers_off_moves_the_first_in_line_up_into_a_seat_left_free(
    db, clock, agencies
):
    deadline = clock.now() + timedelta(hours=3)
    course, (holder, rid), [(_, first_id), _] = full_course_with_queue(
        db, clock, agencies, registration_deadline=deadline
    )
    clock.advance(timedelta(hours=1, minutes=30))
    db.call(regs.cancel, rid, holder.id, clock.now())

    db.call(courses.edit_course, course.id, {"offer_hours": None}, clock.now())

    assert status(db, first_id) == (CONFIRMED, None)
    assert db.call(invariant_violations, course.id, clock.now()) == []
