"""Repositories: one generic implementation over a table, scoped by account where items have one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    update,
)

from nuage.errors import NotFound
from nuage.storage.sql.mapping import RowMapper

T = TypeVar("T")


class SqlRepository(Generic[T]):
    """get/find/add/update/delete/list/count over one table, for one kind of domain object."""

    def __init__(self, connection: Connection, mapper: RowMapper[T], kind: str, key: str = "id") -> None:
        self._connection = connection
        self._mapper = mapper
        self._table = mapper.table
        self.kind = kind
        self._key = self._table.c[key]

    def find(self, key: str) -> T | None:
        """The object with this key, or None."""
        row = self._connection.execute(select(self._table).where(self._key == key)).mappings().first()
        return None if row is None else self._mapper.from_row(row)

    def get(self, key: str) -> T:
        """The object with this key; raises NotFound."""
        found = self.find(key)
        if found is None:
            raise NotFound(self.kind, key)
        return found

    def find_by(self, **where: Any) -> T | None:
        """The first object matching the equality filters, or None."""
        found = self.list(limit=1, **where)
        return found[0] if found else None

    def add(self, obj: T) -> T:
        """Insert a new object."""
        self._connection.execute(insert(self._table).values(**self._mapper.to_row(obj)))
        return obj

    def update(self, obj: T) -> T:
        """Write every field of an existing object."""
        row = self._mapper.to_row(obj)
        key = row.pop(self._key.name)
        result = self._connection.execute(update(self._table).where(self._key == key).values(**row))
        if result.rowcount == 0:
            raise NotFound(self.kind, key)
        return obj

    def remove(self, key: str) -> None:
        """Delete an object; raises NotFound when absent."""
        result = self._connection.execute(delete(self._table).where(self._key == key))
        if result.rowcount == 0:
            raise NotFound(self.kind, key)

    def _where(self, where: Mapping[str, Any]) -> ColumnElement[bool] | None:
        clauses: list[ColumnElement[bool]] = []
        for name, value in where.items():
            column = self._table.c[name]
            if isinstance(value, (list, tuple, set, frozenset)):
                clauses.append(column.in_(list(value)))
            else:
                clauses.append(column.is_(None) if value is None else column == value)
        return and_(*clauses) if clauses else None

    def _rows(self, statement: Select[Any], limit: int | None, offset: int) -> list[T]:
        if limit is not None:
            statement = statement.limit(limit)
        if offset:
            statement = statement.offset(offset)
        return [self._mapper.from_row(row) for row in self._connection.execute(statement).mappings()]

    def list(
        self,
        *,
        order_by: Sequence[str] = ("created_at", "id"),
        descending: bool = False,
        limit: int | None = None,
        offset: int = 0,
        after: Sequence[Any] | None = None,
        **where: Any,
    ) -> list[T]:
        """Objects matching equality (or ``in`` for sequences) filters, ordered and paged: from
        ``offset``, or (keyset) those after the row whose ``order_by`` values are ``after``.
        NULLs sort where the database puts them (PostgreSQL above every value, SQLite below), so
        that plain indexes serve the order.
        """
        statement = select(self._table)
        clause = self._where(where)
        if clause is not None:
            statement = statement.where(clause)
        columns = [self._table.c[name] for name in order_by if name in self._table.c]
        ordered = [c.desc() if descending else c for c in columns]
        if after is None:
            return self._rows(statement.order_by(*ordered), limit, offset)
        if len(after) != len(order_by):
            raise ValueError("a keyset names a value for every sort field")
        values = [value for name, value in zip(order_by, after, strict=True) if name in self._table.c]
        nulls_high = self._connection.dialect.name == "postgresql"
        # after a value, where NULLs come last: the values after it (an index range), then the NULLs
        # (another), rather than one scan of the owner's rows that filters both
        split = bool(columns) and values[0] is not None and nulls_high != descending and columns[0].nullable
        keyset = _after(columns, values, descending=descending, nulls_high=nulls_high, then_nulls=not split)
        found = self._rows(statement.where(keyset).order_by(*ordered), limit, offset)
        if split and (limit is None or len(found) < limit):
            rest = statement.where(columns[0].is_(None)).order_by(*ordered)
            found += self._rows(rest, None if limit is None else limit - len(found), 0)
        return found

    def count(self, **where: Any) -> int:
        """How many objects match the filters."""
        statement = select(func.count()).select_from(self._table)
        clause = self._where(where)
        if clause is not None:
            statement = statement.where(clause)
        return int(self._connection.execute(statement).scalar_one())


def _after(
    columns: Sequence[Any],
    values: Sequence[Any],
    *,
    descending: bool,
    nulls_high: bool,
    then_nulls: bool = True,
) -> ColumnElement[bool]:
    """The rows after ``values`` in the order of ``columns``: the first column's bound leads (an
    index range), then the lexicographic comparison. ``nulls_high``: the database sorts NULL above
    every value (PostgreSQL), else below (SQLite). Where NULLs come after the first value, they are
    among the rows after it, unless ``then_nulls`` is false (the caller reads them apart); a column
    that cannot be NULL gets no ``IS NULL`` alternative (it would make the range a scan)."""
    nulls_last = nulls_high != descending
    branches: list[ColumnElement[bool]] = []
    ties: list[ColumnElement[bool]] = []
    lead: ColumnElement[bool] | None = None
    for index, (column, value) in enumerate(zip(columns, values, strict=True)):
        at_least: ColumnElement[bool] | None
        nullable = bool(getattr(column, "nullable", True)) and (then_nulls or index > 0)
        if value is None:
            beyond = false() if nulls_last else column.is_not(None)
            same = column.is_(None)
            at_least = column.is_(None) if nulls_last else None
        else:
            beyond = column < value if descending else column > value
            at_least = column <= value if descending else column >= value
            same = column == value
            if nulls_last and nullable:  # NULLs come after every value: no index range then
                beyond = or_(beyond, column.is_(None))
                at_least = None
        if index == 0:
            lead = at_least
        branches.append(and_(*ties, beyond))
        ties.append(same)
    clause = or_(*branches)
    return clause if lead is None else and_(lead, clause)
