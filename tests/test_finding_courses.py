"""Finding a course (PRODUCT.md §13): `/kurse <words>` searches, `/kurse <month>` lists a month,
a typed course code or a deep link opens the course, and the list reads well."""

from __future__ import annotations

from datetime import date, timedelta

from kurse import people
from kurse import registrations as regs
from kurse.search import fold, parse_query
from tests import builders
from tests.conftest import T0
from tests.harness import user


async def joined(h, agencies, code="PP-OFR", name="Anna Beispiel"):
    who = user(name.split()[0])
    await h.join(who, agencies[code].access_code, name)
    return who


def term(db, clock):
    """Three courses: March and April 2027, one in 2028."""
    march = builders.course(
        db,
        clock.now(),
        title="Führung von Einsatzeinheiten",
        location="Plauen",
        start_at=T0 + timedelta(days=60),
    )
    april = builders.course(
        db,
        clock.now(),
        title="Grenzüberschreitende Fahndung – Grundlagen",
        location="Hof, Polizeiinspektion",
        description="Gemeinsame Kontrollen an der A93.",
        start_at=T0 + timedelta(days=90),
    )
    later = builders.course(
        db,
        clock.now(),
        title="Vernehmungstechnik für Fortgeschrittene im grenzüberschreitenden Verfahren",
        location="Zwickau",
        start_at=T0 + timedelta(days=400),
        registration_deadline=T0 + timedelta(days=380),
    )
    return march, april, later


def titles_in(message) -> list[str]:
    return [b for b in message.button_texts() if "·" in b]


def test_words_fold_case_accents_and_both_spellings_of_umlauts():
    assert fold("Führung") == fold("fuhrung") == fold("FUEHRUNG") == "fuhrung"
    assert fold("Straße") == fold("strasse")
    assert fold("Jiří Dvořák") == "jiri dvorak"


def test_what_follows_kurse_is_a_code_a_month_or_words():
    now = T0  # January 2027

    assert parse_query("k-2027-005", now).code == "K-2027-005"
    assert parse_query("03.2027", now).month == date(2027, 3, 1)
    assert parse_query("März", now).month == date(2027, 3, 1)
    assert parse_query("maerz 2028", now).month == date(2028, 3, 1)
    assert parse_query("January", now).month == date(2027, 1, 1)
    assert parse_query("Dezember", now.replace(month=12, day=20)).month == date(2027, 12, 1)
    assert parse_query("13.2027", now).words == ("13.2027",)
    assert parse_query("Fahndung  Hof", now).words == ("fahndung", "hof")
    assert parse_query("x" * 10_000, now).words == ("x" * 40,)


async def test_kurse_with_words_lists_the_courses_that_have_all_of_them(h, db, clock, agencies):
    march, april, later = term(db, clock)
    anna = await joined(h, agencies)

    (place_and_title,) = await h.send(anna, "/kurse fahndung hof")
    (description,) = await h.send(anna, "/kurse A93")
    (umlaut,) = await h.send(anna, "/kurse fuhrung")
    (nothing,) = await h.send(anna, "/kurse Tauchen")

    assert [april.code] == [
        c for c in (march.code, april.code, later.code) if c in place_and_title.text
    ]
    assert "„fahndung hof“" in place_and_title.text
    assert april.code in description.text
    assert march.code not in description.text
    assert march.code in umlaut.text
    assert april.code not in umlaut.text
    assert nothing.text.startswith("Kein offener Kurs passt zu „tauchen“.")


async def test_kurse_with_a_month_lists_the_courses_starting_in_it(h, db, clock, agencies):
    march, april, _later = term(db, clock)
    anna = await joined(h, agencies)

    (numeric,) = await h.send(anna, "/kurse 03.2027")
    (named,) = await h.send(anna, "/kurse April")

    assert march.code in numeric.text
    assert april.code not in numeric.text
    assert "März 2027" in numeric.text
    assert april.code in named.text
    assert march.code not in named.text


async def test_a_course_code_typed_or_pasted_alone_opens_the_course(h, db, clock, agencies):
    _march, april, _later = term(db, clock)
    anna = await joined(h, agencies)

    (typed,) = await h.send(anna, f"  {april.code.lower()} ")
    (unknown,) = await h.send(anna, "K-2027-999")
    (command,) = await h.send(anna, f"/kurse {april.code}")

    assert typed.text.startswith(f"<b>{april.title}</b> ({april.code})")
    assert "Anmelden" in typed.button_texts()
    assert command.text == typed.text
    assert unknown.text == "Diesen Kurs gibt es nicht (mehr)."


async def test_a_deep_link_to_a_course_opens_it_after_joining(h, db, clock, agencies):
    _march, april, _later = term(db, clock)
    ben = user("Ben")

    await h.send(ben, f"/start {april.code}")  # t.me/<bot>?start=K-2027-…
    await h.send(ben, agencies["PD-Z"].access_code)
    await h.send(ben, "Ben Beispiel")
    await h.send(ben, "PK")
    await h.press(ben, "Zur Kenntnis genommen")

    page = h.last(ben)
    assert page.text.startswith(f"<b>{april.title}</b> ({april.code})")
    assert "Anmelden" in page.button_texts()


async def test_a_deep_link_of_someone_who_has_joined_opens_the_course(h, db, clock, agencies):
    march, _april, _later = term(db, clock)
    anna = await joined(h, agencies)

    (page,) = await h.send(anna, f"/start {march.code}")

    assert page.text.startswith(f"<b>{march.title}</b> ({march.code})")


async def test_the_list_shows_eight_courses_a_page_with_years_and_titles_cut_at_a_word(
    h, db, clock, agencies
):
    term(db, clock)
    for i in range(7):
        builders.course(db, clock.now(), title=f"Kurs {i}", start_at=T0 + timedelta(days=100 + i))
    anna = await joined(h, agencies)

    (first,) = await h.send(anna, "/kurse")
    buttons = titles_in(first)

    assert len(buttons) == 8
    assert "(Seite 1 von 2)" in first.text
    await h.press(anna, "Weiter »")
    later = titles_in(h.last(anna))
    assert len(later) == 2
    (latest,) = [b for b in later if "Vernehmungstechnik" in b]
    assert ".2028, 10:00 ·" in latest  # not this year: with the year
    assert "Vernehmungstechnik für Fortgeschrittene…" in latest  # cut at a word
    assert all(".2027" not in b for b in buttons)


async def test_paging_through_a_search_keeps_what_was_looked_for(h, db, clock, agencies):
    for i in range(10):
        builders.course(
            db, clock.now(), title=f"Fahndung Teil {i}", start_at=T0 + timedelta(days=40 + i)
        )
    builders.course(db, clock.now(), title="Erste Hilfe", start_at=T0 + timedelta(days=41))
    anna = await joined(h, agencies)

    await h.send(anna, "/kurse Fahndung")
    await h.press(anna, "Weiter »")

    second = h.last(anna)
    assert "(Seite 2 von 2)" in second.text
    assert "„fahndung“" in second.text
    assert len(titles_in(second)) == 2
    assert "Erste Hilfe" not in second.text


async def test_a_registered_officer_sees_their_own_state_not_the_seats_left(
    h, db, clock, agencies
):
    course = builders.course(db, clock.now(), {"PP-OFR": 1, "PD-Z": 1})
    anna = await joined(h, agencies)
    ben = await joined(h, agencies, name="Ben Zweiter")
    person = db.call(people.find_by_telegram_id, anna["id"])
    db.call(regs.sign_up, course.id, person.id, clock.now())

    (mine,) = await h.send(anna, course.code)
    (theirs,) = await h.send(ben, course.code)

    assert "✅ Sie sind angemeldet." in mine.text
    assert "Plätze Ihrer Dienststelle" not in mine.text
    assert "Plätze Ihrer Dienststelle: ausgebucht – Warteliste" in theirs.text
