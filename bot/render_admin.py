"""Texts for admins and course leads, as pure functions (see `bot.render` for officers)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from bot import commands
from bot.i18n import Texts, _
from bot.render import truncate
from kurse.admin import CourseFill
from kurse.audit import DELETED, Change, LogLine, LogPage
from kurse.clock import BERLIN
from kurse.courses import CourseEdit
from kurse.days import DayWarning, course_days
from kurse.exports import ListLabels
from kurse.forms import KEYS, FormError
from kurse.models import Agency, Course, Person
from kurse.quotas import QuotaChange
from kurse.registration_lists import ParticipantList

FIELDS = {
    "title": _("Title"),
    "start_at": _("Start"),
    "end_at": _("End"),
    "location": _("Location"),
    "registration_deadline": _("Registration deadline"),
    "cancellation_deadline": _("Cancellation deadline"),
    "release_at": _("Release date"),
    "min_participants": _("Minimum participants"),
    "seats": _("Seats"),
    "lead": _("Lead"),
    "lead_id": _("Lead"),
    "description": _("Description"),
    "code": _("Code"),
    "form": _("Form"),
}

REASONS = {
    "missing": _("missing"),
    "empty": _("empty"),
    "bad_date": _("not a date (DD.MM.YYYY HH:MM, DD.MM.YYYY or ISO 8601)"),
    "bad_seats": _("write the seats as PP-OFR=10, PD-Z=8"),
    "duplicate": _("given twice (first in line {value})"),
    "duplicate_agency": _("an agency is named twice"),
    "unknown_line": _("unknown field: “{value}”"),
    "unknown_agency": _("unknown agency: {value}"),
    "unknown_person": _("nobody with this Telegram id or @username is registered"),
    "in_past": _("in the past"),
    "not_after_start": _("must be after the start"),
    "after_start": _("must be before the start"),
    "too_long": _("too long"),
    "too_short": _("too short"),
    "no_seats": _("at least one seat is needed"),
    "out_of_range": _("out of range"),
    "not_a_number": _("not a whole number"),
    "more_than_seats": _("more than the number of seats"),
    "too_many_lines": _("more than {value} lines"),
    "use_quota_command": _("seats are changed with /quota"),
    "naive_datetime": _("no time zone"),
    "not_editable": _("cannot be changed"),
    "course_started": _("cannot be changed after the start"),
    "released_seats_taken": _("cannot be taken back: released seats are taken"),
    "control_characters": _("contains control characters"),
    "nothing_visible": _("no visible letters or digits"),
    "too_far_ahead": _("more than five years ahead"),
}

ACTIONS = {
    "course_created": _("course created"),
    "course_edited": _("course changed"),
    "course_cancelled": _("course cancelled"),
    "quotas_set": _("seats changed"),
    "admin_granted": _("admin rights given"),
    "admin_revoked": _("admin rights taken back"),
    "agency_created": _("agency created"),
    "access_code_rotated": _("access code renewed"),
}


def not_admin(t: Texts) -> str:
    """An admin command from someone who is not (or no longer) an admin."""
    return t.gettext("This needs admin rights.")


def not_lead(t: Texts) -> str:
    """A lead's list asked for by someone else."""
    return t.gettext("Only the course's lead and the admins may see its participants.")


# How each command is written, in the reader's language (its name and its form's fields).
EXAMPLES = {
    "kurs_neu": _(
        "/newcourse\n"
        "Title: Cross-border manhunt – basics\n"
        "Start: 12.03.2027 09:00\n"
        "End: 13.03.2027 16:00\n"
        "Location: Hof, police station\n"
        "Deadline: 01.03.2027\n"
        "Seats: PP-OFR=10, PD-Z=10\n"
        "Lead: 123456789\n"
        "Description: Two-day seminar."
    ),
    "kurs_bearbeiten": _("/editcourse K-2027-001\nLocation: Hof"),
    "kurs_absagen": _("/cancelcourse K-2027-001 reason"),
    "kontingent": _("/quota K-2027-001 PP-OFR=10 PD-Z=8"),
    "kursleitung": _("/lead K-2027-001 @name"),
    "dienststelle_neu": _("/newagency PI-XY Polizeiinspektion XY, Bayern"),
    "zugangscode": _("/accesscode PP-OFR"),
    "admin_neu": _("/newadmin @name"),
    "admin_entfernen": _("/removeadmin @name"),
    "personen": _("/people Müller"),
    "teilnehmer": _("/participants K-2027-001"),
}


def usage(t: Texts, command: str) -> str:
    """How a command (its German name, a key of `EXAMPLES`) is written."""
    return t.gettext("Please write it like this: {example}").format(
        example=escape(t.gettext(EXAMPLES[command]))
    )


def unknown_course(t: Texts, code: str) -> str:
    """A course code that does not exist."""
    return t.gettext("There is no course {code}.").format(code=escape(code))


def form_errors(t: Texts, errors: list[FormError], *, created: bool) -> str:
    """Every problem of a course form, each with its line."""
    _ = t.gettext
    head = _("The course was not created:") if created else _("The course was not changed:")
    lines = [head]
    for error in errors[:10]:
        field = _(FIELDS.get(error.field, error.field))
        reason = _(REASONS.get(error.reason, error.reason)).format(value=escape(error.value))
        if error.line:
            lines.append(
                _("• Line {line} ({field}): {reason}").format(
                    line=error.line, field=field, reason=reason
                )
            )
        else:
            lines.append(_("• {field}: {reason}").format(field=field, reason=reason))
    if len(errors) > 10:
        lines.append(_("… and {n} more.").format(n=len(errors) - 10))
    return "\n".join(lines)


def field_error(t: Texts, params: dict[str, Any]) -> str:
    """A wrong value outside a form (seats, a reason)."""
    _ = t.gettext
    field = _(FIELDS.get(str(params.get("field")), str(params.get("field"))))
    reason = _(REASONS.get(str(params.get("reason")), str(params.get("reason"))))
    return _("{field}: {reason}.").format(field=field, reason=reason.format(value=""))


def course_created(t: Texts, course: Course) -> str:
    """A course created."""
    return t.gettext("Course <b>{code}</b> created: {title}, {when}, {location}.").format(
        code=escape(course.code),
        title=escape(course.title),
        when=t.span(course.start_at, course.end_at),
        location=escape(course.location),
    )


def day_warnings(t: Texts, warnings: list[DayWarning]) -> str:
    """Course days on a weekend or a public holiday: a warning below the confirmation."""
    _ = t.gettext
    lines = []
    for warning in warnings:
        reasons = [f"{name} ({state})" for state, name in warning.holidays]
        if warning.weekend:
            reasons.insert(0, _("weekend"))
        lines.append(f"⚠️ {t.day(warning.day)}: {escape(', '.join(reasons))}")
    if not lines:
        return ""
    return "\n\n" + _("Please check these course days:") + "\n" + "\n".join(lines)


def course_edited(t: Texts, edit: CourseEdit, told: int) -> str:
    """A course changed."""
    _ = t.gettext
    if not edit.changes:
        return _("Nothing changed.")
    fields = ", ".join(_(FIELDS.get(name, name)) for name in edit.changes)
    done = _("Course {code} changed: {fields}.").format(
        code=escape(edit.course.code), fields=fields
    )
    return f"{done} {being_told(t, told)}"


def being_told(t: Texts, told: int) -> str:
    """How many registered or waiting people hear of a change."""
    if not told:
        return t.gettext("Nobody needs to be told.")
    return t.ngettext("{n} person is being told.", "{n} people are being told.", told).format(
        n=told
    )


def course_changed_notice(t: Texts, course: Course) -> str:
    """To everyone registered: the dates or place changed."""
    return t.gettext("ℹ️ <b>{title}</b> has changed.\nWhen: {span}\nWhere: {location}").format(
        title=escape(course.title),
        span=t.span(course.start_at, course.end_at),
        location=escape(course.location),
    )


def confirm_course_cancel(t: Texts, course: Course, reason: str | None) -> str:
    """The question before cancelling a course."""
    _ = t.gettext
    text = _(
        "Cancel <b>{title}</b> ({code})? Everyone registered or waiting will be told."
    ).format(title=escape(course.title), code=escape(course.code))
    if reason:
        text += "\n" + _("Reason: {reason}").format(reason=escape(reason))
    return text


def course_cancelled_admin(t: Texts, course: Course, told: int) -> str:
    """To the admin: done."""
    done = t.gettext("Course {code} cancelled.").format(code=escape(course.code))
    return f"{done} {being_told(t, told)}"


def course_cancelled_notice(t: Texts, course: Course) -> str:
    """To each officer of a cancelled course."""
    _ = t.gettext
    text = _("❌ The course <b>{title}</b> ({when}) has been cancelled.").format(
        title=escape(course.title), when=t.when(course.start_at)
    )
    if course.cancel_reason:
        text += "\n" + _("Reason: {reason}").format(reason=escape(course.cancel_reason))
    return text


def quotas_set(t: Texts, course: Course, change: QuotaChange) -> str:
    """Seats changed, and who moved up or back."""
    seats = ", ".join(f"{code}={n}" for code, n in sorted(change.after.items()))
    parts = [t.gettext("Seats of {code}: {seats}.").format(code=escape(course.code), seats=seats)]
    if change.promoted:
        n = len(change.promoted)
        parts.append(
            t.ngettext(
                "{n} person moved up from the waiting list.",
                "{n} people moved up from the waiting list.",
                n,
            ).format(n=n)
        )
    if change.demoted:
        n = len(change.demoted)
        parts.append(
            t.ngettext(
                "{n} person is back on the waiting list.",
                "{n} people are back on the waiting list.",
                n,
            ).format(n=n)
        )
    return " ".join(parts)


def quota_over(t: Texts, over: dict[str, int]) -> str:
    """Lowering below the confirmed: the admin decides."""
    listed = ", ".join(f"{code}: {n}" for code, n in sorted(over.items()))
    return t.gettext(
        "With these seats, more people would be confirmed than there are seats (too many: "
        "{over}). Nobody has been moved yet. Shall the last to sign up go back to the waiting "
        "list?"
    ).format(over=listed)


def demoted_notice(t: Texts, course: Course) -> str:
    """To an officer moved back to the waiting list."""
    return t.gettext(
        "⚠️ The seats of your agency in <b>{title}</b> were reduced. As you were among the "
        "last to sign up, you are back on the waiting list, at its front."
    ).format(title=escape(course.title))


def lead_set(t: Texts, course: Course, lead: Person) -> str:
    """To the admin: the lead is set."""
    return t.gettext("{name} now leads {code}.").format(
        name=escape(lead.name), code=escape(course.code)
    )


def lead_notice(t: Texts, course: Course) -> str:
    """To the new lead."""
    return t.gettext(
        "You now lead <b>{title}</b> ({code}). /participants {code} shows the participants."
    ).format(title=escape(course.title), code=escape(course.code))


def agencies_list(t: Texts, agencies: list[Agency]) -> str:
    """/dienststellen."""
    lines = [t.gettext("<b>Agencies</b>")]
    lines += [
        f"{escape(a.code)} – {escape(a.name)}" + (f" ({escape(a.state)})" if a.state else "")
        for a in agencies
    ]
    return "\n".join(lines)


def agency_created(t: Texts, agency: Agency, code: str) -> str:
    """A new agency with its first access code."""
    return t.gettext("Agency {code} ({name}) created. Access code: <code>{access}</code>").format(
        code=escape(agency.code), name=escape(agency.name), access=code
    )


def access_code(t: Texts, agency: Agency, code: str) -> str:
    """/zugangscode."""
    return t.gettext("Access code of {name}: <code>{access}</code>").format(
        name=escape(agency.name), access=code
    )


def confirm_rotate(t: Texts, agency: Agency) -> str:
    """Before a new access code."""
    return t.gettext(
        "Generate a new access code for {name}? The current one stops working at once."
    ).format(name=escape(agency.name))


def rotated(t: Texts, agency: Agency, code: str) -> str:
    """After a new access code."""
    return t.gettext(
        "New access code of {name}: <code>{access}</code>. The old one no longer works."
    ).format(name=escape(agency.name), access=code)


def admin_changed(t: Texts, person: Person, granted: bool) -> str:
    """/admin_neu and /admin_entfernen."""
    _ = t.gettext
    text = (
        _("{name} now has admin rights.") if granted else _("{name} no longer has admin rights.")
    )
    return text.format(name=escape(person.name))


def last_admin(t: Texts) -> str:
    """The last admin cannot leave."""
    return t.gettext("You are the only person with admin rights and cannot give them up.")


def bootstrap_admin(t: Texts) -> str:
    """An admin set in the settings."""
    return t.gettext(
        "This person's admin rights are set in KURSBOT_ADMIN_IDS; please change them there."
    )


def people_found(t: Texts, query: str, found: list[tuple[Person, Agency]]) -> str:
    """/personen."""
    _ = t.gettext
    if not found:
        return _("Nobody found for “{query}”.").format(query=escape(query))
    lines = [_("<b>People matching “{query}”</b>").format(query=escape(query))]
    for person, agency in found:
        rank = f"{escape(person.rank)} " if person.rank else ""
        admin = " · " + _("admin rights") if person.is_admin else ""
        lines.append(
            f"{rank}{escape(person.name)} – {escape(agency.code)}, id {person.telegram_id}{admin}"
        )
    return "\n".join(lines)


def participant_messages(t: Texts, listing: ParticipantList, seats: int) -> list[str]:
    """The participant list, split below Telegram's 4096 characters."""
    _ = t.gettext
    course = listing.course
    confirmed = sum(len(rows) for rows in listing.confirmed.values())
    blocks = [
        _("<b>{title}</b> ({code})\n{when}\nConfirmed: {n} of {seats}").format(
            title=escape(course.title),
            code=escape(course.code),
            when=t.span(course.start_at, course.end_at),
            n=confirmed,
            seats=seats,
        )
    ]
    minimum = minimum_line(t, course, confirmed)
    if minimum:
        blocks[0] += "\n" + minimum
    for code, rows in listing.confirmed.items():
        lines = [f"<b>{escape(code)}</b> ({len(rows)})"]
        lines += [
            f"{i}. {escape(p.name or '–')}" + (f", {escape(p.rank)}" if p.rank else "")
            for i, p in enumerate(rows, 1)
        ]
        blocks.append("\n".join(lines))
    if listing.waiting:
        lines = [_("<b>Waiting list</b> ({n})").format(n=len(listing.waiting))]
        lines += [  # with the rank, as in the confirmed list
            f"{i}. {escape(p.name or '–')}"
            + (f", {escape(p.rank)}" if p.rank else "")
            + f" ({escape(p.agency_code)})"
            for i, p in enumerate(listing.waiting, 1)
        ]
        blocks.append("\n".join(lines))
    return _split("\n\n".join(blocks))


def minimum_line(t: Texts, course: Course, confirmed: int) -> str:
    """Whether the course has its minimum of participants ("" when it has none)."""
    _ = t.gettext
    minimum = course.min_participants
    if not minimum:
        return ""
    if confirmed >= minimum:
        return _("Minimum number of participants ({minimum}) reached.").format(minimum=minimum)
    missing = minimum - confirmed
    return t.ngettext(
        "⚠️ Minimum number of participants: {minimum}; {missing} person is still missing. "
        "Please agree with the training office whether the course takes place.",
        "⚠️ Minimum number of participants: {minimum}; {missing} people are still missing. "
        "Please agree with the training office whether the course takes place.",
        missing,
    ).format(minimum=minimum, missing=missing)


def overview(t: Texts, fills: list[CourseFill]) -> str:
    """/teilnehmer alone: each course not yet ended, how full it is, soonest first."""
    _ = t.gettext
    if not fills:
        return _("There are no open courses at the moment.")
    lines = [_("<b>Courses</b> (in order of their start)")]
    for fill in fills:
        course = fill.course
        taken = t.ngettext(
            "{confirmed} of {seats} seat taken", "{confirmed} of {seats} seats taken", fill.seats
        ).format(confirmed=fill.confirmed, seats=fill.seats)
        line = (
            f"{escape(course.code)} · {t.short(course.start_at)} · {escape(course.title[:40])}"
            f" · {taken}"
        )
        if fill.waiting:
            line += " · " + _("waiting list: {n}").format(n=fill.waiting)
        if course.min_participants and fill.confirmed < course.min_participants:
            line += " · ⚠️ " + _("minimum: {n}").format(n=course.min_participants)
        lines.append(line)
    lines += ["", _("/participants CODE shows a course's participants.")]
    return "\n".join(lines)


def lead_help(t: Texts, led: list[Course]) -> str:
    """Under /hilfe for a course lead who is not an admin: their commands and courses."""
    _ = t.gettext
    courses = "\n".join(
        f"{escape(c.code)} · {t.short(c.start_at)} · {escape(c.title[:40])}" for c in led
    )
    return (
        _(
            "<b>For course leads</b>\n\n"
            "/participants [CODE] – your courses, or one course's participants, CSV and PDF\n"
            "/notifications on|off – messages about sign-ups and cancellations"
        )
        + "\n\n"
        + _("Your courses:")
        + "\n"
        + courses
    )


def last_admin_deleting(t: Texts) -> str:
    """Added to the /daten_loeschen question of the only admin when none is configured."""
    return t.gettext(
        "⚠️ You are the only person with admin rights. Without you nobody can manage courses "
        "until someone is listed in KURSBOT_ADMIN_IDS. Give someone else admin rights first "
        "with /newadmin."
    )


def lead_gone_notice(t: Texts, course: Course) -> str:
    """To the admins: a course's lead deleted their profile."""
    return t.gettext(
        "<b>{title}</b> ({code}) has no course lead any more: the lead deleted their profile. "
        "/lead {code} id|@name sets a new one."
    ).format(title=escape(course.title), code=escape(course.code))


def below_minimum_notice(t: Texts, course: Course, confirmed: int) -> str:
    """To the admins at the registration deadline: too few participants."""
    return t.ngettext(
        "⚠️ Registration for <b>{title}</b> ({code}) has closed with {confirmed} confirmed "
        "participant; the minimum is {minimum}. Please decide whether the course takes place: "
        "/participants {code} shows who is registered, /cancelcourse {code} cancels it.",
        "⚠️ Registration for <b>{title}</b> ({code}) has closed with {confirmed} confirmed "
        "participants; the minimum is {minimum}. Please decide whether the course takes place: "
        "/participants {code} shows who is registered, /cancelcourse {code} cancels it.",
        confirmed,
    ).format(
        title=escape(course.title),
        code=escape(course.code),
        confirmed=confirmed,
        minimum=course.min_participants,
    )


def split_lines(lines: list[str], limit: int = 4000) -> list[str]:
    """Lines joined into as few messages of at most ``limit`` characters as they fit."""
    return _split("\n".join(lines), limit) if lines else []


def _split(text: str, limit: int = 4000) -> list[str]:
    """Splits at line ends into messages of at most ``limit`` characters."""
    parts, current = [], ""
    for line in text.split("\n"):
        if current and len(current) + len(line) + 1 > limit:
            parts.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line[:limit]
    parts.append(current)
    return parts


def lead_list(
    t: Texts, listing: ParticipantList, marks: dict[int, str], gone: list[str], *, first: bool
) -> list[str]:
    """The scheduled list for a lead, with changes since their previous list marked."""
    _ = t.gettext
    course = listing.course
    lines = [
        _("📋 Participant list of <b>{title}</b> ({code}), {when}").format(
            title=escape(course.title), code=escape(course.code), when=t.when(course.start_at)
        )
    ]
    if not first:
        lines.append(_("Changes since your last list are marked."))
    minimum = minimum_line(t, course, sum(len(rows) for rows in listing.confirmed.values()))
    if minimum:
        lines.append(minimum)
    for code, rows in listing.confirmed.items():
        lines += ["", f"<b>{escape(code)}</b> ({len(rows)})"]
        lines += [
            f"{i}. {escape(p.name or '–')}"
            + (f" – <i>{marks[p.registration_id]}</i>" if p.registration_id in marks else "")
            for i, p in enumerate(rows, 1)
        ]
    if listing.waiting:
        lines += ["", _("<b>Waiting list</b> ({n})").format(n=len(listing.waiting))]
        lines += [
            f"{i}. {escape(p.name or '–')} ({escape(p.agency_code)})"
            + (f" – <i>{marks[p.registration_id]}</i>" if p.registration_id in marks else "")
            for i, p in enumerate(listing.waiting, 1)
        ]
    if gone:
        lines += ["", _("<b>Cancelled since the last list</b>")]
        lines += [f"– {escape(name)}" for name in gone]
    return _split("\n".join(lines))


def status(t: Texts, state: Any) -> str:
    """/status: pending and failed work, the next due time."""
    _ = t.gettext
    lines = [
        _("<b>Status</b>"),
        _("Pending tasks: {n}").format(n=state.pending_tasks),
        _("Messages waiting to be sent: {n}").format(n=state.pending_messages),
        _("Next due: {when}").format(when=t.when(state.next_due) if state.next_due else "–"),
        _("Courses anonymised after the retention period: {n}").format(n=state.anonymised_courses),
        _("Next anonymisation: {what}").format(
            what=f"{escape(state.next_anonymisation[0])}, {t.when(state.next_anonymisation[1])}"
            if state.next_anonymisation
            else "–"
        ),
        _("Failed messages: {n}").format(n=len(state.failed)),
    ]
    lines += [f"• {escape(key)}: {escape(error or '')}" for key, error in state.failed]
    return "\n".join(lines)


def list_labels(t: Texts, course: Course, lead: Person | None, now: datetime) -> ListLabels:
    """Column names and words of the CSV and PDF files; ``now`` is the time of printing."""
    _ = t.gettext
    return ListLabels(
        columns=(_("Agency"), _("Rank"), _("Name"), _("Status"), _("Position"), _("Signed up")),
        confirmed=_("confirmed"),
        waiting=_("waiting list"),
        signature=_("Signature"),
        page=_("Page {page} of {pages}"),
        when=_("Dates: {when}").format(when=t.span(course.start_at, course.end_at)),
        lead=_("Course lead: {name}").format(name=lead.name) if lead else "",
        heading=_("Attendance list"),
        place=_("Place: {place}").format(place=course.location),
        agencies=_("Agencies: {names}"),
        printed=_("Printed: {when}").format(when=t.when(now)),
        days=tuple(t.day(day.day) for day in course_days(course)),
    )


def lead_update(t: Texts, course: Course, person: Person, agency: str, what: str) -> str:
    """To a lead: someone signed up, cancelled or moved up (with the course's title: a lead
    of several courses reads the digest without looking codes up)."""
    return t.gettext("📋 {title} ({code}): {name} ({agency}) – {what}").format(
        title=escape(course.title),
        code=escape(course.code),
        name=escape(person.name),
        agency=escape(agency),
        what=what,
    )


def free_seat_for_lead(t: Texts, course: Course) -> str:
    """To a lead: a seat became free in the last day; nobody was moved up."""
    return t.gettext(
        "A seat in <b>{title}</b> became free less than 24 hours before the start. The waiting "
        "list was not moved up; please fill the seat yourself if someone can still come."
    ).format(title=escape(course.title))


def notifications(t: Texts, on: bool) -> str:
    """/mitteilungen."""
    _ = t.gettext
    return (
        _("You will be told of every sign-up and cancellation on your courses.")
        if on
        else _("You will no longer be told of sign-ups and cancellations.")
    )


def notifications_state(t: Texts, on: bool) -> str:
    """/mitteilungen alone: the setting as it is, and how to change it."""
    _ = t.gettext
    state = (
        _("Messages about sign-ups and cancellations on your courses are on.")
        if on
        else _("Messages about sign-ups and cancellations on your courses are off.")
    )
    return state + " " + _("/notifications on or /notifications off changes that.")


def audit_log(t: Texts, page: LogPage) -> str:
    """/protokoll: a page of the log as a training office reads it: Berlin time, who, what,
    which course, and each change as "Beginn: 12.03.2027 09:00 → 19.03.2027 09:00"."""
    _ = t.gettext
    if not page.lines:
        return _("The audit log is empty.")
    head = _("<b>Audit log</b> (newest first, page {page} of {pages})").format(
        page=page.page + 1, pages=page.pages
    )
    blocks = [head]
    for line in page.lines:
        what = _(ACTIONS.get(line.action, line.action))
        text = f"{t.short_with_year(line.at)} · {escape(audit_actor(t, line))} · {what}"
        if line.course_code:
            text += f" · {escape(line.course_code)} {escape(line.course_title or '')}"
        if line.subject:
            text += f" · {escape(line.subject)}"
        for change in line.changes:
            if not change.had_before and change.after in (None, "", {}):
                continue  # a field left empty when the course was created
            text += "\n    " + escape(audit_change(t, change))
        blocks.append(text)
    return truncate("\n\n".join(blocks))


def audit_actor(t: Texts, line: LogLine) -> str:
    """Who did it, in words."""
    if line.who_kind == "person" and line.who:
        return line.who
    if line.who_kind == "deleted":
        return t.gettext("a person whose data was deleted")
    if line.who_kind == "telegram":
        return t.gettext("admin from the settings (id {id})").format(id=line.who_telegram_id)
    return t.gettext("Kursbot itself")  # timed work (release, retention), the demo, the CLI


_AUDIT_FIELDS = {
    "is_admin": _("admin role"),
    "status": _("status"),
    "reason": _("reason"),
    "code": _("code"),
    "name": _("name"),
    "agency": _("agency"),
    "promoted": _("moved up"),
    "demoted": _("moved back to the waiting list"),
}
_FORM_FIELD = {"lead_id": "lead"}


def audit_change(t: Texts, change: Change) -> str:
    """One change: "Label: before → after", or "Label: value" where there was none."""
    name = _FORM_FIELD.get(change.field, change.field)
    if name in KEYS:
        key = KEYS[name][0 if t.language == "de" else 1]
        label = key[0].upper() + key[1:]
    else:
        label = t.gettext(_AUDIT_FIELDS.get(name, name))
    after = _audit_value(t, change.after)
    if not change.had_before:
        return f"{label}: {after}"
    return f"{label}: {_audit_value(t, change.before)} → {after}"


def _audit_value(t: Texts, value: object) -> str:
    if value is None:
        return "–"
    if value == DELETED:
        return t.gettext("deleted person")
    if isinstance(value, bool):
        return t.gettext("yes") if value else t.gettext("no")
    if isinstance(value, datetime):
        return value.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def audit_csv_rows(t: Texts, lines: list[LogLine]) -> list[list[str]]:
    """The log as table rows (one per change), for the CSV file."""
    _ = t.gettext
    rows = [[_("time"), _("who"), _("action"), _("course"), _("title"), _("change")]]
    for line in lines:
        base = [
            line.at.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M"),
            audit_actor(t, line),
            _(ACTIONS.get(line.action, line.action)),
            line.course_code or "",
            line.course_title or "",
        ]
        changes = [audit_change(t, c) for c in line.changes] or [""]
        rows += [[*base, change] for change in changes]
    return rows


# The form's keys as an admin of each language would type them (both are always accepted).
_EDIT_KEYS = (
    "title",
    "start_at",
    "end_at",
    "location",
    "registration_deadline",
    "cancellation_deadline",
    "release_at",
    "min_participants",
    "lead",
    "description",
)
_FORM_ROOM = 3600  # characters for the form; the rest of Telegram's 4,096 for the words around


def edit_form(t: Texts, course: Course, lead_telegram_id: int | None) -> str:
    """/kurs_bearbeiten <code> alone: the course's values as a form to copy, change and send.

    Dates in Europe/Berlin as TT.MM.JJJJ HH:MM; the lead as Telegram id; seats are changed
    with /kontingent. A description too long for one message is left out (and said so).
    """
    _ = t.gettext
    values: dict[str, object | None] = {
        "title": course.title,
        "start_at": course.start_at,
        "end_at": course.end_at,
        "location": course.location,
        "registration_deadline": course.registration_deadline,
        "cancellation_deadline": course.cancellation_deadline,
        "release_at": course.release_at,
        "min_participants": course.min_participants or None,
        "lead": lead_telegram_id,
        "description": course.description or None,
    }
    index = 0 if t.language == "de" else 1
    lines: dict[str, str] = {}
    for name in _EDIT_KEYS:
        value = values[name]
        if value is None:
            continue
        if isinstance(value, datetime):
            value = value.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
        key = KEYS[name][index]
        lines[name] = f"{key[0].upper()}{key[1:]}: {value}"
    command = f"/{commands.name('kurs_bearbeiten', t.language)} {course.code}"
    form = escape("\n".join([command, *lines.values()]))
    note = ""
    if len(form) > _FORM_ROOM:
        lines.pop("description")
        form = escape("\n".join([command, *lines.values()]))
        note = "\n" + _(
            "The description is too long to show here; it stays as it is unless you add it."
        )
    head = _(
        "Course {code}: copy the form, change what should change, leave out what should stay "
        "as it is, and send it. Seats: /quota."
    ).format(code=escape(course.code))
    return f"{head}\n\n<pre>{form}</pre>{note}"


def form_in_dialog(t: Texts) -> str:
    """A whole course form pasted as the answer to the dialog's first question."""
    return t.gettext(
        "That looks like a whole course form. Send it as one message beginning with /newcourse "
        "(leave this dialog with /cancel first), or answer the question: the course's title."
    )


def finish_joining_first(t: Texts) -> str:
    """/kurs_neu while the same admin's joining dialog is open: one dialog at a time."""
    return t.gettext(
        "You are in the middle of registering. Finish that first, or leave it with /cancel; "
        "then send /newcourse again."
    )


def question_expired(t: Texts) -> str:
    """ "Ja" under a question older than a dialog lives (`kurse.dialogs.EXPIRY`)."""
    return t.gettext(
        "This question is more than half an hour old and no longer valid. "
        "Please send the command again."
    )


def finish_course_dialog_first(t: Texts) -> str:
    """/start while the same admin's /kurs_neu dialog is open: one dialog at a time."""
    return t.gettext(
        "You are in the middle of creating a course. Finish that first, or leave it with "
        "/cancel; then send /start again."
    )
