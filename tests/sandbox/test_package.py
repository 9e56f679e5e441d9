"""The sandbox stands alone: it could be published without faultdesk's bot, core or demo.

The imports are read from the source with `ast`, at any depth, so an import inside a
function or under `if TYPE_CHECKING:` counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import sandbox

PACKAGE_DIR = Path(sandbox.__file__).parent
FAULTDESK_PACKAGES = {"bot", "core", "demo"}


def module_name(path: Path) -> str:
    """The dotted name of a module of the sandbox package."""
    relative = path.relative_to(PACKAGE_DIR.parent).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def sandbox_modules() -> dict[str, Path]:
    """Every module of the package by its dotted name."""
    return {module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def imports_in(source: str, package: str) -> set[str]:
    """The modules a source imports, wherever the import statement stands.

    `package` is the package the source belongs to, for resolving relative imports.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")
            origin = ".".join(parts[: len(parts) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (origin, node.module or "") if part)
            found.add(module)
            # `from package import submodule` imports the submodule too.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def imports_of(name: str, path: Path) -> set[str]:
    """The modules one sandbox module imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), package)


def sandbox_import_graph() -> dict[str, set[str]]:
    """For each sandbox module, the sandbox modules it imports."""
    modules = sandbox_modules()
    return {
        name: imports_of(name, path) & modules.keys() - {name} for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that returns to its start, or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        path.append(node)
        for target in sorted(graph[node]):
            cycle = visit(target)
            if cycle is not None:
                return cycle
        path.pop()
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start)
        if cycle is not None:
            return cycle
    return None


def test_the_sandbox_imports_nothing_from_faultdesk() -> None:
    offending = {
        f"{name} imports {imported}"
        for name, path in sandbox_modules().items()
        for imported in imports_of(name, path)
        if imported.split(".")[0] in FAULTDESK_PACKAGES
    }
    assert offending == set()


def test_the_sandbox_modules_import_each_other_without_a_cycle() -> None:
    cycle = find_cycle(sandbox_import_graph())
    assert cycle is None, " -> ".join(cycle or [])


def test_the_people_and_the_state_do_not_import_the_server() -> None:
    graph = sandbox_import_graph()
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
