"""Periods of the figures: the forms an admin types, and every bad one refused with a reason."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from kurse.errors import PeriodInvalid
from kurse.periods import PeriodKind, PeriodReason, parse_period, period_between

TODAY = date(2027, 5, 14)


@pytest.mark.parametrize(
    ("typed", "first", "last", "kind"),
    [
        ("", date(2027, 4, 1), date(2027, 6, 30), PeriodKind.QUARTER),
        ("2027", date(2027, 1, 1), date(2027, 12, 31), PeriodKind.YEAR),
        ("Q1 2027", date(2027, 1, 1), date(2027, 3, 31), PeriodKind.QUARTER),
        ("q4/2027", date(2027, 10, 1), date(2027, 12, 31), PeriodKind.QUARTER),
        ("2027-Q3", date(2027, 7, 1), date(2027, 9, 30), PeriodKind.QUARTER),
        ("03.2027", date(2027, 3, 1), date(2027, 3, 31), PeriodKind.MONTH),
        ("2.2028", date(2028, 2, 1), date(2028, 2, 29), PeriodKind.MONTH),
        ("2027-12", date(2027, 12, 1), date(2027, 12, 31), PeriodKind.MONTH),
        ("01.01.2027-30.06.2027", date(2027, 1, 1), date(2027, 6, 30), PeriodKind.RANGE),
        ("01.01.2027 – 30.06.2027", date(2027, 1, 1), date(2027, 6, 30), PeriodKind.RANGE),
        ("2027-01-01..2027-06-30", date(2027, 1, 1), date(2027, 6, 30), PeriodKind.RANGE),
        ("2027-01-01-2027-01-01", date(2027, 1, 1), date(2027, 1, 1), PeriodKind.RANGE),
    ],
)
def test_each_way_of_naming_a_period_reads_as_its_days(typed, first, last, kind):
    period = parse_period(typed, TODAY)

    assert (period.first, period.last, period.kind) == (first, last, kind)


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("Q5 2027", PeriodReason.BAD_QUARTER),
        ("Q0 2027", PeriodReason.BAD_QUARTER),
        ("31.02.2027-30.06.2027", PeriodReason.BAD_DATE),
        ("13.2027", PeriodReason.BAD_DATE),
        ("0001", PeriodReason.BAD_DATE),
        ("01.01.0001-31.12.0001", PeriodReason.BAD_DATE),
        ("30.06.2027-01.01.2027", PeriodReason.BACKWARDS),
        ("01.01.2027-01.01.2040", PeriodReason.TOO_LONG),
        ("letztes Quartal", PeriodReason.UNREADABLE),
        ("Q1 2027; DROP TABLE course", PeriodReason.UNREADABLE),
        ("Квартал 1 2027", PeriodReason.UNREADABLE),
        ("9" * 10_000, PeriodReason.UNREADABLE),
    ],
)
def test_a_bad_period_is_refused_saying_why(typed, reason):
    with pytest.raises(PeriodInvalid) as refused:
        parse_period(typed, TODAY)

    assert refused.value.reason == reason
    assert len(refused.value.given) <= 60


def test_a_period_s_bounds_are_berlin_midnights_in_utc_across_the_clock_change():
    period = period_between("01.03.2027", "31.03.2027")

    assert period.bounds() == (
        datetime(2027, 2, 28, 23, 0, tzinfo=UTC),  # CET
        datetime(2027, 3, 31, 22, 0, tzinfo=UTC),  # CEST after 28.03.
    )


def test_a_period_lists_every_month_it_touches():
    period = period_between("15.11.2027", "10.02.2028")

    assert period.months() == [
        date(2027, 11, 1),
        date(2027, 12, 1),
        date(2028, 1, 1),
        date(2028, 2, 1),
    ]
