"""Texts of the figures (/statistik, /bericht, ``kursbot report``): the table in chat, the
words of the chart, the CSV and the PDF report, the period in words and its refusals."""

from __future__ import annotations

from datetime import date, datetime
from html import escape

from babel.dates import format_date
from babel.numbers import format_decimal, format_percent

from bot.i18n import Texts, _
from kurse.charts import ChartLabels
from kurse.errors import PeriodInvalid
from kurse.figures import Figures
from kurse.periods import Period, PeriodKind, PeriodReason
from kurse.report import ROWS, ReportLabels, table_rows

ROW_HEADINGS = {
    "hosted": _("Courses hosted"),
    "cancelled_courses": _("Courses cancelled"),
    "seats_offered": _("Seats in own courses"),
    "guests": _("taken by other agencies"),
    "joint_share": _("Joint share"),
    "quota_seats": _("Own quota"),
    "sign_ups": _("Sign-ups"),
    "confirmed": _("Confirmed"),
    "attended": _("Attended"),
    "no_shows": _("No-shows"),
    "cancellations": _("Cancellations"),
    "unserved": _("Still waiting at the start"),
    "abroad": _("Seats at other agencies"),
}
assert tuple(ROW_HEADINGS) == ROWS

NOTES = (
    _(
        "A course counts in the period in which it starts (Berlin time), also when it ends "
        "after the period; cancelled courses count only as cancelled, with none of their "
        "seats or registrations."
    ),
    _(
        "Courses hosted, seats in own courses: the courses the agency hosted and all their "
        "seats; taken by other agencies: their confirmed seats held by officers of another "
        "agency, released seats included. Joint share: those seats as a part of all "
        "confirmed seats of the agency's courses."
    ),
    _(
        "Own quota: the seats set aside for the agency's officers in all courses. Sign-ups: "
        "every registration of its officers, whatever became of it; confirmed: those who "
        "hold a seat; cancellations: those who gave their seat or waiting place back (also "
        "by deleting their data)."
    ),
    _(
        "Attended: confirmed and present on at least one course day. No-shows: confirmed, "
        "absent without excuse on a recorded day and present on none; excused days are no "
        "no-show."
    ),
    _(
        "Still waiting at the start: demand the seats did not meet (courses that have not "
        "started yet count none). Seats at other agencies: confirmed seats of the agency's "
        "officers in courses another agency hosted."
    ),
    _(
        "The figures count registrations and attendance by the officer's agency, also after "
        "officers deleted their data and after the anonymisation of a course's personal data."
    ),
)


def period_words(t: Texts, period: Period) -> str:
    """The period in words, with its first and last day: "Q1 2027 (01.01.2027–31.03.2027)"."""
    days = f"{_date(t, period.first)}–{_date(t, period.last)}"
    if period.kind is PeriodKind.RANGE:
        return days
    if period.kind is PeriodKind.YEAR:
        name = str(period.first.year)
    elif period.kind is PeriodKind.QUARTER:
        name = t.gettext("Q{quarter} {year}").format(
            quarter=period.quarter, year=period.first.year
        )
    else:
        name = t.month(period.first)
    return f"{name} ({days})"


def _date(t: Texts, day: date) -> str:
    return format_date(day, "dd.MM.yyyy", locale=t.language)


def share(t: Texts, value: float | None) -> str:
    """A joint share in words: "60 %" (German) or "60%"; "–" without any seat."""
    return "–" if value is None else format_percent(value, locale=t.language)


def share_number(t: Texts, value: float | None) -> str:
    """A joint share as a spreadsheet number in percent: "60,0" (German) or "60.0"."""
    return "" if value is None else format_decimal(value * 100, "0.0", locale=t.language)


def scope(t: Texts, figures: Figures) -> str:
    """Whose courses the figures count."""
    if figures.lead_id is not None:
        return t.gettext("Only the courses you lead.")
    return t.gettext("All courses of every agency.")


def labels(t: Texts, figures: Figures, now: datetime) -> ReportLabels:
    """Every word of the chart, the CSV and the report, in the reader's language."""
    _ = t.gettext
    months = [t.month(m.month) for m in figures.months]
    chart = ChartLabels(
        title=f"{_('Figures of the cooperation')}: {period_words(t, figures.period)}",
        seats_title=_("Seats per agency"),
        quota=_("Own quota"),
        taken=_("Confirmed"),
        attended=_("Attended"),
        share_title=_("Joint share per month (seats taken by officers of another agency)"),
        share_axis=_("Percent"),
        months=[format_date(m.month, "LLL yy", locale=t.language) for m in figures.months],
        total=_("Total"),
    )
    return ReportLabels(
        title=_("Figures of the cooperation"),
        period=period_words(t, figures.period),
        made=_("Made on {when}.").format(when=t.when(now)),
        scope=scope(t, figures),
        agency=_("Agency"),
        name=_("Name"),
        total=_("Total"),
        rows={row: _(heading) for row, heading in ROW_HEADINGS.items()},
        share=lambda value: share(t, value),
        number=lambda value: share_number(t, value),
        month=_("Month"),
        month_confirmed=_("Confirmed"),
        month_joint=_("taken by other agencies"),
        month_names=months,
        notes_title=_("What the figures count"),
        notes=[_(note) for note in NOTES],
        page=_("Page {page} of {pages}"),
        chart=chart,
    )


def table(t: Texts, figures: Figures, now: datetime) -> str:
    """/statistik: the period, whose courses, and the table (a row per figure, a column per
    agency and the sum), monospaced."""
    rows = table_rows(figures, labels(t, figures, now))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]
    _ = t.gettext
    title, period = _("Figures of the cooperation"), period_words(t, figures.period)
    head = f"<b>{escape(title)}</b>\n{escape(period)}"
    files = _("The chart and the table as a CSV file come in messages of their own.")
    return (
        f"{head}\n{escape(scope(t, figures))}\n\n<pre>{escape(chr(10).join(lines))}</pre>\n{files}"
    )


def period_refused(t: Texts, error: PeriodInvalid, *, examples: bool = True) -> str:
    """A period that cannot be read, and how to write one (``examples``: in chat)."""
    _ = t.gettext
    given = escape(error.given)
    reason = {
        PeriodReason.BAD_QUARTER: _("“{given}”: a year has the quarters Q1 to Q4."),
        PeriodReason.BAD_DATE: _("“{given}” is not a day in the calendar (years 2000 to 2999)."),
        PeriodReason.BACKWARDS: _("The period ends before it begins: {given}."),
        PeriodReason.TOO_LONG: _("A period may be at most {given} years long."),
    }.get(PeriodReason(error.reason), _("“{given}” is not a period."))
    if not examples:
        return reason.format(given=error.given)
    hint = _(
        "For example: /stats 2027, /stats Q1 2027, /stats 03.2027, "
        "/stats 01.01.2027-30.06.2027; /stats alone shows the current quarter."
    )
    return f"{reason.format(given=given)} {hint}"


def not_allowed(t: Texts) -> str:
    """/statistik or /bericht from someone who is neither admin nor course lead."""
    return t.gettext(
        "The figures are for admins (all courses) and course leads (their own courses)."
    )


def report_name(t: Texts, period: Period) -> str:
    """The report's file name: bericht-2027-01-01-2027-03-31.pdf (report-… in English)."""
    stem = t.gettext("report")
    return f"{stem}-{period.first.isoformat()}-{period.last.isoformat()}.pdf"


def file_name(t: Texts, period: Period, suffix: str) -> str:
    """The chart's or the CSV's file name: zahlen-2027-01-01-2027-03-31.csv (figures-… in
    English)."""
    stem = t.gettext("figures")
    return f"{stem}-{period.first.isoformat()}-{period.last.isoformat()}.{suffix}"
