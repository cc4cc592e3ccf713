"""Agencies, access codes, joining and the admin role."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from kurse import agencies, people
from kurse.actors import Actor
from kurse.errors import AlreadyJoined, InvalidAccessCode, InvalidInput, LastAdmin, NotFound
from kurse.models import Agency, AuditEntry, Person
from tests import builders


def count(db, model) -> int:
    with db.transaction(readonly=True) as session:
        return session.scalar(select(func.count()).select_from(model))


def join(db, clock, code, **extra):
    values = {"telegram_id": 42, "name": "Anna Beispiel", "rank": "PK", "language": "de"}
    values.update(extra)
    return db.call(people.join, access_code=code, now=clock.now(), **values)


def test_seeding_creates_the_two_founding_agencies_once(db, clock):
    builders.seed(db, clock.now())
    builders.seed(db, clock.now())

    with db.transaction(readonly=True) as session:
        found = [(a.code, a.name, a.state) for a in agencies.list_agencies(session)]
    assert found == [
        ("PD-Z", "Polizeidirektion Zwickau", "Sachsen"),
        ("PP-OFR", "Polizeipräsidium Oberfranken", "Bayern"),
    ]


def test_access_codes_are_long_random_and_use_only_unambiguous_characters(db, clock):
    found = builders.seed(db, clock.now())

    codes = [a.access_code for a in found.values()]

    assert len(set(codes)) == 2
    for code in codes:
        assert len(code) >= 8
        assert not set(code) & set("0O1IL5S8B")


def test_an_officer_joins_with_the_access_code_in_any_case_and_grouping(db, clock):
    found = builders.seed(db, clock.now())
    typed = agencies.format_access_code(found["PD-Z"].access_code).lower().replace("-", " ")

    person = join(db, clock, f"  {typed} ")

    assert person.agency_id == found["PD-Z"].id
    assert person.consent_at == clock.now()


@pytest.mark.parametrize("typed", ["", "ABCDEFGHJK", "XXXX", "ACDEFGHJKM" * 1000, "ÄÖÜ"])
def test_a_wrong_access_code_is_refused_and_nobody_joins(db, clock, typed):
    builders.seed(db, clock.now())

    with pytest.raises(InvalidAccessCode):
        join(db, clock, typed)

    assert count(db, Person) == 0


def test_a_rotated_access_code_stops_working_at_once(db, clock):
    found = builders.seed(db, clock.now())
    old = found["PP-OFR"].access_code

    rotated = db.call(agencies.rotate_access_code, "pp-ofr")

    assert rotated.access_code != old
    with pytest.raises(InvalidAccessCode):
        join(db, clock, old)
    assert join(db, clock, rotated.access_code).agency_id == rotated.id


def test_joining_twice_with_the_same_account_is_refused(db, clock):
    found = builders.seed(db, clock.now())
    join(db, clock, found["PP-OFR"].access_code)

    with pytest.raises(AlreadyJoined):
        join(db, clock, found["PD-Z"].access_code, name="Zweiter Versuch")

    assert count(db, Person) == 1


@pytest.mark.parametrize(
    ("name", "reason"), [("A" * 10_000, "too_long"), ("   ", "empty"), ("X", "too_short")]
)
def test_names_that_are_too_long_or_empty_are_refused(db, clock, name, reason):
    found = builders.seed(db, clock.now())

    with pytest.raises(InvalidInput) as error:
        join(db, clock, found["PP-OFR"].access_code, name=name)

    assert (error.value.field, error.value.reason) == ("name", reason)
    assert count(db, Person) == 0


def test_creating_an_agency_with_a_malformed_or_taken_code_is_refused(db, clock):
    builders.seed(db, clock.now())

    for code, reason in [("pp ofr!", "format"), ("PP-OFR", "taken")]:
        with pytest.raises(InvalidInput) as error:
            db.call(agencies.create_agency, code, "Irgendwo", "Bayern", clock.now())
        assert error.value.reason == reason
    assert count(db, Agency) == 2


def test_unknown_agency_is_not_found(db, clock):
    builders.seed(db, clock.now())

    with pytest.raises(NotFound):
        db.call(agencies.get_agency, "LKA-X")


def test_the_last_admin_cannot_remove_themself(db, clock):
    found = builders.seed(db, clock.now())
    anna = builders.officer(db, found["PP-OFR"], clock.now())
    with db.transaction() as session:
        session.get(Person, anna.id).is_admin = True

    with db.transaction() as session, pytest.raises(LastAdmin):
        people.set_admin(
            session,
            actor=Actor(telegram_id=anna.telegram_id, person_id=anna.id),
            target_id=anna.id,
            admin=False,
            bootstrap_ids=(),
            now=clock.now(),
        )

    assert db.call(people.get_person, anna.id).is_admin


def test_an_admin_makes_another_officer_admin_and_the_audit_log_says_so(db, clock):
    found = builders.seed(db, clock.now())
    boss = builders.officer(db, found["PP-OFR"], clock.now(), telegram_id=777)
    anna = builders.officer(db, found["PD-Z"], clock.now())

    with db.transaction() as session:
        people.set_admin(
            session,
            actor=Actor(telegram_id=777, person_id=boss.id),
            target_id=anna.id,
            admin=True,
            bootstrap_ids=(777,),
            now=clock.now(),
        )

    assert db.call(people.get_person, anna.id).is_admin
    with db.transaction(readonly=True) as session:
        entry = session.scalars(select(AuditEntry)).one()
    assert (entry.actor_id, entry.action, entry.subject_person_id) == (
        boss.id,
        "admin_granted",
        anna.id,
    )


def test_initial_language_follows_telegram_and_defaults_to_german():
    assert [people.language_for(c) for c in ("en-GB", "de", None, "fr")] == [
        "en",
        "de",
        "de",
        "de",
    ]
