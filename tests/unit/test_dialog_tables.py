"""A dialog class whose step table does not fit its steps is refused when it is defined."""

from __future__ import annotations

from enum import StrEnum

import pytest

from bot.context import Ctx
from bot.dialogs.engine import (
    DONE,
    Dialog,
    DialogDefinitionError,
    Outcome,
    StepSpec,
    step_table,
)
from core.conversations import DialogState


class Step(StrEnum):
    ONE = "one"
    TWO = "two"


class Elsewhere(StrEnum):
    ONE = "one"  # the same value as Step.ONE, but another dialog's step


async def ask(dialog: object, ctx: Ctx, state: DialogState) -> None:
    """Nothing to show."""


async def on(dialog: object, ctx: Ctx, state: DialogState, value: str | None) -> Step | Outcome:
    """Nothing to take."""
    return DONE


def define(**attributes: object) -> type[Dialog[Step]]:
    """A dialog class made at run time with these attributes (over a valid two-step table)."""
    body: dict[str, object] = {
        "name": "two_steps",
        "steps": Step,
        "first": Step.ONE,
        "table": step_table(
            {Step.ONE: StepSpec(ask, on, to={Step.TWO}), Step.TWO: StepSpec(ask, on)}
        ),
    }
    body.update(attributes)
    return type("TwoSteps", (Dialog,), body)


def test_a_valid_dialog_is_accepted_and_enters_at_its_first_step_by_default():
    dialog = define()
    assert dialog.entries == frozenset({Step.ONE})


def test_a_table_missing_a_step_is_refused():
    with pytest.raises(DialogDefinitionError, match="cover exactly"):
        define(table=step_table({Step.ONE: StepSpec(ask, on)}))


def test_a_table_with_another_enums_step_is_refused():
    table = {Elsewhere.ONE: StepSpec(ask, on), Step.TWO: StepSpec(ask, on)}
    with pytest.raises(DialogDefinitionError, match="cover exactly"):
        define(table=table)


def test_a_move_to_another_enums_step_is_refused():
    table = {Step.ONE: StepSpec(ask, on, to={Elsewhere.ONE}), Step.TWO: StepSpec(ask, on)}
    with pytest.raises(DialogDefinitionError, match="leads outside"):
        define(table=table)


def test_a_step_listing_itself_is_refused():
    table = {Step.ONE: StepSpec(ask, on, to={Step.ONE}), Step.TWO: StepSpec(ask, on)}
    with pytest.raises(DialogDefinitionError, match="lists itself"):
        define(table=table)


def test_entries_outside_the_steps_or_without_the_first_are_refused():
    with pytest.raises(DialogDefinitionError, match="entries"):
        define(entries=frozenset({Elsewhere.ONE}))
    with pytest.raises(DialogDefinitionError, match="entries"):
        define(entries=frozenset({Step.TWO}))


def test_steps_that_are_not_a_str_enum_are_refused():
    with pytest.raises(DialogDefinitionError, match="StrEnum"):
        define(steps=dict)
