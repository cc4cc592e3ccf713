"""Domain errors. Each has a stable ``code`` that the bot layer maps to a translated message,
and ``params`` with the details the message needs. Nothing here is user-facing text."""

from __future__ import annotations

from datetime import datetime
from typing import Any


class DomainError(Exception):
    """Base of every rule violation the services report."""

    code = "domain_error"

    def __init__(self, **params: Any) -> None:
        self.params = params
        super().__init__(f"{self.code}: {params}" if params else self.code)


class NotFound(DomainError):
    """The thing asked for does not exist or is not visible to the caller (``kind`` says what)."""

    code = "not_found"


class InvalidInput(DomainError):
    """A value is malformed or out of range; ``field`` names it, ``reason`` says what is wrong."""

    code = "invalid_input"


class InvalidAccessCode(DomainError):
    """The access code matches no agency."""

    code = "invalid_access_code"


class CodeLocked(DomainError):
    """Too many wrong access codes from this account; the next one is taken from ``until``."""

    code = "code_locked"

    def __init__(self, until: datetime) -> None:
        super().__init__(until=until)
        self.until = until


class AlreadyJoined(DomainError):
    """This Telegram account already belongs to a joined officer."""

    code = "already_joined"


class NotAllowed(DomainError):
    """The acting person lacks the role the action needs."""

    code = "not_allowed"


class CourseNotOpen(DomainError):
    """The course is cancelled or finished (``status``)."""

    code = "course_not_open"


class RegistrationClosed(DomainError):
    """The registration deadline has passed; ``lead_id`` is whom to contact, if set."""

    code = "registration_closed"


class CancellationClosed(DomainError):
    """The cancellation deadline has passed; ``lead_id`` is whom to contact, if set."""

    code = "cancellation_closed"


class NotRegistered(DomainError):
    """The person holds no active registration for that course."""

    code = "not_registered"


class QuotaBelowConfirmed(DomainError):
    """Lowering quotas would leave more confirmed officers than seats (``over`` per agency code).

    Nothing is changed; the caller must decide explicitly (see ``set_quotas(on_excess=...)``).
    """

    code = "quota_below_confirmed"


class LastAdmin(DomainError):
    """The last admin cannot remove themself."""

    code = "last_admin"
