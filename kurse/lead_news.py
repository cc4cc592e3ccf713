"""News for a course's lead of each change of their list, written with the change itself.

Every sign-up, cancellation, move up (whatever freed the seat: a cancellation, the release
date, a raised quota, a postponed course, a deleted profile), move back to the waiting list and
seat freed in the last day is written to an ``outbox`` row for the lead in the transaction
that makes the change (one row for the changes made together, such as a burst of sign-ups).
So the lead hears of it after a restart, once when two instances run, and with the same
retries, rate limits and re-checks as every other message (`kurse.outbox`).

A burst reaches the lead as few messages: news is due at once, but while the lead got news
less than a window ago (a minute; `kurse.outbox.claim_due_messages`) it waits for the end of
the window, and then the rows of one lead and course go out as one message. The officer's
name is read when the message is written, so a profile deleted meanwhile is not named.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from secrets import token_hex

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import outbox
from kurse.models import Agency, Outbox, Person, Registration
from kurse.outbox import MessageKind

MAX_LINES = 50  # per message; the rest is counted ("and 12 more")


class News(StrEnum):
    """What happened to one registration (``FREE_SEAT``: to a seat of the course)."""

    SIGNED_UP = "signed_up"
    WAITING = "waiting"
    CANCELLED = "cancelled"
    LEFT_WAITING = "left_waiting"
    MOVED_UP = "moved_up"
    MOVED_DOWN = "moved_down"
    FREE_SEAT = "free_seat"  # in the last day before the start
    FREE_SEAT_NO_TIME = "free_seat_no_time"  # too late for an offer or an approval to run
    REQUESTED = "requested"  # signed up or moved up, waits for their agency's approval
    APPROVED = "approved"
    REFUSED = "refused"
    APPROVAL_EXPIRED = "approval_expired"
    OFFERED = "offered"  # a freed seat offered to the first on the waiting list
    ACCEPTED = "accepted"
    DECLINED = "declined"
    OFFER_EXPIRED = "offer_expired"


@dataclass(frozen=True)
class NewsLine:
    """One change as the lead reads it; ``name`` is None for a deleted profile."""

    news: News
    name: str | None = None
    agency: str = ""


def tell_lead(
    session: Session,
    course_id: int,
    lead_id: int | None,
    changes: Iterable[tuple[int | None, News]],
    now: datetime,
) -> None:
    """Queues the news of ``changes`` (``(registration id, news)``, in the order they
    happened) for the course's lead, as one row (nothing without a lead or changes): a burst
    of sign-ups decided together writes one row, not one per sign-up."""
    news = [[registration_id, str(what)] for registration_id, what in changes]
    if lead_id is None or not news:
        return
    first, what = news[0]
    about = f"registration:{first}" if first else f"course:{course_id}"
    row = Outbox(
        key=f"{MessageKind.LEAD_NEWS}:{what}:{about}:{outbox.occasion(now)}:{token_hex(4)}",
        kind=MessageKind.LEAD_NEWS,
        person_id=lead_id,
        course_id=course_id,
        registration_id=None,  # the news outlives the rows it is about
        detail={"news": news},
        due_at=now,
    )
    # News is written once, by the change itself; the key only has to be new (the same
    # registration may be cancelled, signed up and cancelled again within one clock tick),
    # so it is added without `outbox.add`'s look-up of taken keys: one statement in the
    # burst path.
    session.add(row)


FREE_SEATS = (News.FREE_SEAT, News.FREE_SEAT_NO_TIME)  # for the lead to fill, not news only


def hand_over(session: Session, course_id: int, lead_id: int | None, now: datetime) -> None:
    """The course has a new lead (``lead_id``): a free seat left for the lead to fill whose
    news the old lead has not got yet (it waits for the end of their minute) is told to the
    new lead instead. The rest of the old lead's news is about a list that is no longer
    theirs, and is not sent (`kurse.outbox`); the new lead hears what follows."""
    waiting = session.scalars(
        select(col(Outbox.detail)).where(
            col(Outbox.kind) == MessageKind.LEAD_NEWS,
            col(Outbox.course_id) == course_id,
            col(Outbox.state) == outbox.PENDING,
            col(Outbox.person_id) != lead_id,
        )
    )
    told = {str(what) for detail in waiting for _rid, what in (detail or {}).get("news", [])}
    tell_lead(session, course_id, lead_id, [(None, n) for n in FREE_SEATS if n in told], now)


def lines(session: Session, news: Sequence[Sequence[object]]) -> list[NewsLine]:
    """The news of a merged row (``[[registration id, news], …]``) as lines to read, with
    names and agencies as they are now."""
    ids = [int(str(rid)) for rid, _ in news if rid is not None]
    found = {
        rid: (name, code)
        for rid, name, code in session.execute(
            select(col(Registration.id), col(Person.name), col(Agency.code))
            .join(Agency, col(Agency.id) == col(Registration.agency_id))
            .outerjoin(Person, col(Person.id) == col(Registration.person_id))
            .where(col(Registration.id).in_(ids))
        )
    }
    read = []
    for rid, what in news:
        if rid is None:
            read.append(NewsLine(News(str(what))))
            continue
        name, code = found.get(int(str(rid)), (None, ""))
        read.append(NewsLine(News(str(what)), name, code))
    return read
