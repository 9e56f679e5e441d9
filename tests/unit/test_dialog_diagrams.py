"""Each dialog module's Mermaid diagram draws exactly what its step table allows."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass
from enum import StrEnum
from types import ModuleType
from typing import Any

import pytest

import bot.dialogs
from bot.context import Ctx
from bot.dialogs.engine import DONE, Dialog, Outcome, StepSpec, step_table
from bot.handlers import build_router
from core.conversations import DialogState

START = "[*]"
BLOCK = re.compile(r"```mermaid\n(.*?)```", re.DOTALL)
ARROW = re.compile(
    r"^(?P<source>\[\*\]|[A-Za-z_]\w*)\s*-->\s*(?P<target>\[\*\]|[A-Za-z_]\w*)\s*(?::.*)?$"
)


@dataclass(frozen=True)
class Diagram:
    """A `stateDiagram-v2` reduced to its arrows (source, target); `[*]` is start and end."""

    arrows: frozenset[tuple[str, str]]

    @property
    def states(self) -> set[str]:
        """Every state drawn, without `[*]`."""
        return {state for arrow in self.arrows for state in arrow} - {START}

    def targets(self, source: str) -> set[str]:
        """Where the arrows from `source` lead, without staying and without the end."""
        return {target for s, target in self.arrows if s == source and target not in (s, START)}


def parse_diagram(docstring: str) -> Diagram:
    """The one Mermaid state diagram in a docstring; any line that is not an arrow fails."""
    blocks = BLOCK.findall(docstring)
    assert len(blocks) == 1, f"expected one mermaid diagram, found {len(blocks)}"
    lines = [line.strip() for line in blocks[0].splitlines() if line.strip()]
    assert lines[0] == "stateDiagram-v2", f"not a state diagram: {lines[0]!r}"
    arrows = set()
    for line in lines[1:]:
        match = ARROW.match(line)
        assert match is not None, f"not an arrow: {line!r}"
        arrows.add((match["source"], match["target"]))
    return Diagram(frozenset(arrows))


def disagreements(dialog: type[Dialog[Any]], diagram: Diagram) -> list[str]:
    """Where the diagram and the dialog's steps, table and entries differ (empty when they agree)."""
    found = []
    steps = {step.value for step in dialog.steps}
    if diagram.states != steps:
        found.append(
            f"states: drawn but no step {sorted(diagram.states - steps)}, "
            f"step but not drawn {sorted(steps - diagram.states)}"
        )
    for step, spec in dialog.table.items():
        allowed = {target.value for target in spec.to}
        drawn = diagram.targets(step.value)
        if drawn != allowed:
            found.append(
                f"{step.value} -->: drawn but not in `to` {sorted(drawn - allowed)}, "
                f"in `to` but not drawn {sorted(allowed - drawn)}"
            )
    entries = {entry.value for entry in dialog.entries}
    drawn_entries = diagram.targets(START)
    if drawn_entries != entries:
        found.append(
            f"[*] -->: drawn but not an entry {sorted(drawn_entries - entries)}, "
            f"entry but not drawn {sorted(entries - drawn_entries)}"
        )
    return found


def dialog_modules() -> list[ModuleType]:
    """Every module of bot.dialogs, imported."""
    return [
        importlib.import_module(f"bot.dialogs.{info.name}")
        for info in pkgutil.iter_modules(bot.dialogs.__path__)
    ]


def dialogs_of(module: ModuleType) -> list[type[Dialog[Any]]]:
    """The dialog classes (those with a step table) defined in `module`."""
    return [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, Dialog) and cls.__module__ == module.__name__ and "table" in vars(cls)
    ]


DIALOG_MODULES = [module for module in dialog_modules() if dialogs_of(module)]


def test_every_registered_dialog_lives_in_bot_dialogs():
    registered = {type(dialog) for dialog in build_router().dialogs.values()}
    defined = {cls for module in DIALOG_MODULES for cls in dialogs_of(module)}
    assert registered == defined


@pytest.mark.parametrize("module", DIALOG_MODULES, ids=lambda module: module.__name__)
def test_each_dialog_module_holds_one_dialog(module):
    assert len(dialogs_of(module)) == 1


@pytest.mark.parametrize("module", DIALOG_MODULES, ids=lambda module: module.__name__)
def test_the_diagram_draws_exactly_what_the_step_table_allows(module):
    (dialog,) = dialogs_of(module)
    assert disagreements(dialog, parse_diagram(module.__doc__ or "")) == []


# --- the check itself catches a wrong diagram and a wrong table --------------------------------


class Step(StrEnum):
    A = "a"
    B = "b"
    C = "c"


class Sample(Dialog[Step]):
    """A → B → C, or A → C directly; C ends."""

    name = "sample"
    steps = Step
    first = Step.A

    async def ask(self, ctx: Ctx, state: DialogState) -> None:
        """Nothing to show."""

    async def on(self, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
        """Nothing to take."""
        return DONE

    table = step_table(
        {
            Step.A: StepSpec(ask, on, to={Step.B, Step.C}),
            Step.B: StepSpec(ask, on, to={Step.C}),
            Step.C: StepSpec(ask, on),
        }
    )


class SampleMissingAMove(Sample):
    """The same dialog, but its table forgot A → C."""

    table = step_table(
        {
            Step.A: StepSpec(Sample.ask, Sample.on, to={Step.B}),
            Step.B: StepSpec(Sample.ask, Sample.on, to={Step.C}),
            Step.C: StepSpec(Sample.ask, Sample.on),
        }
    )


RIGHT = """
```mermaid
stateDiagram-v2
    [*] --> a: /sample
    a --> a: wrong input
    a --> b: one way
    a --> c: the other way
    b --> c
    c --> [*]: done
```
"""


def test_a_diagram_that_matches_has_no_disagreements():
    assert disagreements(Sample, parse_diagram(RIGHT)) == []


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (("    b --> c\n", ""), "b -->"),
        (("    b --> c\n", "    b --> c\n    b --> a: back\n"), "b -->"),
        (("    b --> c\n", "    b --> c\n    c --> d\n"), "states"),
        (("    a --> b: one way\n", ""), "a -->"),
        (("    [*] --> a: /sample\n", "    [*] --> a: /sample\n    [*] --> b: shortcut\n"), "[*]"),
    ],
    ids=["missing-arrow", "extra-arrow", "unknown-state", "missing-target", "extra-entry"],
)
def test_a_wrong_diagram_is_caught(change, complaint):
    wrong = RIGHT.replace(*change)
    assert wrong != RIGHT
    found = disagreements(Sample, parse_diagram(wrong))
    assert any(line.startswith(complaint) for line in found), found


def test_a_wrong_table_is_caught():
    assert disagreements(SampleMissingAMove, parse_diagram(RIGHT)) == [
        "a -->: drawn but not in `to` ['c'], in `to` but not drawn []"
    ]


def test_a_line_that_is_not_an_arrow_is_refused():
    with pytest.raises(AssertionError, match="not an arrow"):
        parse_diagram(RIGHT.replace("b --> c", "b -> c"))
