"""Check-in codes on show (issue 18): the lead's `/checkin` message renews itself.

The bot keeps each message that shows a check-in code (`CheckinDisplay`) and edits it in
place with the new code as each two-minute window begins, until the course day ends. The
database says what is due, so the renewal survives a restart, and the process that moves a
display's ``shown_window`` on is the only one that edits it (a standby instance renews
nothing twice). At each renewal the role of whoever asked is checked again: a lead replaced
meanwhile, a course cancelled or a day taken out of the course closes the display instead.
A newer `/checkin` of the same course in the same chat replaces the older message. A closed
display stays (``closed``) until the edit that says so went through, so that one Telegram
did not take now is tried again in the next round.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import CursorResult, and_, delete, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import people
from kurse.actors import Actor
from kurse.admin import require_lead_or_admin
from kurse.checkin import ShownCode, shown_code, window_of
from kurse.days import CourseDay, course_days
from kurse.errors import NotAllowed
from kurse.models import CheckinDisplay, Course, CourseStatus, id_of

BATCH = 100  # displays renewed in one round at most (the next round takes the rest)


class Closed(StrEnum):
    """Why a display shows no new code any more."""

    DAY_OVER = "day_over"
    REPLACED = "replaced"  # a newer /checkin of the course in the same chat
    NOT_LEAD = "not_lead"  # whoever asked leads the course no longer (nor is an admin)
    COURSE_CHANGED = "course_changed"  # cancelled, or the day is not one of its days now


@dataclass(frozen=True)
class Renewal:
    """What to show in a display's message now: a new code, or that it is closed."""

    display_id: int
    chat_id: int
    message_id: int
    language: str
    window: int  # the window the display was moved on to
    previous_window: int
    course: Course
    shown: ShownCode | None = None
    closed: Closed | None = None


def keep_showing(
    session: Session,
    shown: ShownCode,
    chat_id: int,
    message_id: int,
    now: datetime,
    *,
    actor: Actor,
) -> list[Renewal]:
    """Keeps the message ``message_id`` renewed with the codes of ``shown``'s day (whoever
    shows it now is the one whose role counts); returns the older displays of the course in
    that chat, now closed (`Closed.REPLACED`) and claimed for the caller to edit."""
    course_id, window = id_of(shown.course), window_of(now)
    older = session.scalars(
        select(CheckinDisplay)
        .where(
            col(CheckinDisplay.course_id) == course_id,
            col(CheckinDisplay.chat_id) == chat_id,
            col(CheckinDisplay.message_id) != message_id,
            col(CheckinDisplay.closed).is_(None),
        )
        .order_by(col(CheckinDisplay.id))  # rows in the order `due` takes them: no deadlock
    ).all()
    replaced = []
    for row in older:
        row.closed, row.shown_window = Closed.REPLACED, window
        replaced.append(_closed(row, shown.course, _language(session, row), window - 1))
    values: dict[str, Any] = {
        "course_id": course_id,
        "closed": None,
        "telegram_id": actor.telegram_id or chat_id,
        "person_id": actor.person_id,
        "day": shown.day.day,
        "until": shown.day.end_at,
        "shown_window": window_of(shown.renewed_at),
    }
    display = session.scalar(
        select(CheckinDisplay).where(
            col(CheckinDisplay.chat_id) == chat_id, col(CheckinDisplay.message_id) == message_id
        )
    )
    if display is None:
        session.add(CheckinDisplay(chat_id=chat_id, message_id=message_id, **values))
    else:  # shown again in the same message ("New code")
        for name, value in values.items():
            setattr(display, name, value)
    session.flush()
    return replaced


def course_shown(session: Session, chat_id: int, message_id: int) -> int | None:
    """The course whose codes the message shows now, if it is a display."""
    return session.scalar(
        select(col(CheckinDisplay.course_id)).where(
            col(CheckinDisplay.chat_id) == chat_id,
            col(CheckinDisplay.message_id) == message_id,
            col(CheckinDisplay.closed).is_(None),
        )
    )


def due(session: Session, now: datetime, *, admin_ids: Collection[int]) -> list[Renewal]:
    """Claims every display whose code is out of date, whose day is over or whose closing
    edit is still to be made, and says what each is to show now. ``admin_ids``:
    `KURSBOT_ADMIN_IDS`."""
    window = window_of(now)
    rows = session.scalars(
        select(CheckinDisplay)
        .where(
            or_(
                col(CheckinDisplay.shown_window) < window,
                and_(col(CheckinDisplay.closed).is_(None), col(CheckinDisplay.until) <= now),
            )
        )
        .order_by(col(CheckinDisplay.id))
        .limit(BATCH)
    ).all()
    renewals: list[Renewal] = []
    for row in rows:
        previous = row.shown_window
        if not _claim(session, row, window):
            continue  # another process renews it
        course = session.get(Course, row.course_id)
        assert course is not None  # the display goes with its course (ON DELETE CASCADE)
        language = _language(session, row)
        index, day = next(
            ((i, d) for i, d in enumerate(course_days(course)) if d.day == row.day), (0, None)
        )
        if row.closed is None:
            why = _why_closed(session, row, course, day, now, admin_ids)
            row.closed = why.value if why is not None else None
        if row.closed is not None or day is None:  # (no day: closed above)
            renewals.append(_closed(row, course, language, previous))
            continue
        renewals.append(
            Renewal(
                id_of(row),
                row.chat_id,
                row.message_id,
                language,
                window,
                previous,
                course,
                shown=shown_code(course, index, day, now),
            )
        )
        row.until = day.end_at
    session.flush()
    return renewals


def _claim(session: Session, row: CheckinDisplay, window: int) -> bool:
    """Moves the display on to ``window`` unless another process did since it was read."""
    result = cast(
        CursorResult[Any],
        session.execute(
            update(CheckinDisplay)
            .where(
                col(CheckinDisplay.id) == row.id,
                col(CheckinDisplay.shown_window) == row.shown_window,
                # as read: a row another process closed meanwhile (same window) is its own
                col(CheckinDisplay.closed).is_(None)
                if row.closed is None
                else col(CheckinDisplay.closed).is_not(None),
            )
            .values(shown_window=window)
            .execution_options(synchronize_session=False)
        ),
    )
    if not result.rowcount:
        return False
    row.shown_window = window
    return True


def _why_closed(
    session: Session,
    row: CheckinDisplay,
    course: Course,
    day: CourseDay | None,
    now: datetime,
    admin_ids: Collection[int],
) -> Closed | None:
    """Why the display of ``day`` (None: no longer a day of the course) is to close now."""
    if course.status == CourseStatus.CANCELLED or day is None:
        return Closed.COURSE_CHANGED
    if now >= day.end_at:
        return Closed.DAY_OVER
    actor = Actor(telegram_id=row.telegram_id, bootstrap_admin=row.telegram_id in admin_ids)
    try:
        require_lead_or_admin(session, course, actor)
    except NotAllowed:
        return Closed.NOT_LEAD
    return None


def _closed(row: CheckinDisplay, course: Course, language: str, previous: int) -> Renewal:
    assert row.closed is not None
    return Renewal(
        id_of(row),
        row.chat_id,
        row.message_id,
        language,
        row.shown_window,
        previous,
        course,
        closed=Closed(row.closed),
    )


def _language(session: Session, row: CheckinDisplay) -> str:
    person = people.find_by_telegram_id(session, row.telegram_id)
    return person.language if person is not None else people.LANGUAGES[0]  # German


def give_back(session: Session, renewal: Renewal) -> None:
    """The edit could not be made now (Telegram did not answer): the next round tries again
    (a code the message shows is taken until the end of this window)."""
    session.execute(
        update(CheckinDisplay)
        .where(
            col(CheckinDisplay.id) == renewal.display_id,
            col(CheckinDisplay.shown_window) == renewal.window,
        )
        .values(shown_window=renewal.previous_window)
        .execution_options(synchronize_session=False)
    )


def forget(session: Session, display_id: int) -> None:
    """The message says it is closed, or it is gone (deleted in the chat, the bot blocked):
    it is edited no more."""
    session.execute(delete(CheckinDisplay).where(col(CheckinDisplay.id) == display_id))


def still_shown(session: Session, renewal: Renewal) -> bool:
    """Whether the display is still as this renewal claimed it: the same window, and closed
    if and only if the renewal closes it (checked right before the edit goes out)."""
    row = session.get(CheckinDisplay, renewal.display_id)
    if row is None or row.shown_window != renewal.window:
        return False
    return (row.closed is None) == (renewal.closed is None)
