"""A Bot API server on localhost that knows one token: `getMe` answers for it, 401 for any
other; every other method answers ``true`` (``getUpdates`` an empty list, a little later).

It records the first ``getUpdates`` (`polled`), so that a test can stop a bot once it polls,
the token of every request and the methods called with the right one."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOD_TOKEN = "123456789:AAH-fake_token_for_the_tests-0123456789"


class FakeBotApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, token: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.token = token
        self.polled = threading.Event()
        self.tokens: list[str] = []
        self.methods: list[str] = []  # of the requests with the right token

    @property
    def url(self) -> str:
        """The address to put into ``KURSBOT_TELEGRAM_API_URL``."""
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeBotApiServer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        token, method = self.path.split("/")[-2:]
        self.server.tokens.append(token.removeprefix("bot"))
        if token != f"bot{self.server.token}":
            self._answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        self.server.methods.append(method)
        result: object = True
        if method == "getMe":
            result = {
                "id": 123456789,
                "is_bot": True,
                "first_name": "Kursbot",
                "username": "k_bot",
            }
        elif method == "getUpdates":
            self.server.polled.set()
            time.sleep(0.2)
            result = []
        self._answer(200, {"ok": True, "result": result})

    def _answer(self, status: int, payload: dict[str, object]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def fake_bot_api(token: str = GOOD_TOKEN) -> Iterator[FakeBotApiServer]:
    """Runs the fake Bot API in a thread while the block runs."""
    server = FakeBotApiServer(token)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
