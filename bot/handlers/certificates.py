"""Certificates of attendance (issue 18): /anwesenheit_abschliessen (the lead closes the
attendance, certificates go out), /bescheinigung (an officer's own, again), /pruefen CODE."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import (
    certificate_files,
    jobs,
    keyboards,
    render,
    render_admin,
    render_certificates,
    render_leads,
)
from bot.commands import names
from bot.context import KursApplication, KursContext
from bot.handlers.common import answer, args_text, callback_of, person_of, reply
from kurse import certificates
from kurse.errors import DomainError, NotAllowed, NotFound
from kurse.models import id_of


def _refusal(context: KursContext, error: DomainError) -> str:
    t = context.texts
    if isinstance(error, NotAllowed):
        return render_leads.not_lead(t)
    if isinstance(error, NotFound) and error.kind == "course":
        return render_admin.unknown_course(t, error.given or "")
    return render_certificates.refusal(t, error) or render.domain_error(t, error)


async def close_attendance(update: Update, context: KursContext) -> None:
    """/anwesenheit_abschliessen <code>: closes the attendance; the certificates go out."""
    code = args_text(update).strip()
    if not code:
        await reply(update, render_certificates.usage(context.texts, "anwesenheit_abschliessen"))
        return
    try:  # a hundred certificates take a few tenths of a second: off the event loop
        closing = await asyncio.to_thread(
            context.services.db.call,
            certificates.close,
            code,
            context.services.clock.now(),
            actor=context.actor,
        )
    except DomainError as error:
        await reply(update, _refusal(context, error))
        return
    await reply(update, render_certificates.closed(context.texts, closing))
    if closing.issued:
        await certificate_files.write_pdfs(context.application, id_of(closing.course))
        jobs.wake(context.application)  # the messages are queued; send them now


async def my_certificates(update: Update, context: KursContext) -> None:
    """/bescheinigung: the officer's certificates, a button each."""
    found = await context.services.db.read(certificates.of_person, id_of(person_of(context)))
    t = context.texts
    await reply(update, render_certificates.mine(t, found), keyboards.certificates(t, found))


async def certificate_file(update: Update, context: KursContext) -> None:
    """A certificate's button: its PDF, if it is the officer's own."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    query = update.callback_query
    assert query is not None and update.effective_chat is not None
    try:
        certificate = await context.services.db.read(
            certificates.document, callback.id, id_of(person_of(context))
        )
    except DomainError:  # another's certificate (forged data), or gone
        await answer(query, render.stale_button(context.texts), show_alert=True)
        return
    if certificate.pdf is None and certificate.revoked_at is None:  # not written yet
        await certificate_files.write_pdfs(context.application, certificate.course_id)
        certificate = await context.services.db.read(
            certificates.document, callback.id, id_of(person_of(context))
        )
    if certificate.pdf is None or certificate.revoked_at is not None:
        await answer(query, render.stale_button(context.texts), show_alert=True)
        return
    await answer(query)
    await context.bot.send_document(
        update.effective_chat.id,
        document=certificate.pdf,
        filename=f"{certificate.serial}.pdf",
    )


async def verify(update: Update, context: KursContext) -> None:
    """/pruefen CODE: whether a certificate is genuine, and for whom (leads and admins)."""
    code = args_text(update).strip()
    if not code:
        await reply(update, render_certificates.usage(context.texts, "pruefen"))
        return
    try:
        found = await context.services.db.read(certificates.verify, code, actor=context.actor)
    except DomainError as error:
        await reply(update, _refusal(context, error))
        return
    await reply(update, render_certificates.verification(context.texts, found))


def register(application: KursApplication) -> None:
    """Adds /anwesenheit_abschliessen, /bescheinigung with its buttons, /pruefen."""
    application.add_handler(CommandHandler(names("anwesenheit_abschliessen"), close_attendance))
    application.add_handler(CommandHandler(names("bescheinigung"), my_certificates))
    application.add_handler(CallbackQueryHandler(certificate_file, pattern=r"^bz:"))
    application.add_handler(CommandHandler(names("pruefen"), verify))
