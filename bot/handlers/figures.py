"""/statistik (the figures of a period: the table, the chart, the CSV) and /bericht (the
PDF report) for admins (every course) and course leads (their own courses)."""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import CommandHandler

from bot import render_figures
from bot.commands import names
from bot.context import KursApplication, KursContext
from bot.handlers.common import args_text, refuse, reply
from kurse import charts, report
from kurse.errors import DomainError, NotAllowed, PeriodInvalid
from kurse.figures import Figures, figures_for


async def _figures(update: Update, context: KursContext) -> Figures | None:
    """The figures of the period typed after the command, or None once the refusal is sent."""
    try:
        return await context.services.db.read(
            figures_for, args_text(update), context.services.clock.now(), actor=context.actor
        )
    except PeriodInvalid as error:
        await reply(update, render_figures.period_refused(context.texts, error))
    except NotAllowed:
        await reply(update, render_figures.not_allowed(context.texts))
    except DomainError as error:
        await refuse(update, context, error)
    return None


async def statistics(update: Update, context: KursContext) -> None:
    """/statistik [Zeitraum]: the table, then the chart and the CSV file."""
    figures = await _figures(update, context)
    if figures is None:
        return
    assert update.effective_chat is not None
    t, now = context.texts, context.services.clock.now()
    labels = render_figures.labels(t, figures, now)
    await reply(update, render_figures.table(t, figures, now))
    # Drawing takes a few hundred milliseconds: off the event loop, so others are answered.
    picture = await asyncio.to_thread(charts.figures_chart, figures, labels.chart)
    await context.bot.send_photo(
        update.effective_chat.id,
        photo=picture,
        filename=render_figures.file_name(t, figures.period, "png"),
    )
    await context.bot.send_document(
        update.effective_chat.id,
        document=report.figures_csv(figures, labels),
        filename=render_figures.file_name(t, figures.period, "csv"),
    )


async def report_file(update: Update, context: KursContext) -> None:
    """/bericht [Zeitraum]: the PDF report for the steering group."""
    figures = await _figures(update, context)
    if figures is None:
        return
    assert update.effective_chat is not None
    t, now = context.texts, context.services.clock.now()
    labels = render_figures.labels(t, figures, now)
    content = await asyncio.to_thread(report.report_pdf, figures, labels, now)
    await context.bot.send_document(
        update.effective_chat.id,
        document=content,
        filename=render_figures.report_name(t, figures.period),
    )


def register(application: KursApplication) -> None:
    """Adds /statistik and /bericht."""
    application.add_handler(CommandHandler(names("statistik"), statistics))
    application.add_handler(CommandHandler(names("bericht"), report_file))
