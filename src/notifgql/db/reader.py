"""Reads: the rows of one SELECT, on whichever connection the database gives.

On PostgreSQL the hot reads (lists, counts, badges) skip SQLAlchemy's execution layers: each
statement is built by SQLAlchemy and compiled by its asyncpg dialect once, then sent as that
same SQL text through asyncpg, with SQLAlchemy's own bind and result processors applied to
the values. Checkout, execute and result wrapping cost about 230 µs of CPU per read through
SQLAlchemy against 130 µs straight on the driver, which on a badge request is most of the
difference between notifgql and the least this stack can do. Statements that SQLAlchemy
expands per execution (``IN`` lists) go through its own expansion.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import asyncpg
from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler

AnySelect = Select[*tuple[Any, ...]]
Process = Callable[[Any], Any]
Row = Sequence[Any]


class Reader(Protocol):
    """Runs SELECTs for one read; rows come back as sequences in the statement's column order."""

    async def rows(self, statement: AnySelect, params: Mapping[str, Any]) -> Sequence[Row]:
        """Every row ``statement`` selects with ``params`` bound."""
        ...


@dataclass(frozen=True, slots=True)
class EngineReader:
    """Reads through SQLAlchemy (SQLite, and whatever has no driver pool)."""

    conn: AsyncConnection

    async def rows(self, statement: AnySelect, params: Mapping[str, Any]) -> Sequence[Row]:
        """Every row ``statement`` selects with ``params`` bound."""
        return (await self.conn.execute(statement, dict(params))).all()


@dataclass(frozen=True, slots=True)
class DriverReader:
    """Reads on an asyncpg connection, with the SQL SQLAlchemy compiles."""

    conn: asyncpg.Connection
    dialect: Dialect

    async def rows(self, statement: AnySelect, params: Mapping[str, Any]) -> Sequence[Row]:
        """Every row ``statement`` selects with ``params`` bound."""
        prepared = _prepare(statement, self.dialect)
        if prepared.expanding:
            sql, values = prepared.expand(params)
        else:
            sql = prepared.sql
            fixed = prepared.fixed
            values = [params[name] if name in params else fixed[name] for name in prepared.names]
            for position, process in prepared.binds:
                values[position] = process(values[position])
        records: list[asyncpg.Record] = await self.conn.fetch(sql, *values)
        if not prepared.results:
            return records
        rows: list[list[Any]] = []
        for record in records:
            row = list(record)
            for position, process in prepared.results:
                row[position] = process(row[position])
            rows.append(row)
        return rows


@dataclass(frozen=True, slots=True)
class _Prepared:
    compiled: SQLCompiler
    sql: str
    names: tuple[str, ...]
    # Values bound into the statement itself (``literal(False)``), by parameter name.
    fixed: Mapping[str, Any]
    binds: tuple[tuple[int, Process], ...]
    results: tuple[tuple[int, Process], ...]
    expanding: bool

    def expand(self, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL and values for ``params`` of a statement whose ``IN`` lists expand."""
        state = self.compiled.construct_expanded_state(dict(params))
        processors = state.processors
        values = [
            processors[name](value) if name in processors else value
            for name in state.positiontup or ()
            for value in (state.parameters[name],)
        ]
        return state.statement, values


@lru_cache(maxsize=2048)
def _prepare(statement: AnySelect, dialect: Dialect) -> _Prepared:
    """Compile once per statement: callers build each statement shape once and reuse it."""
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    names = tuple(compiled.positiontup or ())
    binds: list[tuple[int, Process]] = []
    for position, name in enumerate(names):
        process = compiled.binds[name].type.bind_processor(dialect)
        if process is not None:
            binds.append((position, process))
    results: list[tuple[int, Process]] = []
    for position, column in enumerate(statement.selected_columns):
        process = column.type.result_processor(dialect, None)
        if process is not None:
            results.append((position, process))
    return _Prepared(
        compiled=compiled,
        sql=compiled.string,
        names=names,
        fixed={
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if not bind.required and bind.value is not None
        },
        binds=tuple(binds),
        results=tuple(results),
        expanding=any(bind.expanding for bind in compiled.binds.values()),
    )
