"""The table of every command and every button prefix: names, who may use each, the menu.

Each command has a German and an English name, and both work for everyone. Handlers register
under `names` (German first); texts show `name` in the reader's language: `/hilfe` and the
menu list the names of that language, and each catalog writes the names of its own language
into its texts (`tests/test_catalogs.py` checks that they agree with this table).

The guard's lists (`bot.handlers.guard`: what may pass before joining, what a bootstrap
admin may do before joining) and the command menu (`bot.app`) are read from the same table;
`tests/test_commands_table.py` checks that every registered command and callback pattern is
in it, and that everything in it is registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bot.i18n import _


class Role(Enum):
    """Who may use a command or a button; the guard lets through what the roles allow."""

    JOINED = "joined"  # everyone who has joined an agency
    BEFORE_JOINING = "before joining"  # also whoever has not joined (yet)
    ADMIN = "admin"  # admins, those of KURSBOT_ADMIN_IDS also before joining
    LEAD = "lead"  # course leads (they have joined; admins may do the same)
    APPROVER = "approver"  # approvers of an agency (they have joined; checked in the domain)


JOINED = frozenset({Role.JOINED})
BEFORE_JOINING = frozenset({Role.BEFORE_JOINING})
ADMIN = frozenset({Role.ADMIN})
LEAD_OR_ADMIN = frozenset({Role.LEAD, Role.ADMIN})
APPROVER = frozenset({Role.APPROVER})


@dataclass(frozen=True)
class Command:
    """A command: its German name (the key in the code), its English name, who may use it,
    and its line in the command menu (a msgid), if it has one."""

    german: str
    english: str
    roles: frozenset[Role]
    menu: str | None = None


@dataclass(frozen=True)
class Button:
    """A callback prefix (the action of `bot.callbacks`), who may press it, what it does, and
    examples of the data it comes with (each shape its handlers take)."""

    prefix: str
    roles: frozenset[Role]
    what: str
    examples: tuple[str, ...]


# In the order of the menu and of /hilfe.
COMMANDS: tuple[Command, ...] = (
    Command("start", "start", BEFORE_JOINING),
    Command("kurse", "courses", JOINED, menu=_("Open courses")),
    Command("meine", "my", JOINED, menu=_("My registrations")),
    Command("profil", "profile", JOINED, menu=_("My profile")),
    Command("sprache", "language", JOINED, menu=_("Language")),
    # An admin from the settings learns their commands before joining, too.
    Command("hilfe", "help", JOINED | ADMIN, menu=_("Help")),
    # Leaves joining or the guided /kurs_neu; so whoever has not joined may send it.
    Command("abbrechen", "cancel", BEFORE_JOINING),
    Command("meine_daten", "mydata", JOINED),
    Command("daten_loeschen", "deletedata", JOINED),
    Command("datenschutz", "privacy", BEFORE_JOINING),
    # admins
    Command("kurs_neu", "newcourse", ADMIN),
    Command("kurs_bearbeiten", "editcourse", ADMIN),
    Command("kurs_absagen", "cancelcourse", ADMIN),
    Command("kontingent", "quota", ADMIN),
    Command("kursleitung", "lead", ADMIN),
    Command("dienststellen", "agencies", ADMIN),
    Command("dienststelle_neu", "newagency", ADMIN),
    Command("zugangscode", "accesscode", ADMIN),
    Command("admin_neu", "newadmin", ADMIN),
    Command("admin_entfernen", "removeadmin", ADMIN),
    Command("personen", "people", ADMIN),
    Command("protokoll", "log", ADMIN),
    Command("status", "status", ADMIN),
    # the figures of the cooperation (issue 19): admins every course, leads their own
    Command("statistik", "stats", LEAD_OR_ADMIN),
    Command("bericht", "report", LEAD_OR_ADMIN),
    # course leads (and admins)
    Command("teilnehmer", "participants", LEAD_OR_ADMIN),
    Command("mitteilungen", "notifications", frozenset({Role.LEAD})),  # a lead's own setting
    # approval (Genehmigung): admins appoint approvers and switch it per agency
    Command("genehmigung_neu", "newapprover", ADMIN),
    Command("genehmigung_entfernen", "removeapprover", ADMIN),
    Command("dienststelle_genehmigung", "agencyapproval", ADMIN),
    # approvers decide on the requests of their agency's officers
    Command("genehmigungen", "approvals", APPROVER),
    Command("ablehnen", "refuse", APPROVER),
    # attendance and certificates (issue 18)
    Command("anwesenheit", "attendance", LEAD_OR_ADMIN),
    Command("anwesenheit_entsperren", "unlockattendance", ADMIN),
    Command("anwesenheit_abschliessen", "closeattendance", LEAD_OR_ADMIN),
    Command("pruefen", "verify", LEAD_OR_ADMIN),
    Command("bescheinigung", "certificates", JOINED),
    Command("checkin", "checkin", LEAD_OR_ADMIN),
)

BUTTONS: tuple[Button, ...] = (
    Button("p", JOINED, "a page of the course list", ("p:1",)),
    Button("c", JOINED, "a course's page", ("c:42", "c:42:1")),
    Button("su", JOINED, "sign up", ("su:42:0",)),
    Button("cx", JOINED, "ask to cancel a registration", ("cx:42:0",)),
    Button("cxy", JOINED, "cancel a registration (confirmed)", ("cxy:42:0",)),
    Button("ics", JOINED, "the calendar file", ("ics:42:0",)),
    Button("lang", JOINED, "choose the language", ("lang:de", "lang:en")),
    Button("skip", BEFORE_JOINING, "joining: no rank", ("skip",)),
    Button("agree", BEFORE_JOINING, "joining: the privacy information noted", ("agree",)),
    Button("abort", BEFORE_JOINING, "joining: leave", ("abort",)),
    Button("ka", ADMIN, "cancel a course (confirmed)", ("ka:42",)),
    Button("kq", ADMIN, "lowered seats: the last confirmed back to waiting", ("kq:42",)),
    Button("zc", ADMIN, "renew an access code: ask, then renew", ("zc:3", "zc:3:1")),
    Button("csv", LEAD_OR_ADMIN, "the participant list as CSV", ("csv:42",)),
    Button("pdf", LEAD_OR_ADMIN, "the attendance list as PDF", ("pdf:42",)),
    Button("tl", LEAD_OR_ADMIN, "a course's list from the /teilnehmer overview", ("tl:42",)),
    Button("pl", ADMIN, "a page of the audit log", ("pl:0:1", "pl:42:0")),
    Button("plc", ADMIN, "the audit log as CSV", ("plc:0",)),
    # "No" under any question: an admin's, and the officer's before deleting their data.
    Button("no", JOINED | ADMIN, "no: nothing happens", ("no",)),
    Button("nk", ADMIN, "guided /kurs_neu: an agency's seats, done, skip", ("nk:3", "nk")),
    Button("nky", ADMIN, "guided /kurs_neu: create the course", ("nky",)),
    Button("nkd", ADMIN, "guided /kurs_neu: change the course days", ("nkd",)),
    Button("del", JOINED, "delete my data (confirmed)", ("del",)),
    # Approval: the page is where the button is (0: /genehmigungen, 1: a message of one course).
    Button("ga", APPROVER, "approve one request", ("ga:17:0", "ga:17:1")),
    Button("gn", APPROVER, "refuse one request: ask first", ("gn:17:0", "gn:17:1")),
    Button("gny", APPROVER, "refuse one request without a reason", ("gny:17:0", "gny:17:1")),
    Button(
        "gaa", APPROVER, "approve all requests (of one course, or all: 0)", ("gaa:42", "gaa:0")
    ),
    Button("gl", APPROVER, "the requests waiting (of one course, or all: 0)", ("gl:42", "gl:0")),
    # Offers from the waiting list, to the officer offered the seat.
    Button("oa", JOINED, "accept an offered seat", ("oa:17",)),
    Button("od", JOINED, "decline an offered seat", ("od:17",)),
    # attendance (issue 18)
    Button(
        "ad", LEAD_OR_ADMIN, "a course day's attendance, a page of it", ("ad:42:0", "ad:42:101")
    ),
    Button("at", LEAD_OR_ADMIN, "the next attendance state of one participant", ("at:7:5",)),
    Button("ci", LEAD_OR_ADMIN, "the current check-in code of a course", ("ci:42",)),
    Button("bz", JOINED, "one of my certificates of attendance as PDF", ("bz:12",)),
)

# German → English. The German name is the key everywhere in the code.
ENGLISH: dict[str, str] = {command.german: command.english for command in COMMANDS}


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


def commands_for(role: Role) -> frozenset[str]:
    """Every name, German and English, of the commands that ``role`` may use."""
    return all_names(tuple(c.german for c in COMMANDS if role in c.roles))


def buttons_for(role: Role) -> frozenset[str]:
    """The callback prefixes that ``role`` may press."""
    return frozenset(b.prefix for b in BUTTONS if role in b.roles)


def menu() -> tuple[tuple[str, str], ...]:
    """The command menu: (German name, msgid of its description), in the table's order."""
    return tuple((c.german, c.menu) for c in COMMANDS if c.menu is not None)
