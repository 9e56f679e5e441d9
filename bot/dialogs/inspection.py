"""The inspection walk: the engineer checks every device of a round, item by item.

Opened by /inspect or by ▶️ Start inspection on a reminder. Devices come in location
order; each shows its kind's checklist one item at a time (OK / Fault buttons, the
state of a consumable, or a typed reading such as lamp hours), then an optional note.
A device with a fault asks how badly it hurts the users' work and opens a ticket
through the core on the engineer's behalf. ⏭ Skip device asks for the reason. Each
device is saved the moment it is done, and the dialog state lives in the database, so
a restart (or ⏸ Later and /inspect another day) carries on where it stopped. When every
device is saved, 📤 Finish completes the round and the report goes to the managers.

Buttons inside the item step carry the device and item they answer
(`<asset>.<item>.<answer>`), because every item shares the step name: a press left
over from an earlier item is recognised and ignored.

```mermaid
stateDiagram-v2
    [*] --> item: /inspect or ▶️ Start inspection (resumes at the first unsaved device)
    item --> item: next checklist item
    item --> item: reading not a number
    item --> note: last item answered
    item --> skip: ⏭ Skip device
    skip --> item: reason chosen or typed → device saved → next device
    note --> item: no fault → device saved → next device
    note --> impact: a fault
    impact --> item: impact chosen → device saved, ticket opened → next device
    [*] --> finish: /inspect with every device saved
    skip --> finish: no device left
    note --> finish: no device left
    impact --> finish: no device left
    finish --> item: a device added meanwhile
    finish --> [*]: 📤 Finish → core complete → report to the managers
    item --> [*]: ⏸ Later (saved devices stay saved)
    finish --> [*]: ⏸ Later
```
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from bot.chat import Button, InlineKeyboard, Kind
from bot.context import Ctx
from bot.dialogs.engine import DONE, STAY, Dialog, Outcome, StepSpec, step_table
from bot.dialogs.inputs import typed_text
from bot.errors import error_text
from bot.i18n import N_, Translator
from bot.labels import ASSET_KIND, IMPACT, label
from core.conversations import DialogState
from core.enums import Impact
from core.errors import Conflict, DomainError
from core.inspections import (
    OUTCOME_FAULT,
    OUTCOME_OK,
    OUTCOME_SKIPPED,
    Answer,
    CheckItem,
    CheckKind,
    DeviceView,
    RoundView,
    checklist,
    parse_reading,
)
from core.tickets import MAX_NOTE

INSPECT_DIALOG: Final = "inspect"
# Values of the walk's buttons.
LATER: Final = "later"
SKIP: Final = "skip"
NO_NOTE: Final = "none"
FINISH: Final = "finish"

CHECK_LABEL: Final = {
    "boots": N_("Starts up normally"),
    "os_patched": N_("Operating system patches up to date"),
    "antivirus": N_("Antivirus running and up to date"),
    "disk_health": N_("Disk health good"),
    "dust_cleaned": N_("Dust cleaned"),
    "peripherals": N_("Keyboard, mouse and monitor work"),
    "battery": N_("Battery holds its charge"),
    "print_test": N_("Test page prints cleanly"),
    "toner": N_("Toner / ink level"),
    "paper_feed": N_("Paper feeds without jams"),
    "scan_test": N_("Test scan is clean"),
    "glass_clean": N_("Scanner glass clean"),
    "feeder": N_("Document feeder works"),
    "image": N_("Image sharp and bright"),
    "lamp_hours": N_("Lamp hours"),
    "filter_clean": N_("Air filter clean"),
    "remote_batteries": N_("Remote control batteries"),
    "picture": N_("Picture clear, no dead pixels"),
    "inputs": N_("Inputs switch correctly"),
    "sound_clear": N_("Sound clear, no crackle"),
    "batteries": N_("Batteries"),
    "cables": N_("Cables and connectors intact"),
    "test_call": N_("Test call connects"),
    "camera": N_("Camera picture and control"),
    "audio": N_("Audio both ways"),
    "output": N_("Sound in every zone"),
    "no_noise": N_("No hum or noise"),
    "ventilation": N_("Ventilation free, not overheating"),
    "panel": N_("Control panel responds"),
    "presets": N_("Scene presets work"),
    "device_control": N_("Controls projector, screen and lights"),
    "works": N_("Works normally"),
}
ANSWER_LABEL: Final = {
    Answer.OK: N_("✅ OK"),
    Answer.FAULT: N_("❌ Fault"),
    Answer.REPLACED: N_("🔄 Replaced"),
    Answer.LOW: N_("⚠️ Low"),
}
SKIP_REASON: Final = {
    "missing": N_("Device not found"),
    "room_busy": N_("Room in use"),
    "user_away": N_("User away, locked"),
}
ERRORS: Final = {
    "inspection.not_open": N_("This inspection round opens on {starts_on}."),
    "inspection.already_completed": N_("This inspection round is already completed."),
    "inspection.incomplete": N_("{remaining} devices are not checked yet."),
    "inspection.bad_number": N_(
        "{text} is not a number from 0 to 100000. Type just the number, like 1520."
    ),
    "inspection.not_in_round": N_("That device is not part of this round."),
    "inspection.skip_reason_required": N_("Please give the reason for skipping."),
    "loan.already_returned": N_("This spare device is already recorded as returned."),
    "permission_denied.inspect": N_("Only the site's engineers can run this inspection."),
    "permission_denied.return_loan": N_(
        "Only engineers, dispatchers and managers record returned spare devices."
    ),
}


def inspection_error_text(t: Translator, tz: str, error: DomainError) -> str:
    """A sentence for the inspection and loan errors; the shared table for the rest."""
    action = error.params.get("action")
    message = ERRORS.get(f"{error.code}.{action}") if action else ERRORS.get(error.code)
    if message is None:
        return error_text(t, error)
    params: dict[str, Any] = {key: value for key, value in error.params.items() if key != "action"}
    if "starts_on" in params:
        params["starts_on"] = t.moment(datetime.fromisoformat(str(params["starts_on"])), tz)
    return t(message, **params)


def check_label(t: Translator, code: str) -> str:
    """The translated name of a checklist item."""
    return label(t, CHECK_LABEL, code)


def answer_text(t: Translator, item: CheckItem, value: Any) -> str:
    """An item's answer as shown back: '2100' for readings, '✅ OK' for the others."""
    if item.kind is CheckKind.NUMBER:
        return str(value)
    return label(t, {a.value: text for a, text in ANSWER_LABEL.items()}, value)


def device_line(t: Translator, device: DeviceView) -> str:
    """'Projector · PJ-01 · Meeting room A · Epson EB-X41'."""
    parts = [label(t, ASSET_KIND, device.kind), device.tag, device.location, device.brand_model]
    return " · ".join(part for part in parts if part)


def round_title(t: Translator, view: RoundView) -> str:
    """The first line of every step."""
    return t(
        "🔍 <b>{plan}</b> · {period} · {site}",
        plan=view.plan_name,
        period=view.period,
        site=view.site_name,
    )


def fault_symptom(
    t: Translator, view: RoundView, device: DeviceView, answers: dict[str, Any], note: str
) -> str:
    """The ticket's symptom, written as the engineer would: what failed, where, and the note."""
    failed = [
        check_label(t, item.code)
        for item in checklist(device.kind)
        if answers.get(item.code) == Answer.FAULT.value
    ]
    text = t(
        "Found in inspection {period} ({plan}): {device}. Failed: {items}.",
        period=view.period,
        plan=view.plan_name,
        device=device_line(t, device),
        items="; ".join(failed),
    )
    if note:
        text += " " + t("Note: {note}", note=note)
    return text


class Step(StrEnum):
    """The walk's steps (the values are stored in the dialog state)."""

    ITEM = "item"
    NOTE = "note"
    IMPACT = "impact"
    SKIP = "skip"
    FINISH = "finish"


class InspectionDialog(Dialog[Step]):
    """Walk a round's devices and save each; finish with the report."""

    name = INSPECT_DIALOG
    steps = Step
    first = Step.ITEM
    entries = frozenset({Step.ITEM, Step.FINISH})

    # --- opening and resuming -----------------------------------------------------------------

    async def start(self, ctx: Ctx, **data: Any) -> None:
        """Start the round (or resume the walk already open for it)."""
        inspection_id = int(data["inspection_id"])
        try:
            view = await ctx.app.helpdesk.inspections.start(inspection_id, actor_id=ctx.person_id)
        except DomainError as error:
            await ctx.say(inspection_error_text(ctx.t, ctx.tz, error))
            return
        open_state = await ctx.dialog_state()
        open_step = None if open_state is None else self.step_named(open_state.step)
        if (
            open_state is not None
            and open_state.dialog == self.name
            and open_state.data.get("inspection_id") == inspection_id
            and open_state.data.get("asset_id") not in view.items
            and open_step is not None
            and open_step is not Step.FINISH
        ):
            open_state.data["notice"] = ctx._("Carrying on where you stopped.")
            open_state.message_id = None  # ask anew at the bottom of the chat
            await self.enter(ctx, open_state, open_step)
            return
        state = DialogState(self.name, self.first, {"inspection_id": inspection_id})
        await self.begin(ctx, state, self.next_device(state, view))

    @staticmethod
    def next_device(state: DialogState, view: RoundView) -> Step:
        """Point the state at the first unsaved device: its first item, or finish when none is left."""
        device = view.next_device()
        if device is None:
            state.data.pop("asset_id", None)
            return Step.FINISH
        state.data.update(asset_id=device.asset_id, item=0, answers={}, note="")
        return Step.ITEM

    async def view(self, ctx: Ctx, state: DialogState) -> RoundView:
        """The round as the database holds it now."""
        return await ctx.app.helpdesk.inspections.round(int(state.data["inspection_id"]))

    def take_notice(self, state: DialogState) -> str:
        """A one-off line to show above the next prompt (a saved device, a ticket opened)."""
        notice = str(state.data.pop("notice", "") or "")
        return f"{notice}\n\n" if notice else ""

    def button(self, ctx: Ctx, state: DialogState, text: str, *parts: object) -> Button:
        """A button of this step that names the device (and item) it belongs to."""
        return self.choice(ctx, state, text, ".".join(str(part) for part in parts))

    def own_press(self, state: DialogState, value: str, *parts: object) -> str | None:
        """The answer part of a press made for this device (and item); None for a stale one."""
        prefix = ".".join(str(part) for part in parts) + "."
        return value[len(prefix) :] if value.startswith(prefix) else None

    async def stale(self, ctx: Ctx) -> Outcome:
        """A button of an earlier question was pressed."""
        await ctx.say(ctx._("That button belongs to an earlier question; use the newest one."))
        return STAY

    async def pause(self, ctx: Ctx, state: DialogState) -> Outcome:
        """⏸ Later: leave the walk; saved devices stay saved."""
        await self.show(
            ctx,
            state,
            ctx._("⏸ Paused. Every device saved so far is kept; send /inspect to carry on."),
        )
        return DONE

    def header(self, ctx: Ctx, view: RoundView, device: DeviceView) -> str:
        """Round title and which device of how many."""
        return "\n".join(
            [
                round_title(ctx.t, view),
                ctx._(
                    "Device {n} of {total}: <b>{device}</b>",
                    n=view.position(device.asset_id),
                    total=len(view.devices),
                    device=device_line(ctx.t, device),
                ),
            ]
        )

    async def current(self, ctx: Ctx, state: DialogState) -> tuple[RoundView, DeviceView]:
        """The round and the device being checked."""
        view = await self.view(ctx, state)
        device = view.device(int(state.data["asset_id"]))
        assert device is not None  # saved devices stay part of the round
        return view, device

    # --- the checklist ------------------------------------------------------------------------

    async def ask_item(self, ctx: Ctx, state: DialogState) -> None:
        """One checklist item of the device: answer buttons, or type a reading."""
        view, device = await self.current(ctx, state)
        items = checklist(device.kind)
        index = int(state.data["item"])
        item = items[index]
        asset = device.asset_id
        lines = [self.take_notice(state) + self.header(ctx, view, device)]
        answers: dict[str, Any] = state.data.get("answers") or {}
        for done in items[:index]:
            lines.append(
                f"  {check_label(ctx.t, done.code)}: {answer_text(ctx.t, done, answers.get(done.code))}"
            )
        question = ctx._(
            "{n}/{total}. <b>{item}</b>?",
            n=index + 1,
            total=len(items),
            item=check_label(ctx.t, item.code),
        )
        rows: list[list[Button]] = []
        if item.kind is CheckKind.NUMBER:
            question += "\n" + ctx._("Type the reading as a number, e.g. 1520.")
        else:
            rows.append(
                [
                    self.button(ctx, state, ctx._(ANSWER_LABEL[answer]), asset, index, answer.value)
                    for answer in item.answers
                ]
            )
        rows.append(
            [
                self.button(ctx, state, ctx._("⏭ Skip device"), asset, SKIP),
                self.button(ctx, state, ctx._("⏸ Later"), asset, LATER),
            ]
        )
        lines.append(question)
        await self.show(ctx, state, "\n".join(lines), InlineKeyboard.of(*rows))

    async def on_item(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Keep the answer; next item, or the note after the last one."""
        asset = int(state.data["asset_id"])
        index = int(state.data["item"])
        _, device = await self.current(ctx, state)
        item = checklist(device.kind)[index]
        if value is None:
            if item.kind is not CheckKind.NUMBER:
                await ctx.say(ctx._("Please answer with the buttons above, or send /cancel."))
                return STAY
            if ctx.incoming.kind is not Kind.TEXT:
                await ctx.say(ctx._("Type the reading as a number, e.g. 1520."))
                return STAY
            try:
                answer: Any = parse_reading(ctx.incoming.text)
            except DomainError as error:
                await ctx.say(inspection_error_text(ctx.t, ctx.tz, error))
                return STAY
        else:
            action = self.own_press(state, value, asset)
            if action == SKIP:
                return Step.SKIP
            if action == LATER:
                return await self.pause(ctx, state)
            chosen = self.own_press(state, value, asset, index)
            if chosen is None or chosen not in {a.value for a in item.answers}:
                return await self.stale(ctx)
            answer = chosen
        state.data.setdefault("answers", {})[item.code] = answer
        if index + 1 < len(checklist(device.kind)):
            state.data["item"] = index + 1
            return Step.ITEM
        return Step.NOTE

    # --- note, impact, skip -------------------------------------------------------------------

    def faults(self, state: DialogState) -> bool:
        """Any item of the device answered Fault."""
        answers: dict[str, Any] = state.data.get("answers") or {}
        return Answer.FAULT.value in answers.values()

    async def ask_note(self, ctx: Ctx, state: DialogState) -> None:
        """An optional note; required words for a fault go on its ticket."""
        view, device = await self.current(ctx, state)
        if self.faults(state):
            question = ctx._(
                "❌ A fault was found. Describe it in a few words for the ticket, or press “No note”."
            )
        else:
            question = ctx._("📝 Anything to note about this device? Type it, or press “No note”.")
        keyboard = InlineKeyboard.of(
            [self.button(ctx, state, ctx._("No note"), device.asset_id, NO_NOTE)]
        )
        await self.show(ctx, state, f"{self.header(ctx, view, device)}\n{question}", keyboard)

    async def on_note(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Keep the note; a fault goes on to its impact, anything else is saved."""
        asset = int(state.data["asset_id"])
        if value is not None:
            if self.own_press(state, value, asset) != NO_NOTE:
                return await self.stale(ctx)
            state.data["note"] = ""
        else:
            text, problem = typed_text(
                ctx, MAX_NOTE, missing=ctx._("Please type the note as text, or press “No note”.")
            )
            if text is None:
                await ctx.say(problem)
                return STAY
            state.data["note"] = text
        if self.faults(state):
            return Step.IMPACT
        return await self.save(ctx, state)

    async def ask_impact(self, ctx: Ctx, state: DialogState) -> None:
        """How badly the fault hurts the users' work: the ticket's level."""
        view, device = await self.current(ctx, state)
        rows = [
            [self.button(ctx, state, ctx._(text), device.asset_id, impact.value)]
            for impact, text in IMPACT.items()
        ]
        question = ctx._("How badly does this fault affect the people who use the device?")
        await self.show(
            ctx, state, f"{self.header(ctx, view, device)}\n{question}", InlineKeyboard.of(*rows)
        )

    async def on_impact(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Save the device with its fault: the core opens the ticket."""
        if value is None:
            await ctx.say(ctx._("Please answer with the buttons above, or send /cancel."))
            return STAY
        chosen = self.own_press(state, value, int(state.data["asset_id"]))
        if chosen not in {impact.value for impact in Impact}:
            return await self.stale(ctx)
        return await self.save(ctx, state, impact=Impact(chosen))

    async def ask_skip(self, ctx: Ctx, state: DialogState) -> None:
        """Why the device cannot be checked now."""
        view, device = await self.current(ctx, state)
        rows = [
            [self.button(ctx, state, ctx._(text), device.asset_id, code)]
            for code, text in SKIP_REASON.items()
        ]
        question = ctx._("⏭ Why is this device skipped? Choose, or type the reason.")
        await self.show(
            ctx, state, f"{self.header(ctx, view, device)}\n{question}", InlineKeyboard.of(*rows)
        )

    async def on_skip(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Save the device as skipped with the reason."""
        if value is not None:
            code = self.own_press(state, value, int(state.data["asset_id"]))
            if code not in SKIP_REASON:
                return await self.stale(ctx)
            reason = ctx._(SKIP_REASON[code])
        else:
            typed, problem = typed_text(
                ctx, MAX_NOTE, missing=ctx._("Please type the reason as text, or choose one above.")
            )
            if typed is None:
                await ctx.say(problem)
                return STAY
            reason = typed
        return await self.save(ctx, state, skip_reason=reason)

    # --- saving and finishing -----------------------------------------------------------------

    async def save(
        self,
        ctx: Ctx,
        state: DialogState,
        *,
        impact: Impact | None = None,
        skip_reason: str | None = None,
    ) -> Step | Outcome:
        """Save the device through the core, then go on to the next one."""
        view, device = await self.current(ctx, state)
        answers: dict[str, Any] = dict(state.data.get("answers") or {})
        note = str(state.data.get("note") or "")
        service = ctx.app.helpdesk.inspections
        try:
            item = await service.record_device(
                view.id,
                device.asset_id,
                actor_id=ctx.person_id,
                answers=None if skip_reason is not None else answers,
                note=note,
                skip_reason=skip_reason,
                impact=impact,
                symptom=fault_symptom(ctx.t, view, device, answers, note) if impact else "",
            )
        except Conflict as error:
            await self.show(ctx, state, inspection_error_text(ctx.t, ctx.tz, error))
            return DONE
        if item.outcome == OUTCOME_SKIPPED:
            notice = ctx._("⏭ {tag} skipped.", tag=device.tag)
        elif item.ticket_id is not None:
            notice = ctx._(
                "❌ {tag} saved with a fault; ticket #{ticket} opened.",
                tag=device.tag,
                ticket=item.ticket_id,
            )
        else:
            notice = ctx._("✅ {tag} saved.", tag=device.tag)
        state.data["notice"] = notice
        return self.next_device(state, await self.view(ctx, state))

    async def ask_finish(self, ctx: Ctx, state: DialogState) -> None:
        """Every device is saved: the totals, and Finish."""
        view = await self.view(ctx, state)
        lines = [
            self.take_notice(state) + round_title(ctx.t, view),
            ctx._(
                "🏁 All {n} devices done: ✅ {ok} OK · ❌ {fault} with a fault · ⏭ {skipped} skipped.",
                n=len(view.devices),
                ok=view.count(OUTCOME_OK),
                fault=view.count(OUTCOME_FAULT),
                skipped=view.count(OUTCOME_SKIPPED),
            ),
            ctx._("Press 📤 Finish to complete the round and send the report to the managers."),
        ]
        keyboard = InlineKeyboard.of(
            [self.choice(ctx, state, ctx._("📤 Finish and send the report"), FINISH)],
            [self.choice(ctx, state, ctx._("⏸ Later"), LATER)],
        )
        await self.show(ctx, state, "\n".join(lines), keyboard)

    async def on_finish(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Complete the round; a device added meanwhile sends the walk back to it."""
        if value == LATER:
            return await self.pause(ctx, state)
        if value != FINISH:
            await ctx.say(ctx._("Please answer with the buttons above, or send /cancel."))
            return STAY
        service = ctx.app.helpdesk.inspections
        inspection_id = int(state.data["inspection_id"])
        try:
            view = await service.complete(inspection_id, actor_id=ctx.person_id)
        except Conflict as error:
            if error.code == "inspection.incomplete":
                state.data["notice"] = inspection_error_text(ctx.t, ctx.tz, error)
                return self.next_device(state, await service.round(inspection_id))
            await self.show(ctx, state, inspection_error_text(ctx.t, ctx.tz, error))
            return DONE
        text = ctx._(
            "✅ <b>Inspection completed</b>: {plan} · {period}. The report went to the managers.",
            plan=view.plan_name,
            period=view.period,
        )
        await self.show(ctx, state, text)
        return DONE

    table = step_table(
        {
            Step.ITEM: StepSpec(ask_item, on_item, to={Step.NOTE, Step.SKIP}),
            Step.NOTE: StepSpec(ask_note, on_note, to={Step.IMPACT, Step.ITEM, Step.FINISH}),
            Step.IMPACT: StepSpec(ask_impact, on_impact, to={Step.ITEM, Step.FINISH}),
            Step.SKIP: StepSpec(ask_skip, on_skip, to={Step.ITEM, Step.FINISH}),
            Step.FINISH: StepSpec(ask_finish, on_finish, to={Step.ITEM}),
        }
    )
