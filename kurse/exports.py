"""Files made from course data: the iCalendar file of a registration."""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event

from kurse.clock import BERLIN
from kurse.models import Course, CourseStatus

PRODID = "-//Kursbot//Gemeinsame Fortbildung//DE"


def course_calendar(course: Course, registration_id: int, now: datetime) -> bytes:
    """An .ics file for one registration, in Europe/Berlin with its VTIMEZONE.

    The UID stays the same for the registration, so calendars update the event when the
    course moves, and ``SEQUENCE`` grows with every edit of the course.
    """
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"kursbot-registration-{registration_id}@kursbot")
    event.add("dtstamp", now)
    event.add("dtstart", course.start_at.astimezone(BERLIN))
    event.add("dtend", course.end_at.astimezone(BERLIN))
    event.add("summary", f"{course.title} ({course.code})")
    event.add("location", course.location)
    if course.description:
        event.add("description", course.description)
    event.add("sequence", int((course.updated_at - course.created_at).total_seconds()))
    event.add("status", "CANCELLED" if course.status == CourseStatus.CANCELLED else "CONFIRMED")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    ical: bytes = calendar.to_ical()
    return ical
