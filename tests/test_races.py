"""Many officers at the same moment: the invariants hold on a file database and on PostgreSQL.

Threads give real parallelism against the database (each has its own connection); the asyncio
variant goes through `Database.run`, the path the bot takes.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, select

from kurse import admin, approval, offers, tasks
from kurse import registrations as regs
from kurse.actors import Actor
from kurse.db import Database
from kurse.errors import AlreadyDecided, OfferEnded
from kurse.invariants import invariant_violations
from kurse.models import Outbox, Registration, Task, TaskKind
from kurse.outbox import MessageKind
from tests import builders

THREADS = 32


def race(calls):
    """Runs the callables in parallel threads released together; returns results or errors."""
    go = threading.Event()

    def run(call):
        go.wait()
        try:
            return call()
        except Exception as exc:  # collected and asserted on by the caller
            return exc

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(run, call) for call in calls]
        go.set()
        return [f.result() for f in futures]


def active_by_agency(db: Database, course_id: int) -> dict[int, list[Registration]]:
    """Active registrations (confirmed, held, waiting) per agency, in arrival order."""
    with db.transaction(readonly=True) as session:
        rows = session.scalars(
            select(Registration)
            .where(Registration.course_id == course_id, Registration.status != "cancelled")
            .order_by(Registration.queue_seq)
        ).all()
    result: dict[int, list[Registration]] = defaultdict(list)
    for row in rows:
        result[row.agency_id].append(row)
    return result


def assert_first_come_first_served(db, course_id, quotas):
    """Per agency, the confirmed are exactly the earliest arrivals, up to the quota."""
    for agency_id, rows in active_by_agency(db, course_id).items():
        expected = min(quotas[agency_id], len(rows))
        assert [r.status for r in rows] == ["confirmed"] * expected + ["waiting"] * (
            len(rows) - expected
        )


def test_200_officers_signing_up_at_once_fill_exactly_5_plus_5_seats_in_arrival_order(
    db, clock, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 5, "PD-Z": 5})
    officers = builders.officers(db, agencies, clock.now(), 200)
    calls = [(lambda p=p: db.call(regs.sign_up, course.id, p.id, clock.now())) for p in officers]

    results = race(calls)

    assert [r for r in results if isinstance(r, Exception)] == []
    quotas = {a.id: 5 for a in agencies.values()}
    assert_first_come_first_served(db, course.id, quotas)
    by_agency = active_by_agency(db, course.id)
    assert {a: sum(r.status == "confirmed" for r in rows) for a, rows in by_agency.items()} == {
        a.id: 5 for a in agencies.values()
    }
    # Each officer was told the position the database gives them.
    told = {r.registration_id: r.position for r in results}
    for rows in by_agency.values():
        waiting = [r for r in rows if r.status == "waiting"]
        assert [told[r.id] for r in waiting] == list(range(1, 96))
    assert db.call(invariant_violations, course.id, clock.now()) == []


async def test_200_sign_ups_through_the_event_loop_keep_the_invariants(db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 5, "PD-Z": 5})
    officers = builders.officers(db, agencies, clock.now(), 200)

    results = await asyncio.gather(
        *(db.run(regs.sign_up, course.id, p.id, clock.now()) for p in officers)
    )

    assert sum(r.status == "confirmed" for r in results) == 10
    assert_first_come_first_served(db, course.id, {a.id: 5 for a in agencies.values()})
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_50_cancellations_racing_50_sign_ups_give_every_freed_seat_to_the_right_officer(
    db, clock, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 25, "PD-Z": 25})
    codes = ["PP-OFR", "PD-Z"]
    first = [builders.officer(db, agencies[codes[i % 2]], clock.now()) for i in range(100)]
    held = [db.call(regs.sign_up, course.id, p.id, clock.now()) for p in first]
    holders = [(r, p) for r, p in zip(held, first, strict=True) if r.status == "confirmed"]
    waiters = [p for r, p in zip(held, first, strict=True) if r.status == "waiting"]
    newcomers = [builders.officer(db, agencies[codes[i % 2]], clock.now()) for i in range(50)]
    cancels = [
        (lambda r=r, p=p: db.call(regs.cancel, r.registration_id, p.id, clock.now()))
        for r, p in holders
    ]
    signups = [
        (lambda p=p: db.call(regs.sign_up, course.id, p.id, clock.now())) for p in newcomers
    ]
    mixed = [call for pair in zip(cancels, signups, strict=True) for call in pair]

    results = race(mixed)

    assert [r for r in results if isinstance(r, Exception)] == []
    promoted = [p.person_id for r in results[::2] for p in r.promoted]
    assert sorted(promoted) == sorted(p.id for p in waiters)
    assert all(r.status == "waiting" for r in results[1::2])
    assert_first_come_first_served(db, course.id, {a.id: 25 for a in agencies.values()})
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_one_officer_clicking_20_times_at_once_gets_one_registration(db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 5, "PD-Z": 5})
    anna = builders.officer(db, agencies["PP-OFR"], clock.now())

    results = race([lambda: db.call(regs.sign_up, course.id, anna.id, clock.now())] * 20)

    assert [r for r in results if isinstance(r, Exception)] == []
    assert len({r.registration_id for r in results}) == 1
    assert sum(not r.already for r in results) == 1
    assert len(active_by_agency(db, course.id)[agencies["PP-OFR"].id]) == 1


def test_one_officer_cancelling_20_times_at_once_promotes_exactly_one_waiting_officer(
    db, clock, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    holder, w1, w2 = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "abc")
    held = db.call(regs.sign_up, course.id, holder.id, clock.now())
    db.call(regs.sign_up, course.id, w1.id, clock.now())
    db.call(regs.sign_up, course.id, w2.id, clock.now())

    results = race(
        [lambda: db.call(regs.cancel, held.registration_id, holder.id, clock.now())] * 20
    )

    succeeded = [r for r in results if isinstance(r, regs.CancelResult)]
    assert len(succeeded) == 1
    assert [p.person_id for p in succeeded[0].promoted] == [w1.id]
    assert all(type(r).__name__ == "NotRegistered" for r in results if r not in succeeded)
    assert db.call(invariant_violations, course.id, clock.now()) == []


# --- approval and offers (issue 17) -----------------------------------------------------------

BOSS = builders.ADMIN


def _approvers(db, clock, agencies, code, n):
    """Switches approval on for ``code`` and appoints ``n`` approvers; returns their actors."""
    db.call(admin.set_approval, code, True, clock.now(), actor=BOSS)
    found = []
    for i in range(n):
        person = builders.officer(db, agencies[code], clock.now(), name=f"Genehmigende {i}")
        db.call(
            admin.change_approver, code, str(person.telegram_id), True, clock.now(), actor=BOSS
        )
        found.append(Actor(telegram_id=person.telegram_id, person_id=person.id))
    return found


def test_two_approvers_deciding_one_request_at_once_make_exactly_one_decision(db, clock, agencies):
    deciders = _approvers(db, clock, agencies, "PP-OFR", 2)
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    anna, bert = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "ab")
    rid = db.call(regs.sign_up, course.id, anna.id, clock.now()).registration_id
    db.call(regs.sign_up, course.id, bert.id, clock.now())
    calls = [  # one approves, the other refuses, ten times each, all at once
        (lambda a=a, yes=yes: db.call(approval.decide, rid, yes, clock.now(), actor=a))
        for _ in range(10)
        for a, yes in zip(deciders, (True, False), strict=True)
    ]

    results = race(calls)

    decisions = [r for r in results if isinstance(r, approval.Decision)]
    assert len(decisions) == 1
    assert all(isinstance(r, AlreadyDecided) for r in results if r not in decisions)
    states = {
        r.person_id: r.status for rows in active_by_agency(db, course.id).values() for r in rows
    }
    if decisions[0].approved:  # Anna has the seat, Bert waits
        assert states == {anna.id: "confirmed", bert.id: "waiting"}
    else:  # Anna is refused, Bert moved up into a request of his own
        assert states == {bert.id: "requested"}
    assert db.call(invariant_violations, course.id, clock.now()) == []


def test_accepting_an_offer_while_its_expiry_runs_has_exactly_one_outcome(db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 0}, offer_hours=6)
    holder, first, second = (builders.officer(db, agencies["PP-OFR"], clock.now()) for _ in "abc")
    held = db.call(regs.sign_up, course.id, holder.id, clock.now())
    offered = db.call(regs.sign_up, course.id, first.id, clock.now()).registration_id
    db.call(regs.sign_up, course.id, second.id, clock.now())
    db.call(regs.cancel, held.registration_id, holder.id, clock.now())
    with db.transaction(readonly=True) as session:
        row = session.get(Registration, offered)
        assert row is not None
        assert row.status == "offered"
        until = row.held_until
    with db.transaction() as session:  # the expiry, claimed at its due time
        expiry = tasks.claim_due_tasks(session, until)
    assert len(expiry) == 1
    just_before = until - timedelta(microseconds=1)

    results = race(
        [
            lambda: db.call(offers.accept, offered, first.id, just_before),
            lambda: db.call(tasks.run_task, expiry[0], until),
        ]
    )

    accepted, expired = results
    statuses = {
        r.person_id: r.status for rows in active_by_agency(db, course.id).values() for r in rows
    }
    if isinstance(accepted, offers.Answer):  # the acceptance came first: the expiry finds it taken
        assert (accepted.status, expired) == ("confirmed", "skipped")
        assert statuses == {first.id: "confirmed", second.id: "waiting"}
    else:  # the expiry came first: the acceptance is refused, the next has the offer
        assert isinstance(accepted, OfferEnded)
        assert expired == "sent"
        assert statuses == {second.id: "offered"}
    assert db.call(invariant_violations, course.id, until) == []


def test_200_officers_of_an_approval_agency_signing_up_at_once_hold_exactly_their_seats(
    db, clock, agencies
):
    deciders = _approvers(db, clock, agencies, "PP-OFR", 2)
    course = builders.course(db, clock.now(), {"PP-OFR": 5, "PD-Z": 5})
    officers = builders.officers(db, agencies, clock.now(), 200)
    calls = [(lambda p=p: db.call(regs.sign_up, course.id, p.id, clock.now())) for p in officers]

    results = race(calls)

    assert [r for r in results if isinstance(r, Exception)] == []
    by_agency = active_by_agency(db, course.id)
    counts = {
        a: {s: sum(r.status == s for r in rows) for s in ("confirmed", "requested", "waiting")}
        for a, rows in by_agency.items()
    }
    assert counts == {
        agencies["PP-OFR"].id: {"confirmed": 0, "requested": 5, "waiting": 95},
        agencies["PD-Z"].id: {"confirmed": 5, "requested": 0, "waiting": 95},
    }
    ofr = by_agency[agencies["PP-OFR"].id]
    assert [r.status for r in ofr] == ["requested"] * 5 + ["waiting"] * 95  # arrival order
    with db.transaction(readonly=True) as session:
        told = session.execute(
            select(Outbox.person_id, Outbox.registration_id).where(
                Outbox.kind == MessageKind.APPROVAL_REQUEST
            )
        ).all()
        expiries = session.scalar(
            select(func.count()).select_from(Task).where(Task.kind == TaskKind.HOLD_EXPIRY)
        )
    assert sorted(told) == sorted((a.person_id, r.id) for r in ofr[:5] for a in deciders)
    assert expiries == 5
    assert db.call(invariant_violations, course.id, clock.now()) == []
