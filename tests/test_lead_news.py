"""A lead hears of every change of their list, whatever caused it, exactly once.

The news of a change is written in the transaction that makes the change (the outbox), so it
reaches the lead after a restart and is sent once when two instances run; moves made by the
timed work (the release date), by a quota change or by a postponed course reach the lead like
those made by a cancellation. A burst arrives as one message per window.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlmodel import col

from bot.jobs import run_due_work
from kurse import admin, privacy
from kurse import registrations as regs
from kurse.actors import Actor
from kurse.clock import BERLIN
from kurse.models import Outbox
from tests import builders
from tests.harness import eventually, start_harness, stop_harness, user

BOSS = 4242  # bootstrap admin (KURSBOT_ADMIN_IDS)


def news(h, lead) -> list[str]:
    """Every line of news the lead got, one per change (digests split into their lines)."""
    lines = []
    for message in h.api.messages(lead.telegram_id):
        lines += [line for line in (message.text or "").splitlines() if line.startswith("📋")]
    return lines


def line(course, name: str, agency: str, what: str) -> str:
    return f"📋 {course.title} ({course.code}): {name} ({agency}) – {what}"


def _nothing_left_to_send(db) -> bool:
    with db.transaction(readonly=True) as session:
        states = session.scalars(select(col(Outbox.state))).all()
    return not set(states) & {"pending", "sending"}


def sign_up(db, clock, course, person):
    return db.call(regs.sign_up, course.id, person.id, clock.now())


async def test_the_lead_hears_who_moved_up_when_the_release_date_frees_the_other_seats(
    h, db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    release = clock.now() + timedelta(days=10)
    course = builders.course(
        db, clock.now(), {"PP-OFR": 1, "PD-Z": 1}, lead_id=lead.id, release_at=release
    )
    anna = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Anna Erste")
    ben = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Ben Zweiter")
    sign_up(db, clock, course, anna)
    sign_up(db, clock, course, ben)
    await run_due_work(h.app)

    clock.set(release)
    await run_due_work(h.app)
    await run_due_work(h.app)

    assert news(h, lead).count(line(course, "Ben Zweiter", "PP-OFR", "nachgerückt")) == 1


async def test_the_lead_hears_who_moved_up_when_an_admin_raises_the_quota(h, db, clock, agencies):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1}, lead_id=lead.id)
    anna = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Anna Erste")
    ben = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Ben Zweiter")
    sign_up(db, clock, course, anna)
    sign_up(db, clock, course, ben)
    boss = {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}

    await h.send(boss, f"/kontingent {course.code} PP-OFR=2 PD-Z=1")

    # Sent by the timed work the admin's command woke (not by a sweep of the test).
    await eventually(lambda: line(course, "Ben Zweiter", "PP-OFR", "nachgerückt") in news(h, lead))


async def test_the_lead_hears_who_was_moved_back_to_the_waiting_list_by_a_lower_quota(
    h, db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), {"PP-OFR": 2, "PD-Z": 1}, lead_id=lead.id)
    anna = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Anna Erste")
    ben = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Ben Zweiter")
    sign_up(db, clock, course, anna)
    sign_up(db, clock, course, ben)
    boss = {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}

    await h.send(boss, f"/kontingent {course.code} PP-OFR=1 PD-Z=1")
    await h.press(boss, "Ja, auf die Warteliste")

    await eventually(lambda: any("zurück auf die Warteliste" in text for text in news(h, lead)))
    told = news(h, lead)
    assert told[-1] == line(course, "Ben Zweiter", "PP-OFR", "zurück auf die Warteliste")
    assert [text for text in told if "Anna Erste" in text] == [
        line(course, "Anna Erste", "PP-OFR", "angemeldet")
    ]


async def test_the_lead_hears_who_moved_up_when_a_postponed_course_frees_a_last_day_seat(
    h, db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(
        db,
        clock.now(),
        {"PP-OFR": 1, "PD-Z": 1},
        lead_id=lead.id,
        registration_deadline=clock.now() + timedelta(days=29, hours=20),
    )
    anna = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Anna Erste")
    ben = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Ben Zweiter")
    held = sign_up(db, clock, course, anna)
    sign_up(db, clock, course, ben)
    clock.set(course.start_at - timedelta(hours=12))  # the last day: nobody moves up
    db.call(regs.cancel, held.registration_id, anna.id, clock.now())
    await run_due_work(h.app)

    later = course.start_at + timedelta(days=14)
    db.call(
        admin.edit_course_from_form,
        course.code,
        f"Beginn: {later.astimezone(BERLIN):%d.%m.%Y %H:%M}\n"
        f"Ende: {(later + timedelta(hours=7)).astimezone(BERLIN):%d.%m.%Y %H:%M}",
        clock.now(),
        actor=Actor(telegram_id=BOSS, bootstrap_admin=True),
    )
    clock.advance(timedelta(minutes=1))  # the lead's window since the last news is over
    await run_due_work(h.app)

    assert line(course, "Ben Zweiter", "PP-OFR", "nachgerückt") in news(h, lead)


async def test_the_lead_hears_of_a_sign_up_after_the_bot_restarted_before_telling(
    h, db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1}, lead_id=lead.id)
    anna = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Anna Erste")
    # The sign-up commits, then the process dies before anything is sent.
    sign_up(db, clock, course, anna)

    await stop_harness(h)
    again = await start_harness(h.services, api=h.api)
    await run_due_work(again.app)
    await run_due_work(again.app)
    await stop_harness(again)

    assert news(again, lead) == [line(course, "Anna Erste", "PP-OFR", "angemeldet")]


async def test_two_instances_tell_the_lead_of_each_change_once(h, db, clock, agencies):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), {"PP-OFR": 5, "PD-Z": 5}, lead_id=lead.id)
    officers = [
        builders.officer(db, agencies["PP-OFR"], clock.now(), name=f"Person {i}") for i in range(5)
    ]
    for person in officers:
        sign_up(db, clock, course, person)
    second = await start_harness(h.services, api=h.api)

    for _ in range(3):
        await run_due_work(h.app)
        await run_due_work(second.app)
        clock.advance(timedelta(minutes=2))  # past every digest window
    await stop_harness(second)

    told = news(h, lead)
    assert sorted(told) == sorted(
        line(course, f"Person {i}", "PP-OFR", "angemeldet") for i in range(5)
    )


async def test_a_replaced_lead_hears_nothing_more_and_the_new_lead_hears_what_follows(
    h, db, clock, agencies
):
    lea = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    max_ = builders.officer(db, agencies["PD-Z"], clock.now(), name="Max Nachfolger")
    course = builders.course(db, clock.now(), {"PP-OFR": 3, "PD-Z": 1}, lead_id=lea.id)
    anna = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Anna Erste")
    sign_up(db, clock, course, anna)  # written for Lea, not yet sent
    db.call(
        admin.assign_lead,
        course.code,
        str(max_.telegram_id),
        clock.now(),
        actor=Actor(telegram_id=BOSS, bootstrap_admin=True),
    )
    ben = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Ben Zweiter")
    sign_up(db, clock, course, ben)

    await run_due_work(h.app)
    clock.advance(timedelta(minutes=2))
    await run_due_work(h.app)

    assert news(h, lea) == []
    assert news(h, max_) == [line(course, "Ben Zweiter", "PP-OFR", "angemeldet")]


async def test_a_burst_of_sign_ups_reaches_the_lead_at_once_and_then_as_one_message(
    h, db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), {"PP-OFR": 40, "PD-Z": 10}, lead_id=lead.id)
    officers = [
        builders.officer(db, agencies["PP-OFR"], clock.now(), name=f"Officer {i}")
        for i in range(30)
    ]

    sign_up(db, clock, course, officers[0])
    await run_due_work(h.app)
    at_once = [m.text for m in h.api.messages(lead.telegram_id)]
    for person in officers[1:]:
        sign_up(db, clock, course, person)
    clock.advance(timedelta(seconds=59))
    await run_due_work(h.app)
    within = [m.text for m in h.api.messages(lead.telegram_id)]
    clock.advance(timedelta(seconds=1))
    await run_due_work(h.app)
    later = [m.text for m in h.api.messages(lead.telegram_id)]

    assert at_once == [line(course, "Officer 0", "PP-OFR", "angemeldet")]
    assert within == at_once
    assert len(later) == 2
    assert later[1].count("📋 ") == 29
    assert all(f"Officer {i} (PP-OFR) – angemeldet" in later[1] for i in range(1, 30))


async def test_news_of_more_than_fifty_changes_ends_with_how_many_more(h, db, clock, agencies):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), {"PP-OFR": 80, "PD-Z": 10}, lead_id=lead.id)
    for i in range(60):
        person = builders.officer(db, agencies["PP-OFR"], clock.now(), name=f"Officer {i}")
        sign_up(db, clock, course, person)

    await run_due_work(h.app)

    told = "\n".join(m.text for m in h.api.messages(lead.telegram_id))
    assert told.count("📋 ") == 50
    assert told.endswith("… und 10 weitere")
    assert all(len(m.text) <= 4096 for m in h.api.messages(lead.telegram_id))


async def test_news_of_an_officer_who_deleted_their_data_meanwhile_name_nobody(
    h, db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), {"PP-OFR": 3, "PD-Z": 1}, lead_id=lead.id)
    anna = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Anna Erste")
    sign_up(db, clock, course, anna)
    db.call(privacy.delete_person, anna.id, clock.now())

    await run_due_work(h.app)
    clock.advance(timedelta(minutes=2))
    await run_due_work(h.app)

    told = "\n".join(news(h, lead))
    assert "Anna Erste" not in told
    assert line(course, "gelöschte Person", "PP-OFR", "abgemeldet") in told


async def test_the_news_of_a_sign_up_comes_within_moments_without_the_timed_sweep(
    h, db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), {"PP-OFR": 3, "PD-Z": 1}, lead_id=lead.id)
    anna = await _joined(h, agencies, "Anna Erste")

    await h.send(anna, "/kurse")
    await h.press(anna, course.title[:20])
    await h.press(anna, "Anmelden")

    await eventually(lambda: news(h, lead) == [line(course, "Anna Erste", "PP-OFR", "angemeldet")])


async def _joined(h, agencies, name: str) -> dict:
    who = user(name.split()[0])
    await h.join(who, agencies["PP-OFR"].access_code, name)
    return who


async def test_a_burst_of_sign_ups_wakes_the_timed_work_a_few_times_not_once_per_sign_up(
    h, db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), {"PP-OFR": 60, "PD-Z": 10}, lead_id=lead.id)
    officers = [
        builders.officer(db, agencies["PP-OFR"], clock.now(), name=f"Officer {i}")
        for i in range(60)
    ]
    presses = h.sign_up_presses([p.telegram_id for p in officers], course.id)
    registry = h.app.bot_data["metrics"].registry

    def sweeps() -> float:
        return registry.get_sample_value("kursbot_sweeps_total", {"outcome": "ok"}) or 0.0

    before = sweeps()
    await h.feed(presses)
    # The sweep is counted when its round ends, after its sends: wait for that too.
    await eventually(lambda: bool(news(h, lead)) and sweeps() > before)
    woken = sweeps() - before

    assert 1 <= woken <= 10


async def test_a_retried_sign_up_reaches_the_lead_before_the_cancellation_that_came_after_it(
    h, db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), {"PP-OFR": 3, "PD-Z": 1}, lead_id=lead.id)
    anna = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Anna Erste")
    held = sign_up(db, clock, course, anna)
    h.api.retry_after[lead.telegram_id] = 30  # Telegram asks to wait: the news is retried
    first = await run_due_work(h.app)
    clock.advance(timedelta(seconds=5))
    db.call(regs.cancel, held.registration_id, anna.id, clock.now())

    for _ in range(4):
        await run_due_work(h.app)
        clock.advance(timedelta(seconds=30))

    assert first.retried == 1
    assert news(h, lead) == [
        line(course, "Anna Erste", "PP-OFR", "angemeldet"),
        line(course, "Anna Erste", "PP-OFR", "abgemeldet"),
    ]


async def test_the_new_lead_is_told_once_and_naming_the_same_lead_again_tells_nothing(
    h, db, clock, agencies
):
    lea = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now())
    boss = {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}

    await h.send(boss, f"/kursleitung {course.code} {lea.telegram_id}")
    clock.advance(timedelta(minutes=5))
    await h.send(boss, f"/kursleitung {course.code} {lea.telegram_id}")
    await run_due_work(h.app)
    await eventually(lambda: _nothing_left_to_send(db))

    told = [m for m in h.api.messages(lea.telegram_id) if "Sie leiten jetzt" in (m.text or "")]
    assert len(told) == 1


async def test_the_lead_reads_a_cancellation_before_who_moved_up_into_the_seat(
    h, db, clock, agencies
):
    lead = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1}, lead_id=lead.id)
    anna = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Anna Erste")
    ben = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Ben Zweiter")
    held = sign_up(db, clock, course, anna)
    sign_up(db, clock, course, ben)

    db.call(regs.cancel, held.registration_id, anna.id, clock.now())
    await run_due_work(h.app)

    assert news(h, lead) == [
        line(course, "Anna Erste", "PP-OFR", "angemeldet"),
        line(course, "Ben Zweiter", "PP-OFR", "auf der Warteliste eingetragen"),
        line(course, "Anna Erste", "PP-OFR", "abgemeldet"),
        line(course, "Ben Zweiter", "PP-OFR", "nachgerückt"),
    ]
