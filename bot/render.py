"""Texts the bot sends, as pure functions of domain values and the reader's `Texts`.

Everything a user reads is built here from catalog strings (``_`` / ``ngettext``), with the
user's own content escaped for Telegram's HTML mode.
"""

from __future__ import annotations

import re
from datetime import datetime
from html import escape
from typing import Any

from bot.i18n import Texts
from kurse.courses import CourseListing, CoursePage
from kurse.days import course_days
from kurse.errors import ApprovalTooLate, CourseNotOpen, DomainError, InvalidInput, NotFound
from kurse.models import Agency, Course, CourseStatus, Person, RegistrationStatus
from kurse.registration_lists import MyRegistration
from kurse.registrations import SignUpResult
from kurse.search import CourseQuery

MAX_MESSAGE = 4096


def welcome_ask_code(t: Texts) -> str:
    """First contact: what the bot is and what to send."""
    _ = t.gettext
    return _(
        "Welcome to Kursbot, the course registration of the joint police training.\n\n"
        "Please send the access code of your agency. Your training office gave it to you."
    )


def code_wrong(t: Texts) -> str:
    """A wrong access code."""
    _ = t.gettext
    return _("This access code is not valid. Please check it and send it again.")


def code_throttled(t: Texts, minutes: int) -> str:
    """Too many wrong codes."""
    return t.ngettext(
        "Too many wrong codes. Please try again in {n} minute.",
        "Too many wrong codes. Please try again in {n} minutes.",
        minutes,
    ).format(n=minutes)


def ask_name(t: Texts, agency: Agency) -> str:
    """After a right code: the agency, and the question for the name."""
    _ = t.gettext
    return _(
        "Agency: <b>{agency}</b>\n\n"
        "Please send your first and last name as they should appear on participant lists."
    ).format(agency=escape(agency.name))


def ask_rank(t: Texts) -> str:
    """The optional rank."""
    _ = t.gettext
    return _("Please send your rank (for example POK or KHK), or press “Skip”.")


def privacy_notice(t: Texts, retention_days: int, configured: str | None = None) -> str:
    """The information on the processing of the officer's data (Art. 13 GDPR): the text the
    operator configured (`KURSBOT_PRIVACY_NOTICE`, approved by the agencies' data-protection
    officers), or the built-in one. The agencies process these data to organise service
    training, not on consent: the officer acknowledges the information."""
    if configured is not None:
        return configured
    _ = t.gettext
    return _(
        "<b>Information on the processing of your data (Art. 13 GDPR)</b>\n\n"
        "<b>Controller:</b> the agency whose access code you use, for its officers; the "
        "agencies of the cooperation organise the joint courses together.\n"
        "<b>Purpose:</b> organising joint training and further education: registration, "
        "seats, waiting lists, reminders, participant and attendance lists.\n"
        "<b>Legal basis:</b> Art. 6(1)(e) GDPR with the civil-service and data-protection "
        "law of your agency's state (service training is part of your duties); not consent.\n"
        "<b>Data:</b> your Telegram id and username, name, rank, agency, language and your "
        "course registrations.\n"
        "<b>Recipients:</b> the leads of your courses and the training offices (admins) of the "
        "participating agencies. Messages pass through Telegram.\n"
        "<b>Storage:</b> the data of a course is anonymised {period} after it ended; your "
        "profile until you delete it.\n"
        "<b>Your rights:</b> access (/mydata), rectification (/profile), erasure "
        "(/deletedata), restriction and objection, and complaint to the data-protection "
        "supervisory authority of your state. The data-protection officer of your agency "
        "answers questions; your training office gives the contact.\n\n"
        "/privacy shows this information at any time."
    ).format(period=t.ngettext("{n} day", "{n} days", retention_days).format(n=retention_days))


def acknowledge_privacy(t: Texts) -> str:
    """The line below the privacy information when joining."""
    return t.gettext("Please confirm that you have read this information.")


def joined(t: Texts, person: Person, agency: Agency) -> str:
    """Joining is complete."""
    _ = t.gettext
    return _(
        "Welcome, {name}! You are now registered with {agency}.\n\n"
        "/courses shows the open courses, /my your registrations, /help all commands."
    ).format(name=escape(person.name), agency=escape(agency.name))


def already_joined(t: Texts, person: Person) -> str:
    """/start by someone who has joined."""
    _ = t.gettext
    return _("You are already registered as {name}. /help shows what you can do.").format(
        name=escape(person.name)
    )


def join_cancelled(t: Texts) -> str:
    """The officer left the joining dialog."""
    _ = t.gettext
    return _("Registration cancelled; nothing was stored. Send /start to begin again.")


def still_joining(t: Texts) -> str:
    """Anything else sent in the middle of joining."""
    return t.gettext(
        "You are in the middle of registering: please answer the last question first, "
        "or leave with /cancel."
    )


def not_joined(t: Texts) -> str:
    """Anyone who has not joined, whatever they send."""
    _ = t.gettext
    return _("Please register first with the access code of your agency: send /start.")


def help_text(t: Texts) -> str:
    """/hilfe."""
    _ = t.gettext
    return _(
        "<b>Kursbot – commands</b>\n\n"
        "/courses – open courses, sign up or join a waiting list\n"
        "/my – your registrations and waiting positions\n"
        "/profile – your name, rank and agency\n"
        "/language – Deutsch or English\n"
        "/mydata – everything stored about you\n"
        "/deletedata – delete your profile\n"
        "/privacy – how your data are processed\n"
        "/help – this overview"
    )


def admin_help(t: Texts) -> str:
    """The admin and lead commands, shown to admins under /hilfe."""
    _ = t.gettext
    return _(
        "<b>For admins</b>\n\n"
        "/newcourse – create a course (alone: step by step; with lines “Field: value”: at "
        "once)\n"
        "/editcourse CODE – a course as a form to change; with lines: change at once\n"
        "/cancelcourse CODE [reason] – cancel a course\n"
        "/quota CODE PP-OFR=10 PD-Z=8 – seats per agency\n"
        "/lead CODE id|@name – set the course lead\n"
        "/participants [CODE] – all courses, or one course's participants, CSV and PDF\n"
        "/agencies – the agencies; /newagency CODE Name – a new one\n"
        "/accesscode CODE – an agency's access code\n"
        "/newadmin id|@name, /removeadmin id|@name – give or take back admin rights\n"
        "/people Name – find a person\n"
        "/log [CODE] – audit log\n"
        "/status – pending and failed work\n"
        "/stats [period] – the figures per agency (table, chart, CSV); /report [period] – as "
        "PDF\n"
        "/notifications on|off – messages about sign-ups and cancellations on your courses\n"
        "/agencyapproval CODE on|off – whether an agency's sign-ups need approval\n"
        "/newapprover CODE id|@name, /removeapprover CODE id|@name – who approves for an "
        "agency"
    )


def nothing_to_cancel(t: Texts) -> str:
    """/abbrechen when no dialog is open."""
    return t.gettext("There is nothing to cancel right now. /help lists what you can do.")


def unknown_command(t: Texts) -> str:
    """A command the bot does not know."""
    _ = t.gettext
    return _("I do not know this command. /help lists what you can do.")


def plain_text(t: Texts) -> str:
    """Text outside any dialog."""
    _ = t.gettext
    return _("Please use the commands, for example /courses. /help lists them all.")


def slow_down(t: Texts) -> str:
    """After too many messages at once."""
    return t.gettext("That was a lot at once. Please wait a moment; the rest is ignored.")


def edit_not_read(t: Texts) -> str:
    """An edited message: the bot never acts on it."""
    return t.gettext(
        "Kursbot does not read edited messages: please send the corrected text as a new message."
    )


def stale_button(t: Texts) -> str:
    """A button whose data we cannot use (old, forged or broken)."""
    _ = t.gettext
    return _("This button is no longer valid. Please open the list again with /courses.")


def apology(t: Texts) -> str:
    """An unexpected error."""
    _ = t.gettext
    return _("Sorry, something went wrong. Please try again in a moment; the admins are told.")


def seats_label(t: Texts, listing: CourseListing) -> str:
    """Seats left for the viewer's agency, or that the course is full."""
    if listing.seats_left <= 0:
        return t.gettext("full – waiting list")
    return t.ngettext("{n} seat free", "{n} seats free", listing.seats_left).format(
        n=listing.seats_left
    )


def course_list(t: Texts, page: CoursePage, query: CourseQuery | None = None) -> str:
    """A page of the course list: each course with its dates, place and the seats left for
    the viewer's agency (the buttons below, in the same order, open the courses); with a
    search or a month, what was looked for."""
    _ = t.gettext
    looked_for = _looked_for(t, query)
    if not page.items:
        if looked_for:
            return _("No open course matches {what}. /courses shows all open courses.").format(
                what=looked_for
            )
        return _("There are no open courses at the moment.")
    head = _(
        "<b>Open courses</b> (page {page} of {pages})\n"
        "In order of their start; the seats shown are those left for your agency."
    ).format(page=page.page + 1, pages=page.pages)
    if looked_for:
        head = (
            _("<b>Open courses</b> matching {what} (page {page} of {pages})").format(
                what=looked_for, page=page.page + 1, pages=page.pages
            )
            + "\n"
            + _("Soonest first; the seats shown are those left for your agency.")
        )
    entries = [
        f"<b>{escape(item.course.title)}</b> ({escape(item.course.code)})\n"
        f"{t.span(item.course.start_at, item.course.end_at)} · {escape(item.course.location)}"
        f" · {seats_label(t, item)}"
        for item in page.items
    ]
    return "\n\n".join([head, *entries])


def _looked_for(t: Texts, query: CourseQuery | None) -> str:
    if query is None or query.empty:
        return ""
    if query.month is not None:
        return t.month(query.month)
    return (
        "„{}“".format(escape(" ".join(query.words)))
        if t.language == "de"
        else ("“{}”".format(escape(" ".join(query.words))))
    )


def cut_at_word(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters, cut after a whole word with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut and not text[limit - 1].isspace():
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:–-") + "…"


def short_date(t: Texts, moment: datetime, now: datetime | None) -> str:
    """A short date ("Fr. 12.03."), with the year when it is not this year's."""
    return (
        t.short(moment) if now is None or t.same_year(moment, now) else t.short_with_year(moment)
    )


def course_button(t: Texts, listing: CourseListing, now: datetime | None = None) -> str:
    """One course in the list, short enough for a button: the date (with the year when it is
    not this year's), the title cut at a word, the seats left."""
    when = short_date(t, listing.course.start_at, now)
    return f"{when} · {cut_at_word(listing.course.title, 40)} · {seats_label(t, listing)}"


def course_page(
    t: Texts, listing: CourseListing, mine: MyRegistration | None, lead: Person | None
) -> str:
    """A course's full details and where the viewer stands."""
    _ = t.gettext
    course = listing.course
    lines = [
        f"<b>{escape(course.title)}</b> ({escape(course.code)})",
        "",
        _("When: {span}").format(span=t.span(course.start_at, course.end_at)),
        *day_lines(t, course),
        _("Where: {location}").format(location=escape(course.location)),
        _("Registration until: {deadline}").format(deadline=t.when(course.registration_deadline)),
        _("Cancellation until: {deadline}").format(deadline=t.when(course.cancellation_deadline)),
    ]
    if course.release_at is not None:
        lines.append(
            _("Unused seats open to all agencies from: {moment}").format(
                moment=t.when(course.release_at)
            )
        )
    if lead is not None:
        lines.append(_("Course lead: {name}").format(name=escape(lead.name)))
    if mine is None:  # registered or waiting: their own state below says what applies
        lines.append(_("Seats for your agency: {seats}").format(seats=seats_label(t, listing)))
    if course.min_participants:
        lines.append(
            t.ngettext(
                "Takes place only if at least {minimum} person takes part.",
                "Takes place only if at least {minimum} people take part.",
                course.min_participants,
            ).format(minimum=course.min_participants)
        )
    if course.min_attendance:
        lines.append(
            _("Certificate of attendance for at least {share}% of the course days.").format(
                share=course.min_attendance
            )
        )
    if course.description:
        lines += ["", escape(course.description)]
    if course.status == CourseStatus.CANCELLED:
        lines += ["", _("<b>This course has been cancelled.</b>")]
    elif mine is not None:
        lines += ["", my_status(t, mine.status, mine.position, mine.held_until)]
    return "\n".join(lines)


def day_lines(t: Texts, course: Course) -> list[str]:
    """The course days, one line each, when there is more than one or they were named."""
    days = course_days(course)
    if len(days) == 1 and not course.days:
        return []
    return [t.gettext("Course days:")] + [f"• {t.span(d.start_at, d.end_at)}" for d in days]


def my_status(
    t: Texts, status: RegistrationStatus, position: int | None, held_until: datetime | None = None
) -> str:
    """Where the viewer stands in one course."""
    _ = t.gettext
    if status == RegistrationStatus.CONFIRMED:
        return _("✅ You are registered.")
    if status == RegistrationStatus.REQUESTED:
        return requested_status(t, held_until)
    if status == RegistrationStatus.OFFERED:
        return offered_status(t, held_until)
    return _("⏳ You are on the waiting list, position {position}.").format(position=position)


def signed_up(t: Texts, result: SignUpResult) -> str:
    """The answer to "Sign up", shown over the course page it updates: exactly what happened.

    Plain text of at most 200 characters (a button's answer), so without the course title:
    the page right under it shows the course and the officer's status.
    """
    _ = t.gettext
    if result.status == RegistrationStatus.REQUESTED:  # new, or pressed again
        return requested_status(t, result.held_until)
    if result.status == RegistrationStatus.OFFERED:
        return offered_status(t, result.held_until)
    if result.already and result.status == RegistrationStatus.CONFIRMED:
        return _("You are already registered for this course.")
    if result.already:
        return _("You are already on the waiting list, position {position}.").format(
            position=result.position
        )
    if result.status == RegistrationStatus.CONFIRMED:
        return _("✅ You are registered. The calendar entry comes in a separate message.")
    return _(
        "⏳ The seats for your agency are taken. You are on the waiting list at position "
        "{position} and will be told at once when a seat becomes free."
    ).format(position=result.position)


def requested_status(t: Texts, until: datetime | None) -> str:
    """Where an officer stands whose sign-up waits for approval (page, sign-up answer)."""
    return t.gettext(
        "📝 Approval by your agency requested; decision by {deadline}. Your seat is held "
        "until then."
    ).format(deadline=t.when(until) if until else "–")


def offered_status(t: Texts, until: datetime | None) -> str:
    """Where an officer stands who is offered a seat (the course page)."""
    return t.gettext(
        "🎁 A seat is offered to you: please accept or decline by {deadline}."
    ).format(deadline=t.when(until) if until else "–")


def approval_too_late(t: Texts, error: ApprovalTooLate, lead: Person | None) -> str:
    """A sign-up (or an accepted offer) too late for the agency's approval: nothing held."""
    return (
        t.gettext(
            "Your agency must approve sign-ups, and too little time is left for that before "
            "{until}."
        ).format(until=t.when(error.until))
        + " "
        + lead_contact(t, lead)
    )


def and_more(t: Texts, n: int) -> str:
    """The last line of a shortened list."""
    return t.gettext("… and {n} more").format(n=n)


def confirm_cancel(t: Texts, course: Course, waiting: bool) -> str:
    """The question before a cancellation (or before leaving the waiting list)."""
    _ = t.gettext
    question = (
        _("Do you really want to leave the waiting list of <b>{title}</b>?")
        if waiting
        else _("Do you really want to cancel your registration for <b>{title}</b>?")
    )
    return question.format(title=escape(course.title))


def cancelled(t: Texts, course: Course, was_waiting: bool, was_requested: bool = False) -> str:
    """A cancellation done (a request for approval withdrawn)."""
    _ = t.gettext
    if was_requested:
        return _("You have withdrawn your sign-up for <b>{title}</b>.").format(
            title=escape(course.title)
        )
    if was_waiting:
        return _("You have left the waiting list for <b>{title}</b>.").format(
            title=escape(course.title)
        )
    return _("You have cancelled your registration for <b>{title}</b>.").format(
        title=escape(course.title)
    )


def promoted(t: Texts, course: Course) -> str:
    """To a waiting officer who got a seat."""
    _ = t.gettext
    return _(
        "🎉 A seat has become free: you are now registered for <b>{title}</b> ({when}). "
        "If you cannot come, please cancel with /my so that someone from the waiting list "
        "can take your seat."
    ).format(title=escape(course.title), when=t.when(course.start_at))


def my_data_summary(t: Texts, data: dict[str, Any]) -> str:
    """A readable summary before the JSON file of /meine_daten."""
    _ = t.gettext
    profile = data["profile"]
    approves = [a["code"] for a in data.get("approver_for", [])]
    role = (
        "\n" + _("You approve the sign-ups of: {codes}").format(codes=escape(", ".join(approves)))
        if approves
        else ""
    )
    return (
        _(
            "<b>Your data</b>\nName: {name}\nRank: {rank}\nAgency: {agency}\n"
            "Registrations: {registrations}\nAudit entries about you: {audit}\n"
            "Messages to you: {messages}\n\nThe file below holds all of it."
        ).format(
            name=escape(profile["name"]),
            rank=escape(profile["rank"] or "–"),
            agency=escape((data["agency"] or {}).get("name", "–")),
            registrations=len(data["registrations"]),
            audit=len(data["audit_entries"]),
            messages=len(data["messages"]),
        )
        + role
    )


def confirm_delete(t: Texts) -> str:
    """The question before /daten_loeschen."""
    return t.gettext(
        "Delete your profile? Your registrations for future courses are cancelled (someone "
        "from the waiting list moves up), past ones are kept without your name. You can "
        "register again later with an access code."
    )


def deleted(t: Texts, cancelled: int) -> str:
    """After deleting: how many registrations (and places on waiting lists) it cancelled."""
    if not cancelled:
        return t.gettext("Your profile has been deleted. Goodbye!")
    return t.ngettext(
        "Your profile has been deleted and {n} registration cancelled. Goodbye!",
        "Your profile has been deleted and {n} registrations cancelled. Goodbye!",
        cancelled,
    ).format(n=cancelled)


def reminder(t: Texts, course: Course) -> str:
    """A reminder before the start (the calendar file follows)."""
    _ = t.gettext
    return _(
        "⏰ Reminder: <b>{title}</b> starts on {when}.\nWhere: {location}\n"
        "If you cannot come, please cancel with /my so that someone from the waiting list "
        "can take your seat."
    ).format(
        title=escape(course.title), when=t.when(course.start_at), location=escape(course.location)
    )


def my_registrations(t: Texts, items: list[MyRegistration], now: datetime) -> str:
    """/meine: each course with where the officer stands and, for a seat, until when it can
    be given back here."""
    _ = t.gettext
    if not items:
        return _("You are not registered for any course. /courses shows the open ones.")
    lines = [_("<b>Your courses</b>")]
    for item in items:
        if item.status == RegistrationStatus.REQUESTED:
            state = _("approval requested (decision by {deadline})").format(
                deadline=t.short(item.held_until or item.course.start_at)
            )
        elif item.status == RegistrationStatus.OFFERED:
            state = _("seat offered (accept or decline by {deadline})").format(
                deadline=t.short(item.held_until or item.course.start_at)
            )
        elif item.status != RegistrationStatus.CONFIRMED:
            state = _("waiting list, position {position}").format(position=item.position)
        elif now < item.course.cancellation_deadline:
            state = _("registered (cancel until {deadline})").format(
                deadline=t.short(item.course.cancellation_deadline)
            )
        else:
            state = _("registered (to cancel now, contact the course lead)")
        lines.append(f"• {t.short(item.course.start_at)} · {escape(item.course.title)} – {state}")
    return "\n".join(lines)


def profile(t: Texts, person: Person, agency: Agency, *, saved: bool = False) -> str:
    """/profil: the profile, and how to change name and rank."""
    _ = t.gettext
    lines = [_("Saved.")] if saved else []
    lines += [
        _("<b>Your profile</b>"),
        _("Name: {name}").format(name=escape(person.name)),
        _("Rank: {rank}").format(rank=escape(person.rank or "–")),
        _("Agency: {agency}").format(agency=escape(agency.name)),
        _("Language: {language}").format(language=_("English")),
        _("Registered since: {moment}").format(moment=t.when(person.joined_at)),
        "",
        profile_usage(t),
    ]
    return "\n".join(lines)


def profile_usage(t: Texts) -> str:
    """How name and rank are changed."""
    return t.gettext(
        "To change: /profile Name: First Last, or /profile Rank: KOK (“-” removes the "
        "rank). The agency is the one whose access code you registered with."
    )


def choose_language(t: Texts) -> str:
    """/sprache."""
    return t.gettext("Please choose your language.")


def language_set(t: Texts) -> str:
    """After choosing a language (in the new language)."""
    return t.gettext("From now on I speak English with you.")


def calendar_caption(t: Texts, course: Course) -> str:
    """The caption of the .ics file."""
    _ = t.gettext
    return _("Calendar entry for {title}").format(title=escape(course.title))


def lead_contact(t: Texts, lead: Person | None) -> str:
    """Whom to contact after a deadline."""
    _ = t.gettext
    if lead is None:
        return _("Please contact your training office.")
    return _("Please contact the course lead, {name}.").format(name=escape(lead.name))


def domain_error(t: Texts, error: DomainError, lead: Person | None = None) -> str:
    """A clear message for every domain error the officer side can meet."""
    _ = t.gettext
    if error.code == "registration_closed":
        return (
            _("The registration deadline of this course has passed.") + " " + lead_contact(t, lead)
        )
    if error.code == "cancellation_closed":
        return (
            _("The cancellation deadline of this course has passed.") + " " + lead_contact(t, lead)
        )
    if isinstance(error, CourseNotOpen):
        if error.status == CourseStatus.CANCELLED:
            return _("This course has been cancelled.")
        return _("This course has already taken place.")
    if error.code == "not_registered":
        return _("You are not registered for this course.")
    if isinstance(error, NotFound):
        return not_found(t, error)
    if error.code == "invalid_access_code":
        return code_wrong(t)
    if error.code == "already_joined":
        return _("This Telegram account is already registered.")
    if isinstance(error, InvalidInput):
        return invalid_input(t, error)
    if isinstance(error, ApprovalTooLate):
        return approval_too_late(t, error, lead)
    return apology(t)


def not_found(t: Texts, error: NotFound) -> str:
    """What was not found: a course, a person (named by an admin), an agency, a registration."""
    _ = t.gettext
    kind = error.kind
    if kind in ("person", "lead"):
        return _("Nobody with this Telegram id or @username is registered with Kursbot.")
    if kind == "agency":
        if error.given:
            return _("There is no agency {code}; /agencies lists them.").format(
                code=escape(error.given)
            )
        return _("This agency does not exist (any more).")
    if kind == "registration":
        return _("This registration does not exist (any more).")
    return _("This course does not exist (any more).")


def invalid_input(t: Texts, error: InvalidInput) -> str:
    """What is wrong with a typed value."""
    _ = t.gettext
    reason = error.reason
    most, least = error.max, error.min if error.min is not None else 1
    if reason == "too_long" and isinstance(most, int):
        return t.ngettext(
            "That is too long: at most {max} character, please.",
            "That is too long: at most {max} characters, please.",
            most,
        ).format(max=most)
    if reason in ("too_short", "empty") and isinstance(least, int):
        return t.ngettext(
            "That is too short: at least {min} character, please.",
            "That is too short: at least {min} characters, please.",
            least,
        ).format(min=least)
    if reason == "control_characters":
        return _("Please send plain text without special control characters.")
    if reason == "nothing_visible":
        return _("Please write with visible letters or digits.")
    return _("That value is not valid. Please check it and try again.")


_TAG = re.compile(r"<(/?)([a-z]+)[^>]*>")
_ROOM_TO_CLOSE = 40  # characters kept free for "…" and the closing tags


def truncate(text: str, limit: int = MAX_MESSAGE) -> str:
    """Keeps a message within Telegram's limit without breaking its HTML: the cut never
    falls inside a tag or an entity (``&amp;``), and tags left open are closed after "…"
    (Telegram refuses a message whose HTML does not parse). Where the closing tags of deeply
    nested markup do not fit, the cut moves back before the last tag until they do."""
    if len(text) <= limit:
        return text
    cut = text[: limit - _ROOM_TO_CLOSE]
    while True:
        if cut.rfind("<") > cut.rfind(">"):  # inside a tag
            cut = cut[: cut.rfind("<")]
        if cut.rfind("&") > cut.rfind(";"):  # inside an entity (escaped text has no bare "&")
            cut = cut[: cut.rfind("&")]
        still_open: list[str] = []
        for match in _TAG.finditer(cut):
            closing, name = match.groups()
            if not closing:
                still_open.append(name)
            elif still_open and still_open[-1] == name:
                still_open.pop()
        result = cut + "…" + "".join(f"</{name}>" for name in reversed(still_open))
        if len(result) <= limit or not cut:
            return result
        cut = cut[: cut.rfind("<")] if "<" in cut else cut[: limit - 1]


def split_lines(lines: list[str], limit: int = 4000) -> list[str]:
    """Lines joined into as few messages of at most ``limit`` characters as they fit."""
    return split_text("\n".join(lines), limit) if lines else []


def split_text(text: str, limit: int = 4000) -> list[str]:
    """Splits at line ends into messages of at most ``limit`` characters."""
    parts, current = [], ""
    for line in text.split("\n"):
        if current and len(current) + len(line) + 1 > limit:
            parts.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line[:limit]
    parts.append(current)
    return parts
