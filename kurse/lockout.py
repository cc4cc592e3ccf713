"""The access-code lockout: five wrong codes within 15 minutes lock a Telegram account until
15 minutes after the first of them (PRODUCT.md §1).

Each wrong code is a row (`AccessCodeAttempt`), so the lockout holds across a restart and on
every instance sharing the database. Rows older than the window count for nothing and are
deleted by the next wrong code of anyone, so the table holds at most the last 15 minutes.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse.agencies import verify_access_code
from kurse.errors import CodeLocked, InvalidAccessCode
from kurse.models import AccessCodeAttempt, Agency

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)


def try_access_code(
    session: Session, telegram_id: int, typed: str, now: datetime
) -> Agency | None:
    """The agency whose access code ``telegram_id`` typed, or None for a wrong code.

    A wrong code is counted against the account, which is why it is a value and not
    `InvalidAccessCode`: a domain error writes nothing. While the account is locked this
    raises `CodeLocked` and counts nothing. A right code forgets the wrong ones before it.
    """
    recent = _recent_failures(session, telegram_id, now)
    if len(recent) >= MAX_FAILURES:
        raise CodeLocked(until=recent[-1] + LOCKOUT)
    try:
        agency = verify_access_code(session, typed)
    except InvalidAccessCode:
        session.add(AccessCodeAttempt(telegram_id=telegram_id, at=now))
        session.execute(
            delete(AccessCodeAttempt).where(col(AccessCodeAttempt.at) <= now - LOCKOUT)
        )
        return None
    if recent:
        session.execute(
            delete(AccessCodeAttempt).where(col(AccessCodeAttempt.telegram_id) == telegram_id)
        )
    return agency


def minutes_left(until: datetime, now: datetime) -> int:
    """Whole minutes until ``until``, rounded up (at least one)."""
    return max(1, math.ceil((until - now).total_seconds() / 60))


def _recent_failures(session: Session, telegram_id: int, now: datetime) -> list[datetime]:
    """The account's last wrong codes within the window, newest first (at most five)."""
    query = (
        select(col(AccessCodeAttempt.at))
        .where(
            col(AccessCodeAttempt.telegram_id) == telegram_id,
            col(AccessCodeAttempt.at) > now - LOCKOUT,
        )
        .order_by(col(AccessCodeAttempt.at).desc())
        .limit(MAX_FAILURES)
    )
    return list(session.scalars(query))
