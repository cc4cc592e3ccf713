"""Domain errors: each a class with typed fields that say what the bot layer needs to word it.

Each has a stable ``code`` (for logs and metrics); nothing here is user-facing text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


class DomainError(Exception):
    """Base of every rule violation the services report."""

    code = "domain_error"

    def __str__(self) -> str:
        fields = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return f"{self.code}: {fields}" if fields else self.code


@dataclass(eq=False)
class NotFound(DomainError):
    """The thing asked for does not exist or is not visible to the caller.

    ``kind`` says what (``course``, ``agency``, ``person``, ``lead``, ``registration``);
    ``given`` is the code typed, if the caller named it by code (cut to 16 characters).
    """

    kind: str
    given: str | None = None
    code = "not_found"


@dataclass(eq=False)
class InvalidInput(DomainError):
    """A value is malformed or out of range: ``field`` names it, ``reason`` says what is
    wrong; ``min`` / ``max`` are the limits where the reason has them, ``value`` the part of
    the input that is wrong, if it helps to show it."""

    field: str
    reason: str
    min: int | None = None
    max: int | None = None
    value: str | None = None
    code = "invalid_input"


class InvalidAccessCode(DomainError):
    """The access code matches no agency."""

    code = "invalid_access_code"


@dataclass(eq=False)
class CodeLocked(DomainError):
    """Too many wrong access codes from this account; the next one is taken from ``until``."""

    until: datetime
    code = "code_locked"


class AlreadyJoined(DomainError):
    """This Telegram account already belongs to a joined officer."""

    code = "already_joined"


@dataclass(eq=False)
class NotAllowed(DomainError):
    """The acting person lacks the role the action needs (``role``: ``admin``, ``lead``), or
    the action is not open to them for ``reason`` (``bootstrap_admin``: an admin from the
    settings, who has no profile of their own)."""

    role: str | None = None
    reason: str | None = None
    code = "not_allowed"


@dataclass(eq=False)
class CourseNotOpen(DomainError):
    """The course is cancelled or finished (``status``)."""

    status: str
    code = "course_not_open"


@dataclass(eq=False)
class RegistrationClosed(DomainError):
    """The registration deadline has passed; ``lead_id`` is whom to contact, if set."""

    lead_id: int | None = None
    code = "registration_closed"


@dataclass(eq=False)
class CancellationClosed(DomainError):
    """The cancellation deadline has passed; ``lead_id`` is whom to contact, if set."""

    lead_id: int | None = None
    code = "cancellation_closed"


class NotRegistered(DomainError):
    """The person holds no active registration for that course."""

    code = "not_registered"


@dataclass(eq=False)
class QuotaBelowConfirmed(DomainError):
    """Lowering quotas would leave more confirmed officers than seats (``over``: how many per
    agency code, ``*`` for the released seats).

    Nothing is changed; the caller must decide explicitly (see ``set_quotas(on_excess=...)``).
    """

    over: dict[str, int]
    code = "quota_below_confirmed"


class LastAdmin(DomainError):
    """The last admin cannot remove themself."""

    code = "last_admin"


@dataclass(eq=False)
class ApprovalTooLate(DomainError):
    """The officer's agency needs approval of the sign-up, and less than two hours are left
    before the deadline (``until``) for it: nothing is held. ``lead_id`` is whom to contact."""

    until: datetime
    lead_id: int | None = None
    code = "approval_too_late"


@dataclass(eq=False)
class AlreadyDecided(DomainError):
    """The request was decided (or ended) before: ``outcome`` (`kurse.models.Outcome`, or
    ``withdrawn``), by ``decided_by`` (a name; None for Kursbot itself or a deleted profile),
    ``at`` when."""

    outcome: str
    decided_by: str | None = None
    at: datetime | None = None
    code = "already_decided"


@dataclass(eq=False)
class OfferEnded(DomainError):
    """The offer is no longer open: ``outcome`` says how it ended (accepted, declined,
    expired) or ``none`` when there was no offer to this officer."""

    outcome: str
    code = "offer_ended"


@dataclass(eq=False)
class OwnRequest(DomainError):
    """An approver cannot decide their own request (four eyes): another approver of the
    agency must."""

    code = "own_request"


# Attendance (issue 18, `kurse.attendance`)


@dataclass(eq=False)
class AttendanceLocked(DomainError):
    """Attendance of the course is locked (7 days after its end, ``since``); an admin may
    unlock it."""

    since: datetime
    code = "attendance_locked"


@dataclass(eq=False)
class DayNotStarted(DomainError):
    """The course day has not begun yet (attendance opens `EARLY` before its start)."""

    day: date
    code = "day_not_started"


@dataclass(eq=False)
class NoCourseDay(DomainError):
    """The date given is not a day of the course (or no day of it is under way today)."""

    given: date | None
    code = "no_course_day"


@dataclass(eq=False)
class PeriodInvalid(DomainError):
    """A period for the figures (`kurse.periods`) that cannot be read: ``reason`` is a
    `kurse.periods.PeriodReason` value, ``given`` the part typed that is wrong (cut)."""

    reason: str
    given: str = ""
    code = "period_invalid"
