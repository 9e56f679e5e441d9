"""A ticket as its parties see it: /ticket N with its timeline, its thread, its withdrawal.

Commands: /ticket N (anyone who takes part in ticket N, or oversees its site). Buttons
(callback action: arguments):

- `tv:ticket`: show the ticket with its timeline and photos (from /my)
- `tm:ticket`: write in the ticket's thread (dialog "thread")
- `tw:ticket`: withdraw it (the reporter) or cancel it (a dispatcher) (dialog "withdraw")

A reply (text or photo) to a message the bot sent about a ticket goes to the ticket's
thread without any button (a fallback of the router).
"""

from __future__ import annotations

from bot.callback_ids import THREAD_ACTION, TICKET_ACTION, WITHDRAW_ACTION
from bot.callbacks import Callback
from bot.cards import arrival_check_text, card_media, card_text, short
from bot.chat import Button, InlineKeyboard, Kind
from bot.context import Ctx
from bot.dialogs.thread import THREAD_DIALOG, ThreadDialog, post_from_update, sent_text
from bot.dialogs.withdraw import WITHDRAW_DIALOG, WithdrawDialog
from bot.i18n import N_, Translator
from bot.labels import PAUSE_REASON, label
from bot.router import Router
from core.enums import OPEN_STATUSES, ArrivalCheck, Role
from core.errors import Conflict, NotFound, PermissionDenied
from core.lifecycle import Action, allowed_actions
from core.permissions import dispatches
from core.views import TicketCard, TicketHistory, TimelineEntry

REGISTERED = frozenset(Role)

# What each audited step of a ticket reads like in its timeline; others are not shown.
TIMELINE = {
    "ticket.reported": N_("📝 reported by {actor}"),
    "ticket.assigned": N_("👷 assigned to {engineer}"),
    "ticket.declined": N_("↩️ declined by {actor}: {reason}"),
    "ticket.acknowledged": N_("✅ accepted by {actor}"),
    "ticket.en_route": N_("🚗 {actor} on the way"),
    "ticket.arrived": N_("📍 {actor} arrived"),
    "ticket.paused": N_("⏸ paused: {reason}"),
    "ticket.resumed": N_("▶️ resumed"),
    "ticket.restored": N_("🩹 service restored by {actor}"),
    "ticket.resolved": N_("🏁 resolved by {actor}: {solution}"),
    "ticket.fix_confirmed": N_("👍 fix confirmed by {actor}"),
    "ticket.fix_rejected": N_("👎 fix rejected by {actor}"),
    "ticket.rated": N_("⭐ rated {score}/5 by {actor}"),
    "ticket.closed": N_("🔒 closed"),
    "ticket.reopened": N_("🔁 reopened for a second visit"),
    "ticket.cancelled": N_("🚫 cancelled by {actor}: {reason}"),
    "ticket.note": N_("💬 {actor}: {text}"),
    "consent.requested": N_("💾 {actor} asked for a data backup"),
    "consent.answered": N_("💾 {actor} answered the backup request"),
}


def timeline_line(t: Translator, tz: str, entry: TimelineEntry) -> str | None:
    """One event as a line: when, and what happened (None for events not shown)."""
    message = TIMELINE.get(entry.action)
    if message is None:
        return None
    data = entry.data
    params = {
        "actor": entry.actor or t("the system"),
        "engineer": str(data.get("engineer") or "—"),
        "reason": short(str(data.get("reason") or "—"), 120),
        "solution": short(str(data.get("solution") or "—"), 120),
        "score": str(data.get("score") or "?"),
        "text": short(str(data.get("text") or ""), 200) or t("[photo]"),
    }
    if entry.action == "ticket.paused":
        params["reason"] = label(t, PAUSE_REASON, str(data.get("reason") or ""))
    if entry.action == "ticket.note" and data.get("photo") and data.get("text"):
        params["text"] += " " + t("[photo]")
    line = f"{t.moment(entry.at, tz)} · {t(message, **params)}"
    check = data.get("check")
    if entry.action == "ticket.arrived" and check in {c.value for c in ArrivalCheck}:
        # The location's evidence (none at a site without coordinates).
        distance = data.get("distance_m")
        evidence = arrival_check_text(
            t, ArrivalCheck(check), int(distance) if isinstance(distance, int) else None
        )
        line += f": {evidence}"
    return line


def ticket_text(ctx: Ctx, history: TicketHistory) -> str:
    """The card, then the timeline."""
    lines = [card_text(ctx.t, ctx.tz, history.card), "", ctx._("🕓 <b>Timeline</b>")]
    for entry in history.entries:
        line = timeline_line(ctx.t, ctx.tz, entry)
        if line is not None:
            lines.append(line)
    return "\n".join(lines)


def ticket_buttons(ctx: Ctx, card: TicketCard) -> InlineKeyboard | None:
    """What the viewer may do about the ticket from here."""
    if card.status not in OPEN_STATUSES:
        return None
    profile = ctx.profile
    assert profile is not None  # only registered people get here
    row: list[Button] = []
    if profile.id == card.reporter_id:
        if card.assignee_id is not None:
            row.append(ctx.button(ctx._("💬 Message the engineer"), THREAD_ACTION, card.id))
        if card.arrived_at is None:
            row.append(ctx.button(ctx._("🚫 Withdraw"), WITHDRAW_ACTION, card.id))
        return InlineKeyboard.of(row) if row else None
    row.append(ctx.button(ctx._("💬 Message"), THREAD_ACTION, card.id))
    if dispatches(profile.role) and Action.CANCEL in allowed_actions(card.status):
        row.append(ctx.button(ctx._("🚫 Cancel ticket"), WITHDRAW_ACTION, card.id))
    return InlineKeyboard.of(row)


async def show_ticket(ctx: Ctx, ticket_id: int) -> None:
    """Send the ticket with its timeline, then its photos and the site's map."""
    try:
        history = await ctx.app.helpdesk.tickets.history(ticket_id, viewer_id=ctx.person_id)
    except NotFound:
        await ctx.say(ctx._("You have no ticket #{ticket}.", ticket=ticket_id))
        return
    await ctx.say(ticket_text(ctx, history), ticket_buttons(ctx, history.card))
    for attachment in card_media(ctx.t, history.card, ctx.chat_id):
        await ctx.perform(attachment)


async def ticket_command(ctx: Ctx) -> None:
    """/ticket N: a ticket the person takes part in, with its timeline."""
    number = ctx.incoming.args.strip().lstrip("#")
    if not number.isdigit() or len(number) > 9:
        await ctx.say(ctx._("Send the ticket number after the command, like /ticket 12."))
        return
    await show_ticket(ctx, int(number))


async def open_ticket(ctx: Ctx, callback: Callback) -> None:
    """A ticket's button in /my: show it with its timeline."""
    await ctx.answer()
    await show_ticket(ctx, callback.int_arg(0))


async def write(ctx: Ctx, callback: Callback) -> None:
    """💬 Message / ↩️ Reply: open the thread dialog for the ticket."""
    ticket_id = callback.int_arg(0)
    await ctx.app.helpdesk.tickets.history(ticket_id, viewer_id=ctx.person_id)  # may they?
    await ctx.answer()
    await ctx.start_dialog(THREAD_DIALOG, ticket_id=ticket_id)


async def withdraw(ctx: Ctx, callback: Callback) -> None:
    """🚫 Withdraw (the reporter) / 🚫 Cancel ticket (a dispatcher): ask for the reason."""
    ticket_id = callback.int_arg(0)
    card = (await ctx.app.helpdesk.tickets.history(ticket_id, viewer_id=ctx.person_id)).card
    reporter = ctx.person_id == card.reporter_id
    if card.status not in OPEN_STATUSES:
        raise Conflict("ticket.closed", ticket_id=ticket_id)
    if reporter and card.arrived_at is not None and not dispatches(ctx.role):
        raise Conflict("cancel.engineer_arrived", ticket_id=ticket_id)
    if not reporter and not dispatches(ctx.role):
        raise PermissionDenied(action="cancel", ticket_id=ticket_id)
    await ctx.answer()
    await ctx.start_dialog(WITHDRAW_DIALOG, ticket_id=ticket_id, dispatcher=not reporter)


async def reply_to_ticket(ctx: Ctx) -> bool:
    """A reply (text or photo) to a message about a ticket goes to that ticket's thread."""
    incoming = ctx.incoming
    if incoming.reply_to_message_id is None or incoming.kind not in (Kind.TEXT, Kind.PHOTO):
        return False
    tickets = ctx.app.helpdesk.tickets
    ticket_id = await tickets.ticket_of_message(ctx.person_id, incoming.reply_to_message_id)
    if ticket_id is None:
        return False
    await post_from_update(ctx, ticket_id)
    await ctx.say(sent_text(ctx, ticket_id))
    return True


def register(router: Router) -> None:
    """Add /ticket, the thread and withdrawal buttons, their dialogs, and replies to tickets."""
    router.command("ticket", roles=REGISTERED, description=N_("A ticket and its history"))(
        ticket_command
    )
    router.callback(TICKET_ACTION, roles=REGISTERED)(open_ticket)
    router.callback(THREAD_ACTION, roles=REGISTERED)(write)
    router.callback(WITHDRAW_ACTION, roles=REGISTERED)(withdraw)
    router.fallback(reply_to_ticket)
    for dialog in (ThreadDialog(), WithdrawDialog()):
        router.add_dialog(dialog)
