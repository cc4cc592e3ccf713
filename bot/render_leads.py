"""Texts for course leads: participant lists (the asked and the scheduled one), the
course overview, the file labels, the notices of sign-ups and cancellations."""

from __future__ import annotations

from datetime import datetime
from html import escape

from bot.i18n import Texts, _
from bot.render import and_more, cut_at_word, short_date, split_lines, split_text
from kurse.admin import CourseFill
from kurse.days import course_days
from kurse.exports import ListLabels
from kurse.lead_news import MAX_LINES, News, NewsLine
from kurse.models import Course, Person, RegistrationStatus
from kurse.registration_lists import ParticipantList


def not_lead(t: Texts) -> str:
    """A lead's list asked for by someone else."""
    return t.gettext("Only the course's lead and the admins may see its participants.")


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
    if listing.held:
        blocks.append("\n".join(held_lines(t, listing)))
    if listing.waiting:
        lines = [_("<b>Waiting list</b> ({n})").format(n=len(listing.waiting))]
        lines += [  # with the rank, as in the confirmed list
            f"{i}. {escape(p.name or '–')}"
            + (f", {escape(p.rank)}" if p.rank else "")
            + f" ({escape(p.agency_code)})"
            for i, p in enumerate(listing.waiting, 1)
        ]
        blocks.append("\n".join(lines))
    return split_text("\n\n".join(blocks))


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


def overview(t: Texts, fills: list[CourseFill], now: datetime) -> str:
    """/teilnehmer alone: each course not yet ended, how full it is, soonest first (the date
    with its year when it is not this year's, the title cut at a word)."""
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
            f"{escape(course.code)} · {short_date(t, course.start_at, now)}"
            f" · {escape(cut_at_word(course.title, 40))}"
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
            "/stats [period] – the figures of your courses; /report [period] – as PDF\n"
            "/notifications on|off – messages about sign-ups and cancellations"
        )
        + "\n\n"
        + _("Your courses:")
        + "\n"
        + courses
    )


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
    if listing.held:
        lines += ["", *held_lines(t, listing, marks)]
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
    return split_text("\n".join(lines))


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
        requested=_("requested"),
        offered=_("offered"),
        held=_("Seats held, not yet confirmed (approval or offer pending)"),
    )


# What happened, as the lead's news says it of one officer.
NEWS = {
    News.SIGNED_UP: _("signed up"),
    News.WAITING: _("joined the waiting list"),
    News.CANCELLED: _("cancelled"),
    News.LEFT_WAITING: _("left the waiting list"),
    News.MOVED_UP: _("moved up"),
    News.MOVED_DOWN: _("moved back to the waiting list"),
    News.REQUESTED: _("requested a seat, waits for their agency's approval"),
    News.APPROVED: _("approved by their agency"),
    News.REFUSED: _("not approved by their agency"),
    News.APPROVAL_EXPIRED: _("not decided in time by their agency, seat freed"),
    News.OFFERED: _("was offered the free seat"),
    News.ACCEPTED: _("accepted the offered seat"),
    News.DECLINED: _("declined the offered seat"),
    News.OFFER_EXPIRED: _("let the offered seat expire"),
}


def lead_news(t: Texts, course: Course, lines: list[NewsLine]) -> list[str]:
    """To a lead: the changes of their list since the last news, one line each (with the
    course's title: a lead of several courses reads it without looking codes up), at most
    `kurse.lead_news.MAX_LINES`, split below Telegram's limit."""
    shown = []
    for line in lines[:MAX_LINES]:
        if line.news == News.FREE_SEAT:
            shown.append(free_seat_for_lead(t, course))
            continue
        if line.news == News.FREE_SEAT_NO_TIME:
            shown.append(free_seat_no_time(t, course))
            continue
        name = line.name if line.name is not None else t.gettext("deleted person")
        shown.append(lead_update(t, course, name, line.agency, t.gettext(NEWS[line.news])))
    if len(lines) > MAX_LINES:
        shown.append(and_more(t, len(lines) - MAX_LINES))
    return split_lines(shown)


def lead_update(t: Texts, course: Course, name: str, agency: str, what: str) -> str:
    """One line of a lead's news: who (name and agency) and what happened."""
    return t.gettext("📋 {title} ({code}): {name} ({agency}) – {what}").format(
        title=escape(course.title),
        code=escape(course.code),
        name=escape(name),
        agency=escape(agency),
        what=what,
    )


def free_seat_for_lead(t: Texts, course: Course) -> str:
    """To a lead: a seat became free in the last day; nobody was moved up."""
    return t.gettext(
        "A seat in <b>{title}</b> became free less than 24 hours before the start. The waiting "
        "list was not moved up; please fill the seat yourself if someone can still come."
    ).format(title=escape(course.title))


def free_seat_no_time(t: Texts, course: Course) -> str:
    """To a lead: a seat became free too late for an offer or an approval to run two hours."""
    return t.gettext(
        "A seat in <b>{title}</b> became free, too late for an offer or an approval to run its "
        "time. The waiting list was not moved up; please fill the seat yourself if someone can "
        "still come."
    ).format(title=escape(course.title))


def held_lines(
    t: Texts, listing: ParticipantList, marks: dict[int, str] | None = None
) -> list[str]:
    """The seats held for an approval or an offer, apart from the confirmed ("" if none)."""
    if not listing.held:
        return []
    _ = t.gettext
    lines = [_("<b>Seats held, not yet confirmed</b> ({n})").format(n=len(listing.held))]
    for i, p in enumerate(listing.held, 1):
        state = _("requested") if p.status == RegistrationStatus.REQUESTED else _("offered")
        mark = (
            f" – <i>{marks[p.registration_id]}</i>" if marks and p.registration_id in marks else ""
        )
        lines.append(
            f"{i}. {escape(p.name or '–')}"
            + (f", {escape(p.rank)}" if p.rank else "")
            + f" ({escape(p.agency_code)}) – {state}{mark}"
        )
    return lines


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
