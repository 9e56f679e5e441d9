"""Small facts about ORM instances that several modules need."""

from __future__ import annotations

from sqlalchemy import inspect


def is_loaded(instance: object) -> bool:
    """Still attached with every column loaded (a rolled-back savepoint expires what it touched)."""
    state = inspect(instance)
    return not (state.detached or state.expired or state.unloaded)
