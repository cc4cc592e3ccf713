"""The days of a course: when it actually takes place, day by day, in Europe/Berlin.

A course from 12.03. 09:00 to 13.03. 16:00 is two days, 09:00–16:00 each, not one stretch
through the night. Calendar files (one event per day) and the attendance list (one signature
column per day) are made from these days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from kurse.clock import BERLIN
from kurse.models import Course


@dataclass(frozen=True)
class CourseDay:
    """One day of a course: its date and its times (aware, UTC)."""

    day: date
    start_at: datetime
    end_at: datetime


def course_days(course: Course) -> list[CourseDay]:
    """The days of ``course`` (see `days_between`)."""
    return days_between(course.start_at, course.end_at)


def days_between(start_at: datetime, end_at: datetime) -> list[CourseDay]:
    """Each calendar day from the start's date to the end's, from the start's time of day to
    the end's (in Berlin, so a day after the clock change keeps its local times). A course
    whose end time of day is not after its start time of day (a night exercise from 20:00 to
    06:00) is one stretch from start to end."""
    start, end = start_at.astimezone(BERLIN), end_at.astimezone(BERLIN)
    if start.date() == end.date() or end.time() <= start.time():
        return [CourseDay(start.date(), start_at, end_at)]
    days = []
    current = start.date()
    while current <= end.date():
        begins = datetime.combine(current, start.time(), BERLIN).astimezone(UTC)
        ends = datetime.combine(current, end.time(), BERLIN).astimezone(UTC)
        days.append(CourseDay(current, begins, ends))
        current += timedelta(days=1)
    return days
