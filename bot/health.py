"""``/healthz`` for load balancers and monitoring: 200 when the database answers, else 503.

A small HTTP server in a thread of its own (PTB's webhook server takes no extra routes), on
its own port (``kursbot run --health-port 8081``), so that it also works in polling mode.
"""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import text

from kurse.db import Database

log = logging.getLogger(__name__)


def database_ok(db: Database) -> bool:
    """True if a trivial query succeeds (in a read transaction: on SQLite it does not wait
    for another process's write lock)."""
    try:
        with db.transaction(readonly=True) as session:
            session.execute(text("SELECT 1"))
    except Exception:
        log.warning("health check: database not reachable", exc_info=True)
        return False
    return True


def start_health_server(db: Database, host: str, port: int) -> ThreadingHTTPServer:
    """Serves GET /healthz in a daemon thread; returns the server (``shutdown()`` stops it)."""

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/healthz":
                self.send_error(404)
                return
            ok = database_ok(db)
            body = json.dumps(
                {"status": "ok" if ok else "error", "database": "ok" if ok else "unreachable"}
            ).encode()
            self.send_response(200 if ok else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # monitoring polls often; the access log would drown the rest

    server = ThreadingHTTPServer((host, port), Health)
    threading.Thread(target=server.serve_forever, name="healthz", daemon=True).start()
    return server
