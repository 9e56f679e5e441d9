"""Who imports whom, read from the source with `ast` (for the layer and cycle tests).

Imports are found at any depth, so an import inside a function or under
`if TYPE_CHECKING:` counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository: core/, bot/, sandbox/, ...


def module_name(path: Path) -> str:
    """The dotted name of a module of the project, from its file."""
    relative = path.relative_to(ROOT).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def modules_of(package: str) -> dict[str, Path]:
    """Every module of a top-level package by its dotted name."""
    return {module_name(path): path for path in sorted((ROOT / package).rglob("*.py"))}


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
    """The modules one module imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), package)


def import_graph(package: str) -> dict[str, set[str]]:
    """For each module of a package, the modules of that package it imports."""
    modules = modules_of(package)
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
