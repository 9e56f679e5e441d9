"""The resolution dialog: the engineer fills the service sheet (001 附表一) and files it.

Opened by 🏁 Resolved (on site) or 📞 Resolved remotely on the dispatch card. Every
answer is kept in the dialog state, so a wrong input (a bad amount, a bad date, a
sticker) is explained and asked again without losing what was already filled in.
/cancel or ✖ Cancel leaves the ticket unchanged; ◀ Back returns to the previous
question with its answer kept. The remote path skips the on-site questions (result,
parts, spare device). "Under warranty" offers the asset register's answer first.

```mermaid
stateDiagram-v2
    [*] --> service_type: 🏁 Resolved / 📞 Resolved remotely
    service_type --> warranty
    warranty --> charged: As registered / Yes / No
    charged --> amount: Yes
    amount --> amount: not an amount
    charged --> result: No (on site)
    amount --> result: on site
    charged --> solution: No (remote)
    amount --> solution: remote
    result --> visit: second visit
    visit --> visit: not "YYYY-MM-DD HH:MM" in the future
    result --> parts: fixed on site / taken back
    visit --> parts
    parts --> spare
    spare --> solution
    solution --> solution: empty / sticker
    solution --> confirm
    confirm --> [*]: ✅ Confirm → core resolve (or resolve_remotely) → card refreshed
```

The summary before Confirm shows the arrival as recorded (time and location check).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from bot.cards import arrival_line
from bot.chat import InlineKeyboard
from bot.context import Ctx
from bot.dialogs.card_dialog import ENDING_ERRORS, NO, YES, CardDialog
from bot.dialogs.engine import STAY, Outcome, StepSpec, step_table
from bot.dialogs.inputs import typed_text
from bot.errors import error_text
from bot.i18n import N_
from bot.labels import SERVICE_RESULT, SERVICE_TYPE, label
from core.conversations import DialogState
from core.enums import ServiceResult, ServiceType
from core.errors import InvalidInput
from core.tickets import MAX_NOTE, MAX_SYMPTOM, ServiceSheet, parse_amount

RESOLVE_DIALOG: Final = "resolve"
NO_PARTS: Final = "none"
CONFIRM: Final = "ok"
ON_SITE_RESULTS = (
    ServiceResult.FIXED_ON_SITE,
    ServiceResult.TAKEN_BACK,
    ServiceResult.SECOND_VISIT,
)
VISIT_FORMAT = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{2})$")
MAX_VISIT_AHEAD = timedelta(days=90)

# What the engineer reads and presses; named so that the journeys of the demo and the
# end-to-end tests wait for and press exactly what the dialog shows.
ASK_SERVICE_TYPE = N_("What kind of service was it?")
ASK_WARRANTY = N_("Is the device under warranty?")
ASK_CHARGED = N_("Is the service charged?")
ASK_AMOUNT = N_("How much, in yuan? Type it like 120 or 99.50.")
ASK_RESULT = N_("What is the result?")
ASK_PARTS = N_("Which parts did you replace? Type them, or press “None”.")
ASK_SPARE = N_("Is a spare device lent to the user?")
ASK_SOLUTION = N_("Describe the cause and what you did (required). Type it:")
ASK_CONFIRM = N_("Press ✅ Confirm to file the sheet.")
YES_BUTTON = N_("Yes")
NO_BUTTON = N_("No")
NO_PARTS_BUTTON = N_("None")
CONFIRM_BUTTON = N_("✅ Confirm")
SHEET_FILED = N_(
    "✅ Ticket #{ticket} resolved. The reporter is asked to confirm the fix and rate it."
)


class VisitTimeError(ValueError):
    """A second-visit time that cannot be used; `reason` is 'format' or 'past' or 'far'."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def parse_visit_time(text: str, tz: str, now: datetime) -> datetime:
    """'2026-03-05 14:00' in the engineer's zone, strictly; it must lie ahead (within 90 days)."""
    match = VISIT_FORMAT.match(text.strip())
    if match is None:
        raise VisitTimeError("format")
    year, month, day, hour, minute = (int(part) for part in match.groups())
    try:
        moment = datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz))
    except ValueError as error:  # 2026-02-30, 25:00
        raise VisitTimeError("format") from error
    if moment <= now:
        raise VisitTimeError("past")
    if moment - now > MAX_VISIT_AHEAD:
        raise VisitTimeError("far")
    return moment


def yes_no(ctx: Ctx, value: bool) -> str:
    """'Yes' or 'No'."""
    return ctx._(YES_BUTTON) if value else ctx._(NO_BUTTON)


class Step(StrEnum):
    """The service sheet's steps (the values are stored in the dialog state)."""

    SERVICE_TYPE = "service_type"
    WARRANTY = "warranty"
    CHARGED = "charged"
    AMOUNT = "amount"
    RESULT = "result"
    VISIT = "visit"
    PARTS = "parts"
    SPARE = "spare"
    SOLUTION = "solution"
    CONFIRM = "confirm"


class ResolveDialog(CardDialog[Step]):
    """Fill the service sheet step by step, show it, file it on Confirm."""

    name = RESOLVE_DIALOG
    steps = Step
    first = Step.SERVICE_TYPE

    # --- helpers --------------------------------------------------------------------------

    def remote(self, state: DialogState) -> bool:
        """Resolved remotely (no visit)."""
        return bool(state.data.get("remote"))

    def title(self, ctx: Ctx, state: DialogState) -> str:
        """The first line of every prompt."""
        if self.remote(state):
            return ctx._(
                "📞 <b>Ticket #{ticket}: resolved remotely</b>", ticket=self.ticket_id(state)
            )
        return ctx._("🏁 <b>Ticket #{ticket}: service sheet</b>", ticket=self.ticket_id(state))

    async def prompt(
        self, ctx: Ctx, state: DialogState, question: str, *rows: list[tuple[str, str]]
    ) -> None:
        """Show a step: title, question, choice rows and a cancel button."""
        keyboard = InlineKeyboard.of(
            *[[self.choice(ctx, state, text, value) for text, value in row] for row in rows],
            self.nav_row(ctx, state),
        )
        await self.show(ctx, state, f"{self.title(ctx, state)}\n{question}", keyboard)

    async def yes_no_step(self, ctx: Ctx, state: DialogState, question: str) -> None:
        """A Yes / No question."""
        await self.prompt(ctx, state, question, [(ctx._(YES_BUTTON), YES), (ctx._(NO_BUTTON), NO)])

    @staticmethod
    def example_time(ctx: Ctx) -> str:
        """Tomorrow 10:00 in the engineer's zone, written as the format wants it."""
        local = ctx.app.helpdesk.core.clock.now().astimezone(ZoneInfo(ctx.tz))
        return (local + timedelta(days=1)).strftime("%Y-%m-%d") + " 10:00"

    # --- steps ----------------------------------------------------------------------------

    async def ask_service_type(self, ctx: Ctx, state: DialogState) -> None:
        """Service content (服务内容)."""
        choices = [(ctx._(text), kind.value) for kind, text in SERVICE_TYPE.items()]
        await self.prompt(
            ctx,
            state,
            ctx._(ASK_SERVICE_TYPE),
            choices[0:2],
            choices[2:4],
            choices[4:6],
        )

    async def on_service_type(
        self, ctx: Ctx, state: DialogState, value: str | None
    ) -> Step | Outcome:
        """Keep the service type."""
        if value not in {kind.value for kind in ServiceType}:
            return await self.use_buttons(ctx)
        state.data["service_type"] = value
        return Step.WARRANTY

    async def register_warranty(self, ctx: Ctx, state: DialogState) -> bool | None:
        """The warranty as the asset register has it (None: not recorded); read once."""
        if "register_warranty" not in state.data:
            card = await ctx.app.helpdesk.tickets.card(self.ticket_id(state))
            state.data["register_warranty"] = card.under_warranty
            until = card.warranty_until
            state.data["register_until"] = until.isoformat() if until else None
        known = state.data["register_warranty"]
        return None if known is None else bool(known)

    async def ask_warranty(self, ctx: Ctx, state: DialogState) -> None:
        """Under warranty (是否保修)? The register's answer comes first, one press away."""
        known = await self.register_warranty(ctx, state)
        question = ctx._(ASK_WARRANTY)
        yes_no_row = [(ctx._(YES_BUTTON), YES), (ctx._(NO_BUTTON), NO)]
        if known is None:
            await self.prompt(ctx, state, question, yes_no_row)
            return
        until = str(state.data.get("register_until") or "")
        register = (
            ctx._("📒 The register says: under warranty until {date}.", date=until)
            if known
            else ctx._("📒 The register says: out of warranty since {date}.", date=until)
        )
        question += "\n" + register + " " + ctx._("Keep it, or answer Yes or No yourself.")
        registered = ctx._("📒 As registered: {answer}", answer=yes_no(ctx, known))
        await self.prompt(ctx, state, question, [(registered, YES if known else NO)], yes_no_row)

    async def on_warranty(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Keep the warranty answer."""
        if value not in (YES, NO):
            return await self.use_buttons(ctx)
        state.data["warranty"] = value == YES
        return Step.CHARGED

    async def ask_charged(self, ctx: Ctx, state: DialogState) -> None:
        """Charged (是否收费)?"""
        await self.yes_no_step(ctx, state, ctx._(ASK_CHARGED))

    async def on_charged(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Charged: ask the amount; else go on."""
        if value not in (YES, NO):
            return await self.use_buttons(ctx)
        state.data["charged"] = value == YES
        if value == YES:
            return Step.AMOUNT
        state.data.pop("amount", None)
        return self.after_charge(state)

    def after_charge(self, state: DialogState) -> Step:
        """Remote fixes skip the on-site questions."""
        return Step.SOLUTION if self.remote(state) else Step.RESULT

    async def ask_amount(self, ctx: Ctx, state: DialogState) -> None:
        """The amount charged, in yuan."""
        await self.prompt(ctx, state, ctx._(ASK_AMOUNT))

    async def on_amount(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Parse the amount strictly."""
        text, problem = typed_text(
            ctx, missing=ctx._("Please type the amount in yuan, like 120 or 99.50.")
        )
        if text is None:
            await ctx.say(problem)
            return STAY
        try:
            amount = parse_amount(text)
        except InvalidInput as error:
            await ctx.say(error_text(ctx.t, error))
            return STAY
        state.data["amount"] = str(amount)
        return self.after_charge(state)

    async def ask_result(self, ctx: Ctx, state: DialogState) -> None:
        """Result (维修结果)."""
        choices = [[(ctx._(SERVICE_RESULT[result]), result.value)] for result in ON_SITE_RESULTS]
        await self.prompt(ctx, state, ctx._(ASK_RESULT), *choices)

    async def on_result(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """A second visit needs its time; the others go on to the parts."""
        if value not in {result.value for result in ON_SITE_RESULTS}:
            return await self.use_buttons(ctx)
        state.data["result"] = value
        if value == ServiceResult.SECOND_VISIT.value:
            return Step.VISIT
        state.data.pop("visit_at", None)
        return Step.PARTS

    async def ask_visit(self, ctx: Ctx, state: DialogState) -> None:
        """When the second visit takes place."""
        await self.prompt(
            ctx,
            state,
            ctx._(
                "When is the second visit? Type the date and time as YYYY-MM-DD HH:MM, e.g. <code>{example}</code> (your time zone).",
                example=self.example_time(ctx),
            ),
        )

    async def on_visit(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Parse the visit time strictly, in the engineer's zone."""
        text, _ = typed_text(ctx)
        now = ctx.app.helpdesk.core.clock.now()
        try:
            moment = parse_visit_time(text or "", ctx.tz, now)
        except VisitTimeError as error:
            if error.reason == "past":
                await ctx.say(ctx._("That time has already passed; please give a time ahead."))
            elif error.reason == "far":
                await ctx.say(ctx._("That is more than 90 days ahead; please give a nearer time."))
            else:
                await ctx.say(
                    ctx._(
                        "Please write the date and time exactly as YYYY-MM-DD HH:MM, e.g. <code>{example}</code>.",
                        example=self.example_time(ctx),
                    )
                )
            return STAY
        state.data["visit_at"] = moment.isoformat()
        return Step.PARTS

    async def ask_parts(self, ctx: Ctx, state: DialogState) -> None:
        """Parts replaced (更换配件)."""
        await self.prompt(ctx, state, ctx._(ASK_PARTS), [(ctx._(NO_PARTS_BUTTON), NO_PARTS)])

    async def on_parts(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Keep the parts (or none)."""
        if value is not None:
            if value != NO_PARTS:
                return await self.use_buttons(ctx)
            state.data["parts"] = ""
            return Step.SPARE
        text, problem = typed_text(
            ctx, MAX_NOTE, missing=ctx._("Please type the parts replaced, or press “None”.")
        )
        if text is None:
            await ctx.say(problem)
            return STAY
        state.data["parts"] = text
        return Step.SPARE

    async def ask_spare(self, ctx: Ctx, state: DialogState) -> None:
        """Spare device lent (备机)?"""
        await self.yes_no_step(ctx, state, ctx._(ASK_SPARE))

    async def on_spare(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Keep the spare answer."""
        if value not in (YES, NO):
            return await self.use_buttons(ctx)
        state.data["spare"] = value == YES
        return Step.SOLUTION

    async def ask_solution(self, ctx: Ctx, state: DialogState) -> None:
        """What was done (处理方法), required."""
        await self.prompt(ctx, state, ctx._(ASK_SOLUTION))

    async def on_solution(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Keep the solution."""
        text, problem = typed_text(
            ctx,
            MAX_SYMPTOM,
            missing=ctx._("Please type the solution in words; it goes on the service sheet."),
        )
        if text is None:
            await ctx.say(problem)
            return STAY
        state.data["solution"] = text
        return Step.CONFIRM

    def sheet(self, state: DialogState) -> ServiceSheet:
        """The service sheet from the answers."""
        data = state.data
        charged = bool(data.get("charged"))
        visit = data.get("visit_at")
        return ServiceSheet(
            service_type=ServiceType(data["service_type"]),
            result=ServiceResult.FIXED_REMOTELY
            if self.remote(state)
            else ServiceResult(data["result"]),
            solution=str(data.get("solution") or ""),
            under_warranty=bool(data.get("warranty")),
            charged=charged,
            amount=Decimal(str(data["amount"])) if charged and data.get("amount") else None,
            parts_replaced=str(data.get("parts") or ""),
            spare_lent=bool(data.get("spare")),
            second_visit_at=datetime.fromisoformat(visit) if visit else None,
        )

    def summary(self, ctx: Ctx, state: DialogState, arrival: str | None = None) -> str:
        """The sheet as the engineer checks it before filing (with the recorded arrival)."""
        sheet = self.sheet(state)
        charged = (
            ctx._("Yes, {amount} yuan", amount=str(sheet.amount)) if sheet.charged else ctx._("No")
        )
        result = label(ctx.t, SERVICE_RESULT, sheet.result)
        if sheet.second_visit_at is not None:
            result += " · " + ctx.when(sheet.second_visit_at)
        lines = [
            self.title(ctx, state),
            ctx._("Service: {value}", value=label(ctx.t, SERVICE_TYPE, sheet.service_type)),
            ctx._("Under warranty: {value}", value=yes_no(ctx, sheet.under_warranty)),
            ctx._("Charged: {value}", value=charged),
            ctx._("Result: {value}", value=result),
        ]
        if arrival:
            lines.append(arrival)
        if not self.remote(state):
            lines.append(
                ctx._("Parts replaced: {value}", value=sheet.parts_replaced or ctx._("none"))
            )
            lines.append(ctx._("Spare device lent: {value}", value=yes_no(ctx, sheet.spare_lent)))
        lines.append(ctx._("Solution: <i>{value}</i>", value=sheet.solution))
        lines += ["", ctx._(ASK_CONFIRM)]
        return "\n".join(lines)

    async def ask_confirm(self, ctx: Ctx, state: DialogState) -> None:
        """Show the sheet; Confirm files it."""
        keyboard = InlineKeyboard.of(
            [self.choice(ctx, state, ctx._(CONFIRM_BUTTON), CONFIRM)],
            self.nav_row(ctx, state),
        )
        card = await ctx.app.helpdesk.tickets.card(self.ticket_id(state))
        arrival = None if self.remote(state) else arrival_line(ctx.t, ctx.tz, card)
        await self.show(ctx, state, self.summary(ctx, state, arrival), keyboard)

    async def on_confirm(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """File the sheet through the core; the card shows the resolved ticket."""
        if value != CONFIRM:
            return await self.use_buttons(ctx)
        tickets = ctx.app.helpdesk.tickets
        ticket_id = self.ticket_id(state)
        sheet = self.sheet(state)
        try:
            if self.remote(state):
                await tickets.resolve_remotely(ticket_id, actor_id=ctx.person_id, sheet=sheet)
            else:
                await tickets.resolve(ticket_id, actor_id=ctx.person_id, sheet=sheet)
        except InvalidInput as error:
            await ctx.say(error_text(ctx.t, error))
            return STAY
        except ENDING_ERRORS as error:
            return await self.refused(ctx, state, error)
        text = ctx._(SHEET_FILED, ticket=ticket_id)
        if sheet.second_visit_at is not None:
            text += "\n" + ctx._("Second visit: {at}.", at=ctx.when(sheet.second_visit_at))
        return await self.finish(ctx, state, text)

    table = step_table(
        {
            Step.SERVICE_TYPE: StepSpec(ask_service_type, on_service_type, to={Step.WARRANTY}),
            Step.WARRANTY: StepSpec(ask_warranty, on_warranty, to={Step.CHARGED}),
            Step.CHARGED: StepSpec(
                ask_charged, on_charged, to={Step.AMOUNT, Step.RESULT, Step.SOLUTION}
            ),
            Step.AMOUNT: StepSpec(ask_amount, on_amount, to={Step.RESULT, Step.SOLUTION}),
            Step.RESULT: StepSpec(ask_result, on_result, to={Step.VISIT, Step.PARTS}),
            Step.VISIT: StepSpec(ask_visit, on_visit, to={Step.PARTS}),
            Step.PARTS: StepSpec(ask_parts, on_parts, to={Step.SPARE}),
            Step.SPARE: StepSpec(ask_spare, on_spare, to={Step.SOLUTION}),
            Step.SOLUTION: StepSpec(ask_solution, on_solution, to={Step.CONFIRM}),
            Step.CONFIRM: StepSpec(ask_confirm, on_confirm),
        }
    )
