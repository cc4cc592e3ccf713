"""The course form is one table: what it writes it reads back the same, in both languages."""

from __future__ import annotations

import html
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kurse import courses, forms, people
from kurse.clock import BERLIN
from tests import builders
from tests.harness import user

BOSS = 4242  # bootstrap admin (KURSBOT_ADMIN_IDS)
START = datetime(2027, 3, 12, 9, 0, tzinfo=BERLIN)
DESCRIPTION = (
    "Zweitägiges Seminar zu gemeinsamen Fahndungs- und Kontrollmaßnahmen.\n"
    "Иван Петров (Polizei Minsk) berichtet über grenzüberschreitende Lagen.\n"
    "\n"
    "Bitte mitbringen:\n"
    "– Dienstausweis\n"
    "– Schreibzeug, Ausdauer & gute Laune\n"
    "Łukasz Wójcik, Jiří Dvořák, Çağrı Yılmaz"
)
ALL_SET = {
    "title": "Grenzüberschreitende Fahndung – Grundlagen (Übung „Fuchs“)",
    "start_at": START,
    "end_at": START + timedelta(days=1, hours=7),
    # Explicit days: the second starts an hour earlier than the first.
    "days": (
        (START, START + timedelta(hours=7)),
        (START + timedelta(hours=23), START + timedelta(days=1, hours=7)),
    ),
    "location": "Hof, Polizeiinspektion – Raum 3.14",
    "registration_deadline": START - timedelta(days=11, hours=9, minutes=1),
    "cancellation_deadline": START - timedelta(days=7),
    "release_at": START - timedelta(days=20),
    "min_participants": 6,
    "offer_hours": 24,
    "min_attendance": 80,
    "seats": {"PP-OFR": 10, "PD-Z": 8},
    "lead": "123456789",
    "host": "PD-Z",
    "description": DESCRIPTION,
}
REQUIRED_ONLY = {name: ALL_SET[name] for name in forms.REQUIRED}


def read_back(values: dict, language: str) -> dict:
    form = forms.parse_course_form("\n".join(forms.render_course_form(values, language)))
    assert form.errors == []
    return form.values


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("values", [ALL_SET, REQUIRED_ONLY], ids=["all-set", "required-only"])
def test_a_form_written_from_the_table_reads_back_as_the_same_values(language, values):
    assert read_back(values, language) == values


@pytest.mark.parametrize("language", ["de", "en"])
def test_optional_fields_left_empty_are_not_written_and_so_stay_as_they_are(language):
    values = {**REQUIRED_ONLY, "release_at": None, "lead": None, "description": ""}

    lines = forms.render_course_form(values, language)

    assert len(lines) == len(forms.REQUIRED)
    assert read_back(values, language) == REQUIRED_ONLY


def test_each_language_writes_its_own_keys_and_both_are_read():
    german = forms.render_course_form(ALL_SET, "de")
    english = forms.render_course_form(ALL_SET, "en")

    assert [line.split(":")[0] for line in german] == [f.german for f in forms.FIELDS]
    assert [line.split(":")[0] for line in english] == [f.english for f in forms.FIELDS]
    assert german[1] == "Beginn: 12.03.2027 09:00"
    assert german[3] == "Termine: 12.03.2027 09:00-16:00; 13.03.2027 08:00-16:00"
    assert english[5] == "Deadline: 28.02.2027 23:59"


def test_a_description_line_that_reads_as_a_field_is_named_as_not_writable():
    values = {**REQUIRED_ONLY, "description": "Treffpunkt Haupteingang\nOrt: Raum 3"}

    assert forms.unwritable("description", values["description"]) == forms.Problem(
        "description", forms.Reason.READS_AS_KEY, "Ort: Raum 3"
    )
    assert forms.left_out(values, "de") == ["description"]


# A typed line of text: letters, digits, spaces and punctuation of German, Cyrillic, Polish.
_CHARS = st.sampled_from(list("aäbcßdeéfoöuüxzÄÖÜАБЖЯяжŁłśçğ0123456789 .,–-&()„“:/'"))
_TEXT = st.text(_CHARS, min_size=1, max_size=40).map(str.strip)
# A line of a description: stripped, and never starting with a form key (or the form would
# read it as that field: the dialog refuses such a line, see test_course_dialog_refusals).
_PROSE_LINE = _TEXT.filter(lambda line: forms.split_key(line)[0] is None)


@st.composite
def drafts(draw: st.DrawFn) -> dict:
    """Valid values of a course form, optional fields set or not."""
    start = START + timedelta(minutes=draw(st.integers(0, 60 * 24 * 365 * 3)))
    deadline = start - timedelta(minutes=draw(st.integers(0, 60 * 24 * 40)))
    values = {
        "title": draw(_TEXT.filter(lambda t: len(t) >= 3 and any(c.isalnum() for c in t))),
        "start_at": start,
        "end_at": start + timedelta(minutes=draw(st.integers(1, 60 * 24 * 60))),
        "location": draw(_TEXT.filter(lambda t: len(t) >= 2 and any(c.isalnum() for c in t))),
        "registration_deadline": deadline,
        "seats": draw(
            st.dictionaries(st.sampled_from(["PP-OFR", "PD-Z", "PI-XY"]), st.integers(0, 1000))
        ),
    }
    optional = {
        "cancellation_deadline": min(
            start, deadline + timedelta(minutes=draw(st.integers(0, 600)))
        ),
        "release_at": deadline - timedelta(days=draw(st.integers(0, 30)), minutes=1),
        "min_participants": draw(st.integers(0, 1000)),
        "lead": draw(st.sampled_from(["123456789", "@lea_leitung", "-1001"])),
        "description": "\n".join(
            draw(st.lists(st.one_of(_PROSE_LINE, st.just("")), min_size=1, max_size=8))
        ).strip(),
    }
    for name, value in optional.items():
        if draw(st.booleans()) and value != "":
            values[name] = value
    return values


@given(drafts(), st.sampled_from(["de", "en"]))
def test_any_valid_form_written_from_the_table_reads_back_the_same(values, language):
    written = {name: value for name, value in values.items() if value != {}}
    _, problems = forms.check_course(values, START - timedelta(days=41), new=True)
    assert problems == []  # a valid draft, as creation checks it

    form = forms.parse_course_form("\n".join(forms.render_course_form(written, language)))

    assert form.values == written
    assert form.errors == [] or not written.get("seats")  # no seats: the form says missing


# --- /kurs_bearbeiten through the real Application ------------------------------------------


@pytest.fixture
def boss():
    return {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}


def shown_form(answer) -> str:
    return html.unescape(answer[0].text.split("<pre>")[1].split("</pre>")[0])


@pytest.mark.parametrize("language", ["de", "en"])
@pytest.mark.parametrize("optional", [True, False], ids=["optional-set", "optional-empty"])
async def test_the_edit_form_sent_back_unchanged_changes_nothing(
    h, db, clock, agencies, language, optional
):
    admin = {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": language}
    lead = user("Lea")
    await h.join(lead, agencies["PD-Z"].access_code, "Лея Ляйтунг")
    lead_id = db.call(people.find_by_telegram_id, lead["id"]).id
    start = clock.now() + timedelta(days=40, hours=-1)
    extra = (
        {
            "lead_id": lead_id,
            "min_participants": 4,
            "release_at": start - timedelta(days=9),
            "cancellation_deadline": start - timedelta(days=2),
            "description": DESCRIPTION,
        }
        if optional
        else {"description": ""}
    )
    course = builders.course(
        db, clock.now(), start_at=start, title="Übung „Fuchs“ – Ёлка", **extra
    )
    before = builders.snapshot(db)

    form = shown_form(await h.send(admin, f"/kurs_bearbeiten {course.code}"))
    (answer,) = await h.send(admin, form)

    assert answer.text == ("Es wurde nichts geändert." if language == "de" else "Nothing changed.")
    assert builders.snapshot(db) == before
    assert form.splitlines()[1].startswith("Titel: " if language == "de" else "Title: ")


@pytest.mark.usefixtures("agencies")
async def test_a_description_the_form_cannot_hold_is_left_out_and_stays(h, db, clock, boss):
    description = "Treffpunkt am Haupteingang.\nOrt: Raum 3.14"
    course = builders.course(db, clock.now(), description=description)

    shown = await h.send(boss, f"/kurs_bearbeiten {course.code}")
    (answer,) = await h.send(
        boss, shown_form(shown).replace("Ort: Hof, Polizeiinspektion", "Ort: Plauen")
    )

    assert "Beschreibung" not in shown_form(shown)
    assert shown[0].text.endswith(
        "Nicht gezeigt, weil das Formular sie nicht genau wiedergeben kann: Beschreibung. Sie "
        "bleiben unverändert, solange Sie keine neuen Werte angeben."
    )
    assert answer.text.startswith(f"Kurs {course.code} geändert: Ort.")
    after = db.call(courses.get_course, course.id)
    assert (after.location, after.description) == ("Plauen", description)


def test_a_superscript_digit_as_the_minimum_is_refused_as_not_a_number():
    form = forms.parse_course_form("Mindestteilnehmer: ¹", require_all=False)

    assert [(e.field, e.reason) for e in form.errors] == [
        ("min_participants", forms.Reason.NOT_A_NUMBER)
    ]


@pytest.mark.parametrize(
    ("typed", "hours"),
    [
        ("Angebot 24h", 24),
        ("angebot 24 h", 24),
        ("offer 48 hours", 48),
        ("Angebot von 168 Stunden", 168),
        ("12h", 12),
        ("automatisch", 0),
        ("Automatic", 0),
    ],
)
def test_move_up_reads_automatic_or_an_offer_of_so_many_hours(typed, hours):
    form = forms.parse_course_form(f"Nachrücken: {typed}", require_all=False)

    assert (form.errors, form.values) == ([], {"offer_hours": hours})


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("Angebot 0h", "out_of_range"),
        ("Angebot 169h", "out_of_range"),
        ("Angebot 9999999h", "bad_fill"),
        ("bald", "bad_fill"),
        ("Angebot -3h", "bad_fill"),
        ("Angebot ²h", "bad_fill"),
    ],
)
def test_a_move_up_out_of_range_or_unreadable_is_refused_naming_its_line(typed, reason):
    form = forms.parse_course_form(f"Titel: Kurs\nMove up: {typed}", require_all=False)

    assert [(e.line, e.field, e.reason) for e in form.errors] == [(2, "offer_hours", reason)]


@pytest.mark.parametrize("language", ["de", "en"])
def test_an_automatic_move_up_is_written_as_a_word_that_reads_back_as_automatic(language):
    line = forms.render_course_form({"offer_hours": 0}, language)

    assert forms.parse_course_form(line[0], require_all=False).values == {"offer_hours": 0}
