"""Offers from the waiting list through the real Application: the offer message, accepting and
declining by button, someone else's offer, two presses, expiry, a blocked chat; and the
officer moved up into a seat that waits for their agency's approval."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from kurse import admin, offers
from kurse import registrations as regs
from kurse.invariants import invariant_violations
from kurse.models import Outbox, Registration, RegistrationStatus
from kurse.outbox import MessageKind
from tests import builders
from tests.harness import deliver, eventually, start_harness, stop_harness, user_of

BOSS = builders.ADMIN
CONFIRMED, WAITING = RegistrationStatus.CONFIRMED, RegistrationStatus.WAITING
OFFERED, REQUESTED = RegistrationStatus.OFFERED, RegistrationStatus.REQUESTED
CANCELLED = RegistrationStatus.CANCELLED


def state(db, registration_id):
    with db.transaction(readonly=True) as session:
        found = session.get(Registration, registration_id)
        assert found is not None
        return found.status


def seat_rows(db):
    snap = builders.snapshot(db)
    return {k: snap[k] for k in ("registration", "audit_log", "task") if k in snap}


def offer_course(db, clock, agencies, *, waiting=2, hours=24, **overrides):
    """A course of one PP-OFR seat filled by offers: its holder and those waiting, each as
    (person, registration id)."""
    course = builders.course(
        db, clock.now(), {"PP-OFR": 1, "PD-Z": 0}, offer_hours=hours, **overrides
    )
    holder = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Inhaberin")
    held = db.call(regs.sign_up, course.id, holder.id, clock.now()).registration_id
    queue = []
    for name in ("Łukasz Wróbel", "Çağla Öztürk", "Jiří Dvořák")[:waiting]:
        clock.advance(timedelta(seconds=1))
        person = builders.officer(db, agencies["PP-OFR"], clock.now(), name=name)
        rid = db.call(regs.sign_up, course.id, person.id, clock.now()).registration_id
        queue.append((person, rid))
    return course, (holder, held), queue


async def offered(h, db, clock, agencies, **kwargs):
    """The holder gives the seat back; the first in line has the offer message."""
    course, (holder, held), queue = offer_course(db, clock, agencies, **kwargs)
    db.call(regs.cancel, held, holder.id, clock.now())
    await deliver(h)
    return course, queue


# --- hostile presses first ------------------------------------------------------------------


async def test_pressing_accept_on_someone_elses_offer_is_refused_and_changes_nothing(
    h, db, clock, agencies
):
    _course, [(first, first_id), (second, _)] = await offered(h, db, clock, agencies)
    intruder = user_of(second)
    page = h.api.show(intruder["id"], "x", [])
    before = seat_rows(db)

    await h.press_data(intruder, f"oa:{first_id}", page)
    await h.press_data(intruder, f"od:{first_id}", page)
    await h.press_data(intruder, "oa:0", page)
    await h.press_data(intruder, "oa:-1", page)

    assert seat_rows(db) == before
    assert state(db, first_id) == OFFERED
    alerts = h.alerts()[-4:]
    assert alerts[:3] == ["Diese Anmeldung gibt es nicht (mehr)."] * 3
    assert "nicht mehr gültig" in alerts[3]
    assert first.telegram_id != second.telegram_id


async def test_a_second_press_on_the_same_button_says_it_is_done_already(h, db, clock, agencies):
    _course, [(first, first_id), _] = await offered(h, db, clock, agencies)
    chat = user_of(first)
    message = h.with_button(chat, "Annehmen")

    await h.press(chat, "Annehmen", message)
    before = seat_rows(db)
    await h.press_data(chat, f"oa:{first_id}", message)
    await h.press_data(chat, f"od:{first_id}", message)

    assert seat_rows(db) == before
    assert h.alerts()[-2:] == ["Sie haben dieses Angebot bereits angenommen."] * 2
    assert state(db, first_id) == CONFIRMED


# --- the flow -------------------------------------------------------------------------------


async def test_the_first_in_line_gets_the_offer_with_its_deadline_and_buttons(
    h, db, clock, agencies
):
    course, [(first, first_id), (second, _)] = await offered(h, db, clock, agencies)
    chat = user_of(first)

    message = h.with_button(chat, "Annehmen")
    mine = await h.send(chat, "/meine")
    await h.send(chat, "/kurse")
    await h.press(chat, course.title[:20])
    page = h.last(chat)

    assert message.text.startswith("🎁 In <b>Grenzüberschreitende Fahndung – Grundlagen</b>")
    assert "Bitte nehmen Sie ihn bis Mo., 11. Januar 2027, 10:00 Uhr an" in message.text
    assert message.button_texts() == ["Annehmen", "Ablehnen"]
    assert "Platz angeboten (annehmen oder ablehnen bis " in mine[0].text
    assert "🎁 Ihnen wird ein Platz angeboten" in page.text
    assert page.button_texts()[:2] == ["Annehmen", "Ablehnen"]
    assert "Abmelden" not in page.button_texts()
    assert not [m for m in h.api.messages(second.telegram_id) if m.buttons]
    assert state(db, first_id) == OFFERED


async def test_accepting_edits_the_message_and_sends_the_calendar_file(h, db, clock, agencies):
    course, [(first, first_id), _] = await offered(h, db, clock, agencies)
    chat = user_of(first)
    message = h.with_button(chat, "Annehmen")

    sent = await h.press(chat, "Annehmen", message)

    assert message.text.startswith("✅ Sie haben angenommen: Sie sind für <b>Grenz")
    assert message.buttons == []
    assert [m.document[0] for m in sent if m.document] == [f"{course.code}.ics"]
    assert state(db, first_id) == CONFIRMED
    assert db.call(invariant_violations, course.id, clock.now()) == []


async def test_declining_leaves_the_waiting_list_and_the_next_in_line_gets_an_offer(
    h, db, clock, agencies
):
    course, [(first, first_id), (second, second_id)] = await offered(h, db, clock, agencies)
    chat = user_of(first)
    message = h.with_button(chat, "Ablehnen")

    await h.press(chat, "Ablehnen", message)
    await deliver(h)

    assert message.text.startswith("Sie haben den Platz in <b>Grenz")
    assert state(db, first_id) == CANCELLED
    assert state(db, second_id) == OFFERED
    assert h.with_button(user_of(second), "Annehmen").text.startswith("🎁 In <b>")
    assert db.call(invariant_violations, course.id, clock.now()) == []


async def test_an_unanswered_offer_expires_the_officer_is_told_and_the_next_is_offered(
    h, db, clock, agencies
):
    _course, [(first, first_id), (_second, second_id)] = await offered(h, db, clock, agencies)
    chat = user_of(first)
    old = h.with_button(chat, "Annehmen")

    clock.advance(timedelta(hours=24, seconds=1))
    await deliver(h)
    await deliver(h)
    await h.press(chat, "Annehmen", old)

    assert state(db, first_id) == CANCELLED
    assert state(db, second_id) == OFFERED
    told = [m.text for m in h.api.messages(first.telegram_id)]
    assert any(t.startswith("Das Angebot eines Platzes in <b>Grenz") for t in told)
    assert h.alerts()[-1] == (
        "Dieses Angebot ist abgelaufen; der Platz wird der nächsten Person auf der Warteliste "
        "angeboten."
    )


async def test_an_offer_to_a_blocked_chat_goes_to_the_next_in_line_at_once(h, db, clock, agencies):
    course, (holder, held), [(first, first_id), (second, second_id)] = offer_course(
        db, clock, agencies
    )
    h.api.blocked.add(first.telegram_id)
    db.call(regs.cancel, held, holder.id, clock.now())

    await deliver(h)
    # The next offer goes out at once (the bot wakes its timed work), not at the next sweep.
    await eventually(lambda: any(m.buttons for m in h.api.messages(second.telegram_id)))

    assert state(db, first_id) == CANCELLED
    assert state(db, second_id) == OFFERED
    assert h.with_button(user_of(second), "Annehmen")
    assert db.call(invariant_violations, course.id, clock.now()) == []
    assert holder.id != first.id


async def test_an_offer_answered_before_its_message_goes_out_is_not_sent(h, db, clock, agencies):
    course, (holder, held), [(first, first_id), _] = offer_course(db, clock, agencies)
    db.call(regs.cancel, held, holder.id, clock.now())
    db.call(offers.decline, first_id, first.id, clock.now())

    await deliver(h)

    assert not [m for m in h.api.messages(first.telegram_id) if m.buttons]
    with db.transaction(readonly=True) as session:
        kinds = session.execute(
            select(Outbox.kind, Outbox.state).where(Outbox.person_id == first.id)
        ).all()
    assert (MessageKind.OFFER, "skipped") in [(k, s) for k, s in kinds]
    assert course.id


async def test_accepting_in_an_approval_agency_requests_the_seat_and_asks_the_approver(
    h, db, clock, agencies
):
    dora = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Dora D")
    course, (holder, held), [(first, first_id), _] = offer_course(db, clock, agencies)
    db.call(admin.set_approval, "PP-OFR", True, clock.now(), actor=BOSS)
    db.call(admin.change_approver, "PP-OFR", str(dora.telegram_id), True, clock.now(), actor=BOSS)
    db.call(regs.cancel, held, holder.id, clock.now())
    await deliver(h)
    chat = user_of(first)
    message = h.with_button(chat, "Annehmen")

    sent = await h.press(chat, "Annehmen", message)
    await deliver(h)

    assert message.text.startswith("📝 Sie haben den Platz in <b>Grenz")
    assert "Die Genehmigung durch Ihre Dienststelle ist beantragt" in message.text
    assert not [m for m in sent if m.document]  # no calendar file before the approval
    assert state(db, first_id) == REQUESTED
    assert h.with_button(user_of(dora), "Genehmigen").text.startswith("📝 <b>Genehmigung")
    assert course.id


async def test_moved_up_into_a_requested_seat_the_officer_is_told_of_the_approval(
    h, db, clock, agencies
):
    dora = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Dora D")
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 0})
    holder = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Inhaberin")
    held = db.call(regs.sign_up, course.id, holder.id, clock.now()).registration_id
    waiting = builders.officer(db, agencies["PP-OFR"], clock.now(), name="Юлия Иванова")
    rid = db.call(regs.sign_up, course.id, waiting.id, clock.now()).registration_id
    db.call(admin.set_approval, "PP-OFR", True, clock.now(), actor=BOSS)
    db.call(admin.change_approver, "PP-OFR", str(dora.telegram_id), True, clock.now(), actor=BOSS)

    db.call(regs.cancel, held, holder.id, clock.now())
    await deliver(h)

    told = h.api.messages(waiting.telegram_id)[-1]
    assert told.text.startswith("🎉 In <b>Grenzüberschreitende Fahndung – Grundlagen</b>")
    assert "Sie sind nachgerückt. Die Genehmigung durch Ihre Dienststelle ist beantragt" in (
        told.text
    )
    assert told.document is None
    assert state(db, rid) == REQUESTED


async def test_an_offer_button_still_works_after_a_restart(h, db, clock, agencies):
    _course, [(first, first_id), _] = await offered(h, db, clock, agencies)
    chat = user_of(first)
    message = h.with_button(chat, "Annehmen")
    await stop_harness(h)

    again = await start_harness(h.services, api=h.api)
    try:
        await again.press(chat, "Annehmen", message)
    finally:
        await stop_harness(again)

    assert state(db, first_id) == CONFIRMED
    assert message.text.startswith("✅ Sie haben angenommen")
