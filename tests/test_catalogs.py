"""Every user-facing string is in both catalogs, translated, not fuzzy, and compiled."""

from __future__ import annotations

from datetime import datetime

from bot import catalogs
from bot.i18n import LANGUAGES, LOCALES, texts
from kurse.clock import BERLIN


def test_catalogs_are_current_complete_and_compiled():
    assert catalogs.problems() == []


def test_german_is_the_default_and_dates_are_spelled_out_in_berlin_time():
    moment = datetime(2027, 3, 12, 8, 0, tzinfo=BERLIN).astimezone(BERLIN)

    assert texts(None).gettext("Sign up") == "Anmelden"
    assert texts("fr").when(moment) == "Fr., 12. März 2027, 08:00"
    assert texts("en").when(moment) == "Fri, 12 March 2027, 08:00"


def test_both_catalogs_state_their_plural_rule_and_ngettext_follows_it_for_0_1_and_2():
    free = ("{n} seat free", "{n} seats free")

    for language in LANGUAGES:
        header = (LOCALES / language / "LC_MESSAGES" / "messages.po").read_text("utf-8")
        assert '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"' in header.split("\n\n")[0]
    assert [texts("de").ngettext(*free, n).format(n=n) for n in (0, 1, 2)] == [
        "0 Plätze frei",
        "1 Platz frei",
        "2 Plätze frei",
    ]
    assert [texts("en").ngettext(*free, n).format(n=n) for n in (0, 1, 2)] == [
        "0 seats free",
        "1 seat free",
        "2 seats free",
    ]
