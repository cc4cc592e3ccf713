"""Prometheus metrics on the health port, read back after real flows through the Application."""

from __future__ import annotations

import asyncio
import base64
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.context import Services
from bot.health import start_health_server
from bot.jobs import run_due_work
from kurse import operations, outbox, tasks
from kurse import registrations as regs
from tests import builders
from tests.harness import start_harness, stop_harness, user

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def fetch(port: int, credentials: tuple[str, str] | None = None) -> tuple[int, str]:
    """GET /metrics; returns the status and the body."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if credentials is not None:
        token = base64.b64encode(":".join(credentials).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def parse(body: str) -> Samples:
    """Every sample of the exposition, by name and labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.fixture
def metrics_port(h):
    """The health port of the harness's application, serving its metrics."""
    server = start_health_server(h.services.db, "127.0.0.1", 0, metrics=h.app.bot_data["metrics"])
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


async def scrape(port: int) -> Samples:
    status, body = await asyncio.to_thread(fetch, port)
    assert status == 200, body
    return parse(body)


async def joined(h, agencies, name: str):
    who = user(name.split()[0])
    await h.join(who, agencies["PP-OFR"].access_code, name)
    return who


async def open_page(h, who, course):
    await h.send(who, "/kurse")
    await h.press(who, course.title[:20])
    return h.last(who)


async def test_sign_ups_are_counted_by_outcome_and_every_update_once(
    h, db, clock, agencies, metrics_port
):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    anna = await joined(h, agencies, "Anna Beispiel")
    ben = await joined(h, agencies, "Ben Muster")
    cara = await joined(h, agencies, "Cara Probe")
    anna_page, ben_page = await open_page(h, anna, course), await open_page(h, ben, course)
    cara_page = await open_page(h, cara, course)
    data = anna_page.button("Anmelden")["callback_data"]

    await h.press_data(anna, data, anna_page)
    await h.press_data(anna, data, anna_page)
    await h.press_data(ben, data, ben_page)  # opened before the seat went: now waiting
    clock.set(course.registration_deadline + timedelta(minutes=1))
    await h.press_data(cara, data, cara_page)
    samples = await scrape(metrics_port)

    outcomes = {
        (outcome, reason): value(samples, "kursbot_sign_ups_total", outcome=outcome, reason=reason)
        for outcome, reason in [
            ("confirmed", ""),
            ("already", ""),
            ("waiting", ""),
            ("refused", "registration_closed"),
        ]
    }
    assert outcomes == {
        ("confirmed", ""): 1,
        ("already", ""): 1,
        ("waiting", ""): 1,
        ("refused", "registration_closed"): 1,
    }
    assert value(samples, "kursbot_updates_total") == h.processor.finished


async def test_sixty_due_reminders_count_as_sixty_reminders_sent(
    h, db, clock, agencies, metrics_port
):
    course = builders.course(db, clock.now(), {"PP-OFR": 30, "PD-Z": 30})
    for person in builders.officers(db, agencies, clock.now(), 60):
        db.call(regs.sign_up, course.id, person.id, clock.now())
    clock.set(course.start_at - timedelta(days=7))

    done = await run_due_work(h.app)
    samples = await scrape(metrics_port)

    assert done.sent == 60
    assert value(samples, "kursbot_messages_sent_total", kind="reminder") == 60
    assert value(samples, "kursbot_outbox_messages", state="pending") == 0
    assert value(samples, "kursbot_outbox_messages", state="sending") == 0


async def test_a_blocked_chat_counts_as_a_message_failed_because_blocked(
    h, db, clock, agencies, metrics_port
):
    course = builders.course(db, clock.now())
    anna, ben = builders.officers(db, agencies, clock.now(), 2)
    for person in (anna, ben):
        db.call(regs.sign_up, course.id, person.id, clock.now())
    h.api.blocked.add(ben.telegram_id)
    clock.set(course.start_at - timedelta(days=7))

    await run_due_work(h.app)
    samples = await scrape(metrics_port)

    assert value(samples, "kursbot_messages_sent_total", kind="reminder") == 1
    assert value(samples, "kursbot_messages_failed_total", kind="reminder", reason="blocked") == 1


async def test_a_handler_that_fails_is_counted_by_its_error(h, agencies, metrics_port):
    anna = await joined(h, agencies, "Anna Beispiel")
    h.api.blocked.add(anna["id"])  # the reply to /hilfe fails in the handler

    await h.send(anna, "/hilfe")
    samples = await scrape(metrics_port)

    assert value(samples, "kursbot_handler_errors_total", error="Forbidden") == 1


@pytest.mark.usefixtures("h")
async def test_the_queue_gauges_are_read_from_the_database_at_scrape_time(
    db, clock, agencies, metrics_port
):
    course = builders.course(db, clock.now())
    officers = builders.officers(db, agencies, clock.now(), 3)
    for person in officers:
        db.call(regs.sign_up, course.id, person.id, clock.now())
    clock.set(course.start_at - timedelta(days=7))
    # The reminder task runs (its messages are queued, due now) but nothing is sent yet.
    for task_id in db.call(tasks.claim_due_tasks, clock.now()):
        db.call(tasks.run_task, task_id, clock.now())
    first = db.call(outbox.claim_due_messages, clock.now(), 1)[0]
    db.call(outbox.mark_failed, first.outbox_id, "Bad Request: chat not found", clock.now(), None)
    with db.transaction(readonly=True) as session:
        pending_tasks = operations.status(session).pending_tasks
    clock.advance(timedelta(minutes=10))

    samples = await scrape(metrics_port)

    assert value(samples, "kursbot_outbox_messages", state="pending") == 2
    assert value(samples, "kursbot_outbox_messages", state="failed") == 1
    assert value(samples, "kursbot_outbox_oldest_due_age_seconds") == 600
    assert value(samples, "kursbot_tasks_pending") == pending_tasks > 0


async def test_two_applications_in_one_process_keep_their_own_counts(
    h, db, clock, agencies, metrics_port, settings
):
    other = await start_harness(Services(db, clock, settings))
    other_server = start_health_server(db, "127.0.0.1", 0, metrics=other.app.bot_data["metrics"])
    try:
        course = builders.course(db, clock.now())
        anna = await joined(h, agencies, "Anna Beispiel")
        await h.press(anna, "Anmelden", await open_page(h, anna, course))

        mine = await scrape(metrics_port)
        theirs = await scrape(other_server.server_address[1])
    finally:
        other_server.shutdown()
        other_server.server_close()
        await stop_harness(other)

    assert value(mine, "kursbot_sign_ups_total", outcome="confirmed", reason="") == 1
    assert value(theirs, "kursbot_sign_ups_total", outcome="confirmed", reason="") == 0
    assert value(theirs, "kursbot_updates_total") == 0


async def test_metrics_behind_basic_auth_answer_only_the_right_credentials(h, db):
    server = start_health_server(
        db, "127.0.0.1", 0, metrics=h.app.bot_data["metrics"], auth=("prometheus", "s3cret")
    )
    port = server.server_address[1]
    try:
        statuses = [
            (await asyncio.to_thread(fetch, port, credentials))[0]
            for credentials in (None, ("prometheus", "wrong"), ("other", "s3cret"))
        ]
        status, body = await asyncio.to_thread(fetch, port, ("prometheus", "s3cret"))
    finally:
        server.shutdown()
        server.server_close()

    assert statuses == [401, 401, 401]
    assert status == 200
    assert value(parse(body), "kursbot_updates_total") == 0
