"""Many rows through one statement in one ``executemany``: an INSERT of every column of a table, or
a DELETE by key columns, compiled once per dialect; each row a tuple of the statement's columns'
values, converted by those columns' own bind processors (so the stored values are those a Core
statement stores), handed to the driver as is.

The per-call writes of ``nuage serve`` (CDRs, crash journal) use it: Core's per-row parameter
work (a dictionary per row, its processing per statement, an expanding ``IN`` rendered at each
execution) was most of their CPU (issue #22).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Table, and_, bindparam, delete, insert
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

Processor = Callable[[Any], Any]
_Prepared = tuple[str, list[tuple[int, Processor]], bool]


class BulkStatement:
    """A statement whose bound parameters are ``columns`` (named by their keys), run for many rows."""

    def __init__(self, statement: ClauseElement, columns: Sequence[Column[Any]]) -> None:
        self._statement = statement
        self._columns = list(columns)
        self._names = [column.key for column in columns]
        self._prepared: dict[str, _Prepared] = {}

    def _prepare(self, connection: Connection) -> _Prepared:
        dialect = connection.dialect
        prepared = self._prepared.get(dialect.name)
        if prepared is None:
            compiled = self._statement.compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            processors: list[tuple[int, Processor]] = []
            for index, column in enumerate(self._columns):
                processor = column.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    processors.append((index, processor))
            positional = bool(compiled.positional)
            if positional and list(compiled.positiontup or ()) != self._names:
                raise RuntimeError(f"unexpected parameter order {compiled.positiontup} in {compiled}")
            prepared = (str(compiled), processors, positional)
            self._prepared[dialect.name] = prepared
        return prepared

    def execute(self, connection: Connection, rows: Iterable[Sequence[Any]]) -> None:
        """Run the statement for each of ``rows`` (a value per column, in order) in one executemany."""
        sql, processors, positional = self._prepare(connection)
        names = self._names
        batch: list[Any] = []
        for row in rows:
            if processors:
                values = list(row)
                for index, processor in processors:
                    values[index] = processor(values[index])
                row = values
            batch.append(tuple(row) if positional else dict(zip(names, row, strict=True)))
        if batch:
            connection.exec_driver_sql(sql, batch)


def bulk_insert(table: Table) -> BulkStatement:
    """``INSERT INTO table (every column) VALUES (...)``: rows in the table's column order."""
    return BulkStatement(insert(table), list(table.columns))


def bulk_delete(table: Table, *keys: Column[Any]) -> BulkStatement:
    """``DELETE FROM table WHERE key = ... AND ...``: rows of the ``keys``' values."""
    where = and_(*(key == bindparam(key.key) for key in keys))
    return BulkStatement(delete(table).where(where), keys)
