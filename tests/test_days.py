"""The days of a course, derived from its start and end in Europe/Berlin."""

from __future__ import annotations

from datetime import datetime

from kurse.clock import BERLIN
from kurse.days import course_days
from kurse.models import Course


def course(start: datetime, end: datetime) -> Course:
    return Course(id=1, code="K-2027-001", title="T", location="Hof", start_at=start, end_at=end)


def local(days):
    return [
        (
            d.day.isoformat(),
            d.start_at.astimezone(BERLIN).strftime("%H:%M"),
            d.end_at.astimezone(BERLIN).strftime("%H:%M"),
        )
        for d in days
    ]


def test_a_course_of_one_day_is_one_day():
    days = course_days(
        course(datetime(2027, 3, 12, 9, tzinfo=BERLIN), datetime(2027, 3, 12, 16, tzinfo=BERLIN))
    )

    assert local(days) == [("2027-03-12", "09:00", "16:00")]


def test_a_course_over_two_days_is_two_days_from_the_start_time_to_the_end_time():
    days = course_days(
        course(datetime(2027, 3, 12, 9, tzinfo=BERLIN), datetime(2027, 3, 13, 16, tzinfo=BERLIN))
    )

    assert local(days) == [("2027-03-12", "09:00", "16:00"), ("2027-03-13", "09:00", "16:00")]


def test_the_days_keep_their_local_times_across_the_clock_change():
    days = course_days(
        course(datetime(2027, 3, 27, 9, tzinfo=BERLIN), datetime(2027, 3, 29, 16, tzinfo=BERLIN))
    )

    assert local(days) == [
        ("2027-03-27", "09:00", "16:00"),
        ("2027-03-28", "09:00", "16:00"),
        ("2027-03-29", "09:00", "16:00"),
    ]
    # In UTC: winter time, then summer time
    assert days[0].start_at.hour == 8
    assert days[2].start_at.hour == 7


def test_a_night_exercise_is_one_stretch_from_start_to_end():
    days = course_days(
        course(datetime(2027, 3, 12, 20, tzinfo=BERLIN), datetime(2027, 3, 13, 6, tzinfo=BERLIN))
    )

    assert len(days) == 1
    assert local(days) == [("2027-03-12", "20:00", "06:00")]


def test_a_day_on_fronleichnam_warns_for_bavaria_and_buss_und_bettag_for_saxony():
    from kurse.days import day_warnings, days_between

    fronleichnam = days_between(
        datetime(2027, 5, 27, 9, tzinfo=BERLIN), datetime(2027, 5, 27, 16, tzinfo=BERLIN)
    )
    buss_und_bettag = days_between(
        datetime(2027, 11, 17, 9, tzinfo=BERLIN), datetime(2027, 11, 17, 16, tzinfo=BERLIN)
    )

    (bavarian,) = day_warnings(fronleichnam, {"Bayern", "Sachsen"}, "de")
    (saxon,) = day_warnings(buss_und_bettag, {"Bayern", "Sachsen"}, "de")
    assert bavarian.holidays == (("BY", "Fronleichnam"),)
    assert not bavarian.weekend
    assert saxon.holidays == (("SN", "Buß- und Bettag"),)
    assert day_warnings(fronleichnam, {"Sachsen"}, "de") == []


def test_a_course_over_a_weekend_warns_for_its_saturday_and_sunday():
    from kurse.days import day_warnings, days_between

    days = days_between(
        datetime(2027, 3, 5, 9, tzinfo=BERLIN), datetime(2027, 3, 8, 16, tzinfo=BERLIN)
    )

    warned = day_warnings(days, {"Bayern"}, "en")
    assert [(w.day.isoformat(), w.weekend) for w in warned] == [
        ("2027-03-06", True),
        ("2027-03-07", True),
    ]


def test_the_demo_term_has_no_course_day_on_a_weekend_or_holiday(tmp_path):
    from kurse.days import course_days, day_warnings
    from kurse.db import Database
    from kurse.demo import load_demo
    from kurse.migrate import upgrade

    db = Database(f"sqlite:///{tmp_path / 'demo.db'}")
    upgrade(db.engine)
    for start in (
        datetime(2027, 5, 20, 8, tzinfo=BERLIN),
        datetime(2027, 12, 20, 8, tzinfo=BERLIN),
    ):
        with db.transaction() as session:
            created = load_demo(session, start)
            warned = [day_warnings(course_days(c), {"Bayern", "Sachsen"}, "de") for c in created]
            session.rollback()
        assert created
        assert warned == [[] for _ in created]
    db.dispose()
