"""/statistik and /bericht through the real Application: who may, the table, the chart, the
CSV and the PDF report, in German and English, and every bad period refused."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from PIL import Image
from pypdf import PdfReader

from kurse import agencies as agency_service
from kurse import registrations as regs
from kurse.charts import HEIGHT_PX, WIDTH_PX
from kurse.clock import BERLIN
from tests import builders
from tests.harness import user

BOSS = 4242  # bootstrap admin (KURSBOT_ADMIN_IDS)


@pytest.fixture
def boss():
    return {"id": BOSS, "is_bot": False, "first_name": "Chefin", "language_code": "de"}


@pytest.fixture
def boss_en():
    return {"id": BOSS, "is_bot": False, "first_name": "Chief", "language_code": "en"}


@pytest.fixture
def term(db, clock, agencies):
    """A course hosted by PP-OFR on 09.02.2027, 1 + 1 seats: Łukasz (PP-OFR) and Jiří (PD-Z)
    confirmed, Иван (PD-Z) waiting; Łukasz present, Jiří absent. And a third agency with a
    Polish name and no course."""
    now = clock.now()
    with db.transaction() as session:
        agency_service.create_agency(
            session, "KWP-WR", "Komenda Wojewódzka Policji we Wrocławiu", "Dolnośląskie", now
        )
    ofr, z = agencies["PP-OFR"], agencies["PD-Z"]
    course = builders.course(db, now, {"PP-OFR": 1, "PD-Z": 1}, host_agency_id=ofr.id)
    ids = []
    for agency, name in [(ofr, "Łukasz Wójcik"), (z, "Jiří Dvořák"), (z, "Иван Петров")]:
        person = builders.officer(db, agency, now, name=name)
        with db.transaction() as session:
            ids.append(regs.sign_up(session, course.id, person.id, now).registration_id)
    day = course.start_at.astimezone(BERLIN).date()
    builders.attendance(db, ids[0], day, "present", now)
    builders.attendance(db, ids[1], day, "absent", now)
    clock.set(course.start_at + timedelta(days=3))
    return course


def table_row(text: str, heading: str) -> list[str]:
    line = next(line for line in text.split("\n") if line.startswith(heading))
    return line[len(heading) :].split()


@pytest.mark.usefixtures("term")
async def test_an_admin_gets_the_table_the_chart_and_the_csv_of_a_quarter(h, boss):
    answer = await h.send(boss, "/statistik Q1 2027")

    text, photo, table = answer
    assert "Zahlen der Kooperation" in text.text
    assert "1. Quartal 2027 (01.01.2027–31.03.2027)" in text.text
    assert table_row(text.text, "Ausgerichtete Kurse") == ["0", "0", "1", "1"]  # KWP-WR, PD-Z, …
    assert table_row(text.text, "Bestätigt") == ["0", "1", "1", "2"]
    assert table_row(text.text, "Nicht erschienen") == ["0", "1", "0", "1"]
    assert table_row(text.text, "Bei Beginn noch wartend") == ["0", "1", "0", "1"]
    assert table_row(text.text, "Gemeinsamer Anteil") == ["–", "–", "50", "%", "50", "%"]
    picture = Image.open(io.BytesIO(photo.document[1]))
    assert picture.size == (WIDTH_PX, HEIGHT_PX)
    assert len(picture.convert("RGB").getcolors(maxcolors=1 << 20)) > 20  # drawn, not blank
    assert photo.document[0] == "zahlen-2027-01-01-2027-03-31.png"
    assert table.document[0] == "zahlen-2027-01-01-2027-03-31.csv"


@pytest.mark.usefixtures("term")
async def test_the_csv_parses_back_with_every_agency_its_full_name_and_the_sum(h, boss):
    answer = await h.send(boss, "/statistik 2027")

    content = answer[2].document[1]
    assert content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))
    head = rows[0]
    assert head[:2] == ["Dienststelle", "Name"]
    by_code = {row[0]: dict(zip(head, row, strict=True)) for row in rows[1:]}
    assert by_code["KWP-WR"]["Name"] == "Komenda Wojewódzka Policji we Wrocławiu"
    assert by_code["PP-OFR"]["davon andere Dienststellen"] == "1"
    assert by_code["PP-OFR"]["Gemeinsamer Anteil"] == "50,0"
    assert by_code["Summe"]["Anmeldungen"] == "3"
    assert by_code["PD-Z"]["Teilgenommen"] == "0"
    assert by_code["PP-OFR"]["Teilgenommen"] == "1"


@pytest.mark.usefixtures("term")
async def test_in_english_the_command_and_every_word_are_english(h, boss_en):
    answer = await h.send(boss_en, "/stats Q1 2027")

    assert "Figures of the cooperation" in answer[0].text
    assert "Q1 2027 (01.01.2027–31.03.2027)" in answer[0].text
    assert table_row(answer[0].text, "Joint share") == ["–", "–", "50%", "50%"]
    assert answer[2].document[0] == "figures-2027-01-01-2027-03-31.csv"


@pytest.mark.usefixtures("term")
async def test_alone_the_command_shows_the_current_quarter(h, boss):
    answer = await h.send(boss, "/statistik")

    assert "1. Quartal 2027" in answer[0].text  # the clock stands in February 2027


@pytest.mark.usefixtures("agencies")
@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("Q5 2027", "„Q5 2027“: Ein Jahr hat die Quartale Q1 bis Q4."),
        ("31.02.2027-30.06.2027", "„31.02.2027“ ist kein Tag im Kalender"),
        ("30.06.2027-01.01.2027", "Der Zeitraum endet, bevor er beginnt"),
        ("<b>nächstes Jahr</b>", "„&lt;b&gt;nächstes Jahr&lt;/b&gt;“ ist kein Zeitraum."),
        ("Z" * 10_000, "ist kein Zeitraum"),
    ],
)
async def test_a_bad_period_is_refused_with_what_is_wrong_and_examples(h, boss, typed, said):
    answer = await h.send(boss, f"/statistik {typed}")

    assert len(answer) == 1
    assert said in answer[0].text
    assert "/statistik 01.01.2027-30.06.2027" in answer[0].text


@pytest.mark.usefixtures("term")
async def test_an_officer_who_leads_nothing_sees_no_figures(h, agencies):
    anna = user("Anna")
    await h.join(anna, agencies["PP-OFR"].access_code, "Anna Beispiel")

    for command in ("/statistik", "/bericht 2027"):
        answer = await h.send(anna, command)
        assert [m.text for m in answer] == [
            "Die Zahlen sind für die Administration (alle Kurse) und die Kursleitungen "
            "(ihre eigenen Kurse)."
        ]


async def test_a_lead_sees_the_figures_of_their_own_courses_only(h, db, clock, agencies):
    lea = user("Lea", id=777)
    await h.join(lea, agencies["PD-Z"].access_code, "Lea Leitung")
    now = clock.now()
    with db.transaction() as session:
        from kurse import people

        lead_id = people.find_by_telegram_id(session, 777).id
    builders.course(
        db, now, {"PP-OFR": 4, "PD-Z": 4}, lead_id=lead_id, host_agency_id=agencies["PD-Z"].id
    )
    builders.course(db, now, {"PP-OFR": 9, "PD-Z": 9}, host_agency_id=agencies["PP-OFR"].id)

    answer = await h.send(lea, "/statistik Q1 2027")

    assert "Nur die Kurse, die Sie leiten." in answer[0].text
    assert table_row(answer[0].text, "Plätze in eigenen Kursen") == ["8", "0", "8"]


@pytest.mark.usefixtures("term")
async def test_the_report_is_a_pdf_with_the_period_the_table_and_what_each_figure_counts(h, boss):
    answer = await h.send(boss, "/bericht Q1 2027")

    assert answer[0].document[0] == "bericht-2027-01-01-2027-03-31.pdf"
    reader = PdfReader(io.BytesIO(answer[0].document[1]))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Zahlen der Kooperation" in text
    assert "1. Quartal 2027 (01.01.2027–31.03.2027)" in text
    assert "Ausgerichtete Kurse 0 0 1 1" in text
    assert "Was die Zahlen zählen" in text
    assert "Seite 1 von" in text
    assert reader.metadata.title.startswith("Zahlen der Kooperation")


@pytest.mark.usefixtures("term")
async def test_the_report_in_english_is_english(h, boss_en):
    answer = await h.send(boss_en, "/report 2027")

    reader = PdfReader(io.BytesIO(answer[0].document[1]))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert answer[0].document[0] == "report-2027-01-01-2027-12-31.pdf"
    assert "Figures of the cooperation" in text
    assert "Courses hosted 0 0 1 1" in text
    assert "What the figures count" in text


async def test_an_officer_finds_their_own_figures_in_my_data_and_no_one_else_s(
    h, db, clock, agencies
):
    anna = user("Anna", id=888)
    await h.join(anna, agencies["PP-OFR"].access_code, "Anna Beispiel")
    now = clock.now()
    with db.transaction() as session:
        from kurse import people

        me = people.find_by_telegram_id(session, 888)
    other = builders.officer(db, agencies["PP-OFR"], now, name="Otto Anders")
    first = builders.course(db, now, {"PP-OFR": 1, "PD-Z": 1})
    second = builders.course(db, now, {"PP-OFR": 1, "PD-Z": 1}, title="Zweiter Kurs")
    with db.transaction() as session:
        mine = regs.sign_up(session, first.id, me.id, now).registration_id
        regs.sign_up(session, second.id, other.id, now)
        regs.sign_up(session, second.id, me.id, now)  # waiting behind Otto
    builders.attendance(db, mine, first.start_at.astimezone(BERLIN).date(), "absent", now)

    answer = await h.send(anna, "/meine_daten")

    data = json.loads(answer[-1].document[1])
    assert data["figures"] == {
        "sign_ups": 2,
        "confirmed": 1,
        "attended": 0,
        "no_shows": 1,
        "cancellations": 0,
        "waiting": 1,
    }
