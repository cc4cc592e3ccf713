"""Texts of attendance (issue 18): a course day's sheet for the lead, the refusals, the unlock."""

from __future__ import annotations

from html import escape

from bot.i18n import Texts, _
from kurse.attendance import Line, Sheet
from kurse.checkin import WINDOW, CheckedIn, ShownCode
from kurse.checkin_display import Closed
from kurse.clock import BERLIN
from kurse.errors import AttendanceLocked, DayNotStarted, DomainError, NoCourseDay
from kurse.models import AttendanceState, Course

MARKS = {
    AttendanceState.PRESENT: "✅",
    AttendanceState.ABSENT: "❌",
    AttendanceState.EXCUSED: "🟡",
    None: "▫️",
}
STATES = {
    AttendanceState.PRESENT: _("present"),
    AttendanceState.ABSENT: _("absent"),
    AttendanceState.EXCUSED: _("excused"),
    None: _("not recorded"),
}


def sheet(t: Texts, day_sheet: Sheet) -> str:
    """A course day's attendance: the day, the counts, how the buttons work, a lock."""
    _ = t.gettext
    course, day = day_sheet.course, day_sheet.day
    counts = " · ".join(
        f"{MARKS[state]} {_(STATES[state])}: {day_sheet.count(state)}" for state in MARKS
    )
    lines = [
        _("<b>Attendance</b> {title} ({code})").format(
            title=escape(course.title), code=escape(course.code)
        ),
        _("Day {number} of {days}: {span}").format(
            number=day_sheet.index + 1, days=day_sheet.days, span=t.span(day.start_at, day.end_at)
        ),
        counts,
    ]
    if not day_sheet.lines:
        lines.append(_("Nobody is confirmed for this course."))
    elif day_sheet.locked:
        lines.append(locked(t, course))
    else:
        lines.append(
            _(
                "Press a person to change their state: present → absent → excused → present. "
                "Each press is kept at once."
            )
        )
    return "\n".join(lines)


def button(line: Line) -> str:
    """One participant's button: the mark of their state, the name, rank and agency."""
    name = line.name if line.name is not None else "—"
    rank = f"{line.rank} " if line.rank else ""
    return f"{MARKS[line.state]} {rank}{name} ({line.agency_code})"[:64]


def which_day(t: Texts, course: Course) -> str:
    """/anwesenheit on a course none of whose days is today: which day?"""
    return t.gettext("Which day of {title} ({code})?").format(
        title=escape(course.title), code=escape(course.code)
    )


def locked(t: Texts, course: Course) -> str:
    """The attendance is locked."""
    return t.gettext(
        "🔒 The attendance of {code} is locked (7 days after the course's end). An admin can "
        "open it again with /unlockattendance {code}."
    ).format(code=escape(course.code))


def unlocked(t: Texts, course: Course) -> str:
    """An admin unlocked the attendance."""
    assert course.attendance_unlocked_until is not None
    return t.gettext(
        "The attendance of {code} can be changed again until {until}; the audit log says who "
        "opened it."
    ).format(code=escape(course.code), until=t.when(course.attendance_unlocked_until))


def refusal(t: Texts, error: DomainError) -> str | None:
    """The words for an attendance error, or None for one that is not."""
    _ = t.gettext
    if isinstance(error, AttendanceLocked):
        return _(
            "The attendance is locked since {since}. An admin can open it again with "
            "/unlockattendance."
        ).format(since=t.when(error.since))
    if isinstance(error, DayNotStarted):
        return _("The course day {day} has not begun yet.").format(day=t.day(error.day))
    if isinstance(error, NoCourseDay):
        if error.given is None:
            return _("This course day no longer exists; please send /attendance again.")
        return _("{day} is not a day of this course.").format(day=t.day(error.given))
    return None


def usage(t: Texts) -> str:
    """/anwesenheit without a course code."""
    return t.gettext(
        "Please write it like this: /attendance K-2027-001 (today's day) or "
        "/attendance K-2027-001 12.03.2027"
    )


def officer_help(t: Texts) -> str:
    """The officers' line of /hilfe about certificates."""
    return t.gettext("/certificates – your certificates of attendance")


def lead_help(t: Texts, *, admin: bool) -> str:
    """Under /hilfe for admins and leads: attendance and certificates."""
    _ = t.gettext
    text = _(
        "<b>Attendance and certificates</b>\n"
        "/attendance CODE [DD.MM.YYYY] – who is present, a button per person\n"
        "/closeattendance CODE – after the last day: the certificates go out\n"
        "/verify CODE – is a certificate genuine?"
    )
    if admin:
        text += "\n" + _("/unlockattendance CODE – open a locked attendance again")
    return text


# --- self check-in -----------------------------------------------------------------------------


def checkin_code(t: Texts, shown: ShownCode, link: str) -> str:
    """The caption of the check-in QR code the lead shows."""
    valid = shown.renewed_at + WINDOW
    return t.gettext(
        "Check-in for <b>{title}</b> ({code}), day {number}: code <b>{checkin}</b>\n"
        "Participants type the code in their chat with Kursbot, or scan the picture "
        "({link}). This message shows the new code every two minutes (next at {time}) until "
        "the day ends; a code is taken two minutes longer."
    ).format(
        title=escape(shown.course.title),
        code=escape(shown.course.code),
        number=shown.index + 1,
        checkin=shown.code,
        link=escape(link),
        time=valid.astimezone(BERLIN).strftime("%H:%M"),
    )


def checkin_closed(t: Texts, course: Course, why: Closed) -> str:
    """The caption of a check-in message that shows no new code any more."""
    _ = t.gettext
    texts = {
        Closed.DAY_OVER: _("The check-in for <b>{title}</b> ({code}) is closed: the day is over."),
        Closed.REPLACED: _(
            "This check-in code for <b>{title}</b> ({code}) is no longer valid: the current "
            "one is in the newer message below."
        ),
        Closed.NOT_LEAD: _(
            "This check-in code for <b>{title}</b> ({code}) is no longer renewed: you do not "
            "lead the course any more."
        ),
        Closed.COURSE_CHANGED: _(
            "This check-in code for <b>{title}</b> ({code}) is no longer renewed: the course "
            "was cancelled or its days changed. Send /checkin {code} for the current code."
        ),
    }
    return texts[why].format(title=escape(course.title), code=escape(course.code))


def checked_in(t: Texts, done: CheckedIn) -> str:
    """An officer's check-in."""
    _ = t.gettext
    text = (
        _("You were already marked present for {title}, {day}.")
        if done.already
        else _("✅ Checked in: you are marked present for {title}, {day}.")
    )
    return text.format(title=escape(done.course.title), day=t.day(done.day.day))


def checkin_refused(t: Texts) -> str:
    """A code that opens no check-in now."""
    return t.gettext(
        "This code opens no check-in now: it may be older than four minutes, of another day "
        "or mistyped. Please type the code the course lead shows now."
    )


def checkin_not_confirmed(t: Texts) -> str:
    """A check-in by someone without a confirmed seat in the course."""
    return t.gettext(
        "You have no confirmed seat in this course, so you cannot check in. Please speak to "
        "the course lead."
    )


def checkin_usage(t: Texts) -> str:
    """/checkin without a course code."""
    return t.gettext("Please write it like this: /checkin K-2027-001")
