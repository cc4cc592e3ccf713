"""The tables (SQLModel on SQLAlchemy 2). Schema changes go through Alembic (``migrations/``).

Times are stored as UTC. `UTCDateTime` refuses naive datetimes on the way in and hands back
aware UTC datetimes on the way out, on SQLite as on PostgreSQL.

The payloads (audit before/after, an outgoing message's detail, a dialog's states and data)
are `JSON` columns: ``json`` on PostgreSQL, text on SQLite, read and written as dicts. Plain
``json``, not ``jsonb``: the text stays as written (key order, the form of every value),
which the privacy code's text search in the audit log relies on, and nothing queries inside
the payloads, which is what ``jsonb`` would be for. The engine writes them with umlauts as
they are (`kurse.db.make_engine`); `as_json` gives a value the form the column reads back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from kurse.clock import ensure_aware

# Stable constraint names, so that Alembic migrations can name what they change.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored in UTC (``timestamptz`` on PostgreSQL, text on SQLite)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = ensure_aware(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002 - TypeDecorator's signature
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class DayTimes(TypeDecorator[tuple[tuple[datetime, datetime], ...]]):
    """A course's explicit days: ``((start, end), …)``, aware; stored as JSON, a list of
    ``[start, end]`` in ISO 8601 UTC."""

    impl = JSON
    cache_ok = True

    def process_bind_param(
        self,
        value: tuple[tuple[datetime, datetime], ...] | None,
        dialect: Dialect,  # noqa: ARG002 - TypeDecorator's signature
    ) -> list[list[str]] | None:
        if not value:
            return None
        return [
            [
                ensure_aware(start).astimezone(UTC).isoformat(),
                ensure_aware(end).astimezone(UTC).isoformat(),
            ]
            for start, end in value
        ]

    def process_result_value(
        self,
        value: list[list[str]] | None,
        dialect: Dialect,  # noqa: ARG002 - TypeDecorator's signature
    ) -> tuple[tuple[datetime, datetime], ...] | None:
        if not value:
            return None
        return tuple(
            (datetime.fromisoformat(start), datetime.fromisoformat(end)) for start, end in value
        )


def _time(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class CourseStatus(StrEnum):
    """Life cycle of a course."""

    PUBLISHED = "published"
    CANCELLED = "cancelled"
    FINISHED = "finished"


class RegistrationStatus(StrEnum):
    """State of one officer's registration for one course."""

    CONFIRMED = "confirmed"
    WAITING = "waiting"
    CANCELLED = "cancelled"
    # The two states that hold a seat until a deadline (``held_until``), counted against the
    # quota like a confirmed one (`kurse.holds`):
    REQUESTED = "requested"  # beantragt: waits for an approver of the officer's own agency
    OFFERED = "offered"  # angeboten: a seat offered from the waiting list, to accept in time


# A seat is taken by a registration in one of these states (the quota counters count them).
SEAT_HOLDING = (
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.REQUESTED,
    RegistrationStatus.OFFERED,
)
HELD = (RegistrationStatus.REQUESTED, RegistrationStatus.OFFERED)


class Outcome(StrEnum):
    """How a held seat ended (kept on the registration, for the officer, the log and lists)."""

    APPROVED = "approved"
    REFUSED = "refused"
    APPROVAL_EXPIRED = "approval_expired"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    OFFER_EXPIRED = "offer_expired"


class Agency(SQLModel, table=True):
    """A police agency (Dienststelle) taking part in the cooperation."""

    __tablename__ = "agency"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(16), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    state: str = Field(sa_column=Column(String(100), nullable=False))
    access_code: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    # Whether its officers' sign-ups need the approval of one of its approvers (Genehmigung).
    approval_required: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )
    created_at: datetime = _time()


class Approver(SQLModel, table=True):
    """A person who decides on the sign-ups of one agency's officers (several deputise)."""

    __tablename__ = "approver"

    agency_id: int = Field(
        sa_column=Column(Integer, ForeignKey("agency.id", ondelete="CASCADE"), primary_key=True)
    )
    person_id: int = Field(
        sa_column=Column(Integer, ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    )
    since: datetime = _time()


class Person(SQLModel, table=True):
    """A Telegram user who joined as an officer of an agency (or an admin).

    Ids are never reused (``AUTOINCREMENT`` on SQLite; sequences on PostgreSQL), so that an
    id kept anywhere never points to another officer after a deletion."""

    __tablename__ = "person"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    username: str | None = Field(default=None, sa_column=Column(String(64), index=True))
    name: str = Field(sa_column=Column(String(100), nullable=False))
    rank: str | None = Field(default=None, sa_column=Column(String(50)))
    agency_id: int = Field(
        sa_column=Column(Integer, ForeignKey("agency.id", ondelete="RESTRICT"), nullable=False)
    )
    language: str = Field(default="de", sa_column=Column(String(8), nullable=False))
    is_admin: bool = Field(default=False, nullable=False)
    active: bool = Field(default=True, nullable=False)
    lead_notifications: bool = Field(default=True, nullable=False)
    consent_at: datetime = _time()
    joined_at: datetime = _time()


class Course(SQLModel, table=True):
    """A joint training course with per-agency quotas (see `Quota`)."""

    __tablename__ = "course"
    __table_args__ = (
        CheckConstraint("end_at > start_at", name="course_ends_after_start"),
        CheckConstraint("registration_deadline <= start_at", name="course_deadline_before_start"),
        CheckConstraint(
            "cancellation_deadline <= start_at", name="course_cancel_deadline_before_start"
        ),
        CheckConstraint("reg_seq >= 0", name="course_reg_seq_non_negative"),
        CheckConstraint(
            "min_participants IS NULL OR min_participants >= 0",
            name="course_min_participants_non_negative",
        ),
        CheckConstraint(
            "offer_hours IS NULL OR (offer_hours >= 1 AND offer_hours <= 168)",
            name="course_offer_hours_range",
        ),
        CheckConstraint(
            "min_attendance IS NULL OR (min_attendance >= 1 AND min_attendance <= 100)",
            name="course_min_attendance_share",
        ),
        CheckConstraint(
            "status IN ('published', 'cancelled', 'finished')", name="course_status_known"
        ),
        Index("ix_course_status_start", "status", "start_at"),
        Index("ix_course_status_deadline", "status", "registration_deadline", "start_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(16), nullable=False, unique=True))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    location: str = Field(sa_column=Column(String(200), nullable=False))
    start_at: datetime = _time()
    end_at: datetime = _time()
    registration_deadline: datetime = _time()
    cancellation_deadline: datetime = _time()
    release_at: datetime | None = _time(nullable=True)
    min_participants: int | None = Field(default=None, sa_column=Column(Integer))
    lead_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("person.id", ondelete="SET NULL"), index=True),
    )
    status: str = Field(
        default=CourseStatus.PUBLISHED, sa_column=Column(String(16), nullable=False)
    )
    cancel_reason: str | None = Field(default=None, sa_column=Column(String(500)))
    # How freed seats are filled: NULL automatically, else by an offer of this many hours.
    offer_hours: int | None = Field(default=None, sa_column=Column(Integer))
    # The agency that hosts the course (Ausrichter; issue 19: the figures per agency count
    # its courses and the seats of them taken by other agencies' officers).
    host_agency_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("agency.id", ondelete="RESTRICT"), nullable=False, index=True
        )
    )
    # Arrival counter: every sign-up takes the next number under the course's row lock, so
    # waiting lists are first come, first served even across processes.
    reg_seq: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    created_at: datetime = _time()
    updated_at: datetime = _time()
    # Issue 18 (migration 0009). ``days``: the course days as the form gave them (`Termine`);
    # None: each calendar day from the start's time of day to the end's (`kurse.days`).
    # ``min_attendance``: the share of days (percent) a certificate needs; None: every day.
    # ``attendance_closed_at``: when the lead closed the attendance (certificates issued);
    # ``attendance_unlocked_until``: an admin reopened it after the lock, until then.
    days: tuple[tuple[datetime, datetime], ...] | None = Field(
        default=None, sa_column=Column(DayTimes(none_as_null=True))
    )
    min_attendance: int | None = Field(default=None, sa_column=Column(Integer))
    attendance_closed_at: datetime | None = _time(nullable=True)
    attendance_unlocked_until: datetime | None = _time(nullable=True)
    # The secret the self check-in codes of this course are made from (`kurse.checkin`).
    checkin_secret: str | None = Field(default=None, sa_column=Column(String(64)))


class Quota(SQLModel, table=True):
    """Seats of one agency in one course, and how many of its officers hold or wait for one.

    The two counters are moved by `kurse.seats.adjust_counts` under the course's lock, in
    the same transaction as the registrations they count, so that a sign-up reads the seat
    state in one short query however long the waiting list is. `kurse.invariants` re-counts.
    """

    __tablename__ = "quota"
    __table_args__ = (
        CheckConstraint("seats >= 0", name="quota_seats_non_negative"),
        CheckConstraint("seats <= 10000", name="quota_seats_bounded"),
        CheckConstraint("confirmed_count >= 0", name="quota_confirmed_count_non_negative"),
        CheckConstraint("waiting_count >= 0", name="quota_waiting_count_non_negative"),
    )

    course_id: int = Field(
        sa_column=Column(Integer, ForeignKey("course.id", ondelete="CASCADE"), primary_key=True)
    )
    agency_id: int = Field(
        sa_column=Column(Integer, ForeignKey("agency.id", ondelete="RESTRICT"), primary_key=True)
    )
    seats: int = Field(sa_column=Column(Integer, nullable=False))
    confirmed_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    waiting_count: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )


class Registration(SQLModel, table=True):
    """One officer's place (confirmed or waiting) in one course; cancelled rows stay as history."""

    __tablename__ = "registration"
    __table_args__ = (
        UniqueConstraint("course_id", "person_id", name="uq_registration_course_person"),
        CheckConstraint(
            "status IN ('confirmed', 'waiting', 'cancelled', 'requested', 'offered')",
            name="registration_status_known",
        ),
        CheckConstraint(
            "(status IN ('requested', 'offered')) = (held_until IS NOT NULL)",
            name="registration_held_has_deadline",
        ),
        CheckConstraint("queue_seq >= 0", name="registration_queue_seq_non_negative"),
        Index("ix_registration_course_status_seq", "course_id", "status", "queue_seq"),
        Index(
            "ix_registration_course_status_agency_seq",
            "course_id",
            "status",
            "agency_id",
            "queue_seq",
        ),
        Index("ix_registration_person_status", "person_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(
        sa_column=Column(Integer, ForeignKey("course.id", ondelete="CASCADE"), nullable=False)
    )
    # NULL once the person's data has been deleted or anonymised (statistics stay right).
    person_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("person.id", ondelete="SET NULL"))
    )
    agency_id: int = Field(
        sa_column=Column(Integer, ForeignKey("agency.id", ondelete="RESTRICT"), nullable=False)
    )
    status: str = Field(sa_column=Column(String(16), nullable=False))
    queue_seq: int = Field(sa_column=Column(Integer, nullable=False))
    via_release: bool = Field(default=False, nullable=False)
    created_at: datetime = _time()
    confirmed_at: datetime | None = _time(nullable=True)
    cancelled_at: datetime | None = _time(nullable=True)
    # A held seat (requested or offered): since when, and until when (`kurse.holds`).
    held_since: datetime | None = _time(nullable=True)
    held_until: datetime | None = _time(nullable=True)
    # How the last hold ended, who decided it (an approver) and why (a refusal's reason).
    outcome: str | None = Field(default=None, sa_column=Column(String(32)))
    decided_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("person.id", ondelete="SET NULL"))
    )
    outcome_reason: str | None = Field(default=None, sa_column=Column(String(500)))


class AttendanceState(StrEnum):
    """What the lead recorded for one participant on one course day."""

    PRESENT = "present"  # anwesend
    ABSENT = "absent"  # abwesend: without excuse, a no-show
    EXCUSED = "excused"  # entschuldigt


class Attendance(SQLModel, table=True):
    """Whether one participant attended one day of a course (one row per registration and day).

    ``course_id`` and ``agency_id`` are copied from the registration, so that the figures per
    agency (no-shows, attended) stay right after the person's data is deleted or the course
    anonymised: the row then names nobody, as its registration does.
    """

    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("registration_id", "day", name="uq_attendance_registration_day"),
        CheckConstraint(
            "state IN ('present', 'absent', 'excused')", name="attendance_state_known"
        ),
        Index("ix_attendance_course_day", "course_id", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(
        sa_column=Column(Integer, ForeignKey("course.id", ondelete="CASCADE"), nullable=False)
    )
    registration_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("registration.id", ondelete="CASCADE"), nullable=False
        )
    )
    agency_id: int = Field(
        sa_column=Column(Integer, ForeignKey("agency.id", ondelete="RESTRICT"), nullable=False)
    )
    # The course day's date in Europe/Berlin (`kurse.days.CourseDay.day`).
    day: date = Field(sa_column=Column(Date, nullable=False))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    recorded_at: datetime = _time()
    # Who recorded it (the lead, an admin, or the officer by check-in); NULL once deleted.
    recorded_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("person.id", ondelete="SET NULL")),
    )


class Certificate(SQLModel, table=True):
    """A certificate of attendance (issue 18): one officer, one course, its serial number and
    verification code; revoked (``revoked_at``) when the attendance changed afterwards, and
    then replaced by a new one.

    The holder's name and rank are kept as printed, so that `/pruefen` still confirms a
    certificate after the course's data is anonymised or the officer deleted their profile
    (the links to the person and the registration are then cut, see README "Retention").
    """

    __tablename__ = "certificate"
    __table_args__ = (
        Index("ix_certificate_registration", "registration_id"),
        Index("ix_certificate_person", "person_id"),
        Index("ix_certificate_course", "course_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    serial: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    verification: str = Field(sa_column=Column(String(16), nullable=False, unique=True))
    course_id: int = Field(
        sa_column=Column(Integer, ForeignKey("course.id", ondelete="CASCADE"), nullable=False)
    )
    registration_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("registration.id", ondelete="SET NULL")),
    )
    person_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("person.id", ondelete="SET NULL"))
    )
    agency_id: int = Field(
        sa_column=Column(Integer, ForeignKey("agency.id", ondelete="RESTRICT"), nullable=False)
    )
    holder_name: str = Field(sa_column=Column(String(100), nullable=False))
    holder_rank: str | None = Field(default=None, sa_column=Column(String(50)))
    days_present: int = Field(sa_column=Column(Integer, nullable=False))
    days_total: int = Field(sa_column=Column(Integer, nullable=False))
    minutes: int = Field(sa_column=Column(Integer, nullable=False))  # of the days present
    lead_name: str | None = Field(default=None, sa_column=Column(String(100)))
    language: str = Field(default="de", sa_column=Column(String(8), nullable=False))
    issued_at: datetime = _time()
    revoked_at: datetime | None = _time(nullable=True)
    # The document as issued (PDF), written once by the bot right after issuing (it holds the
    # texts); `/bescheinigung` sends these same bytes again.
    pdf: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


class CheckinDisplay(SQLModel, table=True):
    """A check-in code on show in a chat (`/checkin`, issue 18), renewed in place by the bot
    as its two-minute window changes until the course day ends (`kurse.checkin`).

    ``shown_window`` is the window of the code the message shows; the process that moves it
    on is the one that edits the message, so two processes never renew it twice. A closed
    display (``closed``) stays until its closing edit went through. The role
    of whoever asked (``telegram_id``, ``person_id``) is checked again at every renewal.
    """

    __tablename__ = "checkin_display"
    __table_args__ = (
        UniqueConstraint("chat_id", "message_id", name="uq_checkin_display_message"),
    )

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("course.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    person_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("person.id", ondelete="CASCADE"))
    )
    telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    message_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    day: date = Field(sa_column=Column(Date, nullable=False))
    shown_window: int = Field(sa_column=Column(BigInteger, nullable=False))
    until: datetime = _time(index=True)  # the end of the day: then it is closed
    # Set when the message is to say that it shows no new code any more
    # (`kurse.checkin_display.Closed`); the row goes once Telegram took that edit.
    closed: str | None = Field(default=None, sa_column=Column(String(16)))


class AuditEntry(SQLModel, table=True):
    """Who did what, when, with the state before and after (JSON)."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _time(index=True)
    actor_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("person.id", ondelete="SET NULL"), index=True),
    )
    # The admin's Telegram id: bootstrap admins (KURSBOT_ADMIN_IDS) may act before joining.
    # 0 once the actor's data was deleted (`kurse.privacy.forget_in_audit`).
    actor_telegram_id: int | None = Field(default=None, sa_column=Column(BigInteger))
    action: str = Field(sa_column=Column(String(64), nullable=False))
    course_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("course.id", ondelete="SET NULL"), index=True),
    )
    subject_person_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("person.id", ondelete="SET NULL"), index=True),
    )
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))


class TaskState(StrEnum):
    """Life cycle of a due task or an outgoing message."""

    PENDING = "pending"
    SENDING = "sending"  # claimed by one process; retried if it never finishes
    SENT = "sent"  # done (for tasks: run)
    SKIPPED = "skipped"  # no longer makes sense (cancelled, too late, blocked chat)
    FAILED = "failed"  # gave up after retries; `last_error` says why


class TaskKind(StrEnum):
    """What a task does when it falls due (`kurse.tasks` has one runner per kind; planned by
    `kurse.schedule`, a held seat's by `kurse.holds`)."""

    REMINDER = "reminder"
    LEADLIST = "leadlist"
    RELEASE = "release"
    END = "end"
    RETENTION = "retention"
    HOLD_EXPIRY = "hold"  # a held seat's deadline (`kurse.holds`): requested or offered
    APPROVAL_REMINDER = "approvalreminder"  # at half of the approval time, to the approvers
    CERTIFICATES = "certificates"  # attendance locks; certificates issued (issue 18)


class Task(SQLModel, table=True):
    """Timed work on a course, due at ``due_at``; ``key`` names its purpose and is unique.

    The database, not APScheduler, is the truth about what is due: the scheduler only wakes
    the bot, which claims due rows (one process per row) and marks them.
    """

    __tablename__ = "task"
    __table_args__ = (
        CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'skipped', 'failed')",
            name="task_state_known",
        ),
        Index("ix_task_state_due", "state", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(80), nullable=False, unique=True))
    kind: str = Field(sa_column=Column(String(32), nullable=False))  # `kurse.models.TaskKind`
    course_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("course.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    # What the key says of a reminder or a lead list, as columns the code reads (the key stays
    # the same, as it keeps the work from being planned twice): a reminder's offset before the
    # start and the start it was planned for; a lead list's moment (`kurse.schedule.ListMoment`).
    offset_minutes: int | None = Field(default=None, sa_column=Column(Integer))
    # The registration whose held seat the task is about (its expiry, the approvers' reminder).
    registration_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("registration.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    planned_start: datetime | None = _time(nullable=True)
    moment: str | None = Field(default=None, sa_column=Column(String(16)))
    due_at: datetime = _time()
    state: str = Field(default=TaskState.PENDING, sa_column=Column(String(16), nullable=False))
    claimed_at: datetime | None = _time(nullable=True)
    done_at: datetime | None = _time(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(String(500)))


class Outbox(SQLModel, table=True):
    """One message to one person, made by a task; ``key`` keeps it from being made twice."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(
            "state IN ('pending', 'sending', 'sent', 'skipped', 'failed')",
            name="outbox_state_known",
        ),
        Index("ix_outbox_state_due", "state", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(100), nullable=False, unique=True))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    person_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("person.id", ondelete="CASCADE"), index=True),
    )
    course_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("course.id", ondelete="CASCADE"))
    )
    registration_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("registration.id", ondelete="CASCADE")),
    )
    # What the message needs to know, by kind (`kurse.outbox.MessageKind`).
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    due_at: datetime = _time()
    state: str = Field(default=TaskState.PENDING, sa_column=Column(String(16), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    claimed_at: datetime | None = _time(nullable=True)
    done_at: datetime | None = _time(nullable=True)
    last_error: str | None = Field(default=None, sa_column=Column(String(500)))


class Dialog(SQLModel, table=True):
    """A Telegram account's dialog in progress: where each of its conversations stands and
    what it has typed so far (both JSON), written after every step.

    ``states`` maps a conversation's name to ``[chat id, state]``; ``data`` holds the few
    keys of PTB's ``user_data`` that dialogs need (`bot.persistence`). A row not written for
    `kurse.dialogs.EXPIRY` is an abandoned dialog and reads as none.
    """

    __tablename__ = "dialog"

    telegram_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    states: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _time(index=True)


class AccessCodeAttempt(SQLModel, table=True):
    """One wrong access code typed by a Telegram account (the lockout counts them)."""

    __tablename__ = "access_code_attempt"
    __table_args__ = (Index("ix_access_code_attempt_account_at", "telegram_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    at: datetime = _time(index=True)


# The Core tables, for the hot paths written in SQLAlchemy Core (typed as `Table`, which the
# models' ``__table__`` is not to mypy).
agency_table = SQLModel.metadata.tables[Agency.__tablename__]
person_table = SQLModel.metadata.tables[Person.__tablename__]
course_table = SQLModel.metadata.tables[Course.__tablename__]
quota_table = SQLModel.metadata.tables[Quota.__tablename__]
registration_table = SQLModel.metadata.tables[Registration.__tablename__]
audit_table = SQLModel.metadata.tables[AuditEntry.__tablename__]
approver_table = SQLModel.metadata.tables[Approver.__tablename__]
task_table = SQLModel.metadata.tables[Task.__tablename__]
outbox_table = SQLModel.metadata.tables[Outbox.__tablename__]
attendance_table = SQLModel.metadata.tables[Attendance.__tablename__]
certificate_table = SQLModel.metadata.tables[Certificate.__tablename__]


def as_json(value: Any, *, default: Callable[[Any], Any] | None = None) -> Any:
    """Returns ``value`` as a JSON column reads it back: tuples as lists, keys as strings, a
    copy that shares nothing with ``value`` (``default`` turns what JSON has no type for
    into something it has, as in `json.dumps`)."""
    return json.loads(json.dumps(value, default=default))


class _Stored(Protocol):
    @property
    def id(self) -> int | None: ...


def id_of(row: _Stored) -> int:
    """Returns the row's id; raises if it has none yet (added but not flushed)."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet: flush the session first")
    return row.id
