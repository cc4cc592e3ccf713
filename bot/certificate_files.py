"""The PDF files of certificates of attendance: written once, right after issuing, for all of
a course's new certificates at once (off the event loop), and kept (`Certificate.pdf`)."""

from __future__ import annotations

import asyncio
from typing import Any

from telegram.ext import Application

from bot import render_certificates
from bot.i18n import texts
from kurse import certificates, exports
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
        found = await services.db.read(certificates.to_print, course_id)
        if not found:
            return 0
        items = [
            (id_of(i.certificate), render_certificates.labels(texts(i.certificate.language), i))
            for i in found
        ]
        # fonts and layout take about a second for a hundred: off the event loop, so that
        # other users are answered meanwhile
        documents = await asyncio.to_thread(exports.certificates_pdf, items, services.clock.now())
        await services.db.run(certificates.store_pdfs, documents)
        return len(documents)
