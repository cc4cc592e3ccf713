"""The course form: its fields, how each is read, checked and written back as text.

One table, `FIELDS`, serves the three views of a course: the one-message ``/kurs_neu`` form,
the guided dialog (which asks the fields that have a ``step``, in that order) and the
``/kurs_bearbeiten`` form (`render_course_form`). The rules of a course's values are here as
well (`check_course`), so that the services (`kurse.courses`) and the dialog apply the same
ones. Nothing here touches the database or builds text for people: every problem is a
`Problem` (field, reason, value), which `bot.render_form` puts into words.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum, StrEnum
from typing import Any

from kurse.clock import BERLIN, ensure_aware
from kurse.errors import InvalidInput
from kurse.holds import MAX_OFFER_HOURS, MIN_OFFER_HOURS
from kurse.seats import MAX_SEATS_PER_AGENCY
from kurse.validation import clean_text

MAX_DESCRIPTION_LINES = 50  # a description's lines, however many fields the form has
MAX_ERRORS_SHOWN = 10
MAX_TITLE = 200
MAX_LOCATION = 200
MAX_DESCRIPTION = 3000
MAX_LEAD_REFERENCE = 70
MAX_COURSE_LENGTH = timedelta(days=60)
# How far ahead a course may start: five years, leap days included. Terms are planned a year
# or two ahead; the bound keeps every planned time (start minus reminders, end plus
# retention) far inside the calendar, so that no date arithmetic can overflow.
MAX_AHEAD = timedelta(days=5 * 365 + 2)
MOMENT_FORMAT = "%d.%m.%Y %H:%M"  # how a moment is written back, in Europe/Berlin


class Kind(Enum):
    """How a field's value is read from text and written back."""

    TEXT = "text"  # one line
    PROSE = "prose"  # the first line after the key and the lines without a key below it
    DAY_START = "day_start"  # a moment; a date alone means 00:00
    DAY_END = "day_end"  # a moment; a date alone means 23:59
    SEATS = "seats"  # PP-OFR=10, PD-Z=8
    INTEGER = "integer"
    LEAD = "lead"  # a Telegram id or @username; the caller looks the person up
    FILL = "fill"  # how freed seats are filled: automatisch (0) or Angebot 24h (hours)
    DAYS = "days"  # 12.03.2027 09:00-16:00; 13.03.2027 08:00-12:00 (or "standard")
    PERCENT = "percent"  # 80% (or 80)
    AGENCY = "agency"  # an agency's code (PP-OFR); the caller looks the agency up


class Reason(StrEnum):
    """What is wrong with a value (the codes `InvalidInput` and `FormError` carry)."""

    MISSING = "missing"
    EMPTY = "empty"
    DUPLICATE = "duplicate"
    UNKNOWN_LINE = "unknown_line"
    TOO_MANY_LINES = "too_many_lines"
    READS_AS_KEY = "reads_as_key"
    BAD_DATE = "bad_date"
    NAIVE_DATETIME = "naive_datetime"
    BAD_SEATS = "bad_seats"
    DUPLICATE_AGENCY = "duplicate_agency"
    NO_SEATS = "no_seats"
    NOT_A_NUMBER = "not_a_number"
    OUT_OF_RANGE = "out_of_range"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    NOTHING_VISIBLE = "nothing_visible"
    CONTROL_CHARACTERS = "control_characters"
    IN_PAST = "in_past"
    TOO_FAR_AHEAD = "too_far_ahead"
    NOT_AFTER_START = "not_after_start"
    AFTER_START = "after_start"
    MORE_THAN_SEATS = "more_than_seats"
    BAD_FILL = "bad_fill"
    BAD_DAYS = "bad_days"
    DAYS_OVERLAP = "days_overlap"
    DAY_TOO_LONG = "day_too_long"
    DAYS_MISMATCH = "days_mismatch"
    TOO_MANY_DAYS = "too_many_days"


@dataclass(frozen=True)
class Field:
    """One field of the course form.

    ``german`` and ``english`` are the keys forms are shown with; ``aliases`` are other
    spellings that are read too (any case). ``step`` is the guided dialog's step, or None
    for a field it does not ask. ``low`` and ``high`` bound a text's length or a number.
    """

    name: str
    german: str
    english: str
    kind: Kind
    required: bool = False
    step: int | None = None
    aliases: tuple[str, ...] = ()
    low: int = 0
    high: int = 0
    letters: bool = True  # a text must show a letter or digit (not only punctuation)

    def key(self, language: str) -> str:
        """The key this field is shown with to a reader of ``language``."""
        return self.german if language == "de" else self.english

    @property
    def keys(self) -> tuple[str, ...]:
        """Every key that names this field, in lower case: German, English, the others."""
        return tuple(k.lower() for k in (self.german, self.english, *self.aliases))


# In the order forms are written. The dialog asks the fields with a step; the rest keep
# their defaults there (cancellation deadline = registration deadline, no release date, no
# minimum), which the one-message form and /kurs_bearbeiten can set.
FIELDS: tuple[Field, ...] = (
    Field("title", "Titel", "Title", Kind.TEXT, True, 1, low=3, high=MAX_TITLE),
    Field("start_at", "Beginn", "Start", Kind.DAY_START, True, 2),
    Field("end_at", "Ende", "End", Kind.DAY_END, True, 3),
    # Issue 18: the course days, when they are not each day from the start's time to the
    # end's (`kurse.days`); given, they set start and end. The dialog offers them at its
    # summary (not as a step: most courses keep the days of start and end).
    Field("days", "Termine", "Days", Kind.DAYS, aliases=("kurstage", "sessions")),
    Field("location", "Ort", "Location", Kind.TEXT, True, 4, low=2, high=MAX_LOCATION),
    Field(
        "registration_deadline",
        "Anmeldeschluss",
        "Deadline",
        Kind.DAY_END,
        True,
        5,
        aliases=("registration deadline",),
    ),
    Field(
        "cancellation_deadline",
        "Abmeldeschluss",
        "Cancellation deadline",
        Kind.DAY_END,
        aliases=("cancellation",),
    ),
    Field("release_at", "Freigabe", "Release", Kind.DAY_START),
    # "Mindestteilnehmer(zahl)" from before the texts became gender-neutral still works.
    Field(
        "min_participants",
        "Mindestzahl",
        "Minimum participants",
        Kind.INTEGER,
        aliases=("minimum", "mindestteilnehmer", "mindestteilnehmerzahl"),
        high=MAX_SEATS_PER_AGENCY,
    ),
    # Freed seats: moved up automatically (0, the default) or offered for some hours.
    Field(
        "offer_hours",
        "Nachrücken",
        "Move up",
        Kind.FILL,
        aliases=("nachruecken", "waiting list", "warteliste"),
        low=MIN_OFFER_HOURS,
        high=MAX_OFFER_HOURS,
    ),
    # Issue 18: the share of course days a certificate of attendance needs (default: all).
    Field(
        "min_attendance",
        "Mindestanwesenheit",
        "Minimum attendance",
        Kind.PERCENT,
        low=1,
        high=100,
    ),
    Field("seats", "Plätze", "Seats", Kind.SEATS, True, 6, aliases=("plaetze",)),
    Field("lead", "Kursleitung", "Lead", Kind.LEAD, step=7, low=1, high=MAX_LEAD_REFERENCE),
    # The host (issue 19); default: the creating admin's agency (`kurse.courses.default_host`).
    Field(
        "host",
        "Ausrichter",
        "Host",
        Kind.AGENCY,
        aliases=("host agency", "ausrichtende dienststelle"),
        high=16,
    ),
    Field(
        "description",
        "Beschreibung",
        "Description",
        Kind.PROSE,
        step=8,
        high=MAX_DESCRIPTION,
        letters=False,
    ),
)
BY_NAME = {f.name: f for f in FIELDS}
_BY_KEY = {key: f.name for f in FIELDS for key in f.keys}
DIALOG_FIELDS = tuple(sorted((f for f in FIELDS if f.step), key=lambda f: f.step or 0))
# Canonical field names and the keys (lower case) that name them, German first.
KEYS: dict[str, tuple[str, ...]] = {f.name: f.keys for f in FIELDS}
REQUIRED = tuple(f.name for f in FIELDS if f.required)
# A whole form: a line for each field and the description's lines (a new field of the form
# does not take lines from the description).
MAX_FORM_LINES = MAX_DESCRIPTION_LINES + len(FIELDS) - 1

_LINE = re.compile(r"^\s*([^:]{1,40}?)\s*:\s*(.*)$")
_GERMAN_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:,?\s+(\d{1,2})[:.](\d{2}))?$")
_FILL = re.compile(
    r"^(?:angebot|offer|angebote|offers)?\s*(?:von|of|mit|with)?\s*(\d{1,6})\s*"
    r"(?:h|std\.?|stunden|hours?)?$",
    re.IGNORECASE,
)
_AUTOMATIC = ("automatisch", "automatic", "auto", "sofort")
FILL_WORDS = {"de": ("automatisch", "Angebot {hours}h"), "en": ("automatic", "offer {hours}h")}
_DAY = re.compile(
    r"^(\d{1,2}\.\d{1,2}\.\d{4}|\d{4}-\d{2}-\d{2}),?\s+(\d{1,2})[:.](\d{2})\s*[-–—]\s*"
    r"(\d{1,2})[:.](\d{2})$"
)
MAX_DAYS = MAX_COURSE_LENGTH.days + 1
MAX_DAY_LENGTH = timedelta(hours=24)
DEFAULT_DAYS = ("standard", "default")  # `Termine: standard`: the days follow start and end
DayTimes = tuple[tuple[datetime, datetime], ...]
_SEAT = re.compile(r"^([A-Za-z][A-Za-z0-9]{0,7}(?:-[A-Za-z0-9]{1,7})?)\s*[=:]\s*(\S+)$")


@dataclass(frozen=True)
class Problem:
    """What is wrong with one field's value; ``limit`` is the bound it broke, if any."""

    field: str
    reason: Reason
    value: str = ""
    limit: int | None = None

    def error(self) -> InvalidInput:
        """The problem as the domain error the services raise."""
        texts = (Kind.TEXT, Kind.PROSE, Kind.LEAD)
        limit = self.limit
        if self.field not in BY_NAME or BY_NAME[self.field].kind not in texts:
            limit = None
        short = self.reason == Reason.TOO_SHORT
        return InvalidInput(
            field=self.field,
            reason=str(self.reason),
            min=limit if short else None,
            max=None if short else limit,
        )


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


# --- reading values -------------------------------------------------------------------------


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


def parse_days(text: str) -> DayTimes:
    """Reads ``12.03.2027 09:00-16:00; 13.03.2027 08:00-12:00`` (dates also ISO; ``;`` or new
    lines between; an end time not after the start time is on the next day) in Europe/Berlin;
    ``standard`` is no explicit days, ``()``. Raises ValueError with the part that is wrong."""
    if text.strip().lower() in DEFAULT_DAYS:
        return ()
    days = []
    for part in re.split(r"[;\n]", text.strip()[: 40 * MAX_DAYS]):
        if not part.strip():
            continue
        match = _DAY.match(part.strip())
        if match is None:
            raise ValueError(part.strip()[:30])
        day_text, h1, m1, h2, m2 = match.groups()
        try:
            day = parse_moment(day_text).date()
            begins = time(int(h1), int(m1))
            ends = time(int(h2), int(m2))
        except ValueError:
            raise ValueError(part.strip()[:30]) from None
        start = datetime.combine(day, begins, tzinfo=BERLIN)
        end_day = day + timedelta(days=1) if ends <= begins else day
        days.append((start, datetime.combine(end_day, ends, tzinfo=BERLIN)))
    if not days:
        raise ValueError(text[:30])
    return tuple(days)


def write_days(days: DayTimes) -> str:
    """Days as `parse_days` reads them: ``12.03.2027 09:00-16:00; 13.03.2027 08:00-12:00``."""
    if not days:
        return DEFAULT_DAYS[0]
    return "; ".join(
        f"{start.astimezone(BERLIN):%d.%m.%Y %H:%M}-{end.astimezone(BERLIN):%H:%M}"
        for start, end in days
    )


def parse_percent(text: str) -> int:
    """Reads ``80%`` or ``80`` (1–100); raises ValueError."""
    number = text.strip().removesuffix("%").strip()
    if not number.isdecimal() or len(number) > 3 or not 1 <= int(number) <= 100:
        raise ValueError(text[:30])
    return int(number)


def parse_seat_number(text: str) -> int | Problem:
    """One agency's number of seats as the dialog asks it: a whole number 0–1000."""
    number = text.strip()
    # isdecimal, not isdigit: "²" is a digit but no number int() reads.
    if not number.isdecimal() or len(number) > 6 or int(number) > MAX_SEATS_PER_AGENCY:
        return Problem("seats", Reason.OUT_OF_RANGE, number[:30], MAX_SEATS_PER_AGENCY)
    return int(number)


def parse_value(name: str, text: str) -> Any:
    """Reads one field's value from the text after its key; returns it, or a `Problem`."""
    spec = BY_NAME[name]
    value = text.strip()
    if not value and spec.kind is not Kind.PROSE:
        return Problem(name, Reason.EMPTY)
    if spec.kind in (Kind.DAY_START, Kind.DAY_END):
        try:
            return parse_moment(value, end_of_day=spec.kind is Kind.DAY_END)
        except ValueError:
            return Problem(name, Reason.BAD_DATE, value[:30])
    if spec.kind is Kind.SEATS:
        try:
            return parse_seats(value)
        except KeyError:
            return Problem(name, Reason.DUPLICATE_AGENCY, value[:30])
        except ValueError:
            return Problem(name, Reason.BAD_SEATS, value[:30])
    if spec.kind is Kind.DAYS:
        try:
            return parse_days(value)
        except ValueError as error:
            return Problem(name, Reason.BAD_DAYS, str(error))
    if spec.kind is Kind.PERCENT:
        try:
            return parse_percent(value)
        except ValueError:
            return Problem(name, Reason.OUT_OF_RANGE, value[:30], 100)
    if spec.kind is Kind.AGENCY:
        return value.upper()[: spec.high]
    if spec.kind is Kind.INTEGER:
        if not value.isdecimal() or len(value) > 6:  # isdigit() takes "¹", int() not
            return Problem(name, Reason.NOT_A_NUMBER, value[:30])
        return int(value)
    if spec.kind is Kind.FILL:
        return parse_fill(name, value)
    return value


def parse_fill(name: str, value: str) -> int | Problem:
    """``automatisch`` (0) or ``Angebot 24h`` (24): how freed seats are filled."""
    if value.lower() in _AUTOMATIC:
        return 0
    found = _FILL.match(value)
    if found is None or not found.group(1).isdecimal():
        return Problem(name, Reason.BAD_FILL, value[:30])
    hours = int(found.group(1))
    if not MIN_OFFER_HOURS <= hours <= MAX_OFFER_HOURS:
        return Problem(name, Reason.OUT_OF_RANGE, value[:30], MAX_OFFER_HOURS)
    return hours


def write_fill(hours: int | None, language: str) -> str:
    """How freed seats are filled, as the form reads it back."""
    automatic, offer = FILL_WORDS["de" if language == "de" else "en"]
    return offer.format(hours=hours) if hours else automatic


def parse_course_form(text: str, *, require_all: bool = True) -> CourseForm:
    """Reads the lines after ``/kurs_neu`` (or ``/kurs_bearbeiten``); see PRODUCT.md §2.

    A line without a known key continues the description if the description came just
    before (blank lines in between are kept as its paragraphs); otherwise it is an error.
    ``require_all`` reports missing required fields.
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
            if last_field == "description" and "description" in form.values:
                form.values["description"] += "\n"
            continue
        name, value = split_key(line)
        if name is None:
            if last_field == "description" and "description" in form.values:
                form.values["description"] += "\n" + line
                continue
            form.errors.append(FormError(number, "form", "unknown_line", line[:30]))
            last_field = None
            continue
        last_field = name
        if name in form.lines:
            form.errors.append(FormError(number, name, "duplicate", str(form.lines[name])))
            continue
        form.lines[name] = number
        read = parse_value(name, value)
        if isinstance(read, Problem):
            form.errors.append(FormError(number, name, read.reason, value[:30]))
        else:
            form.values[name] = read
    if "description" in form.values:  # blank lines after it belonged to nothing
        form.values["description"] = form.values["description"].rstrip("\n")
    _start_and_end_from_days(form)
    if require_all:
        for name in REQUIRED:
            if name not in form.lines:
                form.errors.append(FormError(0, name, "missing"))
    return form


def _start_and_end_from_days(form: CourseForm) -> None:
    """Days given without a start or an end set them: the first day's start, the last's end."""
    days = form.values.get("days")
    if not days:
        return
    for name, moment in (("start_at", days[0][0]), ("end_at", days[-1][1])):
        if name not in form.lines:
            form.values[name] = moment
            form.lines[name] = form.lines["days"]


def days_span(days: DayTimes) -> tuple[datetime, datetime]:
    """The start and the end that explicit days make: the first day's start, the last's end."""
    return days[0][0], days[-1][1]


# --- writing values back --------------------------------------------------------------------


def write_value(value: Any) -> str:
    """One field's value as the form reads it back: moments in Europe/Berlin as
    ``TT.MM.JJJJ HH:MM``, seats as ``PP-OFR=10, PD-Z=8``."""
    if isinstance(value, datetime):
        return value.astimezone(BERLIN).strftime(MOMENT_FORMAT)
    if isinstance(value, tuple):
        return write_days(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{code}={n}" for code, n in value.items())
    return str(value)


def render_course_form(values: Mapping[str, Any], language: str) -> list[str]:
    """The lines of a course form with the keys of ``language``, in the table's order; a
    field that is missing, None or empty is left out (the form then keeps it as it is)."""
    return [
        f"{spec.key(language)}: {_written(spec, values[spec.name], language)}"
        for spec in FIELDS
        if values.get(spec.name) not in (None, "", {})
    ]


def _written(spec: Field, value: Any, language: str) -> str:
    return write_fill(value, language) if spec.kind is Kind.FILL else write_value(value)


def unwritable(name: str, value: Any) -> Problem | None:
    """Why ``value`` would not read back the same from a form line, if it would not: a
    description with more lines than a form holds, or a line of it that starts with a form
    key (it would be read as that field). Lines are compared stripped, as the form reads them
    (`normal_prose`)."""
    if BY_NAME[name].kind is not Kind.PROSE or not isinstance(value, str):
        return None
    lines = value.split("\n")
    if len(lines) > MAX_DESCRIPTION_LINES:
        return Problem(name, Reason.TOO_MANY_LINES, "", MAX_DESCRIPTION_LINES)
    for line in lines[1:]:
        if split_key(line.strip())[0] is not None:
            return Problem(name, Reason.READS_AS_KEY, line.strip()[:30])
    return None


def normal_prose(text: str) -> str:
    """A description as a form keeps it: each line stripped, the whole too."""
    return "\n".join(line.strip() for line in text.strip().split("\n"))


def left_out(values: Mapping[str, Any], language: str) -> list[str]:
    """The fields of ``values`` that a form written with `render_course_form` would not read
    back as they are (a description with indented lines or a line that reads as a key);
    `bot.render_form.edit_form` leaves them out, so that sending the form back changes
    nothing."""
    form = parse_course_form("\n".join(render_course_form(values, language)), require_all=False)
    return [
        name
        for name, value in values.items()
        if value not in (None, "", {}) and form.values.get(name) != value
    ]


def course_values(
    course: Any, lead_reference: int | str | None, host_code: str | None = None
) -> dict[str, Any]:
    """A course's values by field name, as its form shows them (the lead as ``reference``,
    a Telegram id; the host as its agency's code; no minimum of 0; seats are not part of
    the edit form)."""
    values = {spec.name: getattr(course, spec.name, None) for spec in FIELDS}
    if course.days:  # start and end follow from the days, which the form shows
        values["start_at"] = values["end_at"] = None
    values["seats"] = None
    values["min_participants"] = course.min_participants or None
    values["offer_hours"] = course.offer_hours or None  # automatic, the default: not shown
    values["lead"] = str(lead_reference) if lead_reference is not None else None
    values["host"] = host_code
    return values


# --- the rules ------------------------------------------------------------------------------


def text_problem(name: str, value: str) -> tuple[str, Problem | None]:
    """Cleans a typed text field (`kurse.validation.clean_text`) within its table limits."""
    spec = BY_NAME[name]
    try:
        return (
            clean_text(
                value,
                name,
                max_len=spec.high,
                min_len=spec.low,
                multiline=spec.kind is Kind.PROSE,
                letters=spec.letters,
            ),
            None,
        )
    except InvalidInput as error:
        limit = error.min if error.min is not None else error.max
        return value, Problem(name, Reason(error.reason), "", limit)


def _aware(name: str, value: datetime) -> tuple[datetime, Problem | None]:
    try:
        return ensure_aware(value), None
    except (ValueError, AttributeError):
        return value, Problem(name, Reason.NAIVE_DATETIME)
    except OverflowError:  # in UTC, before year 1 or after 9999
        return value, Problem(name, Reason.BAD_DATE)


def start_problem(start: datetime, now: datetime) -> Problem | None:
    """A start must lie after ``now`` and at most `MAX_AHEAD` ahead."""
    if start <= now:
        return Problem("start_at", Reason.IN_PAST)
    if start - now > MAX_AHEAD:
        return Problem("start_at", Reason.TOO_FAR_AHEAD)
    return None


def seat_problems(seats: Mapping[str, int], min_participants: int | None) -> list[Problem]:
    """Every seat number within 0–1000, at least one seat, a minimum within the seats."""
    problems = [
        Problem("seats", Reason.OUT_OF_RANGE, code, MAX_SEATS_PER_AGENCY)
        for code, n in seats.items()
        if not 0 <= n <= MAX_SEATS_PER_AGENCY
    ]
    total = sum(seats.values())
    if not problems and total < 1:
        problems.append(Problem("seats", Reason.NO_SEATS))
    if not problems and min_participants is not None and min_participants > total:
        problems.append(Problem("min_participants", Reason.MORE_THAN_SEATS, "", total))
    return problems


_TEXTS = ("title", "location", "description")
_MOMENTS = ("start_at", "end_at", "registration_deadline", "cancellation_deadline", "release_at")


def check_course(
    values: Mapping[str, Any], now: datetime, *, new: bool
) -> tuple[dict[str, Any], list[Problem]]:
    """Checks the course values given (by field name; any subset, as the dialog knows them
    so far) and the rules between them; returns the cleaned values and every problem, in
    the order the services report the first of them.

    Texts are cleaned within their limits; the start lies after ``now`` and within five
    years; the end after the start and at most `MAX_COURSE_LENGTH` later; the registration
    deadline not after the start and, for a ``new`` course, after ``now``; the cancellation
    deadline (by default the registration deadline) not after the start; the release date
    before the start; the minimum a whole number within 0–1000. Seats and the lead need the
    database (`kurse.courses`)."""
    cleaned, problems = dict(values), []
    for name in _TEXTS:
        if name in values:
            cleaned[name], problem = text_problem(name, values[name])
            problems += [problem] if problem else []
    for name in _MOMENTS:
        if values.get(name) is not None:
            cleaned[name], problem = _aware(name, values[name])
            problems += [problem] if problem else []
    if values.get("days"):
        cleaned["days"], problem = _checked_days(values["days"])
        problems += [problem] if problem else []
    if problems:
        return cleaned, problems
    problems += _rules_between(cleaned, now, new=new)
    share = cleaned.get("min_attendance")
    if share is not None and (
        isinstance(share, bool) or not isinstance(share, int) or not 1 <= share <= 100
    ):
        problems.append(Problem("min_attendance", Reason.OUT_OF_RANGE, "", 100))
    minimum = cleaned.get("min_participants")
    if minimum is not None and (
        isinstance(minimum, bool)
        or not isinstance(minimum, int)
        or not 0 <= minimum <= MAX_SEATS_PER_AGENCY
    ):
        reason = Reason.OUT_OF_RANGE if isinstance(minimum, int) else Reason.NOT_A_NUMBER
        problems.append(Problem("min_participants", reason, "", MAX_SEATS_PER_AGENCY))
    if "offer_hours" in cleaned:
        hours = cleaned["offer_hours"] or None  # 0: automatically, stored as none
        cleaned["offer_hours"] = hours
        if hours is not None and (
            isinstance(hours, bool)
            or not isinstance(hours, int)
            or not MIN_OFFER_HOURS <= hours <= MAX_OFFER_HOURS
        ):
            problems.append(Problem("offer_hours", Reason.OUT_OF_RANGE, "", MAX_OFFER_HOURS))
    return cleaned, problems


def _checked_days(days: Any) -> tuple[DayTimes, Problem | None]:
    """Explicit days: aware, each ending after it starts and within 24 hours, in order, one
    per calendar day (attendance is kept per day), at most `MAX_DAYS`."""
    try:
        checked = tuple(
            (ensure_aware(s).astimezone(UTC), ensure_aware(e).astimezone(UTC)) for s, e in days
        )
    except (ValueError, AttributeError, TypeError):
        return days, Problem("days", Reason.NAIVE_DATETIME)
    except OverflowError:
        return days, Problem("days", Reason.BAD_DAYS)
    if len(checked) > MAX_DAYS:
        return checked, Problem("days", Reason.TOO_MANY_DAYS, "", MAX_DAYS)
    for start, end in checked:
        if end <= start or end - start > MAX_DAY_LENGTH:
            return checked, Problem("days", Reason.DAY_TOO_LONG, write_days(((start, end),)))
    for (start1, end1), (start2, end2) in itertools.pairwise(checked):
        if start2 < end1 or start2.astimezone(BERLIN).date() <= start1.astimezone(BERLIN).date():
            return checked, Problem("days", Reason.DAYS_OVERLAP, write_days(((start2, end2),)))
    return checked, None


def _rules_between(values: Mapping[str, Any], now: datetime, *, new: bool) -> list[Problem]:
    start, end = values.get("start_at"), values.get("end_at")
    deadline = values.get("registration_deadline")
    cancel = values.get("cancellation_deadline") or deadline
    release = values.get("release_at")
    problems = [p for p in [start_problem(start, now) if start else None] if p]
    if start is not None and end is not None:
        if end <= start:
            problems.append(Problem("end_at", Reason.NOT_AFTER_START))
        elif end - start > MAX_COURSE_LENGTH:
            problems.append(Problem("end_at", Reason.TOO_LONG, "", MAX_COURSE_LENGTH.days))
    if deadline is not None and start is not None and deadline > start:
        problems.append(Problem("registration_deadline", Reason.AFTER_START))
    elif deadline is not None and new and deadline <= now:
        problems.append(Problem("registration_deadline", Reason.IN_PAST))
    if cancel is not None and start is not None and cancel > start:
        problems.append(Problem("cancellation_deadline", Reason.AFTER_START))
    if release is not None and start is not None and release >= start:
        problems.append(Problem("release_at", Reason.AFTER_START))
    days = values.get("days")
    if days and start is not None and end is not None and days_span(days) != (start, end):
        problems.append(Problem("days", Reason.DAYS_MISMATCH))
    return problems


def problems_of(problems: Iterable[Problem], name: str) -> list[Problem]:
    """The problems that concern field ``name``."""
    return [p for p in problems if p.field == name]


def read_answers(answers: Mapping[str, str]) -> dict[str, Any]:
    """The values of answers typed so far (by field name), those that read as values."""
    values = {name: parse_value(name, text) for name, text in answers.items()}
    return {name: value for name, value in values.items() if not isinstance(value, Problem)}


def check_answer(
    name: str, text: str, known: Mapping[str, Any], now: datetime
) -> tuple[Any, list[Problem]]:
    """Reads and checks the guided dialog's answer for field ``name`` against the values
    ``known`` so far: the form's reading, its rules for that field and between it and the
    fields known, and what a form line could not hold (the dialog's answers become a form).
    Returns the value and its problems; a lead is then looked up by the caller."""
    value = parse_value(name, text)
    if isinstance(value, Problem):
        return None, [value]
    if BY_NAME[name].kind is Kind.LEAD:
        value, problem = text_problem(name, value)
        return value, [problem] if problem else []
    unfit = unwritable(name, value)
    given = {**known, name: value}
    concerned = [name]
    if BY_NAME[name].kind is Kind.DAYS and value:  # the days set start and end
        given["start_at"], given["end_at"] = days_span(value)
        concerned += ["start_at", "end_at"]
    cleaned, problems = check_course(given, now, new=True)
    found = [p for p in problems if p.field in concerned]
    return cleaned[name], found + ([unfit] if unfit else [])
