"""Texts of operations for admins: the audit log (page and CSV rows) and /status."""

from __future__ import annotations

from datetime import datetime
from html import escape

from bot.i18n import Texts, _
from bot.render import truncate
from kurse.audit import DELETED, Change, LogLine, LogPage
from kurse.clock import BERLIN
from kurse.forms import KEYS
from kurse.operations import Status

ACTIONS = {
    "course_created": _("course created"),
    "course_edited": _("course changed"),
    "course_cancelled": _("course cancelled"),
    "quotas_set": _("seats changed"),
    "admin_granted": _("admin rights given"),
    "admin_revoked": _("admin rights taken back"),
    "agency_created": _("agency created"),
    "access_code_rotated": _("access code renewed"),
    "approval_switched": _("approval of sign-ups switched"),
    "approver_appointed": _("approver appointed"),
    "approver_removed": _("approver removed"),
    "approval_approved": _("sign-up approved"),
    "approval_refused": _("sign-up not approved"),
    "approval_expired": _("approval not decided in time"),
}


def status(t: Texts, state: Status) -> str:
    """/status in sentences: the planned work and when it next falls due, the messages waiting
    and failed (each failure with its reason), the anonymisations done and the next one."""
    _ = t.gettext
    tasks = state.pending_tasks
    if state.next_due is not None:
        planned = t.ngettext(
            "{n} reminder, list or other timed task planned, the next falling due on {when}.",
            "{n} reminders, lists and other timed tasks planned, the next falling due on {when}.",
            tasks,
        ).format(n=tasks, when=t.when(state.next_due))
    else:
        planned = t.ngettext(
            "{n} reminder, list or other timed task planned.",
            "{n} reminders, lists and other timed tasks planned.",
            tasks,
        ).format(n=tasks)
    waiting = state.pending_messages
    messages = t.ngettext(
        "{n} message waiting to be sent; {failed} failed.",
        "{n} messages waiting to be sent; {failed} failed.",
        waiting,
    ).format(n=waiting, failed=len(state.failed))
    done = state.anonymised_courses
    anonymised = t.ngettext(
        "{n} course anonymised after the retention period.",
        "{n} courses anonymised after the retention period.",
        done,
    ).format(n=done)
    if state.next_anonymisation:
        code, when = state.next_anonymisation
        anonymised += " " + _("The next: {code} on {when}.").format(
            code=escape(code), when=t.when(when)
        )
    lines = [_("<b>Status</b>"), planned, messages, anonymised]
    lines += [f"• {escape(key)}: {escape(error or '')}" for key, error in state.failed]
    return "\n".join(lines)


def audit_log(t: Texts, page: LogPage) -> str:
    """/protokoll: a page of the log as a training office reads it: Berlin time, who, what,
    which course, and each change as "Beginn: 12.03.2027 09:00 → 19.03.2027 09:00"."""
    _ = t.gettext
    if not page.lines:
        return _("The audit log is empty.")
    head = _("<b>Audit log</b> (newest first, page {page} of {pages})").format(
        page=page.page + 1, pages=page.pages
    )
    blocks = [head]
    for line in page.lines:
        what = _(ACTIONS.get(line.action, line.action))
        text = f"{t.short_with_year(line.at)} · {escape(audit_actor(t, line))} · {what}"
        if line.course_code:
            text += f" · {escape(line.course_code)} {escape(line.course_title or '')}"
        if line.subject:
            text += f" · {escape(line.subject)}"
        for change in line.changes:
            if not change.had_before and change.after in (None, "", {}):
                continue  # a field left empty when the course was created
            text += "\n    " + escape(audit_change(t, change))
        blocks.append(text)
    return truncate("\n\n".join(blocks))


def audit_actor(t: Texts, line: LogLine) -> str:
    """Who did it, in words."""
    if line.who_kind == "person" and line.who:
        return line.who
    if line.who_kind == "deleted":
        return t.gettext("a person whose data was deleted")
    if line.who_kind == "telegram":
        return t.gettext("admin from the settings (id {id})").format(id=line.who_telegram_id)
    return t.gettext("Kursbot itself")  # timed work (release, retention), the demo, the CLI


_AUDIT_FIELDS = {
    "is_admin": _("admin role"),
    "status": _("status"),
    "reason": _("reason"),
    "code": _("code"),
    "name": _("name"),
    "agency": _("agency"),
    "promoted": _("moved up"),
    "demoted": _("moved back to the waiting list"),
}


_FORM_FIELD = {"lead_id": "lead"}


def audit_change(t: Texts, change: Change) -> str:
    """One change: "Label: before → after", or "Label: value" where there was none."""
    name = _FORM_FIELD.get(change.field, change.field)
    if name in KEYS:
        key = KEYS[name][0 if t.language == "de" else 1]
        label = key[0].upper() + key[1:]
    else:
        label = t.gettext(_AUDIT_FIELDS.get(name, name))
    after = _audit_value(t, change.after)
    if not change.had_before:
        return f"{label}: {after}"
    return f"{label}: {_audit_value(t, change.before)} → {after}"


def _audit_value(t: Texts, value: object) -> str:
    if value is None:
        return "–"
    if value == DELETED:
        return t.gettext("deleted person")
    if isinstance(value, bool):
        return t.gettext("yes") if value else t.gettext("no")
    if isinstance(value, datetime):
        return value.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    text = str(value)
    return text if len(text) <= 80 else text[:79] + "…"


def audit_csv_rows(t: Texts, lines: list[LogLine]) -> list[list[str]]:
    """The log as table rows (one per change), for the CSV file."""
    _ = t.gettext
    rows = [[_("time"), _("who"), _("action"), _("course"), _("title"), _("change")]]
    for line in lines:
        base = [
            line.at.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M"),
            audit_actor(t, line),
            _(ACTIONS.get(line.action, line.action)),
            line.course_code or "",
            line.course_title or "",
        ]
        changes = [audit_change(t, c) for c in line.changes] or [""]
        rows += [[*base, change] for change in changes]
    return rows
