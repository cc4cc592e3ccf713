"""Logging as the settings ask (``KURSBOT_LOG_FORMAT``, ``KURSBOT_LOG_LEVEL``), with a safety
net: the token, the webhook secret and the database password are masked in every line that
any handler writes (message, exception text, traceback), whoever logged it.

Kursbot's own code never logs a secret, but libraries may: PTB puts the token into the text
of `InvalidToken`, httpx logs every request's address (``/bot<token>/getMe``), and a
traceback shows whatever an exception says. Uncaught exceptions (of the main thread and of
other threads) and warnings are logged too, so that they pass the mask.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any
from urllib.parse import quote

from kurse.config import Settings

FIELDS = ("update_id", "user_id")
MASK = "***"
# Shorter values are not masked: they would mask ordinary words (a secret that short is
# refused by the settings anyway, except a database password, which we never log).
MIN_MASKED = 6
PLAIN = "%(asctime)s %(levelname)s %(name)s %(message)s"

log = logging.getLogger("kursbot")


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
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


class Mask:
    """Replaces each of the secrets, and the forms they take in addresses, by ``***``."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        forms = set()
        for secret in secrets:
            if not secret or len(secret) < MIN_MASKED:
                continue
            forms |= {secret, quote(secret, safe="")}
            _, colon, key = secret.partition(":")
            if colon and len(key) >= MIN_MASKED * 2:  # a token's secret part, however quoted
                forms.add(key)
        self.forms = sorted(forms, key=len, reverse=True)  # the longest first

    def __call__(self, text: str) -> str:
        for form in self.forms:
            text = text.replace(form, MASK)
        return text


def mask_record(record: logging.LogRecord, mask: Mask) -> None:
    """Masks the secrets in ``record``: the message (with its arguments merged in), the
    exception text (then dropped, so that no formatter renders it anew) and the stack."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: logging would print its arguments unmasked later
        message = f"{record.msg!s} {record.args!r}"
    record.msg, record.args = mask(message), ()
    if record.exc_info:
        record.exc_text = record.exc_text or "".join(
            traceback.format_exception(*record.exc_info)
        ).rstrip("\n")
        record.exc_info = None
    if record.exc_text:
        record.exc_text = mask(record.exc_text)
    if record.stack_info:
        record.stack_info = mask(record.stack_info)


_RECORD_FACTORY = logging.getLogRecordFactory()


def configure(settings: Settings | None = None, *, secrets: Iterable[str | None] = ()) -> None:
    """Sets up the root logger as ``settings`` ask, and masks their secrets and ``secrets``
    (a ``--secret-token`` given on the command line) in every record as it is made, so for
    every handler, also one added later."""
    mask = Mask([*(settings.secrets() if settings else ()), *secrets])

    def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = _RECORD_FACTORY(*args, **kwargs)
        mask_record(record, mask)
        return record

    logging.setLogRecordFactory(make_record)
    level = getattr(logging, settings.kursbot_log_level) if settings else logging.INFO
    handler = logging.StreamHandler()
    if settings and settings.kursbot_log_format == "json":
        handler.setFormatter(JsonLines())
    else:
        handler.setFormatter(logging.Formatter(PLAIN))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    if level > logging.DEBUG:  # a line per request; at DEBUG they are wanted, and masked
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(
    kind: type[BaseException], error: BaseException, trace: TracebackType | None
) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, trace)
        return
    log.critical("Uncaught exception", exc_info=(kind, error, trace))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread else "?"
    log.critical(
        "Uncaught exception in thread %s",
        name,
        exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback),
    )
