"""Texts about people and the admin role, for admins."""

from __future__ import annotations

from html import escape

from bot.i18n import Texts
from bot.render_admin import EXAMPLES
from kurse.models import Agency, Person


def admin_changed(t: Texts, person: Person, granted: bool) -> str:
    """/admin_neu and /admin_entfernen."""
    _ = t.gettext
    text = (
        _("{name} now has admin rights.") if granted else _("{name} no longer has admin rights.")
    )
    return text.format(name=escape(person.name))


def last_admin(t: Texts) -> str:
    """The last admin cannot leave."""
    return t.gettext("You are the only person with admin rights and cannot give them up.")


def bootstrap_admin(t: Texts) -> str:
    """An admin set in the settings."""
    return t.gettext(
        "This person's admin rights are set in KURSBOT_ADMIN_IDS; please change them there."
    )


def people_found(
    t: Texts,
    query: str,
    found: list[tuple[Person, Agency]],
    no_shows: dict[int, int] | None = None,
) -> str:
    """/personen, with each person's no-shows (issue 18) where they have any."""
    _ = t.gettext
    if not found:
        return _("Nobody found for “{query}”.").format(query=escape(query))
    lines = [_("<b>People matching “{query}”</b>").format(query=escape(query))]
    for person, agency in found:
        rank = f"{escape(person.rank)} " if person.rank else ""
        admin = " · " + _("admin rights") if person.is_admin else ""
        missed = (no_shows or {}).get(person.id or 0, 0)
        if missed:
            admin += " · " + t.ngettext("{n} no-show", "{n} no-shows", missed).format(n=missed)
        lines.append(
            f"{rank}{escape(person.name)} – {escape(agency.code)}, id {person.telegram_id}{admin}"
        )
    return "\n".join(lines)


def last_admin_deleting(t: Texts) -> str:
    """Added to the /daten_loeschen question of the only admin when none is configured."""
    return t.gettext(
        "⚠️ You are the only person with admin rights. Without you nobody can manage courses "
        "until someone is listed in KURSBOT_ADMIN_IDS. Give someone else admin rights first "
        "with /newadmin."
    )


def query_too_short(t: Texts) -> str:
    """/personen with a single character: why nothing is searched, and how to ask."""
    return t.gettext(
        "Please give at least two characters of a name, or an @username or Telegram id, for "
        "example: {example}"
    ).format(example=escape(t.gettext(EXAMPLES["personen"])))
