"""A small demo term of the cooperation, for ``kursbot chat --demo`` on an empty database."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kurse import agencies, courses, people, registrations
from kurse.clock import BERLIN
from kurse.courses import CourseDraft
from kurse.days import day_warnings, days_between
from kurse.models import Course, id_of

LEAD_TELEGRAM_ID = 100_001
OFFICERS = (  # telegram id, name, rank, agency
    (100_002, "Markus Hofmann", "PHK", "PP-OFR"),
    (100_003, "Sabine Krüger", "KOKin", "PD-Z"),
    (100_004, "Jonas Weber", "POM", "PP-OFR"),
    (100_005, "Petra Lehmann", "PKin", "PD-Z"),
)


def _at(now: datetime, days: int, hour: int) -> datetime:
    day = (now.astimezone(BERLIN) + timedelta(days=days)).date()
    return datetime.combine(day, time(hour), tzinfo=BERLIN)


def _working_days_from(now: datetime, days: int, length: int) -> int:
    """The first offset from ``days`` on at which ``length`` days in a row are working days
    in Bavaria and Saxony (no weekend, no public holiday): the demo term shows no warning."""
    while True:
        span = days_between(_at(now, days, 9), _at(now, days + length - 1, 16))
        if not day_warnings(span, {"Bayern", "Sachsen"}, "de"):
            return days
        days += 1


def load_demo(session: Session, now: datetime) -> list[Course]:
    """Creates a lead, four officers and five courses; only on a database without courses."""
    if session.scalar(select(func.count()).select_from(Course)):
        return []
    agencies.seed_agencies(session, now)
    found = {a.code: a for a in agencies.list_agencies(session)}
    lead = people.join(
        session,
        telegram_id=LEAD_TELEGRAM_ID,
        access_code=found["PD-Z"].access_code,
        name="Lea Leitner",
        rank="KHKin",
        language="de",
        now=now,
    )
    officers = [
        people.join(
            session,
            telegram_id=tid,
            access_code=found[code].access_code,
            name=name,
            rank=rank,
            language="de",
            now=now,
        )
        for tid, name, rank, code in OFFICERS
    ]
    plans = [
        (
            "Gemeinsame Fahndungs- und Kontrolltage an der A 72",
            "Plauen, Autobahnpolizeirevier",
            10,
            2,
            {"PP-OFR": 8, "PD-Z": 8},
            None,
            "Zwei Tage gemeinsamer Fahndungs- und Kontrollmaßnahmen im Grenzraum Bayern–Sachsen.",
        ),
        (
            "Lagebildaustausch Grenzkriminalität",
            "Hof, Polizeiinspektion",
            17,
            1,
            {"PP-OFR": 10, "PD-Z": 10},
            None,
            "Austausch der aktuellen Lagebilder beider Dienststellen, mit Fallbeispielen.",
        ),
        (
            "Rauschgiftermittlungen im Grenzraum – Aufbaukurs",
            "Zwickau, Polizeidirektion",
            31,
            3,
            {"PP-OFR": 6, "PD-Z": 6},
            21,
            "Methamphetamin-Schmuggel, Ermittlungsansätze, grenzüberschreitende Zusammenarbeit.",
        ),
        (
            "Gemeinsamer Einsatztrainingstag",
            "Bamberg, Bereitschaftspolizei",
            24,
            1,
            {"PP-OFR": 2, "PD-Z": 2},
            None,
            "Eigensicherung und Kontrolltechniken in gemischten Teams.",
        ),
        (
            "Grenzüberschreitende Observation – Grundlagen",
            "Plauen, Kriminalpolizeiinspektion",
            45,
            2,
            {"PP-OFR": 5, "PD-Z": 5},
            35,
            "Rechtsgrundlagen, Übergabe an der Landesgrenze, gemeinsame Funkkommunikation.",
        ),
    ]
    created = []
    for title, place, wanted_in, length, seats, release_in, description in plans:
        in_days = _working_days_from(now, wanted_in, length)
        start = _at(now, in_days, 9)
        created.append(
            courses.create_course(
                session,
                CourseDraft(
                    title=title,
                    location=place,
                    start_at=start,
                    end_at=_at(now, in_days + length - 1, 16),
                    registration_deadline=start - timedelta(days=5),
                    seats=seats,
                    description=description,
                    lead_id=lead.id,
                    release_at=_at(now, release_in, 8) if release_in else None,
                ),
                now,
            )
        )
    training = created[3]  # the training day is nearly full, so the waiting list shows
    for officer in officers:
        registrations.sign_up(session, id_of(training), id_of(officer), now)
    return created
