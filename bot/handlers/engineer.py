"""Engineers and dispatchers: the dispatch card, /queue, pages and the dispatcher's tools.

The dispatch card is the engineer's control panel. Each press calls one core service
and edits the same message to the ticket's new state; presses that need more (decline,
pause, restore, resolve) open a dialog and refresh the card when it ends. A stale
press (the ticket moved on) refreshes the card and says why in the answer.

Callback actions: `ec` card buttons, `qo` open a card, `qp` queue pages, `ep`
acknowledge a page, `pt` a page's tools (the card to reassign or set the level).
"""

from __future__ import annotations

import math

from bot.callback_ids import (
    ASSIGN_PREFIX,
    CARD_ACTION,
    LEVEL_PREFIX,
    OPEN_ACTION,
    PAGE_ACK_ACTION,
    PAGE_TOOL_ACTION,
    QUEUE_ACTION,
)
from bot.callbacks import Callback
from bot.cards import (
    Mode,
    Op,
    Viewer,
    card_media,
    card_screen_for,
    consent_operation,
    console_of,
    queue_entry,
    show_card,
    viewer_of,
)
from bot.context import Ctx
from bot.dialogs.arrival import ARRIVAL_DIALOG, ArrivalDialog
from bot.dialogs.arrival_time import ARRIVAL_TIME_DIALOG, ArrivalTimeDialog
from bot.dialogs.decline import DECLINE_DIALOG, DeclineDialog
from bot.dialogs.pause import PAUSE_DIALOG, PauseDialog
from bot.dialogs.resolve import RESOLVE_DIALOG, ResolveDialog
from bot.dialogs.restore import RESTORE_DIALOG, RestoreDialog
from bot.errors import error_text
from bot.i18n import N_
from bot.labels import SEVERITY, label
from bot.notifications.escalation import acknowledged_screen
from bot.router import Router
from bot.screens import ButtonSpec, Screen, rows_of, send_screen, show_screen
from core import permissions
from core.enums import COMING_STATUSES, OPEN_STATUSES, Role
from core.errors import Conflict, IllegalTransition, PermissionDenied
from core.lifecycle import Action, allowed_actions
from core.views import TicketCard

PAGE_SIZE = 5
OPEN_PER_ROW = 5
SITE_QUEUE_TITLE = N_("📋 <b>Open tickets</b>: {n}")

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
    elif not viewer.may_work(card):
        refusal = "other_site" if permissions.dispatches(viewer.role) else "work_ticket"
        raise PermissionDenied(action=refusal, ticket_id=card.id)
    if action is not None and action not in allowed_actions(card.status):
        raise IllegalTransition(action=action.value, status=card.status.value, ticket_id=card.id)


def _ensure_dispatcher(viewer: Viewer, card: TicketCard) -> None:
    if not viewer.dispatches_for(card):
        action = "other_site" if permissions.dispatches(viewer.role) else "dispatch"
        raise PermissionDenied(action=action, ticket_id=card.id)
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
    if op == Op.RESUME:
        await tickets.resume(ticket_id, actor_id=actor)
        return Mode.CARD, ctx._("Resumed; the clocks run again.")
    card = await tickets.card(ticket_id)
    if op == Op.ARRIVE:
        if not card.site_located:
            await tickets.arrive(ticket_id, actor_id=actor)
            return Mode.CARD, ctx._("Arrival recorded.")
        # The site has coordinates: the arrival is recorded with the engineer's location.
        _ensure_may_work(viewer, card, Action.ARRIVE)
        await ctx.answer()
        await ctx.start_dialog(
            ARRIVAL_DIALOG, ticket_id=ticket_id, card_message=ctx.incoming.message_id, fp=shown
        )
        return None, None

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
    if op == Op.ETA:
        await _start_arrival_time(ctx, viewer, card, card_message=ctx.incoming.message_id, fp=shown)
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
        return Mode.CARD, ctx._(
            "Level set to {level}; deadlines recomputed.", level=label(ctx.t, SEVERITY, level)
        )
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
    screen = await card_screen_for(
        ctx.app.helpdesk.tickets, ctx.t, ctx.tz, card, viewer_of(ctx), console=console_of(ctx)
    )
    await send_screen(ctx, screen)
    # The reporter's photos and the site's map come with the card, as with a dispatch.
    for attachment in card_media(ctx.t, card, ctx.chat_id):
        await ctx.perform(attachment)


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
        else ctx._(SITE_QUEUE_TITLE, n=len(cards))
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
    screen = acknowledged_screen(
        ctx.t,
        ctx.tz,
        notice.message,
        ticket_id=page.ticket_id,
        at=page.acknowledged_at,
        viewer=viewer_of(ctx),
    )
    await ctx.answer(ctx._("Acknowledged."))
    await show_screen(ctx, screen, message_id=ctx.incoming.message_id, assumed_fp="")


async def _start_arrival_time(
    ctx: Ctx, viewer: Viewer, card: TicketCard, *, card_message: int | None, fp: str
) -> None:
    """Open the new-arrival-time dialog, if the person may and the engineer is still to come."""
    _ensure_may_work(viewer, card, None)
    if card.status not in COMING_STATUSES:
        raise IllegalTransition(
            action="expect_arrival", status=card.status.value, ticket_id=card.id
        )
    await ctx.answer()
    await ctx.start_dialog(ARRIVAL_TIME_DIALOG, ticket_id=card.id, card_message=card_message, fp=fp)


# Page tools: the card opens as a new message, in the mode the tool asks for.
PAGE_TOOLS = {Op.ASSIGN.value: Mode.ASSIGN, Op.LEVEL.value: Mode.LEVEL}


async def page_tool(ctx: Ctx, callback: Callback) -> None:
    """A page's tools: Reassign or Set level open the card so; New arrival time asks for it."""
    try:
        ticket_id = callback.int_arg(0)
        op = callback.args[1]
    except (IndexError, ValueError):
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    if op != Op.ETA and op not in PAGE_TOOLS:
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    tickets = ctx.app.helpdesk.tickets
    card = await tickets.card(ticket_id)
    viewer = viewer_of(ctx)
    if op == Op.ETA:
        await _start_arrival_time(ctx, viewer, card, card_message=None, fp="")
        return
    _ensure_dispatcher(viewer, card)
    await ctx.answer()
    screen = await card_screen_for(tickets, ctx.t, ctx.tz, card, viewer, mode=PAGE_TOOLS[op])
    await send_screen(ctx, screen)


def register(router: Router) -> None:
    """Add this audience's commands, buttons, dialogs and message renderers."""
    router.command("queue", roles=QUEUE_ROLES, description=N_("Open tickets by deadline"))(queue)
    router.callback(CARD_ACTION, roles=WORKING_ROLES)(card_button)
    router.callback(OPEN_ACTION, roles=QUEUE_ROLES)(open_card)
    router.callback(QUEUE_ACTION, roles=QUEUE_ROLES)(queue_page)
    router.callback(PAGE_ACK_ACTION, roles=REGISTERED)(acknowledge_page)
    router.callback(PAGE_TOOL_ACTION, roles=WORKING_ROLES)(page_tool)
    for dialog in (
        DeclineDialog(),
        PauseDialog(),
        RestoreDialog(),
        ResolveDialog(),
        ArrivalDialog(),
        ArrivalTimeDialog(),
    ):
        router.add_dialog(dialog)
