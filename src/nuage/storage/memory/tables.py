"""What the in-memory billing and payments stores share: their unit of work's private tables and the
counters that stand in for the SQL tables' autoincrement keys.
"""

from __future__ import annotations

from typing import Any, Protocol

SEQUENCES = "sequences"  # table name -> last key given (counted in the transaction, as rows are)


class Tables(Protocol):
    """The open unit of work a store writes through."""

    def table_rows(self) -> dict[str, dict[Any, Any]]:
        """Every table of the transaction's private copy (raises when the unit of work is not open)."""
        ...

    def hold(self, job: str) -> None:
        """Take ``job``'s lock until the transaction ends."""
        ...


class MemoryTables:
    """A store's access to its unit of work's tables."""

    def __init__(self, uow: Tables) -> None:
        self._uow = uow

    def _table(self, name: str) -> dict[Any, Any]:
        return self._uow.table_rows()[name]

    def _next_id(self, table: str) -> int:
        """The next key of ``table`` (1, 2, ...), as an autoincrement column gives it."""
        counters = self._table(SEQUENCES)
        counters[table] = counters.get(table, 0) + 1
        return int(counters[table])
