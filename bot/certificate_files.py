"""The PDF files of certificates of attendance: written once, right after issuing, for all of
a course's new certificates at once (off the event loop), and kept (`Certificate.pdf`)."""

from __future__ import annotations

import asyncio
import atexit
import threading
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context
from typing import Any

from telegram.ext import Application

from bot import render_certificates
from bot.i18n import texts
from kurse import certificates, exports
from kurse.db import Database
from kurse.models import id_of


def _lock(application: Application[Any, Any, Any, Any, Any, Any], course_id: int) -> asyncio.Lock:
    locks: dict[int, asyncio.Lock] = application.bot_data.setdefault("certificate_locks", {})
    return locks.setdefault(course_id, asyncio.Lock())


async def write_pdfs(
    application: Application[Any, Any, Any, Any, Any, Any], course_id: int
) -> int:
    """Writes the PDF of every valid certificate of the course that has none yet; returns how
    many. One at a time per course in this process (another process writing the same ones
    at once loses nothing: the first file kept stays)."""
    services = application.bot_data["services"]
    async with _lock(application, course_id):
        now = services.clock.now()
        # Reading them, the texts and the PDF (about a second for a hundred): all off the
        # event loop, so that other users are answered meanwhile.
        documents = await asyncio.to_thread(_write, services.db, course_id, now)
        if documents:
            await services.db.run(certificates.store_pdfs, documents)
        return len(documents)


def _write(db: Database, course_id: int, now: datetime) -> dict[int, bytes]:
    found = db.call_read(certificates.to_print, course_id)
    items = [
        (id_of(i.certificate), render_certificates.labels(texts(i.certificate.language), i))
        for i in found
    ]
    if not items:
        return {}
    # The layout is pure Python: in a thread of this process it would hold the interpreter
    # lock for a second and more and slow every other answer down (measured: p99 of
    # /kurse 400 ms instead of 20); in a process of its own it does not.
    return _pool().submit(exports.certificates_pdf, items, now).result()


def warm_up() -> None:
    """Starts the worker process now (in a thread: starting it takes a second or more), so
    that the first certificates after a start do not wait for it."""
    threading.Thread(target=_warm, name="certificate-pdf-warm-up", daemon=True).start()


def _warm() -> None:
    _pool().submit(exports.certificates_pdf, [], datetime.now(UTC)).result()


_POOL: ProcessPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> ProcessPoolExecutor:
    """One worker process for the PDFs, started on first use ("spawn": a fresh interpreter,
    nothing of this process's threads and connections), kept for the process's life."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
            atexit.register(_POOL.shutdown, wait=False, cancel_futures=True)
        return _POOL
