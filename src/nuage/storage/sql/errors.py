"""The database's refusals translated into the error tree (``nuage.errors``), so that no SQLAlchemy or
driver exception reaches the API or the CLI.

* a unique or foreign-key clash (``IntegrityError``): :class:`~nuage.errors.Conflict`, with the
  ``field`` (the columns, comma-separated) and the ``table`` when the database names them;
* a value that does not fit its column (``DataError``): :class:`~nuage.errors.InvalidInput`;
* a database that is locked, gone or unreachable (``OperationalError``, ``InterfaceError``):
  :class:`~nuage.errors.UpstreamUnavailable` for the upstream ``database``.

The unit of work applies it to whatever leaves its block (``SqlUnitOfWork.__exit__``).
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError

from nuage.errors import Conflict, InvalidInput, NuageError, UpstreamUnavailable

# SQLite: "UNIQUE constraint failed: users.account_id, users.extension"
_SQLITE_UNIQUE = re.compile(r"UNIQUE constraint failed: (?P<columns>[\w.]+(?:, [\w.]+)*)")
# PostgreSQL: 'Key (account_id, extension)=(cus_1, 101) already exists.' or '... is not present in table'
_PG_KEY = re.compile(r"Key \((?P<columns>[^)]+)\)=")


def _pg_diagnostics(error: DBAPIError) -> tuple[str | None, str | None, str | None]:
    """(table, column, detail) of a psycopg error, when it carries them."""
    diag: Any = getattr(error.orig, "diag", None)
    if diag is None:
        return None, None, None
    return diag.table_name, diag.column_name, diag.message_detail


def _clash(error: IntegrityError) -> Conflict:
    text = str(error.orig)
    details: dict[str, str] = {}
    unique = _SQLITE_UNIQUE.search(text)
    if unique:
        pairs = [column.partition(".") for column in unique["columns"].split(", ")]
        details["table"] = pairs[0][0]
        details["field"] = ", ".join(column for _, _, column in pairs)
    table, column, detail = _pg_diagnostics(error)
    if table:
        details["table"] = table
    key = _PG_KEY.search(detail or "")
    if key:
        details["field"] = key["columns"]
    elif column:
        details["field"] = column
    if "FOREIGN KEY" in text or "foreign key" in text:
        return Conflict("The change refers to something that does not exist, or is still in use", **details)
    if "NOT NULL" in text or "not-null" in text:
        return Conflict("A required value is missing", **details)
    return Conflict("The change clashes with existing data", **details)


def translated(error: BaseException) -> NuageError | None:
    """The error of the tree for a database exception, or None when ``error`` is not one."""
    if isinstance(error, IntegrityError):
        return _clash(error)
    if isinstance(error, DataError):
        _, column, _ = _pg_diagnostics(error)
        return InvalidInput(column or "", "A value does not fit its field")
    if isinstance(error, (OperationalError, InterfaceError)):
        return UpstreamUnavailable("database", "The database did not answer")
    return None
