"""`kursbot chat` as its users type into it: an admin's answers, a paste, messages to others."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.chat_input import MessageReader, Typed
from kurse import registrations as regs
from kurse.clock import BERLIN
from kurse.db import Database
from kurse.models import AccessCodeAttempt, Agency, Course, Person, Quota
from tests import builders
from tests.test_end_to_end import kursbot_env

KURSBOT = (sys.executable, "-m", "bot.cli")


def access_code(tmp_path: Path, agency: str) -> str:
    """The access code `kursbot agencies` prints for ``agency`` (creating the database)."""
    listing = subprocess.run(
        [*KURSBOT, "agencies"],
        cwd=tmp_path,
        env=kursbot_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return next(line.split()[1] for line in listing.splitlines() if line.split()[0] == agency)


def a_monday(weeks: int) -> str:
    """The Monday ``weeks`` weeks after the next one, as ``TT.MM.JJJJ``."""
    today = datetime.now(BERLIN).date()
    monday = today + timedelta(days=7 - today.weekday(), weeks=weeks)
    return monday.strftime("%d.%m.%Y")


class Terminal:
    """`kursbot chat` with a terminal as its input, as someone at the keyboard has it; what
    it prints is collected from a pipe."""

    def __init__(self, tmp_path: Path, *args: str, env: dict[str, str]) -> None:
        self._keyboard, terminal = pty.openpty()
        self.process = subprocess.Popen(
            [*KURSBOT, "chat", *args],
            cwd=tmp_path,
            env=env,
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        os.close(terminal)
        self.output = ""
        self._collector = threading.Thread(target=self._collect, daemon=True)
        self._collector.start()

    def _collect(self) -> None:
        assert self.process.stdout is not None
        while chunk := self.process.stdout.read(1):
            self.output += chunk

    def type(self, keys: str) -> None:
        """Keys as they reach the terminal at once (a line typed, or a paste)."""
        os.write(self._keyboard, keys.encode())

    def wait_for(self, check: Callable[[str], bool], seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not check(self.output):
            assert time.monotonic() < deadline, self.output
            assert self.process.poll() is None, self.output
            time.sleep(0.05)

    def close(self) -> str:
        self.type("\x04")  # Ctrl-D: the end of input
        self.process.wait(timeout=60)
        self._collector.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()
        os.close(self._keyboard)
        return self.output


def test_lines_pasted_into_the_terminal_while_joining_are_one_wrong_code_not_a_lockout(
    tmp_path,
):
    code = access_code(tmp_path, "PP-OFR")
    chat = Terminal(tmp_path, env=kursbot_env(tmp_path))
    chat.wait_for(lambda out: "Anna (1)> " in out)
    chat.type("/start\n")
    chat.wait_for(lambda out: out.count("bot:") == 1)

    # Six lines of a form, pasted where the access code was asked for, then Enter.
    chat.type("Titel: Fahndung\nBeginn: 12.03.2027\nEnde: 13.03.2027\nOrt: Hof\n")
    chat.type("Anmeldeschluss: 01.03.2027\nPlätze: PP-OFR=10\n")
    chat.wait_for(lambda out: "(6 lines pasted: Enter sends them as one message)" in out)
    chat.type("\n")
    chat.wait_for(lambda out: out.count("bot:") == 2)
    wrong_codes = count_rows(tmp_path, AccessCodeAttempt)
    for line in (f"/start {code}", "Anna Beispiel", "POK", "1"):
        answers = chat.output.count("bot")
        chat.type(line + "\n")
        chat.wait_for(lambda out, answers=answers: out.count("bot") > answers)
    chat.wait_for(lambda out: "Willkommen, Anna Beispiel!" in out)
    out = chat.close()

    assert wrong_codes == 1, out
    assert count_rows(tmp_path, Person) == 1  # joined: the account was not locked


def count_rows(tmp_path: Path, model: type) -> int:
    """How many rows of ``model`` the chat's database holds."""
    db = Database(f"sqlite:///{tmp_path / 'kursbot.db'}")
    with db.transaction(readonly=True) as session:
        rows = session.scalar(select(func.count()).select_from(model)) or 0
    db.dispose()
    return rows


def test_an_admin_types_seat_counts_and_the_leads_telegram_id_with_a_quote_as_text(tmp_path):
    code = access_code(tmp_path, "PP-OFR")
    day = a_monday(6)
    typed = [
        *("/als 1001 Lea Leitung", f"/start {code}", "Lea Leitung", "PHK", "1", "/als 1000"),
        *("/kurs_neu", "Einsatztraining", f"{day} 09:00", f"{day} 16:00", "Bamberg", a_monday(5)),
        *("1", "'3"),  # the first agency's button (PD-Z), then 3 seats
        *("2", "'2"),  # PP-OFR: 2 seats
        "3",  # done
        "'1001",  # the lead, by Telegram id
        "1",  # no description
        "1",  # create the course
    ]

    chat = subprocess.run(
        [*KURSBOT, "chat", "--admin", "--user", "1000"],
        cwd=tmp_path,
        env=kursbot_env(tmp_path),
        input="\n".join(typed) + "\n",
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert chat.returncode == 0, chat.stderr
    assert "(no button" not in chat.stdout
    db = Database(f"sqlite:///{tmp_path / 'kursbot.db'}")
    with db.transaction(readonly=True) as session:
        course = session.scalars(select(Course)).one()
        seats = dict(
            session.execute(
                select(Agency.code, Quota.seats).join(Quota, Quota.agency_id == Agency.id)
            ).all()
        )
        lead = session.get(Person, course.lead_id)
        title, lead_id = course.title, lead.telegram_id if lead else None
    db.dispose()
    assert (title, lead_id) == ("Einsatztraining", 1001)
    assert seats == {"PD-Z": 3, "PP-OFR": 2}


def test_a_reminder_that_falls_due_while_the_chat_waits_is_shown_to_its_recipient_as_it_happens(
    tmp_path, database_url, db, agencies
):
    # Ben signed up two hours ago for a course whose 7-day reminder fell due a minute ago;
    # the chat is started as somebody else and sits at its prompt.
    now = datetime.now(BERLIN)
    course = builders.course(
        db, now - timedelta(hours=3), {"PP-OFR": 5}, start_at=now + timedelta(days=7, minutes=-1)
    )
    ben = builders.officer(db, agencies["PP-OFR"], now, name="Ben Muster")
    db.call(regs.sign_up, course.id, ben.id, now - timedelta(hours=2))
    chat = Terminal(tmp_path, env=kursbot_env(tmp_path, KURSBOT_DATABASE_URL=database_url))

    chat.wait_for(lambda out: f"bot → Ben Muster ({ben.telegram_id}): [file saved:" in out)
    out = chat.close()

    assert out.count("bot → ") == 1
    saved = tmp_path / "kursbot-chat-files" / str(ben.telegram_id) / f"{course.code}.ics"
    assert b"BEGIN:VCALENDAR" in saved.read_bytes()


class Lines:
    """Lines as they arrive, in groups (a group of several is a paste)."""

    def __init__(self, *bursts: list[str]) -> None:
        self.bursts = list(bursts)

    def burst(self) -> list[str] | None:
        return self.bursts.pop(0) if self.bursts else None


def read_all(reader: MessageReader) -> list[Typed]:
    messages = []
    while (message := reader.read()) is not None:
        messages.append(message)
    return messages


def test_a_block_between_marks_is_one_message_and_the_end_of_input_closes_an_open_one():
    lines = Lines(
        ["/kurse"], ["<<<"], ["/kurs_neu"], ["Titel: A"], [">>>"], ["12"], ["<<<"], ["x"]
    )

    messages = read_all(MessageReader(lines, pastes=False))

    assert messages == [
        Typed("/kurse"),
        Typed("/kurs_neu\nTitel: A", block=True),
        Typed("12"),
        Typed("x", block=True),
    ]


def test_pasted_lines_wait_for_the_enter_that_may_bring_their_last_line():
    told: list[int] = []
    lines = Lines(["/start"], ["Titel: A", "Ort: Hof"], ["Plätze: 3"], ["a", "b"], [""], ["1"])

    messages = read_all(MessageReader(lines, pastes=True, on_paste=told.append))

    assert messages == [
        Typed("/start"),
        Typed("Titel: A\nOrt: Hof\nPlätze: 3", block=True),
        Typed("a\nb", block=True),
        Typed("1"),
    ]
    assert told == [2, 2]
