"""Texts of certificates of attendance (issue 18): the document's wording, the messages that
bring it, `/bescheinigung`, `/pruefen` and the closing of attendance."""

from __future__ import annotations

from html import escape

from babel.dates import format_date

from bot import commands
from bot.i18n import Texts
from kurse.certificates import Closing, CourseNotOver, Issued, Verification, format_code
from kurse.clock import BERLIN
from kurse.errors import DomainError
from kurse.exports import CertificateLabels
from kurse.models import Certificate, Course


def labels(t: Texts, issued: Issued) -> CertificateLabels:
    """What the certificate prints, in ``t``'s language (the holder's)."""
    _ = t.gettext
    c, course = issued.certificate, issued.course
    hours = c.minutes / 60
    names = [a.name for a in issued.cooperation] or [issued.agency.name]
    together = (
        names[0]
        if len(names) == 1
        else _("{names} and {last}").format(names=", ".join(names[:-1]), last=names[-1])
    )
    code = format_code(c.verification)
    verify = commands.name("pruefen", t.language)
    return CertificateLabels(
        heading=_("Certificate of attendance"),
        certify=_("This is to certify that"),
        holder=f"{c.holder_rank} {c.holder_name}" if c.holder_rank else c.holder_name,
        agency=f"{issued.agency.name} ({issued.agency.code})",
        took_part=_("attended the joint training course"),
        course=f"{course.title} ({course.code})",
        days=tuple(t.span(d.start_at, d.end_at) for d in issued.days),
        total=t.ngettext(
            "Present on {present} of {total} course day, {hours} hours in all.",
            "Present on {present} of {total} course days, {hours} hours in all.",
            c.days_total,
        ).format(present=c.days_present, total=c.days_total, hours=_hours(t, hours)),
        place=_("Place: {place}").format(place=course.location),
        lead=_("Course lead: {name}").format(name=c.lead_name) if c.lead_name else "",
        cooperation=_("A joint course of {agencies}.").format(agencies=together),
        issued=_("Issued on {date}").format(date=issue_date(t, c)),
        serial=_("Serial number: {serial}").format(serial=c.serial),
        verification=_(
            "Verification code: {code} (course leads and training offices check it in Kursbot "
            "with /{command} {code})"
        ).format(code=code, command=verify),
        title=f"{_('Certificate of attendance')} {c.serial}",
    )


def issue_date(t: Texts, certificate: Certificate) -> str:
    """The day of issue in Berlin, in words: "10. Februar 2027"."""
    day = certificate.issued_at.astimezone(BERLIN).date()
    return format_date(day, "long", locale=t.language)


def _hours(t: Texts, hours: float) -> str:
    text = f"{hours:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if t.language == "de" else text


def delivered(t: Texts, course: Course) -> str:
    """The caption of the message that brings a certificate."""
    return t.gettext(
        "🎓 Your certificate of attendance for <b>{title}</b> ({code}). /certificates sends it "
        "again at any time."
    ).format(title=escape(course.title), code=escape(course.code))


def closed(t: Texts, closing: Closing) -> str:
    """/anwesenheit_abschliessen done."""
    _ = t.gettext
    head = (
        _("The attendance of {code} was closed before.")
        if closing.already
        else _("The attendance of {code} is closed.")
    ).format(code=escape(closing.course.code))
    issued = t.ngettext(
        "{n} certificate of attendance is being sent.",
        "{n} certificates of attendance are being sent.",
        closing.issued,
    ).format(n=closing.issued)
    return f"{head} {issued} " + _(
        "Changes until the lock (7 days after the end) replace the certificates they concern."
    )


def mine(t: Texts, found: list[tuple[Certificate, Course]]) -> str:
    """/bescheinigung: the officer's certificates (a button each sends the PDF)."""
    if not found:
        return t.gettext("You have no certificates of attendance yet.")
    return t.gettext("Your certificates of attendance; press one to get it as a PDF:")


def button(t: Texts, certificate: Certificate, course: Course) -> str:
    """A certificate's button under /bescheinigung."""
    return f"{issue_date(t, certificate)} · {course.title}"[:60]


def verification(t: Texts, found: Verification) -> str:
    """/pruefen CODE: genuine (for whom), revoked (and its replacement), or unknown."""
    _ = t.gettext
    if found.issued is None:
        return _("❌ No certificate has this verification code. It is not genuine.")
    c, course = found.issued.certificate, found.issued.course
    holder = f"{c.holder_rank} {c.holder_name}" if c.holder_rank else c.holder_name
    details = _(
        "{holder} ({agency}), {title} ({code}), issued on {date}, serial number {serial}"
    ).format(
        holder=escape(holder),
        agency=escape(found.issued.agency.code),
        title=escape(course.title),
        code=escape(course.code),
        date=issue_date(t, c),
        serial=escape(c.serial),
    )
    if c.revoked_at is None:
        return _("✅ Genuine: {details}.").format(details=details)
    text = _("⚠️ Revoked on {date}, as the attendance was changed afterwards: {details}.").format(
        date=t.day(c.revoked_at.astimezone(BERLIN).date()), details=details
    )
    if found.replaced_by is not None:
        text += " " + _("It was replaced by {serial}.").format(
            serial=escape(found.replaced_by.serial)
        )
    return text


def refusal(t: Texts, error: DomainError) -> str | None:
    """The words for a certificate error, or None."""
    if isinstance(error, CourseNotOver):
        return t.gettext(
            "The attendance can be closed once the course's last day has ended ({end})."
        ).format(end=t.when(error.end_at))
    return None


def usage(t: Texts, command: str) -> str:
    """How /pruefen and /anwesenheit_abschliessen are written."""
    example = "ABCDE-FGHJK" if command == "pruefen" else "K-2027-001"
    return t.gettext("Please write it like this: {example}").format(
        example=f"/{commands.name(command, t.language)} {example}"
    )
