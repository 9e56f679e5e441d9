"""The version faultdesk reports (`faultdesk --version`, logs, metrics)."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


@cache
def version() -> str:
    """The project's version: pyproject.toml beside the code, else the installed package's."""
    # A checkout run with PYTHONPATH=. may differ from what pip installed: the source wins.
    if PYPROJECT.is_file():
        with PYPROJECT.open("rb") as file:
            return str(tomllib.load(file)["project"]["version"])
    try:
        return installed_version("faultdesk")
    except PackageNotFoundError:
        return "unknown"
