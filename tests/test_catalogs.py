"""Every user-facing string is in both catalogs, translated, not fuzzy, and compiled."""

from __future__ import annotations

import re
from datetime import datetime

from bot import catalogs, commands
from bot.i18n import LANGUAGES, LOCALES, texts
from kurse.clock import BERLIN

GLOSSARY = LOCALES / "GLOSSARY.md"


def test_catalogs_are_current_complete_and_compiled():
    assert catalogs.problems() == []


def test_german_is_the_default_and_dates_are_spelled_out_in_berlin_time():
    moment = datetime(2027, 3, 12, 8, 0, tzinfo=BERLIN).astimezone(BERLIN)

    assert texts(None).gettext("Sign up") == "Anmelden"
    assert texts("fr").when(moment) == "Fr., 12. März 2027, 08:00 Uhr"
    assert texts("en").when(moment) == "Fri, 12 March 2027, 08:00"


def test_a_course_day_reads_09_00_16_00_uhr_and_several_days_name_both_ends():
    start = datetime(2027, 3, 12, 9, 0, tzinfo=BERLIN)
    same_day, next_day = start.replace(hour=16), start.replace(day=13, hour=16)
    de, en = texts("de"), texts("en")

    assert de.span(start, same_day) == "Fr., 12. März 2027, 09:00–16:00 Uhr"
    assert (
        de.span(start, next_day) == "Fr., 12. März 2027, 09:00 Uhr – Sa., 13. März 2027, 16:00 Uhr"
    )
    assert en.span(start, same_day) == "Fri, 12 March 2027, 09:00–16:00"
    assert en.span(start, next_day) == "Fri, 12 March 2027, 09:00 – Sat, 13 March 2027, 16:00"


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


def _german_texts() -> list[tuple[str, str]]:
    """(msgid, msgstr) of every German translation, each plural form on its own."""
    found = []
    for message in catalogs.read("de"):
        if not message.id:
            continue
        msgid = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        found += [(msgid, string) for string in strings]
    return found


def _without_commands(text: str) -> str:
    return re.sub(r"(?<![\w/<])/[a-z_]+", " ", text)  # /teilnehmer is a name, not a word


def _avoided_words() -> list[str]:
    """The words in backticks in the glossary's last column."""
    rows = [line for line in GLOSSARY.read_text("utf-8").splitlines() if line.startswith("| ")]
    return [word for row in rows[1:] for word in re.findall(r"`([^`]+)`", row.split("|")[3])]


def test_the_glossary_names_words_to_avoid():
    assert {"storniert", "Teilnehmer", "Administrator", "Lehrgangsverwaltung"} <= set(
        _avoided_words()
    )


def test_no_german_text_uses_a_word_the_glossary_avoids():
    avoided = [
        re.compile(rf"(?<!\w){re.escape(w)}(?!\w)", re.IGNORECASE) for w in _avoided_words()
    ]

    offending = [
        (word.pattern, msgid[:50])
        for msgid, text in _german_texts()
        for word in avoided
        if word.search(_without_commands(text))
    ]

    assert offending == []


# "Angehörige/r", "eine/r", "der/die", "Teilnehmer/innen", "Teilnehmer*innen", "Teilnehmer:innen",
# "Teilnehmer_innen", "TeilnehmerInnen"
GENDER_SIGNS = re.compile(r"[^\W\d_]/[^\W\d_]|[^\W\d_][*:_·]inn?e?n?\b|[a-zäöüß]Innen\b")


def test_no_german_text_uses_slash_forms_or_gender_signs():
    offending = [
        (msgid[:50], GENDER_SIGNS.search(_without_commands(text)).group())  # type: ignore[union-attr]
        for msgid, text in _german_texts()
        if GENDER_SIGNS.search(_without_commands(text))
    ]

    assert offending == []


def test_the_gender_check_catches_the_forms_the_training_offices_sent_back():
    sent_back = [
        "Sie sind als Angehörige/r der Dienststelle angemeldet.",
        "damit die/der Nächste nachrücken kann",
        "Als eine/r der zuletzt Angemeldeten",
        "Liste der Teilnehmer*innen",
        "Liste der Teilnehmer:innen",
        "Liste der TeilnehmerInnen",
    ]
    fine = ["/teilnehmer K-2027-001", "ID|@Name", "09:00–16:00 Uhr", "PP-OFR=10, PD-Z=8"]

    assert all(GENDER_SIGNS.search(_without_commands(text)) for text in sent_back)
    assert not any(GENDER_SIGNS.search(_without_commands(text)) for text in fine)


def test_every_command_a_text_names_is_a_command_of_that_texts_language():
    for language in LANGUAGES:
        known = commands.in_language(language)
        named = {
            name
            for message in catalogs.read(language)
            if message.id
            for text in (
                message.string if isinstance(message.string, tuple) else (message.string,)
            )
            for name in re.findall(r"(?<![\w/<])/([a-z_]+)", text)
        }

        assert named - known == set(), language
