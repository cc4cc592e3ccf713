"""A course's lead changed by `/kursleitung` while a seat is offered, through the real
Application: the old lead's commands and old buttons on the course are refused, the offer
runs on to its deadline, and what its expiry does is told to the new lead alone."""

from __future__ import annotations

from datetime import timedelta

from kurse import registrations as regs
from kurse.invariants import invariant_violations
from kurse.models import Registration, RegistrationStatus
from tests import builders
from tests.harness import deliver, user_of
from tests.test_lead_change_holds import offered_course

BOSS = {"id": 4242, "is_bot": False, "first_name": "Chefin", "language_code": "de"}
NOT_LEAD = "Die Teilnehmenden eines Kurses sehen nur die Kursleitung und die Administration."
NO_TIME = "ist ein Platz frei geworden, zu spät für ein Angebot oder eine Genehmigung"
CANCELLED, WAITING = RegistrationStatus.CANCELLED, RegistrationStatus.WAITING
OFFERED = RegistrationStatus.OFFERED


def state(db, registration_id):
    with db.transaction(readonly=True) as session:
        found = session.get(Registration, registration_id)
        assert found is not None
        return found.status, found.held_until


async def offered_then_lead_changed(
    h, db, clock, agencies, *, hours: int, lead_later=False, **overrides
):
    """A one-seat offer course led by Lea: its holder gave the seat back, the first of two
    waiting has the offer, Lea opened her list, and then the admin made Nora the lead.
    Returns the course, Lea's and Nora's chats, Lea's list message and the two waiting
    (``lead_later``: Lea still leads; the test changes the lead itself)."""
    lea = builders.officer(db, agencies["PD-Z"], clock.now(), name="Lea Leitung")
    nora = builders.officer(db, agencies["PD-Z"], clock.now(), name="Nora Neu")
    course, queue_ids = offered_course(
        db, clock, agencies, lea, hours=hours, names=("Łukasz Wróbel", "Иван Петров"), **overrides
    )
    await deliver(h)
    old, new = user_of(lea), user_of(nora)
    await h.send(old, f"/teilnehmer {course.code}")
    old_list = h.with_button(old, "CSV-Datei")
    clock.advance(timedelta(hours=1))
    if lead_later:
        return course, old, new, old_list, queue_ids

    changed = await h.send(BOSS, f"/kursleitung {course.code} {nora.telegram_id}")
    await deliver(h)

    assert "Nora Neu" in changed[0].text
    return course, old, new, old_list, queue_ids


async def test_the_old_lead_is_refused_and_the_new_lead_hears_that_the_seat_is_free_too_late(
    h, db, clock, agencies
):
    deadline = clock.now() + timedelta(hours=9)
    course, old, new, old_list, [(_, first_id), (_, second_id)] = await offered_then_lead_changed(
        h, db, clock, agencies, hours=8, registration_deadline=deadline
    )
    _status, offer_deadline = state(db, first_id)
    files_before = sum(1 for m in h.api.messages(old["id"]) if m.document)
    seen_by_old = len(h.api.messages(old["id"]))

    refused_list = await h.send(old, f"/teilnehmer {course.code}")
    refused_attendance = await h.send(old, f"/anwesenheit {course.code}")
    await h.press(old, "CSV-Datei", old_list)
    alert = h.alerts()[-1]
    shown_to_new = await h.send(new, f"/teilnehmer {course.code}")
    clock.set(offer_deadline)
    await deliver(h)
    await deliver(h)

    assert [m.text for m in refused_list] == [NOT_LEAD]
    assert [m.text for m in refused_attendance] == [NOT_LEAD]
    assert alert == NOT_LEAD
    assert sum(1 for m in h.api.messages(old["id"]) if m.document) == files_before
    assert "Łukasz Wróbel" in shown_to_new[0].text
    assert "angeboten" in shown_to_new[0].text
    assert state(db, first_id) == (CANCELLED, None)
    assert state(db, second_id) == (WAITING, None)
    to_new = [m.text for m in h.api.messages(new["id"])]
    assert to_new[0].startswith("Sie leiten jetzt <b>Grenz")  # told of the new role
    assert any("Łukasz Wróbel (PP-OFR) – hat das Angebot verfallen lassen" in t for t in to_new)
    assert any(NO_TIME in t for t in to_new)
    # The old lead got nothing after the change but the refusals of their own presses.
    after = [m.text for m in h.api.messages(old["id"])[seen_by_old:]]
    assert after == [NOT_LEAD, NOT_LEAD]
    assert db.call(invariant_violations, course.id, clock.now()) == []


async def test_an_offer_expiring_after_the_change_of_lead_is_offered_to_the_next_in_line(
    h, db, clock, agencies
):
    (
        course,
        old,
        new,
        _list,
        [(first, first_id), (second, second_id)],
    ) = await offered_then_lead_changed(h, db, clock, agencies, hours=6)
    _status, offer_deadline = state(db, first_id)
    seen_by_old = len(h.api.messages(old["id"]))

    clock.set(offer_deadline)
    await deliver(h)
    await deliver(h)

    assert state(db, first_id) == (CANCELLED, None)
    assert state(db, second_id) == (OFFERED, clock.now() + timedelta(hours=6))
    assert h.with_button(user_of(second), "Annehmen").text.startswith("🎁 In <b>")
    told_first = [m.text for m in h.api.messages(first.telegram_id)]
    assert any(t.startswith("Das Angebot eines Platzes in <b>Grenz") for t in told_first)
    to_new = "\n".join(m.text for m in h.api.messages(new["id"]) if m.text)
    assert "Łukasz Wróbel (PP-OFR) – hat das Angebot verfallen lassen" in to_new
    assert "Иван Петров (PP-OFR) – hat den freien Platz angeboten bekommen" in to_new
    assert h.api.messages(old["id"])[seen_by_old:] == []
    assert db.call(invariant_violations, course.id, clock.now()) == []


async def test_a_free_seat_told_to_the_old_lead_but_not_yet_sent_reaches_the_new_lead(
    h, db, clock, agencies
):
    # Lea got news a moment ago, so the free seat's news waits for the end of her minute
    # (`kurse.outbox`); the lead changes within that minute.
    deadline = clock.now() + timedelta(hours=9)
    course, old, new, _list, [(_, first_id), (_, second_id)] = await offered_then_lead_changed(
        h, db, clock, agencies, hours=8, registration_deadline=deadline, lead_later=True
    )
    _status, offer_deadline = state(db, first_id)
    clock.set(offer_deadline - timedelta(seconds=20))
    late = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Spät Angemeldet")
    db.call(regs.sign_up, course.id, late.id, clock.now())
    await deliver(h)  # Lea hears of the sign-up
    clock.set(offer_deadline)
    await deliver(h)  # the offer expires: the news for Lea waits for her minute to end
    seen_by_old = len(h.api.messages(old["id"]))
    clock.advance(timedelta(seconds=10))

    await h.send(BOSS, f"/kursleitung {course.code} {new['id']}")
    clock.advance(timedelta(minutes=1))
    await deliver(h)

    assert state(db, second_id) == (WAITING, None)
    assert h.api.messages(old["id"])[seen_by_old:] == []
    to_new = [m.text or "" for m in h.api.messages(new["id"])]
    assert sum(NO_TIME in t for t in to_new) == 1
    # Only the free seat is handed over: the rest of Lea's news was about her list.
    assert not any("hat das Angebot verfallen lassen" in t for t in to_new)
