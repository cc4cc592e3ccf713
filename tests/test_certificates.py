"""Certificates of attendance (issue 18) through the real Application: closing the attendance,
the PDF with every field (names in Polish, Turkish, Czech and Cyrillic, read back with pypdf),
the minimum attendance, /bescheinigung, /pruefen for a genuine, a revoked and a made-up code,
a change after closing, the lock issuing them, and what stays after anonymisation."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from bot.jobs import run_due_work
from kurse import attendance, certificates, people
from kurse import registrations as regs
from kurse.actors import Actor
from kurse.models import AttendanceState, Certificate, Outbox, Person, Registration
from tests import builders
from tests.harness import user

BOSS = 4242  # bootstrap admin (KURSBOT_ADMIN_IDS)
NAMES = {  # name, rank, agency
    "pl": ("Łukasz Wójcik", "POK", "PP-OFR"),
    "tr": ("Çağrı Yılmaz", "PHK", "PP-OFR"),
    "cz": ("Jiří Dvořák", "KOK", "PD-Z"),
    "ru": ("Иван Петров", "PM", "PD-Z"),
}


@pytest.fixture
def boss():
    return {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}


def pdf_text(content: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return re.sub(r"\s+", " ", text)


def certificate_files(h, telegram_id: int) -> list[bytes]:
    return [
        m.document[1]
        for m in h.api.messages(telegram_id)
        if m.document and m.document[0].endswith(".pdf")
    ]


async def settle(h) -> None:
    """Runs the timed work until no message that is due waits or is being sent (the wake-up
    after closing may be sending them in the background meanwhile)."""
    for _ in range(600):
        await run_due_work(h.app)
        with h.services.db.transaction(readonly=True) as session:
            busy = session.scalar(
                select(func.count())
                .select_from(Outbox)
                .where(
                    Outbox.state.in_(["pending", "sending"]),
                    Outbox.due_at <= h.services.clock.now(),
                )
            )
        if not busy:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("messages still waiting after 30 s")


def all_certificates(db) -> list[Certificate]:
    with db.transaction(readonly=True) as session:
        return list(session.scalars(select(Certificate).order_by(Certificate.id)))


class Course2:
    """A two-day course led by Lea, with the four officers of `NAMES` confirmed."""

    def __init__(self, h, db, clock, agencies, lea, **extra):
        self.h, self.db, self.clock = h, db, clock
        lead = db.call(people.find_by_telegram_id, lea["id"])
        self.lea = lea
        self.lead_actor = Actor(telegram_id=lea["id"], person_id=lead.id)
        self.course = builders.course(
            db,
            clock.now(),
            seats={"PP-OFR": 2, "PD-Z": 2},
            lead_id=lead.id,
            location="Hof, Polizeiinspektion – Raum 3.14",
            **extra,
        )
        self.officers = {
            key: builders.officer(db, agencies[code], clock.now(), name=name, rank=rank)
            for key, (name, rank, code) in NAMES.items()
        }
        with db.transaction() as session:
            for officer in self.officers.values():
                regs.sign_up(session, self.course.id, officer.id, clock.now())
        with db.transaction(readonly=True) as session:
            self.registration = {
                key: session.scalar(
                    select(Registration.id).where(Registration.person_id == officer.id)
                )
                for key, officer in self.officers.items()
            }

    def record(self, key: str, day: int, times: int = 1) -> None:
        """Presses ``key``'s button on day ``day`` (0 or 1) ``times`` times, at that day."""
        self.clock.set(self.course.start_at + timedelta(days=day, hours=1))
        state = self.state(key, day)
        for _ in range(times):
            self.db.call(
                attendance.record,
                self.registration[key],
                day,
                state,
                self.clock.now(),
                actor=self.lead_actor,
            )
            state = attendance.NEXT[state]

    def state(self, key, day):
        sheet = self.db.call(
            attendance.sheet, self.course.id, day, self.clock.now(), actor=self.lead_actor
        )
        return next(li.state for li in sheet.lines if li.registration_id == self.registration[key])

    def telegram_id(self, key: str) -> int:
        return self.officers[key].telegram_id


@pytest.fixture
async def lea(h, agencies):
    who = user("Lea")
    await h.join(who, agencies["PD-Z"].access_code, "Lea Leitung", "EPHK")
    return who


@pytest.fixture
def course2(h, db, clock, agencies, lea):
    return Course2(h, db, clock, agencies, lea)


async def test_closing_sends_each_officer_present_every_day_a_pdf_with_every_field(
    h, db, clock, course2
):
    for key in ("pl", "tr", "cz", "ru"):
        course2.record(key, 0)
        course2.record(key, 1, times=1 if key != "tr" else 2)  # Çağrı absent on day 2
    clock.set(course2.course.end_at + timedelta(minutes=5))

    answer = await h.send(course2.lea, f"/anwesenheit_abschliessen {course2.course.code}")
    await settle(h)

    assert answer[0].text.startswith(
        f"Die Anwesenheit von {course2.course.code} ist abgeschlossen. "
        "3 Teilnahmebescheinigungen werden versendet."
    )
    assert certificate_files(h, course2.telegram_id("tr")) == []
    issued = {c.holder_name: c for c in all_certificates(db)}
    for key in ("pl", "cz", "ru"):
        name, rank, code = NAMES[key]
        (pdf,) = certificate_files(h, course2.telegram_id(key))
        text = pdf_text(pdf)
        certificate = issued[name]
        agency = "Polizeipräsidium Oberfranken" if code == "PP-OFR" else "Polizeidirektion Zwickau"
        for field in (
            "Teilnahmebescheinigung",
            "Hiermit wird bescheinigt, dass",
            f"{rank} {name}",
            f"{agency} ({code})",
            f"Grenzüberschreitende Fahndung – Grundlagen ({course2.course.code})",
            "Anwesend an 2 von 2 Kurstagen, insgesamt 14 Stunden.",
            "Ort: Hof, Polizeiinspektion – Raum 3.14",
            "Kursleitung: Lea Leitung",
            "Eine gemeinsame Fortbildung von Polizeidirektion Zwickau und Polizeipräsidium "
            "Oberfranken.",
            "Ausgestellt am 10. Februar 2027",
            f"Nummer: {certificate.serial}",
            f"Prüfcode: {certificates.format_code(certificate.verification)}",
        ):
            assert field in text, (key, field)
        assert text.count("2027, 10:00–17:00 Uhr") == 2  # both days with their times
    assert sorted(c.serial for c in issued.values()) == [
        f"{course2.course.code}-001",
        f"{course2.course.code}-002",
        f"{course2.course.code}-003",
    ]


async def test_a_course_with_a_minimum_share_certifies_those_present_on_that_share(
    h, db, clock, agencies, lea
):
    course = Course2(h, db, clock, agencies, lea, min_attendance=50)
    course.record("tr", 0)  # one day of two: 50 %
    clock.set(course.course.end_at + timedelta(days=7))

    await settle(h)  # the lock issues them

    assert [c.holder_name for c in all_certificates(db)] == ["Çağrı Yılmaz"]
    assert "Anwesend an 1 von 2 Kurstagen" in pdf_text(
        certificate_files(h, course.telegram_id("tr"))[0]
    )


async def test_closing_before_the_end_or_by_someone_not_the_lead_is_refused(
    h, db, clock, agencies, course2
):
    course2.record("pl", 0)
    course2.record("pl", 1)
    early = await h.send(course2.lea, f"/anwesenheit_abschliessen {course2.course.code}")
    clock.set(course2.course.end_at + timedelta(hours=1))
    otto = user("Otto")
    await h.join(otto, agencies["PP-OFR"].access_code, "Otto Normal")
    other = await h.send(otto, f"/anwesenheit_abschliessen {course2.course.code}")

    assert early[0].text.startswith("Die Anwesenheit kann abgeschlossen werden, sobald")
    assert other[0].text == (
        "Die Teilnehmenden eines Kurses sehen nur die Kursleitung und die Administration."
    )
    assert all_certificates(db) == []


async def test_a_cancelled_course_gives_no_certificate(h, db, clock, boss, course2):
    clock.set(course2.course.start_at - timedelta(days=2))
    await h.send(boss, f"/kurs_absagen {course2.course.code}")
    await h.press(boss, "Ja")
    clock.set(course2.course.end_at + timedelta(days=8))

    closed = await h.send(course2.lea, f"/anwesenheit_abschliessen {course2.course.code}")
    await settle(h)

    assert closed[-1].text == "Dieser Kurs wurde abgesagt."
    assert all_certificates(db) == []


async def test_a_course_without_attendance_recorded_gives_no_certificate(h, db, clock, course2):
    clock.set(course2.course.end_at + timedelta(hours=1))

    answer = await h.send(course2.lea, f"/anwesenheit_abschliessen {course2.course.code}")

    assert "0 Teilnahmebescheinigungen werden versendet" in answer[0].text
    assert all_certificates(db) == []


async def test_a_change_after_closing_revokes_the_certificate_and_sends_one_new_one(
    h, db, clock, boss, course2
):
    for day in (0, 1):
        course2.record("pl", day)
    clock.set(course2.course.end_at + timedelta(minutes=5))
    await h.send(course2.lea, f"/anwesenheit_abschliessen {course2.course.code}")
    await settle(h)
    (first,) = all_certificates(db)

    course2.clock.set(course2.course.end_at + timedelta(days=1))
    # day 2: present → absent → excused → present, quickly: one new certificate, sent once
    course2.db.call(
        attendance.record, course2.registration["pl"], 1, AttendanceState.PRESENT,
        clock.now(), actor=course2.lead_actor,
    )  # fmt: skip
    course2.db.call(
        attendance.record, course2.registration["pl"], 1, AttendanceState.ABSENT,
        clock.now(), actor=course2.lead_actor,
    )  # fmt: skip
    course2.db.call(
        attendance.record, course2.registration["pl"], 1, AttendanceState.EXCUSED,
        clock.now(), actor=course2.lead_actor,
    )  # fmt: skip
    await settle(h)
    before_delay = len(certificate_files(h, course2.telegram_id("pl")))
    clock.advance(certificates.REISSUE_DELAY)
    await settle(h)

    rows = all_certificates(db)
    valid = [c for c in rows if c.revoked_at is None]
    assert len(valid) == 1
    assert valid[0].serial == f"{course2.course.code}-002"
    assert rows[0].revoked_at is not None
    assert before_delay == 1
    files = certificate_files(h, course2.telegram_id("pl"))
    assert len(files) == 2  # the first, and the one that replaced it
    assert f"Nummer: {valid[0].serial}" in pdf_text(files[1])
    genuine = await h.send(boss, f"/pruefen {certificates.format_code(valid[0].verification)}")
    revoked = await h.send(course2.lea, f"/pruefen {first.verification.lower()}")
    made_up = await h.send(boss, "/pruefen ABCDE-FGHJK")
    assert genuine[0].text.startswith("✅ Echt: POK Łukasz Wójcik (PP-OFR), Grenzüberschreitende")
    assert revoked[0].text.startswith("⚠️ Widerrufen am ")
    assert revoked[0].text.endswith(f"Sie wurde durch {valid[0].serial} ersetzt.")
    assert made_up[0].text.startswith("❌ Keine Bescheinigung hat diesen Prüfcode.")


async def test_only_leads_and_admins_verify_and_an_officer_fetches_only_their_own(
    h, db, clock, agencies, course2
):
    for day in (0, 1):
        course2.record("pl", day)
        course2.record("cz", day)
    clock.set(course2.course.end_at + timedelta(minutes=5))
    await h.send(course2.lea, f"/anwesenheit_abschliessen {course2.course.code}")
    await settle(h)
    pl, cz = (c for c in all_certificates(db))
    anna = user("Anna")
    await h.join(anna, agencies["PP-OFR"].access_code, "Anna Beispiel")
    refused = await h.send(anna, f"/pruefen {pl.verification}")
    pl_user = {"id": course2.telegram_id("pl"), "is_bot": False, "first_name": "Ł"}
    pl_user["language_code"] = "de"

    listed = await h.send(pl_user, "/bescheinigung")
    buttons = listed[0].button_texts()
    await h.press(pl_user, buttons[0])
    again = certificate_files(h, pl_user["id"])
    await h.press_data(pl_user, f"bz:{cz.id}", listed[0])  # forged: Jiří's

    assert refused[0].text == (
        "Die Teilnehmenden eines Kurses sehen nur die Kursleitung und die Administration."
    )
    assert len(buttons) == 1
    assert again[-1] == again[0]  # the same document as issued
    assert len(again) == 2
    assert certificate_files(h, pl_user["id"]) == again
    assert h.alerts()[-1].startswith("Diese Schaltfläche ist nicht mehr gültig.")


async def test_after_anonymisation_a_certificate_still_verifies_but_is_no_longer_listed(
    h, db, clock, boss, course2
):
    for day in (0, 1):
        course2.record("ru", day)
    clock.set(course2.course.end_at + timedelta(days=7))
    await settle(h)  # the lock
    (certificate,) = all_certificates(db)
    clock.set(course2.course.end_at + timedelta(days=91))
    await settle(h)  # the retention period is over
    ru_user = {"id": course2.telegram_id("ru"), "is_bot": False, "first_name": "И"}
    ru_user["language_code"] = "de"

    verified = await h.send(boss, f"/pruefen {certificate.verification}")
    listed = await h.send(ru_user, "/bescheinigung")

    assert verified[0].text.startswith("✅ Echt: PM Иван Петров (PD-Z)")
    assert listed[0].text == "Sie haben noch keine Teilnahmebescheinigungen."


async def test_a_long_name_and_title_wrap_on_the_one_page_and_a_huge_code_is_no_certificate(
    h, db, clock, agencies, boss, lea
):
    long_title = "Grenzüberschreitende Fahndung, Observation und Zugriff – " * 3
    course = Course2(h, db, clock, agencies, lea, title=long_title.strip()[:200])
    with db.transaction() as session:
        person = session.get(Person, course.officers["pl"].id)
        person.name = "Łukasz Bartłomiej Grzegorz Wójcik-Wiśniewski-Dąbrowski " * 2
        person.name = person.name.strip()[:100]
    course.record("pl", 0)
    course.record("pl", 1)
    clock.set(course.course.end_at + timedelta(minutes=5))
    await h.send(course.lea, f"/anwesenheit_abschliessen {course.course.code}")
    await settle(h)
    huge = await h.send(boss, "/pruefen " + "A" * 10_000)

    (pdf,) = certificate_files(h, course.telegram_id("pl"))
    reader = PdfReader(io.BytesIO(pdf))
    text = pdf_text(pdf)
    assert len(reader.pages) == 1
    assert "Wójcik-Wiśniewski-Dąbrowski" in text
    assert "Prüfcode:" in text
    assert huge[0].text.startswith("❌ Keine Bescheinigung hat diesen Prüfcode.")


async def test_a_certificate_still_verifies_after_its_holder_deleted_their_profile(
    h, db, clock, boss, course2
):
    for day in (0, 1):
        course2.record("cz", day)
    clock.set(course2.course.end_at + timedelta(minutes=5))
    await h.send(course2.lea, f"/anwesenheit_abschliessen {course2.course.code}")
    await settle(h)
    (certificate,) = all_certificates(db)
    jiri = {"id": course2.telegram_id("cz"), "is_bot": False, "first_name": "J"}
    jiri["language_code"] = "de"

    await h.send(jiri, "/daten_loeschen")
    await h.press(jiri, "Ja, alles löschen")
    verified = await h.send(boss, f"/pruefen {certificate.verification}")

    assert db.call(people.find_by_telegram_id, jiri["id"]) is None
    (kept,) = all_certificates(db)
    assert (kept.person_id, kept.holder_name) == (None, "Jiří Dvořák")
    assert verified[0].text.startswith("✅ Echt: KOK Jiří Dvořák (PD-Z)")
