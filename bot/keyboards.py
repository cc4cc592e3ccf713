"""Inline keyboards, as pure functions of domain values and the reader's `Texts`: every button
row the bot shows is built here (officers', leads' and admins'), except the guided /kurs_neu
dialog's, which `bot.handlers.course_dialog` still builds itself."""

from __future__ import annotations

import functools
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import render, render_attendance, render_certificates
from bot.callbacks import encode
from bot.i18n import Texts, texts
from kurse.admin import CourseFill
from kurse.approval import PendingRequest
from kurse.attendance import Sheet
from kurse.audit import LogPage
from kurse.courses import CourseListing, CoursePage
from kurse.days import course_days
from kurse.models import (
    Agency,
    AttendanceState,
    Certificate,
    Course,
    CourseStatus,
    RegistrationStatus,
    id_of,
)
from kurse.registration_lists import MyRegistration


def _button(
    text: str, action: str, value: int | str | None = None, page: int | None = None
) -> InlineKeyboardButton:
    """A button whose data is ``action:value:page`` (checked by `bot.callbacks.encode`)."""
    return InlineKeyboardButton(text, callback_data=encode(action, value, page))


def course_list(
    t: Texts, page: CoursePage, now: datetime | None = None
) -> InlineKeyboardMarkup | None:
    """One button per course, then the page navigation."""
    rows = [
        [_button(render.course_button(t, item, now), "c", item.course.id, page.page)]
        for item in page.items
    ]
    navigation = []
    if page.page > 0:
        navigation.append(_button(t.gettext("« Back"), "p", page.page - 1))
    if page.page + 1 < page.pages:
        navigation.append(_button(t.gettext("More »"), "p", page.page + 1))
    if navigation:
        rows.append(navigation)
    return InlineKeyboardMarkup(rows) if rows else None


def course_page(
    t: Texts, listing: CourseListing, mine: MyRegistration | None, page: int, *, open_: bool
) -> InlineKeyboardMarkup:
    """Only the buttons that apply to this officer and course."""
    markup = _course_page(
        t.language,
        listing.course.id,
        CourseStatus(listing.course.status),
        None if mine is None else RegistrationStatus(mine.status),
        listing.seats_left > 0,
        page,
        open_,
    )
    if mine is not None and mine.status == RegistrationStatus.OFFERED:
        return InlineKeyboardMarkup(
            [*offer(t, mine.registration_id).inline_keyboard, *markup.inline_keyboard]
        )
    return markup


# Keyboards are immutable, and in a burst thousands of officers see the same few: built
# once each (a sixth of the page's time in the sign-up benchmark).
@functools.lru_cache(maxsize=4096)
def _course_page(
    language: str,
    course_id: int,
    course_status: CourseStatus,
    mine: RegistrationStatus | None,
    seats_left: bool,
    page: int,
    open_: bool,
) -> InlineKeyboardMarkup:
    _ = texts(language).gettext
    rows = []
    if course_status == CourseStatus.PUBLISHED:
        if mine is None and open_:
            label = _("Sign up") if seats_left else _("Join the waiting list")
            rows.append([_button(label, "su", course_id, page)])
        if mine == RegistrationStatus.WAITING:
            rows.append([_button(_("Leave the waiting list"), "cx", course_id, page)])
        elif mine == RegistrationStatus.OFFERED:  # accepted or declined, not cancelled
            pass
        elif mine is not None:
            rows.append([_button(_("Cancel registration"), "cx", course_id, page)])
        if mine == RegistrationStatus.CONFIRMED:
            rows.append([_button(_("Calendar (.ics)"), "ics", course_id, page)])
    rows.append([_button(_("« Back to the list"), "p", page)])
    return InlineKeyboardMarkup(rows)


def confirm_cancel(t: Texts, course_id: int, page: int) -> InlineKeyboardMarkup:
    """Yes / no before a cancellation."""
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [
                _button(_("Yes, cancel"), "cxy", course_id, page),
                _button(_("No"), "c", course_id, page),
            ]
        ]
    )


def my_registrations(items: list[MyRegistration], t: Texts) -> InlineKeyboardMarkup | None:
    """A button per registration, to its course page."""
    rows = [
        [
            _button(
                f"{t.short(item.course.start_at)} · {render.cut_at_word(item.course.title, 40)}",
                "c",
                item.course.id,
            )
        ]
        for item in items
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def languages() -> InlineKeyboardMarkup:
    """Each language named in itself."""
    return InlineKeyboardMarkup(
        [[_button("Deutsch", "lang", "de"), _button("English", "lang", "en")]]
    )


def skip_rank(t: Texts) -> InlineKeyboardMarkup:
    """The rank is optional."""
    return InlineKeyboardMarkup([[_button(t.gettext("Skip"), "skip")]])


def consent(t: Texts) -> InlineKeyboardMarkup:
    """Acknowledge the privacy information, or leave."""
    _ = t.gettext
    return InlineKeyboardMarkup([[_button(_("Noted"), "agree"), _button(_("Cancel"), "abort")]])


def _question(
    yes: str, action: str, value: int | None, page: int | None, no: str
) -> InlineKeyboardMarkup:
    """A question's two buttons: ``yes`` acts, "No" (`no`) only takes the buttons away."""
    return InlineKeyboardMarkup([[_button(yes, action, value, page), _button(no, "no")]])


def cancel_course(t: Texts, course_id: int) -> InlineKeyboardMarkup:
    """Yes / no before an admin cancels a course."""
    return _question(t.gettext("Yes, cancel the course"), "ka", course_id, None, t.gettext("No"))


def demote_over_quota(t: Texts, course_id: int) -> InlineKeyboardMarkup:
    """Yes / no before the last confirmed go back to the waiting list of a lowered quota."""
    return _question(t.gettext("Yes, to the waiting list"), "kq", course_id, None, t.gettext("No"))


def access_code(t: Texts, agency_id: int) -> InlineKeyboardMarkup:
    """Under an agency's access code: the button that asks to renew it."""
    return InlineKeyboardMarkup([[_button(t.gettext("Generate a new code"), "zc", agency_id)]])


def rotate_access_code(t: Texts, agency_id: int) -> InlineKeyboardMarkup:
    """Yes / no before an access code is renewed (the second press on "zc" renews it)."""
    return _question(t.gettext("Yes, new code"), "zc", agency_id, 1, t.gettext("No"))


def audit_log(t: Texts, found: LogPage) -> InlineKeyboardMarkup | None:
    """Under a page of the audit log: newer / older pages and the CSV file (none when empty)."""
    course = found.course_id or 0
    row = []
    if found.page > 0:
        row.append(_button(t.gettext("« Newer"), "pl", course, found.page - 1))
    if found.page + 1 < found.pages:
        row.append(_button(t.gettext("Older »"), "pl", course, found.page + 1))
    if not found.lines:
        return None
    files = [_button(t.gettext("CSV file"), "plc", course)]
    return InlineKeyboardMarkup([row, files] if row else [files])


def participant_overview(fills: list[CourseFill]) -> InlineKeyboardMarkup:
    """Under the /teilnehmer overview: a button per course, so nobody has to type a code."""
    return InlineKeyboardMarkup(
        [
            [
                _button(
                    f"{fill.course.code} · {render.cut_at_word(fill.course.title, 40)}",
                    "tl",
                    fill.course.id,
                )
            ]
            for fill in fills
        ]
    )


def participant_files(t: Texts, course_id: int) -> InlineKeyboardMarkup:
    """Under a participant list: the CSV file and the PDF attendance list."""
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [
                _button(_("CSV file"), "csv", course_id),
                _button(_("PDF attendance list"), "pdf", course_id),
            ]
        ]
    )


def delete_data(t: Texts) -> InlineKeyboardMarkup:
    """Yes / no before someone's profile is deleted."""
    _ = t.gettext
    return InlineKeyboardMarkup(
        [[_button(_("Yes, delete everything"), "del"), _button(_("No"), "no")]]
    )


def dialog_skip(t: Texts) -> InlineKeyboardMarkup:
    """Under an optional question of the guided /kurs_neu dialog."""
    return InlineKeyboardMarkup([[_button(t.gettext("Skip"), "nk")]])


def dialog_seats(t: Texts, agencies: list[Agency], seats: dict[str, int]) -> InlineKeyboardMarkup:
    """The dialog's seat step: a button per agency with its seats so far, then "Done"."""
    rows = [[_button(f"{a.code}: {seats.get(a.code, 0)}", "nk", a.id)] for a in agencies]
    rows.append([_button(t.gettext("Done"), "nk")])
    return InlineKeyboardMarkup(rows)


def dialog_confirm(t: Texts) -> InlineKeyboardMarkup:
    """Under the dialog's summary: create the course, or leave it."""
    return InlineKeyboardMarkup(
        [
            [_button(t.gettext("Create the course"), "nky"), _button(t.gettext("Cancel"), "no")],
            [_button(t.gettext("Change the course days"), "nkd")],
        ]
    )


def offer(t: Texts, registration_id: int) -> InlineKeyboardMarkup:
    """Under an offered seat (the message, the course page): accept or decline it."""
    _ = t.gettext
    return InlineKeyboardMarkup(
        [
            [
                _button(_("Accept"), "oa", registration_id),
                _button(_("Decline"), "od", registration_id),
            ]
        ]
    )


MAX_REQUEST_BUTTONS = 5  # requests with buttons of their own in one message; more: "all"


def approval_requests(
    t: Texts, requests: list[PendingRequest], course_id: int | None
) -> InlineKeyboardMarkup | None:
    """Under requests waiting for an approver (a message of one course: ``course_id``; or
    /genehmigungen: None): approve / refuse per request if few, and "approve all"."""
    _ = t.gettext
    where = 0 if course_id is None else 1
    rows = []
    if len(requests) == 1:
        rid = requests[0].registration_id
        rows.append(
            [_button(_("Approve"), "ga", rid, where), _button(_("Refuse"), "gn", rid, where)]
        )
    else:
        for request in requests[:MAX_REQUEST_BUTTONS]:
            rid = request.registration_id
            rows.append(
                [
                    _button(_("✅ No. {number}").format(number=rid), "ga", rid, where),
                    _button(_("❌ No. {number}").format(number=rid), "gn", rid, where),
                ]
            )
    if len(requests) > 1:
        rows.append([_button(_("Approve all"), "gaa", course_id or 0)])
    return InlineKeyboardMarkup(rows) if rows else None


def confirm_refuse(t: Texts, registration_id: int, course_id: int | None) -> InlineKeyboardMarkup:
    """Before a refusal: refuse without a reason, or back to the requests."""
    _ = t.gettext
    where = 0 if course_id is None else 1
    return InlineKeyboardMarkup(
        [
            [
                _button(_("Refuse without a reason"), "gny", registration_id, where),
                _button(_("« Back"), "gl", course_id or 0),
            ]
        ]
    )


# --- attendance (issue 18) ---------------------------------------------------------------------

ATTENDANCE_PAGE = 30  # participants per page of a day's sheet
STATE_CODES: tuple[AttendanceState | None, ...] = (
    None,
    AttendanceState.PRESENT,
    AttendanceState.ABSENT,
    AttendanceState.EXCUSED,
)


def attendance_sheet(t: Texts, sheet: Sheet, page: int) -> InlineKeyboardMarkup | None:
    """One button per participant on ``page`` (``at:<registration>:<day * 4 + shown state>``:
    the press sets the state after the one shown), then the pages (``ad:<course>:<day * 100 +
    page>``). A locked sheet has no participant buttons."""
    course_id = id_of(sheet.course)
    pages = max(1, -(-len(sheet.lines) // ATTENDANCE_PAGE))
    page = max(0, min(page, pages - 1))
    rows = []
    if not sheet.locked:
        first = page * ATTENDANCE_PAGE
        rows = [
            [
                _button(
                    render_attendance.button(line),
                    "at",
                    line.registration_id,
                    sheet.index * 4 + STATE_CODES.index(line.state),
                )
            ]
            for line in sheet.lines[first : first + ATTENDANCE_PAGE]
        ]
    navigation = []
    if page > 0:
        navigation.append(
            _button(t.gettext("« Back"), "ad", course_id, sheet.index * 100 + page - 1)
        )
    if page + 1 < pages:
        navigation.append(
            _button(t.gettext("More »"), "ad", course_id, sheet.index * 100 + page + 1)
        )
    if navigation:
        rows.append(navigation)
    return InlineKeyboardMarkup(rows) if rows else None


def attendance_days(t: Texts, course: Course) -> InlineKeyboardMarkup:
    """A button per course day, to choose whose attendance to show."""
    return InlineKeyboardMarkup(
        [
            [_button(t.day(day.day), "ad", id_of(course), index * 100)]
            for index, day in enumerate(course_days(course))
        ]
    )


def checkin_renew(t: Texts, course_id: int) -> InlineKeyboardMarkup:
    """Under a check-in code: the current code (``ci:<course>``)."""
    return InlineKeyboardMarkup([[_button(t.gettext("↻ New code"), "ci", course_id)]])


def certificates(t: Texts, found: list[tuple[Certificate, Course]]) -> InlineKeyboardMarkup | None:
    """A button per certificate of the officer (``bz:<certificate>``): its PDF."""
    rows = [
        [_button(render_certificates.button(t, certificate, course), "bz", id_of(certificate))]
        for certificate, course in found[:30]
    ]
    return InlineKeyboardMarkup(rows) if rows else None
