"""Handlers for the staff audience: /report, /my, /complain, the fix verdict and the rating.

Commands: /report (dialog "report"), /my (open tickets with their deadlines, paged),
/complain (dialog "complain"). A staff member's plain sentence is offered as a report.
Buttons (callback action: arguments):

- `smy:page`: page of /my, edited in place
- `smc:page`: the tickets closed in the last 30 days, edited in place
- `sfx:ticket:cycle:1|0`: the fix is confirmed / rejected (second visit)
- `srt:ticket:cycle:score`: the 1-5 satisfaction score
- `scm:ticket:cycle`: "Comment first", opens dialog "rate"
- `sfu:ticket:score:index:value`: optional follow-up answers (value 0 skips the rest)
- `scn:consent:ticket:1|0`: data backed up / do not proceed
- `cpc:complaint`, `cpa:complaint`: a manager confirms / answers a complaint

What the reporter is told about their tickets is rendered in `bot.notifications.reporter`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.callback_ids import (
    CLOSED_ACTION,
    COMMENT_ACTION,
    COMPLAINT_ANSWER_ACTION,
    COMPLAINT_CONFIRM_ACTION,
    CONSENT_ACTION,
    FOLLOW_UP_ACTION,
    MY_ACTION,
    SCORE_ACTION,
    TICKET_ACTION,
    VERDICT_ACTION,
)
from bot.callbacks import Callback
from bot.cards import deadlines_line
from bot.chat import BadRequest, InlineKeyboard, Kind
from bot.context import Ctx
from bot.dialogs.complain import (
    COMPLAIN_DIALOG,
    ComplainDialog,
    manager_keyboard,
    manager_text,
)
from bot.dialogs.complaint_answer import ANSWER_DIALOG, ComplaintAnswerDialog
from bot.dialogs.rate import (
    RATE_DIALOG,
    SKIP,
    RateDialog,
    ask_score_text,
    follow_up_keyboard,
    follow_up_question,
    rated_text,
    score_keyboard,
    status_line,
)
from bot.dialogs.report import REPORT_DIALOG, ReportDialog
from bot.i18n import N_
from bot.labels import ASSET_KIND, STATUS, label
from bot.router import Router
from core.enums import FOLLOW_UP_DIMENSIONS, ComplaintStatus, Role, TicketStatus
from core.errors import Conflict, IllegalTransition
from core.views import TicketCard

log = logging.getLogger(__name__)

PAGE_SIZE = 8
OPEN_PER_ROW = 5
CLOSED_DAYS = 30
REGISTERED = frozenset(Role)
COMPLAINT_HANDLERS = frozenset({Role.MANAGER, Role.ADMIN})
FEEDBACK_THANKS = N_("Thank you for your feedback!")
BACKUP_CONFIRMED = N_(
    "💾 <b>Ticket #{ticket}</b>: you confirmed your data is backed up ({time}). "
    "The engineer may proceed."
)


async def _edit(ctx: Ctx, text: str, keyboard: InlineKeyboard | None = None) -> None:
    """Edit the pressed message in place.

    A double tap delivers the same press twice; the second edit may find the message
    already showing this, which Telegram refuses ("message is not modified"). That is
    no failure of the press, so it must not turn into an apology.
    """
    try:
        await ctx.edit(text, keyboard)
    except BadRequest:
        log.warning("edit refused for update %s", ctx.incoming.update_id, exc_info=True)


# --- commands -------------------------------------------------------------------------------


async def report(ctx: Ctx) -> None:
    """Start the fault report."""
    await ctx.start_dialog(REPORT_DIALOG)


async def complain(ctx: Ctx) -> None:
    """Start a complaint."""
    await ctx.start_dialog(COMPLAIN_DIALOG)


async def my_tickets(ctx: Ctx) -> None:
    """The reporter's open tickets, first page."""
    cards = await ctx.app.helpdesk.tickets.open_for_reporter(ctx.person_id)
    text, keyboard = my_page(ctx, cards, 0)
    await ctx.say(text, keyboard)


async def my_tickets_page(ctx: Ctx, callback: Callback) -> None:
    """Another page of /my, in place."""
    cards = await ctx.app.helpdesk.tickets.open_for_reporter(ctx.person_id)
    text, keyboard = my_page(ctx, cards, callback.int_arg(0))
    await ctx.answer()
    await _edit(ctx, text, keyboard)


def my_page(ctx: Ctx, cards: Sequence[TicketCard], page: int) -> tuple[str, InlineKeyboard | None]:
    """One page of open tickets with their running deadlines: a button per ticket (its
    timeline), Prev/Next, and the tickets closed in the last 30 days."""
    closed = [ctx.button(ctx._("🗂 Closed in the last 30 days"), CLOSED_ACTION, 0)]
    if not cards:
        return ctx._(
            "You have no open tickets. Send /report to report a fault."
        ), InlineKeyboard.of(closed)
    pages = (len(cards) + PAGE_SIZE - 1) // PAGE_SIZE
    page = min(max(page, 0), pages - 1)
    header = ctx._("📋 <b>Your open tickets</b> ({n})", n=len(cards))
    if pages > 1:
        header += " · " + ctx._("page {page}/{pages}", page=page + 1, pages=pages)
    blocks = [header]
    shown = cards[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    for card in shown:
        blocks.append(ticket_block(ctx, card))
    blocks.append(
        ctx._("Tap a number for the ticket's history, to write to the engineer or to withdraw it.")
    )
    buttons = []
    if page > 0:
        buttons.append(ctx.button(ctx._("◀ Prev"), MY_ACTION, page - 1))
    if page < pages - 1:
        buttons.append(ctx.button(ctx._("Next ▶"), MY_ACTION, page + 1))
    opens = [ctx.button(f"#{card.id}", TICKET_ACTION, card.id) for card in shown]
    rows = [opens[i : i + OPEN_PER_ROW] for i in range(0, len(opens), OPEN_PER_ROW)]
    return "\n\n".join(blocks), InlineKeyboard.of(*rows, buttons, closed)


async def closed_tickets(ctx: Ctx, callback: Callback) -> None:
    """🗂 The reporter's tickets closed or cancelled in the last 30 days, in place."""
    cards = await ctx.app.helpdesk.tickets.closed_for_reporter(ctx.person_id, days=CLOSED_DAYS)
    text, keyboard = closed_page(ctx, cards, callback.int_arg(0))
    await ctx.answer()
    await _edit(ctx, text, keyboard)


def closed_page(ctx: Ctx, cards: Sequence[TicketCard], page: int) -> tuple[str, InlineKeyboard]:
    """One page of closed tickets, a button per ticket, Prev/Next, and back to the open ones."""
    back = [ctx.button(ctx._("📋 Open tickets"), MY_ACTION, 0)]
    if not cards:
        return ctx._("No ticket of yours was closed in the last 30 days."), InlineKeyboard.of(back)
    pages = (len(cards) + PAGE_SIZE - 1) // PAGE_SIZE
    page = min(max(page, 0), pages - 1)
    header = ctx._("🗂 <b>Closed in the last 30 days</b> ({n})", n=len(cards))
    if pages > 1:
        header += " · " + ctx._("page {page}/{pages}", page=page + 1, pages=pages)
    shown = cards[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    blocks = [header, *(closed_block(ctx, card) for card in shown)]
    nav = []
    if page > 0:
        nav.append(ctx.button(ctx._("◀ Prev"), CLOSED_ACTION, page - 1))
    if page < pages - 1:
        nav.append(ctx.button(ctx._("Next ▶"), CLOSED_ACTION, page + 1))
    opens = [ctx.button(f"#{card.id}", TICKET_ACTION, card.id) for card in shown]
    rows = [opens[i : i + OPEN_PER_ROW] for i in range(0, len(opens), OPEN_PER_ROW)]
    return "\n\n".join(blocks), InlineKeyboard.of(*rows, nav, back)


def closed_block(s: Ctx, card: TicketCard) -> str:
    """A closed ticket in a list: number, how it ended, device, symptom."""
    symptom = " ".join(card.symptom.split())
    symptom = symptom if len(symptom) <= 80 else symptom[:79] + "…"
    device = label(s.t, ASSET_KIND, card.asset_kind) if card.asset_kind else "—"
    return "\n".join(
        [
            s._(
                "<b>#{ticket}</b> · {status} · {device}",
                ticket=card.id,
                status=label(s.t, STATUS, card.status),
                device=device,
            ),
            s._("<i>{symptom}</i>", symptom=symptom),
        ]
    )


async def offer_report(ctx: Ctx) -> bool:
    """A staff member who just types what is wrong is offered to report it, text and all."""
    if ctx.role is not Role.STAFF or ctx.incoming.kind is not Kind.TEXT:
        return False
    text = ctx.incoming.text.strip()
    if not any(ch.isalpha() for ch in text):
        return False  # digits or signs alone ("13800000001", "?") describe no fault
    await ctx.start_dialog(REPORT_DIALOG, symptom=text)
    return True


def ticket_block(s: Ctx, card: TicketCard) -> str:
    """A ticket in a list: number, state, device, symptom, deadlines."""
    device = " · ".join(
        part
        for part in (
            label(s.t, ASSET_KIND, card.asset_kind) if card.asset_kind else "",
            card.location[:60],
        )
        if part
    )
    symptom = " ".join(card.symptom.split())
    symptom = symptom if len(symptom) <= 80 else symptom[:79] + "…"
    return "\n".join(
        [
            s._(
                "<b>#{ticket}</b> · {status} · {device}",
                ticket=card.id,
                status=label(s.t, STATUS, card.status),
                device=device or "—",
            ),
            s._("<i>{symptom}</i>", symptom=symptom),
            deadlines_line(s.t, s.tz, card),
        ]
    )


# --- the fix verdict and the rating ----------------------------------------------------------


async def _out_of_date(ctx: Ctx, card: TicketCard) -> None:
    """Settle a message whose button no longer applies, and say why."""
    await _edit(
        ctx,
        ctx._(
            "<b>Ticket #{ticket}</b> is now: {status}.",
            ticket=card.id,
            status=label(ctx.t, STATUS, card.status),
        ),
    )
    await ctx.answer(
        ctx._(
            "This button is out of date: ticket #{ticket} is {status}.",
            ticket=card.id,
            status=label(ctx.t, STATUS, card.status),
        ),
        alert=True,
    )


async def _settle(ctx: Ctx, ticket_id: int) -> None:
    """After a refused press, show where the ticket stands instead of live buttons."""
    card = await ctx.app.helpdesk.tickets.card(ticket_id)
    await _edit(
        ctx,
        ctx._(
            "<b>Ticket #{ticket}</b> is now: {status}.",
            ticket=card.id,
            status=label(ctx.t, STATUS, card.status),
        ),
    )


async def verdict(ctx: Ctx, callback: Callback) -> None:
    """Fixed: ask for the score. Not fixed: the core reopens the ticket for a second visit."""
    ticket_id, cycle, fixed = callback.int_arg(0), callback.int_arg(1), callback.int_arg(2) == 1
    tickets = ctx.app.helpdesk.tickets
    card = await tickets.card(ticket_id)
    if card.cycle != cycle or card.status is not TicketStatus.RESOLVED:
        await _out_of_date(ctx, card)
        return
    try:
        # The service answers with the ticket as it wrote it: no second read for its status.
        after = await tickets.confirm_fix(ticket_id, actor_id=ctx.person_id, confirmed=fixed)
    except Conflict as error:
        # A second tap of "Fixed": the message already asks for the score; keep it.
        if error.code != "ticket.fix_already_confirmed":
            await _settle(ctx, ticket_id)
        raise
    except IllegalTransition:
        await _settle(ctx, ticket_id)
        raise
    await ctx.answer()
    if fixed and after.status is TicketStatus.CLOSED:
        # Rated already (a dispatcher may rate on the reporter's behalf): nothing to ask.
        await _edit(
            ctx,
            ctx._("Thank you for confirming the fix.") + "\n" + status_line(ctx, after.status),
        )
        return
    if fixed:
        await _edit(
            ctx,
            ctx._("Thank you for confirming the fix.") + "\n" + ask_score_text(ctx, ticket_id),
            score_keyboard(ctx, ticket_id, cycle),
        )
        return
    await _edit(
        ctx,
        ctx._(
            "❌ <b>Ticket #{ticket}</b>: sorry it is not fixed. A second visit is being arranged "
            "and the manager has been told.",
            ticket=ticket_id,
        ),
    )


async def score(ctx: Ctx, callback: Callback) -> None:
    """Record the score at once (the KPI and a second visit depend on it), then offer the follow-up."""
    ticket_id, cycle, value = callback.int_arg(0), callback.int_arg(1), callback.int_arg(2)
    tickets = ctx.app.helpdesk.tickets
    card = await tickets.card(ticket_id)
    if card.cycle != cycle:
        await _out_of_date(ctx, card)
        return
    state = await ctx.dialog_state()
    if state is not None and state.dialog == RATE_DIALOG:
        # Scored here instead of after the comment: that comment dialog is over.
        await ctx.app.conversations.clear(ctx.chat_id, ctx.incoming.user.id)
    try:
        after = await tickets.rate(ticket_id, actor_id=ctx.person_id, score=value)
    except (Conflict, IllegalTransition):
        await _settle(ctx, ticket_id)
        raise
    await ctx.answer()
    await _edit(
        ctx,
        rated_text(ctx, ticket_id, value)
        + "\n"
        + status_line(ctx, after.status)
        + "\n\n"
        + follow_up_question(ctx, 0),
        follow_up_keyboard(ctx, ticket_id, value, 0),
    )


async def comment_first(ctx: Ctx, callback: Callback) -> None:
    """Open the comment dialog; the score is chosen after the comment."""
    ticket_id, cycle = callback.int_arg(0), callback.int_arg(1)
    card = await ctx.app.helpdesk.tickets.card(ticket_id)
    if card.cycle != cycle or card.status is not TicketStatus.RESOLVED:
        await _out_of_date(ctx, card)
        return
    state = await ctx.dialog_state()
    if state is not None and state.dialog != RATE_DIALOG:
        await ctx.answer(
            ctx._("Please finish what you are doing first, or send /cancel."), alert=True
        )
        return
    await ctx.answer()
    await ctx.start_dialog(
        RATE_DIALOG, ticket_id=ticket_id, cycle=cycle, origin=ctx.incoming.message_id
    )


async def follow_up(ctx: Ctx, callback: Callback) -> None:
    """Store one follow-up answer and ask the next, or finish."""
    ticket_id, value_score = callback.int_arg(0), callback.int_arg(1)
    index, value = callback.int_arg(2), callback.int_arg(3)
    if not 0 <= index < len(FOLLOW_UP_DIMENSIONS):
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    if value != SKIP:
        await ctx.app.helpdesk.tickets.set_follow_up(
            ticket_id, actor_id=ctx.person_id, dimensions={FOLLOW_UP_DIMENSIONS[index]: value}
        )
    await ctx.answer()
    done = rated_text(ctx, ticket_id, value_score)
    following = index + 1
    if value != SKIP and following < len(FOLLOW_UP_DIMENSIONS):
        await _edit(
            ctx,
            done + "\n\n" + follow_up_question(ctx, following),
            follow_up_keyboard(ctx, ticket_id, value_score, following),
        )
        return
    await _edit(ctx, done + "\n" + ctx._(FEEDBACK_THANKS))


# --- data-backup consent ---------------------------------------------------------------------


async def consent(ctx: Ctx, callback: Callback) -> None:
    """Record the reporter's answer to the backup request (the core records who and when)."""
    consent_id, ticket_id, confirmed = (
        callback.int_arg(0),
        callback.int_arg(1),
        callback.int_arg(2) == 1,
    )
    try:
        answered = await ctx.app.helpdesk.tickets.answer_backup_consent(
            consent_id, actor_id=ctx.person_id, confirmed=confirmed
        )
    except Conflict:
        await _edit(
            ctx,
            ctx._(
                "<b>Ticket #{ticket}</b>: this backup request is already answered.",
                ticket=ticket_id,
            ),
        )
        raise
    await ctx.answer()
    if confirmed:
        text = ctx._(BACKUP_CONFIRMED, ticket=ticket_id, time=ctx.when(answered.answered_at))
    else:
        text = ctx._(
            "⛔ <b>Ticket #{ticket}</b>: you asked the engineer not to proceed ({time}). "
            "They will talk to you first.",
            ticket=ticket_id,
            time=ctx.when(answered.answered_at),
        )
    await _edit(ctx, text)


# --- complaints: the managers' buttons -------------------------------------------------------


async def complaint_confirm(ctx: Ctx, callback: Callback) -> None:
    """A manager confirms receipt; the message keeps only the Answer button."""
    complaints = ctx.app.helpdesk.complaints
    complaint_id = callback.int_arg(0)
    current = await complaints.get(complaint_id)
    if current.status is not ComplaintStatus.RECEIVED:
        await _edit(ctx, manager_text(ctx, current), manager_keyboard(ctx, current))
        await ctx.answer(ctx._("This complaint is already confirmed."), alert=True)
        return
    try:
        view = await complaints.confirm(complaint_id, actor_id=ctx.person_id)
    except Conflict:
        view = await complaints.get(complaint_id)
        await _edit(ctx, manager_text(ctx, view), manager_keyboard(ctx, view))
        raise
    await ctx.answer(ctx._("Confirmed. The reporter is told."))
    await _edit(ctx, manager_text(ctx, view), manager_keyboard(ctx, view))


async def complaint_answer(ctx: Ctx, callback: Callback) -> None:
    """A manager starts answering a complaint."""
    complaints = ctx.app.helpdesk.complaints
    complaint_id = callback.int_arg(0)
    view = await complaints.get(complaint_id)
    if view.answered:
        await _edit(ctx, manager_text(ctx, view))
        await ctx.answer(ctx._("This complaint is already answered."), alert=True)
        return
    await ctx.answer()
    await ctx.start_dialog(ANSWER_DIALOG, complaint_id=complaint_id, origin=ctx.incoming.message_id)


def register(router: Router) -> None:
    """Add this audience's commands, buttons, dialogs and message renderers."""
    router.command("report", description=N_("Report a broken device"))(report)
    router.command("my", description=N_("Your open tickets"))(my_tickets)
    router.command("complain", description=N_("Make a complaint"))(complain)
    router.callback(MY_ACTION, roles=REGISTERED)(my_tickets_page)
    router.callback(CLOSED_ACTION, roles=REGISTERED)(closed_tickets)
    router.fallback(offer_report)
    router.callback(VERDICT_ACTION, roles=REGISTERED)(verdict)
    router.callback(SCORE_ACTION, roles=REGISTERED)(score)
    router.callback(COMMENT_ACTION, roles=REGISTERED)(comment_first)
    router.callback(FOLLOW_UP_ACTION, roles=REGISTERED)(follow_up)
    router.callback(CONSENT_ACTION, roles=REGISTERED)(consent)
    router.callback(COMPLAINT_CONFIRM_ACTION, roles=COMPLAINT_HANDLERS)(complaint_confirm)
    router.callback(COMPLAINT_ANSWER_ACTION, roles=COMPLAINT_HANDLERS)(complaint_answer)
    for dialog in (ReportDialog(), RateDialog(), ComplainDialog(), ComplaintAnswerDialog()):
        router.add_dialog(dialog)
