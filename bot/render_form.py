"""The guided /kurs_neu in words: each step's question and what is wrong with an answer.

The steps and their order are `kurse.forms.DIALOG_FIELDS`; the problems are the
`kurse.forms.Problem` values that the same rules return for the one-message form.
"""

from __future__ import annotations

from html import escape

from bot.i18n import Texts, _
from bot.render_admin import FIELDS, REASONS
from kurse.days import CourseDay
from kurse.forms import BY_NAME, DIALOG_FIELDS, Problem, Reason

STEPS = len(DIALOG_FIELDS) + 1  # and the summary to confirm

QUESTIONS = {
    "title": _("Step {step} of {steps}: What is the course's title?"),
    "start_at": _("Step {step} of {steps}: When does the course start? (DD.MM.YYYY HH:MM)"),
    "end_at": _("Step {step} of {steps}: When does the course end? (DD.MM.YYYY HH:MM)"),
    "location": _("Step {step} of {steps}: Where does the course take place?"),
    "registration_deadline": _(
        "Step {step} of {steps}: Until when can people sign up? (DD.MM.YYYY or DD.MM.YYYY HH:MM)"
    ),
    "seats": _(
        "Step {step} of {steps}: How many seats does each agency get? Choose an agency, then "
        "type its number of seats; press “Done” when all are set."
    ),
    "lead": _(
        "Step {step} of {steps}: Who leads the course? Please send their Telegram id or "
        "@username, or press “Skip”."
    ),
    "description": _(
        "Step {step} of {steps}: Please send a description for the participants, or press “Skip”."
    ),
}

# What is wrong with an answer, by reason; {field} is the field's name, {limit} the bound.
_BY_REASON = {
    Reason.EMPTY: _("{field}: nothing was given. Please send it, or /cancel."),
    Reason.TOO_SHORT: _(
        "{field}: too short, at least {limit} characters. Please send a longer one, or /cancel."
    ),
    Reason.TOO_LONG: _(
        "{field}: too long, at most {limit} characters. Please send a shorter one, or /cancel."
    ),
    Reason.NOTHING_VISIBLE: _(
        "{field}: no visible letters or digits. Please write it with letters or digits, or "
        "/cancel."
    ),
    Reason.CONTROL_CHARACTERS: _(
        "{field}: contains control characters. Please send plain text, or /cancel."
    ),
    Reason.BAD_DATE: _("That is not a date. Please write DD.MM.YYYY HH:MM."),
    Reason.TOO_FAR_AHEAD: _("This lies more than five years ahead. Please give an earlier start."),
    Reason.NOT_AFTER_START: _("The end must be after the start."),
    Reason.OUT_OF_RANGE: _("Please type a whole number from 0 to {limit}."),
    Reason.BAD_DAYS: _(
        "“{value}” is not a course day. Please write the days like this: "
        "12.03.2027 09:00-16:00; 13.03.2027 08:00-12:00"
    ),
    Reason.DAY_TOO_LONG: _(
        "The day {value} ends before it starts or lasts more than 24 hours. Please correct it."
    ),
    Reason.DAYS_OVERLAP: _(
        "The day {value} overlaps the day before it or is on the same date. Please give the "
        "days in order, one per date."
    ),
    Reason.TOO_MANY_DAYS: _("A course has at most {limit} days. Please give fewer."),
    Reason.TOO_MANY_LINES: _(
        "The description has more than {limit} lines, more than a course form holds. Please "
        "send a shorter one, or press “Skip”."
    ),
    Reason.READS_AS_KEY: _(
        "The line “{value}” of the description would be read as a field of the course form. "
        "Please write it differently (without the colon, say), or press “Skip”."
    ),
}
# Reasons whose sentence depends on the field.
_BY_FIELD = {
    ("start_at", Reason.IN_PAST): _("This lies in the past. Please give a later start."),
    ("end_at", Reason.TOO_LONG): _(
        "A course lasts at most {limit} days; this end lies further after the start. Please "
        "give an earlier end."
    ),
    ("registration_deadline", Reason.IN_PAST): _(
        "The registration deadline must lie between now and the start."
    ),
    ("registration_deadline", Reason.AFTER_START): _(
        "The registration deadline must lie between now and the start."
    ),
    ("registration_deadline", Reason.BAD_DATE): _(
        "That is not a date. Please write DD.MM.YYYY or DD.MM.YYYY HH:MM."
    ),
}


def question(t: Texts, name: str) -> str:
    """The dialog's question for field ``name``, with its step number."""
    step = BY_NAME[name].step
    return t.gettext(QUESTIONS[name]).format(step=step, steps=STEPS)


def days_question(t: Texts, days: list[CourseDay]) -> str:
    """Asked from the summary: the course days as they are, and how to give others."""
    listed = "\n".join(f"• {t.span(d.start_at, d.end_at)}" for d in days)
    return t.gettext(
        "The course days now:\n{days}\n\nSend other days like this (they set start and end): "
        "12.03.2027 09:00-16:00; 13.03.2027 08:00-12:00 — or “standard” for each day from the "
        "start's time to the end's; “Skip” keeps them."
    ).format(days=listed)


def check_course(t: Texts, form: str, days: list[CourseDay]) -> str:
    """The last step: the answers as a course form, and its course days, to confirm."""
    head = t.gettext("Step {step} of {steps}: Please check the course:").format(
        step=STEPS, steps=STEPS
    )
    listed = "\n".join(f"• {t.span(d.start_at, d.end_at)}" for d in days)
    return f"{head}\n\n{escape(form)}\n\n{t.gettext('Course days:')}\n{listed}"


def refusal(t: Texts, problem: Problem) -> str:
    """What is wrong with a dialog answer, and what to send instead."""
    _ = t.gettext
    text = _BY_FIELD.get((problem.field, problem.reason)) or _BY_REASON.get(problem.reason)
    field = _(FIELDS.get(problem.field, problem.field))
    if text is None:  # a reason without a sentence of its own: the form's words for it
        reason = _(REASONS.get(problem.reason, problem.reason)).format(value=problem.value)
        text = _("{field}: {reason}. Please try again, or /cancel.").format(
            field=field, reason=reason
        )
        return escape(text)
    return escape(_(text).format(field=field, limit=problem.limit, value=problem.value))


def unknown_lead(t: Texts) -> str:
    """The lead's answer names nobody who may lead a course."""
    return t.gettext(
        "Nobody with this Telegram id or @username has registered with Kursbot. Please send "
        "the Telegram id or @username of someone registered (/people finds them), or press "
        "“Skip”."
    )


def no_seats(t: Texts) -> str:
    """“Done” under the seats while every agency has none."""
    return t.gettext("At least one seat, please.")
