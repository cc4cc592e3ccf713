"""Transactions and group commit (`Database.run_batched`)."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, insert, select

from kurse import registrations as regs
from kurse.errors import NotFound
from kurse.models import AuditEntry, Registration, audit_table
from tests import builders


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

    assert results[0] == "first" and results[2] == "third"
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

    assert results[0] == "first" and results[2] == "third"
    assert type(results[1]).__name__ == "IntegrityError"
    assert actions(db) == ["first", "third"]


async def test_200_batched_sign_ups_are_served_in_the_order_they_arrived(db, clock, agencies):
    course = builders.course(db, clock.now(), {"PP-OFR": 5, "PD-Z": 5})
    officers = [
        builders.officer(db, agencies["PP-OFR" if i % 2 else "PD-Z"], clock.now())
        for i in range(200)
    ]

    results = await asyncio.gather(
        *(db.run_batched(regs.sign_up, course.id, p.id, clock.now()) for p in officers)
    )

    for parity in (0, 1):
        mine = results[parity::2]
        assert [r.status for r in mine] == ["confirmed"] * 5 + ["waiting"] * 95
        assert [r.position for r in mine[5:]] == list(range(1, 96))
    with db.transaction(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Registration)) == 200
    assert db.call(regs.invariant_violations, course.id, clock.now()) == []
