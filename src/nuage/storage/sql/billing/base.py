"""What every part of the SQL billing store shares: the unit of work's connection, its dialect, the
dialect's cost-record writer and the SQLite read memo of the monthly run (BIL-3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

if TYPE_CHECKING:
    from nuage.storage.sql.billing.rated_calls import RatedCallWriter


class SqlBillingBase:
    """The state of one ``SqlBillingStore`` (one per unit of work), set by its constructor."""

    _connection: Connection
    _dialect: str
    _writer: RatedCallWriter
    # SQLite: where the calls ``uninvoiced_calls`` read are stored, by (run, account, before)
    _uninvoiced_rows: dict[tuple[str, str, str], list[int]]

    def _insert_ignore(self, table: Any) -> Any:
        module = postgresql if self._dialect == "postgresql" else sqlite
        return module.insert(table).on_conflict_do_nothing()
