"""Prometheus metrics of one Application: counters where things happen, and the queues'
gauges read from the database when Prometheus scrapes.

Each Application has a registry of its own (not prometheus_client's global one), so that two
Applications in one process (tests, benchmarks) keep their own counts. Counting costs a lock
and an addition; only a scrape reads the database (one read transaction, in the health
server's thread, never on the event loop).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.liveness import Heartbeat
from kurse import operations
from kurse.clock import Clock
from kurse.db import Database

log = logging.getLogger(__name__)

SIGN_UP_OUTCOMES = ("confirmed", "waiting", "already", "refused")
# How an attempt to deliver an outbox message ended (`bot.jobs._deliver`).
SENT, SKIPPED = "sent", "skipped"
FAILURES = ("blocked", "retry_after", "bad_request", "network", "other")


class Metrics:
    """The counters of one Application and the `Heartbeat` that ``/livez`` reads."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.heartbeat = Heartbeat()
        self.registry = registry = CollectorRegistry()
        self.updates = Counter("kursbot_updates", "Updates received", registry=registry)
        self.sign_ups = Counter(
            "kursbot_sign_ups",
            "Sign-ups decided, by outcome (confirmed, waiting, already, refused) and the "
            "reason of a refusal (the domain error's code)",
            ["outcome", "reason"],
            registry=registry,
        )
        for outcome in SIGN_UP_OUTCOMES[:3]:  # present from the start, for rate()
            self.sign_ups.labels(outcome, "")
        self.messages_sent = Counter(
            "kursbot_messages_sent",
            "Outbox messages delivered (reminders, lead lists, notices), by kind",
            ["kind"],
            registry=registry,
        )
        self.messages_failed = Counter(
            "kursbot_messages_failed",
            "Failed attempts to deliver an outbox message, by kind and reason (blocked, "
            "retry_after, bad_request, network, other); retried ones count each time",
            ["kind", "reason"],
            registry=registry,
        )
        self.messages_skipped = Counter(
            "kursbot_messages_skipped",
            "Outbox messages not sent because their reason went away before the send",
            ["kind"],
            registry=registry,
        )
        self.handler_errors = Counter(
            "kursbot_handler_errors",
            "Errors raised while handling an update, by error type",
            ["error"],
            registry=registry,
        )
        self.sweeps = Counter(
            "kursbot_sweeps",
            "Sweeps of timed work that ran to their end, by outcome (ok, error)",
            ["outcome"],
            registry=registry,
        )
        for outcome in ("ok", "error"):
            self.sweeps.labels(outcome)
        registry.register(_Levels(db, clock, self.heartbeat))

    def sign_up(self, outcome: str, reason: str = "") -> None:
        """Counts one decided sign-up."""
        self.sign_ups.labels(outcome, reason).inc()

    def message(self, kind: str, outcome: str) -> None:
        """Counts how one attempt to deliver an outbox message ended (`SENT`, `SKIPPED` or
        one of `FAILURES`); the sweep that made it is alive."""
        if outcome == SENT:
            self.messages_sent.labels(kind).inc()
        elif outcome == SKIPPED:
            self.messages_skipped.labels(kind).inc()
        else:
            self.messages_failed.labels(kind, outcome).inc()
        self.heartbeat.sweep_progressed()

    def sweep_finished(self, ok: bool) -> None:
        """Counts a sweep that ran to its end and notes it for ``/livez``."""
        self.sweeps.labels("ok" if ok else "error").inc()
        self.heartbeat.sweep_finished()


class _Levels(Collector):
    """Gauges read at scrape time: the outbox and timed-work queues, and the heartbeats."""

    def __init__(self, db: Database, clock: Clock, heartbeat: Heartbeat) -> None:
        self._db, self._clock, self._heartbeat = db, clock, heartbeat

    def describe(self) -> list[Metric]:
        """Nothing up front: registering must not query the database."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Reads the queues in one read transaction (it waits for no writer)."""
        now = self._clock.now()
        up = GaugeMetricFamily(
            "kursbot_database_up", "1 if this scrape could read the queues from the database"
        )
        try:
            with self._db.transaction(readonly=True) as session:
                levels = operations.queue_levels(session, now)
        except Exception:
            log.warning("metrics: the queues could not be read", exc_info=True)
            up.add_metric([], 0)
            yield up
        else:
            up.add_metric([], 1)
            yield up
            yield from _queue_gauges(levels, now)
        yield from self._heartbeats()

    def _heartbeats(self) -> Iterator[Metric]:
        beat = self._heartbeat
        for name, moment, what in (
            ("kursbot_sweep_last_finished", beat.sweep_finished_at, "a sweep ran to its end"),
            ("kursbot_get_updates_last_success", beat.updates_at, "getUpdates answered"),
        ):
            gauge = GaugeMetricFamily(f"{name}_timestamp_seconds", f"When {what} (Unix time)")
            wall = Heartbeat.wall_time(moment)
            if wall is not None:
                gauge.add_metric([], wall)
            yield gauge


def _queue_gauges(levels: operations.QueueLevels, now: datetime) -> Iterator[Metric]:
    messages = GaugeMetricFamily(
        "kursbot_outbox_messages", "Outbox messages by state", labels=["state"]
    )
    for state, count in sorted(levels.messages.items()):
        messages.add_metric([state], count)
    yield messages
    yield GaugeMetricFamily(
        "kursbot_outbox_oldest_due_age_seconds",
        "How long the oldest pending message has been due (0: none due)",
        value=_age(levels.oldest_due_message, now),
    )
    yield GaugeMetricFamily(
        "kursbot_tasks_pending", "Timed work not yet done", value=levels.pending_tasks
    )
    yield GaugeMetricFamily(
        "kursbot_tasks_oldest_due_age_seconds",
        "How long the oldest pending task has been due (0: none due)",
        value=_age(levels.oldest_due_task, now),
    )


def _age(due: datetime | None, now: datetime) -> float:
    if due is None:
        return 0.0
    return max((now - due).total_seconds(), 0.0)
