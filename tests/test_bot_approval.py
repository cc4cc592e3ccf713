"""Approval (Genehmigung) through the real Application: admins set it up, approvers decide with
buttons and commands, officers see their requested seats; hostile presses first."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from kurse import admin, approval
from kurse import registrations as regs
from kurse.actors import Actor
from kurse.models import Approver, Outbox, Registration, RegistrationStatus
from kurse.outbox import MessageKind
from tests import builders
from tests.harness import deliver

BOSS = 4242
BOSS_ACTOR = Actor(telegram_id=BOSS, bootstrap_admin=True)
CONFIRMED, WAITING = RegistrationStatus.CONFIRMED, RegistrationStatus.WAITING
REQUESTED, CANCELLED = RegistrationStatus.REQUESTED, RegistrationStatus.CANCELLED


@pytest.fixture
def boss():
    return {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}


def chat_user(person, language="de"):
    return {
        "id": person.telegram_id,
        "is_bot": False,
        "first_name": "X",
        "language_code": language,
    }


def joined(db, clock, agency, name, **extra):
    person = builders.officer(db, agency, clock.now(), name=name, **extra)
    return person, chat_user(person, extra.get("language", "de"))


def approval_on(db, clock, code, *deciders):
    db.call(admin.set_approval, code, True, clock.now(), actor=BOSS_ACTOR)
    for person in deciders:
        db.call(
            admin.change_approver,
            code,
            str(person.telegram_id),
            True,
            clock.now(),
            actor=BOSS_ACTOR,
        )


def state(db, registration_id):
    with db.transaction(readonly=True) as session:
        found = session.get(Registration, registration_id)
        assert found is not None
        return found.status


def registration_of(db, person, course):
    with db.transaction(readonly=True) as session:
        return session.scalar(
            select(Registration).where(
                Registration.person_id == person.id, Registration.course_id == course.id
            )
        )


def seat_rows(db):
    """The rows an approval decision changes: registrations, approvers, the audit log."""
    snap = builders.snapshot(db)
    return {k: snap[k] for k in ("registration", "approver", "audit_log", "task") if k in snap}


async def sign_up(h, who, course):
    await h.send(who, "/kurse")
    await h.press(who, course.title[:20])
    return await h.press(who, "Anmelden")


@pytest.fixture
def setting(db, clock, agencies):
    """PP-OFR needs approval, decided by Dora (PP-OFR); Anna (PP-OFR) signed up and waits."""
    dora, dora_chat = joined(db, clock, agencies["PP-OFR"], "Dora Dienststellenleiterin")
    approval_on(db, clock, "PP-OFR", dora)
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    anna, anna_chat = joined(db, clock, agencies["PP-OFR"], "Anna Beispiel", rank="PK")
    return {
        "dora": (dora, dora_chat),
        "anna": (anna, anna_chat),
        "course": course,
    }


# --- hostile presses first ------------------------------------------------------------------


async def test_an_approver_of_the_other_agency_pressing_a_forged_approve_is_refused(
    h, db, clock, agencies, setting
):
    anna, anna_chat = setting["anna"]
    await sign_up(h, anna_chat, setting["course"])
    rid = registration_of(db, anna, setting["course"]).id
    zeno, zeno_chat = joined(db, clock, agencies["PD-Z"], "Zeno Zwickau")
    approval_on(db, clock, "PD-Z", zeno)
    page = h.api.show(zeno_chat["id"], "x", [])
    before = seat_rows(db)

    await h.press_data(zeno_chat, f"ga:{rid}:1", page)
    await h.press_data(zeno_chat, f"gny:{rid}:1", page)

    assert seat_rows(db) == before
    assert state(db, rid) == REQUESTED
    assert (
        h.alerts()[-2:]
        == [
            "Über diesen Antrag entscheiden nur die Genehmigenden der eigenen Dienststelle der "
            "Person; dazu gehören Sie nicht (mehr). Es wurde nichts geändert."
        ]
        * 2
    )


async def test_someone_who_approves_for_nobody_is_refused_and_garbage_data_is_stale(
    h, db, clock, agencies, setting
):
    anna, anna_chat = setting["anna"]
    await sign_up(h, anna_chat, setting["course"])
    rid = registration_of(db, anna, setting["course"]).id
    _eve, eve_chat = joined(db, clock, agencies["PP-OFR"], "Eve Einfach")
    page = h.api.show(eve_chat["id"], "x", [])
    before = seat_rows(db)

    await h.press_data(eve_chat, f"ga:{rid}:0", page)
    await h.press_data(eve_chat, "ga:99999999999:0", page)  # too long for our data
    await h.press_data(eve_chat, "ga:1;DROP TABLE:0", page)
    await h.press_data(eve_chat, f"gaa:{setting['course'].id}", page)
    listed = await h.send(eve_chat, "/genehmigungen")

    assert seat_rows(db) == before
    alerts = h.alerts()[-4:]
    assert alerts[0].startswith("Über diesen Antrag entscheiden nur die Genehmigenden")
    assert alerts[1] == alerts[2]  # forged shapes: "no longer valid"
    assert "nicht mehr gültig" in alerts[1] or "nicht mehr" in alerts[1]
    assert alerts[3].startswith("Über diesen Antrag entscheiden nur die Genehmigenden")
    assert listed[0].text.startswith("Über diesen Antrag entscheiden nur")


async def test_a_removed_approvers_old_button_is_refused_and_changes_nothing(h, db, boss, setting):
    dora, dora_chat = setting["dora"]
    anna, anna_chat = setting["anna"]
    await sign_up(h, anna_chat, setting["course"])
    await deliver(h)
    message = h.with_button(dora_chat, "Genehmigen")
    removed = await h.send(boss, f"/genehmigung_entfernen PP-OFR {dora.telegram_id}")
    before = seat_rows(db)

    await h.press(dora_chat, "Genehmigen", message)

    assert removed[0].text == (
        "Dora Dienststellenleiterin genehmigt die Anmeldungen von PP-OFR nicht mehr."
    )
    assert state(db, registration_of(db, anna, setting["course"]).id) == REQUESTED
    assert seat_rows(db) == before
    assert h.alerts()[-1].startswith("Über diesen Antrag entscheiden nur die Genehmigenden")


async def test_an_approver_cannot_decide_their_own_request(h, db, clock, agencies, setting):
    dora, dora_chat = setting["dora"]
    otto, otto_chat = joined(db, clock, agencies["PP-OFR"], "Otto Vertretung")
    approval_on(db, clock, "PP-OFR", otto)
    await sign_up(h, dora_chat, setting["course"])
    rid = registration_of(db, dora, setting["course"]).id
    await deliver(h)
    before = seat_rows(db)

    await h.press_data(dora_chat, f"ga:{rid}:1", h.api.show(dora_chat["id"], "x", []))

    assert seat_rows(db) == before
    assert h.alerts()[-1] == (
        "Über Ihren eigenen Antrag können Sie nicht entscheiden; das tut eine andere "
        "genehmigende Person Ihrer Dienststelle."
    )
    assert h.with_button(otto_chat, "Genehmigen")  # the deputy got it
    assert not [m for m in h.api.messages(dora_chat["id"]) if "Genehmigen" in m.button_texts()]


async def test_a_second_approver_pressing_later_is_told_who_decided(
    h, db, clock, agencies, setting
):
    _dora, dora_chat = setting["dora"]
    otto, otto_chat = joined(db, clock, agencies["PP-OFR"], "Otto Vertretung")
    approval_on(db, clock, "PP-OFR", otto)
    anna, anna_chat = setting["anna"]
    await sign_up(h, anna_chat, setting["course"])
    await deliver(h)

    await h.press(dora_chat, "Genehmigen")
    first = h.last(dora_chat)
    clock.advance(timedelta(minutes=5))
    await h.press(otto_chat, "Genehmigen")

    assert first.text.startswith("✅ Genehmigt: Anna Beispiel. Die Person wird benachrichtigt.")
    assert h.alerts()[-1].startswith(
        "Dieser Antrag wurde bereits genehmigt von Dora Dienststellenleiterin am "
    )
    assert state(db, registration_of(db, anna, setting["course"]).id) == CONFIRMED


# --- the flow -------------------------------------------------------------------------------


async def test_admins_switch_approval_appoint_approvers_and_see_them_in_the_agency_list(
    h, db, clock, agencies, boss
):
    dora, _ = joined(db, clock, agencies["PD-Z"], "Dora Dienststellenleiterin", username="dora")

    switched = await h.send(boss, "/dienststelle_genehmigung PD-Z an")
    warned = await h.send(boss, "/dienststellen")
    appointed = await h.send(boss, "/genehmigung_neu PD-Z @dora")
    again = await h.send(boss, "/genehmigung_neu pd-z @dora")
    listed = await h.send(boss, "/dienststellen")
    english = await h.send(boss, "/agencyapproval PP-OFR off")

    assert switched[0].text.startswith(
        "Anmeldungen von PD-Z brauchen jetzt die Genehmigung durch eine genehmigende Person "
        "von PD-Z.\n⚠️ Für PD-Z ist noch niemand zum Genehmigen bestimmt"
    )
    assert "Genehmigung: an – ⚠️ niemand zum Genehmigen bestimmt" in warned[0].text
    assert (
        appointed[0].text == "Dora Dienststellenleiterin genehmigt jetzt die Anmeldungen von PD-Z."
    )
    assert again[0].text == (
        "Dora Dienststellenleiterin genehmigt bereits die Anmeldungen von PD-Z."
    )
    assert "Genehmigung: an – genehmigt von: Dora Dienststellenleiterin" in listed[0].text
    assert "Genehmigung: aus" in listed[0].text  # PP-OFR
    assert english[0].text.startswith("Anmeldungen von PP-OFR brauchen jetzt keine Genehmigung")
    with db.transaction(readonly=True) as session:
        assert [(a.person_id) for a in session.scalars(select(Approver))] == [dora.id]


async def test_bad_admin_input_gets_clear_answers_and_changes_nothing(
    h, db, clock, agencies, boss
):
    joined(db, clock, agencies["PD-Z"], "Dora D", username="dora")
    before = builders.snapshot(db)

    unknown_agency = await h.send(boss, "/genehmigung_neu XX-YY @dora")
    unknown_person = await h.send(boss, "/genehmigung_neu PD-Z @niemand")
    bad_value = await h.send(boss, "/dienststelle_genehmigung PD-Z vielleicht")
    no_args = await h.send(boss, "/genehmigung_entfernen")
    huge = await h.send(boss, "/genehmigung_neu PD-Z " + "ż" * 10_000)
    not_admin = await h.send(
        chat_user(joined(db, clock, agencies["PD-Z"], "X Y")[0]),
        "/dienststelle_genehmigung PD-Z an",
    )

    assert (
        unknown_agency[0].text
        == "Eine Dienststelle XX-YY gibt es nicht; /dienststellen zeigt alle."
    )
    assert unknown_person[0].text.startswith("Mit dieser Telegram-ID oder diesem @Benutzernamen")
    assert bad_value[0].text == (
        "Bitte schreiben Sie an oder aus, etwa so: /dienststelle_genehmigung PP-OFR an"
    )
    assert no_args[0].text.startswith("Bitte schreiben Sie es so: /genehmigung_entfernen PP-OFR")
    assert huge[0].text.startswith("Mit dieser Telegram-ID")
    assert not_admin[0].text == "Dafür sind Administratorrechte nötig."
    after = builders.snapshot(db)
    assert after["agency"] == before["agency"]
    assert "approver" not in after or after["approver"] == before.get("approver", [])


async def test_a_sign_up_is_requested_with_its_deadline_and_the_approver_gets_buttons(h, setting):
    _dora, dora_chat = setting["dora"]
    _anna, anna_chat = setting["anna"]
    course = setting["course"]

    await sign_up(h, anna_chat, course)
    page = h.last(anna_chat)
    mine = await h.send(anna_chat, "/meine")
    await deliver(h)

    deadline = "Mi., 13. Januar 2027, 10:00 Uhr"  # 72 hours after T0
    assert h.alerts()[-1] == (
        f"📝 Genehmigung durch Ihre Dienststelle beantragt, Entscheidung bis {deadline}. "
        "Bis dahin ist Ihr Platz vorgemerkt."
    )
    assert "📝 Genehmigung durch Ihre Dienststelle beantragt" in page.text
    assert "Abmelden" in page.button_texts()
    assert "Kalender (.ics)" not in " ".join(page.button_texts())
    assert "Genehmigung beantragt (Entscheidung bis " in mine[0].text
    request = h.with_button(dora_chat, "Genehmigen")
    assert request.text.startswith("📝 <b>Genehmigung beantragt</b>: Eine Anmeldung aus Ihrer")
    assert "PK Anna Beispiel (PP-OFR)" in request.text
    assert course.code in request.text
    assert "Entscheidung bis" in request.text
    assert request.button_texts() == ["Genehmigen", "Ablehnen"]
    assert "/ablehnen NUMMER Grund" in request.text


async def test_approving_confirms_the_seat_and_the_officer_gets_the_calendar_file(h, db, setting):
    _dora, dora_chat = setting["dora"]
    anna, anna_chat = setting["anna"]
    await sign_up(h, anna_chat, setting["course"])
    await deliver(h)

    await h.press(dora_chat, "Genehmigen")
    decided = h.last(dora_chat)
    await deliver(h)

    assert decided.text.startswith("✅ Genehmigt: Anna Beispiel.")
    assert "Kein Antrag wartet auf Ihre Entscheidung." in decided.text
    assert decided.buttons == []
    told = h.last(anna_chat)
    assert told.text.startswith("✅ Ihre Dienststelle hat Ihre Anmeldung genehmigt")
    assert told.document is not None
    assert told.document[0].endswith(".ics")
    assert state(db, registration_of(db, anna, setting["course"]).id) == CONFIRMED


async def test_refusing_asks_first_and_then_refuses_without_a_reason(h, db, setting):
    _dora, dora_chat = setting["dora"]
    anna, anna_chat = setting["anna"]
    await sign_up(h, anna_chat, setting["course"])
    await deliver(h)
    rid = registration_of(db, anna, setting["course"]).id

    await h.press(dora_chat, "Ablehnen")
    asked, still = h.last(dora_chat).text, state(db, rid)
    await h.press(dora_chat, "« Zurück")
    back = h.last(dora_chat).button_texts()
    await h.press(dora_chat, "Ablehnen")
    await h.press(dora_chat, "Ohne Grund ablehnen")
    done = h.last(dora_chat)
    await deliver(h)

    assert still == REQUESTED
    assert asked.startswith("Den Antrag von PK Anna Beispiel (PP-OFR) für <b>Grenzüberschreitende")
    assert f"/ablehnen {rid} Grund" in asked
    assert back == ["Genehmigen", "Ablehnen"]
    assert done.text.startswith("❌ Abgelehnt: Anna Beispiel.")
    assert state(db, rid) == CANCELLED
    told = h.last(anna_chat)
    assert told.text.startswith("Ihre Dienststelle hat Ihre Anmeldung für <b>Grenz")
    assert "Grund:" not in told.text


async def test_refusing_with_a_reason_by_command_tells_the_officer_the_reason(
    h, db, clock, setting
):
    _dora, dora_chat = setting["dora"]
    anna, anna_chat = setting["anna"]
    rid = db.call(regs.sign_up, setting["course"].id, anna.id, clock.now()).registration_id

    too_long = await h.send(dora_chat, f"/ablehnen {rid} " + "ü" * 10_000)
    no_number = await h.send(dora_chat, "/ablehnen Anna")
    refused = await h.send(dora_chat, f"/refuse {rid} Dienstplan: Nachtschicht <b>am 12.</b>")
    await deliver(h)

    assert too_long[0].text.startswith("Das ist zu lang")
    assert no_number[0].text.startswith("Bitte schreiben Sie es so: /ablehnen 17 Grund")
    assert refused[0].text.startswith("❌ Abgelehnt: Anna Beispiel.")
    assert state(db, rid) == CANCELLED
    told = h.last(anna_chat)
    assert told.text.endswith("Grund: Dienstplan: Nachtschicht &lt;b&gt;am 12.&lt;/b&gt;")


async def test_the_approvers_list_shows_oldest_first_and_approves_all(
    h, db, clock, agencies, setting
):
    _dora, dora_chat = setting["dora"]
    course = builders.course(db, clock.now(), {"PP-OFR": 5, "PD-Z": 1}, title="Zweiter Kurs")
    names = ["Łukasz Wróbel", "Çağla Öztürk", "Jiří Dvořák", "Юлия Иванова"]
    people = []
    for name in names:
        person, chat = joined(db, clock, agencies["PP-OFR"], name)
        people.append(person)
        clock.advance(timedelta(minutes=1))
        await sign_up(h, chat, course)

    listed = await h.send(dora_chat, "/genehmigungen")
    listed_text, listed_buttons = listed[0].text, listed[0].button_texts()
    await h.press(dora_chat, "Alle genehmigen", listed[0])
    done = h.last(dora_chat)

    text = listed_text
    assert text.startswith("<b>Warten auf Ihre Entscheidung</b> (älteste oben)")
    assert [text.index(n) for n in names] == sorted(text.index(n) for n in names)
    assert "Alle genehmigen" in listed_buttons
    assert done.text.startswith("✅ 4 Anträge genehmigt.")
    assert [state(db, registration_of(db, p, course).id) for p in people] == [CONFIRMED] * 4


async def test_a_burst_reaches_the_approver_as_one_message_with_a_button_per_request(
    h, db, clock, agencies, setting
):
    _dora, dora_chat = setting["dora"]
    course = builders.course(db, clock.now(), {"PP-OFR": 10, "PD-Z": 1}, title="Großer Kurs")
    people = [joined(db, clock, agencies["PP-OFR"], f"Person {i}") for i in range(3)]
    chats = [chat for _, chat in people]
    await h.feed(h.sign_up_presses([c["id"] for c in chats], course.id))

    await deliver(h)

    sent = [m for m in h.api.messages(dora_chat["id"]) if m.buttons]
    assert len(sent) == 1
    assert sent[0].text.startswith("📝 <b>Genehmigung beantragt</b>: 3 Anmeldungen")
    assert len([b for b in sent[0].button_texts() if b.startswith("✅ Nr.")]) == 3
    assert sent[0].button_texts()[-1] == "Alle genehmigen"

    await h.press(dora_chat, sent[0].button_texts()[0], sent[0])
    one = h.last(dora_chat)

    assert one.text.startswith("✅ Genehmigt: Person 0.")
    assert len([b for b in one.button_texts() if b.startswith("✅ Nr.")]) == 2


async def test_the_reminder_at_half_time_has_the_same_buttons(h, clock, setting):
    _dora, dora_chat = setting["dora"]
    _anna, anna_chat = setting["anna"]
    await sign_up(h, anna_chat, setting["course"])
    await deliver(h)

    clock.advance(timedelta(hours=36, minutes=1))
    await deliver(h)

    reminder = h.last(dora_chat)
    assert reminder.text.startswith("⏰ <b>Erinnerung:</b> Die Hälfte der Zeit")
    assert reminder.button_texts() == ["Genehmigen", "Ablehnen"]


async def test_a_request_decided_before_its_message_goes_out_is_not_sent(
    h, db, clock, agencies, setting
):
    _dora, dora_chat = setting["dora"]
    otto, otto_chat = joined(db, clock, agencies["PP-OFR"], "Otto Vertretung")
    approval_on(db, clock, "PP-OFR", otto)
    anna, _ = setting["anna"]
    # Signed up (no wake-up of the bot): the messages to both approvers wait for the sweep.
    rid = db.call(regs.sign_up, setting["course"].id, anna.id, clock.now()).registration_id
    decided = await h.send(dora_chat, f"/ablehnen {rid} zu spät")

    await deliver(h)

    assert decided[0].text.startswith("❌ Abgelehnt")
    assert not [m for m in h.api.messages(otto_chat["id"]) if m.buttons]
    with db.transaction(readonly=True) as session:
        skipped = session.scalars(
            select(Outbox.state).where(
                Outbox.person_id == otto.id, Outbox.kind == MessageKind.APPROVAL_REQUEST
            )
        ).all()
    assert skipped == ["skipped"]


async def test_withdrawing_a_request_frees_the_seat_without_a_calendar_file(h, db, setting):
    anna, anna_chat = setting["anna"]
    await sign_up(h, anna_chat, setting["course"])

    await h.press(anna_chat, "Abmelden")
    answer = await h.press(anna_chat, "Ja, abmelden")

    assert state(db, registration_of(db, anna, setting["course"]).id) == CANCELLED
    told = answer[-1]
    assert told.text.startswith("Sie haben Ihre Anmeldung für <b>Grenz")
    assert told.document is None


async def test_too_late_for_approval_the_officer_is_told_whom_to_contact(h, db, clock, agencies):
    dora, _ = joined(db, clock, agencies["PP-OFR"], "Dora D")
    lead, _ = joined(db, clock, agencies["PD-Z"], "Lea Leitung")
    approval_on(db, clock, "PP-OFR", dora)
    course = builders.course(
        db,
        clock.now(),
        registration_deadline=clock.now() + timedelta(hours=1, minutes=30),
        lead_id=lead.id,
    )
    anna, anna_chat = joined(db, clock, agencies["PP-OFR"], "Anna Beispiel")

    answer = await sign_up(h, anna_chat, course)

    assert registration_of(db, anna, course) is None
    told = [m.text for m in answer if m.text and "Genehmigung" not in m.text]
    assert any(
        t.startswith("Ihre Dienststelle muss Anmeldungen genehmigen, und bis ")
        and t.endswith("Bitte wenden Sie sich an die Kursleitung, Lea Leitung.")
        for t in told
    ), told


async def test_approvers_see_their_commands_under_help(h, setting):
    _dora, dora_chat = setting["dora"]
    _anna, anna_chat = setting["anna"]

    theirs = await h.send(dora_chat, "/hilfe")
    officer = await h.send(anna_chat, "/hilfe")

    assert "<b>Für die Genehmigung</b> (PP-OFR)" in theirs[0].text
    assert "/genehmigungen" in theirs[0].text
    assert "/genehmigungen" not in officer[0].text


async def test_approvers_appear_in_their_data_and_deleting_it_removes_the_role(h, db, setting):
    _dora, dora_chat = setting["dora"]

    data = await h.send(dora_chat, "/meine_daten")
    await h.send(dora_chat, "/daten_loeschen")
    await h.press(dora_chat, "Ja, alles löschen")

    document = next(m for m in data if m.document is not None)
    exported = json.loads(document.document[1])
    assert [a["code"] for a in exported["approver_for"]] == ["PP-OFR"]
    assert "Sie genehmigen die Anmeldungen von: PP-OFR" in data[0].text
    with db.transaction(readonly=True) as session:
        assert session.scalars(select(Approver)).all() == []


async def test_a_merged_message_lists_only_the_requests_still_waiting(h, db, clock, agencies):
    dora, dora_chat = joined(db, clock, agencies["PP-OFR"], "Dora D")
    otto, _ = joined(db, clock, agencies["PP-OFR"], "Otto Vertretung")
    approval_on(db, clock, "PP-OFR", dora, otto)
    course = builders.course(db, clock.now(), {"PP-OFR": 5, "PD-Z": 1})
    rids = []
    for name in ("Erste Person", "Zweite Person", "Dritte Person"):
        person, _ = joined(db, clock, agencies["PP-OFR"], name)
        rids.append(db.call(regs.sign_up, course.id, person.id, clock.now()).registration_id)
    otto_actor = Actor(telegram_id=otto.telegram_id, person_id=otto.id)
    db.call(approval.decide, rids[1], True, clock.now(), actor=otto_actor)

    await deliver(h)

    sent = [m for m in h.api.messages(dora_chat["id"]) if m.buttons]
    assert len(sent) == 1
    assert "Erste Person" in sent[0].text
    assert "Dritte Person" in sent[0].text
    assert "Zweite Person" not in sent[0].text
    assert sent[0].text.startswith("📝 <b>Genehmigung beantragt</b>: 2 Anmeldungen")


async def test_a_message_to_an_approver_removed_meanwhile_is_not_sent(h, db, clock, agencies):
    dora, dora_chat = joined(db, clock, agencies["PP-OFR"], "Dora D")
    approval_on(db, clock, "PP-OFR", dora)
    course = builders.course(db, clock.now())
    anna, _ = joined(db, clock, agencies["PP-OFR"], "Anna Beispiel")
    db.call(regs.sign_up, course.id, anna.id, clock.now())
    db.call(
        admin.change_approver,
        "PP-OFR",
        str(dora.telegram_id),
        False,
        clock.now(),
        actor=BOSS_ACTOR,
    )

    await deliver(h)

    assert h.api.messages(dora_chat["id"]) == []
    with db.transaction(readonly=True) as session:
        assert session.scalars(
            select(Outbox.last_error).where(Outbox.person_id == dora.id)
        ).all() == ["no listed request waits for this approver any more"]


async def test_the_officer_is_not_told_of_an_outcome_of_a_course_cancelled_meanwhile(
    h, db, clock, setting
):
    dora, _ = setting["dora"]
    anna, anna_chat = setting["anna"]
    course = setting["course"]
    rid = db.call(regs.sign_up, course.id, anna.id, clock.now()).registration_id
    dora_actor = Actor(telegram_id=dora.telegram_id, person_id=dora.id)
    db.call(approval.decide, rid, False, clock.now(), actor=dora_actor)
    db.call(admin.cancel_course_by_code, course.code, "Ausfall", clock.now(), actor=BOSS_ACTOR)

    await deliver(h)

    assert not [m for m in h.api.messages(anna_chat["id"]) if "genehmigt" in (m.text or "")]
    with db.transaction(readonly=True) as session:
        refused = session.scalars(
            select(Outbox.state).where(
                Outbox.person_id == anna.id, Outbox.kind == MessageKind.REFUSED
            )
        ).all()
    assert refused == ["skipped"]


async def test_an_english_approver_reads_english_texts_and_english_commands(
    h, db, clock, agencies
):
    eve, eve_chat = joined(db, clock, agencies["PD-Z"], "Eve English", language="en")
    approval_on(db, clock, "PD-Z", eve)
    course = builders.course(db, clock.now())
    ben, _ = joined(db, clock, agencies["PD-Z"], "Ben Beispiel", rank="KOK")
    db.call(regs.sign_up, course.id, ben.id, clock.now())

    await deliver(h)
    message = h.with_button(eve_chat, "Approve")
    listed = await h.send(eve_chat, "/approvals")
    helped = await h.send(eve_chat, "/help")

    assert message.text.startswith("📝 <b>Approval requested</b>: a sign-up from your agency")
    assert "KOK Ben Beispiel (PD-Z)" in message.text
    assert "To refuse with a reason: /refuse NUMBER reason" in message.text
    assert listed[0].text.startswith("<b>Waiting for your decision</b> (oldest first)")
    assert listed[0].button_texts() == ["Approve", "Refuse"]
    assert "/approvals – the requests waiting for your decision" in helped[0].text


async def test_approving_after_the_deadline_before_the_expiry_ran_is_refused(
    h, db, clock, setting
):
    _dora, dora_chat = setting["dora"]
    anna, _ = setting["anna"]
    rid = db.call(regs.sign_up, setting["course"].id, anna.id, clock.now()).registration_id
    await deliver(h)
    message = h.with_button(dora_chat, "Genehmigen")
    clock.advance(timedelta(hours=72, minutes=1))  # the expiry's task has not run yet

    await h.press(dora_chat, "Genehmigen", message)

    assert h.alerts()[-1] == (
        "Über diesen Antrag hat niemand rechtzeitig entschieden; die Zeit für die "
        "Genehmigung ist abgelaufen."
    )
    assert state(db, rid) == REQUESTED  # until its timed work frees the seat
    await deliver(h)
    assert state(db, rid) == CANCELLED


async def test_a_burst_of_seven_gets_buttons_for_five_and_approve_all(h, db, clock, agencies):
    dora, dora_chat = joined(db, clock, agencies["PP-OFR"], "Dora D")
    approval_on(db, clock, "PP-OFR", dora)
    course = builders.course(db, clock.now(), {"PP-OFR": 10, "PD-Z": 1})
    for i in range(7):
        person, _ = joined(db, clock, agencies["PP-OFR"], f"Person {i}")
        db.call(regs.sign_up, course.id, person.id, clock.now())

    await deliver(h)

    [message] = [m for m in h.api.messages(dora_chat["id"]) if m.buttons]
    assert message.text.count("Nr. ") == 7
    assert len(message.buttons) == 6  # five requests, then "Alle genehmigen"
    assert message.button_texts()[-1] == "Alle genehmigen"

    await h.press(dora_chat, "Alle genehmigen", message)

    assert message.text.startswith("✅ 7 Anträge genehmigt.")
    assert message.buttons == []


async def test_refusing_by_command_someone_elses_or_an_unknown_request_changes_nothing(
    h, db, clock, agencies, setting
):
    anna, _ = setting["anna"]
    rid = db.call(regs.sign_up, setting["course"].id, anna.id, clock.now()).registration_id
    zeno, zeno_chat = joined(db, clock, agencies["PD-Z"], "Zeno Zwickau")
    approval_on(db, clock, "PD-Z", zeno)
    _dora, dora_chat = setting["dora"]
    before = seat_rows(db)

    other_agency = await h.send(zeno_chat, f"/ablehnen {rid} passt nicht")
    unknown = await h.send(dora_chat, "/ablehnen 999999 kein Antrag")
    asked = await h.press_data(zeno_chat, f"gn:{rid}:0", h.api.show(zeno_chat["id"], "x", []))

    assert seat_rows(db) == before
    assert other_agency[0].text.startswith("Über diesen Antrag entscheiden nur die Genehmigenden")
    assert unknown[0].text == "Diese Anmeldung gibt es nicht (mehr)."
    assert asked == []
    assert h.alerts()[-1] == (
        "Dieser Antrag wartet nicht mehr auf Ihre Entscheidung. /genehmigungen zeigt, was wartet."
    )
