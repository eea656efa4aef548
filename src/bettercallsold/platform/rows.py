"""Inserting a resource's row with one prepared statement, straight to the driver.

A create is the platform's hottest write (every new customer, every email and task a flow
sends), and for a row this simple the ORM's unit of work (instance state, flush plan,
identity map) and SQLAlchemy's async bridge cost more than the statement (`db/raw.py`).
`INSERT ... RETURNING *` gives back the server's defaults in the same round trip, and the
response model reads the row as it read the object. The model's metadata still rules: its
columns, its Python-side defaults, which columns are JSON.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.db.base import Base
from bettercallsold.db.raw import driver_connection


@functools.cache
def _python_defaults(model: type[Base]) -> dict[str, Callable[[], Any]]:
    """The columns whose default SQLAlchemy computes in Python (`default=list`, `uuid4`)."""
    defaults: dict[str, Callable[[], Any]] = {}
    for column in model.__table__.columns:
        arg = getattr(column.default, "arg", None)  # a ColumnDefault: a value or a callable
        if arg is None:
            continue
        defaults[column.key] = functools.partial(arg, None) if callable(arg) else _constant(arg)
    return defaults


def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


@functools.cache
def _statement(model: type[Base], keys: tuple[str, ...]) -> tuple[str, tuple[bool, ...]]:
    columns: dict[str, Any] = {column.key: column for column in model.__table__.columns}
    names = ", ".join(f'"{columns[key].name}"' for key in keys)
    marks = ", ".join("%s" for _ in keys)
    sql = f'INSERT INTO "{model.__tablename__}" ({names}) VALUES ({marks}) RETURNING *'
    return sql, tuple(isinstance(columns[key].type, JSONB) for key in keys)


async def insert_row(
    session: AsyncSession, model: type[Base], values: dict[str, Any]
) -> dict[str, Any]:
    """Insert one row of `model` (Python-side column defaults applied) in the session's
    transaction; the stored row, every column."""
    row = {key: make() for key, make in _python_defaults(model).items() if key not in values}
    row.update(values)
    keys = tuple(sorted(row))
    sql, is_json = _statement(model, keys)
    parameters = [
        Jsonb(row[key]) if json and row[key] is not None else row[key]
        for key, json in zip(keys, is_json, strict=True)
    ]
    connection = await driver_connection(session)
    async with connection.cursor(row_factory=dict_row) as cursor:
        await cursor.execute(sql, parameters)
        stored = await cursor.fetchone()
    assert stored is not None
    return stored
