"""The lead's check-in code renews itself in the same message every two minutes (issue 18),
through the real Application: after a restart, with a second instance, across the clock
change, and it stops when the day ends, the lead is replaced, the course is cancelled, the
message is deleted or a newer code is shown."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.checkin_codes import renew_shown_codes
from kurse import admin, checkin, courses, people
from kurse import registrations as regs
from kurse.clock import BERLIN
from kurse.days import course_days
from kurse.models import CheckinDisplay
from tests import builders
from tests.harness import eventually, start_harness, stop_harness, user
from tests.test_checkin import present, setting, shown_code

__all__ = ["setting"]  # the fixture, shared with tests/test_checkin.py

BOSS = builders.ADMIN


def edits_of_media(h) -> int:
    return sum(1 for name, _params in h.api.calls if name == "editMessageMedia")


def displays(db) -> int:
    with db.transaction(readonly=True) as session:
        return session.scalar(select(func.count()).select_from(CheckinDisplay)) or 0


async def test_the_code_renews_itself_in_the_same_message_when_its_two_minutes_are_over(
    h, db, clock, setting
):
    lea, course, officers = setting
    shown = (await h.send(lea, f"/checkin {course.code}"))[0]
    first_code, first_picture = shown_code(shown.text), shown.document[1]
    same_window = await renew_shown_codes(h.app)
    clock.advance(checkin.WINDOW)

    renewed = await renew_shown_codes(h.app)
    again = await renew_shown_codes(h.app)  # the same window: nothing to do
    message = h.api.messages(lea["id"])[-1]
    answer = await h.send(officers["pl"], shown_code(message.text))

    assert (same_window, renewed, again) == (0, 1, 0)
    assert message.message_id == shown.message_id
    assert message.edits == 1
    assert shown_code(message.text) != first_code
    assert message.document[1] != first_picture  # the QR code of the new link
    assert f"start=ci-{course.id}-{shown_code(message.text)}" in message.text
    assert [b["text"] for row in message.buttons for b in row] == ["↻ Neuer Code"]
    assert answer[0].text.startswith("✅ Eingecheckt")
    assert len(present(db, course.id)) == 1


async def test_two_instances_renew_a_code_once(h, clock, setting):
    lea, course, _officers = setting
    await h.send(lea, f"/checkin {course.code}")
    standby = await start_harness(h.services, api=h.api)
    try:
        clock.advance(checkin.WINDOW)

        counts = await asyncio.gather(renew_shown_codes(h.app), renew_shown_codes(standby.app))
    finally:
        await stop_harness(standby)

    assert sorted(counts) == [0, 1]
    assert edits_of_media(h) == 1
    assert h.api.messages(lea["id"])[-1].edits == 1


async def test_after_a_restart_the_code_shown_before_is_still_renewed(h, clock, setting):
    lea, course, _officers = setting
    shown = (await h.send(lea, f"/checkin {course.code}"))[0]
    code_before = shown_code(shown.text)
    await stop_harness(h)
    clock.advance(checkin.WINDOW * 3)  # down for six minutes

    restarted = await start_harness(h.services, api=h.api)
    try:
        renewed = await renew_shown_codes(restarted.app)
    finally:
        await stop_harness(restarted)

    message = h.api.messages(lea["id"])[-1]
    assert renewed == 1
    assert message.message_id == shown.message_id
    assert message.edits == 1
    assert shown_code(message.text) != code_before


async def test_when_the_day_is_over_the_message_says_the_check_in_is_closed(h, db, clock, setting):
    lea, course, _officers = setting
    await h.send(lea, f"/checkin {course.code}")
    clock.set(course_days(course)[0].end_at + timedelta(seconds=1))

    closed = await renew_shown_codes(h.app)
    clock.advance(checkin.WINDOW)
    later = await renew_shown_codes(h.app)

    message = h.api.messages(lea["id"])[-1]
    assert (closed, later) == (1, 0)
    assert "ist geschlossen: Der Kurstag ist vorbei" in message.text
    assert "Code <b>" not in message.text
    assert message.buttons == []
    assert displays(db) == 0


async def test_a_lead_replaced_meanwhile_gets_no_new_code(h, db, clock, agencies, setting):
    lea, course, _officers = setting
    clock.set(course.start_at - timedelta(minutes=20))  # the code is shown; the lead may change
    shown = (await h.send(lea, f"/checkin {course.code}"))[0]
    code_before = shown_code(shown.text)
    mia = user("Mia")
    await h.join(mia, agencies["PP-OFR"].access_code, "Mia Neu")
    db.call(admin.assign_lead, course.code, str(mia["id"]), clock.now(), actor=BOSS)
    clock.advance(checkin.WINDOW)

    await renew_shown_codes(h.app)

    message = h.api.messages(lea["id"])[-1]
    assert message.message_id == shown.message_id
    assert "Sie leiten den Kurs nicht mehr" in message.text
    assert code_before not in message.text
    assert edits_of_media(h) == 0
    assert displays(db) == 0


async def test_a_cancelled_course_s_code_is_no_longer_renewed(h, db, clock, setting):
    lea, course, _officers = setting
    await h.send(lea, f"/checkin {course.code}")
    db.call(admin.cancel_course_by_code, course.code, "Unwetter", clock.now(), actor=BOSS)
    clock.advance(checkin.WINDOW)

    await renew_shown_codes(h.app)

    message = h.api.messages(lea["id"])[-1]
    assert "abgesagt oder seine Termine wurden geändert" in message.text
    assert edits_of_media(h) == 0
    assert displays(db) == 0


async def test_a_message_deleted_in_the_chat_is_forgotten(h, db, clock, setting):
    lea, course, _officers = setting
    await h.send(lea, f"/checkin {course.code}")
    h.api.chats[lea["id"]].pop()  # the lead deleted it
    clock.advance(checkin.WINDOW)

    await renew_shown_codes(h.app)
    clock.advance(checkin.WINDOW)
    calls = len(h.api.calls)
    await renew_shown_codes(h.app)

    assert displays(db) == 0
    assert len(h.api.calls) == calls  # not tried again


async def test_a_newer_checkin_replaces_the_older_message_which_is_renewed_no_more(
    h, db, clock, setting
):
    lea, course, _officers = setting
    older = (await h.send(lea, f"/checkin {course.code}"))[0]
    newer = (await h.send(lea, f"/checkin {course.code}"))[0]
    clock.advance(checkin.WINDOW)

    await renew_shown_codes(h.app)

    assert "nicht mehr gültig: Der aktuelle steht in der neueren Nachricht" in older.text
    assert older.buttons == []
    assert newer.edits == 1
    assert "Code <b>" in newer.text
    assert displays(db) == 1


async def test_the_new_code_button_shows_the_current_code_in_the_same_message(h, clock, setting):
    lea, course, _officers = setting
    shown = (await h.send(lea, f"/checkin {course.code}"))[0]
    code_before = shown_code(shown.text)
    clock.advance(checkin.WINDOW)

    answer = await h.press(lea, "Neuer Code", shown)

    assert answer == []  # no new message
    message = h.api.messages(lea["id"])[-1]
    assert message.message_id == shown.message_id
    assert message.edits == 1
    assert shown_code(message.text) != code_before
    assert await renew_shown_codes(h.app) == 0  # already the code of this window


async def test_the_code_renews_every_two_minutes_across_the_clock_change(h, db, clock, agencies):
    clock.set(datetime(2027, 3, 1, 9, 0, tzinfo=BERLIN))
    lea = user("Lea")
    await h.join(lea, agencies["PD-Z"].access_code, "Lea Leitung")
    lead = db.call(people.find_by_telegram_id, lea["id"])
    night = builders.course(
        db,
        clock.now(),
        start_at=datetime(2027, 3, 28, 0, 30, tzinfo=BERLIN),  # 02:00 CET is 03:00 CEST
        end_at=datetime(2027, 3, 28, 5, 0, tzinfo=BERLIN),
        lead_id=lead.id,
    )
    officer = user("Zdeněk")
    await h.join(officer, agencies["PP-OFR"].access_code, "Zdeněk Řezníček")
    person = db.call(people.find_by_telegram_id, officer["id"])
    db.call(regs.sign_up, night.id, person.id, clock.now())
    clock.set(datetime(2027, 3, 28, 1, 58, 30, tzinfo=BERLIN))
    shown = (await h.send(lea, f"/checkin {night.code}"))[0]
    caption_before = shown.text
    clock.advance(timedelta(minutes=2))  # 03:00:30 summer time, two minutes later

    renewed = await renew_shown_codes(h.app)
    message = h.api.messages(lea["id"])[-1]
    answer = await h.send(officer, shown_code(message.text))

    assert renewed == 1
    assert "(als Nächstes um 03:00 Uhr)" in caption_before  # 02:00 CET does not exist
    assert "(als Nächstes um 03:02 Uhr)" in message.text
    assert answer[0].text.startswith("✅ Eingecheckt")


async def test_a_closing_that_telegram_did_not_take_now_is_tried_again(h, db, clock, setting):
    lea, course, _officers = setting
    await h.send(lea, f"/checkin {course.code}")
    clock.set(course_days(course)[0].end_at + timedelta(seconds=1))
    h.api.retry_after[lea["id"]] = 5  # one 429 for the next call into the lead's chat

    await renew_shown_codes(h.app)
    clock.advance(timedelta(seconds=10))
    await renew_shown_codes(h.app)  # the next round

    message = h.api.messages(lea["id"])[-1]
    assert "ist geschlossen: Der Kurstag ist vorbei" in message.text
    assert message.buttons == []
    assert displays(db) == 0


async def test_a_button_of_another_course_under_a_code_leaves_that_message_to_its_course(
    h, db, clock, setting
):
    lea, course, _officers = setting
    lead = db.call(people.find_by_telegram_id, lea["id"])
    other = builders.course(
        db, course.start_at - timedelta(days=30), seats={"PP-OFR": 1}, lead_id=lead.id
    )
    shown = (await h.send(lea, f"/checkin {course.code}"))[0]

    answer = await h.press_data(lea, f"ci:{other.id}", shown)  # the other course's button
    clock.advance(checkin.WINDOW)
    await renew_shown_codes(h.app)

    assert course.code in shown.text  # the message goes on showing its own course
    assert other.code not in shown.text
    assert shown.edits == 1  # renewed once, as its course's code
    assert len(answer) == 1  # the other course's code in a message of its own
    assert other.code in answer[0].text
    assert answer[0].edits == 1
    assert other.code in answer[0].text
    assert displays(db) == 2


async def test_a_renewal_on_its_way_does_not_undo_the_replaced_caption(h, clock, setting):
    lea, course, _officers = setting
    old = (await h.send(lea, f"/checkin {course.code}"))[0]
    clock.advance(checkin.WINDOW)
    release = h.api.hold[lea["id"]] = asyncio.Event()
    renewing = asyncio.create_task(renew_shown_codes(h.app))
    await eventually(lambda: lea["id"] in h.api.holding)

    newer = asyncio.create_task(h.send(lea, f"/checkin {course.code}"))
    await asyncio.sleep(0.1)
    release.set()
    await renewing
    await newer

    assert "nicht mehr gültig: Der aktuelle steht in der neueren Nachricht" in old.text
    assert old.buttons == []


async def test_a_started_course_gets_a_new_lead_who_takes_over_attendance_and_check_in(
    h, db, clock, agencies, setting
):
    # Lea falls ill on the first day: the admin names Mia, who shows the check-in and takes
    # the attendance from then on; Lea's check-in message closes. Other edits stay refused.
    lea, course, _officers = setting
    shown = (await h.send(lea, f"/checkin {course.code}"))[0]
    mia = user("Mia")
    await h.join(mia, agencies["PP-OFR"].access_code, "Mia Vertretung")
    boss = {"id": 4242, "is_bot": False, "first_name": "Chefin", "language_code": "de"}

    named = await h.send(boss, f"/kursleitung {course.code} {mia['id']}")
    moved = await h.send(boss, f"/kurs_bearbeiten {course.code}\nOrt: Plauen")
    clock.advance(checkin.WINDOW)
    await renew_shown_codes(h.app)
    lea_sheet = await h.send(lea, f"/anwesenheit {course.code}")
    mia_code = await h.send(mia, f"/checkin {course.code}")
    mia_sheet = await h.send(mia, f"/anwesenheit {course.code}")

    assert "Mia Vertretung" in named[0].text
    assert "kann nach Beginn nicht mehr geändert werden" in moved[-1].text  # the place
    lead_now = db.call(courses.get_course, course.id).lead_id
    assert lead_now == db.call(people.find_by_telegram_id, mia["id"]).id
    assert "Sie leiten den Kurs nicht mehr" in shown.text
    assert lea_sheet[0].text.startswith("Die Teilnehmenden eines Kurses sehen nur")
    assert any("Code <b>" in (m.text or "") for m in mia_code)
    sheet = next(m for m in mia_sheet if m.buttons)
    assert "▫️ POK Łukasz Wójcik (PP-OFR)" in sheet.button_texts()
    assert any(m.text.startswith("Sie leiten jetzt") for m in h.api.messages(mia["id"]))
