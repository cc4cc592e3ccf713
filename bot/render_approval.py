"""Texts of approval (Genehmigung) and offers: for approvers (requests, decisions), for admins
(approvers and the agency switch) and for officers (requested and offered seats, outcomes)."""

from __future__ import annotations

from datetime import datetime
from html import escape

from bot.i18n import Texts
from bot.render import and_more
from kurse.approval import PendingRequest
from kurse.errors import AlreadyDecided, OfferEnded
from kurse.models import Agency, Course, Outcome, Person, RegistrationStatus
from kurse.offers import Answer

# --- approvers ------------------------------------------------------------------------------


def _who(request: PendingRequest) -> str:
    rank = f"{escape(request.rank)} " if request.rank else ""
    return f"{rank}{escape(request.name or '–')} ({escape(request.agency_code)})"


def request_line(t: Texts, request: PendingRequest, *, with_course: bool) -> str:
    """One request: its number (for /ablehnen), the officer, the deadline (and the course)."""
    line = t.gettext("No. {number} · {who} · decision by {deadline}").format(
        number=request.registration_id, who=_who(request), deadline=t.when(request.held_until)
    )
    if with_course:
        course = request.course
        line += f"\n    {escape(course.code)} · {t.short(course.start_at)} · "
        line += escape(course.title[:60])
    return line


def _course_head(t: Texts, course: Course) -> str:
    return f"<b>{escape(course.title)}</b> ({escape(course.code)}), " + t.span(
        course.start_at, course.end_at
    )


MAX_LINES = 25  # requests listed in one message (up to ~150 characters each); then a count


def _more(t: Texts, n: int) -> list[str]:
    return [and_more(t, n - MAX_LINES)] if n > MAX_LINES else []


def _refuse_hint(t: Texts) -> str:
    return t.gettext("To refuse with a reason: /refuse NUMBER reason")


def approval_request(
    t: Texts, course: Course, requests: list[PendingRequest], *, reminder: bool
) -> str:
    """To an approver: new requests of one course (merged within the news window), or the
    reminder at half of the approval time."""
    _ = t.gettext
    head = (
        _(
            "⏰ <b>Reminder:</b> half of the approval time is over. Still waiting for your "
            "decision:"
        )
        if reminder
        else t.ngettext(
            "📝 <b>Approval requested</b>: a sign-up from your agency waits for your decision.",
            "📝 <b>Approval requested</b>: {n} sign-ups from your agency wait for your decision.",
            len(requests),
        ).format(n=len(requests))
    )
    lines = [head, "", _course_head(t, course), ""]
    lines += [request_line(t, r, with_course=False) for r in requests[:MAX_LINES]]
    lines += _more(t, len(requests))
    lines += ["", _refuse_hint(t)]
    return "\n".join(lines)


def pending_list(t: Texts, requests: list[PendingRequest], course: Course | None) -> str:
    """/genehmigungen (``course`` None), or the requests of one course still waiting after a
    decision in its message."""
    _ = t.gettext
    if not requests:
        return _("No request waits for your decision.")
    lines = [_("<b>Waiting for your decision</b> (oldest first)")]
    if course is not None:
        lines.append(_course_head(t, course))
    lines.append("")
    lines += [request_line(t, r, with_course=course is None) for r in requests[:MAX_LINES]]
    lines += _more(t, len(requests))
    lines += ["", _refuse_hint(t)]
    return "\n".join(lines)


def decided(t: Texts, name: str | None, approved: bool) -> str:
    """A decision taken (the button's answer and the first line of the edited message)."""
    _ = t.gettext
    who = name or "–"
    if approved:
        return _("✅ Approved: {name}. The person is told.").format(name=who)
    return _("❌ Refused: {name}. The person is told; the seat is free again.").format(name=who)


def approved_all(t: Texts, n: int) -> str:
    """After "approve all"."""
    if not n:
        return t.gettext("Nothing was waiting for your decision any more.")
    return t.ngettext(
        "✅ {n} request approved. The people are told.",
        "✅ {n} requests approved. The people are told.",
        n,
    ).format(n=n)


def confirm_refuse(t: Texts, request: PendingRequest) -> str:
    """Before a refusal: without a reason here, or with one by /ablehnen."""
    return t.gettext(
        "Refuse the request of {who} for <b>{title}</b>?\n\n"
        "To give the person a reason, send instead:\n/refuse {number} reason"
    ).format(who=_who(request), title=escape(request.course.title), number=request.registration_id)


def not_waiting(t: Texts) -> str:
    """A refusal asked for a request that no longer waits for this approver."""
    return t.gettext(
        "This request no longer waits for your decision. /approvals shows what waits."
    )


def already_decided(t: Texts, error: AlreadyDecided) -> str:
    """A second decision: who decided first, and how."""
    _ = t.gettext
    if error.outcome == Outcome.APPROVED:
        text = _("This request has already been approved")
    elif error.outcome == Outcome.REFUSED:
        text = _("This request has already been refused")
    elif error.outcome == Outcome.APPROVAL_EXPIRED:
        return _("Nobody decided on this request in time; its approval time has run out.")
    elif error.outcome == "withdrawn":
        return _("The person has withdrawn this request.")
    else:
        return _("This request has already been decided.")
    if error.decided_by:
        text += " " + _("by {name}").format(name=error.decided_by)
    if error.at is not None:
        text += " " + _("on {when}").format(when=t.when(error.at))
    return text + "."


def not_approver(t: Texts) -> str:
    """Someone who does not (or no longer) approve for the officer's agency."""
    return t.gettext(
        "Only approvers of the person's own agency decide on this request; you are not one "
        "(any more). Nothing was changed."
    )


def own_request(t: Texts) -> str:
    """An approver's own request."""
    return t.gettext(
        "You cannot decide on your own request; another approver of your agency decides."
    )


def approver_help(t: Texts, agencies: list[str]) -> str:
    """Under /hilfe for an approver: their commands and agencies."""
    return t.gettext(
        "<b>For approvers</b> ({agencies})\n\n"
        "/approvals – the requests waiting for your decision, with buttons\n"
        "/refuse NUMBER reason – refuse a request with a reason"
    ).format(agencies=escape(", ".join(agencies)))


# --- admins ---------------------------------------------------------------------------------


def approver_changed(
    t: Texts, agency: Agency, person: Person, appoint: bool, changed: bool
) -> str:
    """/genehmigung_neu and /genehmigung_entfernen done (or nothing to do)."""
    _ = t.gettext
    if appoint and changed:
        text = _("{name} now decides on the sign-ups of {agency}.")
    elif appoint:
        text = _("{name} already decides on the sign-ups of {agency}.")
    elif changed:
        text = _("{name} no longer decides on the sign-ups of {agency}.")
    else:
        text = _("{name} does not decide on the sign-ups of {agency}.")
    text = text.format(name=escape(person.name), agency=escape(agency.code))
    if appoint and not agency.approval_required:
        text += "\n" + _("Approval is off for {code}: /agencyapproval {code} on").format(
            code=escape(agency.code)
        )
    return text


def approval_switched(t: Texts, agency: Agency, approvers: int) -> str:
    """/dienststelle_genehmigung done."""
    _ = t.gettext
    code = escape(agency.code)
    if not agency.approval_required:
        return _(
            "Sign-ups of {code} need no approval now. Requests already waiting still wait for "
            "a decision."
        ).format(code=code)
    text = _("Sign-ups of {code} now need the approval of an approver of {code}.").format(
        code=code
    )
    if not approvers:
        text += "\n" + no_approver(t, agency)
    return text


def no_approver(t: Texts, agency: Agency) -> str:
    """The warning for an agency with approval on and nobody to decide."""
    return t.gettext(
        "⚠️ {code} has no approver yet: requests would wait until their time runs out. "
        "/newapprover {code} @name"
    ).format(code=escape(agency.code))


def agency_approval(t: Texts, agency: Agency, approvers: list[Person]) -> str:
    """The approval line of an agency in /dienststellen."""
    _ = t.gettext
    names = ", ".join(escape(p.name) for p in approvers)
    if agency.approval_required:
        if not approvers:
            return "    " + _("approval: on – ⚠️ no approver")
        return "    " + _("approval: on – approvers: {names}").format(names=names)
    if approvers:
        return "    " + _("approval: off – approvers: {names}").format(names=names)
    return "    " + _("approval: off")


def bad_switch(t: Texts) -> str:
    """/dienststelle_genehmigung with neither on nor off."""
    return t.gettext("Please write on or off, like this: /agencyapproval PP-OFR on")


# --- officers -------------------------------------------------------------------------------


def _course(t: Texts, course: Course) -> dict[str, str]:
    return {"title": escape(course.title), "when": t.when(course.start_at)}


def approved(t: Texts, course: Course) -> str:
    """To the officer: approved, the seat is theirs (with the calendar file)."""
    return t.gettext(
        "✅ Your agency has approved your sign-up: you are registered for <b>{title}</b> "
        "({when}). If you cannot come, please cancel with /my."
    ).format(**_course(t, course))


def refused(t: Texts, course: Course, reason: str | None) -> str:
    """To the officer: refused, with the approver's reason if any."""
    text = t.gettext(
        "Your agency has not approved your sign-up for <b>{title}</b> ({when}); the seat is "
        "free again."
    ).format(**_course(t, course))
    if reason:
        text += "\n" + t.gettext("Reason: {reason}").format(reason=escape(reason))
    return text


def approval_expired(t: Texts, course: Course) -> str:
    """To the officer: nobody decided in time."""
    return t.gettext(
        "Your agency did not decide on your sign-up for <b>{title}</b> ({when}) in time; the "
        "seat is free again. Please ask your superior or the course lead."
    ).format(**_course(t, course))


def offer(t: Texts, course: Course, until: datetime | None) -> str:
    """To the first in line: a seat offered until a deadline."""
    return t.gettext(
        "🎁 A seat has become free in <b>{title}</b> ({when}) and is offered to you. Please "
        "accept or decline by {deadline}; after that it is offered to the next in line."
    ).format(**_course(t, course), deadline=t.when(until) if until else "–")


def offer_expired(t: Texts, course: Course) -> str:
    """To the officer: the offer ran out unanswered."""
    return t.gettext(
        "Your offer of a seat in <b>{title}</b> ({when}) was not answered in time; the seat "
        "is offered to the next in line."
    ).format(**_course(t, course))


def promoted_requested(t: Texts, course: Course, until: datetime | None) -> str:
    """To an officer moved up into a seat that waits for their agency's approval."""
    return t.gettext(
        "🎉 A seat has become free in <b>{title}</b> ({when}): you have moved up. Your "
        "agency's approval is requested; decision by {deadline}."
    ).format(**_course(t, course), deadline=t.when(until) if until else "–")


def answered(t: Texts, course: Course, answer: Answer) -> str:
    """An offer answered: the message under its buttons says what happened."""
    _ = t.gettext
    if answer.status == RegistrationStatus.CONFIRMED:
        return _(
            "✅ You have accepted: you are registered for <b>{title}</b> ({when}). The "
            "calendar entry comes in a separate message."
        ).format(**_course(t, course))
    if answer.status == RegistrationStatus.REQUESTED:
        return _(
            "📝 You have accepted the seat in <b>{title}</b> ({when}). Your agency's approval "
            "is requested; decision by {deadline}."
        ).format(**_course(t, course), deadline=t.when(answer.held_until or course.start_at))
    return _("You have declined the seat in <b>{title}</b> ({when}).").format(**_course(t, course))


def offer_ended(t: Texts, error: OfferEnded) -> str:
    """A press on an offer that is no longer open (the second press included)."""
    _ = t.gettext
    if error.outcome == Outcome.ACCEPTED:
        return _("You have already accepted this offer.")
    if error.outcome == Outcome.DECLINED:
        return _("You have already declined this offer.")
    if error.outcome == Outcome.OFFER_EXPIRED:
        return _("This offer has run out; the seat is offered to the next in line.")
    return _("This offer is no longer open.")
