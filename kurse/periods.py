"""Periods for the figures: a year, a quarter, a month or a range of days, in Europe/Berlin.

``/statistik Q1 2027`` and ``kursbot report --from … --to …`` name their period in words;
`parse_period` reads them (German and ISO dates) and refuses, with a `PeriodInvalid` that
says why, a quarter that does not exist, a day that does not, a range backwards and a range
of more than `MAX_YEARS` years. A period is whole days; its courses are those that *start*
within it (`Period.bounds`), so that the quarters of a year add up to the year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from kurse.clock import BERLIN
from kurse.errors import PeriodInvalid

MAX_YEARS = 10  # the longest period: a steering group looks at terms, not decades
MAX_TEXT = 60
FIRST_YEAR, LAST_YEAR = 2000, 2999


class PeriodKind(StrEnum):
    """How a period was named (its label follows it)."""

    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"
    RANGE = "range"


class PeriodReason(StrEnum):
    """Why a period cannot be read (`PeriodInvalid.reason`)."""

    UNREADABLE = "unreadable"  # none of the forms
    BAD_QUARTER = "bad_quarter"  # Q5 2027
    BAD_DATE = "bad_date"  # 31.02.2027, 13.2027
    BACKWARDS = "backwards"  # the last day before the first
    TOO_LONG = "too_long"  # more than MAX_YEARS years


@dataclass(frozen=True)
class Period:
    """Whole days from ``first`` to ``last`` (both included), in Europe/Berlin."""

    first: date
    last: date
    kind: PeriodKind = PeriodKind.RANGE

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as UTC instants ``[start, end)``: Berlin midnight of ``first`` to
        Berlin midnight after ``last``."""
        start = datetime.combine(self.first, time(0), tzinfo=BERLIN)
        end = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=BERLIN)
        return start.astimezone(UTC), end.astimezone(UTC)

    def months(self) -> list[date]:
        """The first day of every month the period touches, in order."""
        months, month = [], self.first.replace(day=1)
        while month <= self.last:
            months.append(month)
            month = (month + timedelta(days=32)).replace(day=1)
        return months

    @property
    def quarter(self) -> int:
        """The quarter (1–4) of the first day."""
        return (self.first.month - 1) // 3 + 1


def quarter_of(day: date) -> Period:
    """The quarter ``day`` lies in."""
    first_month = (day.month - 1) // 3 * 3 + 1
    first = date(day.year, first_month, 1)
    last = (first + timedelta(days=100)).replace(day=1) - timedelta(days=1)
    return Period(first, last, PeriodKind.QUARTER)


def berlin_today(now: datetime) -> date:
    """The date in Europe/Berlin at ``now``."""
    return now.astimezone(BERLIN).date()


_DATE = r"\d{1,2}\.\d{1,2}\.\d{4}|\d{4}-\d{1,2}-\d{1,2}"
_RANGE = re.compile(rf"^({_DATE})\s*(?:-|–|—|\.\.|bis|to)\s*({_DATE})$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(
    r"^(?:q\s*(\d{1,2})\s*[/ ]?\s*(\d{4})|(\d{4})\s*[-/ ]?\s*q\s*(\d{1,2}))$", re.I
)
_MONTH = re.compile(r"^(?:(\d{1,2})[./](\d{4})|(\d{4})-(\d{1,2}))$")


def parse_period(text: str, today: date) -> Period:
    """Reads ``2027``, ``Q1 2027``, ``03.2027``, ``01.01.2027-30.06.2027`` (ISO dates too);
    empty text is the quarter of ``today``. Raises `PeriodInvalid`."""
    typed = " ".join(text.split())[:MAX_TEXT]
    if not typed:
        return quarter_of(today)
    if match := _YEAR.match(typed):
        first_year = _year(int(match.group(1)), typed)
        return Period(date(first_year, 1, 1), date(first_year, 12, 31), PeriodKind.YEAR)
    if match := _QUARTER.match(typed):
        number, year = _number_and_year(match)
        if not 1 <= number <= 4:
            raise PeriodInvalid(reason=PeriodReason.BAD_QUARTER, given=typed)
        return quarter_of(date(_year(year, typed), (number - 1) * 3 + 1, 1))
    if match := _MONTH.match(typed):
        month, year = _number_and_year(match)
        if not 1 <= month <= 12:
            raise PeriodInvalid(reason=PeriodReason.BAD_DATE, given=typed)
        first = date(_year(year, typed), month, 1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return Period(first, last, PeriodKind.MONTH)
    if match := _RANGE.match(typed):
        return period_between(match.group(1), match.group(2))
    raise PeriodInvalid(reason=PeriodReason.UNREADABLE, given=typed)


def _number_and_year(match: re.Match[str]) -> tuple[int, int]:
    """A quarter's or month's number and the year, written either way round."""
    number, year, year_first, number_after = match.groups()
    return (int(number), int(year)) if number else (int(number_after), int(year_first))


def period_between(first_text: str, last_text: str) -> Period:
    """The days from one typed date to another (``TT.MM.JJJJ`` or ISO), both included."""
    first, last = _day(first_text), _day(last_text)
    if last < first:
        raise PeriodInvalid(reason=PeriodReason.BACKWARDS, given=f"{first_text}–{last_text}")
    if last > _add_years(first, MAX_YEARS):
        raise PeriodInvalid(reason=PeriodReason.TOO_LONG, given=str(MAX_YEARS))
    return Period(first, last, PeriodKind.RANGE)


def _day(text: str) -> date:
    typed = text.strip()[:20]
    try:
        parts = [int(part) for part in typed.replace("-", ".").split(".")]
        found = date(*reversed(parts)) if "." in typed else date(*parts)
    except ValueError:
        raise PeriodInvalid(reason=PeriodReason.BAD_DATE, given=typed) from None
    _year(found.year, typed)
    return found


def _year(year: int, typed: str) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodInvalid(reason=PeriodReason.BAD_DATE, given=typed)
    return year


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)
