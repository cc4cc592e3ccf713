"""Another connection's write lock never freezes the bot.

SQLite: a backup, a `kursbot` command or a second instance may hold the single write lock
for seconds. Reads must go on (WAL readers are not blocked by a writer), and a write that
has to wait for the lock must wait off the event loop, so that nobody else waits with it.
PostgreSQL: the same with the tables locked against writes (``EXCLUSIVE`` mode, which lets
plain reads through): reads must not queue behind a write that waits.

The lock is held by a thread with its own connection until the test lets it go (an event,
not a timing threshold); a safety timeout ends it if the bot never answers, and then
`holding` is already false when the answers come, so the test fails.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest
from sqlalchemy import insert, select, text

from bot.health import start_health_server
from kurse.db import make_engine
from kurse.models import AuditEntry, Registration, audit_table
from tests import builders
from tests.harness import user
from tests.test_health import get

SAFETY_TIMEOUT = 8.0  # seconds; only reached when the bot is frozen (the old behaviour)


class WriteLock:
    """Another connection holding the write lock until released (or the safety timeout)."""

    def __init__(self, db) -> None:
        self.db = db
        self.taken = threading.Event()
        self.release = threading.Event()
        self.holding = False
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        if self.db.is_sqlite:
            connection = sqlite3.connect(self.db.engine.url.database, isolation_level=None)
            connection.execute("BEGIN IMMEDIATE")
            self._wait()
            connection.execute("COMMIT")
            connection.close()
            return
        engine = make_engine(self.db.engine.url.render_as_string(hide_password=False))
        with engine.begin() as connection:
            connection.execute(
                text("LOCK TABLE course, quota, registration, person IN EXCLUSIVE MODE")
            )
            self._wait()
        engine.dispose()

    def _wait(self) -> None:
        self.holding = True
        self.taken.set()
        self.release.wait(SAFETY_TIMEOUT)
        self.holding = False

    async def __aenter__(self) -> WriteLock:
        self._thread.start()
        await asyncio.to_thread(self.taken.wait)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self.release.set()
        await asyncio.to_thread(self._thread.join)


async def joined(h, agencies, name):
    who = user(name)
    await h.join(who, agencies["PP-OFR"].access_code, f"{name} Beispiel")
    return who


async def test_help_and_the_course_list_are_answered_while_another_connection_holds_the_lock(
    h, db, clock, agencies
):
    builders.course(db, clock.now(), title="Grenzüberschreitende Fahndung")
    anna, ben = await joined(h, agencies, "Anna"), await joined(h, agencies, "Ben")

    async with WriteLock(db) as lock:
        help_answer = await h.send(anna, "/hilfe")
        list_answer = await h.send(ben, "/kurse")
        answered_while_locked = lock.holding

    assert answered_while_locked
    assert help_answer
    assert list_answer
    assert "Grenzüberschreitende Fahndung" in list_answer[0].text


async def test_a_sign_up_sent_while_locked_completes_after_the_lock_without_holding_up_others(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now(), title="Grenzüberschreitende Fahndung")
    anna, ben = await joined(h, agencies, "Anna"), await joined(h, agencies, "Ben")
    await h.send(anna, "/kurse")
    await h.press(anna, "Grenzüberschreitende")
    page = h.with_button(anna, "Anmelden")
    processor = h.processor

    async with WriteLock(db) as lock:
        before = processor.finished
        press = h.api.button_press(anna, page, page.button("Anmelden")["callback_data"])
        await h.app.update_queue.put(press)
        # Ben's questions are answered while Anna's sign-up still waits for the lock.
        help_answer = await h.send(ben, "/hilfe")
        list_answer = await h.send(ben, "/kurse")
        answered_while_locked = lock.holding
        sign_up_done_while_locked = processor.finished - before > 2
    async with asyncio.timeout(30):
        await processor.wait_for(before + 3)

    assert answered_while_locked
    assert help_answer
    assert list_answer
    assert not sign_up_done_while_locked
    with db.transaction(readonly=True) as session:
        statuses = session.scalars(
            select(Registration.status).where(Registration.course_id == course.id)
        ).all()
    assert statuses == ["confirmed"]
    assert any("angemeldet" in (a or "").lower() for a in h.alerts())


async def test_healthz_says_the_database_is_ok_while_another_connection_holds_the_lock(db):
    server = start_health_server(db, "127.0.0.1", 0)
    try:
        async with WriteLock(db) as lock:
            status = await asyncio.to_thread(get, server.server_address[1])
            answered_while_locked = lock.holding
    finally:
        server.shutdown()
        server.server_close()

    assert answered_while_locked
    assert status == (200, {"status": "ok", "database": "ok", "schema": "ok"})


def write_audit(session, action: str, now) -> str:
    session.execute(insert(audit_table).values(at=now, action=action))
    return action


def audit_actions(session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_writes_that_wait_for_the_lock_are_written_in_the_order_sent_while_reads_go_on(
    db, clock
):
    now = clock.now()

    async with WriteLock(db) as lock:
        first = asyncio.ensure_future(db.run(write_audit, "first", now))
        second = asyncio.ensure_future(db.run_batched(write_audit, "second", now))
        await asyncio.sleep(0.2)  # both are waiting for the lock now
        read_meanwhile = await db.read(audit_actions)
        answered_while_locked = lock.holding
    # Sent the moment the lock is gone, while the first two may still be waking up.
    third = await db.run(write_audit, "third", now)

    assert answered_while_locked
    assert read_meanwhile == []
    assert [await first, await second, third] == ["first", "second", "third"]
    assert db.call_read(audit_actions) == ["first", "second", "third"]
