"""Run a SQLAlchemy statement straight on the database driver, for the few hottest reads.

The statement is compiled once per dialect and kept; each run binds its parameters, executes on a
driver cursor and returns the driver's own rows, skipping SQLAlchemy's result processing. That is
most of the cost of reading a thousand small rows (a busy patient's open invoices). The caller
converts what the driver returns as it stores it (SQLite hands back dates as ISO text).
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from sqlalchemy import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

_COMPILED: dict[tuple[int, str], SQLCompiler] = {}


def driver_sql(
    statement: ClauseElement, dialect: Dialect, params: dict[str, Any]
) -> tuple[str, Any]:
    """The statement's SQL for ``dialect`` and its bound parameters, as the driver takes them.

    ``statement`` must live as long as the process (a module-level constant): it is compiled
    once and looked up by identity.
    """
    key = (id(statement), dialect.name)
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        _COMPILED[key] = compiled
    values = compiled.construct_params(params) or {}
    positions = compiled.positiontup
    args: Any = [values[name] for name in positions] if positions else values
    return compiled.string, args


def fetch_all(
    driver_connection: Any, dialect: Dialect, statement: ClauseElement, params: dict[str, Any]
) -> list[Any]:
    """Every row of ``statement`` on a driver connection (inside the caller's transaction)."""
    sql, args = driver_sql(statement, dialect, params)
    cursor = driver_connection.cursor()
    try:
        cursor.execute(sql, args)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def as_date(value: date | str) -> date:
    """A DATE column's value as the driver returned it (SQLite: ISO text)."""
    return value if isinstance(value, date) else date.fromisoformat(value)
