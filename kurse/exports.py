"""Files made from course data: calendar entries, participant lists as CSV and PDF, certificates
of attendance as PDF."""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from fpdf import FPDF, FontFace
from fpdf.enums import CellBordersLayout
from fpdf.fonts import TTFFont
from icalendar import Calendar, Event, Timezone
from pypdf import PdfReader, PdfWriter

from kurse.clock import BERLIN
from kurse.days import course_days
from kurse.models import Course, CourseStatus, RegistrationStatus
from kurse.pdf import BELOW, FONT, PagedDocument, add_fonts
from kurse.registration_lists import ParticipantList

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
    """The words of a participant list, in the reader's language (the bot translates them and
    formats the dates)."""

    columns: tuple[str, str, str, str, str, str]  # agency, rank, name, status, position, time
    confirmed: str
    waiting: str
    signature: str
    page: str  # with {page} and {pages}
    when: str  # "Dates: …", the course's dates formatted
    lead: str  # "Course lead: …" or ""
    heading: str  # "Attendance list"
    place: str  # "Place: …"
    agencies: str  # "Agencies: {names}"
    printed: str  # "Printed: …", the time of printing formatted
    days: tuple[str, ...]  # each day of `kurse.days.course_days`, formatted
    requested: str = "requested"  # a seat held for the agency's approval
    offered: str = "offered"  # a seat offered from the waiting list
    held: str = "Seats held, not yet confirmed"  # the PDF's heading of those below the tables


def participants_csv(listing: ParticipantList, labels: ListLabels) -> bytes:
    """Confirmed participants by agency, the held seats, then the waiting list, as a
    `spreadsheet_csv`."""
    rows = [p for group in listing.confirmed.values() for p in group]
    rows += listing.held + listing.waiting
    status = {
        RegistrationStatus.CONFIRMED: labels.confirmed,
        RegistrationStatus.REQUESTED: labels.requested,
        RegistrationStatus.OFFERED: labels.offered,
        RegistrationStatus.WAITING: labels.waiting,
    }
    return spreadsheet_csv(
        [
            labels.columns,
            *(
                (
                    p.agency_code,
                    p.rank or "",
                    p.name or "–",
                    status[p.status],
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


_ROW = 12  # mm: the least height of a participant's row, room for a signature
_LANDSCAPE_FROM_DAYS = 3  # from three signature columns on, portrait makes them too narrow
_DAYS_PER_TABLE = 5  # signature columns side by side, at least 31 mm wide each (landscape)
_PORTRAIT_WIDTHS = (8.0, 62.0, 26.0)  # mm: number, name, rank; the days share the rest
_LANDSCAPE_WIDTHS = (8.0, 70.0, 30.0)


def participants_pdf(listing: ParticipantList, labels: ListLabels, now: datetime) -> bytes:
    """A printable A4 attendance list for the training office to file.

    A heading, the course (title, code, dates, place, lead, the agencies' full names) and the
    print time; then the confirmed participants grouped by agency, each agency under its full
    name, numbered throughout, with one signature column per course day
    (`kurse.days.course_days`, headed by the day's date). Names wrap, never cut; the agency
    and the column headings repeat on every page; landscape from three days on, and a course
    of more than five days is the list again for each further five days. ``now`` is the time
    of printing (the document's creation date; ``labels.printed`` shows it).

    The waiting list is left out: the list records who attended and signed, and officers
    without a seat do neither; their names on a paper that is filed away would be kept for no
    purpose (data minimisation). The lead sees the waiting list in ``/teilnehmer`` and the CSV.
    """
    course = listing.course
    days = course_days(course)
    if len(days) != len(labels.days):
        raise ValueError("labels.days must name each day of kurse.days.course_days")
    landscape = len(days) >= _LANDSCAPE_FROM_DAYS
    pdf = PagedDocument(
        "landscape" if landscape else "portrait",
        footer=f"{course.code} · {labels.printed}",
        page=labels.page,
    )
    pdf.set_title(f"{labels.heading}: {course.title} ({course.code})")
    pdf.set_creator("Kursbot")
    pdf.set_creation_date(now)
    pdf.add_page()
    _course_header(pdf, listing, labels)
    widths = _LANDSCAPE_WIDTHS if landscape else _PORTRAIT_WIDTHS
    day_width = (pdf.epw - sum(widths)) / min(len(days), _DAYS_PER_TABLE)
    # A course longer than _DAYS_PER_TABLE days is printed in blocks of days, each block the
    # whole list again on pages of its own, so that every column keeps room for a signature.
    for first in range(0, len(days), _DAYS_PER_TABLE):
        if first:
            pdf.add_page()
        block = labels.days[first : first + _DAYS_PER_TABLE]
        headings = [
            "#",
            labels.columns[2],
            labels.columns[1],
            *(
                f"{labels.signature}\n{day}" if len(days) > 1 else labels.signature
                for day in block
            ),
        ]
        _agency_tables(pdf, listing, headings, (*widths, *(day_width for _ in block)))
    _held_seats(pdf, listing, labels)
    return bytes(pdf.output())


def _held_seats(pdf: FPDF, listing: ParticipantList, labels: ListLabels) -> None:
    """Below the tables, apart from the confirmed: the seats held for an approval or an offer
    (whoever holds them may still come; they have no signature line until confirmed)."""
    if not listing.held:
        return
    pdf.set_font(FONT, "B", size=10)
    pdf.multi_cell(0, 6, labels.held, **BELOW)
    pdf.set_font(FONT, size=9)
    for p in listing.held:
        state = labels.requested if p.status == RegistrationStatus.REQUESTED else labels.offered
        line = f"{p.name or '–'}{', ' + p.rank if p.rank else ''} ({p.agency_code}) – {state}"
        pdf.multi_cell(0, 5, line, **BELOW)


def _agency_tables(
    pdf: FPDF, listing: ParticipantList, headings: list[str], widths: tuple[float, ...]
) -> None:
    """One table per agency, its full name and the column headings on top of every page,
    a row per confirmed participant, numbered throughout."""
    signatures = len(headings) - 3
    number = 0
    for code, group in listing.confirmed.items():
        # The agency's table begins on the page where its headings and first row fit.
        if pdf.will_page_break(7 + 2 * _ROW):
            pdf.add_page()
        name = listing.agency_names.get(code)
        with pdf.table(
            col_widths=widths,
            width=sum(widths),
            align="LEFT",
            text_align=("RIGHT", "LEFT", "LEFT", *("CENTER" for _ in range(signatures))),
            headings_style=FontFace(emphasis="BOLD", size_pt=9, fill_color=(230, 230, 230)),
            line_height=5,
            padding=(1, 1.5),
            v_align="MIDDLE",
            min_row_height=_ROW,
            num_heading_rows=2,
            repeat_headings=1,
        ) as table:
            table.row(min_height=7).cell(
                f"{name} ({code})" if name else code,
                colspan=len(headings),
                align="LEFT",
                style=FontFace(emphasis="BOLD", size_pt=11, fill_color=(255, 255, 255)),
                border=CellBordersLayout.BOTTOM,
            )
            table.row(headings)
            for participant in group:
                number += 1
                name_cell = participant.name or "–"
                table.row([str(number), name_cell, participant.rank or "", *([""] * signatures)])
        pdf.ln(5)


def _course_header(pdf: FPDF, listing: ParticipantList, labels: ListLabels) -> None:
    """The heading, the course and the print time, at the top of the first page."""
    course = listing.course
    pdf.set_font(FONT, "B", 16)
    pdf.multi_cell(0, 8, labels.heading, **BELOW)
    pdf.set_font(FONT, "B", 12)
    pdf.multi_cell(0, 6, f"{course.title} ({course.code})", **BELOW)
    pdf.ln(1)
    pdf.set_font(FONT, size=10)
    agencies = ", ".join(f"{name} ({code})" for code, name in listing.agency_names.items())
    lines = (
        labels.when,
        labels.place,
        labels.lead,
        labels.agencies.format(names=agencies) if agencies else "",
        labels.printed,
    )
    for line in lines:
        if line:
            pdf.multi_cell(0, 5, line, **BELOW)
    pdf.ln(4)


# --- certificates of attendance (issue 18) -------------------------------------------------


@dataclass(frozen=True)
class CertificateLabels:
    """Everything a certificate of attendance prints, as the bot words it (its language)."""

    heading: str  # "Teilnahmebescheinigung"
    certify: str  # "Hiermit wird bescheinigt, dass"
    holder: str  # "POK Łukasz Wójcik"
    agency: str  # "Polizeipräsidium Oberfranken (PP-OFR)"
    took_part: str  # "an der gemeinsamen Fortbildung teilgenommen hat:"
    course: str  # "Grenzüberschreitende Fahndung (K-2027-005)"
    days: tuple[str, ...]  # each day present, with its times
    total: str  # "Anwesend an 2 von 2 Kurstagen, 11 Stunden."
    place: str  # "Ort: …"
    lead: str  # "Kursleitung: …" or ""
    cooperation: str  # "Eine Fortbildung in Zusammenarbeit von … und …"
    issued: str  # "Ausgestellt am …"
    serial: str  # "Nummer: K-2027-005-001"
    verification: str  # "Prüfcode: ABCDE-FGHJK (…)"
    title: str  # the document's title (metadata)


def certificates_pdf(
    items: Sequence[tuple[int, CertificateLabels]], now: datetime
) -> dict[int, bytes]:
    """One A4 PDF per certificate (by its id), DejaVu Sans embedded as in the attendance list.

    Written as one document and then split into a file per page, so that the fonts are read
    and subset once for all of them: a course of 100 participants takes about a second
    instead of twenty (`bench/certificates.py`)."""
    if not items:
        return {}
    pdf = FPDF(format="A4")
    add_fonts(pdf)
    pdf.set_margins(25, 25, 25)
    pdf.set_auto_page_break(auto=False)
    pdf.set_creator("Kursbot")
    pdf.set_creation_date(now)
    for _id, labels in items:
        _certificate_page(pdf, labels)
    whole = PdfReader(io.BytesIO(bytes(pdf.output())))
    documents = {}
    for (certificate_id, labels), page in zip(items, whole.pages, strict=True):
        writer = PdfWriter()
        writer.add_page(page)
        writer.add_metadata({"/Title": labels.title, "/Creator": "Kursbot"})
        out = io.BytesIO()
        writer.write(out)
        documents[certificate_id] = out.getvalue()
    return documents


def _certificate_page(pdf: FPDF, labels: CertificateLabels) -> None:
    """One certificate on its page: heading, holder, course, days, place, lead, the
    cooperation, the date of issue, serial number and verification code."""
    pdf.add_page()
    pdf.set_y(40)
    _line(pdf, 12, labels.heading, "B", 24)
    pdf.ln(12)
    _line(pdf, 7, labels.certify, "", 12)
    pdf.ln(3)
    _line(pdf, 9, labels.holder, "B", 16)
    _line(pdf, 7, labels.agency, "", 12)
    pdf.ln(3)
    _line(pdf, 7, labels.took_part, "", 12)
    pdf.ln(3)
    _line(pdf, 8, labels.course, "B", 14)
    pdf.ln(6)
    for day in labels.days[:31]:  # a page holds a month of days
        _line(pdf, 6, day, "", 11)
    if len(labels.days) > 31:
        _line(pdf, 6, "…", "", 11)
    pdf.ln(2)
    for text in (labels.total, labels.place, labels.lead):
        if text:
            _line(pdf, 6, text, "", 11)
    pdf.ln(6)
    _line(pdf, 6, labels.cooperation, "", 10)
    pdf.set_y(-60)
    for text in (labels.issued, labels.serial, labels.verification):
        _line(pdf, 6, text, "", 10, align="L")


def _line(pdf: FPDF, height: float, text: str, style: str, size: float, align: str = "C") -> None:
    """A paragraph, centred unless ``align`` says otherwise, wrapped at words. Wrapped here
    rather than by ``multi_cell``, whose line breaking measures every character again and
    again: it was nine tenths of the time a certificate took."""
    pdf.set_font(FONT, style, size)
    for part in _wrapped(pdf, text, pdf.epw):
        pdf.cell(0, height, part, align=align, **BELOW)


def _wrapped(pdf: FPDF, text: str, width: float) -> list[str]:
    """``text`` in lines no wider than ``width`` in the current font, broken at spaces (a
    word wider than the line on its own is broken between characters)."""
    measure = _measure(pdf)
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if measure(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while measure(current) > width and len(current) > 1:
            cut = len(current) - 1
            while cut > 1 and measure(current[:cut]) > width:
                cut -= 1
            lines.append(current[:cut])
            current = current[cut:]
    lines.append(current)
    return lines


def _measure(pdf: FPDF) -> Callable[[str], float]:
    """The width of a text in the current font (mm): the sum of its glyphs' advance widths,
    as fpdf computes it without text shaping (which these pages do not use), without its
    per-call fragment building; fpdf's own measure for a character it has no width for."""
    font, scale = pdf.current_font, pdf.font_size_pt * 0.001 / pdf.k
    if not isinstance(font, TTFFont):
        return pdf.get_string_width
    widths = font.cw

    def width(text: str) -> float:
        try:
            return float(sum(widths[ord(ch)] for ch in text)) * scale
        except (IndexError, KeyError):
            return pdf.get_string_width(text)

    return width
