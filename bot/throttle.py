"""Per-user flood protection: a token bucket per Telegram account, kept in memory.

A flood of messages from one account is answered a few times, then once with a notice, and
the rest is dropped before it costs a database round trip; other users are not slowed.

It measures time on the monotonic clock: when the wall clock is set back (NTP, a wrong
clock corrected), a bucket must not wait for the lost hour to come round again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Verdict = Literal["ok", "notice", "drop"]


@dataclass
class _Bucket:
    tokens: float
    at: float
    noticed: bool = False


@dataclass
class Throttle:
    """``burst`` updates at once, then ``rate`` a second (per user); ``clock`` gives seconds
    (monotonic; tests pass their own)."""

    rate: float = 1.0
    burst: int = 8
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[int, _Bucket] = field(default_factory=dict)
    _checks: int = 0

    def check(self, user_id: int) -> Verdict:
        """Whether to handle this update, tell the user once to slow down, or drop it."""
        now = self.clock()
        self._checks += 1
        if self._checks % 10_000 == 0:
            self.forget_idle(now)
        bucket = self._buckets.get(user_id)
        if bucket is None:
            bucket = self._buckets[user_id] = _Bucket(float(self.burst), now)
        elapsed = max(0.0, now - bucket.at)  # a clock that stepped back refills nothing
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.noticed = False
            return "ok"
        if bucket.noticed:
            return "drop"
        bucket.noticed = True
        return "notice"

    def forget_idle(self, now: float) -> None:
        """Drops buckets that are full again (keeps memory flat over weeks)."""
        full = [
            u
            for u, b in self._buckets.items()
            if b.tokens + max(0.0, now - b.at) * self.rate >= self.burst
        ]
        for user_id in full:
            del self._buckets[user_id]
