"""Finding a course: words in its title, description or place, a month, or its code.

What an officer types after `/kurse` is read here: ``Fahndung Hof`` (every word must occur,
case and umlauts do not matter: ``fuhrung`` and ``fuehrung`` find "Führung"), ``03.2027``,
``März``, ``März 2027`` or ``March`` (the courses starting in that month; a month without a
year is its next occurrence), or a course code ``K-2027-005``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from kurse.clock import BERLIN
from kurse.models import Course

COURSE_CODE = re.compile(r"^\s*(K-\d{4}-\d{3,6})\s*$", re.IGNORECASE)
MAX_WORDS = 8
MAX_WORD = 40

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("januar", "jan", "january", "jaenner", "janner"),
            ("februar", "feb", "february"),
            ("marz", "mar", "march", "maerz"),
            ("april", "apr"),
            ("mai", "may"),
            ("juni", "jun", "june"),
            ("juli", "jul", "july"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("oktober", "okt", "oct", "october"),
            ("november", "nov"),
            ("dezember", "dez", "dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_NUMERIC_MONTH = re.compile(r"^(\d{1,2})[./-](\d{4})$")
_YEAR = re.compile(r"^\d{4}$")


def fold(text: str) -> str:
    """Text for comparing: no case, no accents, ``ß`` as ``ss``, and ``ae``/``oe``/``ue`` read
    as the umlauts they stand for (so both spellings of "Führung" fold to ``fuhrung``). The
    Turkish dotless ``ı`` is ``i`` too: "IŞIK" lowers to "işik" by Unicode's rules and to
    "ışık" by Turkish ones, and both are to find it (the dotted "İ" loses its dot as an
    accent)."""
    lowered = text.casefold().replace("ß", "ss").replace("ı", "i")
    decomposed = unicodedata.normalize("NFKD", lowered)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.replace("ae", "a").replace("oe", "o").replace("ue", "u")


@dataclass(frozen=True)
class CourseQuery:
    """What to look for: a code, a month (first day), or words (folded); empty: all."""

    code: str | None = None
    month: date | None = None
    words: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the query asks for nothing in particular."""
        return self.code is None and self.month is None and not self.words


def parse_query(text: str, now: datetime) -> CourseQuery:
    """Reads what follows `/kurse` (see the module's docstring)."""
    text = " ".join(text.split())[: MAX_WORDS * MAX_WORD]
    if not text:
        return CourseQuery()
    code = COURSE_CODE.match(text)
    if code:
        return CourseQuery(code=code.group(1).upper())
    month = _month(text, now)
    if month is not None:
        return CourseQuery(month=month)
    words = tuple(dict.fromkeys(fold(w)[:MAX_WORD] for w in text.split()[:MAX_WORDS]))
    return CourseQuery(words=tuple(w for w in words if w))


def _month(text: str, now: datetime) -> date | None:
    today = now.astimezone(BERLIN).date()
    numeric = _NUMERIC_MONTH.match(text)
    if numeric:
        number, year = int(numeric.group(1)), int(numeric.group(2))
        return date(year, number, 1) if 1 <= number <= 12 and 2000 <= year <= 2100 else None
    parts = fold(text).rstrip(".").split()
    if not parts or parts[0].rstrip(".") not in _MONTHS or len(parts) > 2:
        return None
    number = _MONTHS[parts[0].rstrip(".")]
    if len(parts) == 2:
        if not _YEAR.match(parts[1]) or not 2000 <= int(parts[1]) <= 2100:
            return None
        return date(int(parts[1]), number, 1)
    year = today.year if number >= today.month else today.year + 1  # its next occurrence
    return date(year, number, 1)


def matches(course: Course, query: CourseQuery) -> bool:
    """True if ``course`` is what ``query`` looks for."""
    if query.code is not None:
        return course.code == query.code
    if query.month is not None:
        start = course.start_at.astimezone(BERLIN).date()
        return (start.year, start.month) == (query.month.year, query.month.month)
    haystack = fold(" ".join((course.title, course.description, course.location, course.code)))
    return all(word in haystack for word in query.words)
