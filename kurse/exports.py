"""Files made from course data: calendar entries, participant lists as CSV and PDF."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from fpdf import FPDF, XPos, YPos
from icalendar import Calendar, Event, Timezone

from kurse.clock import BERLIN
from kurse.models import Course, CourseStatus, RegistrationStatus
from kurse.registrations import ParticipantList

PRODID = "-//Kursbot//Gemeinsame Fortbildung//DE"


def course_calendar(course: Course, registration_id: int) -> bytes:
    """An .ics file for one registration, in Europe/Berlin with its VTIMEZONE.

    The UID stays the same for the registration, so calendars update the event when the
    course moves, and ``SEQUENCE`` grows with every edit of the course. The file is the same
    for every participant but for the UID, so it is built once per course version (a
    fan-out of 2,000 reminders spent most of its time here before, measured).
    """
    status = "CANCELLED" if course.status == CourseStatus.CANCELLED else "CONFIRMED"
    template = _calendar_template(
        course.code,
        course.title,
        course.location,
        course.description,
        course.start_at,
        course.end_at,
        course.created_at,
        course.updated_at,
        status,
    )
    return template.replace(_UID_PLACEHOLDER, f"kursbot-registration-{registration_id}".encode())


_UID_PLACEHOLDER = b"kursbot-registration-UID"


@functools.lru_cache(maxsize=256)
def _calendar_template(
    code: str,
    title: str,
    location: str,
    description: str,
    start: datetime,
    end: datetime,
    created: datetime,
    updated: datetime,
    status: str,
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{_UID_PLACEHOLDER.decode()}@kursbot")
    event.add("dtstamp", updated)  # when the course's data last changed
    event.add("dtstart", start.astimezone(BERLIN))
    event.add("dtend", end.astimezone(BERLIN))
    event.add("summary", f"{title} ({code})")
    event.add("location", location)
    if description:
        event.add("description", description)
    event.add("sequence", int((updated - created).total_seconds()))
    event.add("status", status)
    calendar.add_component(_berlin_timezone(start.year, end.year))
    calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical


@functools.cache
def _berlin_timezone(first_year: int, last_year: int) -> Timezone:
    """The VTIMEZONE of Europe/Berlin around the course's years, built once per span.

    Measured: the full 1970–2038 definition took 11 ms per file to build and 4 ms to write,
    which made a fan-out of 2,000 reminders spend 20 s on calendar files alone.
    """
    return Timezone.from_tzinfo(
        BERLIN, first_date=date(first_year - 1, 1, 1), last_date=date(last_year + 1, 12, 31)
    )


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
    """Confirmed participants by agency, then the waiting list, as a `spreadsheet_csv`."""
    rows = [p for group in listing.confirmed.values() for p in group] + listing.waiting
    return spreadsheet_csv(
        [
            labels.columns,
            *(
                (
                    p.agency_code,
                    p.rank or "",
                    p.name or "–",
                    labels.confirmed
                    if p.status == RegistrationStatus.CONFIRMED
                    else labels.waiting,
                    str(p.position or ""),
                    p.signed_up_at.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M"),
                )
                for p in rows
            ),
        ]
    )


def spreadsheet_csv(rows: Iterable[Sequence[str]]) -> bytes:
    """Semicolon-separated, UTF-8 with BOM, so that German Excel opens it as it is; every cell
    that a spreadsheet would read as a formula is made text (`spreadsheet_cell`). Every CSV the
    project writes is written here (a test checks)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows([spreadsheet_cell(cell) for cell in row] for row in rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


_FORMULA_STARTS = ("=", "+", "-", "@")


def spreadsheet_cell(text: str) -> str:
    """``text``, with a ``'`` in front if it starts with ``=``, ``+``, ``-``, ``@``, a tab or a
    carriage return (OWASP's rule against CSV injection: Excel shows the quote-prefixed cell
    as text and runs nothing). Leading blanks do not hide a formula character either."""
    if text.startswith(("\t", "\r")) or text.lstrip(" \t\r\n").startswith(_FORMULA_STARTS):
        return "'" + text
    return text


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
