"""The sandbox stands alone: it could be published without faultdesk's bot, core or demo.

The imports are read from the source (`tests/import_graph.py`), at any depth, so an
import inside a function or under `if TYPE_CHECKING:` counts as much as one at the top.
"""

from __future__ import annotations

from import_graph import find_cycle, import_graph, imports_in, imports_of, modules_of

FAULTDESK_PACKAGES = {"bot", "core", "demo"}


def test_the_sandbox_imports_nothing_from_faultdesk() -> None:
    offending = {
        f"{name} imports {imported}"
        for name, path in modules_of("sandbox").items()
        for imported in imports_of(name, path)
        if imported.split(".")[0] in FAULTDESK_PACKAGES
    }
    assert offending == set()


def test_the_sandbox_modules_import_each_other_without_a_cycle() -> None:
    cycle = find_cycle(import_graph("sandbox"))
    assert cycle is None, " -> ".join(cycle or [])


def test_the_people_and_the_state_do_not_import_the_server() -> None:
    graph = import_graph("sandbox")
    assert "sandbox.emulator" not in graph["sandbox.people"]
    assert graph["sandbox.state"] & {"sandbox.emulator", "sandbox.people"} == set()
    assert "sandbox.people" in graph["sandbox.emulator"]  # the server creates the people


def test_the_import_reader_sees_relative_imports_and_those_under_type_checking() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from .state import BotState\n"
        "from . import people\n"
        "if TYPE_CHECKING:\n"
        "    from bot.app import Application\n"
        "def later() -> None:\n"
        "    import core.clock\n"
    )
    found = imports_in(source, "sandbox")
    assert {"sandbox.state", "sandbox.people", "bot.app", "core.clock"} <= found
