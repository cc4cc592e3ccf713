"""Creating, editing, cancelling and listing courses."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from kurse import courses
from kurse import registrations as regs
from kurse.errors import CourseNotOpen, InvalidInput, NotFound
from kurse.models import Course, CourseStatus
from kurse.seats import load_seats
from tests import builders


def course_count(db) -> int:
    with db.transaction(readonly=True) as session:
        return session.scalar(select(func.count()).select_from(Course))


def test_a_new_course_gets_a_code_of_its_year_and_its_quotas(db, clock, agencies):
    first = builders.course(db, clock.now(), {"PP-OFR": 10, "PD-Z": 8})
    second = builders.course(db, clock.now())

    assert (first.code, second.code) == ("K-2027-001", "K-2027-002")
    assert first.cancellation_deadline == first.registration_deadline
    with db.transaction(readonly=True) as session:
        seats = load_seats(session, first.id, released=False)
    assert seats.quotas == {agencies["PP-OFR"].id: 10, agencies["PD-Z"].id: 8}


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"title": ""}, "title", "empty"),
        ({"title": "T" * 10_000}, "title", "too_long"),
        ({"description": "D" * 10_000}, "description", "too_long"),
        ({"start_at": "past"}, "start_at", "in_past"),
        ({"end_at": "before_start"}, "end_at", "not_after_start"),
        ({"registration_deadline": "after_start"}, "registration_deadline", "after_start"),
        ({"registration_deadline": "past"}, "registration_deadline", "in_past"),
        ({"cancellation_deadline": "after_start"}, "cancellation_deadline", "after_start"),
        ({"release_at": "after_start"}, "release_at", "after_start"),
        ({"seats": {"PP-OFR": 0, "PD-Z": 0}}, "seats", "no_seats"),
        ({"seats": {"PP-OFR": -1}}, "seats", "out_of_range"),
        ({"seats": {"PP-OFR": 10**9}}, "seats", "out_of_range"),
        ({"seats": {}}, "seats", "empty"),
        ({"min_participants": 50}, "min_participants", "more_than_seats"),
    ],
)
@pytest.mark.usefixtures("agencies")
def test_invalid_courses_are_refused_naming_the_field_and_nothing_is_written(
    db, clock, overrides, field, reason
):
    now = clock.now()
    start = now + timedelta(days=30)
    symbolic = {
        "past": now - timedelta(days=1),
        "before_start": start - timedelta(hours=1),
        "after_start": start + timedelta(hours=1),
    }
    values = {k: symbolic.get(v, v) if isinstance(v, str) else v for k, v in overrides.items()}
    values = {"start_at": start, **values}
    if values.get("start_at") == symbolic["past"]:
        values["end_at"] = now + timedelta(hours=5)
        values["registration_deadline"] = now - timedelta(days=2)

    with pytest.raises(InvalidInput) as error:
        builders.course(db, now, **values)

    assert (error.value.field, error.value.reason) == (field, reason)
    assert course_count(db) == 0


@pytest.mark.usefixtures("agencies")
def test_a_course_with_an_unknown_agency_or_lead_is_not_created(db, clock):
    with pytest.raises(NotFound) as error:
        builders.course(db, clock.now(), {"PP-OFR": 2, "LKA-BY": 3})
    assert (error.value.kind, error.value.given) == ("agency", "LKA-BY")

    with pytest.raises(NotFound):
        builders.course(db, clock.now(), lead_id=4711)
    assert course_count(db) == 0


@pytest.mark.usefixtures("agencies")
def test_naive_datetimes_are_refused_not_guessed(db, clock):
    with pytest.raises(InvalidInput) as error:
        builders.course(db, clock.now(), start_at=datetime(2027, 3, 12, 9, 0))

    assert error.value.reason == "naive_datetime"


def test_editing_a_course_reports_what_changed_and_whom_to_tell(db, clock, agencies):
    course = builders.course(db, clock.now())
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())
    db.call(regs.sign_up, course.id, anna.id, clock.now())
    later = course.start_at + timedelta(days=1)

    edit = db.call(
        courses.edit_course,
        course.id,
        {"start_at": later, "end_at": later + timedelta(hours=8), "title": course.title},
        clock.now(),
    )

    assert set(edit.changes) == {"start_at", "end_at"}
    assert edit.schedule_changed
    assert edit.affected_person_ids == [anna.id]
    assert db.call(courses.get_course, course.id).start_at == later


@pytest.mark.usefixtures("agencies")
def test_editing_with_an_invalid_value_changes_nothing(db, clock):
    course = builders.course(db, clock.now())

    with pytest.raises(InvalidInput):
        db.call(
            courses.edit_course,
            course.id,
            {"end_at": course.start_at - timedelta(hours=1)},
            clock.now(),
        )
    with pytest.raises(InvalidInput):
        db.call(courses.edit_course, course.id, {"reg_seq": 0}, clock.now())

    assert db.call(courses.get_course, course.id).end_at == course.end_at


def test_taking_back_a_release_date_after_released_seats_were_taken_is_refused(
    db, clock, agencies
):
    release = clock.now() + timedelta(days=2)
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1}, release_at=release)
    a, b = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "ab")
    clock.set(release)
    db.call(regs.sign_up, course.id, a.id, clock.now())
    db.call(regs.sign_up, course.id, b.id, clock.now())  # takes PD-Z's released seat

    with pytest.raises(InvalidInput) as error:
        db.call(courses.edit_course, course.id, {"release_at": None}, clock.now())

    assert error.value.reason == "released_seats_taken"


def test_cancelling_a_course_returns_everyone_confirmed_or_waiting_once(db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    officers = [builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in range(3)]
    for person in officers:
        db.call(regs.sign_up, course.id, person.id, clock.now())

    told = db.call(courses.cancel_course, course.id, clock.now(), reason="Hochwasser")

    assert told == [p.id for p in officers]
    cancelled = db.call(courses.get_course, course.id)
    assert (cancelled.status, cancelled.cancel_reason) == (CourseStatus.CANCELLED, "Hochwasser")
    with pytest.raises(CourseNotOpen):
        db.call(courses.cancel_course, course.id, clock.now())


def test_open_courses_are_listed_soonest_first_with_seats_left_for_the_own_agency(
    db, clock, agencies
):
    now = clock.now()
    late = builders.course(db, now, {"PP-OFR": 2, "PD-Z": 2}, start_at=now + timedelta(days=60))
    soon = builders.course(db, now, {"PP-OFR": 1, "PD-Z": 3}, start_at=now + timedelta(days=20))
    closed = builders.course(
        db, now, start_at=now + timedelta(days=3), registration_deadline=now + timedelta(hours=1)
    )
    anna = builders.officer(db, agencies["PP-OFR"], now)
    db.call(regs.sign_up, soon.id, anna.id, now)
    clock.advance(timedelta(hours=2))

    page = db.call_read(courses.list_open_courses, agencies["PP-OFR"].id, clock.now())

    assert [(i.course.id, i.seats_left) for i in page.items] == [(soon.id, 0), (late.id, 2)]
    assert closed.id not in [i.course.id for i in page.items]
    other = db.call(courses.list_open_courses, agencies["PD-Z"].id, clock.now())
    assert [i.seats_left for i in other.items] == [3, 2]


def test_course_list_pages_hold_page_size_items_and_clamp_the_page_number(db, clock, agencies):
    now = clock.now()
    for day in range(7):
        builders.course(db, now, start_at=now + timedelta(days=20 + day))

    pages = [
        db.call(courses.list_open_courses, agencies["PD-Z"].id, now, page=n, page_size=3)
        for n in (0, 1, 2, 99, -5)
    ]

    assert [len(p.items) for p in pages] == [3, 3, 1, 1, 3]
    assert {(p.pages, p.total) for p in pages} == {(3, 7)}
    assert [p.page for p in pages] == [0, 1, 2, 2, 0]
