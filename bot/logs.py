"""Logging: plain lines by default, JSON lines with ``KURSBOT_LOG_FORMAT=json``."""

from __future__ import annotations

import json
import logging
import os

FIELDS = ("update_id", "user_id")


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, update and user id."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {f: getattr(record, f) for f in FIELDS if hasattr(record, f)}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: int = logging.INFO) -> None:
    """Sets up the root logger as the environment asks."""
    handler = logging.StreamHandler()
    if os.environ.get("KURSBOT_LOG_FORMAT", "").lower() == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines hold the token
