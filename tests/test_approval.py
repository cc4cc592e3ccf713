"""Approval by the officer's own agency (Genehmigung): held seats, decisions, deadlines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kurse import admin, approval
from kurse import registrations as regs
from kurse.actors import Actor
from kurse.errors import AlreadyDecided, ApprovalTooLate, NotAllowed, NotFound, OwnRequest
from kurse.invariants import invariant_violations
from kurse.models import (
    AuditEntry,
    Registration,
    RegistrationStatus,
    Task,
    TaskKind,
    TaskState,
)
from kurse.outbox import MessageKind
from kurse.seats import load_seats
from tests import builders

BOSS = builders.ADMIN
CONFIRMED, WAITING = RegistrationStatus.CONFIRMED, RegistrationStatus.WAITING
REQUESTED, CANCELLED = RegistrationStatus.REQUESTED, RegistrationStatus.CANCELLED


def as_actor(person) -> Actor:
    return Actor(telegram_id=person.telegram_id, person_id=person.id)


def approval_on(db, clock, code="PP-OFR", *approvers):
    db.call(admin.set_approval, code, True, clock.now(), actor=BOSS)
    for person in approvers:
        db.call(
            admin.change_approver, code, str(person.telegram_id), True, clock.now(), actor=BOSS
        )


def registration(db, registration_id) -> Registration:
    with db.transaction(readonly=True) as session:
        found = session.get(Registration, registration_id)
        assert found is not None
        return found


def test_a_sign_up_in_an_approval_agency_holds_the_seat_as_requested_with_a_deadline(
    db, clock, agencies
):
    boss = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Dienststellenleiterin")
    approval_on(db, clock, "PP-OFR", boss)
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    bert = builders.officer(db, agencies["PP-OFR"], clock.now())

    first = db.call(regs.sign_up, course.id, anna.id, clock.now())
    second = db.call(regs.sign_up, course.id, bert.id, clock.now())

    assert (first.status, first.held_until) == (REQUESTED, clock.now() + timedelta(hours=72))
    assert (second.status, second.position) == (WAITING, 1)  # the held seat counts as taken
    assert builders.message_kinds(db, boss.id) == [MessageKind.APPROVAL_REQUEST]
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_the_approval_time_never_runs_past_the_registration_deadline(db, clock, agencies):
    approval_on(db, clock)
    start = clock.now() + timedelta(days=5)
    course = builders.course(
        db, clock.now(), start_at=start, registration_deadline=clock.now() + timedelta(hours=30)
    )
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())

    result = db.call(regs.sign_up, course.id, anna.id, clock.now())

    assert result.held_until == clock.now() + timedelta(hours=30)


def test_with_less_than_two_hours_before_the_deadline_nothing_is_held_and_the_officer_is_told(
    db, clock, agencies
):
    approval_on(db, clock)
    course = builders.course(
        db, clock.now(), registration_deadline=clock.now() + timedelta(hours=3)
    )
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    clock.advance(timedelta(hours=1, minutes=1))
    before = builders.snapshot(db)

    with pytest.raises(ApprovalTooLate):
        db.call(regs.sign_up, course.id, anna.id, clock.now())

    assert builders.snapshot(db) == before


def test_an_officer_of_an_agency_without_approval_is_confirmed_at_once(db, clock, agencies):
    approval_on(db, clock, "PP-OFR")
    course = builders.course(db, clock.now())
    ben = builders.officer(db, agencies["PD-Z"], clock.now())

    assert db.call(regs.sign_up, course.id, ben.id, clock.now()).status == CONFIRMED


def test_an_approval_confirms_the_seat_tells_the_officer_and_is_logged(db, clock, agencies):
    boss = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Chefin")
    approval_on(db, clock, "PP-OFR", boss)
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    rid = db.call(regs.sign_up, course.id, anna.id, clock.now()).registration_id

    decision = db.call(approval.decide, rid, True, clock.now(), actor=as_actor(boss))

    row = registration(db, rid)
    assert (decision.approved, row.status, row.held_until, row.decided_by) == (
        True,
        CONFIRMED,
        None,
        boss.id,
    )
    assert MessageKind.APPROVED in builders.message_kinds(db, anna.id)
    with db.transaction(readonly=True) as session:
        actions = session.scalars(select(AuditEntry.action)).all()
        pending = session.scalars(
            select(Task.state).where(Task.registration_id == rid, Task.state == TaskState.PENDING)
        ).all()
    assert "approval_approved" in actions
    assert pending == []  # the deadline and the reminder will not run
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_a_refusal_frees_the_seat_for_the_next_in_line_with_its_reason(db, clock, agencies):
    boss = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Chefin")
    approval_on(db, clock, "PP-OFR", boss)
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    bert = builders.officer(db, agencies["PP-OFR"], clock.now())
    first = db.call(regs.sign_up, course.id, anna.id, clock.now()).registration_id
    second = db.call(regs.sign_up, course.id, bert.id, clock.now()).registration_id

    db.call(approval.decide, first, False, clock.now(), actor=as_actor(boss), reason="Dienstplan")

    assert (registration(db, first).status, registration(db, first).outcome_reason) == (
        CANCELLED,
        "Dienstplan",
    )
    assert registration(db, second).status == REQUESTED  # moved up: requested in turn
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_a_second_approver_pressing_later_is_told_who_decided_and_changes_nothing(
    db, clock, agencies
):
    chefin = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Chefin")
    vertreter = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Vertreter")
    approval_on(db, clock, "PP-OFR", chefin, vertreter)
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    rid = db.call(regs.sign_up, course.id, anna.id, clock.now()).registration_id
    db.call(approval.decide, rid, True, clock.now(), actor=as_actor(chefin))
    before = builders.snapshot(db)

    with pytest.raises(AlreadyDecided) as refused:
        db.call(approval.decide, rid, False, clock.now(), actor=as_actor(vertreter))

    assert (refused.value.outcome, refused.value.decided_by) == ("approved", "Chefin")
    assert builders.snapshot(db) == before


def test_an_approver_of_the_other_agency_cannot_decide_and_nothing_changes(db, clock, agencies):
    ofr = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Chefin OFR")
    zwickau = builders.officer(db, agencies["PD-Z"], clock.now(), name="Chef Zwickau")
    approval_on(db, clock, "PP-OFR", ofr)
    approval_on(db, clock, "PD-Z", zwickau)
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    rid = db.call(regs.sign_up, course.id, anna.id, clock.now()).registration_id
    before = builders.snapshot(db)

    with pytest.raises(NotAllowed):
        db.call(approval.decide, rid, True, clock.now(), actor=as_actor(zwickau))
    with pytest.raises(NotAllowed):  # an officer who approves nothing
        db.call(approval.decide, rid, True, clock.now(), actor=as_actor(anna))
    with pytest.raises(NotFound):  # a made-up id
        db.call(approval.decide, 10**9, True, clock.now(), actor=as_actor(ofr))

    assert builders.snapshot(db) == before


def test_a_removed_approvers_old_button_is_refused(db, clock, agencies):
    chefin = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Chefin")
    approval_on(db, clock, "PP-OFR", chefin)
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    rid = db.call(regs.sign_up, course.id, anna.id, clock.now()).registration_id
    db.call(
        admin.change_approver, "PP-OFR", str(chefin.telegram_id), False, clock.now(), actor=BOSS
    )

    with pytest.raises(NotAllowed):
        db.call(approval.decide, rid, True, clock.now(), actor=as_actor(chefin))

    assert registration(db, rid).status == REQUESTED


def test_an_approver_cannot_approve_their_own_sign_up(db, clock, agencies):
    chefin = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Chefin")
    approval_on(db, clock, "PP-OFR", chefin)
    course = builders.course(db, clock.now())
    rid = db.call(regs.sign_up, course.id, chefin.id, clock.now()).registration_id

    with pytest.raises(OwnRequest):
        db.call(approval.decide, rid, True, clock.now(), actor=as_actor(chefin))

    assert registration(db, rid).status == REQUESTED


def test_at_half_time_the_approvers_are_reminded_once_and_at_the_deadline_the_seat_is_freed(
    db, clock, agencies
):
    chefin = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Chefin")
    approval_on(db, clock, "PP-OFR", chefin)
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    bert = builders.officer(db, agencies["PP-OFR"], clock.now())
    first = db.call(regs.sign_up, course.id, anna.id, clock.now()).registration_id
    second = db.call(regs.sign_up, course.id, bert.id, clock.now()).registration_id

    clock.advance(timedelta(hours=36))
    builders.run_due_tasks(db, clock.now())
    builders.run_due_tasks(db, clock.now())
    reminded = builders.message_kinds(db, chefin.id).count(MessageKind.APPROVAL_REMINDER)
    clock.advance(timedelta(hours=36))
    builders.run_due_tasks(db, clock.now())

    assert reminded == 1
    assert (registration(db, first).status, registration(db, first).outcome) == (
        CANCELLED,
        "approval_expired",
    )
    assert MessageKind.APPROVAL_EXPIRED in builders.message_kinds(db, anna.id)
    assert registration(db, second).status == REQUESTED
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_a_course_deadline_moved_earlier_moves_the_approval_deadline_with_it(db, clock, agencies):
    approval_on(db, clock)
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    rid = db.call(regs.sign_up, course.id, anna.id, clock.now()).registration_id
    new_deadline = clock.now() + timedelta(hours=20)

    from kurse import courses

    db.call(courses.edit_course, course.id, {"registration_deadline": new_deadline}, clock.now())

    assert registration(db, rid).held_until == new_deadline
    with db.transaction(readonly=True) as session:
        expiry = session.scalar(
            select(Task.due_at).where(
                Task.registration_id == rid, Task.kind == TaskKind.HOLD_EXPIRY
            )
        )
    assert expiry == new_deadline
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_a_withdrawn_request_frees_the_seat_and_cannot_be_decided_any_more(db, clock, agencies):
    chefin = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Chefin")
    approval_on(db, clock, "PP-OFR", chefin)
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    rid = db.call(regs.sign_up, course.id, anna.id, clock.now()).registration_id

    db.call(regs.cancel, rid, anna.id, clock.now())

    with pytest.raises(AlreadyDecided) as refused:
        db.call(approval.decide, rid, True, clock.now(), actor=as_actor(chefin))
    assert refused.value.outcome == "withdrawn"
    with db.transaction(readonly=True) as session:
        assert load_seats(session, course.id, released=False).confirmed == {}


def test_approve_all_decides_every_waiting_request_of_the_approvers_agency_oldest_first(
    db, clock, agencies
):
    chefin = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Chefin")
    approval_on(db, clock, "PP-OFR", chefin)
    approval_on(db, clock, "PD-Z")
    course = builders.course(db, clock.now())
    ofr = [builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in range(3)]
    ben = builders.officer(db, agencies["PD-Z"], clock.now())
    for person in [*ofr, ben]:
        db.call(regs.sign_up, course.id, person.id, clock.now())
        clock.advance(timedelta(minutes=1))

    listed = db.call(approval.pending, clock.now(), actor=as_actor(chefin))
    decisions = db.call(approval.approve_all, clock.now(), actor=as_actor(chefin))

    assert [p.registration_id for p in listed] == [d.registration_id for d in decisions]
    assert len(decisions) == 3  # Ben of Zwickau is not hers to decide
    with db.transaction(readonly=True) as session:
        statuses = dict(session.execute(select(Registration.person_id, Registration.status)).all())
    assert statuses == {**{p.id: CONFIRMED for p in ofr}, ben.id: REQUESTED}


def test_a_deadline_moved_earlier_shortens_a_request_and_never_lengthens_it_past_the_deadline(
    db, clock, agencies
):
    approval_on(db, clock)
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    rid = db.call(regs.sign_up, course.id, anna.id, clock.now()).registration_id
    from kurse import courses

    soon = clock.now() + timedelta(hours=1)
    db.call(courses.edit_course, course.id, {"registration_deadline": soon}, clock.now())
    shortened = registration(db, rid).held_until
    later = clock.now() + timedelta(days=10)
    db.call(courses.edit_course, course.id, {"registration_deadline": later}, clock.now())

    assert shortened == soon
    assert registration(db, rid).held_until == clock.now() + timedelta(hours=72)


def test_after_the_deadline_a_seat_freed_for_approval_goes_to_the_lead_until_approval_is_off(
    db, clock, agencies
):
    approval_on(db, clock)
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    course_id = course.id
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    bert = builders.officer(db, agencies["PP-OFR"], clock.now())
    chefin = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Chefin")
    db.call(
        admin.change_approver, "PP-OFR", str(chefin.telegram_id), True, clock.now(), actor=BOSS
    )
    first = db.call(regs.sign_up, course_id, anna.id, clock.now()).registration_id
    second = db.call(regs.sign_up, course_id, bert.id, clock.now()).registration_id
    db.call(approval.decide, first, True, clock.now(), actor=as_actor(chefin))
    clock.set(course.registration_deadline)  # cancelling is still allowed: same deadline
    clock.advance(timedelta(seconds=-1))
    from kurse import courses

    db.call(
        courses.edit_course,
        course_id,
        {"cancellation_deadline": course.start_at - timedelta(days=2)},
        clock.now(),
    )
    clock.advance(timedelta(hours=1))
    cancelled = db.call(regs.cancel, first, anna.id, clock.now())

    assert (cancelled.free_seat_for_lead, registration(db, second).status) == (True, WAITING)
    assert db.call(invariant_violations, course_id, clock.now()) == []
    db.call(admin.set_approval, "PP-OFR", False, clock.now(), actor=BOSS)
    assert registration(db, second).status == CONFIRMED
    assert db.call(invariant_violations, course_id, clock.now()) == []


def test_a_refusals_reason_is_not_written_to_the_audit_log_and_is_forgotten_at_retention(
    db, clock, agencies
):
    chefin = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Chefin")
    approval_on(db, clock, "PP-OFR", chefin)
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    rid = db.call(regs.sign_up, course.id, anna.id, clock.now()).registration_id
    reason = "Frau Beispiel ist ab März in Elternzeit"
    db.call(approval.decide, rid, False, clock.now(), actor=as_actor(chefin), reason=reason)

    clock.set(course.end_at + timedelta(days=91))
    builders.run_due_tasks(db, clock.now())

    with db.transaction(readonly=True) as session:
        texts = [str(e.after) + str(e.before) for e in session.scalars(select(AuditEntry))]
        row = session.get(Registration, rid)
        assert row is not None
        kept = (row.person_id, row.decided_by, row.outcome_reason)
    assert not any("Elternzeit" in text for text in texts)
    assert kept == (None, None, None)


def test_a_new_approver_hears_of_the_requests_already_waiting_and_the_others_not_twice(
    db, clock, agencies
):
    chefin = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Chefin")
    approval_on(db, clock, "PP-OFR", chefin)
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    db.call(regs.sign_up, course.id, anna.id, clock.now())
    vertreter = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Vertreter")

    db.call(
        admin.change_approver, "PP-OFR", str(vertreter.telegram_id), True, clock.now(), actor=BOSS
    )

    assert builders.message_kinds(db, vertreter.id) == [MessageKind.APPROVAL_REQUEST]
    assert builders.message_kinds(db, chefin.id) == [MessageKind.APPROVAL_REQUEST]
