"""Files made from course data: calendar entries, participant lists as CSV and PDF."""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from datetime import date, datetime

from fpdf import FPDF, XPos, YPos
from icalendar import Calendar, Event, Timezone

from kurse.clock import BERLIN
from kurse.days import course_days
from kurse.models import Course, CourseStatus, RegistrationStatus
from kurse.registrations import ParticipantList

PRODID = "-//Kursbot//Gemeinsame Fortbildung//DE"


def course_calendar(
    course: Course,
    registration_id: int,
    at: datetime,
    *,
    cancel: bool = False,
    days_before: int = 0,
) -> bytes:
    """An .ics file for one registration: one event per course day (`kurse.days`), in
    Europe/Berlin with its VTIMEZONE.

    Calendars recognise the entry by its ``UID`` (one per registration and day, the same in
    every file) and take a file with a higher ``SEQUENCE`` as the newer state: the sequence
    counts the seconds from the course's creation to ``at``, the moment the file is made, so
    that every file is newer than each one before it (an entry cancelled, then booked again,
    then moved: each file replaces the last).
    ``cancel`` (or a cancelled course) makes a ``METHOD:CANCEL`` file that removes the entry;
    ``days_before`` is how many days the course had before a change, so that days it lost
    are removed too. The file is built once per course version and state and then only the
    UID and sequence are put in (a fan-out of 2,000 reminders spent most of its time here
    before, measured).
    """
    cancelled = cancel or course.status == CourseStatus.CANCELLED
    days = tuple((d.start_at, d.end_at) for d in course_days(course))
    template = _calendar_template(
        course.code,
        course.title,
        course.location,
        course.description,
        days,
        course.updated_at,
        cancelled,
        max(days_before, len(days)),
    )
    sequence = max(0, int((at - course.created_at).total_seconds()))
    uid = f"kursbot-registration-{registration_id}".encode()
    return template.replace(_UID_PLACEHOLDER, uid).replace(
        _SEQUENCE_PLACEHOLDER, f"SEQUENCE:{sequence}".encode()
    )


_UID_PLACEHOLDER = b"kursbot-registration-UID"
_SEQUENCE_NUMBER = 2_147_480_001
_SEQUENCE_PLACEHOLDER = f"SEQUENCE:{_SEQUENCE_NUMBER}".encode()


def calendar_uid(registration: int | str, day_index: int) -> str:
    """The UID of one day of a registration: the first day keeps the UID of the files made
    before courses had days (``kursbot-registration-12@kursbot``), the others are numbered."""
    suffix = "" if day_index == 0 else f"-{day_index + 1}"
    return f"kursbot-registration-{registration}{suffix}@kursbot"


@functools.lru_cache(maxsize=256)
def _calendar_template(
    code: str,
    title: str,
    location: str,
    description: str,
    days: tuple[tuple[datetime, datetime], ...],
    updated: datetime,
    cancelled: bool,
    events: int,
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    years = [start.astimezone(BERLIN).year for start, _end in days]
    calendar.add_component(_berlin_timezone(min(years), max(years)))
    for index in range(events):
        # Days the course no longer has (it was shortened) are published as cancelled.
        start, end = days[index] if index < len(days) else days[-1]
        event = Event()
        event.add(
            "uid",
            calendar_uid(0, index).replace("kursbot-registration-0", _UID_PLACEHOLDER.decode()),
        )
        event.add("dtstamp", updated)  # when the course's data last changed
        event.add("dtstart", start.astimezone(BERLIN))
        event.add("dtend", end.astimezone(BERLIN))
        event.add("summary", f"{title} ({code})")
        event.add("location", location)
        if description:
            event.add("description", description)
        event.add("sequence", _SEQUENCE_NUMBER)
        event.add("status", "CANCELLED" if cancelled or index >= len(days) else "CONFIRMED")
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical


@functools.cache
def _berlin_timezone(first_year: int, last_year: int) -> Timezone:
    """The VTIMEZONE of Europe/Berlin around the course's years, built once per span.

    Measured: the full 1970–2038 definition took 11 ms per file to build and 4 ms to write,
    which made a fan-out of 2,000 reminders spend 20 s on calendar files alone.
    """
    timezone = Timezone.from_tzinfo(
        BERLIN, first_date=date(first_year - 1, 1, 1), last_date=date(last_year + 1, 12, 31)
    )
    timezone.pop("COMMENT", None)  # icalendar's English note on the span has no reader here
    return timezone


@dataclass(frozen=True)
class ListLabels:
    """The words of a participant list, in the reader's language (the bot translates them)."""

    columns: tuple[str, str, str, str, str, str]  # agency, rank, name, status, position, time
    confirmed: str
    waiting: str
    signature: str
    page: str  # with {page} and {pages}
    when: str  # the course's dates, already formatted
    lead: str  # "Course lead: …" or ""


def participants_csv(listing: ParticipantList, labels: ListLabels) -> bytes:
    """Semicolon-separated, UTF-8 with BOM, so that German Excel opens it as it is."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(labels.columns)
    rows = [p for group in listing.confirmed.values() for p in group] + listing.waiting
    for p in rows:
        status = labels.confirmed if p.status == RegistrationStatus.CONFIRMED else labels.waiting
        writer.writerow(
            [
                p.agency_code,
                p.rank or "",
                p.name or "–",
                status,
                p.position or "",
                p.signed_up_at.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M"),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


_PDF_REPLACEMENTS = str.maketrans(
    {
        "–": "-",
        "—": "-",
        "„": '"',
        "“": '"',
        "”": '"',
        "’": "'",
        "‚": "'",
        "…": "...",
        "\u00a0": " ",
    }
)


def _latin1(text: str) -> str:
    """The PDF's built-in font covers Latin-1 (all German letters); others become '?'."""
    return text.translate(_PDF_REPLACEMENTS).encode("latin-1", "replace").decode("latin-1")


def participants_pdf(listing: ParticipantList, labels: ListLabels) -> bytes:
    """A printable A4 attendance list: course header, one row per confirmed participant with
    a signature column, page numbers."""
    course = listing.course

    class AttendanceList(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font("Helvetica", size=8)
            text = labels.page.format(page=self.page_no(), pages="{nb}")
            self.cell(0, 8, _latin1(text), align="C")

    pdf = AttendanceList(format="A4")
    pdf.alias_nb_pages()
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=14)
    below = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}
    pdf.multi_cell(0, 7, _latin1(f"{course.title} ({course.code})"), **below)
    pdf.set_font("Helvetica", size=10)
    for line in (labels.when, course.location, labels.lead):
        if line:
            pdf.multi_cell(0, 5, _latin1(line), **below)
    pdf.ln(4)
    widths = (10, 62, 22, 28, 68)
    headers = ("#", labels.columns[2], labels.columns[1], labels.columns[0], labels.signature)

    def header_row() -> None:
        pdf.set_font("Helvetica", style="B", size=10)
        for width, text in zip(widths, headers, strict=True):
            pdf.cell(width, 8, _latin1(text), border=1)
        pdf.ln()
        pdf.set_font("Helvetica", size=10)

    header_row()
    number = 0
    for group in listing.confirmed.values():
        for p in group:
            if pdf.will_page_break(10):
                pdf.add_page()
                header_row()
            number += 1
            cells = (str(number), p.name or "-", p.rank or "", p.agency_code, "")
            for width, text in zip(widths, cells, strict=True):
                pdf.cell(width, 10, _latin1(text)[:40], border=1)
            pdf.ln()
    return bytes(pdf.output())
