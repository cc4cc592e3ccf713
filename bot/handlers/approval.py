"""Approval (Genehmigung): admins appoint approvers and switch approval per agency
(/genehmigung_neu, /genehmigung_entfernen, /dienststelle_genehmigung); approvers decide with
the buttons under their messages and /genehmigungen, and refuse with a reason by /ablehnen.

Every button's data is re-checked in the domain (`kurse.approval`): who approves for the
officer's agency, whether the request still waits, whose request it is.
"""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot import jobs, keyboards, render, render_admin, render_approval
from bot.commands import names
from bot.context import KursApplication, KursContext
from bot.handlers.common import answer, args_text, callback_of, refuse, reply, show
from kurse import admin, approval, approvers, people
from kurse.errors import AlreadyDecided, DomainError, NotAllowed, OwnRequest
from kurse.models import id_of

_ON = {"an": True, "ein": True, "on": True, "aus": False, "off": False}


async def new_approver(update: Update, context: KursContext) -> None:
    """/genehmigung_neu <CODE> <id or @username>."""
    await _change_approver(update, context, appoint=True)


async def remove_approver(update: Update, context: KursContext) -> None:
    """/genehmigung_entfernen <CODE> <id or @username>."""
    await _change_approver(update, context, appoint=False)


async def _change_approver(update: Update, context: KursContext, *, appoint: bool) -> None:
    code, _, reference = args_text(update).strip().partition(" ")
    if not code or not reference.strip():
        command = "genehmigung_neu" if appoint else "genehmigung_entfernen"
        await reply(update, render_admin.usage(context.texts, command))
        return
    try:
        agency, person, changed = await context.services.db.run(
            admin.change_approver,
            code,
            reference.strip(),
            appoint,
            context.services.clock.now(),
            actor=context.actor,
        )
    except DomainError as error:
        await refuse(update, context, error)
        return
    text = render_approval.approver_changed(context.texts, agency, person, appoint, changed)
    await reply(update, text)


async def switch_approval(update: Update, context: KursContext) -> None:
    """/dienststelle_genehmigung <CODE> an|aus."""
    code, _, value = args_text(update).strip().partition(" ")
    if not code:
        await reply(update, render_admin.usage(context.texts, "dienststelle_genehmigung"))
        return
    on = _ON.get(value.strip().lower())
    if on is None:
        await reply(update, render_approval.bad_switch(context.texts))
        return
    db, now = context.services.db, context.services.clock.now()
    try:
        agency = await db.run(admin.set_approval, code, on, now, actor=context.actor)
    except DomainError as error:
        await refuse(update, context, error)
        return
    deciders = await db.read(approvers.approvers_of, [id_of(agency)])
    text = render_approval.approval_switched(context.texts, agency, len(deciders[id_of(agency)]))
    await reply(update, text)


async def waiting(update: Update, context: KursContext) -> None:
    """/genehmigungen: what waits for the approver's agencies, oldest first, with buttons."""
    try:
        text, markup = await _listing(context, None)
    except DomainError as error:
        await reply(update, _refusal(context, error))
        return
    await reply(update, text, markup)


async def refuse_with_reason(update: Update, context: KursContext) -> None:
    """/ablehnen <Nr> <Grund>: refuses one request and tells the officer the reason."""
    number, _, reason = args_text(update).strip().partition(" ")
    if not number.isdigit() or len(number) > 9:
        await reply(update, render_admin.usage(context.texts, "ablehnen"))
        return
    try:
        _, text = await _decide(context, int(number), False, reason.strip() or None)
    except DomainError as error:
        await reply(update, _refusal(context, error))
        return
    await reply(update, text)


async def approve(update: Update, context: KursContext) -> None:
    """Approves the request under the button; the message then shows what still waits."""
    await _press(update, context, approve=True)


async def refuse_without_reason(update: Update, context: KursContext) -> None:
    """Refuses the request (confirmed, without a reason); the message shows what still waits."""
    await _press(update, context, approve=False)


async def _press(update: Update, context: KursContext, *, approve: bool) -> None:
    callback = await callback_of(update, context)
    if callback is None:
        return
    assert update.callback_query is not None
    try:
        decision, done = await _decide(context, callback.id, approve, None)
        # The message of one course (page 1) shows what still waits of that course.
        text, markup = await _listing(context, decision.course_id if callback.page else None)
    except DomainError as error:
        await answer(update.callback_query, _refusal(context, error), show_alert=True)
        return
    await answer(update.callback_query, done)
    await show(update, done + "\n\n" + text, markup)


async def _decide(
    context: KursContext, registration_id: int, approve: bool, reason: str | None
) -> tuple[approval.Decision, str]:
    """Decides one request and wakes the timed work (the officer, those moved up and the
    lead are told); returns the decision and what to say about it."""
    db = context.services.db
    decision = await db.run(
        approval.decide,
        registration_id,
        approve,
        context.services.clock.now(),
        actor=context.actor,
        reason=reason,
    )
    jobs.wake(context.application)
    name = None
    if decision.person_id is not None:
        name = (await db.read(people.get_person, decision.person_id)).name
    return decision, render_approval.decided(context.texts, name, approve)


async def ask_refuse(update: Update, context: KursContext) -> None:
    """Asks before a refusal: without a reason by the button, or with one by /ablehnen."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    assert update.callback_query is not None
    t = context.texts
    try:
        found = await context.services.db.read(
            approval.pending, context.services.clock.now(), actor=context.actor, limit=500
        )
    except DomainError as error:
        await answer(update.callback_query, _refusal(context, error), show_alert=True)
        return
    request = next((r for r in found if r.registration_id == callback.id), None)
    if request is None:
        await answer(update.callback_query, render_approval.not_waiting(t), show_alert=True)
        return
    await answer(update.callback_query)
    course_id = id_of(request.course) if callback.page else None
    await show(
        update,
        render_approval.confirm_refuse(t, request),
        keyboards.confirm_refuse(t, callback.id, course_id),
    )


async def approve_all(update: Update, context: KursContext) -> None:
    """Approves every request waiting (of the message's course, or all of /genehmigungen)."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    assert update.callback_query is not None
    course_id = callback.id or None
    try:
        decisions = await context.services.db.run(
            approval.approve_all,
            context.services.clock.now(),
            actor=context.actor,
            course_id=course_id,
        )
        text, markup = await _listing(context, course_id)
    except DomainError as error:
        await answer(update.callback_query, _refusal(context, error), show_alert=True)
        return
    if decisions:
        jobs.wake(context.application)
    done = render_approval.approved_all(context.texts, len(decisions))
    await answer(update.callback_query, done)
    await show(update, done + "\n\n" + text, markup)


async def show_waiting(update: Update, context: KursContext) -> None:
    """Shows the requests waiting again (of one course, or all): "« Back" from a refusal."""
    callback = await callback_of(update, context)
    if callback is None:
        return
    assert update.callback_query is not None
    try:
        text, markup = await _listing(context, callback.id or None)
    except DomainError as error:
        await answer(update.callback_query, _refusal(context, error), show_alert=True)
        return
    await answer(update.callback_query)
    await show(update, text, markup)


async def _listing(
    context: KursContext, course_id: int | None
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The requests waiting for the approver (of one course, or all), with their buttons."""
    found = await context.services.db.read(
        approval.pending, context.services.clock.now(), actor=context.actor, limit=500
    )
    if course_id is not None:
        found = [r for r in found if r.course.id == course_id]
    t = context.texts
    course = found[0].course if found and course_id is not None else None
    return render_approval.pending_list(t, found, course), keyboards.approval_requests(
        t, found, course_id
    )


def _refusal(context: KursContext, error: DomainError) -> str:
    """A refused decision, in words: who decided first, not an approver, one's own request."""
    t = context.texts
    if isinstance(error, AlreadyDecided):
        return render_approval.already_decided(t, error)
    if isinstance(error, NotAllowed):
        return render_approval.not_approver(t)
    if isinstance(error, OwnRequest):
        return render_approval.own_request(t)
    return render.domain_error(t, error)


def register(application: KursApplication) -> None:
    """Adds the approval commands of admins and approvers and the approvers' buttons."""
    for name, callback in (
        ("genehmigung_neu", new_approver),
        ("genehmigung_entfernen", remove_approver),
        ("dienststelle_genehmigung", switch_approval),
        ("genehmigungen", waiting),
        ("ablehnen", refuse_with_reason),
    ):
        application.add_handler(CommandHandler(names(name), callback))
    application.add_handler(CallbackQueryHandler(approve, pattern=r"^ga:"))
    application.add_handler(CallbackQueryHandler(ask_refuse, pattern=r"^gn:"))
    application.add_handler(CallbackQueryHandler(refuse_without_reason, pattern=r"^gny:"))
    application.add_handler(CallbackQueryHandler(approve_all, pattern=r"^gaa:"))
    application.add_handler(CallbackQueryHandler(show_waiting, pattern=r"^gl:"))
