"""What admins and course leads do, each call checking the role in the same transaction.

Each takes the `Actor` the guard built and reads the role from the database in the action's
own transaction (an admin of ``KURSBOT_ADMIN_IDS`` is one by the settings), so an admin whose
role was taken away cannot act through an old button, and a lead sees only their own courses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from kurse import (
    agencies,
    approval,
    approvers,
    audit,
    courses,
    operations,
    outbox,
    people,
    quotas,
    registration_lists,
)
from kurse.actors import Actor
from kurse.courses import CourseDraft, CourseEdit
from kurse.days import days_between
from kurse.db import unicode_lower
from kurse.errors import DomainError, InvalidInput, NotAllowed, NotFound
from kurse.forms import FormError, Reason, parse_course_form, parse_seats, seat_problems
from kurse.models import Agency, Course, CourseStatus, Person, Quota, id_of
from kurse.outbox import MessageKind
from kurse.quotas import ExcessDecision, QuotaChange
from kurse.schedule import DEFAULT_PLAN, Plan


@dataclass(eq=False)
class FormInvalid(DomainError):
    """The course form has problems (every one of them); nothing was changed."""

    errors: list[FormError]
    code = "form_invalid"


def _person(session: Session, actor: Actor) -> Person | None:
    """The acting person as the database has them now (None for a bootstrap admin who has
    not joined)."""
    if actor.telegram_id is None:
        return None
    return people.find_by_telegram_id(session, actor.telegram_id)


def require_admin(session: Session, actor: Actor) -> Actor:
    """The acting admin (with their person as stored now), or `NotAllowed`."""
    person = _person(session, actor)
    if not people.is_admin(person, actor.bootstrap_admin):
        raise NotAllowed(role="admin")
    return replace(actor, person_id=person.id if person else None)


def require_lead_or_admin(session: Session, course: Course, actor: Actor) -> Actor:
    """The course's lead or an admin, or `NotAllowed` (which says nothing about the course)."""
    person = _person(session, actor)
    if people.is_admin(person, actor.bootstrap_admin):
        return replace(actor, person_id=person.id if person else None)
    if person is not None and person.active and course.lead_id == person.id:
        return replace(actor, person_id=person.id)
    raise NotAllowed(role="lead")


def _form_errors(form_lines: dict[str, int], error: DomainError) -> list[FormError]:
    """Names the line of a domain error raised for a form's values."""
    if isinstance(error, InvalidInput):
        name = error.field
        return [FormError(form_lines.get(name, 0), name, error.reason)]
    if isinstance(error, NotFound) and error.kind == "agency":
        code = error.given or ""
        return [FormError(form_lines.get("seats", 0), "seats", "unknown_agency", code)]
    if isinstance(error, NotFound) and error.kind in ("lead", "person"):
        return [FormError(form_lines.get("lead", 0), "lead", "unknown_person")]
    raise error


def create_course_from_form(
    session: Session,
    text: str,
    now: datetime,
    *,
    actor: Actor,
    plan: Plan = DEFAULT_PLAN,
) -> Course:
    """Creates a course from the ``Key: value`` lines; `FormInvalid` lists every problem."""
    actor = require_admin(session, actor)
    form = parse_course_form(text)
    if form.errors:
        raise FormInvalid(errors=form.errors)
    values = dict(form.values)
    problems = _seat_and_lead_problems(session, form.lines, values)
    problems += _host(session, form.lines, values)
    try:
        lead = values.pop("lead", None)
        if lead is not None and not problems:
            values["lead_id"] = people.find_by_reference(session, lead).id
        if problems:  # every problem of the form at once, not one per try
            courses.check_draft(session, CourseDraft(**{**values, "seats": {}}), now)
            raise FormInvalid(errors=problems)
        return courses.create_course(session, CourseDraft(**values), now, actor=actor, plan=plan)
    except (InvalidInput, NotFound) as error:
        raise FormInvalid(errors=problems + _form_errors(form.lines, error)) from None


def _host(session: Session, lines: dict[str, int], values: dict[str, Any]) -> list[FormError]:
    """Turns the form's host (an agency code) into ``host_agency_id`` in ``values``; an
    unknown code is a problem of its line."""
    if "host" not in values:
        return []
    code = values.pop("host")
    agency_id = session.scalar(select(col(Agency.id)).where(col(Agency.code) == code))
    if agency_id is None:
        return [FormError(lines.get("host", 0), "host", "unknown_agency", code)]
    values["host_agency_id"] = agency_id
    return []


def _seat_and_lead_problems(
    session: Session, lines: dict[str, int], values: dict[str, Any]
) -> list[FormError]:
    """Every unknown agency, every seat number out of range and an unknown lead of a form."""
    seats = values.get("seats") or {}
    known = set(session.scalars(select(col(Agency.code)).where(col(Agency.code).in_(list(seats)))))
    problems = [
        FormError(lines.get("seats", 0), "seats", "unknown_agency", code)
        for code in seats
        if code not in known
    ]
    # The seat rule is the form's (`forms.seat_problems`); here only per known agency.
    problems += [
        FormError(lines.get("seats", 0), "seats", "out_of_range")
        for problem in seat_problems({c: n for c, n in seats.items() if c in known}, None)
        if problem.reason == Reason.OUT_OF_RANGE
    ]
    if values.get("lead") is not None:
        try:
            people.find_by_reference(session, values["lead"])
        except NotFound:
            problems.append(FormError(lines.get("lead", 0), "lead", "unknown_person"))
    return problems


@dataclass(frozen=True)
class CourseFill:
    """An open course with its seats in all, confirmed and waiting (for the overview)."""

    course: Course
    seats: int
    confirmed: int
    waiting: int


def overview(
    session: Session, now: datetime, *, actor: Actor, limit: int = 30
) -> list[CourseFill]:
    """The courses not yet ended, soonest first, with how full they are: every course for an
    admin, their own for a lead; `NotAllowed` for anyone else. One query on the quota
    counters (see `Quota`), however many registrations there are."""
    person = _person(session, actor)
    admin = people.is_admin(person, actor.bootstrap_admin)
    query = (
        select(
            Course,
            func.sum(col(Quota.seats)),
            func.sum(col(Quota.confirmed_count)),
            func.sum(col(Quota.waiting_count)),
        )
        .join(Quota, col(Quota.course_id) == col(Course.id))
        .where(col(Course.status) == CourseStatus.PUBLISHED, col(Course.end_at) > now)
        .group_by(col(Course.id))
        .order_by(col(Course.start_at), col(Course.id))
        .limit(limit)
    )
    if not admin:
        if person is None or not person.active:
            raise NotAllowed(role="lead")
        query = query.where(col(Course.lead_id) == person.id)
    rows = session.execute(query).all()
    if not admin and not rows:
        raise NotAllowed(role="lead")
    return [CourseFill(c, int(s or 0), int(n or 0), int(w or 0)) for c, s, n, w in rows]


def course_for_edit(
    session: Session, code: str, *, actor: Actor
) -> tuple[Course, int | None, str | None]:
    """The course an admin is about to change, with its lead's Telegram id (if any) and its
    host agency's code."""
    require_admin(session, actor)
    course = courses.get_course_by_code(session, code)
    lead = session.get(Person, course.lead_id) if course.lead_id else None
    host = session.get(Agency, course.host_agency_id)
    return (
        course,
        lead.telegram_id if lead is not None else None,
        host.code if host is not None else None,
    )


def edit_course_from_form(
    session: Session,
    code: str,
    text: str,
    now: datetime,
    *,
    actor: Actor,
    plan: Plan = DEFAULT_PLAN,
) -> CourseEdit:
    """Changes the fields named in the lines (seats go through `set_quotas_from_text`)."""
    actor = require_admin(session, actor)
    course = courses.get_course_by_code(session, code)
    form = parse_course_form(text, require_all=False)
    if not form.errors and not form.values:
        form.errors.append(FormError(0, "form", "empty"))
    if "seats" in form.values:
        form.errors.append(FormError(form.lines["seats"], "seats", "use_quota_command"))
    if form.errors:
        raise FormInvalid(errors=form.errors)
    values = dict(form.values)
    host_problems = _host(session, form.lines, values)
    if host_problems:
        raise FormInvalid(errors=host_problems)
    try:
        if "lead" in values:
            values["lead_id"] = people.find_by_reference(session, values.pop("lead")).id
        edit = courses.edit_course(session, id_of(course), values, now, actor=actor, plan=plan)
    except (InvalidInput, NotFound) as error:
        raise FormInvalid(errors=_form_errors(form.lines, error)) from None
    _tell_new_lead(session, edit, now)
    if not edit.schedule_changed:
        return edit
    told = outbox.notices(
        session,
        MessageKind.CHANGED,
        id_of(course),
        _with_lead(edit.affected_person_ids, edit.course),
        now,
        {"days_before": _days_before(edit)},  # calendars drop the days a course lost
    )
    return replace(edit, told=told)


def _days_before(edit: CourseEdit) -> int:
    before = {k: v[0] for k, v in edit.changes.items() if k in ("start_at", "end_at", "days")}
    days = before.get("days", edit.course.days)
    if days:
        return len(days)
    start = before.get("start_at", edit.course.start_at)
    return len(days_between(start, before.get("end_at", edit.course.end_at)))


@dataclass(frozen=True)
class CourseCancellation:
    """A cancelled course and how many officers are being told."""

    course: Course
    told: int


def cancel_course_by_code(
    session: Session,
    code: str,
    reason: str | None,
    now: datetime,
    *,
    actor: Actor,
    plan: Plan = DEFAULT_PLAN,
) -> CourseCancellation:
    """Cancels the course and queues one message for everyone who was confirmed or waiting,
    and for its lead (`outbox.notices`: sent by the timed work at once, and after a restart)."""
    actor = require_admin(session, actor)
    course = courses.get_course_by_code(session, code)
    ids = courses.cancel_course(session, id_of(course), now, reason=reason, actor=actor, plan=plan)
    told = outbox.notices(
        session, MessageKind.CANCELLED, id_of(course), _with_lead(ids, course), now
    )
    return CourseCancellation(course, told)


def _with_lead(person_ids: list[int], course: Course) -> list[int]:
    """Those registered, and the course's lead: they hear of every change to their course."""
    return [*person_ids, course.lead_id] if course.lead_id is not None else person_ids


def set_quotas_from_text(
    session: Session,
    code: str,
    text: str,
    now: datetime,
    *,
    actor: Actor,
    on_excess: ExcessDecision = "refuse",
) -> tuple[Course, QuotaChange]:
    """Sets quotas from ``PP-OFR=10 PD-Z=8``; raises `QuotaBelowConfirmed` for a decision."""
    actor = require_admin(session, actor)
    course = courses.get_course_by_code(session, code)
    try:
        seats = parse_seats(text)
    except KeyError:
        raise InvalidInput(field="seats", reason="duplicate_agency") from None
    except ValueError as error:
        raise InvalidInput(field="seats", reason="bad_seats", value=str(error)) from None
    change = quotas.set_quotas(
        session, id_of(course), seats, now, on_excess=on_excess, actor=actor
    )
    return course, change


def assign_lead(
    session: Session,
    code: str,
    reference: str,
    now: datetime,
    *,
    actor: Actor,
    plan: Plan = DEFAULT_PLAN,
) -> tuple[Course, Person]:
    """Makes the person named by Telegram id or @username the course's lead."""
    actor = require_admin(session, actor)
    course = courses.get_course_by_code(session, code)
    lead = people.find_by_reference(session, reference)
    edit = courses.edit_course(
        session, id_of(course), {"lead_id": lead.id}, now, actor=actor, plan=plan
    )
    _tell_new_lead(session, edit, now)
    return edit.course, lead


def _tell_new_lead(session: Session, edit: CourseEdit, now: datetime) -> None:
    """The course's new lead is told (`kurse.outbox`), whether `/kursleitung` or the edit
    form named them; naming the same lead again is not news."""
    lead_id = edit.course.lead_id
    if "lead_id" in edit.changes and lead_id is not None:
        outbox.notices(session, MessageKind.LEAD_ASSIGNED, id_of(edit.course), [lead_id], now)


def create_agency(
    session: Session,
    code: str,
    name: str,
    now: datetime,
    *,
    actor: Actor,
    state: str = "",
) -> Agency:
    """Adds an agency with a fresh access code."""
    actor = require_admin(session, actor)
    agency = agencies.create_agency(session, code, name, state, now)
    audit.record(
        session,
        actor=actor,
        action="agency_created",
        now=now,
        after={"code": agency.code, "name": agency.name},
    )
    return agency


def access_code(session: Session, code: str, *, actor: Actor) -> Agency:
    """The agency with its access code, for admins only."""
    require_admin(session, actor)
    return agencies.get_agency(session, code)


def rotate_access_code(session: Session, code: str, now: datetime, *, actor: Actor) -> Agency:
    """Gives the agency a new access code; the old one stops working at once."""
    actor = require_admin(session, actor)
    agency = agencies.rotate_access_code(session, code)
    audit.record(
        session, actor=actor, action="access_code_rotated", now=now, after={"agency": agency.code}
    )  # the code itself is never written to the log
    return agency


def set_approval(session: Session, code: str, on: bool, now: datetime, *, actor: Actor) -> Agency:
    """Switches whether the agency's officers need approval of their sign-ups (requests
    already waiting stay waiting for a decision either way)."""
    actor = require_admin(session, actor)
    agency = agencies.get_agency(session, code)
    before = agency.approval_required
    agency.approval_required = on
    if before != on:
        session.flush()
        approval.agency_switched(session, id_of(agency), now)
        audit.record(
            session,
            actor=actor,
            action="approval_switched",
            now=now,
            before={"agency": agency.code, "approval": before},
            after={"agency": agency.code, "approval": on},
        )
    return agency


def change_approver(
    session: Session, code: str, reference: str, appoint: bool, now: datetime, *, actor: Actor
) -> tuple[Agency, Person, bool]:
    """Appoints (or removes) an approver of the agency; returns the agency, the person and
    whether anything changed. Any joined person may approve for any agency (a superior of
    another agency's officers is appointed by the admins, who know the roster)."""
    actor = require_admin(session, actor)
    agency = agencies.get_agency(session, code)
    person = people.find_by_reference(session, reference)
    if appoint:
        changed = approvers.appoint(session, id_of(agency), id_of(person), now)
        if changed:
            approval.tell_new_approver(session, id_of(agency), now)
    else:
        changed = approvers.remove(session, id_of(agency), id_of(person))
    if changed:
        audit.record(
            session,
            actor=actor,
            action="approver_appointed" if appoint else "approver_removed",
            now=now,
            subject_person_id=person.id,
            after={"agency": agency.code},
        )
    return agency, person, changed


def agency_approvers(session: Session, *, actor: Actor) -> dict[int, list[Person]]:
    """Per agency id, its approvers (for admins' `/dienststellen`)."""
    require_admin(session, actor)
    return approvers.listing(session)


def list_agencies(session: Session, *, actor: Actor) -> list[Agency]:
    """All agencies, for admins."""
    require_admin(session, actor)
    return agencies.list_agencies(session)


def change_admin(
    session: Session,
    reference: str,
    grant: bool,
    now: datetime,
    *,
    actor: Actor,
    admin_ids: Iterable[int] = (),
) -> Person:
    """Makes a joined person admin, or takes the role back (never from the last admin;
    ``admin_ids`` are the admins of the settings, who count too)."""
    actor = require_admin(session, actor)
    target = people.find_by_reference(session, reference)
    return people.set_admin(
        session,
        actor=actor,
        target_id=id_of(target),
        admin=grant,
        bootstrap_ids=admin_ids,
        now=now,
    )


def _contains(text: str) -> str:
    """A LIKE pattern for values that contain ``text`` as typed (its wildcards escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def find_people(
    session: Session, query: str, *, actor: Actor, limit: int = 20
) -> list[tuple[Person, Agency]]:
    """People whose name or username contains ``query`` (an "@" before it is left out), or
    whose Telegram id it is, for admins."""
    require_admin(session, actor)
    text = query.strip()[:50]
    # Both sides are lowered by the database, in every script (`kurse.db.unicode_lower`);
    # a "%" or "_" typed is a character like any other, not a wildcard.
    name = unicode_lower(col(Person.name)).like(unicode_lower(_contains(text)), escape="\\")
    username = _contains(text.lstrip("@").lower())  # stored in lower case (`kurse.people`)
    matches: list[ColumnElement[bool]] = [
        name,
        col(Person.username).like(username, escape="\\"),
    ]
    if text.isdecimal() and len(text) <= 18:  # Telegram ids fit in a BIGINT
        matches.append(col(Person.telegram_id) == int(text))
    rows = session.execute(
        select(Person, Agency)
        .join(Agency, col(Agency.id) == col(Person.agency_id))
        .where(or_(*matches))
        .order_by(col(Person.name))
        .limit(limit)
    )
    return [(person, agency) for person, agency in rows]


def participant_list(
    session: Session, course_id: int, now: datetime, *, actor: Actor
) -> tuple[registration_lists.ParticipantList, int, Person | None]:
    """A course's participant list, its number of seats and its lead (lead or admin only)."""
    course = courses.get_course(session, course_id)
    require_lead_or_admin(session, course, actor)
    seats = session.scalar(
        select(func.sum(col(Quota.seats))).where(col(Quota.course_id) == course_id)
    )
    lead = session.get(Person, course.lead_id) if course.lead_id else None
    return registration_lists.participants(session, course_id, now), int(seats or 0), lead


def course_id_by_code(session: Session, code: str) -> int:
    """The id of the course with this code (NotFound if there is none)."""
    course = courses.get_course_by_code(session, code)
    assert course.id is not None  # a stored course has its id
    return course.id


def audit_log(
    session: Session,
    code: str,
    course_id: int | None,
    page: int,
    *,
    actor: Actor,
    page_size: int = 15,
) -> audit.LogPage:
    """A page of the audit log (of one course, by its code or id, or of all), for admins."""
    require_admin(session, actor)
    if code:
        course_id = id_of(courses.get_course_by_code(session, code))
    return audit.log_page(session, course_id=course_id, page=page, page_size=page_size)


def operations_status(session: Session, *, actor: Actor) -> operations.Status:
    """What `/status` shows (pending and failed work, the next due time), for admins."""
    require_admin(session, actor)
    return operations.status(session)
