"""The officer's own data (DSGVO): everything stored about them, and deleting it."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Text, cast, delete, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import courses, figures, outbox, people
from kurse.models import (
    AccessCodeAttempt,
    Agency,
    Approver,
    Attendance,
    AttendanceState,
    AuditEntry,
    Certificate,
    Course,
    Dialog,
    Outbox,
    Person,
    Registration,
    RegistrationStatus,
    id_of,
    person_table,
)
from kurse.outbox import MessageKind
from kurse.promotion import Promotion
from kurse.registrations import withdraw


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


def _row(obj: Any, columns: list[str]) -> dict[str, Any]:
    return {c: _plain(getattr(obj, c)) for c in columns}


def export_person(session: Session, person_id: int) -> dict[str, Any]:
    """Every stored row about the person: profile, registrations, audit entries, messages."""
    person = session.get(Person, person_id)
    assert person is not None
    agency = session.get(Agency, person.agency_id)
    registrations = session.execute(
        select(Registration, col(Course.code), col(Course.title), col(Course.start_at))
        .join(Course, col(Course.id) == col(Registration.course_id))
        .where(col(Registration.person_id) == person_id)
        .order_by(col(Registration.id))
    ).all()
    audit = session.scalars(
        select(AuditEntry)
        .where(
            or_(
                col(AuditEntry.subject_person_id) == person_id,
                col(AuditEntry.actor_id) == person_id,
                col(AuditEntry.actor_telegram_id) == person.telegram_id,
                col(AuditEntry.id).in_([a.id for a in _naming_as_lead(session, person_id)]),
            )
        )
        .order_by(col(AuditEntry.id))
    ).all()
    messages = session.scalars(
        select(Outbox).where(col(Outbox.person_id) == person_id).order_by(col(Outbox.id))
    ).all()
    approves = session.execute(  # the agencies whose sign-ups the person approves
        select(col(Agency.code), col(Agency.name), col(Approver.since))
        .join(Approver, col(Approver.agency_id) == col(Agency.id))
        .where(col(Approver.person_id) == person_id)
        .order_by(col(Agency.code))
    ).all()
    # Attendance and certificates (issue 18): absent without excuse is a no-show.
    attended = session.execute(
        select(Attendance, col(Course.code))
        .join(Registration, col(Registration.id) == col(Attendance.registration_id))
        .join(Course, col(Course.id) == col(Attendance.course_id))
        .where(col(Registration.person_id) == person_id)
        .order_by(col(Attendance.day), col(Attendance.id))
    ).all()
    issued = session.execute(
        select(Certificate, col(Course.code))
        .join(Course, col(Course.id) == col(Certificate.course_id))
        .where(col(Certificate.person_id) == person_id)
        .order_by(col(Certificate.id))
    ).all()
    return {
        "profile": _row(person, [c.name for c in person_table.columns]),
        "agency": {"code": agency.code, "name": agency.name} if agency else None,
        "registrations": [
            {
                **_row(
                    r,
                    [
                        "id",
                        "status",
                        "created_at",
                        "confirmed_at",
                        "cancelled_at",
                        "via_release",
                        "queue_seq",
                    ],
                ),
                "course": {"code": code, "title": title, "start": _plain(start)},
            }
            for r, code, title, start in registrations
        ],
        "audit_entries": [
            {
                **_row(a, ["id", "at", "action", "course_id"]),
                "role": "actor"
                if person_id == a.actor_id or a.actor_telegram_id == person.telegram_id
                else "subject",
                "before": a.before,
                "after": a.after,
            }
            for a in audit
        ],
        "messages": [
            _row(m, ["id", "key", "kind", "state", "due_at", "done_at"]) for m in messages
        ],
        "approver_for": [
            {"code": code, "name": name, "since": _plain(since)} for code, name, since in approves
        ],
        "attendance": [
            {**_row(a, ["day", "state", "recorded_at"]), "course": code} for a, code in attended
        ],
        "no_shows": sum(1 for a, _code in attended if a.state == AttendanceState.ABSENT),
        "certificates": [
            {
                **_row(
                    c,
                    ["serial", "verification", "holder_name", "holder_rank", "issued_at"],
                ),
                "revoked_at": _plain(c.revoked_at),
                "course": code,
            }
            for c, code in issued
        ],
        # Issue 19: the officer's own figures (officers see no one else's).
        "figures": figures.own_figures(session, person_id),
    }


def _naming_as_lead(session: Session, person_id: int) -> list[AuditEntry]:
    """Audit entries whose before/after names the person as a course's lead (``lead_id``)."""
    pattern = f'%"lead_id": {person_id}%'
    candidates = session.scalars(
        select(AuditEntry).where(
            # As text: PostgreSQL's json has no LIKE (SQLite's JSON is text already).
            or_(
                cast(col(AuditEntry.before), Text).like(pattern),
                cast(col(AuditEntry.after), Text).like(pattern),
            )
        )
    )
    return [a for a in candidates if person_id in _lead_ids(a)]


def _lead_ids(entry: AuditEntry) -> set[Any]:
    return {
        payload.get("lead_id")
        for payload in (entry.before, entry.after)
        if isinstance(payload, dict)
    }


def _without_lead(payload: dict[str, Any] | None, person_id: int | None) -> dict[str, Any] | None:
    """The payload with ``lead_id`` emptied (where it is ``person_id``, or any when None)."""
    if not isinstance(payload, dict) or payload.get("lead_id") is None:
        return payload
    if person_id is not None and payload["lead_id"] != person_id:
        return payload
    return {**payload, "lead_id": None}


DELETED_ACTOR = 0  # actor_telegram_id of an entry whose actor's data was deleted (ids are > 0)


def forget_in_audit(session: Session, person_id: int, telegram_id: int) -> None:
    """Leaves nothing in the audit log that points to the person: their Telegram id as the
    actor (admins from the settings act by it), and their id as a course's lead in the
    payloads; the foreign keys (actor, subject) are set NULL when the row goes."""
    session.execute(
        update(AuditEntry)
        .where(
            or_(
                col(AuditEntry.actor_id) == person_id,
                col(AuditEntry.actor_telegram_id) == telegram_id,
            )
        )
        .values(actor_telegram_id=DELETED_ACTOR)
    )
    for entry in _naming_as_lead(session, person_id):
        entry.before = _without_lead(entry.before, person_id)
        entry.after = _without_lead(entry.after, person_id)


def anonymise_course_audit(session: Session, course_id: int) -> None:
    """At the end of the retention period: the course's audit entries keep what was done
    and the counts, but no person (subject, lead)."""
    session.execute(
        update(AuditEntry)
        .where(col(AuditEntry.course_id) == course_id)
        .values(subject_person_id=None)
    )
    for entry in session.scalars(select(AuditEntry).where(col(AuditEntry.course_id) == course_id)):
        entry.before = _without_lead(entry.before, None)
        entry.after = _without_lead(entry.after, None)


@dataclass(frozen=True)
class Deletion:
    """What deleting a person did: the officers moved up into seats they left, and how many
    messages tell the admins of courses left without a lead."""

    cancelled: int
    anonymised: int
    promoted: list[Promotion]
    admins_told: int = 0


def delete_person(
    session: Session, person_id: int, now: datetime, admin_ids: Collection[int] = ()
) -> Deletion:
    """Deletes the profile: future registrations cancelled (waiting lists move up), past ones
    kept without the person so that course statistics stay right. They may join again.

    Courses the person led lose their lead; every admin (``admin_ids``: those from the
    settings) is told, to choose a new one.

    Locks the person's row first (PostgreSQL), so that a sign-up of theirs still in flight
    (which holds a key-share lock on it, see `registrations.sign_up_many`) commits before the
    registrations are read, and none can start until the deletion is done; then each seat is
    given back under its course's lock, courses in id order."""
    session.scalar(select(col(Person.id)).where(col(Person.id) == person_id).with_for_update())
    rows = session.execute(
        select(Registration, col(Course.start_at))
        .join(Course, col(Course.id) == col(Registration.course_id))
        .where(col(Registration.person_id) == person_id)
        .order_by(col(Registration.course_id))
    ).all()
    promoted: list[Promotion] = []
    cancelled = anonymised = 0
    for registration, start in rows:
        active = registration.status != RegistrationStatus.CANCELLED
        if active and start > now:
            promoted += withdraw(session, id_of(registration), now)
            cancelled += 1
        registration.outcome_reason = None  # an approver's reason speaks of the person
        anonymised += 1
    led = courses.led_by(session, person_id, now, limit=1000)
    person = session.get(Person, person_id)
    if person is not None:
        forget_in_audit(session, person_id, person.telegram_id)
        # What they typed in a dialog, and their wrong access codes.
        session.execute(delete(Dialog).where(col(Dialog.telegram_id) == person.telegram_id))
        session.execute(
            delete(AccessCodeAttempt).where(
                col(AccessCodeAttempt.telegram_id) == person.telegram_id
            )
        )
        # Registrations, audit entries and leads lose the person (foreign keys: SET NULL);
        # messages to them go with them (CASCADE).
        session.delete(person)
    session.flush()
    # The admins choose a new lead for each course left without one.
    admins = [a.id for a in people.admins(session, admin_ids) if a.id is not None] if led else []
    told = 0
    for course in led:
        assert course.id is not None
        told += outbox.notices(session, MessageKind.LEADGONE, course.id, admins, now)
    return Deletion(cancelled, anonymised, promoted, told)
