"""Small facts about ORM instances, and statement pieces, that several modules need."""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Any, cast

from sqlalchemy import ARRAY, ColumnElement, Table, any_, bindparam, inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.dml import ReturningInsert

from core.models import Base


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


@functools.cache
def insert_unless_key_taken(dialect: str, model: type[Base]) -> ReturningInsert[tuple[int]]:
    """`INSERT ... ON CONFLICT (key) DO NOTHING RETURNING id` for `model`'s table, built once.

    Executed with the row's values as parameters: a statement built with `.values()` on
    every call coerces each value and computes its cache key anew, a quarter of what
    queuing one message cost. The id comes back only when the row was added.
    """
    table = cast(Table, model.__table__)
    upsert = pg_insert if dialect == "postgresql" else sqlite_insert
    return upsert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id)
