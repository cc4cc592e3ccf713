"""Texts about courses for admins, and the notices their changes send to officers."""

from __future__ import annotations

from html import escape

from bot import render
from bot.i18n import Texts
from bot.render_admin import FIELDS
from kurse.courses import CourseEdit
from kurse.days import DayWarning
from kurse.models import Course, Person
from kurse.quotas import QuotaChange


def course_created(t: Texts, course: Course) -> str:
    """A course created."""
    return t.gettext("Course <b>{code}</b> created: {title}, {when}, {location}.").format(
        code=escape(course.code),
        title=escape(course.title),
        when=t.span(course.start_at, course.end_at),
        location=escape(course.location),
    ) + "".join(f"\n{line}" for line in render.day_lines(t, course))


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
