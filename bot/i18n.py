"""The user's language: gettext from the compiled catalogs in ``bot/locales``, babel dates.

Source strings (msgids) are English; ``de`` is the default language and ``en`` is complete too.
``python -m bot.catalogs update`` extracts new strings, ``compile`` writes the ``.mo`` files.
"""

from __future__ import annotations

import functools
import gettext
from datetime import date, datetime
from pathlib import Path

from babel.dates import format_date, format_datetime

from kurse.clock import BERLIN

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "messages"
LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"

# German writes "Uhr" after a time (DIN 5008), once after a range: "09:00–16:00 Uhr".
_LONG = {"de": "EEE, d. MMMM y, HH:mm 'Uhr'", "en": "EEE, d MMMM y, HH:mm"}
_LONG_BARE = {"de": "EEE, d. MMMM y, HH:mm", "en": "EEE, d MMMM y, HH:mm"}
_SHORT = {"de": "EEE dd.MM., HH:mm", "en": "EEE d MMM, HH:mm"}
_SHORT_YEAR = {"de": "EEE dd.MM.y, HH:mm", "en": "EEE d MMM y, HH:mm"}
_MONTH = {"de": "LLLL y", "en": "LLLL y"}
_TIME = {"de": "HH:mm 'Uhr'", "en": "HH:mm"}
_DAY = {"de": "EEE dd.MM.y", "en": "EEE d MMM y"}


def _(message: str) -> str:
    """Marks a string for extraction where it is translated later (e.g. in constants)."""
    return message


@functools.cache
def _catalog(language: str) -> gettext.GNUTranslations:
    # No fallback: a missing compiled catalog is an installation error, not a silent English.
    return gettext.translation(DOMAIN, LOCALES, languages=[language])


class Texts:
    """Translations and date formats for one language."""

    def __init__(self, language: str | None) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        catalog = _catalog(self.language)
        self.gettext = catalog.gettext
        self.ngettext = catalog.ngettext

    def when(self, moment: datetime) -> str:
        """A date and time in Berlin, spelled out: "Fr., 12. März 2027, 09:00 Uhr"."""
        return _format(moment, _LONG[self.language], self.language)

    def short(self, moment: datetime) -> str:
        """A compact date and time for buttons: "Fr. 12.03., 09:00"."""
        return _format(moment, _SHORT[self.language], self.language)

    def short_with_year(self, moment: datetime) -> str:
        """Compact, with the year (a date not in the current year): "Fr. 01.01.2027, 09:00"."""
        return _format(moment, _SHORT_YEAR[self.language], self.language)

    @staticmethod
    def same_year(moment: datetime, now: datetime) -> bool:
        """True if both lie in the same calendar year in Berlin."""
        return moment.astimezone(BERLIN).year == now.astimezone(BERLIN).year

    def month(self, first: date) -> str:
        """A month and its year: "März 2027"."""
        return format_date(first, _MONTH[self.language], locale=self.language)

    def day(self, day: date) -> str:
        """A calendar day, compact: "Fr. 12.03.2027"."""
        return format_date(day, _DAY[self.language], locale=self.language)

    def span(self, start: datetime, end: datetime) -> str:
        """A course's dates: "Fr., 12. März 2027, 09:00–16:00 Uhr" within a day (the times
        joined by an en dash without spaces), else both in full with " – " between them."""
        if start.astimezone(BERLIN).date() == end.astimezone(BERLIN).date():
            begins = _format(start, _LONG_BARE[self.language], self.language)
            return f"{begins}–{_format(end, _TIME[self.language], self.language)}"
        return f"{self.when(start)} – {self.when(end)}"


@functools.lru_cache(maxsize=4096)
def _format(moment: datetime, pattern: str, language: str) -> str:
    # Courses share a few dozen dates; babel takes ~0.1 ms for each (measured in a burst).
    return format_datetime(moment, pattern, tzinfo=BERLIN, locale=language)


def preload() -> None:
    """Loads every language's catalog and date formats now (babel reads its locale data on
    first use: ~15 ms each), so the first officers after a start do not wait for it."""
    moment = datetime(2027, 1, 1, 9, 0, tzinfo=BERLIN)
    for language in LANGUAGES:
        for pattern in (_LONG[language], _LONG_BARE[language], _SHORT[language], _TIME[language]):
            format_datetime(moment, pattern, tzinfo=BERLIN, locale=language)
        _texts(language)


def texts(language: str | None) -> Texts:
    """The texts for ``language`` (German for anything unknown)."""
    return _texts(language if language in LANGUAGES else DEFAULT_LANGUAGE)


@functools.cache
def _texts(language: str) -> Texts:
    return Texts(language)
