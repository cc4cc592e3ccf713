"""Random sequences of sign-ups, cancellations, deletions, quota changes, approvals and
refusals, offers accepted and declined, and the clock moving through a course's life (held
seats expiring, release date, last day, deadlines, start), compared step by step with a small
reference model of PRODUCT.md §4 and §10 (hypothesis, stateful).

Each example draws which agencies need approval (none, one, both) and whether the course fills
freed seats automatically or by offers, so the same sequences run under every combination."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sqlalchemy import select

from kurse import agencies, approval, approvers, courses, offers, people, tasks
from kurse import registrations as regs
from kurse.actors import Actor
from kurse.clock import SettableClock
from kurse.db import Database
from kurse.errors import (
    AlreadyDecided,
    ApprovalTooLate,
    CancellationClosed,
    InvalidInput,
    NotRegistered,
    OfferEnded,
    QuotaBelowConfirmed,
    RegistrationClosed,
)
from kurse.invariants import invariant_violations
from kurse.models import Agency, Registration
from kurse.quotas import set_quotas
from tests.builders import draft
from tests.conftest import T0

CODES = ("PP-OFR", "PD-Z")
PEOPLE = 6  # per agency: few people and seats, so queues form often
START = T0 + timedelta(days=30)
RELEASE = T0 + timedelta(days=10)
DEADLINE = START - timedelta(hours=12)  # registration and cancellation, inside the last day
# The course's life in stages; the clock passes each at a step drawn for the example.
STAGES = {
    "before_release": T0,
    "released": RELEASE,
    "last_day": START - timedelta(hours=20),  # no automatic promotion; sign-ups still open
    "closed": DEADLINE,  # from the deadlines on: only leaving a waiting list
    "started": START,  # from the start on: nothing changes any more
}
ORDER = list(STAGES)
STEPS = 40
APPROVAL = timedelta(hours=72)  # KURSBOT_APPROVAL_HOURS's default
MIN_HOLD = timedelta(hours=2)
OFFER_HOURS = timedelta(hours=48)


@dataclass
class Reg:
    agency: str
    status: str  # confirmed, waiting, requested, offered, cancelled
    seq: int
    via_release: bool = False
    until: object = None  # a held seat's deadline
    hold: int = 0  # when the hold began, in order (its expiry's place among the tasks)


HOLDING = ("confirmed", "requested", "offered")


@dataclass
class Model:
    """The rules, written as plainly as possible."""

    quotas: dict[str, int]
    approval: tuple[str, ...] = ()  # agencies whose officers need approval
    offers: bool = False  # freed seats offered for 48 hours instead of moved up
    regs: dict[int, Reg] = field(default_factory=dict)
    seq: int = 0
    holds: int = 0
    stage: str = "before_release"

    @property
    def now(self):
        return STAGES[self.stage]

    @property
    def released(self) -> bool:
        return self.stage != "before_release"

    @property
    def promoting(self) -> bool:
        """Automatic promotion: until 24 hours before the start."""
        return self.stage in ("before_release", "released")

    @property
    def registration_open(self) -> bool:
        return self.stage in ("before_release", "released", "last_day")

    def count(self, status: str, agency: str | None = None) -> int:
        """How many are in ``status`` ("taken": holding a seat, confirmed or held)."""
        states = HOLDING if status == "taken" else (status,)
        return sum(r.status in states and agency in (None, r.agency) for r in self.regs.values())

    def free_for(self, agency: str) -> int:
        total = sum(self.quotas.values()) - self.count("taken")
        own = self.quotas[agency] - self.count("taken", agency)
        return max(0, total if self.released else min(own, total))

    def queue(self, agency: str | None) -> list[int]:
        pool = None if self.released else agency
        waiting = [p for p, r in self.regs.items() if r.status == "waiting"]
        return sorted(
            (p for p in waiting if pool in (None, self.regs[p].agency)),
            key=lambda p: self.regs[p].seq,
        )

    def active(self, person: int) -> Reg | None:
        reg = self.regs.get(person)
        return reg if reg is not None and reg.status != "cancelled" else None

    def take(self, person: int, status: str, until=None) -> None:
        """The person takes a seat: confirmed, or held (requested, offered) until ``until``."""
        reg = self.regs[person]
        reg.via_release = self.count("taken", reg.agency) >= self.quotas[reg.agency]
        reg.status, reg.until = status, until
        if until is not None:
            self.holds += 1
            reg.hold = self.holds

    def end(self, person: int, status: str) -> None:
        reg = self.regs[person]
        reg.status, reg.until = status, None
        if status != "confirmed":
            reg.via_release = False

    def approval_until(self):
        """An approval's deadline from now: 72 hours, never past the registration deadline;
        None when less than two hours are left before it."""
        if DEADLINE - self.now < MIN_HOLD:
            return None
        return min(self.now + APPROVAL, DEADLINE)

    def offer_until(self, agency: str):
        """48 hours, never past 12 hours before the start nor the registration deadline (with
        approval after it: two hours before that deadline); None with less than two hours
        left before that limit."""
        limit = min(START - timedelta(hours=12), DEADLINE)
        if agency in self.approval:
            limit = min(limit, DEADLINE - MIN_HOLD)
        if limit - self.now < MIN_HOLD:
            return None
        return min(self.now + OFFER_HOURS, limit)

    def sign_up(self, person: int, agency: str) -> str:
        """The new status, "closed" after the registration deadline, or "too_late" when the
        agency's approval would not have two hours (nothing is written)."""
        if self.active(person):
            return self.regs[person].status
        if not self.registration_open:
            return "closed"
        free = self.free_for(agency) > 0 and not self.queue(agency)  # nobody overtakes
        until = None
        if free and agency in self.approval:
            until = self.approval_until()
            if until is None:
                return "too_late"
        self.seq += 1
        self.regs[person] = Reg(agency, "waiting", self.seq)
        if free:
            self.take(person, "requested" if until else "confirmed", until)
        return self.regs[person].status

    def promote(self) -> list[int]:
        if not self.promoting:
            return []
        promoted = []
        for agency in [None] if self.released else list(CODES):
            for person in self.queue(agency):
                own = self.regs[person].agency
                if self.free_for(own) <= 0:
                    continue
                if self.offers:
                    until = self.offer_until(own)
                    status = "offered"
                elif own in self.approval:
                    until, status = self.approval_until(), "requested"
                else:
                    until, status = None, "confirmed"
                if status != "confirmed" and until is None:
                    break  # nobody behind overtakes; the lead fills the seat
                self.take(person, status, until)
                promoted.append(person)
        return promoted

    def seat_for_lead(self) -> bool:
        """A seat is free and someone waits, but it is the lead's to fill (the last day)."""
        total_free = sum(self.quotas.values()) - self.count("taken")
        return self.stage in ("last_day", "closed") and total_free > 0 and bool(self.queue(None))

    def may_cancel(self, person: int) -> bool:
        """Confirmed until the cancellation deadline; leaving a waiting list, withdrawing a
        request or declining an offer until the start."""
        if self.regs[person].status == "confirmed":
            return self.registration_open  # the deadlines are the same moment here
        return self.stage != "started"

    def cancel(self, person: int) -> list[int]:
        self.end(person, "cancelled")
        return self.promote()

    def decide(self, person: int, approve: bool) -> list[int]:
        if approve:
            self.end(person, "confirmed")
            return []
        return self.cancel(person)

    def accept(self, person: int) -> str:
        """The offered seat taken: confirmed, or requested where approval applies."""
        reg = self.regs[person]
        if reg.agency in self.approval:
            until = self.approval_until()
            assert until is not None, "the offer left room for the approval"
            reg.status, reg.until = "requested", until
            self.holds += 1
            reg.hold = self.holds
        else:
            self.end(person, "confirmed")
        return reg.status

    def due_holds(self) -> list[int]:
        """The held seats whose deadline has come, in the order their expiries run."""
        due = [p for p, r in self.regs.items() if r.until is not None and r.until <= self.now]
        return sorted(due, key=lambda p: (self.regs[p].until, self.regs[p].hold))

    def over(self, new: dict[str, int]) -> dict[str, int]:
        quotas = {**self.quotas, **new}
        if self.released:
            n = self.count("taken") - sum(quotas.values())
            return {"*": n} if n > 0 else {}
        over = {a: self.count("taken", a) - quotas[a] for a in CODES}
        return {a: n for a, n in over.items() if n > 0}

    def set_quotas(self, new: dict[str, int]) -> None:
        over = self.over(new)
        for key, n in over.items():
            taken = [
                p for p, r in self.regs.items() if r.status in HOLDING and key in ("*", r.agency)
            ]
            for person in sorted(taken, key=lambda p: self.regs[p].seq)[-n:]:
                self.end(person, "waiting")
        self.quotas.update(new)
        self.promote()

    def position(self, person: int) -> int | None:
        reg = self.regs[person]
        return self.queue(reg.agency).index(person) + 1 if reg.status == "waiting" else None


def _withdraw(session, course_id: int, person_id: int, now) -> list[int | None]:
    """What deleting the person's data does to their registration of a course not started."""
    registration_id = session.scalar(
        select(Registration.id).where(
            Registration.course_id == course_id,
            Registration.person_id == person_id,
            Registration.status != "cancelled",
        )
    )
    return [p.person_id for p in regs.withdraw(session, registration_id, now)]


class SeatMachine(RuleBasedStateMachine):
    """Drives the real services and the model side by side.

    The clock is not a rule of its own (hypothesis switches whole rules off in some examples,
    and then no example would reach the last day): each example draws at which step it passes
    each stage, and every rule first moves the clock on when that step has come.
    """

    new_database: staticmethod

    @initialize(
        seats=st.tuples(st.integers(0, 2), st.integers(1, 3)),
        # steps spent before the release, after it, in the last day and after the deadlines
        stays=st.tuples(
            st.integers(1, 8), st.integers(0, 6), st.integers(6, 16), st.integers(0, 6)
        ),
        # who signs up first, so that queues have formed before the last day in most examples
        early=st.lists(st.integers(0, 2 * PEOPLE - 1), min_size=PEOPLE, max_size=3 * PEOPLE),
        approval=st.sampled_from([(), ("PD-Z",), CODES]),
        by_offer=st.booleans(),
    )
    def setup(self, seats, stays, early, approval, by_offer):
        self.db: Database = self.new_database()
        self.clock = SettableClock(T0)
        self.step = 0
        self.moves_at = [sum(stays[: i + 1]) for i in range(len(stays))]
        quotas = dict(zip(CODES, seats, strict=True))
        with self.db.transaction() as session:
            agencies.seed_agencies(session, T0)
            found = {a.code: a for a in agencies.list_agencies(session)}
            course = courses.create_course(
                session,
                draft(
                    T0,
                    quotas,
                    start_at=START,
                    registration_deadline=DEADLINE,
                    cancellation_deadline=DEADLINE,
                    release_at=RELEASE,
                    offer_hours=int(OFFER_HOURS.total_seconds() // 3600) if by_offer else None,
                ),
                T0,
            )
            self.course_id = course.id
            # One approver per agency, who never signs up (an approver's own request is
            # another approver's to decide: tests/test_approval.py).
            self.approvers = {}
            for n, code in enumerate(CODES):
                agency = found[code]
                approver = people.join(
                    session,
                    telegram_id=4000 + n,
                    access_code=agency.access_code,
                    name=f"Approver {code}",
                    rank=None,
                    language="de",
                    now=T0,
                )
                approvers.appoint(session, agency.id, approver.id, T0)
                self.approvers[code] = Actor(telegram_id=4000 + n, person_id=approver.id)
                session.get(Agency, agency.id).approval_required = code in approval
            self.people = []
            for i in range(2 * PEOPLE):
                agency = found[CODES[i % 2]]
                person = people.join(
                    session,
                    telegram_id=5000 + i,
                    access_code=agency.access_code,
                    name=f"Person {i}",
                    rank=None,
                    language="de",
                    now=T0,
                )
                self.people.append((person.id, agency.code))
        self.model = Model(quotas, approval=approval, offers=by_offer)
        event(f"approval by {approval or 'nobody'}, {'offers' if by_offer else 'automatic'}")
        for i in early:
            self.sign_up_and_compare(i)

    def teardown(self):
        if hasattr(self, "db"):
            self.db.dispose()

    def tick(self) -> str:
        """Moves the clock on to the stage this step belongs to; returns the stage."""
        self.step += 1
        reached = ORDER[sum(self.step > at for at in self.moves_at)]
        while self.model.stage != reached:
            stage = ORDER[ORDER.index(self.model.stage) + 1]
            self.clock.set(STAGES[stage])
            self.model.stage = stage
            note(f"step {self.step}: the clock moves to {stage}")
            event(f"reached {stage}")
            self.run_due_work(stage)
        return reached

    def run_due_work(self, stage: str) -> None:
        """The timed work that fell due runs, as the scheduler runs it: in the order of its
        due times (held seats expiring, the release date), each at the clock's time now."""
        expiring = self.model.due_holds()
        if expiring:
            event(f"{len(expiring)} held seats expire")
        releasing = stage == "released"
        for person in expiring:
            if releasing and self.model.regs[person].until > RELEASE:
                releasing = False
                self.model.promote()  # the release's task is due before this expiry
            self.model.cancel(person)
        if releasing:
            self.model.promote()
        while ids := self.db.call(tasks.claim_due_tasks, self.clock.now()):
            for task_id in ids:
                self.db.call(tasks.run_task, task_id, self.clock.now())

    @rule(i=st.integers(0, 2 * PEOPLE - 1))
    def sign_up(self, i):
        self.tick()
        self.sign_up_and_compare(i)

    def sign_up_and_compare(self, i: int) -> None:
        person, agency = self.people[i]
        model = self.model
        newcomer = model.stage == "last_day" and not model.active(person)
        if newcomer and model.free_for(agency) and model.queue(agency):
            event("a newcomer finds a free seat that others wait for")
        try:
            result = self.db.call(regs.sign_up, self.course_id, person, self.clock.now())
        except RegistrationClosed:
            assert self.model.sign_up(person, agency) == "closed"
        except ApprovalTooLate:
            assert self.model.sign_up(person, agency) == "too_late"
        else:
            assert result.status == self.model.sign_up(person, agency)
            assert result.position == self.model.position(person)
            assert result.held_until == self.model.regs[person].until

    def someone(self, data, status: str) -> int:
        """Draws a person whose registration is ``status`` now ("confirmed", "waiting",
        "requested", "offered", or "registered" for any), or anyone ("anyone", or if nobody
        is)."""
        found = [
            i
            for i, (p, _a) in enumerate(self.people)
            if (reg := self.model.active(p)) and status in ("registered", reg.status)
        ]
        return data.draw(st.sampled_from(found or range(2 * PEOPLE)), label="person")

    @rule(
        data=st.data(),
        status=st.sampled_from(["confirmed", "waiting", "requested", "offered", "anyone"]),
    )
    def cancel(self, data, status):
        stage = self.tick()
        person, _agency = self.people[self.someone(data, status)]
        reg = self.model.active(person)
        if stage == "started" and reg is not None and reg.status == "waiting":
            event("a waiting officer tries to leave after the start")
        try:
            result = self.db.call(regs.cancel_for_course, self.course_id, person, self.clock.now())
        except NotRegistered:
            assert reg is None
        except CancellationClosed:
            assert reg is not None
            assert not self.model.may_cancel(person)
        else:
            assert reg is not None
            assert self.model.may_cancel(person)
            promoted = self.model.cancel(person)
            assert [p.person_id for p in result.promoted] == promoted
            assert result.free_seat_for_lead == self.model.seat_for_lead()
            if result.free_seat_for_lead:
                event("a freed seat goes to the lead")

    @rule(data=st.data(), approve=st.booleans())
    def decide(self, data, approve):
        """An approver of the officer's own agency decides a request; a request decided,
        withdrawn or expired before is refused as decided."""
        self.tick()
        person, agency = self.people[self.someone(data, "requested")]
        reg = self.model.active(person)
        registration_id = self.registration_id(person)
        if registration_id is None:
            return
        try:
            decision = self.db.call(
                approval.decide,
                registration_id,
                approve,
                self.clock.now(),
                actor=self.approvers[agency],
            )
        except AlreadyDecided:
            assert reg is None or reg.status != "requested"
        else:
            assert reg is not None
            assert reg.status == "requested"
            promoted = self.model.decide(person, approve)
            assert [p.person_id for p in decision.promoted] == promoted
            event("a request approved" if approve else "a request refused")

    @precondition(lambda self: any(r.status == "offered" for r in self.model.regs.values()))
    @rule(data=st.data())
    def accept_offer(self, data):
        """The officer accepts an offer: confirmed, or requested where approval applies."""
        self.answer_offer(data, accept=True)

    @precondition(lambda self: any(r.status == "offered" for r in self.model.regs.values()))
    @rule(data=st.data())
    def decline_offer(self, data):
        """The officer declines an offer: off the waiting list; the next gets an offer."""
        self.answer_offer(data, accept=False)

    def answer_offer(self, data, accept: bool) -> None:
        self.tick()
        person, _agency = self.people[self.someone(data, "offered")]
        reg = self.model.active(person)
        registration_id = self.registration_id(person)
        if registration_id is None:
            return
        service = offers.accept if accept else offers.decline
        try:
            answer = self.db.call(service, registration_id, person, self.clock.now())
        except OfferEnded:
            assert reg is None or reg.status != "offered"
        else:
            assert reg is not None
            assert reg.status == "offered"
            if accept:
                assert answer.status == self.model.accept(person)
            else:
                promoted = self.model.cancel(person)
                assert [p.person_id for p in answer.promoted] == promoted
            event("an offer accepted" if accept else "an offer declined")

    def registration_id(self, person_id: int) -> int | None:
        with self.db.transaction(readonly=True) as session:
            return session.scalar(
                select(Registration.id).where(
                    Registration.course_id == self.course_id, Registration.person_id == person_id
                )
            )

    @rule(data=st.data())
    def delete_data(self, data):
        """An officer deletes their data: a registration of a course not yet started is
        cancelled whatever the deadlines (`kurse.privacy`); one after the start is kept."""
        stage = self.tick()
        person, _agency = self.people[self.someone(data, "registered")]
        if self.model.active(person) is None or stage == "started":
            return
        promoted = self.db.call(_withdraw, self.course_id, person, self.clock.now())
        assert promoted == self.model.cancel(person)

    @rule(agency=st.sampled_from(CODES), seats=st.integers(0, 3), demote=st.booleans())
    def set_quota(self, agency, seats, demote):
        stage = self.tick()
        new = {agency: seats}
        if sum({**self.model.quotas, **new}.values()) < 1:
            return  # refused by validation; covered by unit tests
        decision = "demote_latest" if demote else "refuse"
        try:
            self.db.call(set_quotas, self.course_id, new, self.clock.now(), on_excess=decision)
        except QuotaBelowConfirmed as error:
            assert stage != "started"
            assert not demote
            assert error.over == self.model.over(new)
        except InvalidInput as error:
            assert stage == "started"
            assert error.reason == "course_started"
        else:
            assert stage != "started"
            assert demote or not self.model.over(new)
            self.model.set_quotas(new)

    @rule()
    def late_release(self):
        """A release that runs late (a catch-up after downtime) moves up only while automatic
        promotion applies."""
        self.tick()
        promoted = self.db.call(regs.release_seats, self.course_id, self.clock.now())
        assert [p.person_id for p in promoted] == self.model.promote()

    @invariant()
    def database_agrees_with_the_model(self):
        if not hasattr(self, "db"):
            return
        with self.db.transaction(readonly=True) as session:
            rows = session.execute(
                select(
                    Registration.person_id,
                    Registration.status,
                    Registration.via_release,
                    Registration.held_until,
                ).where(Registration.course_id == self.course_id)
            ).all()
            assert {p: (s, v, u) for p, s, v, u in rows} == {
                p: (r.status, r.via_release, r.until) for p, r in self.model.regs.items()
            }
            assert invariant_violations(session, self.course_id, self.clock.now()) == []


def test_random_sequences_keep_every_invariant(new_databases):
    SeatMachine.new_database = staticmethod(new_databases)
    machine = SeatMachine.TestCase
    machine.settings = settings(
        max_examples=90,
        stateful_step_count=STEPS,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    machine("runTest").runTest()


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
