"""The chart of the figures as a PNG picture (matplotlib, Agg backend, no display needed).

matplotlib is imported on the first chart, or by `preload`, which ``kursbot run`` calls at
start (about 25 MB more, and the first ``/statistik`` does not wait a second or more for the
import and the font; measured in bench/README.md, "Figures"); tests and ``kursbot chat`` that
draw no chart do not carry it. The figure is built with the object API
(`Figure`, no ``pyplot``), so nothing global is kept between charts and a chart can be drawn
in a worker thread while the event loop answers others.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from kurse.figures import Figures

WIDTH_PX, HEIGHT_PX, DPI = 1200, 900, 100


@dataclass(frozen=True)
class ChartLabels:
    """The words of the chart, in the reader's language (`bot.render_figures`)."""

    title: str
    seats_title: str
    quota: str
    taken: str
    attended: str
    share_title: str
    share_axis: str
    months: list[str]  # one per `Figures.months`
    total: str


def preload() -> None:
    """Imports matplotlib and draws a tiny picture with a word on it (loads the font)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(0.5, 0.5), dpi=DPI)
    FigureCanvasAgg(figure)
    figure.text(0.1, 0.5, "Kursbot")
    figure.savefig(io.BytesIO(), format="png")


def figures_chart(
    figures: Figures, labels: ChartLabels, *, width_px: int = WIDTH_PX, height_px: int = HEIGHT_PX
) -> bytes:
    """Two panels: per agency the seats set aside for its officers, taken and attended
    (bars); and the joint share per month (a line, in percent; a month without confirmed
    seats is a gap)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if len(labels.months) != len(figures.months):
        raise ValueError("labels.months must name each month of the figures")
    figure = Figure(figsize=(width_px / DPI, height_px / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    # Fixed margins: matplotlib's constrained layout measured twice the time of a whole draw.
    figure.subplots_adjust(left=0.07, right=0.98, top=0.9, bottom=0.11, hspace=0.35)
    seats, share = figure.subplots(2, 1, height_ratios=[3, 2])
    figure.suptitle(labels.title, fontsize=15, fontweight="bold")
    codes = [a.code for a in figures.agencies]
    series = [
        (labels.quota, [a.quota_seats for a in figures.agencies], "#9db4cf"),
        (labels.taken, [a.confirmed for a in figures.agencies], "#2f5d8c"),
        (labels.attended, [a.attended for a in figures.agencies], "#3c8d5a"),
    ]
    width = 0.8 / len(series)
    for i, (label, values, colour) in enumerate(series):
        positions = [x + (i - 1) * width for x in range(len(codes))]
        bars = seats.bar(positions, values, width, label=label, color=colour)
        seats.bar_label(bars, padding=2, fontsize=9)
    seats.set_xticks(range(len(codes)), codes)
    seats.set_title(labels.seats_title, loc="left")
    seats.legend(loc="upper right")
    seats.margins(y=0.15)
    seats.spines[["top", "right"]].set_visible(False)
    percent = [
        m.joint_share * 100 if m.joint_share is not None else math.nan for m in figures.months
    ]
    share.plot(range(len(percent)), percent, marker="o", color="#b5542f")
    step = max(1, len(percent) // 24)  # at most about two years of month names on the axis
    share.set_xticks(
        range(0, len(percent), step),
        labels.months[::step],
        rotation=45 if len(percent) > 12 else 0,
    )
    share.set_ylim(0, 100)
    share.set_ylabel(labels.share_axis)
    share.set_title(labels.share_title, loc="left")
    share.grid(axis="y", alpha=0.3)
    share.spines[["top", "right"]].set_visible(False)
    out = io.BytesIO()
    # Fast zlib level: the picture is a few hundred kB either way, and level 6 took 0.2 s.
    figure.savefig(out, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return out.getvalue()
