"""Certificates of attendance (issue 18): who gets one, issuing, revoking, verifying.

A confirmed participant gets a certificate when the course's attendance is closed (the lead's
`/anwesenheit_abschliessen` after the last day, or the lock 7 days after the end) and they
were present on every day, or on the share the course names (`Course.min_attendance`,
rounded up). A cancelled course gives none; a course below its minimum gives them only to
those recorded present, so only if it took place. Each certificate has a serial number
(``K-2027-005-001``, per course in the order of issue) and a verification code (ten letters
and digits of the access codes' unambiguous alphabet, shown as ``ABCDE-FGHJK``).

When attendance changes after closing, the participant's certificate is revoked and, if
they still qualify, a new one issued; the message with the new one waits `REISSUE_DELAY`,
and a message whose certificate was revoked meanwhile is not sent (`kurse.outbox`), so a lead
who presses through the states sends one certificate, not three. The PDF is written by the
bot (it holds the texts) into `Certificate.pdf` right after issuing.
"""

from __future__ import annotations

import math
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import courses, outbox, people
from kurse.actors import Actor
from kurse.admin import require_lead_or_admin
from kurse.agencies import ACCESS_CODE_ALPHABET
from kurse.days import CourseDay, course_days
from kurse.errors import CourseNotOpen, DomainError, NotAllowed, NotFound
from kurse.models import (
    Agency,
    Attendance,
    AttendanceState,
    Certificate,
    Course,
    CourseStatus,
    Outbox,
    Person,
    Quota,
    Registration,
    RegistrationStatus,
    id_of,
)
from kurse.outbox import MessageKind

REISSUE_DELAY = timedelta(minutes=2)
CODE_LENGTH = 10


@dataclass(eq=False)
class CourseNotOver(DomainError):
    """Attendance can be closed only after the course's last day has ended (``end_at``)."""

    end_at: datetime
    code = "course_not_over"


@dataclass(frozen=True)
class Closing:
    """The attendance closed: the course, and how many certificates were issued now."""

    course: Course
    issued: int
    already: bool  # it was closed before (by the lead or the lock)


def new_code() -> str:
    """A fresh verification code (ten characters of `ACCESS_CODE_ALPHABET`)."""
    return "".join(secrets.choice(ACCESS_CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """``ABCDEFGHJK`` → ``ABCDE-FGHJK``."""
    return f"{code[:5]}-{code[5:]}"


def normalise_code(typed: str) -> str | None:
    """A typed code without blanks and dashes, upper case; None if it cannot be one."""
    code = "".join(ch for ch in typed.upper() if ch not in " -\t")[:40]
    if len(code) != CODE_LENGTH or any(ch not in ACCESS_CODE_ALPHABET for ch in code):
        return None
    return code


def required_days(course: Course, total: int) -> int:
    """How many days present a certificate needs: every day, or the share, rounded up."""
    share = course.min_attendance or 100
    return max(1, math.ceil(total * share / 100 - 1e-9))


def issue(
    session: Session,
    course: Course,
    now: datetime,
    *,
    registration_id: int | None = None,
    delay: timedelta = timedelta(0),
) -> list[Certificate]:
    """Issues a certificate to each confirmed participant (or only ``registration_id``) who
    qualifies and holds no valid one; queues the message to each. The caller holds the
    course's lock. Nothing for a cancelled course."""
    if course.status == CourseStatus.CANCELLED:
        return []
    days = course_days(course)
    by_date = {d.day: d for d in days}
    query = (
        select(Registration, Person)
        .join(Person, col(Person.id) == col(Registration.person_id))
        .where(
            col(Registration.course_id) == course.id,
            col(Registration.status) == RegistrationStatus.CONFIRMED,
        )
        .order_by(col(Registration.queue_seq))
    )
    if registration_id is not None:
        query = query.where(col(Registration.id) == registration_id)
    rows = session.execute(query).all()
    if not rows:
        return []
    ids = [id_of(r) for r, _ in rows]
    present: dict[int, list[CourseDay]] = defaultdict(list)
    for rid, day in session.execute(
        select(col(Attendance.registration_id), col(Attendance.day)).where(
            col(Attendance.registration_id).in_(ids),
            col(Attendance.state) == AttendanceState.PRESENT,
        )
    ):
        if day in by_date:
            present[rid].append(by_date[day])
    valid = set(
        session.scalars(
            select(col(Certificate.registration_id)).where(
                col(Certificate.registration_id).in_(ids), col(Certificate.revoked_at).is_(None)
            )
        )
    )
    needed = required_days(course, len(days))
    lead = session.get(Person, course.lead_id) if course.lead_id else None
    number = (
        session.scalar(
            select(func.count())
            .select_from(Certificate)
            .where(col(Certificate.course_id) == course.id)
        )
        or 0
    )
    issued = []
    for registration, person in rows:
        attended = sorted(present.get(id_of(registration), []), key=lambda d: d.day)
        if id_of(registration) in valid or len(attended) < needed:
            continue
        number += 1
        issued.append(
            Certificate(
                serial=f"{course.code}-{number:03d}",
                verification=new_code(),
                course_id=id_of(course),
                registration_id=id_of(registration),
                person_id=id_of(person),
                agency_id=registration.agency_id,
                holder_name=person.name,
                holder_rank=person.rank,
                days_present=len(attended),
                days_total=len(days),
                minutes=sum(int((d.end_at - d.start_at).total_seconds() // 60) for d in attended),
                lead_name=lead.name if lead else None,
                language=person.language,
                issued_at=now,
            )
        )
    session.add_all(issued)
    session.flush()
    outbox.add(
        session,
        [
            Outbox(
                key=f"certificate:{id_of(c)}",
                kind=MessageKind.CERTIFICATE,
                person_id=c.person_id,
                course_id=c.course_id,
                registration_id=c.registration_id,
                detail={"certificate": id_of(c)},
                due_at=now + delay,
            )
            for c in issued
        ],
    )
    return issued


def revoke(session: Session, registration_id: int, now: datetime) -> int:
    """Revokes the valid certificates of a registration; returns how many."""
    result = session.execute(
        update(Certificate)
        .where(
            col(Certificate.registration_id) == registration_id,
            col(Certificate.revoked_at).is_(None),
        )
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def attendance_changed(
    session: Session, course: Course, registration_id: int, now: datetime
) -> None:
    """After a change of attendance (the caller holds the course's lock): once certificates
    were issued, the participant's is revoked and a new one issued if they still qualify."""
    if course.attendance_closed_at is None:
        return
    revoke(session, registration_id, now)
    issue(session, course, now, registration_id=registration_id, delay=REISSUE_DELAY)


def close(session: Session, code: str, now: datetime, *, actor: Actor) -> Closing:
    """The lead (or an admin) closes the attendance after the course's last day: the
    certificates are issued now (`/anwesenheit_abschliessen`)."""
    found = courses.get_course_by_code(session, code)
    course = courses.get_course(session, id_of(found), lock=True)
    require_lead_or_admin(session, course, actor)
    if course.status == CourseStatus.CANCELLED:
        raise CourseNotOpen(status=course.status)
    if now < course.end_at:
        raise CourseNotOver(end_at=course.end_at)
    already = course.attendance_closed_at is not None
    if not already:
        course.attendance_closed_at = now
    return Closing(course, len(issue(session, course, now)), already)


def close_at_lock(session: Session, course_id: int, now: datetime) -> int:
    """The timed work at the lock (7 days after the end): closes the attendance if the lead
    did not, and issues what is due; returns how many were issued."""
    course = courses.get_course(session, course_id, lock=True)
    if course.status == CourseStatus.CANCELLED:
        return 0
    if course.attendance_closed_at is None:
        course.attendance_closed_at = now
    return len(issue(session, course, now))


@dataclass(frozen=True)
class Issued:
    """A certificate with what its document and its verification show."""

    certificate: Certificate
    course: Course
    agency: Agency
    days: list[CourseDay]  # the days present
    cooperation: list[Agency]  # the agencies with seats in the course


def _issued(session: Session, certificate: Certificate) -> Issued:
    return _issued_many(session, [certificate])[0]


def _issued_many(session: Session, found: list[Certificate]) -> list[Issued]:
    """The certificates (all of one course) with what their documents show, in a few
    queries however many they are."""
    if not found:
        return []
    course = courses.get_course(session, found[0].course_id)
    days = course_days(course)
    agencies = {
        a.id: a
        for a in session.scalars(
            select(Agency).where(col(Agency.id).in_({c.agency_id for c in found}))
        )
    }
    present: dict[int, set[object]] = defaultdict(set)
    registrations = [c.registration_id for c in found if c.registration_id is not None]
    for rid, day in session.execute(
        select(col(Attendance.registration_id), col(Attendance.day)).where(
            col(Attendance.registration_id).in_(registrations),
            col(Attendance.state) == AttendanceState.PRESENT,
        )
    ):
        present[rid].add(day)
    cooperation = list(
        session.scalars(
            select(Agency)
            .join(Quota, col(Quota.agency_id) == col(Agency.id))
            .where(col(Quota.course_id) == course.id, col(Quota.seats) > 0)
            .order_by(col(Agency.code))
        )
    )
    return [
        Issued(
            c,
            course,
            agencies[c.agency_id],
            [d for d in days if d.day in present.get(c.registration_id or 0, set())],
            cooperation,
        )
        for c in found
    ]


def to_print(session: Session, course_id: int) -> list[Issued]:
    """The valid certificates of a course whose PDF is not written yet."""
    return _issued_many(
        session,
        list(
            session.scalars(
                select(Certificate)
                .where(
                    col(Certificate.course_id) == course_id,
                    col(Certificate.pdf).is_(None),
                    col(Certificate.revoked_at).is_(None),
                )
                .order_by(col(Certificate.id))
            )
        ),
    )


def store_pdfs(session: Session, documents: dict[int, bytes]) -> None:
    """Keeps the written PDFs (by certificate id); one already kept stays as it is."""
    for certificate_id, pdf in documents.items():
        session.execute(
            update(Certificate)
            .where(col(Certificate.id) == certificate_id, col(Certificate.pdf).is_(None))
            .values(pdf=pdf)
        )


def valid(session: Session, certificate_id: int) -> Certificate | None:
    """The certificate, if it is still valid (not revoked)."""
    certificate = session.get(Certificate, certificate_id)
    return certificate if certificate is not None and certificate.revoked_at is None else None


def document(session: Session, certificate_id: int, person_id: int) -> Certificate:
    """A certificate of ``person_id`` (valid or not), for sending; `NotFound` for another's."""
    certificate = session.get(Certificate, certificate_id)
    if certificate is None or certificate.person_id != person_id:
        raise NotFound(kind="certificate")
    return certificate


def of_person(session: Session, person_id: int) -> list[tuple[Certificate, Course]]:
    """The valid certificates of an officer, newest first (`/bescheinigung`)."""
    return [
        (certificate, course)
        for certificate, course in session.execute(
            select(Certificate, Course)
            .join(Course, col(Course.id) == col(Certificate.course_id))
            .where(col(Certificate.person_id) == person_id, col(Certificate.revoked_at).is_(None))
            .order_by(col(Certificate.issued_at).desc(), col(Certificate.id).desc())
        )
    ]


@dataclass(frozen=True)
class Verification:
    """What `/pruefen` found: the certificate (None: no such code) and its replacement."""

    issued: Issued | None
    replaced_by: Certificate | None = None


def verify(session: Session, typed: str, *, actor: Actor) -> Verification:
    """Looks a verification code up (admins, and anyone who leads a course)."""
    person = people.find_by_telegram_id(session, actor.telegram_id) if actor.telegram_id else None
    leads = person is not None and session.scalar(
        select(func.count()).select_from(Course).where(col(Course.lead_id) == person.id)
    )
    if not (people.is_admin(person, actor.bootstrap_admin) or leads):
        raise NotAllowed(role="lead")
    code = normalise_code(typed)
    certificate = (
        session.scalar(select(Certificate).where(col(Certificate.verification) == code))
        if code
        else None
    )
    if certificate is None:
        return Verification(None)
    replaced_by = None
    if certificate.revoked_at is not None and certificate.registration_id is not None:
        replaced_by = session.scalar(
            select(Certificate).where(
                col(Certificate.registration_id) == certificate.registration_id,
                col(Certificate.revoked_at).is_(None),
            )
        )
    return Verification(_issued(session, certificate), replaced_by)
