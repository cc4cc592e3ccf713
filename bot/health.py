"""The health port: ``/healthz`` (ready), ``/livez`` (alive) and ``/metrics`` (Prometheus).

- ``/healthz``, readiness: 200 when the database answers and its schema is the newest
  revision this code has (``kursbot db upgrade`` done), else 503 naming which.
- ``/livez``, liveness: 200 while updates arrive and timed work finishes (`bot.liveness`),
  else 503 naming the part that stopped.
- ``/metrics``: the Application's registry (`bot.metrics`), optionally behind basic auth.

All three answer GET and HEAD. A small HTTP server in a thread of its own (PTB's webhook
server takes no extra routes), on its own port (``kursbot run --health-port 8081``), so that
it also works in polling mode; it reads the database in read transactions only, so on SQLite
it never waits for another process's write lock.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.liveness import Liveness
from bot.metrics import Metrics
from kurse.db import Database
from kurse.migrate import current_revision, newest_revision

log = logging.getLogger(__name__)


def readiness(db: Database, head: str) -> dict[str, str]:
    """``{"database": …, "schema": …}``, each "ok" or what is wrong (in a read
    transaction: on SQLite it does not wait for another process's write lock)."""
    try:
        with db.transaction(readonly=True) as session:
            current = current_revision(session.connection())
    except Exception:
        log.warning("health check: database not reachable", exc_info=True)
        return {"database": "unreachable", "schema": "unknown"}
    if current != head:
        return {"database": "ok", "schema": f"at {current or 'no revision'}, expected {head}"}
    return {"database": "ok", "schema": "ok"}


def start_health_server(
    db: Database,
    host: str,
    port: int,
    *,
    liveness: Liveness | None = None,
    metrics: Metrics | None = None,
    auth: tuple[str, str] | None = None,
) -> ThreadingHTTPServer:
    """Serves the health port in a daemon thread; returns the server (``shutdown()`` stops
    it). ``/livez`` needs ``liveness``, ``/metrics`` needs ``metrics``; ``auth`` (user,
    password) guards ``/metrics``."""
    head = newest_revision()
    expected = ":".join(auth).encode() if auth is not None else None

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def _answer(self, *, body: bool) -> None:
            if self.path == "/healthz":
                self._json(readiness(db, head), body)
            elif self.path == "/livez" and liveness is not None:
                parts = liveness.check()
                failing = [name for name, state in parts.items() if state != "ok"]
                self._json({"failing": failing, **parts}, body)
            elif self.path == "/metrics" and metrics is not None:
                if expected is not None and not _authorised(self.headers, expected):
                    self._send(401, b"", "text/plain", body, basic_realm=True)
                    return
                self._send(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST, body)
            else:
                self.send_error(404)

        def _json(self, parts: dict[str, Any], body: bool) -> None:
            ok = not parts.get("failing") and all(
                state == "ok" for name, state in parts.items() if name != "failing"
            )
            payload = json.dumps({"status": "ok" if ok else "error", **parts}).encode()
            self._send(200 if ok else 503, payload, "application/json", body)

        def _send(
            self,
            status: int,
            payload: bytes,
            content_type: str,
            body: bool,
            basic_realm: bool = False,
        ) -> None:
            self.send_response(status)
            if basic_realm:
                self.send_header("WWW-Authenticate", 'Basic realm="kursbot metrics"')
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if body:
                self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass  # monitoring polls often; the access log would drown the rest

    server = ThreadingHTTPServer((host, port), Health)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server


def _authorised(headers: Any, expected: bytes) -> bool:
    """True if the request carries exactly the expected basic credentials."""
    scheme, _, given = str(headers.get("Authorization", "")).partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        credentials = base64.b64decode(given.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    return hmac.compare_digest(credentials, expected)
