"""Engineers and dispatchers: the dispatch card, /queue, pages and the dispatcher's tools.

The dispatch card is the engineer's control panel. Each press calls one core service
and edits the same message to the ticket's new state; presses that need more (decline,
pause, restore, resolve) open a dialog and refresh the card when it ends. A stale
press (the ticket moved on) refreshes the card and says why in the answer.

Callback actions: `ec` card buttons, `qo` open a card, `qp` queue pages, `ep`
acknowledge a page.
"""

from __future__ import annotations

import math

from bot.callbacks import Callback
from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.dialogs.resolve import RESOLVE_DIALOG, ResolveDialog
from bot.dialogs.work import (
    DECLINE_DIALOG,
    PAUSE_DIALOG,
    RESTORE_DIALOG,
    DeclineDialog,
    PauseDialog,
    RestoreDialog,
)
from bot.errors import error_text
from bot.i18n import N_, Translator
from bot.labels import label
from bot.notifications import Notice, RenderCtx
from bot.router import Router
from bot.views import (
    ASSIGN_PREFIX,
    CARD_ACTION,
    DECLINE_REASON,
    LEVEL_PREFIX,
    OPEN_ACTION,
    PAGE_ACK_ACTION,
    ButtonSpec,
    Mode,
    Op,
    Screen,
    Viewer,
    acknowledged_line,
    card_screen_for,
    consent_operation,
    manager_alert_text,
    may_work,
    page_text,
    queue_entry,
    reminder_text,
    rows_of,
    send_screen,
    short,
    show_card,
    show_screen,
    viewer_of,
)
from core.enums import OPEN_STATUSES, Role
from core.errors import Conflict, IllegalTransition, PermissionDenied
from core.lifecycle import Action, allowed_actions
from core.tickets import TicketCard

QUEUE_ACTION = "qp"  # qp:<page>:<fingerprint>
PAGE_SIZE = 5
OPEN_PER_ROW = 5

WORKING_ROLES = frozenset({Role.ENGINEER, Role.DISPATCHER, Role.ADMIN})
QUEUE_ROLES = frozenset({Role.ENGINEER, Role.DISPATCHER, Role.MANAGER, Role.ADMIN})
REGISTERED = frozenset(Role)

# Buttons whose work needs more than a press: the dialog, and the move it leads to.
DIALOG_OPS: dict[Op, tuple[str, Action]] = {
    Op.DECLINE: (DECLINE_DIALOG, Action.DECLINE),
    Op.PAUSE: (PAUSE_DIALOG, Action.PAUSE),
    Op.RESTORE: (RESTORE_DIALOG, Action.RESTORE),
    Op.RESOLVE: (RESOLVE_DIALOG, Action.RESOLVE),
    Op.REMOTE: (RESOLVE_DIALOG, Action.RESOLVE_REMOTELY),
}


# --- the card ----------------------------------------------------------------------------------


def _ensure_may_work(viewer: Viewer, card: TicketCard, action: Action | None) -> None:
    """Refuse before a dialog starts what the core would refuse at its end."""
    if action is Action.DECLINE:
        if viewer.person_id != card.assignee_id:
            raise PermissionDenied(action="decline", ticket_id=card.id)
    elif not may_work(viewer, card):
        raise PermissionDenied(action="work_ticket", ticket_id=card.id)
    if action is not None and action not in allowed_actions(card.status):
        raise IllegalTransition(action=action.value, status=card.status.value, ticket_id=card.id)


def _ensure_dispatcher(viewer: Viewer, card: TicketCard) -> None:
    if not viewer.dispatches:
        raise PermissionDenied(action="dispatch", ticket_id=card.id)
    if card.status not in OPEN_STATUSES:
        raise Conflict("ticket.closed", ticket_id=card.id)


async def card_button(ctx: Ctx, callback: Callback) -> None:
    """One press on a card: act, then show the card's new state in the same message."""
    try:
        ticket_id = callback.int_arg(0)
        op = callback.args[1]
    except (IndexError, ValueError):
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    shown = callback.args[2] if len(callback.args) > 2 else ""
    try:
        mode, notice = await _perform(ctx, ticket_id, op, shown)
    except (IllegalTransition, Conflict) as error:
        # The ticket moved on since this card was drawn: show where it is now, and why.
        await show_card(ctx, ticket_id, assumed_fp=shown)
        await ctx.answer(error_text(ctx.t, error), alert=True)
        return
    if mode is None:
        return  # a dialog took over
    await show_card(ctx, ticket_id, assumed_fp=shown, mode=mode)
    await ctx.answer(notice)


async def _perform(ctx: Ctx, ticket_id: int, op: str, shown: str) -> tuple[Mode | None, str | None]:
    """Do what `op` asks; the card mode to show next (None: a dialog runs) and a notice."""
    tickets = ctx.app.helpdesk.tickets
    actor = ctx.person_id
    viewer = viewer_of(ctx)
    if op == Op.VIEW:
        return Mode.CARD, None
    if op == Op.ACCEPT:
        await tickets.acknowledge(ticket_id, actor_id=actor)
        return Mode.CARD, ctx._("Accepted.")
    if op == Op.DEPART:
        await tickets.depart(ticket_id, actor_id=actor)
        return Mode.CARD, ctx._("Safe trip!")
    if op == Op.ARRIVE:
        await tickets.arrive(ticket_id, actor_id=actor)
        return Mode.CARD, ctx._("Arrival recorded.")
    if op == Op.RESUME:
        await tickets.resume(ticket_id, actor_id=actor)
        return Mode.CARD, ctx._("Resumed; the clocks run again.")
    card = await tickets.card(ticket_id)
    if op in DIALOG_OPS:
        dialog, action = DIALOG_OPS[Op(op)]
        _ensure_may_work(viewer, card, action)
        await ctx.answer()
        await ctx.start_dialog(
            dialog,
            ticket_id=ticket_id,
            card_message=ctx.incoming.message_id,
            fp=shown,
            remote=op == Op.REMOTE,
        )
        return None, None
    if op == Op.CONSENT:
        _ensure_may_work(viewer, card, None)
        if card.status not in OPEN_STATUSES:
            raise Conflict("ticket.closed", ticket_id=ticket_id)
        return Mode.CONSENT, None
    operation = consent_operation(op)
    if operation is not None:
        await tickets.request_backup_consent(ticket_id, actor_id=actor, operation=operation)
        return Mode.CARD, ctx._(
            "Asked {reporter} to confirm the backup.", reporter=card.reporter_name
        )
    if op == Op.LEVEL:
        _ensure_dispatcher(viewer, card)
        return Mode.LEVEL, None
    if op == Op.ASSIGN:
        _ensure_dispatcher(viewer, card)
        return Mode.ASSIGN, None
    if op.startswith(LEVEL_PREFIX) and op[1:].isdigit():
        level = int(op[1:])
        await tickets.set_severity(ticket_id, level, actor_id=actor)
        return Mode.CARD, ctx._("Level set to {level}; deadlines recomputed.", level=level)
    if op.startswith(ASSIGN_PREFIX) and op[1:].isdigit():
        await tickets.assign(ticket_id, int(op[1:]), actor_id=actor)
        assigned = await tickets.card(ticket_id)
        return Mode.CARD, ctx._("Assigned to {name}.", name=assigned.assignee_name or "?")
    raise IllegalTransition(action=op, status=card.status.value, ticket_id=ticket_id)


async def open_card(ctx: Ctx, callback: Callback) -> None:
    """Send a ticket's card as a new message (from /queue or a notice)."""
    try:
        ticket_id = callback.int_arg(0)
    except (IndexError, ValueError):
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    card = await ctx.app.helpdesk.tickets.card(ticket_id)
    await ctx.answer()
    await send_screen(ctx, await card_screen_for(ctx.app, ctx.t, ctx.tz, card, viewer_of(ctx)))


def _open_spec(t: Translator, ticket_id: int) -> ButtonSpec:
    return ButtonSpec(t("📄 Open ticket"), OPEN_ACTION, (ticket_id,))


# --- /queue ------------------------------------------------------------------------------------


async def queue_screen(ctx: Ctx, page: int) -> Screen:
    """One page of the person's queue, nearest deadline first."""
    cards = await ctx.app.helpdesk.tickets.queue_for(ctx.person_id)
    now = ctx.app.helpdesk.core.clock.now()
    own = ctx.role is Role.ENGINEER
    if not cards:
        return Screen(
            ctx._("📋 No open tickets for you. 🎉")
            if own
            else ctx._("📋 No open tickets at your site.")
        )
    pages = math.ceil(len(cards) / PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    shown = cards[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    title = (
        ctx._("📋 <b>Your open tickets</b>: {n}", n=len(cards))
        if own
        else ctx._("📋 <b>Open tickets</b>: {n}", n=len(cards))
    )
    if pages > 1:
        title += " · " + ctx._("page {page}/{pages}", page=page + 1, pages=pages)
    entries = [
        queue_entry(
            ctx.t,
            ctx.tz,
            card,
            now,
            number=page * PAGE_SIZE + index + 1,
            with_assignee=not own,
        )
        for index, card in enumerate(shown)
    ]
    footer = ctx._("Times as of {now}. Tap a number to open the card.", now=ctx.when(now))
    opens = [ButtonSpec(f"#{card.id}", OPEN_ACTION, (card.id,)) for card in shown]
    nav = []
    if page > 0:
        nav.append(ButtonSpec(ctx._("◀ Prev"), QUEUE_ACTION, (page - 1,)))
    if page < pages - 1:
        nav.append(ButtonSpec(ctx._("Next ▶"), QUEUE_ACTION, (page + 1,)))
    rows = (*rows_of(opens, OPEN_PER_ROW), tuple(nav))
    return Screen("\n\n".join([title, *entries, footer]), tuple(row for row in rows if row))


async def queue(ctx: Ctx) -> None:
    """/queue: open tickets by nearest deadline (an engineer's own; a dispatcher's site)."""
    await send_screen(ctx, await queue_screen(ctx, 0))


async def queue_page(ctx: Ctx, callback: Callback) -> None:
    """Prev/Next: the same message shows another page."""
    try:
        page = callback.int_arg(0)
    except (IndexError, ValueError):
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    shown = callback.args[1] if len(callback.args) > 1 else ""
    await show_screen(
        ctx, await queue_screen(ctx, page), message_id=ctx.incoming.message_id, assumed_fp=shown
    )


# --- pages -------------------------------------------------------------------------------------


def escalation_text(t: Translator, tz: str, code: str, params: dict[str, object]) -> str:
    """The text of a page or manager alert."""
    if code == "sla.manager_alert":
        return manager_alert_text(t, tz, dict(params))
    return page_text(t, tz, dict(params))


def page_screen(t: Translator, tz: str, code: str, params: dict[str, object]) -> Screen:
    """A page with its acknowledge button."""
    ticket_id = int(str(params["ticket_id"]))
    rows: list[tuple[ButtonSpec, ...]] = []
    if params.get("page_id"):
        rows.append((ButtonSpec(t("✅ Acknowledge page"), PAGE_ACK_ACTION, (params["page_id"],)),))
    rows.append((_open_spec(t, ticket_id),))
    return Screen(escalation_text(t, tz, code, params), tuple(rows))


async def acknowledge_page(ctx: Ctx, callback: Callback) -> None:
    """'Seen': the page stops repeating and its message shows when it was acknowledged."""
    try:
        page_id = callback.int_arg(0)
    except (IndexError, ValueError):
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    tickets = ctx.app.helpdesk.tickets
    page = await tickets.acknowledge_page(page_id, actor_id=ctx.person_id)
    notice = await tickets.page_notice(page_id)
    assert page.acknowledged_at is not None  # just set by the core
    text = (
        escalation_text(ctx.t, ctx.tz, notice.code, notice.params)
        + "\n\n"
        + acknowledged_line(ctx.t, ctx.tz, page.acknowledged_at)
    )
    await ctx.answer(ctx._("Acknowledged."))
    screen = Screen(text, ((_open_spec(ctx.t, page.ticket_id),),))
    await show_screen(ctx, screen, message_id=ctx.incoming.message_id, assumed_fp="")


# --- renderers ---------------------------------------------------------------------------------


def _keyboard(r: RenderCtx, screen: Screen) -> InlineKeyboard | None:
    return screen.keyboard(r.button)


async def _card_notice(r: RenderCtx, header: str | None, card: TicketCard | None = None) -> Notice:
    if card is None:
        card = await r.app.helpdesk.tickets.card(int(r.params["ticket_id"]))
    screen = await card_screen_for(r.app, r.t, r.tz, card, Viewer.of(r.recipient), header=header)
    return Notice(screen.text, _keyboard(r, screen))


async def render_dispatch(r: RenderCtx) -> Notice:
    """dispatch.new: the card, as the engineer's control panel."""
    card = await r.app.helpdesk.tickets.card(int(r.params["ticket_id"]))
    header = None  # taken away again before this was sent: the card says who has it
    if r.recipient is not None and card.assignee_id == r.recipient.id:
        header = (
            r._("🔁 <b>Second visit for you</b>")
            if card.cycle > 0
            else r._("📣 <b>New dispatch for you</b>")
        )
    return await _card_notice(r, header, card)


async def render_unassigned(r: RenderCtx) -> Notice:
    """dispatch.unassigned: a ticket needs an engineer."""
    return await _card_notice(
        r, r._("📥 <b>Ticket #{ticket} needs an engineer</b>", ticket=r.params["ticket_id"])
    )


async def render_declined(r: RenderCtx) -> Notice:
    """dispatch.declined: the engineer's reason, and the engineers to choose from."""
    reason = str(r.params.get("reason") or "")
    header = r._(
        "↩️ <b>{name} declined ticket #{ticket}</b>: <i>{reason}</i>",
        name=r.params.get("declined_by") or "?",
        ticket=r.params["ticket_id"],
        reason=label(r.t, DECLINE_REASON, reason),
    )
    return await _card_notice(r, header)


async def render_taken_away(r: RenderCtx) -> Notice:
    """dispatch.taken_away: another engineer has the ticket now."""
    return Notice(
        r._(
            "↪️ Ticket #{ticket} was given to another engineer; you need not go.\n📝 {symptom}",
            ticket=r.params["ticket_id"],
            symptom=short(str(r.params.get("symptom") or ""), 120),
        )
    )


async def render_cancelled(r: RenderCtx) -> Notice:
    """dispatch.cancelled: the report was withdrawn."""
    return Notice(
        r._(
            "🚫 Ticket #{ticket} was cancelled; you need not go.\n📝 {symptom}",
            ticket=r.params["ticket_id"],
            symptom=short(str(r.params.get("symptom") or ""), 120),
        )
    )


async def render_reminder(r: RenderCtx) -> Notice:
    """sla.reminder: 80 % of a deadline has passed."""
    now = r.app.helpdesk.core.clock.now()
    ticket_id = int(r.params["ticket_id"])
    screen = Screen(reminder_text(r.t, r.tz, r.params, now), ((_open_spec(r.t, ticket_id),),))
    return Notice(screen.text, _keyboard(r, screen))


async def render_page(r: RenderCtx) -> Notice:
    """sla.page: a deadline was missed; acknowledge to stop the repeats."""
    screen = page_screen(r.t, r.tz, "sla.page", r.params)
    return Notice(screen.text, _keyboard(r, screen))


async def render_consent_answered(r: RenderCtx) -> Notice:
    """consent.answered: the reporter confirmed (or refused) the data backup."""
    ticket_id = int(r.params["ticket_id"])
    if r.params.get("confirmed"):
        text = r._(
            "💾 Ticket #{ticket}: the reporter confirmed the data is backed up. You may go ahead.",
            ticket=ticket_id,
        )
    else:
        text = r._(
            "⛔ Ticket #{ticket}: the reporter did NOT confirm the backup. Do not start the risky operation; talk to them first.",
            ticket=ticket_id,
        )
    screen = Screen(text, ((_open_spec(r.t, ticket_id),),))
    return Notice(screen.text, _keyboard(r, screen))


RENDERERS = {
    "dispatch.new": render_dispatch,
    "dispatch.unassigned": render_unassigned,
    "dispatch.declined": render_declined,
    "dispatch.taken_away": render_taken_away,
    "dispatch.cancelled": render_cancelled,
    "sla.reminder": render_reminder,
    "sla.page": render_page,
    "consent.answered": render_consent_answered,
}


def register(router: Router) -> None:
    """Add this audience's commands, buttons, dialogs and message renderers."""
    router.command("queue", roles=QUEUE_ROLES, description=N_("Open tickets by deadline"))(queue)
    router.callback(CARD_ACTION, roles=WORKING_ROLES)(card_button)
    router.callback(OPEN_ACTION, roles=QUEUE_ROLES)(open_card)
    router.callback(QUEUE_ACTION, roles=QUEUE_ROLES)(queue_page)
    router.callback(PAGE_ACK_ACTION, roles=REGISTERED)(acknowledge_page)
    for dialog in (DeclineDialog(), PauseDialog(), RestoreDialog(), ResolveDialog()):
        router.add_dialog(dialog)
    for code, renderer in RENDERERS.items():
        router.renders(code)(renderer)
