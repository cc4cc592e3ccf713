"""Texts about agencies and their access codes, for admins."""

from __future__ import annotations

from html import escape

from bot.i18n import Texts
from kurse.models import Agency


def agencies_list(t: Texts, agencies: list[Agency]) -> str:
    """/dienststellen."""
    lines = [t.gettext("<b>Agencies</b>")]
    lines += [
        f"{escape(a.code)} – {escape(a.name)}" + (f" ({escape(a.state)})" if a.state else "")
        for a in agencies
    ]
    return "\n".join(lines)


def agency_created(t: Texts, agency: Agency, code: str) -> str:
    """A new agency with its first access code."""
    return t.gettext("Agency {code} ({name}) created. Access code: <code>{access}</code>").format(
        code=escape(agency.code), name=escape(agency.name), access=code
    )


def access_code(t: Texts, agency: Agency, code: str) -> str:
    """/zugangscode."""
    return t.gettext("Access code of {name}: <code>{access}</code>").format(
        name=escape(agency.name), access=code
    )


def confirm_rotate(t: Texts, agency: Agency) -> str:
    """Before a new access code."""
    return t.gettext(
        "Generate a new access code for {name}? The current one stops working at once."
    ).format(name=escape(agency.name))


def rotated(t: Texts, agency: Agency, code: str) -> str:
    """After a new access code."""
    return t.gettext(
        "New access code of {name}: <code>{access}</code>. The old one no longer works."
    ).format(name=escape(agency.name), access=code)
