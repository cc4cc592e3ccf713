"""Sign-up, cancellation, promotion, quotas and released seats: PRODUCT.md §4 in one place.

Every function that changes who holds a seat lives here and follows the same pattern:

1. take the course's lock (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already
   holds the database's single write lock), so that all seat changes of one course are serial;
2. read the seat state (quotas, confirmed and waiting per agency) inside that lock;
3. decide and write, then let `_promote` fill whatever is free, first come, first served.

The invariants (checked by `invariant_violations`, used by the tests):

* total confirmed ≤ sum of quotas;
* before the release date, confirmed of an agency ≤ its quota (after it, agencies may take
  the unused seats of others: ``via_release`` marks who did);
* one registration per person and course (a database constraint), so nobody is both
  confirmed and waiting;
* before the start, every confirmed or waiting place belongs to a person (deleting one's
  data gives the seat back; only after the start, and at retention, may it lose its person);
* while automatic promotion applies (published, more than 24 hours before the start), nobody
  waits for a seat that is free for them, and waiting lists are served in arrival order
  (per agency before the release date, across agencies after it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from kurse import audit, outbox
from kurse.audit import Actor
from kurse.courses import get_course, validate_seats
from kurse.errors import (
    CancellationClosed,
    CourseNotOpen,
    DomainError,
    InvalidInput,
    NotFound,
    NotRegistered,
    QuotaBelowConfirmed,
    RegistrationClosed,
)
from kurse.models import (
    Agency,
    Course,
    CourseStatus,
    Person,
    Quota,
    Registration,
    RegistrationStatus,
    course_table,
    person_table,
    quota_table,
    registration_table,
)

CONFIRMED = RegistrationStatus.CONFIRMED
WAITING = RegistrationStatus.WAITING
CANCELLED = RegistrationStatus.CANCELLED

# In the last day before the start a free seat goes to the lead, who knows who can still come.
MANUAL_WINDOW = timedelta(hours=24)

ExcessDecision = Literal["refuse", "demote_latest"]


@dataclass
class Seats:
    """The seat state of one course: quotas, confirmed and waiting counts per agency."""

    quotas: dict[int, int]
    confirmed: dict[int, int]
    waiting: dict[int, int]
    released: bool

    def add(self, agency_id: int, quota: int, confirmed: int, waiting: int) -> None:
        """Takes in one quota row."""
        self.quotas[agency_id] = quota
        if confirmed:
            self.confirmed[agency_id] = confirmed
        if waiting:
            self.waiting[agency_id] = waiting

    def total_free(self) -> int:
        """Seats not taken by anyone."""
        return sum(self.quotas.values()) - sum(self.confirmed.values())

    def free_for(self, agency_id: int) -> int:
        """Seats an officer of ``agency_id`` could take now."""
        total = self.total_free()
        if total <= 0:
            return 0
        if self.released:
            return total
        own = self.quotas.get(agency_id, 0) - self.confirmed.get(agency_id, 0)
        return max(0, min(own, total))

    def waiting_total(self) -> int:
        """Everyone on any waiting list."""
        return sum(self.waiting.values())

    def waiting_ahead_of_newcomer(self, agency_id: int) -> int:
        """How many wait in the queue a newcomer of ``agency_id`` joins."""
        return self.waiting_total() if self.released else self.waiting.get(agency_id, 0)

    def over_quota(self) -> dict[int, int]:
        """Per agency, confirmed beyond its own quota (non-zero only through released seats)."""
        return {a: max(0, n - self.quotas.get(a, 0)) for a, n in self.confirmed.items()}


@dataclass(frozen=True)
class Promotion:
    """A waiting officer who got a seat (to be told at once)."""

    registration_id: int
    person_id: int | None
    course_id: int


@dataclass(frozen=True)
class SignUpResult:
    """What a sign-up did: ``status`` confirmed or waiting, ``position`` if waiting."""

    registration_id: int
    status: RegistrationStatus
    position: int | None
    already: bool = False


@dataclass(frozen=True)
class CancelResult:
    """What a cancellation did, whom it promoted, and whether the lead must fill a seat."""

    registration_id: int
    previous_status: RegistrationStatus
    promoted: list[Promotion] = field(default_factory=list)
    free_seat_for_lead: bool = False


@dataclass(frozen=True)
class QuotaChange:
    """Quotas before and after (agency code → seats) and who moved."""

    before: dict[str, int]
    after: dict[str, int]
    promoted: list[Promotion] = field(default_factory=list)
    demoted: list[int] = field(default_factory=list)


# The sign-up path is the one hundreds of officers hit in the same second, so its statements
# are built once and run on the session's connection, for a whole group of sign-ups at once
# (see `sign_up_many`): one lock, one read of the persons, one of the seats, one insert.
_p, _r, _c, _q = person_table, registration_table, course_table, quota_table
_PERSONS_WITH_REGISTRATION = (
    select(
        _p.c.id.label("person_id"),
        _p.c.agency_id,
        _p.c.active,
        _r.c.id,
        _r.c.status,
        _r.c.agency_id.label("registration_agency_id"),
        _r.c.queue_seq,
    )
    .select_from(
        _p.outerjoin(_r, and_(_r.c.person_id == _p.c.id, _r.c.course_id == bindparam("course_id")))
    )
    .where(_p.c.id.in_(bindparam("person_ids", expanding=True)))
)
# Taking the next arrival numbers also takes the course's row lock (one round trip).
_TAKE_NUMBERS = (
    update(_c)
    .where(_c.c.id == bindparam("course_id"))
    .values(reg_seq=_c.c.reg_seq + bindparam("n"))
    .returning(
        _c.c.status, _c.c.registration_deadline, _c.c.release_at, _c.c.lead_id, _c.c.reg_seq
    )
)
# Before the course's lock, a sign-up takes a key-share lock on its persons' rows (PostgreSQL):
# a deletion of the same person (`privacy.delete_person`, which locks the person row first,
# then each course it cancels a seat in) waits for the sign-up to commit and then cancels
# the new seat, or the sign-up waits for the deletion and finds the person gone. Person
# before course in both, so the two never deadlock. SQLite's single write lock already
# makes them one after the other.
_LOCK_PERSONS = (
    select(_p.c.id)
    .where(_p.c.id.in_(bindparam("person_ids", expanding=True)))
    .order_by(_p.c.id)
    .with_for_update(read=True, key_share=True)
)
_SEAT_ROWS = select(_q.c.agency_id, _q.c.seats, _q.c.confirmed_count, _q.c.waiting_count).where(
    _q.c.course_id == bindparam("course_id")
)
_ADJUST_COUNTS = (
    update(_q)
    .where(_q.c.course_id == bindparam("c_id"), _q.c.agency_id == bindparam("a_id"))
    .values(
        confirmed_count=_q.c.confirmed_count + bindparam("dc"),
        waiting_count=_q.c.waiting_count + bindparam("dw"),
    )
)
_INSERT_REGISTRATIONS = insert(_r).returning(_r.c.id, sort_by_parameter_order=True)


def is_released(course_release_at: datetime | None, now: datetime) -> bool:
    """True once the release date has passed."""
    return course_release_at is not None and now >= course_release_at


def load_seats(session: Session, course_id: int, *, released: bool) -> Seats:
    """Reads the seat state of one course (one short query on its quota rows)."""
    seats = Seats({}, {}, {}, released)
    for agency_id, quota, confirmed, waiting in session.connection().execute(
        _SEAT_ROWS, {"course_id": course_id}
    ):
        seats.add(agency_id, quota, confirmed, waiting)
    return seats


def _adjust(
    session: Session, course_id: int, agency_id: int, *, confirmed: int = 0, waiting: int = 0
) -> None:
    """Moves the counters of an agency's quota row (created with 0 seats if it has none)."""
    if not confirmed and not waiting:
        return
    conn = session.connection()
    params = {"c_id": course_id, "a_id": agency_id, "dc": confirmed, "dw": waiting}
    if conn.execute(_ADJUST_COUNTS, params).rowcount == 0:
        # An agency without seats of its own (released seats, or added later) gets a row.
        conn.execute(
            insert(_q).values(
                course_id=course_id,
                agency_id=agency_id,
                seats=0,
                confirmed_count=confirmed,
                waiting_count=waiting,
            )
        )


def seats_for_courses(
    session: Session, courses: Sequence[Course], now: datetime
) -> dict[int, Seats]:
    """Seat states of several courses at once (for lists: one query for the whole page)."""
    result: dict[int, Seats] = {
        c.id: Seats({}, {}, {}, is_released(c.release_at, now)) for c in courses if c.id
    }
    if not result:
        return result
    rows = session.execute(
        select(
            Quota.course_id,
            Quota.agency_id,
            Quota.seats,
            Quota.confirmed_count,
            Quota.waiting_count,
        ).where(Quota.course_id.in_(list(result)))
    )
    for course_id, agency_id, quota, confirmed, waiting in rows:
        result[course_id].add(agency_id, quota, confirmed, waiting)
    return result


def sign_up(session: Session, course_id: int, person_id: int, now: datetime) -> SignUpResult:
    """Signs the person up: a seat if one is free for their agency, else the waiting list.

    A second sign-up for the same course changes nothing and says so (``already=True``).
    """
    result = sign_up_many(session, course_id, [(person_id, now)])[0]
    if isinstance(result, DomainError):
        raise result
    return result


def sign_up_many(
    session: Session, course_id: int, requests: Sequence[tuple[int, datetime]]
) -> list[SignUpResult | DomainError]:
    """Signs up several persons for one course, in the order given: ``requests`` are
    ``(person_id, now)``, each with the moment it was made. The same rules as one sign-up
    after another, in one lock and a few statements (the burst path, via
    `Database.run_grouped`). A refused request gets its error in its place and writes nothing.
    """
    conn = session.connection()
    person_ids = sorted({pid for pid, _ in requests})
    if conn.dialect.name != "sqlite":
        conn.execute(_LOCK_PERSONS, {"person_ids": person_ids})
    locked = conn.execute(_TAKE_NUMBERS, {"course_id": course_id, "n": len(requests)}).first()
    if locked is None:
        return [NotFound(kind="course") for _ in requests]
    if locked.status != CourseStatus.PUBLISHED:
        return [CourseNotOpen(status=locked.status) for _ in requests]
    # Read only under the lock: a concurrent click of the same person may have just written.
    persons = {
        row.person_id: row
        for row in conn.execute(
            _PERSONS_WITH_REGISTRATION,
            {"course_id": course_id, "person_ids": person_ids},
        )
    }
    seats = load_seats(session, course_id, released=False)
    before = Seats(dict(seats.quotas), dict(seats.confirmed), dict(seats.waiting), False)
    first_number = locked.reg_seq - len(requests) + 1
    results: list[SignUpResult | DomainError] = []
    done: dict[int, int] = {}  # person id -> index of what this call did for them
    repeats: list[tuple[int, int]] = []  # (index, index of the person's first request)
    new_rows: list[dict[str, object]] = []
    new_indexes: list[int] = []
    for number, (person_id, now) in enumerate(requests, start=first_number):
        seats.released = is_released(locked.release_at, now)
        person = persons.get(person_id)
        if person is None or not person.active:
            results.append(NotFound(kind="person"))
            continue
        if person_id in done:  # the same person twice in one group: answered as the first
            repeats.append((len(results), done[person_id]))
            results.append(NotFound(kind="person"))  # replaced below
            continue
        if person.id is not None and person.status != CANCELLED:
            position = None
            if person.status == WAITING:
                position = _position(
                    session,
                    course_id,
                    person.registration_agency_id,
                    person.queue_seq,
                    seats.released,
                )
            status = RegistrationStatus(person.status)
            results.append(SignUpResult(person.id, status, position, already=True))
            continue
        if now >= locked.registration_deadline:
            results.append(RegistrationClosed(lead_id=locked.lead_id))
            continue
        result, values = _take_place(seats, person.agency_id, number, now)
        if person.id is None:
            new_rows.append({"course_id": course_id, "person_id": person_id, **values})
            new_indexes.append(len(results))
        else:  # signing up again after cancelling: back of the queue, same row
            result = replace(result, registration_id=person.id)
            conn.execute(update(_r).where(_r.c.id == person.id).values(**values))
        done[person_id] = len(results)
        results.append(result)
    if new_rows:
        ids = conn.execute(_INSERT_REGISTRATIONS, new_rows).scalars().all()
        for index, registration_id in zip(new_indexes, ids, strict=True):
            inserted = results[index]
            assert isinstance(inserted, SignUpResult)
            results[index] = replace(inserted, registration_id=registration_id)
    for index, first in repeats:
        earlier = results[first]
        assert isinstance(earlier, SignUpResult), "only a place taken is remembered in done"
        results[index] = replace(earlier, already=True)
    _write_counts(session, course_id, seats, before)
    return results


def _take_place(
    seats: Seats, agency_id: int, number: int, now: datetime
) -> tuple[SignUpResult, dict[str, object]]:
    """Decides one newcomer's place, counts it in ``seats`` and returns the row's values."""
    # Nobody overtakes those already waiting for the same seats.
    gets_seat = seats.free_for(agency_id) > 0 and seats.waiting_ahead_of_newcomer(agency_id) == 0
    via_release = gets_seat and seats.confirmed.get(agency_id, 0) >= seats.quotas.get(agency_id, 0)
    position = None if gets_seat else seats.waiting_ahead_of_newcomer(agency_id) + 1
    counts = seats.confirmed if gets_seat else seats.waiting
    counts[agency_id] = counts.get(agency_id, 0) + 1
    seats.quotas.setdefault(agency_id, 0)
    status = CONFIRMED if gets_seat else WAITING
    values: dict[str, object] = {
        "status": status,
        "agency_id": agency_id,
        "queue_seq": number,
        "via_release": via_release,
        "created_at": now,
        "confirmed_at": now if gets_seat else None,
        "cancelled_at": None,
    }
    return SignUpResult(0, status, position), values


def _write_counts(session: Session, course_id: int, after: Seats, before: Seats) -> None:
    """Moves the quota rows' counters from ``before`` to ``after`` (one update per agency)."""
    for agency_id in after.quotas:
        _adjust(
            session,
            course_id,
            agency_id,
            confirmed=after.confirmed.get(agency_id, 0) - before.confirmed.get(agency_id, 0),
            waiting=after.waiting.get(agency_id, 0) - before.waiting.get(agency_id, 0),
        )


def cancel(session: Session, registration_id: int, person_id: int, now: datetime) -> CancelResult:
    """Cancels the person's own registration and promotes whoever may take the seat.

    Someone else's registration id is reported as not found, never touched.
    """
    registration = session.scalar(
        select(Registration).where(
            Registration.id == registration_id, Registration.person_id == person_id
        )
    )
    if registration is None:
        raise NotFound(kind="registration")
    course = get_course(session, registration.course_id, lock=True)
    session.refresh(registration)  # re-read under the lock
    previous = RegistrationStatus(registration.status)
    if previous == CANCELLED:
        raise NotRegistered()
    if course.status != CourseStatus.PUBLISHED:
        raise CourseNotOpen(status=course.status)
    if previous == CONFIRMED and now >= course.cancellation_deadline:
        raise CancellationClosed(lead_id=course.lead_id)
    if previous == WAITING and now >= course.start_at:
        raise CancellationClosed(lead_id=course.lead_id)
    promoted, free_for_lead = _free_seat(session, registration, course, now)
    return CancelResult(registration.id, previous, promoted, free_for_lead)


def _free_seat(
    session: Session, registration: Registration, course: Course, now: datetime
) -> tuple[list[Promotion], bool]:
    """Marks an active registration cancelled (under the course lock), moves the counters
    and promotes whoever may take the seat."""
    confirmed = registration.status == CONFIRMED
    registration.status, registration.cancelled_at = CANCELLED, now
    registration.confirmed_at, registration.via_release = None, False
    session.flush()
    _adjust(
        session,
        course.id,
        registration.agency_id,
        confirmed=-int(confirmed),
        waiting=-int(not confirmed),
    )
    return _promote(session, course, now)


def cancel_for_course(
    session: Session, course_id: int, person_id: int, now: datetime
) -> CancelResult:
    """Cancels the person's registration for ``course_id`` (from a course page's button)."""
    registration_id = session.scalar(
        select(Registration.id).where(
            Registration.course_id == course_id,
            Registration.person_id == person_id,
            Registration.status != CANCELLED,
        )
    )
    if registration_id is None:
        raise NotRegistered()
    return cancel(session, registration_id, person_id, now)


def withdraw(session: Session, registration_id: int, now: datetime) -> list[Promotion]:
    """Cancels a registration whatever the deadlines (the person deletes their data); the
    seat goes to the next in line as with any cancellation."""
    registration = session.get(Registration, registration_id)
    assert registration is not None
    course = get_course(session, registration.course_id, lock=True)
    session.refresh(registration)  # re-read under the lock
    if registration.status == CANCELLED:
        return []
    promoted, _ = _free_seat(session, registration, course, now)
    return promoted


def fill_free_seats(session: Session, course: Course, now: datetime) -> list[Promotion]:
    """After a course's dates changed (its lock held): a course moved out of its last day, or
    a release date moved into the past, fills its free seats from the waiting lists now."""
    promoted, _ = _promote(session, course, now)
    return promoted


def release_seats(session: Session, course_id: int, now: datetime) -> list[Promotion]:
    """At the release date: waiting officers of all agencies take unused seats, in order."""
    course = get_course(session, course_id, lock=True)
    promoted, _ = _promote(session, course, now)
    return promoted


def set_quotas(
    session: Session,
    course_id: int,
    seats: Mapping[str, int],
    now: datetime,
    *,
    on_excess: ExcessDecision = "refuse",
    actor: Actor | None = None,
) -> QuotaChange:
    """Sets the seats of the named agencies (others keep theirs) and promotes at once.

    If fewer seats than confirmed officers would remain, nothing changes and
    `QuotaBelowConfirmed` says how many are over, unless the admin decided
    ``on_excess="demote_latest"``: then the latest confirmed go back to the waiting list
    (at the front of it, as they came earlier than those waiting).
    """
    course = get_course(session, course_id, lock=True)
    if course.status != CourseStatus.PUBLISHED:
        raise CourseNotOpen(status=course.status)
    if now >= course.start_at:
        raise InvalidInput(field="seats", reason="course_started")
    new = validate_seats(session, seats)
    released = is_released(course.release_at, now)
    state = load_seats(session, course_id, released=released)
    codes = _agency_codes(session, set(new) | set(state.quotas))
    after = {**state.quotas, **new}
    if sum(after.values()) < 1:
        raise InvalidInput(field="seats", reason="no_seats")
    over = _excess(state, after)
    if over and on_excess != "demote_latest":
        raise QuotaBelowConfirmed(over={codes[a] if a else "*": n for a, n in over.items()})
    demoted = [
        pid for a, n in over.items() for pid in _demote_latest(session, course_id, a, n, now)
    ]
    for agency_id, n in new.items():
        quota = session.get(Quota, (course_id, agency_id))
        if quota is None:
            session.add(Quota(course_id=course_id, agency_id=agency_id, seats=n))
        else:
            quota.seats = n
    session.flush()
    promoted, _ = _promote(session, course, now)
    change = QuotaChange(
        before={codes[a]: n for a, n in state.quotas.items()},
        after={codes[a]: n for a, n in after.items()},
        promoted=promoted,
        demoted=demoted,
    )
    audit.record(
        session,
        actor=actor,
        action="quotas_set",
        now=now,
        course_id=course_id,
        before={"seats": change.before},
        # How many moved, not who: the log keeps no reference to a person (PRODUCT.md §7).
        after={"seats": change.after, "demoted": len(demoted), "promoted": len(promoted)},
    )
    return change


def _excess(state: Seats, after: Mapping[int, int]) -> dict[int, int]:
    """Confirmed beyond the new quotas: per agency before release, in total (key 0) after it."""
    if state.released:
        over_total = sum(state.confirmed.values()) - sum(after.values())
        return {0: over_total} if over_total > 0 else {}
    over = {a: state.confirmed.get(a, 0) - n for a, n in after.items()}
    return {a: n for a, n in over.items() if n > 0}


def _demote_latest(
    session: Session, course_id: int, agency_id: int, n: int, now: datetime
) -> list[int]:
    query = select(Registration).where(
        Registration.course_id == course_id, Registration.status == CONFIRMED
    )
    if agency_id:
        query = query.where(Registration.agency_id == agency_id)
    latest = session.scalars(query.order_by(Registration.queue_seq.desc()).limit(n))
    demoted: list[tuple[int | None, int | None]] = []
    moved: dict[int, int] = defaultdict(int)
    for registration in latest:
        registration.status = WAITING
        registration.confirmed_at = None
        registration.via_release = False
        demoted.append((registration.id, registration.person_id))
        moved[registration.agency_id] += 1
    session.flush()
    for moved_agency, count in moved.items():
        _adjust(session, course_id, moved_agency, confirmed=-count, waiting=count)
    outbox.seat_changes(session, "demoted", course_id, demoted, now)
    return [pid for _rid, pid in demoted if pid is not None]


def _agency_codes(session: Session, ids: Iterable[int]) -> dict[int, str]:
    query = select(Agency.id, Agency.code).where(Agency.id.in_(list(ids)))
    return dict(session.execute(query).all())


def promotion_allowed(course: Course, now: datetime) -> bool:
    """Automatic promotion applies to published courses until 24 hours before the start."""
    return course.status == CourseStatus.PUBLISHED and now < course.start_at - MANUAL_WINDOW


def _promote(session: Session, course: Course, now: datetime) -> tuple[list[Promotion], bool]:
    """Fills free seats from the waiting lists, first come, first served.

    Must run under the course's lock. Returns the promotions and whether a free seat
    waits for the lead to fill (inside the last 24 hours before the start).
    """
    released = is_released(course.release_at, now)
    state = load_seats(session, course.id, released=released)
    if not state.waiting_total() or state.total_free() <= 0:
        return [], False
    if not promotion_allowed(course, now):
        in_window = course.status == CourseStatus.PUBLISHED and now < course.start_at
        return [], in_window
    promoted: list[Registration] = []
    pools: list[int | None] = [None] if released else list(state.quotas)
    for agency_id in pools:
        free = state.total_free() if agency_id is None else state.free_for(agency_id)
        if free <= 0:
            continue
        query = select(Registration).where(
            Registration.course_id == course.id, Registration.status == WAITING
        )
        if agency_id is not None:
            query = query.where(Registration.agency_id == agency_id)
        for registration in session.scalars(query.order_by(Registration.queue_seq).limit(free)):
            own_full = state.confirmed.get(registration.agency_id, 0) >= state.quotas.get(
                registration.agency_id, 0
            )
            registration.status = CONFIRMED
            registration.confirmed_at = now
            registration.via_release = own_full
            state.confirmed[registration.agency_id] = (
                state.confirmed.get(registration.agency_id, 0) + 1
            )
            promoted.append(registration)
    session.flush()
    moved: dict[int, int] = defaultdict(int)
    for registration in promoted:
        moved[registration.agency_id] += 1
    for moved_agency, count in moved.items():
        _adjust(session, course.id, moved_agency, confirmed=count, waiting=-count)
    # Everyone moved up is told, whichever way the seat came free (kurse.outbox).
    outbox.seat_changes(
        session, "promoted", course.id, [(r.id, r.person_id) for r in promoted], now
    )
    return [Promotion(r.id, r.person_id, r.course_id) for r in promoted], False


def position_of(session: Session, registration: Registration, released: bool) -> int:
    """The waiting position of a waiting registration (per agency before the release date)."""
    return _position(
        session, registration.course_id, registration.agency_id, registration.queue_seq, released
    )


def _position(
    session: Session, course_id: int, agency_id: int, queue_seq: int, released: bool
) -> int:
    conditions = [
        Registration.course_id == course_id,
        Registration.status == WAITING,
        Registration.queue_seq <= queue_seq,
    ]
    if not released:
        conditions.append(Registration.agency_id == agency_id)
    return (
        session.scalar(select(func.count()).select_from(Registration).where(and_(*conditions)))
        or 0
    )


@dataclass(frozen=True)
class MyRegistration:
    """One of a person's registrations, with the waiting position if waiting."""

    registration_id: int
    course: Course
    status: RegistrationStatus
    position: int | None


def person_registrations(session: Session, person_id: int, now: datetime) -> list[MyRegistration]:
    """The person's confirmed and waiting registrations of courses not yet ended, soonest first."""
    rows = session.execute(
        select(Registration, Course)
        .join(Course, Course.id == Registration.course_id)
        .where(
            Registration.person_id == person_id,
            Registration.status.in_([CONFIRMED, WAITING]),
            Course.end_at > now,
            Course.status != CourseStatus.FINISHED,
        )
        .order_by(Course.start_at, Course.id)
    )
    result = []
    for registration, course in rows:
        position = None
        if registration.status == WAITING:
            position = _position(
                session,
                course.id,
                registration.agency_id,
                registration.queue_seq,
                is_released(course.release_at, now),
            )
        result.append(
            MyRegistration(
                registration.id, course, RegistrationStatus(registration.status), position
            )
        )
    return result


@dataclass(frozen=True)
class Participant:
    """One line of a participant list."""

    registration_id: int
    person_id: int | None
    name: str | None
    rank: str | None
    agency_code: str
    status: RegistrationStatus
    position: int | None
    signed_up_at: datetime
    via_release: bool


@dataclass(frozen=True)
class ParticipantList:
    """Confirmed participants grouped by agency code, then the waiting list in order; the
    full names of the course's agencies (those with seats or registrations) by code."""

    course: Course
    confirmed: dict[str, list[Participant]]
    waiting: list[Participant]
    agency_names: dict[str, str]


def participants(session: Session, course_id: int, now: datetime) -> ParticipantList:
    """The participant list of a course (for its lead and admins)."""
    course = get_course(session, course_id)
    released = is_released(course.release_at, now)
    rows = session.execute(
        select(Registration, Person.name, Person.rank, Agency.code, Agency.name)
        .join(Agency, Agency.id == Registration.agency_id)
        .outerjoin(Person, Person.id == Registration.person_id)
        .where(
            Registration.course_id == course_id,
            Registration.status.in_([CONFIRMED, WAITING]),
        )
        .order_by(Registration.queue_seq)
    )
    confirmed: dict[str, list[Participant]] = {}
    waiting: list[Participant] = []
    agency_names: dict[str, str] = {
        code: name
        for code, name in session.execute(
            select(Agency.code, Agency.name)
            .join(Quota, Quota.agency_id == Agency.id)
            .where(Quota.course_id == course_id, Quota.seats > 0)
        )
    }
    counters: dict[str | None, int] = defaultdict(int)
    for registration, name, rank, code, agency_name in rows:
        agency_names[code] = agency_name
        position = None
        if registration.status == WAITING:
            key = None if released else code
            counters[key] += 1
            position = counters[key]
        item = Participant(
            registration.id,
            registration.person_id,
            name,
            rank,
            code,
            RegistrationStatus(registration.status),
            position,
            registration.created_at,
            registration.via_release,
        )
        if item.status == CONFIRMED:
            confirmed.setdefault(code, []).append(item)
        else:
            waiting.append(item)
    return ParticipantList(
        course, dict(sorted(confirmed.items())), waiting, dict(sorted(agency_names.items()))
    )


def invariant_violations(session: Session, course_id: int, now: datetime) -> list[str]:
    """Every broken rule of PRODUCT.md §4 for one course, in words (empty when all hold)."""
    course = get_course(session, course_id)
    released = is_released(course.release_at, now)
    state = load_seats(session, course_id, released=released)
    problems = []
    counted: dict[tuple[str, int], int] = {
        (status, agency_id): n
        for agency_id, status, n in session.execute(
            select(Registration.agency_id, Registration.status, func.count())
            .where(
                Registration.course_id == course_id,
                Registration.status.in_([CONFIRMED, WAITING]),
            )
            .group_by(Registration.agency_id, Registration.status)
        )
    }
    kept = {(CONFIRMED, a): n for a, n in state.confirmed.items()} | {
        (WAITING, a): n for a, n in state.waiting.items()
    }
    if counted != kept:
        problems.append(f"quota counters {kept} differ from the registrations {counted}")
    if now < course.start_at:
        # Deleting one's data gives back every seat of a course not yet started; only after
        # the start (statistics) and at retention, after the end, may a seat lose its person.
        nobody = session.scalar(
            select(func.count())
            .select_from(Registration)
            .where(
                Registration.course_id == course_id,
                Registration.status.in_([CONFIRMED, WAITING]),
                Registration.person_id.is_(None),
            )
        )
        if nobody:
            problems.append(f"{nobody} confirmed or waiting registrations held by no person")
    if state.total_free() < 0:
        problems.append(f"total confirmed exceeds seats by {-state.total_free()}")
    if not released:
        for agency_id, n in state.over_quota().items():
            if n:
                problems.append(f"agency {agency_id} over its quota by {n} before release")
    if promotion_allowed(course, now):
        pools: list[int | None] = [None] if released else list(state.quotas)
        for pool in pools:
            free = state.total_free() if pool is None else state.free_for(pool)
            waiting = state.waiting_total() if pool is None else state.waiting.get(pool, 0)
            if free > 0 and waiting > 0:
                problems.append(f"{waiting} waiting while {free} seats are free (pool {pool})")
    return problems
