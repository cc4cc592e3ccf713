"""Every user-facing string is in both catalogs, translated, not fuzzy, and compiled."""

from __future__ import annotations

from datetime import datetime

from bot import catalogs
from bot.i18n import texts
from kurse.clock import BERLIN


def test_catalogs_are_current_complete_and_compiled():
    assert catalogs.problems() == []


def test_german_is_the_default_and_dates_are_spelled_out_in_berlin_time():
    moment = datetime(2027, 3, 12, 8, 0, tzinfo=BERLIN).astimezone(BERLIN)

    assert texts(None).gettext("Sign up") == "Anmelden"
    assert texts("fr").when(moment) == "Fr., 12. März 2027, 08:00"
    assert texts("en").when(moment) == "Fri, 12 March 2027, 08:00"


def test_plural_forms_follow_the_number():
    de = texts("de")

    assert [de.ngettext("{n} seat free", "{n} seats free", n).format(n=n) for n in (1, 2)] == [
        "1 Platz frei",
        "2 Plätze frei",
    ]
