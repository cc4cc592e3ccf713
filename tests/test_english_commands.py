"""English users get English command names, in the menu, in /help and in every hint; the
German names keep working for everyone (bot/commands.py)."""

from __future__ import annotations

import pytest

from bot import commands, render_admin
from bot.i18n import texts
from kurse import courses, people
from tests import builders
from tests.conftest import ADMIN_ID
from tests.harness import user
from tests.test_edited_messages import command_names

ENGLISH_OFFICER = (
    "/courses",
    "/my",
    "/profile",
    "/language",
    "/mydata",
    "/deletedata",
    "/privacy",
    "/help",
)
GERMAN_OFFICER = (
    "/kurse",
    "/meine",
    "/profil",
    "/sprache",
    "/meine_daten",
    "/daten_loeschen",
    "/datenschutz",
    "/hilfe",
)
ENGLISH_ADMIN = (
    "/newcourse",
    "/editcourse",
    "/cancelcourse",
    "/quota",
    "/lead",
    "/participants",
    "/agencies",
    "/newagency",
    "/accesscode",
    "/newadmin",
    "/removeadmin",
    "/people",
    "/log",
    "/status",
    "/notifications",
)
GERMAN_ADMIN = (
    "/kurs_neu",
    "/kurs_bearbeiten",
    "/kurs_absagen",
    "/kontingent",
    "/kursleitung",
    "/teilnehmer",
    "/dienststellen",
    "/dienststelle_neu",
    "/zugangscode",
    "/admin_neu",
    "/admin_entfernen",
    "/personen",
    "/protokoll",
    "/mitteilungen",
)


@pytest.fixture
async def boss_en(h, agencies):
    """The bootstrap admin, registered in English."""
    boss = {"id": ADMIN_ID, "is_bot": False, "first_name": "Boss", "language_code": "en"}
    await h.join(boss, agencies["PP-OFR"].access_code, "Boss Example")
    return boss


def named(text: str, names: tuple[str, ...]) -> list[str]:
    """The command names of ``names`` that ``text`` mentions as whole words."""
    words = set(text.replace(",", " ").replace("(", " ").replace(")", " ").split())
    return [name for name in names if name in words]


async def test_every_command_answers_to_its_german_and_its_english_name(h):
    assert command_names(h.app.handlers[0]) == commands.all_names()
    assert len(set(commands.ENGLISH.values())) == len(commands.ENGLISH)  # no name taken twice


async def test_the_command_menu_shows_each_language_its_own_names(h):
    german = [c["command"] for c in h.api.commands[""]]
    english = [c["command"] for c in h.api.commands["en"]]

    assert german == ["kurse", "meine", "profil", "sprache", "hilfe"]
    assert english == ["courses", "my", "profile", "language", "help"]
    assert h.api.commands["en"][0]["description"] == "Open courses"


async def test_help_lists_the_names_of_the_officers_language(h, agencies):
    anna, ben = user("Anna"), user("Ben", language="en")
    await h.join(anna, agencies["PP-OFR"].access_code, "Anna Beispiel")
    await h.join(ben, agencies["PD-Z"].access_code, "Ben Example")

    (german,) = await h.send(anna, "/help")
    (english,) = await h.send(ben, "/hilfe")

    assert named(german.text, GERMAN_OFFICER) == list(GERMAN_OFFICER)
    assert named(german.text, ENGLISH_OFFICER) == []
    assert named(english.text, ENGLISH_OFFICER) == list(ENGLISH_OFFICER)
    assert named(english.text, GERMAN_OFFICER) == []


async def test_an_english_admin_sees_the_english_admin_commands_in_help(h, boss_en):
    (answer,) = await h.send(boss_en, "/help")

    assert named(answer.text, ENGLISH_ADMIN) == list(ENGLISH_ADMIN)
    assert named(answer.text, GERMAN_ADMIN) == []


async def test_english_names_work_for_german_officers_and_german_names_for_english_ones(
    h, db, clock, agencies
):
    builders.course(db, clock.now())
    anna, ben = user("Anna"), user("Ben", language="en")
    await h.join(anna, agencies["PP-OFR"].access_code, "Anna Beispiel")
    await h.join(ben, agencies["PD-Z"].access_code, "Ben Example")

    (german,) = await h.send(anna, "/courses")
    (english,) = await h.send(ben, "/kurse")
    (mine,) = await h.send(ben, "/meine")

    assert german.text.startswith("<b>Offene Kurse</b>")
    assert english.text.startswith("<b>Open courses</b>")
    assert mine.text == "You are not registered for any course. /courses shows the open ones."


async def test_the_profile_hint_shows_the_keys_of_the_users_language_and_they_work(
    h, db, agencies
):
    ben = user("Ben", language="en")
    await h.join(ben, agencies["PD-Z"].access_code, "Ben Example")

    (shown,) = await h.send(ben, "/profile")
    (saved,) = await h.send(ben, "/profile Rank: KHK")

    assert "/profile Name: First Last, or /profile Rank: KOK" in shown.text
    assert "Dienstgrad" not in shown.text
    assert saved.text.startswith("Saved.")
    assert db.call(people.find_by_telegram_id, ben["id"]).rank == "KHK"


@pytest.mark.usefixtures("agencies")
async def test_an_english_admin_is_shown_english_examples_and_forms_and_they_work(
    h, db, clock, boss_en
):
    course = builders.course(db, clock.now())

    (usage,) = await h.send(boss_en, "/editcourse")
    (form,) = await h.send(boss_en, f"/editcourse {course.code}")
    (edited,) = await h.send(boss_en, f"/editcourse {course.code}\nLocation: Plauen")
    (new_form,) = await h.send(boss_en, "/quota")

    assert usage.text == "Please write it like this: /editcourse K-2027-001\nLocation: Hof"
    assert f"<pre>/editcourse {course.code}\nTitle: " in form.text
    assert "\nLocation: Hof, Polizeiinspektion\n" in form.text
    assert edited.text.startswith(f"Course {course.code} changed: Location.")
    assert db.call(courses.get_course, course.id).location == "Plauen"
    assert new_form.text == "Please write it like this: /quota K-2027-001 PP-OFR=10 PD-Z=8"


@pytest.mark.parametrize("language", ["de", "en"])
async def test_the_form_example_of_each_language_creates_a_course(h, db, language, boss_en):
    example = texts(language).gettext(render_admin.EXAMPLES["kurs_neu"])

    created = await h.send(boss_en, example.replace("123456789", str(ADMIN_ID)))

    assert created[0].text.startswith("Course <b>K-2027-001</b> created: ")
    assert db.call(courses.get_course_by_code, "K-2027-001").lead_id is not None


async def test_cancel_leaves_joining_and_the_guided_dialog_in_english(h, agencies, boss_en):
    newcomer = user("Nora", language="en")
    await h.send(newcomer, f"/start {agencies['PP-OFR'].access_code}")

    (left_joining,) = await h.send(newcomer, "/cancel")
    await h.send(boss_en, "/newcourse")
    (left_dialog,) = await h.send(boss_en, "/cancel")

    assert left_joining.text.startswith("Registration cancelled; nothing was stored.")
    assert left_dialog.text == "Course creation cancelled; nothing was stored."


async def test_the_guided_dialog_checks_the_course_in_english_keys_for_an_english_admin(
    h, boss_en
):
    await h.send(boss_en, "/newcourse")
    for answer in ("Joint control day", "15.04.2027 08:00", "15.04.2027 16:00", "Plauen"):
        await h.send(boss_en, answer)
    await h.send(boss_en, "01.04.2027")
    await h.press(boss_en, "PP-OFR: 0")
    await h.send(boss_en, "6")
    await h.press(boss_en, "Done")
    await h.press(boss_en, "Skip")
    check = await h.press(boss_en, "Skip")

    assert check[-1].text == (
        "Step 9 of 9: Please check the course:\n\n"
        "Title: Joint control day\nStart: 15.04.2027 08:00\nEnd: 15.04.2027 16:00\n"
        "Location: Plauen\nDeadline: 01.04.2027\nSeats: PP-OFR=6\n\n"
        "Course days:\n• Thu, 15 April 2027, 08:00–16:00"
    )
    await h.press(boss_en, "Create the course")
    assert h.last(boss_en).text.startswith("Course <b>K-2027-001</b> created: Joint control day")
