"""Texts about agencies and their access codes, for admins."""

from __future__ import annotations

from html import escape

from bot import render_approval
from bot.i18n import Texts
from kurse.models import Agency, Person, id_of


def agencies_list(
    t: Texts,
    agencies: list[Agency],
    approvers: dict[int, list[Person]] | None = None,
    no_shows: dict[int, int] | None = None,
) -> str:
    """/dienststellen: each agency, with its no-shows (issue 18) where it has any, whether its
    sign-ups need approval, and its approvers."""
    lines = [t.gettext("<b>Agencies</b>")]
    for a in agencies:
        lines.append(
            f"{escape(a.code)} – {escape(a.name)}"
            + (f" ({escape(a.state)})" if a.state else "")
            + _no_shows(t, (no_shows or {}).get(a.id or 0, 0))
        )
        lines.append(render_approval.agency_approval(t, a, (approvers or {}).get(id_of(a), [])))
    return "\n".join(lines)


def _no_shows(t: Texts, n: int) -> str:
    if not n:
        return ""
    return " · " + t.ngettext("{n} no-show", "{n} no-shows", n).format(n=n)


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
