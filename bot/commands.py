"""Command names: each command has a German and an English name, and both work for everyone.

Handlers register under `names` (German first); texts show `name` in the reader's language:
`/hilfe` and the menu list the names of that language, and each catalog writes the names of
its own language into its texts (`tests/test_catalogs.py` checks that they agree with this
table).
"""

from __future__ import annotations

# German → English. The German name is the key everywhere in the code.
ENGLISH: dict[str, str] = {
    "start": "start",
    "kurse": "courses",
    "meine": "my",
    "profil": "profile",
    "sprache": "language",
    "hilfe": "help",
    "abbrechen": "cancel",
    "meine_daten": "mydata",
    "daten_loeschen": "deletedata",
    "datenschutz": "privacy",
    # admins
    "kurs_neu": "newcourse",
    "kurs_bearbeiten": "editcourse",
    "kurs_absagen": "cancelcourse",
    "kontingent": "quota",
    "kursleitung": "lead",
    "dienststellen": "agencies",
    "dienststelle_neu": "newagency",
    "zugangscode": "accesscode",
    "admin_neu": "newadmin",
    "admin_entfernen": "removeadmin",
    "personen": "people",
    "protokoll": "log",
    "status": "status",
    # course leads (and admins)
    "teilnehmer": "participants",
    "mitteilungen": "notifications",
}


def names(german: str) -> tuple[str, ...]:
    """Every name of a command (German first), for its handler."""
    english = ENGLISH[german]
    return (german,) if english == german else (german, english)


def name(german: str, language: str) -> str:
    """The name of a command as a reader of ``language`` types it (without the slash)."""
    return ENGLISH[german] if language == "en" else german


def all_names(germans: tuple[str, ...] | frozenset[str] | None = None) -> frozenset[str]:
    """Every name, German and English, of ``germans`` (of all commands by default)."""
    return frozenset(n for german in (germans or ENGLISH) for n in names(german))


def in_language(language: str) -> frozenset[str]:
    """The names shown to readers of ``language``."""
    return frozenset(name(german, language) for german in ENGLISH)
