"""The figures as files: a CSV table, and the PDF report for the steering group.

Both take their words from `ReportLabels`, which the bot fills in the reader's language
(`bot.render_figures`); the PDF has the same font (DejaVu Sans, embedded) and page foot as
the attendance list (`kurse.pdf`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from fpdf import FontFace

from kurse.charts import ChartLabels, figures_chart
from kurse.exports import spreadsheet_csv
from kurse.figures import AgencyFigures, Figures
from kurse.pdf import BELOW, FONT, PagedDocument

# The table's rows (and the CSV's columns), in this order; `ReportLabels.rows` names them.
ROWS = (
    "hosted",
    "cancelled_courses",
    "seats_offered",
    "guests",
    "joint_share",
    "quota_seats",
    "sign_ups",
    "confirmed",
    "attended",
    "no_shows",
    "cancellations",
    "unserved",
    "abroad",
)


@dataclass(frozen=True)
class ReportLabels:
    """The words of the table, the CSV and the report, in one language."""

    title: str
    period: str  # the period in words ("1. Quartal 2027 (01.01.2027–31.03.2027)")
    made: str  # "Erstellt am …"
    scope: str  # whose courses (all, or a lead's own)
    agency: str
    name: str
    total: str
    rows: dict[str, str]  # heading of each of `ROWS`
    share: Callable[[float | None], str]  # a joint share in words ("60 %", "–")
    number: Callable[[float | None], str]  # a share as a spreadsheet number ("60,0")
    month: str
    month_confirmed: str
    month_joint: str
    month_names: list[str]
    notes_title: str
    notes: list[str]  # what each figure counts
    page: str  # "Seite {page} von {pages}"
    chart: ChartLabels


def _value(figures: AgencyFigures, row: str, share: Callable[[float | None], str]) -> str:
    return share(figures.joint_share) if row == "joint_share" else str(getattr(figures, row))


def figures_csv(figures: Figures, labels: ReportLabels) -> bytes:
    """One line per agency and one for the sum: code, name, each figure of `ROWS` (the joint
    share as a number in percent, for a spreadsheet to compute with)."""
    head = [labels.agency, labels.name, *(labels.rows[row] for row in ROWS)]
    lines = [
        [a.code, a.name, *(_value(a, row, labels.number) for row in ROWS)]
        for a in [*figures.agencies]
    ]
    lines.append([labels.total, "", *(_value(figures.total, row, labels.number) for row in ROWS)])
    return spreadsheet_csv([head, *lines])


def table_rows(figures: Figures, labels: ReportLabels) -> list[list[str]]:
    """The table as rows: a heading row (agency codes and the sum), then one row per figure."""
    columns = [*figures.agencies, figures.total]
    head = ["", *(a.code for a in figures.agencies), labels.total]
    return [
        head,
        *([labels.rows[r], *(_value(a, r, labels.share) for a in columns)] for r in ROWS),
    ]


def report_pdf(figures: Figures, labels: ReportLabels, now: datetime) -> bytes:
    """The report: title, period, whose courses, the time it was made; the chart; the table
    per agency; the months; what each figure counts. A4 portrait, page x of y."""
    pdf = PagedDocument("portrait", footer=f"{labels.title} · {labels.period}", page=labels.page)
    pdf.set_title(f"{labels.title}: {labels.period}")
    pdf.set_creator("Kursbot")
    pdf.set_creation_date(now)
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.multi_cell(0, 8, labels.title, **BELOW)
    pdf.set_font(FONT, "B", 12)
    pdf.multi_cell(0, 6, labels.period, **BELOW)
    pdf.set_font(FONT, size=10)
    for line in (labels.scope, labels.made):
        pdf.multi_cell(0, 5, line, **BELOW)
    pdf.ln(3)
    chart = figures_chart(figures, labels.chart, width_px=1200, height_px=800)
    pdf.image(io.BytesIO(chart), w=pdf.epw)
    pdf.add_page()
    rows = table_rows(figures, labels)
    first = 62.0
    rest = (pdf.epw - first) / (len(rows[0]) - 1)
    _table(pdf, rows, (first, *(rest for _ in rows[0][1:])))
    pdf.ln(6)
    months = [
        [labels.month, labels.month_confirmed, labels.month_joint, labels.rows["joint_share"]]
    ]
    months += [
        [name, str(m.confirmed), str(m.joint), labels.share(m.joint_share)]
        for name, m in zip(labels.month_names, figures.months, strict=True)
    ]
    _table(pdf, months, (first, *(((pdf.epw - first) / 3) for _ in range(3))))
    pdf.ln(6)
    if pdf.will_page_break(30):
        pdf.add_page()
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(0, 6, labels.notes_title, **BELOW)
    pdf.set_font(FONT, size=9)
    for note in labels.notes:
        pdf.multi_cell(0, 4.5, note, **BELOW)
        pdf.ln(1)
    return bytes(pdf.output())


def _table(pdf: PagedDocument, rows: list[list[str]], widths: Sequence[float]) -> None:
    pdf.set_font(FONT, size=9)
    with (
        pdf.table(
            col_widths=tuple(widths),
            width=min(sum(widths), pdf.epw),  # relative widths; their sum may exceed it by 1e-12
            align="LEFT",
            text_align=("LEFT", *("RIGHT" for _ in widths[1:])),
            headings_style=FontFace(emphasis="BOLD", size_pt=9, fill_color=(230, 230, 230)),
            line_height=5,
            padding=(1, 1.5),
            repeat_headings=1,
        ) as table
    ):
        for row in rows:
            table.row(row)
