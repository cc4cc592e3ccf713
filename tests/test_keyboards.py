"""The admins' and leads' buttons are pure functions of domain values and the reader's texts."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.callbacks import decode
from bot.i18n import texts
from kurse.audit import LogPage


def data(markup: InlineKeyboardMarkup | None) -> list[list[str]]:
    assert markup is not None
    return [[str(button.callback_data) for button in row] for row in markup.inline_keyboard]


def labels(markup: InlineKeyboardMarkup) -> list[list[str]]:
    return [[button.text for button in row] for row in markup.inline_keyboard]


def test_a_question_acts_on_its_yes_and_only_dismisses_on_its_no():
    de = texts("de")

    assert data(keyboards.cancel_course(de, 7)) == [["ka:7", "no"]]
    assert data(keyboards.demote_over_quota(de, 7)) == [["kq:7", "no"]]
    assert data(keyboards.rotate_access_code(de, 3)) == [["zc:3:1", "no"]]
    assert data(keyboards.delete_data(de)) == [["del", "no"]]
    assert labels(keyboards.cancel_course(de, 7)) == [["Ja, Kurs absagen", "Nein"]]


def test_the_audit_log_pages_newer_and_older_and_offers_the_csv_file_only_when_not_empty():
    en = texts("en")
    middle = LogPage(lines=[object()], page=1, pages=3, course_id=None)

    assert data(keyboards.audit_log(en, middle)) == [["pl:0:0", "pl:0:2"], ["plc:0"]]
    assert labels(keyboards.audit_log(en, middle))[0] == ["« Newer", "Older »"]
    assert keyboards.audit_log(en, LogPage(lines=[], page=0, pages=1, course_id=5)) is None


def test_every_button_built_here_carries_data_that_decodes():
    de = texts("de")
    markups = [
        keyboards.cancel_course(de, 1),
        keyboards.demote_over_quota(de, 1),
        keyboards.access_code(de, 1),
        keyboards.rotate_access_code(de, 1),
        keyboards.participant_files(de, 1),
        keyboards.participant_overview([]),
        keyboards.delete_data(de),
    ]

    assert all(decode(d) is not None for markup in markups for row in data(markup) for d in row)
    assert data(keyboards.participant_files(de, 9)) == [["csv:9", "pdf:9"]]
