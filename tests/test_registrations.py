"""The seat rules of PRODUCT.md §4, one rule per test."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from kurse import registrations as regs
from kurse.clock import SettableClock
from kurse.db import Database
from kurse.errors import (
    CancellationClosed,
    CourseNotOpen,
    InvalidInput,
    NotFound,
    NotRegistered,
    QuotaBelowConfirmed,
    RegistrationClosed,
)
from kurse.invariants import invariant_violations
from kurse.models import Registration, RegistrationStatus
from kurse.quotas import set_quotas
from kurse.registration_lists import participants, person_registrations
from kurse.seats import load_seats
from tests import builders

CONFIRMED, WAITING = RegistrationStatus.CONFIRMED, RegistrationStatus.WAITING


def sign_up(db: Database, course_id: int, person_id: int, clock: SettableClock):
    return db.call(regs.sign_up, course_id, person_id, clock.now())


def statuses(db: Database, course_id: int) -> dict[int | None, str]:
    with db.transaction(readonly=True) as session:
        rows = session.execute(
            select(Registration.person_id, Registration.status).where(
                Registration.course_id == course_id
            )
        )
        return dict(rows.all())


def test_sign_up_takes_a_seat_of_the_officers_agency(db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())

    result = sign_up(db, course.id, anna.id, clock)

    assert (result.status, result.position, result.already) == (CONFIRMED, None, False)
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_sign_up_waits_when_own_quota_is_full_although_other_agency_has_seats(db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 3})
    first = builders.officer(db, agencies["PP-OFR"], clock.now())
    second = builders.officer(db, agencies["PP-OFR"], clock.now())
    sign_up(db, course.id, first.id, clock)

    result = sign_up(db, course.id, second.id, clock)

    assert (result.status, result.position) == (WAITING, 1)


def test_waiting_positions_count_per_agency_before_release(db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    ofr = [builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in range(3)]
    zwi = [builders.officer(db, agencies["PD-Z"], clock.now()) for _ in range(3)]

    results = [
        sign_up(db, course.id, p.id, clock) for pair in zip(ofr, zwi, strict=True) for p in pair
    ]

    assert [(r.status, r.position) for r in results] == [
        (CONFIRMED, None),
        (CONFIRMED, None),
        (WAITING, 1),
        (WAITING, 1),
        (WAITING, 2),
        (WAITING, 2),
    ]


def test_second_sign_up_changes_nothing_and_says_so(db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    first = sign_up(db, course.id, anna.id, clock)

    second = sign_up(db, course.id, anna.id, clock)

    assert second.already
    assert second.registration_id == first.registration_id
    assert second.status == CONFIRMED
    with db.transaction(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Registration)) == 1


def test_sign_up_after_the_registration_deadline_is_refused_naming_the_lead(db, clock, agencies):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), lead_id=lead.id)
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    clock.set(course.registration_deadline)

    with pytest.raises(RegistrationClosed) as error:
        sign_up(db, course.id, anna.id, clock)

    assert error.value.lead_id == lead.id
    assert statuses(db, course.id) == {}


def test_sign_up_for_unknown_course_or_person_is_not_found(db, clock, agencies):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())

    with pytest.raises(NotFound):
        sign_up(db, 99_999, anna.id, clock)
    with pytest.raises(NotFound):
        sign_up(db, course.id, 99_999, clock)
    assert statuses(db, course.id) == {}


def test_sign_up_for_a_cancelled_course_is_refused(db, clock, agencies):
    from kurse.courses import cancel_course

    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    db.call(cancel_course, course.id, clock.now(), reason="Lehrgangsleiter erkrankt")

    with pytest.raises(CourseNotOpen):
        sign_up(db, course.id, anna.id, clock)


def test_cancelling_frees_the_seat_for_the_first_waiting_officer_of_the_agency(
    db, clock, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    holder, first, second = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "abc")
    other = builders.officer(db, agencies["PD-Z"], clock.now())
    held = sign_up(db, course.id, holder.id, clock)
    sign_up(db, course.id, first.id, clock)
    sign_up(db, course.id, second.id, clock)
    sign_up(db, course.id, other.id, clock)

    result = db.call(regs.cancel, held.registration_id, holder.id, clock.now())

    assert [p.person_id for p in result.promoted] == [first.id]
    assert statuses(db, course.id) == {
        holder.id: "cancelled",
        first.id: "confirmed",
        second.id: "waiting",
        other.id: "confirmed",
    }
    mine = db.call(person_registrations, second.id, clock.now())
    assert [(m.status, m.position) for m in mine] == [(WAITING, 1)]


def test_cancelling_another_users_registration_is_not_found_and_changes_nothing(
    db, clock, agencies
):
    course = builders.course(db, clock.now())
    anna, mallory = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "am")
    held = sign_up(db, course.id, anna.id, clock)

    with pytest.raises(NotFound):
        db.call(regs.cancel, held.registration_id, mallory.id, clock.now())

    assert statuses(db, course.id) == {anna.id: "confirmed"}


def test_cancelling_twice_says_not_registered(db, clock, agencies):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    held = sign_up(db, course.id, anna.id, clock)
    db.call(regs.cancel, held.registration_id, anna.id, clock.now())

    with pytest.raises(NotRegistered):
        db.call(regs.cancel, held.registration_id, anna.id, clock.now())


def test_cancelling_after_the_cancellation_deadline_is_refused_naming_the_lead(
    db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now())
    course = builders.course(db, clock.now(), lead_id=lead.id)
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    held = sign_up(db, course.id, anna.id, clock)
    clock.set(course.cancellation_deadline + timedelta(minutes=1))

    with pytest.raises(CancellationClosed) as error:
        db.call(regs.cancel, held.registration_id, anna.id, clock.now())

    assert error.value.lead_id == lead.id
    assert statuses(db, course.id) == {anna.id: "confirmed"}


def test_a_waiting_officer_may_leave_the_waiting_list_after_the_deadline(db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 1})
    holder, waiter = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "hw")
    sign_up(db, course.id, holder.id, clock)
    waiting = sign_up(db, course.id, waiter.id, clock)
    clock.set(course.cancellation_deadline + timedelta(hours=1))

    result = db.call(regs.cancel, waiting.registration_id, waiter.id, clock.now())

    assert result.previous_status == WAITING
    assert statuses(db, course.id)[waiter.id] == "cancelled"


def test_in_the_last_24_hours_a_free_seat_goes_to_the_lead_not_to_the_waiting_list(
    db, clock, agencies
):
    start = clock.now() + timedelta(days=10)
    course = builders.course(
        db, clock.now(), {"PP-OFR": 1}, start_at=start, cancellation_deadline=start
    )
    holder, waiter = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "hw")
    held = sign_up(db, course.id, holder.id, clock)
    sign_up(db, course.id, waiter.id, clock)
    clock.set(start - timedelta(hours=3))

    result = db.call(regs.cancel, held.registration_id, holder.id, clock.now())

    assert result.promoted == []
    assert result.free_seat_for_lead
    assert statuses(db, course.id)[waiter.id] == "waiting"
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_after_the_release_date_unused_seats_go_to_other_agencies_in_arrival_order(
    db, clock, agencies
):
    release = clock.now() + timedelta(days=5)
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 2}, release_at=release)
    ofr = [builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in range(3)]
    zwi = builders.officer(db, agencies["PD-Z"], clock.now())
    for person in ofr:
        sign_up(db, course.id, person.id, clock)
    sign_up(db, course.id, zwi.id, clock)
    clock.set(release)

    promoted = db.call(regs.release_seats, course.id, clock.now())

    assert [p.person_id for p in promoted] == [ofr[1].id]
    assert statuses(db, course.id)[ofr[2].id] == "waiting"
    late = builders.officer(db, agencies["PD-Z"], clock.now())
    assert sign_up(db, course.id, late.id, clock).status == WAITING
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_raising_a_quota_promotes_waiting_officers_at_once(db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    ofr = [builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in range(3)]
    for person in ofr:
        sign_up(db, course.id, person.id, clock)

    change = db.call(set_quotas, course.id, {"PP-OFR": 2}, clock.now())

    assert [p.person_id for p in change.promoted] == [ofr[1].id]
    assert change.after == {"PP-OFR": 2, "PD-Z": 1}


def test_lowering_a_quota_below_confirmed_is_refused_and_says_how_many_are_over(
    db, clock, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 3, "PD-Z": 1})
    ofr = [builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in range(3)]
    for person in ofr:
        sign_up(db, course.id, person.id, clock)

    with pytest.raises(QuotaBelowConfirmed) as error:
        db.call(set_quotas, course.id, {"PP-OFR": 1}, clock.now())

    assert error.value.over == {"PP-OFR": 2}
    assert set(statuses(db, course.id).values()) == {"confirmed"}


def test_lowering_a_quota_with_the_admins_decision_moves_the_latest_to_the_waiting_list(
    db, clock, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 3, "PD-Z": 1})
    ofr = [builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in range(4)]
    for person in ofr:
        sign_up(db, course.id, person.id, clock)

    change = db.call(set_quotas, course.id, {"PP-OFR": 1}, clock.now(), on_excess="demote_latest")

    assert sorted(change.demoted) == sorted([ofr[1].id, ofr[2].id])
    mine = {p.id: db.call(person_registrations, p.id, clock.now()) for p in ofr}
    assert [(m[0].status, m[0].position) for m in mine.values()] == [
        (CONFIRMED, None),
        (WAITING, 1),
        (WAITING, 2),
        (WAITING, 3),
    ]


@pytest.mark.parametrize("seats", [{"PP-OFR": -1}, {"PP-OFR": 10**9}, {"XX-UNBEKANNT": 3}])
def test_quotas_out_of_range_or_for_unknown_agencies_are_refused(db, clock, agencies, seats):
    course = builders.course(db, clock.now(), {"PP-OFR": 2, "PD-Z": 2})

    with pytest.raises((InvalidInput, NotFound)):
        db.call(set_quotas, course.id, seats, clock.now())

    with db.transaction(readonly=True) as session:
        assert load_seats(session, course.id, released=False).quotas == {
            agencies["PP-OFR"].id: 2,
            agencies["PD-Z"].id: 2,
        }


def test_signing_up_again_after_cancelling_joins_the_back_of_the_queue(db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 1})
    holder, a, b = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "hab")
    sign_up(db, course.id, holder.id, clock)
    first_a = sign_up(db, course.id, a.id, clock)
    sign_up(db, course.id, b.id, clock)
    db.call(regs.cancel, first_a.registration_id, a.id, clock.now())

    again = sign_up(db, course.id, a.id, clock)

    assert (again.registration_id, again.status, again.position) == (
        first_a.registration_id,
        WAITING,
        2,
    )


def test_participant_list_groups_confirmed_by_agency_then_the_waiting_list(db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    names = ["Zoe Zwickau", "Otto Oberfranken", "Olga Oberfranken"]
    zoe = builders.officer(db, agencies["PD-Z"], clock.now(), name=names[0])
    otto = builders.officer(db, agencies["PP-OFR"], clock.now(), name=names[1])
    olga = builders.officer(db, agencies["PP-OFR"], clock.now(), name=names[2])
    for person in (zoe, otto, olga):
        sign_up(db, course.id, person.id, clock)

    listing = db.call(participants, course.id, clock.now())

    assert {code: [p.name for p in rows] for code, rows in listing.confirmed.items()} == {
        "PD-Z": ["Zoe Zwickau"],
        "PP-OFR": ["Otto Oberfranken"],
    }
    assert [(p.name, p.position) for p in listing.waiting] == [("Olga Oberfranken", 1)]


def test_a_group_of_sign_ups_decides_each_request_in_order_at_its_own_moment(db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    anna, bert, cora = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in range(3))
    dora = builders.officer(db, agencies["PD-Z"], clock.now())
    sign_up(db, course.id, cora.id, clock)
    db.call(regs.cancel_for_course, course.id, cora.id, clock.now())
    before = clock.now()
    late = course.registration_deadline

    results = db.call(
        regs.sign_up_many,
        course.id,
        [
            (anna.id, before),
            (anna.id, before),  # a second click in the same group
            (999_999, before),  # nobody
            (cora.id, before),  # again after cancelling
            (bert.id, late),  # after the deadline
            (dora.id, before),
        ],
    )

    first, again, nobody, cora_again, too_late, other_agency = results
    assert (first.status, first.already) == (CONFIRMED, False)
    assert (again.registration_id, again.status, again.already) == (
        first.registration_id,
        CONFIRMED,
        True,
    )
    assert isinstance(nobody, NotFound)
    assert (cora_again.status, cora_again.position) == (WAITING, 1)
    assert isinstance(too_late, RegistrationClosed)
    assert (other_agency.status, other_agency.position) == (CONFIRMED, None)
    assert statuses(db, course.id) == {
        anna.id: "confirmed",
        cora.id: "waiting",
        dora.id: "confirmed",
    }
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_a_group_of_sign_ups_for_a_course_that_is_not_open_is_refused_whole(db, clock, agencies):
    from kurse.courses import cancel_course

    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())

    unknown = db.call(regs.sign_up_many, 999_999, [(anna.id, clock.now())])
    db.call(cancel_course, course.id, clock.now(), reason="Ausfall")
    cancelled = db.call(regs.sign_up_many, course.id, [(anna.id, clock.now())] * 2)

    assert isinstance(unknown[0], NotFound)
    assert [type(r) for r in cancelled] == [CourseNotOpen, CourseNotOpen]
    assert statuses(db, course.id) == {}


# --- rules that no test named before the mutation check (tests/mutations.py) ---------------


def via_release(db: Database, course_id: int) -> dict[int | None, bool]:
    with db.transaction(readonly=True) as session:
        rows = session.execute(
            select(Registration.person_id, Registration.via_release).where(
                Registration.course_id == course_id, Registration.status == CONFIRMED
            )
        )
        return dict(rows.all())


def test_after_the_release_date_a_sign_up_whose_own_quota_is_full_takes_an_unused_seat(
    db, clock, agencies
):
    release = clock.now() + timedelta(days=5)
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1}, release_at=release)
    first, second = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "fs")
    zoe = builders.officer(db, agencies["PD-Z"], clock.now())
    sign_up(db, course.id, first.id, clock)
    clock.set(release)

    taken = sign_up(db, course.id, second.id, clock)
    late = sign_up(db, course.id, zoe.id, clock)

    assert (taken.status, late.status, late.position) == (CONFIRMED, WAITING, 1)
    assert via_release(db, course.id) == {first.id: False, second.id: True}
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_after_the_release_date_every_seat_taken_beyond_the_own_quota_is_marked_released(
    db, clock, agencies
):
    release = clock.now() + timedelta(days=5)
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 2}, release_at=release)
    ofr = [builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in range(3)]
    for person in ofr:
        sign_up(db, course.id, person.id, clock)
    clock.set(release)

    db.call(regs.release_seats, course.id, clock.now())

    assert via_release(db, course.id) == {ofr[0].id: False, ofr[1].id: True, ofr[2].id: True}


def test_after_the_release_date_waiting_positions_count_across_agencies(db, clock, agencies):
    release = clock.now() + timedelta(days=5)
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1}, release_at=release)
    o1, o2, o3 = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in range(3))
    z1, z2, z3 = (builders.officer(db, agencies["PD-Z"], clock.now()) for _ in range(3))
    for person in (o1, z1, o2, z2, o3):
        sign_up(db, course.id, person.id, clock)
    clock.set(release)

    late = sign_up(db, course.id, z3.id, clock)

    positions = {
        p.id: db.call(person_registrations, p.id, clock.now())[0].position for p in (o2, z2, o3)
    }
    assert positions == {o2.id: 1, z2.id: 2, o3.id: 3}
    assert (late.status, late.position) == (WAITING, 4)


def last_day_course(db, clock, agencies, seats):
    """A course starting in ten days whose registration and cancellation stay open until an
    hour before the start (so that both happen in its last day), led by Lea."""
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    start = clock.now() + timedelta(days=10)
    course = builders.course(
        db,
        clock.now(),
        seats,
        start_at=start,
        registration_deadline=start - timedelta(hours=1),
        cancellation_deadline=start - timedelta(hours=1),
        lead_id=lead.id,
    )
    return course, lead


def test_in_the_last_24_hours_a_newcomer_queues_behind_those_waiting_for_a_freed_seat(
    db, clock, agencies
):
    course, _lead = last_day_course(db, clock, agencies, {"PP-OFR": 1, "PD-Z": 1})
    holder, waiter, newcomer = (
        builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "hwn"
    )
    held = sign_up(db, course.id, holder.id, clock)
    sign_up(db, course.id, waiter.id, clock)
    clock.set(course.start_at - timedelta(hours=3))
    db.call(regs.cancel, held.registration_id, holder.id, clock.now())  # the seat is the lead's

    result = sign_up(db, course.id, newcomer.id, clock)

    assert (result.status, result.position) == (WAITING, 2)
    assert statuses(db, course.id) == {
        holder.id: "cancelled",
        waiter.id: "waiting",
        newcomer.id: "waiting",
    }


def test_in_the_last_24_hours_a_raised_quota_moves_nobody_up(db, clock, agencies):
    course, _lead = last_day_course(db, clock, agencies, {"PP-OFR": 1})
    holder, waiter = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "hw")
    sign_up(db, course.id, holder.id, clock)
    sign_up(db, course.id, waiter.id, clock)
    clock.set(course.start_at - timedelta(hours=3))

    change = db.call(set_quotas, course.id, {"PP-OFR": 2}, clock.now())

    assert change.promoted == []
    assert statuses(db, course.id)[waiter.id] == "waiting"


def test_leaving_the_waiting_list_after_the_start_is_refused_naming_the_lead(db, clock, agencies):
    course, lead = last_day_course(db, clock, agencies, {"PP-OFR": 1})
    holder, waiter = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "hw")
    sign_up(db, course.id, holder.id, clock)
    waiting = sign_up(db, course.id, waiter.id, clock)
    clock.set(course.start_at)

    with pytest.raises(CancellationClosed) as error:
        db.call(regs.cancel, waiting.registration_id, waiter.id, clock.now())

    assert error.value.lead_id == lead.id
    assert statuses(db, course.id)[waiter.id] == "waiting"


def test_after_the_start_nobody_is_moved_up_into_a_free_seat_not_even_by_a_late_release(
    db, clock, agencies
):
    course, _lead = last_day_course(db, clock, agencies, {"PP-OFR": 1})
    holder, waiter = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "hw")
    held = sign_up(db, course.id, holder.id, clock)
    sign_up(db, course.id, waiter.id, clock)
    clock.set(course.start_at - timedelta(hours=3))
    db.call(regs.cancel, held.registration_id, holder.id, clock.now())  # the lead filled nobody
    clock.set(course.start_at + timedelta(hours=1))

    promoted = db.call(regs.release_seats, course.id, clock.now())

    assert promoted == []
    assert statuses(db, course.id)[waiter.id] == "waiting"


@pytest.mark.usefixtures("agencies")
def test_quotas_cannot_change_after_the_start(db, clock):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    clock.set(course.start_at)

    with pytest.raises(InvalidInput) as error:
        db.call(set_quotas, course.id, {"PP-OFR": 3}, clock.now())

    assert error.value.reason == "course_started"


def test_a_second_click_of_a_waiting_officer_keeps_the_place_in_the_queue(db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 1})
    holder, first, second = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "hfs")
    sign_up(db, course.id, holder.id, clock)
    waiting = sign_up(db, course.id, first.id, clock)
    sign_up(db, course.id, second.id, clock)

    again = sign_up(db, course.id, first.id, clock)

    assert (again.registration_id, again.status, again.position, again.already) == (
        waiting.registration_id,
        WAITING,
        1,
        True,
    )
    mine = db.call(person_registrations, second.id, clock.now())
    assert [(m.status, m.position) for m in mine] == [(WAITING, 2)]
