"""Transactions, group commit (`Database.run_batched`) and grouped calls (`run_grouped`)."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime

import pytest
from sqlalchemy import func, insert, select

from kurse import registrations as regs
from kurse import views
from kurse.clock import BERLIN
from kurse.db import Database, background
from kurse.errors import NotFound
from kurse.invariants import invariant_violations
from kurse.models import AuditEntry, Registration, audit_table
from tests import builders
from tests.conftest import POSTGRES_URL


def write_audit(session, action: str, now) -> str:
    session.execute(insert(audit_table).values(at=now, action=action))
    return action


def write_then_fail(session, now) -> None:
    session.execute(insert(audit_table).values(at=now, action="undone"))
    raise NotFound(kind="course")


def write_then_break_a_constraint(session, now) -> None:
    session.execute(insert(audit_table).values(at=now, action="broken"))
    session.execute(insert(audit_table).values(id=1, at=now, action="duplicate id"))


def actions(db) -> list[str]:
    with db.transaction(readonly=True) as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


async def test_a_domain_error_in_a_batch_undoes_only_its_own_call(db, clock):
    now = clock.now()

    results = await asyncio.gather(
        db.run_batched(write_audit, "first", now),
        db.run_batched(write_then_fail, now),
        db.run_batched(write_audit, "third", now),
        return_exceptions=True,
    )

    assert results[0] == "first"
    assert results[2] == "third"
    assert isinstance(results[1], NotFound)
    assert actions(db) == ["first", "third"]


async def test_a_database_error_in_a_batch_is_retried_alone_and_reported(db, clock):
    now = clock.now()

    results = await asyncio.gather(
        db.run_batched(write_audit, "first", now),
        db.run_batched(write_then_break_a_constraint, now),
        db.run_batched(write_audit, "third", now),
        return_exceptions=True,
    )

    assert results[0] == "first"
    assert results[2] == "third"
    assert type(results[1]).__name__ == "IntegrityError"
    assert actions(db) == ["first", "third"]


async def test_200_batched_sign_ups_are_served_in_the_order_they_arrived(db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 5, "PD-Z": 5})
    officers = builders.officers(db, agencies, clock.now(), 200)

    results = await asyncio.gather(
        *(db.run_batched(regs.sign_up, course.id, p.id, clock.now()) for p in officers)
    )

    for parity in (0, 1):
        mine = results[parity::2]
        assert [r.status for r in mine] == ["confirmed"] * 5 + ["waiting"] * 95
        assert [r.position for r in mine[5:]] == list(range(1, 96))
    with db.transaction(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Registration)) == 200
    assert db.call(invariant_violations, course.id, clock.now()) == []


def write_audits(session, prefix: str, items: list[str]) -> list[object]:
    """A grouped service: one row per item; an item "refuse" gets an error in its place."""
    answers: list[object] = []
    for item in items:
        if item == "refuse":
            answers.append(NotFound(kind="item"))
            continue
        session.execute(insert(audit_table).values(at=NOW, action=f"{prefix}:{item}"))
        answers.append(f"{prefix}:{item}:{len(items)}")
    return answers


def break_a_constraint(session, _key, items: list[str]) -> list[str]:
    session.execute(insert(audit_table).values(at=NOW, action="group"))
    if len(items) > 1:  # fails together, works alone
        session.execute(insert(audit_table).values(id=1, at=NOW, action="duplicate id"))
    return items


NOW = datetime(2027, 1, 10, 10, 0, tzinfo=BERLIN)


async def test_grouped_calls_with_the_same_key_are_answered_by_one_call_in_arrival_order(db):
    results = await asyncio.gather(
        db.run_grouped(write_audits, "a", "1"),
        db.run_batched(write_audit, "plain", NOW),
        db.run_grouped(write_audits, "b", "1"),
        db.run_grouped(write_audits, "a", "2"),
        db.run_grouped(write_audits, "a", "3"),
    )

    assert results == ["a:1:3", "plain", "b:1:1", "a:2:3", "a:3:3"]
    assert actions(db) == ["a:1", "a:2", "a:3", "plain", "b:1"]


async def test_a_refused_item_of_a_group_gets_its_error_and_the_others_their_results(db):
    results = await asyncio.gather(
        db.run_grouped(write_audits, "a", "1"),
        db.run_grouped(write_audits, "a", "refuse"),
        db.run_grouped(write_audits, "a", "3"),
        return_exceptions=True,
    )

    assert results[0] == "a:1:3"
    assert results[2] == "a:3:3"
    assert isinstance(results[1], NotFound)
    assert actions(db) == ["a:1", "a:3"]


async def test_a_group_that_breaks_the_database_is_undone_and_each_item_retried_alone(db):
    results = await asyncio.gather(
        db.run_batched(write_audit, "before", NOW),
        db.run_grouped(break_a_constraint, None, "x"),
        db.run_grouped(break_a_constraint, None, "y"),
    )

    assert results == ["before", "x", "y"]
    assert actions(db) == ["before", "group", "group"]


async def test_200_grouped_sign_ups_match_200_sign_ups_one_after_another(db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 5, "PD-Z": 5})
    officers = builders.officers(db, agencies, clock.now(), 200)

    results = await asyncio.gather(
        *(db.run_grouped(views.sign_ups_and_views, course.id, (p, clock.now())) for p in officers)
    )

    for parity in (0, 1):
        mine = [result for result, _view in results[parity::2]]
        assert [r.status for r in mine] == ["confirmed"] * 5 + ["waiting"] * 95
        assert [r.position for r in mine[5:]] == list(range(1, 96))
    pages = [view for _result, view in results]
    assert {page.listing.seats_left for page in pages} == {0}
    assert {page.listing.waiting for page in pages} == {190}
    ids = [result.registration_id for result, _view in results]
    with db.transaction(readonly=True) as session:
        stored = dict(session.execute(select(Registration.id, Registration.person_id)).all())
    assert [stored[i] for i in ids] == [p.id for p in officers]
    assert db.call(invariant_violations, course.id, clock.now()) == []


@pytest.mark.skipif(not POSTGRES_URL, reason="threads for database calls exist on PostgreSQL")
async def test_an_answer_finds_a_thread_while_the_bots_own_work_waits_on_every_one_it_may_take():
    # The bot's own work (`background`: timed work, the outbox) takes all threads but one;
    # six such calls that hang still leave an answer's call a thread at once.
    db = Database(POSTGRES_URL, pool_size=4)
    release, running, most = threading.Event(), [0], [0]
    lock = threading.Lock()

    def hangs(_session) -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        release.wait(10)
        with lock:
            running[0] -= 1

    try:
        with background():
            hanging = [asyncio.create_task(db.run(hangs)) for _ in range(6)]
        await asyncio.sleep(0.2)

        answer = await asyncio.wait_for(db.run(lambda _session: 42), timeout=5)

        assert answer == 42
        assert most[0] == 3  # all of the four threads but one
    finally:
        release.set()
        await asyncio.gather(*hanging, return_exceptions=True)
        db.dispose()


@pytest.mark.skipif(not POSTGRES_URL, reason="threads for database calls exist on PostgreSQL")
async def test_the_bots_own_batched_writes_also_leave_an_answer_a_thread():
    db = Database(POSTGRES_URL, pool_size=4)
    release = threading.Event()

    def hangs(_session) -> None:
        release.wait(10)

    try:
        with background():  # as the outbox: the sends' checks, then their marks, batched
            hanging = [asyncio.create_task(db.run(hangs)) for _ in range(6)]
            batched = asyncio.create_task(db.run_batched(hangs))
        await asyncio.sleep(0.2)

        answer = await asyncio.wait_for(db.run(lambda _session: 42), timeout=5)

        assert answer == 42
    finally:
        release.set()
        await asyncio.gather(*hanging, batched, return_exceptions=True)
        db.dispose()
