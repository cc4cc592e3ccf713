"""Whether the bot's loops still move, for ``/livez``: updates arrive and timed work finishes.

`Heartbeat` is written on the event loop where things happen (a successful ``getUpdates``, a
``setWebhook`` done, a sweep finished or a message of it delivered) and read by the health
server's thread; each write is one float. `Liveness` judges it against the thresholds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from telegram.request import BaseRequest, RequestData

# Polling: without a successful getUpdates for this long the bot is cut off from its users.
# A long poll answers within its timeout (PTB's default 10 s); three of them lost in a row, and
# the retries in between, are not a hiccup any more.
LONG_POLL_TIMEOUT = 10.0
UPDATES_SLACK = 10.0


def polling_threshold(poll_timeout: float = LONG_POLL_TIMEOUT) -> float:
    """The default threshold for polling: 3 × the long-poll timeout + 10 s (40 s)."""
    return 3 * poll_timeout + UPDATES_SLACK


class Heartbeat:
    """When the bot last showed each sign of life (``time.monotonic()`` seconds)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.updates_at: float | None = None  # the last getUpdates answered with 200
        self.webhook_set_at: float | None = None  # the last setWebhook answered with 200
        self.sweep_finished_at: float | None = None
        self.sweep_progress_at: float | None = None  # a message of a running sweep done

    def got_updates(self) -> None:
        """A getUpdates call succeeded (with or without updates)."""
        self.updates_at = time.monotonic()

    def webhook_set(self) -> None:
        """Telegram accepted the webhook."""
        self.webhook_set_at = time.monotonic()

    def sweep_finished(self) -> None:
        """A sweep of timed work ran to its end."""
        self.sweep_finished_at = time.monotonic()

    def sweep_progressed(self) -> None:
        """A sweep delivered (or gave up on) a message: a long fan-out is alive, not stuck."""
        self.sweep_progress_at = time.monotonic()

    @staticmethod
    def wall_time(moment: float | None) -> float | None:
        """A monotonic moment as Unix time (for the metrics' timestamps)."""
        return None if moment is None else time.time() - (time.monotonic() - moment)


@dataclass(frozen=True)
class Liveness:
    """The thresholds ``/livez`` applies to a `Heartbeat`.

    Polling: a successful getUpdates within ``updates_within`` seconds. Webhook: setWebhook
    done (absent updates are normal then: nobody wrote). Both: a sweep finished (or, while
    one runs, a message of it done) within ``sweep_within`` seconds. The start counts as
    the last sign of each, so the first poll and the first sweep have the same grace.
    """

    heartbeat: Heartbeat
    webhook: bool = False
    updates_within: float = polling_threshold()
    sweep_within: float = 60.0  # 2 × bot.jobs.SWEEP, set by `kursbot run`

    def check(self) -> dict[str, str]:
        """``{"updates": …, "sweep": …}``, each "ok" or what is wrong, in a few words."""
        beat, now = self.heartbeat, time.monotonic()
        updates = "ok"
        if self.webhook:
            if beat.webhook_set_at is None and now - beat.started > self.updates_within:
                updates = "the webhook is not set"
        else:
            since = now - (beat.updates_at or beat.started)
            if since > self.updates_within:
                updates = (
                    f"no getUpdates answered for {since:.0f} s (limit {self.updates_within:g} s)"
                )
        last_sweep = max(beat.started, beat.sweep_finished_at or 0, beat.sweep_progress_at or 0)
        sweep = "ok"
        if now - last_sweep > self.sweep_within:
            sweep = (
                f"no sweep finished for {now - last_sweep:.0f} s (limit {self.sweep_within:g} s)"
            )
        return {"updates": updates, "sweep": sweep}


class WatchedRequest(BaseRequest):
    """Passes every Bot API call to ``inner`` and notes a successful getUpdates and
    setWebhook on the `Heartbeat` (where PTB's updater polls or sets the webhook)."""

    def __init__(self, inner: BaseRequest, heartbeat: Heartbeat) -> None:
        self.inner = inner
        self._heartbeat = heartbeat

    @property
    def read_timeout(self) -> float | None:
        """The inner request's (PTB adds the long-poll timeout to it for getUpdates)."""
        return self.inner.read_timeout

    async def initialize(self) -> None:
        """Opens the inner request."""
        await self.inner.initialize()

    async def shutdown(self) -> None:
        """Closes the inner request."""
        await self.inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Makes the call; a 200 to getUpdates or setWebhook is a sign of life."""
        code, payload = await self.inner.do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        if code == 200:
            if url.endswith("/getUpdates"):
                self._heartbeat.got_updates()
            elif url.endswith("/setWebhook"):
                self._heartbeat.webhook_set()
        return code, payload
