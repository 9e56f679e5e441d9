"""A new arrival time: the engineer says when they will be there, and the reporter is told.

Opened by 🕐 New arrival time on the dispatch card (accepted or on the way) or on a page
about the missed arrival. The promised time stays on record (the arrival deadline does
not move); the reporter gets the new time, with an apology when it is later than
promised (002 热线服务规范), and the change is in the audit log.

```mermaid
stateDiagram-v2
    [*] --> when: 🕐 New arrival time
    when --> when: not a time / already past / too far ahead
    when --> [*]: +30 min, +1 h, +2 h or a typed time → core expect_arrival → reporter told
```
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.dialogs.card_dialog import ENDING_ERRORS, CardDialog
from bot.dialogs.engine import STAY, Outcome, StepSpec, step_table
from bot.dialogs.inputs import noted, typed_text
from bot.errors import error_text
from bot.i18n import N_
from core.conversations import DialogState
from core.errors import InvalidInput

ARRIVAL_TIME_DIALOG: Final = "eta"
ASK_ARRIVAL_TIME = N_(
    "🕐 When will you be at ticket #{ticket}? Choose, or type a time like "
    "<code>14:30</code>. The reporter will be told."
)
ARRIVAL_TIME_RECORDED = N_(
    "🕐 Ticket #{ticket}: expected arrival {time} recorded; the reporter is told."
)
# The quick choices, in minutes from now.
QUICK_MINUTES: Final = (30, 60, 120)
CLOCK_TIME = re.compile(r"^([01]?[0-9]|2[0-3])[:.：]([0-5][0-9])$", re.ASCII)
DATE_TIME = re.compile(
    r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})\s+([0-9]{1,2}):([0-9]{2})$", re.ASCII
)


def parse_arrival_time(text: str, tz: str, now: datetime) -> datetime | None:
    """'14:30' (today, in the engineer's zone) or '2026-03-03 09:30'; None if neither."""
    text = text.strip()
    local_now = now.astimezone(ZoneInfo(tz))
    if match := CLOCK_TIME.match(text):
        hour, minute = int(match[1]), int(match[2])
        return local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if match := DATE_TIME.match(text):
        year, month, day, hour, minute = (int(part) for part in match.groups())
        try:
            return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz))
        except ValueError:  # 2026-02-30, 25:00
            return None
    return None


class Step(StrEnum):
    """The dialog's one step (the value is stored in the dialog state)."""

    WHEN = "when"


class ArrivalTimeDialog(CardDialog[Step]):
    """Ask when the engineer will be there; record it and tell the reporter."""

    name = ARRIVAL_TIME_DIALOG
    steps = Step
    first = Step.WHEN

    async def ask_when(self, ctx: Ctx, state: DialogState, note: str = "") -> None:
        """Quick choices from now, or a typed time."""
        quick = [
            self.choice(ctx, state, ctx._("+{time}", time=ctx.t.duration(timedelta(minutes=m))), m)
            for m in QUICK_MINUTES
        ]
        text = ctx._(ASK_ARRIVAL_TIME, ticket=self.ticket_id(state))
        await self.show(
            ctx,
            state,
            noted(note, text),
            InlineKeyboard.of(quick, [self.cancel_button(ctx, state)]),
        )

    async def on_when(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Record the chosen or typed time; a time that cannot be used is explained."""
        now = ctx.app.helpdesk.core.clock.now()
        if value is not None:
            if not value.isdigit() or int(value) not in QUICK_MINUTES:
                return await self.use_buttons(ctx)
            moment: datetime | None = now + timedelta(minutes=int(value))
        else:
            text, problem = typed_text(ctx, 40)
            moment = parse_arrival_time(text, ctx.tz, now) if text else None
            if moment is None:
                note = problem if text is None else ctx._("Please type a time like 14:30.")
                await self.ask_when(ctx, state, note)
                return STAY
        assert moment is not None
        try:
            await ctx.app.helpdesk.tickets.expect_arrival(
                self.ticket_id(state), moment, actor_id=ctx.person_id
            )
        except InvalidInput as error:
            await self.ask_when(ctx, state, error_text(ctx.t, error))
            return STAY
        except ENDING_ERRORS as error:
            return await self.refused(ctx, state, error)
        return await self.finish(
            ctx,
            state,
            ctx._(ARRIVAL_TIME_RECORDED, ticket=self.ticket_id(state), time=ctx.when(moment)),
        )

    table = step_table({Step.WHEN: StepSpec(ask_when, on_when)})
