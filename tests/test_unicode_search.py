"""Searching people (`/personen`) and courses (`/kurse`) without regard to case, in every
script: SQLite's own lower() folds ASCII only, so the search must not rely on it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kurse import admin, courses, search
from kurse.db import unicode_lower
from tests import builders

BOSS = builders.ADMIN

NAMES = ["Иван Петров", "Łukasz Wójcik", "Řehoř Dvořák", "İlknur Işık", "Çağrı Yılmaz"]


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("иван", "Иван Петров"),
        ("ПЕТРОВ", "Иван Петров"),
        ("łukasz", "Łukasz Wójcik"),
        ("WÓJCIK", "Łukasz Wójcik"),
        ("řehoř", "Řehoř Dvořák"),
        ("DVOŘÁK", "Řehoř Dvořák"),
        ("ilknur", "İlknur Işık"),
        ("İLKNUR", "İlknur Işık"),
        ("çağrı", "Çağrı Yılmaz"),
        ("yılmaz", "Çağrı Yılmaz"),
    ],
)
def test_people_are_found_by_their_name_in_any_case_in_every_script(
    db, clock, agencies, query, name
):
    for each in NAMES:
        builders.officer(db, agencies["PP-OFR"], clock.now(), name=each)

    found = db.call(admin.find_people, query, actor=BOSS)

    assert [person.name for person, _agency in found] == [name]


def test_the_database_folds_case_as_postgresql_does_one_letter_for_one(db):
    words = ["ИВАН", "ŁUKASZ", "ŘÍHA", "İLKNUR", "IŞIK", "ΟΔΟΣ", "STRASSE ẞ", "Anna"]

    with db.transaction(readonly=True) as session:
        folded = [session.scalar(select(unicode_lower(word))) for word in words]

    assert folded == ["иван", "łukasz", "říha", "ilknur", "işik", "οδοσ", "strasse ß", "anna"]


def test_a_percent_sign_or_an_underscore_in_the_query_is_matched_literally(db, clock, agencies):
    builders.officer(db, agencies["PP-OFR"], clock.now(), name="Anna 100% Beispiel")
    builders.officer(db, agencies["PP-OFR"], clock.now(), name="Anna 1000 Beispiel")
    builders.officer(db, agencies["PD-Z"], clock.now(), name="Ben Muster", username="ben_m")
    builders.officer(db, agencies["PD-Z"], clock.now(), name="Ben Anders", username="benxm")

    percent = db.call(admin.find_people, "100%", actor=BOSS)
    underscore = db.call(admin.find_people, "@ben_m", actor=BOSS)
    everyone = db.call(admin.find_people, "%", actor=BOSS)

    assert [p.name for p, _ in percent] == ["Anna 100% Beispiel"]
    assert [p.name for p, _ in underscore] == ["Ben Muster"]
    assert [p.name for p, _ in everyone] == ["Anna 100% Beispiel"]


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("задержание", "ЗАДЕРЖАНИЕ на границе"),
        ("łódź", "Fahndung in ŁÓDŹ"),
        ("ŘÍZENÍ", "Řízení dopravy"),
        ("istanbul", "Austausch mit İSTANBUL"),
        ("ışık", "IŞIK und Sicht"),
    ],
)
def test_courses_are_found_by_a_word_of_their_title_in_any_case_in_every_script(
    db, clock, agencies, query, title
):
    titles = [
        "ЗАДЕРЖАНИЕ на границе",
        "Fahndung in ŁÓDŹ",
        "Řízení dopravy",
        "Austausch mit İSTANBUL",
        "IŞIK und Sicht",
    ]
    for each in titles:
        builders.course(db, clock.now(), title=each)

    wanted = search.parse_query(query, clock.now())

    found = db.call(courses.list_open_courses, agencies["PP-OFR"].id, clock.now(), query=wanted)

    assert [item.course.title for item in found.items] == [title]


async def test_personen_finds_a_cyrillic_name_typed_in_lower_case(h, db, clock, agencies):
    builders.officer(db, agencies["PD-Z"], clock.now(), name="Иван Петров")
    builders.officer(db, agencies["PP-OFR"], clock.now(), name="Anna Beispiel")
    boss = {"id": BOSS.telegram_id, "is_bot": False, "first_name": "C", "language_code": "de"}

    found = await h.send(boss, "/personen иван")

    assert len(found) == 1
    assert "Иван Петров – PD-Z" in found[0].text
    assert "Anna" not in found[0].text
