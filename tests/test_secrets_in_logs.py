"""No start of `kursbot run` shows the token or the webhook secret, whatever happens, and a
start that fails says why in one line (docs/deployment.md)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.fake_bot_api import GOOD_TOKEN, fake_bot_api

ROOT = Path(__file__).resolve().parent.parent
SECRET = "the-webhook-secret-nobody-may-read"
REFUSED_TOKEN = "999:WRONG"
# A line of the normal start at level DEBUG or INFO (plain format); anything else is a problem.
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO) \S+ ")


def environment(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("KURSBOT_", "TELEGRAM_")) and k != "CREDENTIALS_DIRECTORY"
    }
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def start(folder: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", *args],
        cwd=folder,
        env=environment(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(process: subprocess.Popen[str], condition, deadline: float = 60) -> None:
    """Waits until ``condition()`` holds; fails if the process ends or time runs out."""
    end = time.monotonic() + deadline
    while not condition():
        assert process.poll() is None, "the bot stopped"
        assert time.monotonic() < end, "the bot did not get there in time"
        time.sleep(0.1)


def stop(process: subprocess.Popen[str]) -> str:
    """Sends SIGTERM as systemd does; returns the whole output."""
    process.send_signal(signal.SIGTERM)
    return process.communicate(timeout=30)[0]


def assert_no_secret_in(output: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in output, f"{secret!r} is in the output"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status_of_post(port: int, secret: str | None) -> int | None:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/telegram", data=b"{}", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None  # not listening yet


def test_a_start_that_polls_and_stops_on_sigterm_shows_neither_token_nor_secret(tmp_path):
    with fake_bot_api() as api:
        process = start(
            tmp_path,
            TELEGRAM_BOT_TOKEN=GOOD_TOKEN,
            KURSBOT_WEBHOOK_SECRET=SECRET,
            KURSBOT_TELEGRAM_API_URL=api.url,
            KURSBOT_LOG_LEVEL="DEBUG",  # everything PTB, httpx and httpcore have to say
        )
        try:
            wait_for(process, api.polled.is_set)
        finally:
            output = stop(process)

    assert process.returncode == 0, output
    assert "getUpdates" in api.methods
    assert "DEBUG" in output
    assert "Traceback" not in output
    assert_no_secret_in(output, GOOD_TOKEN, GOOD_TOKEN.split(":")[1], SECRET)


def test_a_webhook_start_set_up_in_the_env_file_logs_json_and_shows_neither_token_nor_secret(
    tmp_path,
):
    port, health_port = free_port(), free_port()
    with fake_bot_api() as api:
        (tmp_path / ".env").write_text(
            f"TELEGRAM_BOT_TOKEN={GOOD_TOKEN}\nKURSBOT_WEBHOOK_SECRET={SECRET}\n"
            f"KURSBOT_LOG_FORMAT=json\nKURSBOT_LOG_LEVEL=DEBUG\n"
            f"KURSBOT_TELEGRAM_API_URL={api.url}\nKURSBOT_HEALTH_PORT={health_port}\n"
        )
        process = start(
            tmp_path, "--webhook", "--url", "https://kurse.example/telegram", "--port", str(port)
        )
        try:
            wait_for(process, lambda: status_of_post(port, None) is not None)
            refused = status_of_post(port, None)
            with urllib.request.urlopen(f"http://127.0.0.1:{health_port}/healthz") as response:
                health = response.status
        finally:
            output = stop(process)

    assert process.returncode == 0, output
    assert refused == 403  # up, and it refuses a request without the secret
    assert "setWebhook" in api.methods
    assert health == 200
    records = [json.loads(line) for line in output.splitlines()]  # every line is JSON
    assert {r["level"] for r in records} >= {"DEBUG", "INFO"}
    assert_no_secret_in(output, GOOD_TOKEN, GOOD_TOKEN.split(":")[1], SECRET)


@pytest.mark.parametrize("failure", ["refused-token", "unreachable-api", "unreachable-database"])
def test_a_failed_start_says_why_in_one_line_without_token_or_secret_and_exits_1(
    tmp_path, failure
):
    token = REFUSED_TOKEN if failure == "refused-token" else GOOD_TOKEN
    with fake_bot_api() as api:
        env = {
            "TELEGRAM_BOT_TOKEN": token,
            "KURSBOT_WEBHOOK_SECRET": SECRET,
            "KURSBOT_TELEGRAM_API_URL": "http://127.0.0.1:1"
            if failure == "unreachable-api"
            else api.url,
            "KURSBOT_LOG_LEVEL": "DEBUG",
        }
        if failure == "unreachable-database":
            env["KURSBOT_DATABASE_URL"] = "postgresql://kursbot:secretpw@127.0.0.1:1/kursbot"
        process = start(tmp_path, **env)
        output = process.communicate(timeout=60)[0]

    lines = output.strip().splitlines()
    problems = [line for line in lines if not LOG_LINE.match(line)]
    assert process.returncode == 1, output
    assert problems == [lines[-1]], output
    assert {
        "refused-token": "refused the token",
        "unreachable-api": "Cannot reach the Bot API at http://127.0.0.1:1",
        "unreachable-database": "Cannot open the database",
    }[failure] in lines[-1]
    assert_no_secret_in(output, token, token.split(":")[1], SECRET, "secretpw")


MASKING_SCRIPT = """
import logging, sys, threading, warnings
from bot.logs import JsonLines, configure
from kurse.config import load_settings

configure(load_settings())
later = logging.StreamHandler(sys.stdout)  # added after configure, with a formatter of its own
later.setFormatter(JsonLines())
logging.getLogger("somebody.else").addHandler(later)
token, secret = sys.argv[1], sys.argv[2]
log = logging.getLogger("somebody.else")
log.warning("token %s, secret %s, quoted %s", token, secret, token.replace(":", "%3A"))
try:
    raise RuntimeError(f"The token `{token}` was rejected; secret {secret}")
except RuntimeError:
    log.exception("failed")
log.error("stack of %s", token, stack_info=True)
warnings.warn(f"a warning with {token}")
thread = threading.Thread(target=lambda: 1 / 0, name=token)
thread.start(); thread.join()
raise ValueError(f"uncaught {secret}")
"""


def test_every_handler_masks_token_and_secret_in_messages_tracebacks_warnings_and_crashes(
    tmp_path,
):
    result = subprocess.run(
        [sys.executable, "-c", MASKING_SCRIPT, GOOD_TOKEN, SECRET],
        cwd=tmp_path,
        env=environment(TELEGRAM_BOT_TOKEN=GOOD_TOKEN, KURSBOT_WEBHOOK_SECRET=SECRET),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr

    assert result.returncode == 1  # the uncaught exception, logged
    for expected in (
        "token ***, secret ***, quoted ***",
        "was rejected",
        "Traceback",
        "stack of ***",
        "a warning with ***",
        "ZeroDivisionError",
        "Uncaught exception",
        "ValueError: uncaught ***",
    ):
        assert expected in output, expected
    assert [json.loads(line)["logger"] for line in result.stdout.splitlines()] == [
        "somebody.else"
    ] * 3
    assert_no_secret_in(output, GOOD_TOKEN, GOOD_TOKEN.split(":")[1], SECRET)
