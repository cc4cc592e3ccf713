"""Reading what admins type: the ``Key: value`` course form, seat lists and dates.

Nothing here touches the database; `parse_course_form` returns the values it could read and
every problem with its line number, so that a message with any error creates nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from kurse.clock import BERLIN

MAX_FORM_LINES = 60
MAX_ERRORS_SHOWN = 10

# Canonical field names and the keys (case-insensitive) that name them: the German key first,
# then the English one (the two that forms are shown with), then other spellings.
KEYS: dict[str, tuple[str, ...]] = {
    "title": ("titel", "title"),
    "start_at": ("beginn", "start"),
    "end_at": ("ende", "end"),
    "location": ("ort", "location"),
    "registration_deadline": ("anmeldeschluss", "deadline", "registration deadline"),
    "cancellation_deadline": ("abmeldeschluss", "cancellation deadline", "cancellation"),
    "release_at": ("freigabe", "release"),
    # "Mindestteilnehmer(zahl)" from before the texts became gender-neutral still works.
    "min_participants": (
        "mindestzahl",
        "minimum participants",
        "minimum",
        "mindestteilnehmer",
        "mindestteilnehmerzahl",
    ),
    "seats": ("plätze", "seats", "plaetze"),
    "lead": ("kursleitung", "lead"),
    "description": ("beschreibung", "description"),
}
_BY_KEY = {key: name for name, keys in KEYS.items() for key in keys}
REQUIRED = ("title", "start_at", "end_at", "location", "registration_deadline", "seats")
# A date without a time means the start of the day for these, the end of the day otherwise.
_DAY_STARTS = ("start_at", "release_at")

_LINE = re.compile(r"^\s*([^:]{1,40}?)\s*:\s*(.*)$")
_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:,?\s+(\d{1,2})[:.](\d{2}))?$")
_SEAT = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,7}(?:-[A-Za-z0-9]{1,7})?)\s*[=:]\s*(\S+)$")


@dataclass(frozen=True)
class FormError:
    """One problem: the line (1-based, 0 for the whole form), the field and the reason."""

    line: int
    field: str
    reason: str
    value: str = ""


@dataclass
class CourseForm:
    """What a course form said: values by field name, the line of each, and the problems."""

    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    errors: list[FormError] = field(default_factory=list)


def split_key(line: str) -> tuple[str | None, str]:
    """``"Titel: Fahndung"`` → ``("title", "Fahndung")``; a line without a known key →
    ``(None, line)``."""
    match = _LINE.match(line)
    name = _BY_KEY.get(match.group(1).strip().lower()) if match else None
    return (name, match.group(2).strip()) if match and name else (None, line)


def parse_moment(text: str, *, end_of_day: bool = False) -> datetime:
    """Reads ``TT.MM.JJJJ HH:MM``, ``TT.MM.JJJJ`` or ISO 8601 (Europe/Berlin unless a zone is
    given); raises ValueError. A date alone is 00:00, or 23:59 with ``end_of_day``.

    A moment that has no UTC time within the calendar (01.01.0001 00:00 in Berlin is still in
    year 0 in UTC) is not a date either: every time is stored and compared in UTC."""
    moment = _read_moment(text.strip()[:40], end_of_day)
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{text[:40]!r} lies outside the calendar") from None
    return moment


def _read_moment(text: str, end_of_day: bool) -> datetime:
    match = _GERMAN_DATE.match(text)
    if match:
        day, month, year, hour, minute = match.groups()
        day_value = date(int(year), int(month), int(day))
        if hour is None:
            return _whole_day(day_value, end_of_day)
        return datetime.combine(day_value, time(int(hour), int(minute)), tzinfo=BERLIN)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return _whole_day(date.fromisoformat(text), end_of_day)
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=BERLIN)


def _whole_day(day: date, end_of_day: bool) -> datetime:
    moment = datetime.combine(day, time(0, 0), tzinfo=BERLIN)
    return moment + timedelta(hours=23, minutes=59) if end_of_day else moment


def parse_seats(text: str) -> dict[str, int]:
    """Reads ``PP-OFR=10, PD-Z=8`` (also ``;`` or spaces between); raises ValueError with the
    part that is wrong, or KeyError for an agency named twice."""
    seats: dict[str, int] = {}
    for part in re.split(r"[,;]\s*|\s+(?=[A-Za-z])", text.strip()[:500]):
        if not part.strip():
            continue
        match = _SEAT.match(part.strip())
        if match is None:
            raise ValueError(part.strip()[:30])
        code, number = match.group(1).upper(), match.group(2)
        if not number.isdigit() or len(number) > 6:
            raise ValueError(part.strip()[:30])
        if code in seats:
            raise KeyError(code)
        seats[code] = int(number)
    if not seats:
        raise ValueError(text[:30])
    return seats


def parse_course_form(text: str, *, require_all: bool = True) -> CourseForm:
    """Reads the lines after ``/kurs_neu`` (or ``/kurs_bearbeiten``); see PRODUCT.md §2.

    A line without a known key continues the description if the description came just
    before; otherwise it is an error. ``require_all`` reports missing required fields.
    """
    form = CourseForm()
    lines = text.splitlines()
    if len(lines) > MAX_FORM_LINES:
        form.errors.append(FormError(0, "form", "too_many_lines", str(MAX_FORM_LINES)))
        return form
    last_field = None
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        match = _LINE.match(line)
        name = _BY_KEY.get(match.group(1).strip().lower()) if match else None
        if name is None:
            if last_field == "description":
                form.values["description"] += "\n" + line
                continue
            form.errors.append(FormError(number, "form", "unknown_line", line[:30]))
            last_field = None
            continue
        assert match is not None
        value = match.group(2).strip()
        last_field = name
        if name in form.lines:
            form.errors.append(FormError(number, name, "duplicate", str(form.lines[name])))
            continue
        form.lines[name] = number
        error = _read_value(form, name, value)
        if error is not None:
            form.errors.append(FormError(number, name, error, value[:30]))
    if require_all:
        for name in REQUIRED:
            if name not in form.lines:
                form.errors.append(FormError(0, name, "missing"))
    return form


def _read_value(form: CourseForm, name: str, value: str) -> str | None:
    """Stores the value of one line; returns the reason if it is wrong."""
    if not value and name != "description":
        return "empty"
    if name in (
        "start_at",
        "end_at",
        "registration_deadline",
        "cancellation_deadline",
        "release_at",
    ):
        try:
            form.values[name] = parse_moment(value, end_of_day=name not in _DAY_STARTS)
        except ValueError:
            return "bad_date"
    elif name == "seats":
        try:
            form.values[name] = parse_seats(value)
        except KeyError:
            return "duplicate_agency"
        except ValueError:
            return "bad_seats"
    elif name == "min_participants":
        if not value.isdigit() or len(value) > 6:
            return "not_a_number"
        form.values[name] = int(value)
    else:
        form.values[name] = value
    return None
