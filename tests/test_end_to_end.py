"""`kursbot run` and `kursbot chat` as processes, the way an operator starts them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from kurse import courses
from kurse import registrations as regs
from kurse.clock import BERLIN
from kurse.db import Database
from kurse.invariants import invariant_violations
from kurse.models import Outbox, Person
from kurse.registration_lists import participants
from tests import builders

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:TESTTOKEN"


def kursbot_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KURSBOT_", "TELEGRAM_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "KURSBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'kursbot.db'}",
            **extra,
        }
    )
    return env


class FakeTelegram(BaseHTTPRequestHandler):
    """A Bot API server on localhost: one pending update, and a record of what was sent."""

    updates: ClassVar[list[dict]] = []
    sent: ClassVar[list[tuple[str, dict]]] = []
    answers: ClassVar[list[dict]] = []  # answered button presses

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode(errors="replace")
        params = {k: v[0] for k, v in parse_qs(body).items()}
        if self.headers.get("Content-Type", "").startswith("application/json"):
            params = json.loads(body or "{}")
        token, method = self.path.split("/")[-2:]
        if token != f"bot{TOKEN}":
            self._answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        result: object = True
        if method == "getMe":
            result = {"id": 42, "is_bot": True, "first_name": "Kursbot", "username": "k_bot"}
        elif method == "getUpdates":
            offset = int(params.get("offset", 0) or 0)
            result = [u for u in self.updates if u["update_id"] >= offset]
            if not result:
                time.sleep(0.2)
        elif method == "sendMessage":
            self.sent.append((method, params))
            result = {
                "message_id": len(self.sent),
                "date": int(time.time()),
                "chat": {"id": int(params["chat_id"]), "type": "private"},
                "text": params["text"],
            }
        elif method == "answerCallbackQuery":
            self.answers.append(params)
        elif method == "sendDocument":  # multipart: only the chat id is read
            chat = re.search(r'name="chat_id"\r\n\r\n(-?\d+)', body)
            assert chat is not None, body[:300]
            self.sent.append((method, {"chat_id": chat.group(1)}))
            result = {
                "message_id": len(self.sent),
                "date": int(time.time()),
                "chat": {"id": int(chat.group(1)), "type": "private"},
            }
        self._answer(200, {"ok": True, "result": result})

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class FakeTelegramServer(ThreadingHTTPServer):
    # Two bot processes open many connections at once; the default backlog of 5 resets some.
    request_queue_size = 128
    daemon_threads = True


@pytest.fixture
def telegram():
    FakeTelegram.updates, FakeTelegram.sent, FakeTelegram.answers = [], [], []
    server = FakeTelegramServer(("127.0.0.1", 0), FakeTelegram)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_kursbot_run_polls_a_local_bot_api_server_and_answers(telegram, tmp_path):
    FakeTelegram.updates.append(
        {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "text": "/start",
                "chat": {"id": 777, "type": "private", "first_name": "Anna"},
                "from": {"id": 777, "is_bot": False, "first_name": "Anna", "language_code": "de"},
                "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
            },
        }
    )
    port = telegram.server_address[1]
    env = kursbot_env(
        tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, KURSBOT_TELEGRAM_API_URL=f"http://127.0.0.1:{port}"
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not FakeTelegram.sent and time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read()
            time.sleep(0.1)
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]

    assert FakeTelegram.sent, output
    method, params = FakeTelegram.sent[0]
    assert (method, params["chat_id"]) == ("sendMessage", "777")
    assert params["text"].startswith("Willkommen bei Kursbot")
    assert TOKEN not in output  # the token never reaches the log


def readme_chat_example(heading: str = "### Trying it out in the terminal") -> str:
    """The first shell block of the README's section ``heading``, to run with this Python."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return block.replace(".venv/bin/kursbot", f"{sys.executable} -m bot.cli")


def run_readme_block(
    heading: str, tmp_path: Path, timeout: float, **env: str
) -> subprocess.CompletedProcess[str]:
    """Runs the README's shell block under ``heading`` in ``tmp_path``, as a user pastes it."""
    return subprocess.run(
        ["bash", "-c", readme_chat_example(heading)],
        cwd=tmp_path,
        env=kursbot_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_the_readme_chat_example_joins_signs_up_and_cancels_in_german_and_english(tmp_path):
    chat = run_readme_block("### Trying it out in the terminal", tmp_path, timeout=180)

    assert chat.returncode == 0, chat.stderr
    out = chat.stdout
    assert "Demo term loaded: 5 courses." in out
    assert "Willkommen, Anna Beispiel!" in out
    assert (
        "bot (notice): ✅ Sie sind angemeldet. Den Kalendereintrag erhalten Sie in einer "
        "eigenen Nachricht." in out
    )
    assert "Kalendereintrag für Gemeinsame Fahndungs- und Kontrolltage an der A 72" in out
    assert "Fahndungs- und Kontrolltage an der A 72 – angemeldet" in out
    assert "From now on I speak English with you." in out
    assert "Do you really want to cancel your registration" in out
    assert (
        "You have cancelled your registration for "
        "*Gemeinsame Fahndungs- und Kontrolltage an der A 72*" in out
    )
    saved = list((tmp_path / "kursbot-chat-files" / "1").glob("*.ics"))
    assert len(saved) == 1
    assert b"BEGIN:VCALENDAR" in saved[0].read_bytes()


def test_the_readme_demo_of_every_role_fills_a_new_course_moves_up_the_waiting_and_lists_it(
    tmp_path,
):
    # mktemp makes the database in TMPDIR, here
    chat = run_readme_block(
        "### Every role in one chat", tmp_path, timeout=300, TMPDIR=str(tmp_path)
    )

    assert chat.returncode == 0, chat.stderr
    out = chat.stdout
    code = re.search(r"\bK-\d{4}-001\b", out)
    assert code is not None, out
    code = code.group(0)
    (database,) = tmp_path.glob("tmp.*/kursbot.db")
    db = Database(f"sqlite:///{database}")
    with db.transaction(readonly=True) as session:
        course = courses.get_course_by_code(session, code)
        listing = participants(session, course.id, datetime.now(BERLIN))
        lead = session.get(Person, course.lead_id)
        lead_id = lead.telegram_id if lead else None
    db.dispose()
    # Anna gave her seat back; Carla, waiting behind her, has it now.
    confirmed = {agency: [p.name for p in ps] for agency, ps in listing.confirmed.items()}
    assert confirmed == {"PP-OFR": ["Carla Probst"], "PD-Z": ["Ben Muster"]}
    assert not listing.waiting
    assert lead_id == 1001
    # What the bot sent to others appeared as it happened, headed with the recipient.
    lead_notices = [
        line for line in out.splitlines() if line.startswith("bot → Lea Leitung (1001)")
    ]
    for name in ("Anna Beispiel", "Ben Muster", "Carla Probst"):
        assert any(name in line for line in lead_notices), lead_notices
    assert f"bot → Carla Probst (1004): [file saved: kursbot-chat-files/1004/{code}.ics]" in out
    # Each user's files in their own folder; the lead's lists as the lead gets them.
    files = tmp_path / "kursbot-chat-files"
    for officer in (1002, 1003, 1004):
        assert b"BEGIN:VCALENDAR" in (files / str(officer) / f"{code}.ics").read_bytes()
    table = (files / "1001" / f"{code}.csv").read_text(encoding="utf-8-sig")
    assert "Ben Muster" in table
    assert "Carla Probst" in table
    assert "Anna Beispiel" not in table
    assert (files / "1001" / f"{code}.pdf").read_bytes().startswith(b"%PDF")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post_update(port: int, secret: str | None, update_id: int) -> int:
    """Posts a "/start" from Ben to the webhook; returns the HTTP status."""
    message = {
        "message_id": update_id,
        "date": int(time.time()),
        "text": "/start",
        "chat": {"id": 778, "type": "private", "first_name": "Ben"},
        "from": {"id": 778, "is_bot": False, "first_name": "Ben", "language_code": "de"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
    }
    return post(port, secret, {"update_id": update_id, "message": message})


def post(port: int, secret: str | None, update: dict) -> int:
    """Posts one update to a webhook instance, as Telegram does; returns the HTTP status."""
    import urllib.error
    import urllib.request

    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/telegram", data=json.dumps(update).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_webhook_mode_rejects_a_wrong_secret_and_answers_the_right_one(telegram, tmp_path):
    api_port, port = telegram.server_address[1], free_port()
    secret = "s3cret-token-for-tests"
    env = kursbot_env(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        KURSBOT_TELEGRAM_API_URL=f"http://127.0.0.1:{api_port}",
        KURSBOT_WEBHOOK_SECRET=secret,
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            "--webhook",
            "--url",
            "https://kursbot.example/telegram",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        statuses: list[int] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the server listens
            assert process.poll() is None, process.stdout.read()
            try:
                statuses.append(post_update(port, "wrong", 1))
                break
            except OSError:
                time.sleep(0.2)
        statuses.append(post_update(port, None, 2))
        sent_before = len(FakeTelegram.sent)
        statuses.append(post_update(port, secret, 3))
        while len(FakeTelegram.sent) == sent_before and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]

    assert statuses == [403, 403, 200], output
    assert sent_before == 0  # nothing answered the rejected requests
    assert [p["chat_id"] for _, p in FakeTelegram.sent] == ["778"]
    assert secret not in output
    assert TOKEN not in output


def test_webhook_mode_without_a_secret_does_not_start(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--webhook", "--url", "https://x.example/t"],
        cwd=tmp_path,
        env=kursbot_env(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "secret token" in result.stderr


def start_webhook_instance(tmp_path: Path, env: dict[str, str], port: int) -> subprocess.Popen:
    """``kursbot run --webhook`` as an operator starts one of several instances."""
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "bot.cli", "run", "--webhook", "--url", "https://k.example/t"),
            *("--listen", "127.0.0.1", "--port", str(port)),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_two_instances_on_one_database_send_each_due_reminder_exactly_once(
    telegram, tmp_path, database_url, db, agencies
):
    # Sixty officers signed up two hours ago for a course whose 7-day reminder fell due a
    # minute ago: both instances find it due at their first sweep, one second after start.
    now = datetime.now(BERLIN)
    start = now + timedelta(days=7, minutes=-1)
    course = builders.course(
        db, now - timedelta(hours=3), {"PP-OFR": 30, "PD-Z": 30}, start_at=start
    )
    officers = builders.officers(db, agencies, now, 60)
    for person in officers:
        db.call(regs.sign_up, course.id, person.id, now - timedelta(hours=2))
    env = kursbot_env(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        KURSBOT_TELEGRAM_API_URL=f"http://127.0.0.1:{telegram.server_address[1]}",
        KURSBOT_WEBHOOK_SECRET="two-instances-secret",
        KURSBOT_DATABASE_URL=database_url,
    )
    processes = [start_webhook_instance(tmp_path, env, free_port()) for _ in range(2)]
    try:
        deadline = time.monotonic() + 90
        while len(FakeTelegram.sent) < 60 and time.monotonic() < deadline:
            for process in processes:
                assert process.poll() is None, process.stdout.read()
            time.sleep(0.2)
        time.sleep(3)  # a duplicate would arrive now: both instances keep sweeping
    finally:
        outputs = []
        for process in processes:
            process.terminate()
            outputs.append(process.communicate(timeout=30)[0])

    reminded = [int(params["chat_id"]) for method, params in FakeTelegram.sent]
    problems = [line for out in outputs for line in out.splitlines() if " INFO " not in line]
    assert sorted(reminded) == sorted(p.telegram_id for p in officers), problems
    with db.transaction(readonly=True) as session:
        states = session.scalars(select(Outbox.state)).all()
    assert states == ["sent"] * 60


def wait_until_listening(port: int, processes: list[subprocess.Popen], deadline: float) -> None:
    import socket

    while time.monotonic() < deadline:
        for process in processes:
            assert process.poll() is None, process.stdout.read()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}")


def test_sixty_officers_pressing_anmelden_on_two_instances_never_overbook_a_course(
    telegram, tmp_path, database_url, db, agencies
):
    now = datetime.now(BERLIN)
    course = builders.course(db, now, {"PP-OFR": 5, "PD-Z": 5})
    officers = builders.officers(db, agencies, now, 60)
    secret = "two-instances-secret"
    env = kursbot_env(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        KURSBOT_TELEGRAM_API_URL=f"http://127.0.0.1:{telegram.server_address[1]}",
        KURSBOT_WEBHOOK_SECRET=secret,
        KURSBOT_DATABASE_URL=database_url,
    )
    ports = [free_port(), free_port()]
    processes = [start_webhook_instance(tmp_path, env, port) for port in ports]
    presses = [
        {
            "update_id": i + 1,
            "callback_query": {
                "id": str(i + 1),
                "from": {"id": p.telegram_id, "is_bot": False, "first_name": "O"},
                "chat_instance": str(p.telegram_id),
                "data": f"su:{course.id}:0",
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": p.telegram_id, "type": "private"},
                    "text": "Kursseite",
                },
            },
        }
        for i, p in enumerate(officers)
    ]
    try:
        deadline = time.monotonic() + 90
        for port in ports:
            wait_until_listening(port, processes, deadline)
        # Every press at once, alternately to both instances, from 12 connections.
        with ThreadPoolExecutor(12) as pool:
            statuses = list(
                pool.map(lambda i: post(ports[i % 2], secret, presses[i]), range(len(presses)))
            )
        while len(FakeTelegram.answers) < 60 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        outputs = []
        for process in processes:
            process.terminate()
            outputs.append(process.communicate(timeout=30)[0])

    assert statuses == [200] * 60, outputs
    told = [answer.get("text", "") for answer in FakeTelegram.answers]
    assert sum(t.startswith("✅") for t in told) == 10, told
    assert sum(t.startswith("⏳") for t in told) == 50, told
    assert db.call(invariant_violations, course.id, now) == []
    listing = db.call(participants, course.id, now)
    assert {code: len(names) for code, names in listing.confirmed.items()} == {
        "PP-OFR": 5,
        "PD-Z": 5,
    }
    assert len(listing.waiting) == 50


def health(port: int, path: str) -> tuple[int, dict]:
    """GET a path of the health port; returns the status and the JSON body."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError as error:  # not listening (any more): the assertions show the output
        return 0, {"error": str(error)}


def polled(port: int) -> bool:
    """True once /metrics shows a successful getUpdates."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        families = text_string_to_metric_families(response.read().decode())
        return any(
            family.name == "kursbot_get_updates_last_success_timestamp_seconds" and family.samples
            for family in families
        )


def test_livez_turns_503_when_the_bot_api_goes_away_while_healthz_stays_200(telegram, tmp_path):
    health_port = free_port()
    env = kursbot_env(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        KURSBOT_TELEGRAM_API_URL=f"http://127.0.0.1:{telegram.server_address[1]}",
    )
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "bot.cli", "run", "--health-port", str(health_port)),
            *("--updates-stale-after", "3"),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        wait_until_listening(health_port, [process], deadline)
        while not polled(health_port) and time.monotonic() < deadline:
            assert process.poll() is None, process.stdout.read()
            time.sleep(0.1)
        live = health(health_port, "/livez")
        telegram.shutdown()  # the Bot API goes away
        telegram.server_close()
        gone_at = time.monotonic()
        dead = health(health_port, "/livez")
        while dead[0] == 200 and time.monotonic() < gone_at + 30:
            time.sleep(0.2)
            dead = health(health_port, "/livez")
        detected_after = time.monotonic() - gone_at
        ready = health(health_port, "/healthz")
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]

    assert live[0] == 200, output
    assert dead[0] == 503, output
    assert dead[1]["failing"] == ["updates"]
    assert "getUpdates" in dead[1]["updates"]
    assert 2.5 < detected_after < 30
    assert ready == (200, {"status": "ok", "database": "ok", "schema": "ok"})
