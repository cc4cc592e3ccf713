"""Time as an explicit dependency: domain code asks a `Clock`, never `datetime.now()`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Returns the current time in UTC."""
        return datetime.now(UTC)


class SettableClock:
    """A clock that tests and demos set and move by hand."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_aware(start)

    def now(self) -> datetime:
        """Returns the time the clock was set to."""
        return self._now

    def set(self, when: datetime) -> None:
        """Sets the clock to ``when``."""
        self._now = ensure_aware(when)

    def advance(self, delta: timedelta) -> None:
        """Moves the clock forward by ``delta``."""
        self._now += delta


def ensure_aware(value: datetime) -> datetime:
    """Returns ``value`` in UTC; a naive datetime is refused, never guessed."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: every time in Kursbot carries its zone")
    return value.astimezone(UTC)
