"""Small facts about ORM instances, and statement pieces, that several modules need."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, any_, bindparam, inspect
from sqlalchemy.orm import QueryableAttribute


def is_loaded(instance: object) -> bool:
    """Still attached with every column loaded (a rolled-back savepoint expires what it touched)."""
    state = inspect(instance)
    return not (state.detached or state.expired or state.unloaded)


def among(
    dialect: str, column: ColumnElement[Any] | QueryableAttribute[Any], values: Collection[Any]
) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL `column = ANY(:array)`, one parameter however many.

    An IN list is rendered anew at each execution, one placeholder per value, and each
    length is a statement PostgreSQL has not seen (asyncpg prepares it: a round trip and
    a plan). The array keeps one statement text, prepared once per connection.
    """
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)
