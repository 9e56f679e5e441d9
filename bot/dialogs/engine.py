"""The small engine that runs multi-step dialogs with their state in the database.

A dialog names its steps in a `StrEnum` (the values are what the database stores) and
spells out, in one table, what each step does and where it may lead:

    class Step(StrEnum):
        DEVICE = "device"
        SYMPTOM = "symptom"

    class ReportDialog(Dialog[Step]):
        name = REPORT_DIALOG
        steps = Step
        first = Step.DEVICE                               # where `start` enters
        entries = frozenset({Step.DEVICE, Step.SYMPTOM})  # every step `start` may enter

        async def ask_device(self, ctx, state, note=""): ...        # shows the prompt
        async def on_device(self, ctx, state, value) -> Step | Outcome: ...  # the answer

        table = step_table({
            Step.DEVICE: StepSpec(ask_device, on_device, to={Step.SYMPTOM}),
            Step.SYMPTOM: StepSpec(ask_symptom, on_symptom),
        })

The table names the methods themselves, so it comes last in the class body; `step_table`
makes it read-only. `entries` defaults to the first step alone; a `start` that picks
its step opens the dialog with `begin(ctx, state, step)`, which refuses any other step.

`ask` shows the step's prompt; a step that explains wrong input above its prompt takes
an optional `note`, which its own `on` passes when it asks again. `on` takes the answer
(typed input, or the value of a dialog button) and returns a step of the enum, `DONE` to
end, or `STAY` to keep waiting (after telling the person what was wrong). Staying on
the same step (the next item of a checklist) is always allowed; `to` lists the others.

mypy checks the table against the enum and the methods; at class creation the engine
checks that the table covers exactly the enum's members and that every `to` and entry
is one of them. At run time an outcome other than `STAY`, `DONE`, the same step or one
of its `to` is a programming error: the dialog is closed and the failure goes to the
router, which logs it and apologises. A step name from the database that the enum does
not know (state saved by an older version) ends the dialog with a clear sentence. Each
dialog module draws its dialog as a Mermaid `stateDiagram-v2` in its docstring;
tests/unit/test_dialog_diagrams.py checks the drawing against the table and entries.

Buttons inside a dialog carry `d:<dialog>:<instance>:<step>:<value>`, so a button from an
earlier step is recognised as stale, and so is one from an earlier run of the same dialog
(each `start` draws a new instance id): a Confirm left on the screen by a cancelled report
never files the next one. A step is saved before its prompt is sent, so a restart
loses nothing and an answer sent the moment the prompt arrives is taken at that step;
the saved state carries a version, and a save over a newer one is refused. The steps taken are kept in the state too, so a dialog can offer ◀ Back
(`nav_row`): it shows the previous step again with its answer still filled in.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from enum import Enum, StrEnum
from types import MappingProxyType
from typing import Any, ClassVar, Final, Generic, Self, TypeVar

from bot.callbacks import Callback
from bot.chat import Button, InlineKeyboard, Keyboard, Kind
from bot.context import Ctx
from core.conversations import DialogState, copied

log = logging.getLogger(__name__)

DIALOG_BUTTON: Final = "d"  # callback action of every button inside a dialog
CANCEL_VALUE: Final = "__cancel__"
BACK_VALUE: Final = "__back__"
TRAIL: Final = "_trail"  # state.data key: the steps answered so far, oldest first
INSTANCE: Final = "_instance"  # state.data key: this run of the dialog, in its buttons

StepT = TypeVar("StepT", bound=StrEnum)  # a dialog's step enum
DialogT = TypeVar("DialogT")  # the dialog class a step table belongs to


class Outcome(Enum):
    """What a step's `on` returns besides the next step."""

    DONE = "done"  # the dialog is over: its state is cleared
    STAY = "stay"  # wait for another answer at the same step (the person was told why)


DONE: Final = Outcome.DONE
STAY: Final = Outcome.STAY


class DialogDefinitionError(TypeError):
    """A dialog class whose step table does not fit its steps."""


class IllegalStep(RuntimeError):
    """A dialog moved somewhere its step table does not allow."""


@dataclass(frozen=True)
class StepSpec(Generic[DialogT, StepT]):
    """One row of a dialog's step table: its prompt, its answer and where it may lead."""

    ask: Callable[[DialogT, Ctx, DialogState], Awaitable[None]]
    on: Callable[[DialogT, Ctx, DialogState, str | None], Awaitable[StepT | Outcome]]
    to: AbstractSet[StepT] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "to", frozenset(self.to))


def step_table(
    rows: Mapping[StepT, StepSpec[DialogT, StepT]],
) -> Mapping[StepT, StepSpec[DialogT, StepT]]:
    """A dialog's step table, read-only."""
    return MappingProxyType(dict(rows))


class Dialog(Generic[StepT]):
    """Base class of every dialog; a subclass declares its steps and its step table."""

    name: ClassVar[str]
    steps: type[StepT]
    first: StepT
    entries: frozenset[StepT]
    table: Mapping[StepT, StepSpec[Self, StepT]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "table" not in cls.__dict__:
            return  # a shared base such as CardDialog: its subclasses bring the steps
        first = getattr(cls, "first", None)
        if "entries" not in cls.__dict__ and first is not None:
            cls.entries = frozenset({first})
        check_definition(cls)

    # --- running ------------------------------------------------------------------------

    async def start(self, ctx: Ctx, **data: Any) -> None:
        """Open the dialog at its first step (replacing any other open dialog)."""
        await self.begin(ctx, DialogState(self.name, self.first.value, dict(data)))

    async def begin(self, ctx: Ctx, state: DialogState, step: StepT | None = None) -> None:
        """Open the dialog at one of its entries (by default its first step), as a new run."""
        entry = self.first if step is None else step
        if not isinstance(entry, self.steps) or entry not in self.entries:
            raise IllegalStep(f"dialog {self.name!r} may not start at {entry!r}")
        state.data[INSTANCE] = new_instance()
        await self.enter(ctx, state, entry)

    async def enter(self: Self, ctx: Ctx, state: DialogState, step: StepT) -> None:
        """Move to `step`: save it, then show its prompt.

        Saved first, so an answer sent the moment the prompt arrives is taken at this
        step; the prompt's message (and anything the prompt noted) is saved afterwards.
        """
        state.step = step.value
        store = ctx.app.conversations
        await store.save(ctx.chat_id, ctx.incoming.user.id, state)
        shown, data = state.message_id, copied(state.data)
        await self.table[step].ask(self, ctx, state)
        if state.message_id != shown or state.data != data:
            # Recorded with the update's end (the step itself is saved already).
            await store.save(ctx.chat_id, ctx.incoming.user.id, state, later=True)

    def step_named(self, name: str) -> StepT | None:
        """The step stored as `name`; None for one this version does not know."""
        try:
            return self.steps(name)
        except ValueError:
            return None

    async def handle(self: Self, ctx: Ctx, state: DialogState, value: str | None) -> None:
        """Feed an update (typed input, or a dialog button's value) to the current step."""
        if value == CANCEL_VALUE:
            await self.cancel(ctx, state)
            return
        step = self.step_named(state.step)
        if step is None:
            await self.expire(ctx, state)
            return
        if value is not None:
            await ctx.answer()
        if value == BACK_VALUE:
            await self.back(ctx, state)
            return
        spec = self.table[step]
        outcome = await spec.on(self, ctx, state, value)
        if outcome is STAY:
            # Recorded with the update's end: handled again after a crash, it is kept once.
            await ctx.app.conversations.save(ctx.chat_id, ctx.incoming.user.id, state, later=True)
            return
        if outcome is DONE:
            await ctx.app.conversations.clear(ctx.chat_id, ctx.incoming.user.id)
            return
        if not isinstance(outcome, self.steps) or (outcome is not step and outcome not in spec.to):
            # A bug, not the person's doing: close the dialog rather than leave them stuck.
            await ctx.app.conversations.clear(ctx.chat_id, ctx.incoming.user.id)
            raise IllegalStep(
                f"dialog {self.name!r}: step {step.value!r} led to {outcome!r}, "
                f"not one of {sorted(spec.to)}"
            )
        if outcome is not step:
            state.data[TRAIL] = [*(state.data.get(TRAIL) or []), step.value]
        await self.enter(ctx, state, outcome)

    async def back(self, ctx: Ctx, state: DialogState) -> None:
        """◀ Back: show the last answered step again (nothing happens before the first)."""
        trail = list(state.data.get(TRAIL) or [])
        if not trail:
            return
        previous = self.step_named(trail.pop())
        if previous is None:
            await self.expire(ctx, state)
            return
        state.data[TRAIL] = trail
        await self.enter(ctx, state, previous)

    async def cancel(self, ctx: Ctx, state: DialogState) -> None:
        """Close the dialog without doing anything; tell the person nothing was changed."""
        await self.close_with(ctx, state, ctx._("Cancelled. Nothing was changed."))

    async def expire(self, ctx: Ctx, state: DialogState) -> None:
        """End a dialog saved at a step this version does not know; ask to start again."""
        log.warning("dialog %r: unknown step in %r; ended", self.name, state.step)
        await self.close_with(ctx, state, ctx._("That conversation is over; please start again."))

    async def close_with(self, ctx: Ctx, state: DialogState, text: str) -> None:
        """Clear the state and say `text` (on the dialog's message when a button of it was pressed)."""
        await ctx.app.conversations.clear(ctx.chat_id, ctx.incoming.user.id)
        if ctx.incoming.kind is Kind.CALLBACK and ctx.incoming.message_id == state.message_id:
            await ctx.answer()
            await ctx.edit(text)
        else:
            await ctx.say(text)

    # --- helpers for subclasses ---------------------------------------------------------

    def choice(self, ctx: Ctx, state: DialogState, text: str, value: object) -> Button:
        """A button answering the current step of this run with `value`."""
        return ctx.button(text, DIALOG_BUTTON, *button_args(state), value)

    def cancel_button(self, ctx: Ctx, state: DialogState) -> Button:
        """The dialog's own cancel button."""
        return self.choice(ctx, state, ctx._("✖ Cancel"), CANCEL_VALUE)

    def nav_row(self, ctx: Ctx, state: DialogState) -> list[Button]:
        """◀ Back (once a step has been answered) and ✖ Cancel, for the last keyboard row."""
        row = [self.cancel_button(ctx, state)]
        if state.data.get(TRAIL):
            row.insert(0, self.choice(ctx, state, ctx._("◀ Back"), BACK_VALUE))
        return row

    async def show(
        self, ctx: Ctx, state: DialogState, text: str, keyboard: Keyboard | None = None
    ) -> None:
        """Show a step's prompt: edit the dialog's message when a button of it was pressed, else send anew."""
        pressed_here = (
            ctx.incoming.kind is Kind.CALLBACK
            and state.message_id is not None
            and ctx.incoming.message_id == state.message_id
        )
        if pressed_here and (keyboard is None or isinstance(keyboard, InlineKeyboard)):
            await ctx.edit(text, keyboard, message_id=state.message_id)
            return
        state.message_id = await ctx.say(text, keyboard)


def check_definition(cls: type[Dialog[Any]]) -> None:
    """Refuse a dialog class whose table, entries or first step do not fit its steps."""
    where = f"{cls.__module__}.{cls.__qualname__}"
    steps = getattr(cls, "steps", None)
    if not (isinstance(steps, type) and issubclass(steps, StrEnum)):
        raise DialogDefinitionError(f"{where}: `steps` must be a StrEnum")
    if not isinstance(getattr(cls, "name", None), str):
        raise DialogDefinitionError(f"{where}: `name` must be a string")
    members = set(steps)
    keys = set(cls.table)
    if not all(isinstance(key, steps) for key in keys) or keys != members:
        raise DialogDefinitionError(
            f"{where}: the table must cover exactly {sorted(members)}, not {sorted(keys)}"
        )
    for step, spec in cls.table.items():
        if not all(isinstance(target, steps) for target in spec.to):
            raise DialogDefinitionError(f"{where}: {step!r} leads outside {steps.__name__}")
        if step in spec.to:
            raise DialogDefinitionError(
                f"{where}: {step!r} lists itself in `to` (staying on a step is always allowed)"
            )
    first = getattr(cls, "first", None)
    if not isinstance(first, steps):
        raise DialogDefinitionError(f"{where}: `first` must be a member of {steps.__name__}")
    entries: frozenset[Any] = getattr(cls, "entries", frozenset())
    if not all(isinstance(entry, steps) for entry in entries) or first not in entries:
        raise DialogDefinitionError(
            f"{where}: `entries` must be members of {steps.__name__} and include `first`"
        )


def new_instance() -> str:
    """A fresh id for one run of a dialog (six hex digits: short enough for 64-byte buttons)."""
    return secrets.token_hex(3)


def button_args(state: DialogState) -> tuple[str, str, str]:
    """The dialog, run and step a button of the current step carries, before its value."""
    return state.dialog, str(state.data.get(INSTANCE) or ""), state.step


async def press_dialog_button(ctx: Ctx, callback: Callback) -> None:
    """A dialog's button: handled by the dialog when it belongs to this run's current step."""
    if len(callback.args) == 3:  # `d:<dialog>:<step>:<value>`, from before runs had ids
        await ctx.answer(ctx._("This button belongs to a step that is already over."), alert=True)
        return
    if len(callback.args) != 4:
        await ctx.answer(ctx._("This button is not valid."), alert=True)
        return
    dialog_name, instance, step, value = callback.args
    state = await ctx.dialog_state()
    if (
        state is None
        or button_args(state) != (dialog_name, instance, step)
        or dialog_name not in ctx.dialogs
    ):
        await ctx.answer(ctx._("This button belongs to a step that is already over."), alert=True)
        return
    await ctx.dialogs[dialog_name].handle(ctx, state, value)
