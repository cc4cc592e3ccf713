"""/healthz answers 200 while the database answers, 503 when it does not."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from bot.health import start_health_server
from kurse.db import Database


def get(port: int, path: str = "/healthz") -> tuple[int, dict | None]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        body = error.read()
        return error.code, json.loads(body) if body.startswith(b"{") else None


def test_healthz_reports_the_database(db, tmp_path):
    broken = Database(f"sqlite:///{tmp_path}/missing/folder/kursbot.db")
    healthy = start_health_server(db, "127.0.0.1", 0)
    failing = start_health_server(broken, "127.0.0.1", 0)

    results = [
        get(healthy.server_address[1]),
        get(failing.server_address[1]),
        get(healthy.server_address[1], "/other"),
    ]

    for server in (healthy, failing):
        server.shutdown()
        server.server_close()
    broken.dispose()
    assert results == [
        (200, {"status": "ok", "database": "ok"}),
        (503, {"status": "error", "database": "unreachable"}),
        (404, None),
    ]
