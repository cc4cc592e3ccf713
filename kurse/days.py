"""The days of a course: when it actually takes place, day by day, in Europe/Berlin.

A course from 12.03. 09:00 to 13.03. 16:00 is two days, 09:00–16:00 each, not one stretch
through the night, unless its form names other days (`Termine:`, kept in `Course.days`).
Calendar files (one event per day) and the attendance list (one signature column per day)
are made from these days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import holidays
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse.clock import BERLIN
from kurse.models import Agency, Course, Quota


@dataclass(frozen=True)
class CourseDay:
    """One day of a course: its date and its times (aware, UTC)."""

    day: date
    start_at: datetime
    end_at: datetime


def course_days(course: Course) -> list[CourseDay]:
    """The days of ``course``: those its form named (`Termine`), else `days_between`."""
    if course.days:
        return [
            CourseDay(start.astimezone(BERLIN).date(), start, end) for start, end in course.days
        ]
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


# Agencies name their state in words (`Agency.state`); public holidays differ by state.
STATES = {
    "baden-württemberg": "BW", "bayern": "BY", "berlin": "BE", "brandenburg": "BB",
    "bremen": "HB", "hamburg": "HH", "hessen": "HE", "mecklenburg-vorpommern": "MV",
    "niedersachsen": "NI", "nordrhein-westfalen": "NW", "rheinland-pfalz": "RP",
    "saarland": "SL", "sachsen": "SN", "sachsen-anhalt": "ST", "schleswig-holstein": "SH",
    "thüringen": "TH",
}  # fmt: skip
_HOLIDAY_LANGUAGE = {"de": "de", "en": "en_US"}


@dataclass(frozen=True)
class DayWarning:
    """A course day on a weekend or a public holiday of a taking-part agency's state."""

    day: date
    weekend: bool
    holidays: tuple[tuple[str, str], ...]  # (state, name of the holiday), per state


def day_warnings(days: list[CourseDay], states: set[str], language: str) -> list[DayWarning]:
    """The course days that fall on a Saturday or Sunday or on a public holiday in one of
    ``states`` (words as agencies give them, e.g. "Bayern"): a warning, never a refusal."""
    codes = sorted({STATES[s.strip().lower()] for s in states if s.strip().lower() in STATES})
    years = sorted({d.day.year for d in days})
    calendars = {
        code: holidays.country_holidays(
            "DE", subdiv=code, years=years, language=_HOLIDAY_LANGUAGE.get(language, "de")
        )
        for code in codes
    }
    warnings = []
    for d in days:
        found = tuple((code, str(cal[d.day])) for code, cal in calendars.items() if d.day in cal)
        weekend = d.day.weekday() >= 5
        if weekend or found:
            warnings.append(DayWarning(d.day, weekend, found))
    return warnings


def course_day_warnings(session: Session, course: Course, language: str) -> list[DayWarning]:
    """`day_warnings` for the states of the agencies with seats in ``course``."""
    states = set(
        session.scalars(
            select(col(Agency.state))
            .join(Quota, col(Quota.agency_id) == col(Agency.id))
            .where(col(Quota.course_id) == course.id, col(Quota.seats) > 0)
        )
    )
    return day_warnings(course_days(course), states, language)
