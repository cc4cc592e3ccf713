"""The figures of the cooperation against a hand-built term whose answers are known.

The term (Q1 2027, agencies PP-OFR and PD-Z; "o" officers are of PP-OFR, "z" of PD-Z):

- A, hosted by PP-OFR, 15.01.: seats PP-OFR=2, PD-Z=1, released on 05.01. o1 and z1 hold
  seats, z2 waits and takes PP-OFR's unused seat at the release; o3 comes too late and is
  still waiting at the start. o1 present, z1 absent, z2 present.
- B, hosted by PD-Z, 20.–21.02.: seats 2 + 2. o4 (present, then absent: attended), o5
  cancels, o6 deletes their data before the course, z3 (excused twice: neither attended
  nor a no-show), z4 (absent, then excused: a no-show) deletes their data afterwards.
- C, hosted by PP-OFR, 25.03.–02.04.: across the quarter's end, counts in Q1. o7 and z5
  present (z5 on a day in April).
- D, hosted by PD-Z, 10.03., cancelled (o8 had a seat): counts only as a cancelled course.
- E (02.04., PP-OFR) and F (28.12.2026–05.01.2027, PD-Z) lie outside Q1.

Counted on 15.07.2027, when A, B and C have been anonymised (retention 90 days).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta

import pytest

from kurse import courses, privacy
from kurse import registrations as regs
from kurse.clock import BERLIN
from kurse.figures import count_figures
from kurse.models import Registration
from kurse.periods import parse_period
from tests import builders

CREATED = datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN)
COUNTED = datetime(2027, 7, 15, 12, 0, tzinfo=BERLIN)
Q1 = parse_period("Q1 2027", date(2027, 1, 1))


def at(day: str, hour: int = 9) -> datetime:
    d, m, y = (int(x) for x in day.split("."))
    return datetime(y, m, d, hour, 0, tzinfo=BERLIN)


def make_course(db, host, seats, start, end, **extra):
    values = {
        "start_at": start,
        "end_at": end,
        "registration_deadline": start - timedelta(days=7),
        "host_agency_id": host.id,
        **extra,
    }
    return builders.course(db, CREATED, seats, **values)


def sign_up(db, course, person, now):
    with db.transaction() as session:
        return regs.sign_up(session, course.id, person.id, now).registration_id


@pytest.fixture
def term(db, agencies):
    """Builds the term above; returns the registrations by officer name and the lead."""
    ofr, z = agencies["PP-OFR"], agencies["PD-Z"]
    people = {f"o{i}": builders.officer(db, ofr, CREATED, name=f"Oskar {i}") for i in range(1, 10)}
    people |= {f"z{i}": builders.officer(db, z, CREATED, name=f"Zofia {i}") for i in range(1, 7)}
    lead = builders.officer(db, z, CREATED, name="Lea Leitung")
    a = make_course(
        db,
        ofr,
        {"PP-OFR": 2, "PD-Z": 1},
        at("15.01.2027"),
        at("15.01.2027", 16),
        release_at=at("05.01.2027", 0),
    )
    b = make_course(
        db,
        z,
        {"PP-OFR": 2, "PD-Z": 2},
        at("20.02.2027"),
        at("21.02.2027", 16),
        lead_id=lead.id,
    )
    c = make_course(db, ofr, {"PP-OFR": 1, "PD-Z": 1}, at("25.03.2027"), at("02.04.2027", 16))
    d = make_course(db, z, {"PP-OFR": 3, "PD-Z": 3}, at("10.03.2027"), at("10.03.2027", 16))
    e = make_course(db, ofr, {"PP-OFR": 3, "PD-Z": 3}, at("02.04.2027"), at("02.04.2027", 16))
    f = make_course(db, z, {"PP-OFR": 3, "PD-Z": 3}, at("28.12.2026"), at("05.01.2027", 16))
    r = {}
    for name, course in [
        ("o1", a),
        ("z1", a),
        ("z2", a),
        ("o4", b),
        ("o5", b),
        ("o6", b),
        ("z3", b),
        ("z4", b),
        ("o7", c),
        ("z5", c),
        ("o8", d),
        ("o9", e),
        ("z6", f),
    ]:
        r[name] = sign_up(db, course, people[name], CREATED)
    builders.run_due_tasks(db, at("05.01.2027", 1))  # the release: z2 takes PP-OFR's seat
    r["o3"] = sign_up(db, a, people["o3"], at("06.01.2027"))
    with db.transaction() as session:
        regs.cancel(session, r["o5"], people["o5"].id, at("10.01.2027"))
        privacy.delete_person(session, people["o6"].id, at("20.01.2027"))
        courses.cancel_course(session, d.id, at("01.02.2027"))
    for name, day, state in [
        ("o1", "15.01.2027", "present"),
        ("z1", "15.01.2027", "absent"),
        ("z2", "15.01.2027", "present"),
        ("o4", "20.02.2027", "present"),
        ("o4", "21.02.2027", "absent"),
        ("z3", "20.02.2027", "excused"),
        ("z3", "21.02.2027", "excused"),
        ("z4", "20.02.2027", "absent"),
        ("z4", "21.02.2027", "excused"),
        ("o7", "25.03.2027", "present"),
        ("z5", "01.04.2027", "present"),
    ]:
        d_, m_, y_ = (int(x) for x in day.split("."))
        builders.attendance(db, r[name], date(y_, m_, d_), state, at(day, 17))
    with db.transaction() as session:
        privacy.delete_person(session, people["z4"].id, at("01.03.2027"))
    builders.run_due_tasks(db, COUNTED)  # ends and retention of A, B, C
    return {"registrations": r, "lead": lead, "courses": (a, b, c, d, e, f)}


def figures_of(db, period=Q1, now=COUNTED, **kwargs):
    with db.transaction(readonly=True) as session:
        return count_figures(session, period, now, **kwargs)


def counts(row) -> dict:
    return {k: v for k, v in asdict(row).items() if k not in ("agency_id", "code", "name")}


EXPECTED_OFR = {
    "hosted": 2,
    "cancelled_courses": 0,
    "seats_offered": 5,
    "quota_seats": 5,
    "sign_ups": 6,
    "confirmed": 3,
    "attended": 3,
    "no_shows": 0,
    "cancellations": 2,
    "unserved": 1,
    "guests": 3,
    "taken_in_hosted": 5,
    "abroad": 1,
}
EXPECTED_Z = {
    "hosted": 1,
    "cancelled_courses": 1,
    "seats_offered": 4,
    "quota_seats": 4,
    "sign_ups": 5,
    "confirmed": 5,
    "attended": 2,
    "no_shows": 2,
    "cancellations": 0,
    "unserved": 0,
    "guests": 1,
    "taken_in_hosted": 3,
    "abroad": 3,
}


def test_the_term_was_anonymised_before_it_is_counted(db, term):
    with db.transaction(readonly=True) as session:
        named = [
            session.get(Registration, rid).person_id for rid in term["registrations"].values()
        ]
    # Every course of the term ended (or was cancelled) more than 90 days before.
    assert named == [None] * 14


@pytest.mark.usefixtures("term")
def test_each_agency_s_figures_are_the_known_answers(db):
    figures = figures_of(db)

    by_code = {row.code: counts(row) for row in figures.agencies}
    assert by_code == {"PD-Z": EXPECTED_Z, "PP-OFR": EXPECTED_OFR}


@pytest.mark.usefixtures("term")
def test_the_total_is_the_sum_and_the_joint_shares_are_guests_over_seats_taken(db):
    figures = figures_of(db)

    assert counts(figures.total) == {k: EXPECTED_OFR[k] + EXPECTED_Z[k] for k in EXPECTED_OFR}
    shares = {row.code: row.joint_share for row in figures.agencies}
    assert shares == {"PP-OFR": 3 / 5, "PD-Z": 1 / 3}
    assert figures.total.joint_share == 4 / 8


@pytest.mark.usefixtures("term")
def test_the_joint_share_over_the_months_counts_each_course_in_its_starting_month(db):
    figures = figures_of(db)

    assert [(m.month, m.confirmed, m.joint) for m in figures.months] == [
        (date(2027, 1, 1), 3, 2),
        (date(2027, 2, 1), 3, 1),
        (date(2027, 3, 1), 2, 1),
    ]


@pytest.mark.usefixtures("term")
def test_the_quarters_add_up_and_the_courses_outside_count_in_their_own(db):
    q2 = figures_of(db, parse_period("Q2 2027", date(2027, 1, 1)))
    december = figures_of(db, parse_period("12.2026", date(2027, 1, 1)))

    assert (q2.total.hosted, q2.total.confirmed) == (1, 1)  # E
    assert (december.total.hosted, december.total.confirmed) == (1, 1)  # F, across new year


@pytest.mark.usefixtures("term")
def test_waiting_demand_counts_as_unserved_only_once_the_course_has_started(db):
    before_a = figures_of(db, now=at("14.01.2027"))
    after_a = figures_of(db, now=at("15.01.2027", 10))

    assert before_a.total.unserved == 0
    assert after_a.total.unserved == 1


def test_a_lead_s_figures_count_only_the_courses_they_lead(db, agencies):
    ofr, z = agencies["PP-OFR"], agencies["PD-Z"]
    lead = builders.officer(db, z, CREATED, name="Lea Leitung")
    led = make_course(
        db, z, {"PP-OFR": 2, "PD-Z": 2}, at("20.02.2027"), at("20.02.2027", 16), lead_id=lead.id
    )
    other = make_course(db, ofr, {"PP-OFR": 2, "PD-Z": 2}, at("21.02.2027"), at("21.02.2027", 16))
    for course in (led, other):
        sign_up(db, course, builders.officer(db, ofr, CREATED), CREATED)

    figures = figures_of(db, now=at("15.03.2027"), lead_id=lead.id)

    assert (figures.total.hosted, figures.total.confirmed, figures.total.guests) == (1, 1, 1)


@pytest.mark.usefixtures("agencies")
def test_an_empty_period_counts_zero_everywhere_and_no_share(db):
    figures = figures_of(db, parse_period("2030", date(2027, 1, 1)))

    assert all(v == 0 for v in counts(figures.total).values())
    assert figures.total.joint_share is None
    assert len(figures.months) == 12
