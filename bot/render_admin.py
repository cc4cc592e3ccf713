"""Texts every admin command shares (refusals, usage lines, a question expired) and the course
form: its field names and reasons, its errors, the edit form, the guided dialog's clashes.

What each admin feature says is in its own module: `bot.render_courses`,
`bot.render_agencies`, `bot.render_people`, `bot.render_operations`, `bot.render_leads`
(and `bot.render` for officers).
"""

from __future__ import annotations

from html import escape

from bot import commands
from bot.i18n import Texts, _
from kurse import forms
from kurse.forms import FormError
from kurse.models import Course

FIELDS = {
    "title": _("Title"),
    "start_at": _("Start"),
    "end_at": _("End"),
    "days": _("Course days"),
    "min_attendance": _("Minimum attendance"),
    "location": _("Location"),
    "registration_deadline": _("Registration deadline"),
    "cancellation_deadline": _("Cancellation deadline"),
    "release_at": _("Release date"),
    "min_participants": _("Minimum participants"),
    "seats": _("Seats"),
    "lead": _("Lead"),
    "lead_id": _("Lead"),
    "host": _("Host agency"),
    "host_agency_id": _("Host agency"),
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
    "bad_days": _(
        "not a course day: “{value}” (write 12.03.2027 09:00-16:00; 13.03.2027 08:00-12:00)"
    ),
    "day_too_long": _("a day ends before it starts or lasts more than 24 hours: {value}"),
    "days_overlap": _("a day overlaps the one before or is on the same date: {value}"),
    "days_mismatch": _(
        "start and end must be the first day's start and the last day's end (leave them out "
        "and the days set them; “standard” goes back to the days of start and end)"
    ),
    "too_many_days": _("too many days"),
}


def not_admin(t: Texts) -> str:
    """An admin command from someone who is not (or no longer) an admin."""
    return t.gettext("This needs admin rights.")


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
    "genehmigung_neu": _("/newapprover PP-OFR @name"),
    "genehmigung_entfernen": _("/removeapprover PP-OFR @name"),
    "dienststelle_genehmigung": _("/agencyapproval PP-OFR on"),
    "ablehnen": _("/refuse 17 reason"),
    "anwesenheit_entsperren": _("/unlockattendance K-2027-001"),
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


def field_error(t: Texts, field_name: str, reason_code: str) -> str:
    """A wrong value outside a form (seats, a reason)."""
    _ = t.gettext
    field = _(FIELDS.get(field_name, field_name))
    reason = _(REASONS.get(reason_code, reason_code))
    return _("{field}: {reason}.").format(field=field, reason=reason.format(value=""))


_FORM_ROOM = 3600  # characters for the form; the rest of Telegram's 4,096 for the words around


def edit_form(
    t: Texts, course: Course, lead_telegram_id: int | None, host_code: str | None = None
) -> str:
    """/kurs_bearbeiten <code> alone: the course's values as a form to copy, change and send.

    Written from the form's table (`kurse.forms.render_course_form`) with the reader's keys,
    so that the form sent back unchanged changes nothing: dates in Europe/Berlin as
    TT.MM.JJJJ HH:MM, the lead as Telegram id; seats are changed with /kontingent. A value
    the form would not read back as it is (a description too long for one message, or with
    a line that reads as a field) is left out, and said so: left out, it stays as it is.
    """
    _ = t.gettext
    values = forms.course_values(course, lead_telegram_id, host_code)
    skipped = forms.left_out(values, t.language)
    lines = forms.render_course_form(
        {name: value for name, value in values.items() if name not in skipped}, t.language
    )
    command = f"/{commands.name('kurs_bearbeiten', t.language)} {course.code}"
    form = escape("\n".join([command, *lines]))
    note = ""
    if skipped:
        note = "\n" + _(
            "Not shown, as the form could not give them back exactly: {fields}. They stay as "
            "they are unless you add them."
        ).format(fields=", ".join(_(FIELDS.get(name, name)) for name in skipped))
    elif len(form) > _FORM_ROOM:
        lines = forms.render_course_form({**values, "description": None}, t.language)
        form = escape("\n".join([command, *lines]))
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
