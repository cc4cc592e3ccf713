"""A bounded shutdown that leaves nothing half-sent: on SIGTERM `kursbot run` claims nothing
new, sends what it has claimed for at most `KURSBOT_SHUTDOWN_GRACE` seconds, gives back the
rest, and exits; the next start sends the rest, each message once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import func, select

from kurse import agencies as agency_service
from kurse import people
from kurse import registrations as regs
from kurse.clock import BERLIN
from kurse.db import Database
from kurse.migrate import upgrade
from kurse.models import Outbox
from tests import builders
from tests.test_end_to_end import TOKEN, FakeTelegram, kursbot_env
from tests.test_end_to_end import telegram as telegram  # the fake Bot API fixture

OFFICERS = 600
GRACE = 2.0


def due_reminders(url: str) -> None:
    """600 officers signed up hours ago for a course whose 7-day reminder fell due a minute
    ago (each gets it with the first sweep, one second after start)."""
    db = Database(url)
    upgrade(db.engine)
    now = datetime.now(BERLIN)
    with db.transaction() as session:
        agency_service.seed_agencies(session, now)
        found = {a.code: a for a in agency_service.list_agencies(session)}
        ids = [
            people.join(
                session,
                telegram_id=3_000_000 + i,
                access_code=found["PP-OFR" if i % 2 else "PD-Z"].access_code,
                name=f"Officer {i}",
                rank=None,
                language="de",
                now=now - timedelta(hours=3),
            ).id
            for i in range(OFFICERS)
        ]
    start = now + timedelta(days=7, minutes=-1)
    course = builders.course(
        db, now - timedelta(hours=3), {"PP-OFR": 300, "PD-Z": 300}, start_at=start
    )
    with db.transaction() as session:
        for person_id in ids:
            regs.sign_up(session, course.id, person_id, now - timedelta(hours=2))
    db.dispose()


def states(url: str) -> Counter[str]:
    db = Database(url)
    with db.transaction(readonly=True) as session:
        found = Counter(
            dict(session.execute(select(Outbox.state, func.count()).group_by(Outbox.state)).all())
        )
    db.dispose()
    return found


def start(tmp_path, env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def sent_chats() -> list[int]:
    return [int(params["chat_id"]) for method, params in FakeTelegram.sent]


def test_sigterm_sends_within_the_grace_gives_back_the_rest_and_a_restart_sends_it_once(
    telegram, tmp_path
):
    url = f"sqlite:///{tmp_path / 'kursbot.db'}"
    due_reminders(url)
    env = kursbot_env(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        KURSBOT_TELEGRAM_API_URL=f"http://127.0.0.1:{telegram.server_address[1]}",
        KURSBOT_DATABASE_URL=url,
        KURSBOT_SHUTDOWN_GRACE=str(GRACE),
    )
    first = start(tmp_path, env)
    deadline = time.monotonic() + 90
    while len(FakeTelegram.sent) < 30 and time.monotonic() < deadline:
        assert first.poll() is None, first.stdout.read()
        time.sleep(0.05)

    first.send_signal(signal.SIGTERM)
    stopped_at = time.monotonic()
    output = first.communicate(timeout=60)[0]
    took = time.monotonic() - stopped_at
    after_stop = states(url)
    sent_by_first = len(FakeTelegram.sent)

    second = start(tmp_path, env)
    deadline = time.monotonic() + 120
    while len(FakeTelegram.sent) < OFFICERS and time.monotonic() < deadline:
        assert second.poll() is None, second.stdout.read()
        time.sleep(0.1)
    time.sleep(1.5)  # a duplicate would arrive now
    second.terminate()
    second.communicate(timeout=60)

    assert first.returncode == 0, output
    assert took < GRACE + 8, output  # the grace, then PTB's own shutdown (its HTTP timeouts)
    assert after_stop["sending"] == 0, after_stop
    assert after_stop["sent"] == sent_by_first < OFFICERS
    assert after_stop["pending"] == OFFICERS - sent_by_first
    counts = Counter(sent_chats())
    assert len(counts) == OFFICERS
    assert set(counts.values()) == {1}
    assert states(url) == Counter({"sent": OFFICERS})
