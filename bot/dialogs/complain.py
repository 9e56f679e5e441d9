"""The /complain dialog (004 §1.3.4), and the complaint as the site's managers see it.

The staff dialog records a complaint about one of the reporter's recent tickets or in
general; the site's managers get it with Confirm and Answer buttons (`manager_text`,
`manager_keyboard`), and must answer within 3 working days (the answer is the dialog in
`bot.dialogs.complaint_answer`).

```mermaid
stateDiagram-v2
    [*] --> ticket: /complain (has tickets)
    [*] --> text: /complain (no tickets yet)
    ticket --> ticket: typed instead of pressed
    ticket --> text: a ticket, or General complaint
    text --> text: not text / too long
    text --> confirm: complaint typed
    confirm --> confirm: typed instead of pressed
    confirm --> [*]: 📨 Send (complaint recorded)
    confirm --> [*]: ✖ Cancel or /cancel (at any step)
```
"""

from __future__ import annotations

import html
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from bot.callback_ids import COMPLAINT_ANSWER_ACTION, COMPLAINT_CONFIRM_ACTION
from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.dialogs.engine import DONE, STAY, Dialog, Outcome, StepSpec, step_table
from bot.dialogs.inputs import noted, typed_text
from bot.dialogs.rate import Speaker
from bot.i18n import N_
from bot.labels import STATUS, label
from core.complaints import MAX_COMPLAINT
from core.conversations import DialogState
from core.enums import ComplaintStatus

COMPLAIN_DIALOG = "complain"
GENERAL = 0
SEND = "send"

COMPLAINT_STATUS = {
    ComplaintStatus.RECEIVED: N_("received, not yet confirmed"),
    ComplaintStatus.CONFIRMED: N_("confirmed, being looked into"),
    ComplaintStatus.ANSWERED: N_("answered"),
}


def about_line(s: Speaker, ticket_id: int | None) -> str:
    """'About: ticket #12' or 'About: the service in general'."""
    if ticket_id is None:
        return s._("About: the service in general")
    return s._("About: ticket #{ticket}", ticket=ticket_id)


class ComplaintShown(Protocol):
    """What managers see of a complaint (a `ComplaintView`, or what a message carries)."""

    @property
    def id(self) -> int:
        """The complaint's number."""
        ...

    @property
    def reporter_name(self) -> str:
        """Who complained."""
        ...

    @property
    def ticket_id(self) -> int | None:
        """The ticket complained about, if any."""
        ...

    @property
    def text(self) -> str:
        """What they wrote."""
        ...

    @property
    def due_at(self) -> datetime:
        """When it must be answered by."""
        ...

    @property
    def status(self) -> ComplaintStatus:
        """Received, confirmed or answered."""
        ...

    @property
    def accepted(self) -> bool | None:
        """Whether the answer accepted it as justified."""
        ...

    @property
    def answer(self) -> str:
        """The manager's answer, once given."""
        ...


def manager_text(s: Speaker, view: ComplaintShown) -> str:
    """A complaint as managers see it, with its state."""
    lines = [
        s._("📣 <b>Complaint #{id}</b> from {reporter}", id=view.id, reporter=view.reporter_name),
        about_line(s, view.ticket_id),
        f"<i>{html.escape(view.text[:1500])}</i>",
        s._("Answer due: <b>{due}</b>", due=s.when(view.due_at)),
        s._("Status: {status}", status=s._(COMPLAINT_STATUS[view.status])),
    ]
    if view.status is ComplaintStatus.ANSWERED:
        verdict = s._("accepted") if view.accepted else s._("not accepted")
        lines.append(
            s._("Answer ({verdict}): {answer}", verdict=verdict, answer=view.answer[:1000])
        )
    return "\n".join(lines)


def manager_keyboard(s: Speaker, view: ComplaintShown) -> InlineKeyboard | None:
    """Confirm (until confirmed) and Answer (until answered)."""
    if view.status is ComplaintStatus.ANSWERED:
        return None
    row = []
    if view.status is ComplaintStatus.RECEIVED:
        row.append(s.button(s._("✔ Confirm receipt"), COMPLAINT_CONFIRM_ACTION, view.id))
    row.append(s.button(s._("✍️ Answer…"), COMPLAINT_ANSWER_ACTION, view.id))
    return InlineKeyboard.of(row)


class Step(StrEnum):
    """The complaint's steps (the values are stored in the dialog state)."""

    TICKET = "ticket"
    TEXT = "text"
    CONFIRM = "confirm"


class ComplainDialog(Dialog[Step]):
    """A complaint from staff: about what, what went wrong, send."""

    name = COMPLAIN_DIALOG
    steps = Step
    first = Step.TICKET
    entries = frozenset({Step.TICKET, Step.TEXT})

    async def start(self, ctx: Ctx, **data: Any) -> None:
        """Ask about which ticket when there are any, else go straight to the text."""
        state = DialogState(self.name, self.first, {"ticket_id": None})
        recent = await ctx.app.helpdesk.complaints.recent_tickets(ctx.person_id)
        await self.begin(ctx, state, Step.TICKET if recent else Step.TEXT)

    async def ask_ticket(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Offer the recent tickets and 'General complaint'."""
        recent = await ctx.app.helpdesk.complaints.recent_tickets(ctx.person_id)
        rows = []
        for choice in recent:
            symptom = " ".join(choice.symptom.split())
            symptom = symptom if len(symptom) <= 28 else symptom[:27] + "…"
            text = ctx._(
                "#{ticket} · {symptom} ({status})",
                ticket=choice.id,
                symptom=symptom,
                status=label(ctx.t, STATUS, choice.status),
            )
            rows.append([self.choice(ctx, state, html.unescape(text), choice.id)])
        rows.append([self.choice(ctx, state, ctx._("General complaint"), GENERAL)])
        rows.append([self.cancel_button(ctx, state)])
        text = ctx._("📣 <b>What is your complaint about?</b>")
        await self.show(ctx, state, noted(note, text), InlineKeyboard.of(*rows))

    async def on_ticket(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Keep the chosen ticket (or none)."""
        recent = {c.id for c in await ctx.app.helpdesk.complaints.recent_tickets(ctx.person_id)}
        chosen = int(value) if value is not None and value.isdigit() else None
        if chosen is None or (chosen != GENERAL and chosen not in recent):
            await self.ask_ticket(ctx, state, ctx._("Please press one of the buttons."))
            return STAY
        state.data["ticket_id"] = None if chosen == GENERAL else chosen
        return Step.TEXT

    async def ask_text(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Ask what went wrong."""
        text = (
            about_line(ctx, state.data.get("ticket_id"))
            + "\n\n"
            + ctx._(
                "✏️ <b>Please write what went wrong</b> (up to {limit} characters). "
                "A manager answers within {days} working days.",
                limit=MAX_COMPLAINT,
                days=ctx.app.helpdesk.core.policy.complaint_working_days,
            )
        )
        await self.show(
            ctx, state, noted(note, text), InlineKeyboard.of([self.cancel_button(ctx, state)])
        )

    async def on_text(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Keep the complaint text."""
        text, problem = typed_text(ctx, MAX_COMPLAINT)
        if text is None:
            await self.ask_text(ctx, state, problem)
            return STAY
        state.data["text"] = text
        return Step.CONFIRM

    def _summary(self, ctx: Ctx, state: DialogState) -> str:
        text = state.data["text"]
        return "\n".join(
            [
                ctx._("📣 <b>Your complaint</b>"),
                about_line(ctx, state.data.get("ticket_id")),
                f"<i>{html.escape(text if len(text) <= 1500 else text[:1500] + '…')}</i>",
            ]
        )

    async def ask_confirm(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Show the complaint with Send and Cancel."""
        send = self.choice(ctx, state, ctx._("📨 Send"), SEND)
        await self.show(
            ctx,
            state,
            noted(note, self._summary(ctx, state)),
            InlineKeyboard.of([send, self.cancel_button(ctx, state)]),
        )

    async def on_confirm(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Record the complaint; the managers and the reporter are told by the core."""
        if value != SEND:
            await self.ask_confirm(ctx, state, ctx._("Please press Send, or Cancel."))
            return STAY
        complaint = await ctx.app.helpdesk.complaints.file(
            ctx.person_id,
            text=state.data["text"],
            ticket_id=state.data.get("ticket_id"),
            request_key=f"press:{ctx.incoming.callback_id or ctx.incoming.update_id}",
        )
        await self.show(
            ctx,
            state,
            self._summary(ctx, state)
            + "\n\n"
            + ctx._("✅ Sent as complaint #{id}.", id=complaint.id),
        )
        return DONE

    table = step_table(
        {
            Step.TICKET: StepSpec(ask_ticket, on_ticket, to={Step.TEXT}),
            Step.TEXT: StepSpec(ask_text, on_text, to={Step.CONFIRM}),
            Step.CONFIRM: StepSpec(ask_confirm, on_confirm),
        }
    )
