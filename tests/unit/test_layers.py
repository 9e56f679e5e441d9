"""The layers hold: the domain knows nothing of chat, frameworks or the sandbox.

- `core` imports neither `bot`, the sandbox, the demo, aiogram nor python-telegram-bot.
- `bot` imports neither the sandbox nor the demo, except `faultdesk demo` starting the demo.
- The sandbox's own rules are in `tests/sandbox/test_package.py`.
"""

from __future__ import annotations

from import_graph import find_cycle, import_graph, imports_of, modules_of

# The one place the chat application reaches the demo: the `faultdesk demo` command.
DEMO_ENTRY = "bot.cli.run"


def imports_from(package: str, forbidden: set[str]) -> set[str]:
    """'module imports name' for every import of a forbidden top-level package."""
    return {
        f"{name} imports {imported}"
        for name, path in modules_of(package).items()
        for imported in imports_of(name, path)
        if imported.split(".")[0] in forbidden
    }


def test_the_domain_imports_neither_chat_nor_frameworks_nor_the_sandbox() -> None:
    assert imports_from("core", {"bot", "sandbox", "demo", "aiogram", "telegram"}) == set()


def test_the_chat_application_does_not_depend_on_the_sandbox() -> None:
    offending = imports_from("bot", {"sandbox", "demo"})
    assert {line for line in offending if not line.startswith(f"{DEMO_ENTRY} ")} == set()


def test_the_domain_modules_import_each_other_without_a_cycle() -> None:
    cycle = find_cycle(import_graph("core"))
    assert cycle is None, " -> ".join(cycle or [])


def test_the_checks_see_a_forbidden_import() -> None:
    graph = import_graph("bot")
    assert "bot.context" in graph["bot.router"]  # the reader sees ordinary imports
    assert any(line.startswith("bot.") for line in imports_from("bot", {"core"}))
