"""/healthz is readiness (the database answers, the schema is the newest), /livez liveness
(updates arrive, the sweep of timed work finishes); both answer HEAD."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from datetime import timedelta

from bot import jobs
from bot.context import Services
from bot.health import start_health_server
from bot.jobs import run_due_work
from bot.liveness import Liveness
from kurse import registrations as regs
from kurse.db import Database, make_engine
from kurse.migrate import newest_revision, upgrade
from tests import builders
from tests.harness import start_harness, stop_harness


def get(port: int, path: str = "/healthz", method: str = "GET") -> tuple[int, dict | None]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            return response.status, json.loads(body) if body else None
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, json.loads(body) if body.startswith(b"{") else None


def stop(*servers) -> None:
    for server in servers:
        server.shutdown()
        server.server_close()


def test_healthz_reports_the_database(db, tmp_path):
    broken = Database(f"sqlite:///{tmp_path}/missing/folder/kursbot.db")
    healthy = start_health_server(db, "127.0.0.1", 0)
    failing = start_health_server(broken, "127.0.0.1", 0)

    results = [
        get(healthy.server_address[1]),
        get(failing.server_address[1]),
        get(healthy.server_address[1], "/other"),
    ]

    stop(healthy, failing)
    broken.dispose()
    assert results == [
        (200, {"status": "ok", "database": "ok", "schema": "ok"}),
        (503, {"status": "error", "database": "unreachable", "schema": "unknown"}),
        (404, None),
    ]


def test_healthz_is_not_ready_while_the_schema_is_not_the_newest(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0003")
    engine.dispose()
    old = Database(url)
    server = start_health_server(old, "127.0.0.1", 0)

    status, body = get(server.server_address[1])

    stop(server)
    old.dispose()
    assert status == 503
    assert body is not None
    assert body["database"] == "ok"
    assert body["schema"].startswith("at 0003")
    assert newest_revision() in body["schema"]


async def test_healthz_and_livez_answer_head_with_the_status_and_no_body(h, db):
    liveness = Liveness(h.app.bot_data["metrics"].heartbeat, updates_within=3600)
    server = start_health_server(db, "127.0.0.1", 0, liveness=liveness)
    port = server.server_address[1]

    answers = [await asyncio.to_thread(get, port, path, "HEAD") for path in ("/healthz", "/livez")]

    stop(server)
    assert answers == [(200, None), (200, None)]


async def wait_for_status(port: int, path: str, status: int, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while True:
        answer = await asyncio.to_thread(get, port, path)
        if answer[0] == status or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.1)


async def test_livez_names_the_sweep_when_none_finished_in_time_and_recovers_after_one(h, db):
    # The harness pauses the periodic sweep: nothing finishes unless the bot is woken.
    liveness = Liveness(h.app.bot_data["metrics"].heartbeat, updates_within=3600, sweep_within=2)
    server = start_health_server(db, "127.0.0.1", 0, liveness=liveness)
    port = server.server_address[1]

    stale = await wait_for_status(port, "/livez", 503)
    jobs.wake(h.app)  # one sweep through the job queue, as after a change
    recovered = await wait_for_status(port, "/livez", 200, seconds=1.5)
    ready = await asyncio.to_thread(get, port, "/healthz")

    stop(server)
    assert stale[0] == 503
    assert stale[1] is not None
    assert stale[1]["status"] == "error"
    assert stale[1]["failing"] == ["sweep"]
    assert stale[1]["updates"] == "ok"
    assert stale[1]["sweep"].startswith("no sweep finished")
    assert recovered == (200, {"status": "ok", "failing": [], "updates": "ok", "sweep": "ok"})
    assert ready[0] == 200


async def test_in_webhook_mode_livez_fails_until_set_webhook_succeeded(h, db):
    liveness = Liveness(h.app.bot_data["metrics"].heartbeat, webhook=True, updates_within=0.2)
    server = start_health_server(db, "127.0.0.1", 0, liveness=liveness)
    port = server.server_address[1]

    unset = await wait_for_status(port, "/livez", 503)
    await h.app.bot.set_webhook("https://kurse.example/telegram")
    done = await asyncio.to_thread(get, port, "/livez")

    stop(server)
    assert unset[1] is not None
    assert unset[1]["failing"] == ["updates"]
    assert unset[1]["updates"] == "the webhook is not set"
    assert done[0] == 200


async def test_a_long_fan_out_that_keeps_delivering_stays_alive(db, clock, settings, agencies):
    # 12 reminders at 3 a second: the sweep runs about 3 s, twice the threshold, but every
    # message it delivers shows that it moves.
    h = await start_harness(Services(db, clock, settings), messages_per_second=3)
    liveness = Liveness(h.app.bot_data["metrics"].heartbeat, updates_within=3600, sweep_within=1.5)
    server = start_health_server(db, "127.0.0.1", 0, liveness=liveness)
    course = builders.course(db, clock.now(), {"PP-OFR": 6, "PD-Z": 6})
    for person in builders.officers(db, agencies, clock.now(), 12):
        db.call(regs.sign_up, course.id, person.id, clock.now())
    clock.set(course.start_at - timedelta(days=7))
    try:
        sweep = asyncio.ensure_future(run_due_work(h.app))
        began, statuses = time.monotonic(), []
        while not sweep.done():
            statuses.append((await asyncio.to_thread(get, server.server_address[1], "/livez"))[0])
            await asyncio.sleep(0.1)
        took, done = time.monotonic() - began, await sweep
    finally:
        stop(server)
        await stop_harness(h)

    assert done.sent == 12
    assert took > 2 * 1.5
    assert set(statuses) == {200}
