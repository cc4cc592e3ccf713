"""Inline keyboards, as pure functions of domain values and the reader's `Texts`."""

from __future__ import annotations

import functools
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import render
from bot.callbacks import encode
from bot.i18n import Texts, texts
from kurse.courses import CourseListing, CoursePage
from kurse.models import CourseStatus, RegistrationStatus
from kurse.registration_lists import MyRegistration


def _button(text: str, action: str, value: int | str | None = None, page: int | None = None):  # type: ignore[no-untyped-def]
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
    return _course_page(
        t.language,
        listing.course.id,
        CourseStatus(listing.course.status),
        None if mine is None else RegistrationStatus(mine.status),
        listing.seats_left > 0,
        page,
        open_,
    )


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
